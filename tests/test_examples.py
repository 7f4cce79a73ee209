"""Every script in examples/ runs as a user would run it, and says what it should.

Each runs in a subprocess with this interpreter (the venv's), from a temporary
directory, in the environment a user has (without the suite's
``REGISTRATION_FSM_CATALOG=none``: emulators serve the shipped forms), and its output
is checked. A new example without a test here fails
``test_every_example_is_tested``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from registration_fsm.emulator.forms import ENV_CATALOG

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REQUIRED = os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0")
TESTED = {
    "compliance_guard.py",
    "fill_in_a_registration.py",
    "generate_diagram.py",
    "property_based_workflow.py",
    "sync_with_emulator.py",
}
#: What an example may import from the library: the one public surface, and the
#: subpackages documented for their own jobs (diagrams, the testing kit, the errors).
PUBLIC = {
    "registration_fsm",
    "registration_fsm.diagrams",
    "registration_fsm.errors",
    "registration_fsm.testing",
    "registration_fsm.testing.strategies",
}
#: Seconds an example may take before the test calls it hung (a guard, not a measure).
HANG = 600
GENERATED = re.compile(
    r"<!-- generated: lifecycle-mermaid -->\n```mermaid\n(?P<body>.*?)```\n<!-- end generated -->",
    re.S,
)


def user_env(**extra: str) -> dict[str, str]:
    """This process's environment as a user has it (no ENV_CATALOG), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != ENV_CATALOG}
    return {**env, **extra}


