"""``registration-fsm diagram``: formats, options, output files, --highlight, refusals."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import Registration
from registration_fsm.cli import main
from registration_fsm.cli.output import registration_json, to_json
from registration_fsm.diagrams import to_dot, to_mermaid
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.store import SQLiteStore
from registration_fsm.sync import Synchronizer

REQUIRED = os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0")


def needs_dot() -> None:
    if shutil.which(os.environ.get("REGISTRATION_FSM_DOT", "dot")) is None:
        if REQUIRED:
            pytest.fail("REGISTRATION_FSM_REQUIRE_TOOLS is set but Graphviz dot is missing")
        pytest.skip("Graphviz dot is not installed")


def cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    """Run the CLI in-process: (exit status, stdout bytes, stderr text)."""
    code = main(["diagram", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


@pytest.fixture
def registration() -> Registration:
    """A registration whose v1 was denied and whose v2 is in review."""
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=TickingClock())
    for trigger in ("submit", "begin_review", "deny"):
        reg.fire(trigger, clock=TickingClock(reg.current_version.history.latest()))
    reg.create_version(clock=TickingClock(reg.current_version.history.latest()))
    for trigger in ("submit", "begin_review"):
        reg.fire(trigger, clock=TickingClock(reg.current_version.history.latest()))
    return reg


def test_mermaid_is_the_default(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli(capsysbinary) == (0, to_mermaid().encode(), "")


def test_dot_and_every_option(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    flags = ("--show-guards", "--show-initiator", "--show-inferred")
    code, out, _ = cli(capsysbinary, "--format", "dot", *flags)
    assert code == 0
    assert out.decode() == to_dot(show_guards=True, show_initiator=True, show_inferred=True)
    assert out.decode() != to_dot()
    code, out, _ = cli(capsysbinary, "--show-initiator")
    assert out.decode() == to_mermaid(show_initiator=True)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("d.mmd", "mermaid"), ("d.mermaid", "mermaid"), ("d.gv", "dot"), ("d.DOT", "dot"),
     ("diagram", "mermaid")],
)  # fmt: skip
def test_output_file_and_format_from_its_suffix(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, name: str, fmt: str
) -> None:
    target = tmp_path / name
    code, out, err = cli(capsysbinary, "-o", str(target))
    assert (code, out) == (0, b"")
    assert target.read_text() == (to_mermaid() if fmt == "mermaid" else to_dot())
    assert f"wrote {target} ({fmt}," in err


def test_an_svg_file_name_means_svg(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    needs_dot()
    for name in ("out.svg", "OUT.SVG"):
        code, out, err = cli(capsysbinary, "-o", str(tmp_path / name))
        assert (code, out) == (0, b"")
        assert "(svg," in err
        assert b"<svg" in (tmp_path / name).read_bytes()


def usage_error(err: str) -> str:
    """The one error line of a usage error (after click's ``Usage:`` and ``Try`` lines)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: registration-fsm diagram"), err
    assert len([line for line in lines if line.startswith("Error:")]) == 1, err
    assert lines[-1].startswith("Error: "), err
    return lines[-1]


@pytest.mark.parametrize("name", ["out.jpg", "d.txt", "d.svg.bak"])
def test_an_unknown_extension_is_refused(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, name: str
) -> None:
    code, out, err = cli(capsysbinary, "-o", str(tmp_path / name))
    assert (code, out) == (2, b"")
    line = usage_error(err)
    assert line.startswith(f"Error: Invalid value for --output: {name}: unknown extension")
    assert ".mmd" in line
    assert ".svg" in line
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(
    ("fmt", "name"), [("png", "out.svg"), ("dot", "d.svg"), ("mermaid", "d.gv"), ("svg", "d.png")]
)
def test_a_format_the_extension_contradicts_is_refused(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, fmt: str, name: str
) -> None:
    code, out, err = cli(capsysbinary, "--format", fmt, "-o", str(tmp_path / name))
    assert (code, out) == (2, b"")
    assert f"but --format is {fmt}" in usage_error(err)
    assert not (tmp_path / name).exists()


def test_a_format_the_extension_agrees_with(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    target = tmp_path / "d.gv"
    assert cli(capsysbinary, "--format", "dot", "--output", str(target))[0] == 0
    assert target.read_text() == to_dot()


def test_svg_and_png_with_graphviz(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    needs_dot()
    code, out, _ = cli(capsysbinary, "--format", "svg", "--show-initiator")
    assert code == 0
    assert b"<svg" in out
    assert b">APPROVED</text>" in out
    assert cli(capsysbinary, "-o", str(tmp_path / "d.png"))[0] == 0
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_graphviz_svg_fails_clearly_and_writes_nothing(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRATION_FSM_DOT", str(tmp_path / "no-dot"))
    code, out, err = cli(capsysbinary, "--format", "png", "-o", str(tmp_path / "d.png"))
    assert (code, out) == (1, b"")
    assert "GraphvizNotFound" in err
    assert "apt-get install graphviz" in err
    assert not (tmp_path / "d.png").exists()


def _run_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI in a subprocess whose stdout and stderr are a pseudo-terminal."""
    primary, secondary = pty.openpty()
    code = "import sys; from registration_fsm.cli import main; sys.exit(main(sys.argv[1:]))"
    with subprocess.Popen(
        [sys.executable, "-c", code, "diagram", *args], stdout=secondary, stderr=secondary
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
        status = proc.wait(timeout=120)  # a guard against a hang, not a measure
    return status, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_binary_formats_are_not_written_to_a_terminal(fmt: str) -> None:
    code, text = _run_on_a_terminal("--format", fmt)
    assert code == 2
    assert f"refusing to write {fmt.upper()} to a terminal; use --output FILE" in text


def test_mermaid_is_written_to_a_terminal() -> None:
    code, text = _run_on_a_terminal()
    assert code == 0
    assert "stateDiagram-v2" in text


# -- --highlight ------------------------------------------------------------


def _write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "highlight.json"
    path.write_text(data if isinstance(data, str) else to_json(data))
    return str(path)


def test_highlight_what_show_json_prints(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    """The real round trip: sync into SQLite, `show --json`, feed it to `diagram`."""
    store_path = tmp_path / "state.db"
    api = EmulatedRegistrationApi(seed=5)
    with SQLiteStore(store_path) as store:
        syncer = Synchronizer(api, store)
        rid = syncer.create(REG_TYPE).id
        syncer.submit(rid)
        api.advance(rid, "begin_review")
        api.advance(rid, "approve")
        syncer.sync()
        expected = to_mermaid(highlight=syncer.get(rid))
    assert main(["show", "--store", str(store_path), "--json", rid]) == 0
    shown, _ = capsysbinary.readouterr()
    assert json.loads(shown)[0]["Registration"]["CreatedTimestamp"].endswith("+00:00")
    path = _write(tmp_path, shown.decode())
    code, out, err = cli(capsysbinary, "--highlight", path)
    assert (code, err) == (0, "")
    assert out.decode() == expected
    assert "class APPROVED current" in out.decode()
    assert "REVIEWING --> APPROVED: (4) approve" in out.decode()


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdin", buffer)
    return buffer


def test_highlight_from_stdin_in_dot(
    capsysbinary: pytest.CaptureFixture[bytes], registration: Registration, stdin: io.StringIO
) -> None:
    stdin.write(to_json(registration_json(registration)))
    stdin.seek(0)
    code, out, _ = cli(capsysbinary, "--format", "dot", "--highlight", "-")
    assert code == 0
    assert out.decode() == to_dot(highlight=registration)
    assert out.decode() != to_dot()


def test_highlight_a_version_result_with_epoch_timestamps(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    result = registration.versions[1].to_result()
    history = result["RegistrationVersionStatusHistory"]
    result["RegistrationVersionStatusHistory"] = {k: v.timestamp() for k, v in history.items()}
    code, out, _ = cli(capsysbinary, "--highlight", _write(tmp_path, result))
    assert code == 0
    assert out.decode() == to_mermaid(highlight=registration.versions[1])
    assert "class DENIED current" in out.decode()


def test_highlight_a_describe_registration_versions_response(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    response = {
        "RegistrationArn": REG_ARN,
        "RegistrationId": REG_ID,
        "RegistrationVersions": registration.versions_to_api()[::-1],  # oldest first
    }
    code, out, _ = cli(capsysbinary, "--highlight", _write(tmp_path, response))
    assert code == 0
    assert out.decode() == to_mermaid(highlight=registration.current_version)
    assert "class REVIEWING current" in out.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[]", "holds 0 registrations"),
        ('"text"', "expected a JSON object, got str"),
        ('{"Foo": 1}', "got the keys ['Foo']"),
        ('{"Registration": {}}', "a registration needs its RegistrationVersions"),
        (
            '{"VersionNumber": 1, "RegistrationVersionStatus": "DRAFT", '
            '"RegistrationVersionStatusHistory": {"DraftTimestamp": "2026-01-01T00:00:00+00:00"}}',
            "RegistrationId: required member is missing",
        ),
        (
            '{"RegistrationId": "r", "RegistrationArn": "a", "VersionNumber": 1, '
            '"RegistrationVersionStatus": "DRAFT", '
            '"RegistrationVersionStatusHistory": {"DraftTimestamp": "2026-01-01T00:00:00"}}',
            "expected a timezone-aware datetime",
        ),
    ],
)
def test_unusable_highlight_files_are_usage_errors(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, content: str, message: str
) -> None:
    code, out, err = cli(capsysbinary, "--highlight", _write(tmp_path, content))
    assert (code, out) == (2, b"")
    assert "Invalid value for --highlight" in err
    assert message in err


def test_two_registrations_cannot_be_highlighted(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    both = [registration_json(registration)] * 2
    code, _, err = cli(capsysbinary, "--highlight", _write(tmp_path, both))
    assert code == 2
    assert "holds 2 registrations; highlight one" in err


def test_a_missing_highlight_file(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    code, _, err = cli(capsysbinary, "--highlight", str(tmp_path / "nope.json"))
    assert code == 2
    assert "cannot read" in err
    assert "No such file or directory" in err


# -- --level ------------------------------------------------------------------


def test_level_registration_draws_the_registration_statuses(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    code, out, err = cli(capsysbinary, "--level", "registration", "--show-inferred")
    assert (code, err) == (0, "")
    assert out.decode() == to_mermaid(level="registration", show_inferred=True)
    assert "PROVISIONING --> COMPLETE: complete_provisioning (inferred)" in out.decode()
    path = _write(tmp_path, registration_json(registration))
    code, out, _ = cli(capsysbinary, "--level", "registration", "--format", "dot",
                       "--highlight", path)  # fmt: skip
    assert code == 0
    assert out.decode() == to_dot(level="registration", highlight=registration)
    assert out.decode().startswith("digraph registration_lifecycle {")
    assert cli(capsysbinary, "--level", "version") == (0, to_mermaid().encode(), "")


def test_level_registration_highlights_only_a_registration(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, registration: Registration
) -> None:
    path = _write(tmp_path, registration.versions[1].to_result())
    code, out, err = cli(capsysbinary, "--level", "registration", "--highlight", path)
    assert (code, out) == (2, b"")
    assert "--level registration highlights a registration" in err
    code, _, err = cli(capsysbinary, "--level", "registrations")
    assert code == 2
    assert "'registrations' is not one of 'version', 'registration'" in err


def test_the_cli_levels_are_the_models() -> None:
    from registration_fsm.cli.diagram import LEVELS
    from registration_fsm.diagrams.model import LEVELS as MODEL_LEVELS

    assert LEVELS == MODEL_LEVELS


def test_level_registration_renders_with_graphviz(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    needs_dot()
    target = tmp_path / "registration.svg"
    code, _, err = cli(capsysbinary, "--level", "registration", "-o", str(target))
    assert code == 0
    assert "wrote" in err
    svg = target.read_text()
    assert "PROVISIONING" in svg
    assert "any other status" in svg