def run(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = HANG
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` with the venv's python; fail with its output if it fails."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=user_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == TESTED


@pytest.mark.parametrize("script", sorted(TESTED))
def test_examples_are_short_and_say_how_to_run_them(script: str) -> None:
    text = (EXAMPLES / script).read_text()
    assert text.startswith('"""'), f"{script} needs a module docstring"
    assert f"python examples/{script}" in text, f"{script}'s docstring should say how to run it"
    assert len(text.splitlines()) <= 90, f"{script} is {len(text.splitlines())} lines long"


@pytest.mark.parametrize("script", sorted(TESTED))
def test_examples_use_the_public_surface(script: str) -> None:
    tree = ast.parse((EXAMPLES / script).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
         for alias in node.names}  # fmt: skip
    ours = {name for name in imported if name.split(".")[0] == "registration_fsm"}
    assert ours, f"{script} does not use the library"
    assert ours <= PUBLIC, f"{script} imports internals: {sorted(ours - PUBLIC)}"


def test_compliance_guard(tmp_path: Path) -> None:
    out = run("compliance_guard.py", cwd=tmp_path).stdout
    refusal = "FourEyes: alice may not discard v1 alone: a second person must agree"
    assert out.count(refusal) == 2, out  # alone, and with only her own approval
    assert out.count("refused (DISCARD_REGISTRATION_VERSION_NOT_ALLOWED); API calls made: 0") == 2
    allowed = "allowed: v1 SUBMITTED -> DISCARDED (discard) by alice: wrong EIN"
    assert allowed in out
    assert out.index(refusal) < out.index(allowed)
    trail = out.split("audit trail of ", 1)[1].splitlines()[1:]
    assert [line.split(" ", 3)[-1] for line in trail] == [
        "v1 (new) -> DRAFT (create)",
        "v1 DRAFT -> SUBMITTED (submit) by alice",
        "v1 SUBMITTED -> DISCARDED (discard) by alice: wrong EIN",
    ]


def test_property_based_workflow_as_a_script(tmp_path: Path) -> None:
    out = run("property_based_workflow.py", cwd=tmp_path).stdout
    assert "test_four_eyes: passed" in out
    assert "TestAuditedWorkflow: passed" in out
    reached = re.search(r"lifecycle coverage: (\d+)/(\d+) required edges reached", out)
    assert reached is not None, out
    assert reached[1] == reached[2], out


def test_property_based_workflow_under_pytest(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "property_based_workflow.py")],
        cwd=tmp_path, env=user_env(), capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^2 passed", done.stdout, re.M), done.stdout


def _docs_diagram() -> str:
    match = GENERATED.search((ROOT / "docs" / "lifecycle.md").read_text())
    assert match is not None, "docs/lifecycle.md lost its generated Mermaid block"
    return match["body"]


def test_generate_diagram_to_stdout_is_the_docs_diagram(tmp_path: Path) -> None:
    out = run("generate_diagram.py", cwd=tmp_path).stdout
    assert out.startswith("stateDiagram-v2\n")
    assert out == _docs_diagram()


def test_generate_diagram_to_a_file_writes_svg_with_graphviz(tmp_path: Path) -> None:
    if shutil.which(os.environ.get("REGISTRATION_FSM_DOT", "dot")) is None:
        if REQUIRED:
            pytest.fail("REGISTRATION_FSM_REQUIRE_TOOLS is set but Graphviz dot is missing")
        pytest.skip("Graphviz dot is not installed")
    done = run("generate_diagram.py", "out/lifecycle.mmd", cwd=tmp_path)
    assert (tmp_path / "out" / "lifecycle.mmd").read_text() == _docs_diagram()
    svg = (tmp_path / "out" / "lifecycle.svg").read_text()
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    for state in ("DRAFT", "SUBMITTED", "APPROVED", "REQUIRES_OFFLINE_REVIEW"):
        assert f">{state}</text>" in svg
    assert "wrote out/lifecycle.svg (SVG, rendered by Graphviz)" in done.stdout


def test_generate_diagram_without_graphviz_writes_mermaid_only(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-dot")
    done = run(
        "generate_diagram.py", "lifecycle.mmd", cwd=tmp_path, env={"REGISTRATION_FSM_DOT": missing}
    )
    assert (tmp_path / "lifecycle.mmd").read_text() == _docs_diagram()
    assert not (tmp_path / "lifecycle.svg").exists()
    assert "skipped lifecycle.svg" in done.stderr
    assert "Graphviz 'dot' executable was not found" in done.stderr


def test_generate_diagram_rejects_unknown_arguments(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "generate_diagram.py"), "--svg"],
        cwd=tmp_path,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert done.returncode == 2
    assert "python examples/generate_diagram.py" in done.stderr


def test_sync_with_emulator(tmp_path: Path) -> None:
    out = run("sync_with_emulator.py", cwd=tmp_path).stdout
    assert re.search(r"^emulator at http://127\.0\.0\.1:\d+$", out, re.M), out
    first, second = out.split("second sync", 1)
    assert first.count("v1 (new) -> DRAFT (create)") == 2
    assert first.count("v1 DRAFT -> SUBMITTED (submit)") == 2
    # Each submitted version's field values are read once, when the sync first sees it
    # out of DRAFT; the second sync reads none.
    assert (
        "2 changed, 0 unchanged, 0 failed; API calls: {'DescribeRegistrationFieldValues': 2, "
        "'DescribeRegistrationVersions': 2, 'DescribeRegistrations': 1}" in first
    )
    assert "v1 SUBMITTED -> REVIEWING (begin_review)" in second
    assert "v1 REVIEWING -> APPROVED (approve)" in second
    assert (
        "1 changed, 1 unchanged, 0 failed; API calls: "
        "{'DescribeRegistrationVersions': 1, 'DescribeRegistrations': 1}" in second
    )
    statuses = re.findall(r"^  local: \w{6} (\w+)$", second, re.M)
    assert sorted(statuses) == ["COMPLETE", "SUBMITTED"]


def test_fill_in_a_registration(tmp_path: Path) -> None:
    out = run("fill_in_a_registration.py", cwd=tmp_path).stdout
    assert out.splitlines() == [
        "US_TOLL_FREE_REGISTRATION: 25 fields",
        "submit refused (FIELD_VALIDATION_FAILED): contactInfo.firstName, contactInfo.lastName, "
        "contactInfo.supportEmail, contactInfo.supportPhoneNumber, messageSamples.messageSample1",
        "submitted: version 1 SUBMITTED",
        "after begin_review: REVIEWING",
        "after approve: COMPLETE",
    ]
