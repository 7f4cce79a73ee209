"""Every ```python block in README.md and docs/*.md runs, so the examples cannot go stale.

A page's blocks run in order in one fresh module namespace (a later block may use
what an earlier one defined); pages do not share anything. Blocks run in a
temporary working directory, where ``tempfile`` makes its files too. A block is
skipped only when the line before its fence is ``<!-- no-run -->`` (optionally
``<!-- no-run: why -->``), which is kept for code that needs real AWS
credentials: such a block must use boto3.

The blocks run as a user's code would: without ``REGISTRATION_FSM_CATALOG`` (which the
suite's conftest sets to ``none``), so every emulator serves the shipped catalogue of
registration forms, and a page must fill a form in before it submits it.

Graphviz: a block that needs ``dot`` skips the page when it is missing, unless
REGISTRATION_FSM_REQUIRE_TOOLS is set (as tests/test_diagrams.py does).

Also checked here: the documentation site (mkdocs.yml, docs/index.md,
docs/reference.md) names every page and every public module; ``make docs`` builds
it with ``mkdocs build --strict``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from registration_fsm import EmulatedRegistrationApi
from registration_fsm.domain.forms import Catalog
from registration_fsm.emulator.forms import ENV_CATALOG
from registration_fsm.errors import GraphvizNotFound

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REQUIRED = os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_NO_RUN = re.compile(r"^\s*<!--\s*no-run(?::[^>]*)?\s*-->\s*$")
PYTHON_INFO = {"python", "py", "python3"}


@dataclass(frozen=True)
class Block:
    """A fenced ```python block: where it starts, its code, and whether it is skipped."""

    name: str
    line: int  # 1-based line of the first code line
    code: str
    no_run: bool


def python_blocks(text: str, name: str = "<page>") -> list[Block]:
    """The fenced python blocks of a Markdown text, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
        info = opening["info"].split()
        if info and info[0].lower() in PYTHON_INFO:
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            body = textwrap.dedent("\n".join(lines[i + 1 : end]))
            blocks.append(Block(name, i + 2, body, bool(_NO_RUN.match(previous))))
        i = end + 1
    return blocks


def run_blocks(blocks: list[Block], module_name: str = "docs_page") -> types.ModuleType:
    """Run the blocks that are not skipped, in order, in one new module; return it."""
    module = types.ModuleType(module_name)
    module.__file__ = blocks[0].name if blocks else None
    sys.modules[module_name] = module  # dataclasses, pickle and typing look modules up
    try:
        for block in blocks:
            if block.no_run:
                continue
            # Pad with newlines so tracebacks give the Markdown file's line numbers.
            code = compile("\n" * (block.line - 1) + block.code, block.name, "exec")
            try:
                exec(code, module.__dict__)
            except BaseException as exc:
                exc.add_note(f"in the python block at {block.name}:{block.line}")
                raise
    finally:
        del sys.modules[module_name]
    return module


def _page_blocks() -> Iterator[tuple[Path, list[Block]]]:
    for page in PAGES:
        blocks = python_blocks(page.read_text(), str(page.relative_to(ROOT)))
        if blocks:
            yield page, blocks


PAGES_WITH_CODE = dict(_page_blocks())


@pytest.fixture
def as_a_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's working directory and environment: a temporary directory, and no
    REGISTRATION_FSM_CATALOG (emulators serve the shipped forms, as a user's do)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # mkdtemp() in a page lands here
    monkeypatch.delenv(ENV_CATALOG, raising=False)


@pytest.mark.usefixtures("as_a_user")
def test_pages_run_with_the_shipped_catalogue() -> None:
    assert EmulatedRegistrationApi().forms.catalog == Catalog.builtin()


@pytest.mark.usefixtures("as_a_user")
@pytest.mark.parametrize("page", list(PAGES_WITH_CODE), ids=lambda p: p.name)
def test_page_examples_run(page: Path) -> None:
    try:
        run_blocks(PAGES_WITH_CODE[page], f"docs_{page.stem}")
    except GraphvizNotFound as err:
        if REQUIRED:
            raise
        pytest.skip(f"{page.name} needs Graphviz: {err}")


def test_the_pages_with_code_are_found() -> None:
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"README.md", "compliance.md"} <= names
    assert len(PAGES_WITH_CODE[ROOT / "docs" / "compliance.md"]) >= 6


def test_no_run_is_kept_for_code_that_needs_aws() -> None:
    skipped = [b for blocks in PAGES_WITH_CODE.values() for b in blocks if b.no_run]
    for block in skipped:
        assert "boto3" in block.code or "Boto3RegistrationApi" in block.code, (
            f"{block.name}:{block.line} is marked no-run but does not call AWS; "
            "run it (against the emulator if it needs an API)"
        )


# -- the runner itself ------------------------------------------------------

PAGE = """\
# A page

```python
x = 1
```

Text, then a shell block that must not run:

```sh
exit 1
```

- a list item with an indented block:

  ```python
  y = x + 1
  ```

<!-- no-run: needs AWS credentials -->
```python
raise SystemExit("a no-run block ran")
```

````markdown
```python
raise SystemExit("a block inside a longer fence ran")
```
````
"""


def test_blocks_are_extracted_with_their_lines_and_markers() -> None:
    blocks = python_blocks(PAGE, "page.md")
    assert [(b.line, b.code.strip(), b.no_run) for b in blocks] == [
        (4, "x = 1", False),
        (16, "y = x + 1", False),
        (21, 'raise SystemExit("a no-run block ran")', True),
    ]


def test_blocks_of_a_page_share_a_namespace_and_skip_no_run() -> None:
    module = run_blocks(python_blocks(PAGE, "page.md"))
    assert (module.x, module.y) == (1, 2)


def test_pages_do_not_share_a_namespace() -> None:
    run_blocks(python_blocks("```python\nshared = 1\n```\n", "a.md"))
    with pytest.raises(NameError, match="shared"):
        run_blocks(python_blocks("```python\nshared\n```\n", "b.md"))


def test_a_failing_block_fails_at_its_markdown_line() -> None:
    page = "# Title\n\n```python\nok = True\nassert not ok, 'stale'\n```\n"
    with pytest.raises(AssertionError, match="stale") as caught:
        run_blocks(python_blocks(page, "stale.md"))
    assert caught.value.__notes__ == ["in the python block at stale.md:4"]
    assert caught.traceback[-1].lineno + 1 == 5  # pytest's lineno is 0-based
    assert str(caught.traceback[-1].path) == "stale.md"


def test_a_dataclass_defined_in_a_block_works() -> None:
    code = (
        "```python\nfrom __future__ import annotations\nfrom dataclasses import dataclass\n\n"
        "@dataclass\nclass P:\n    x: int\n\nassert P(1).x == 1\n```\n"
    )
    run_blocks(python_blocks(code, "dc.md"))


# -- the documentation site ---------------------------------------------------


def _nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.M)


def test_every_docs_page_is_in_the_nav_and_linked_from_the_home_page() -> None:
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert sorted(_nav_pages()) == pages
    index = (ROOT / "docs" / "index.md").read_text()
    linked = set(re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", index))
    assert set(pages) - {"index.md"} <= linked


#: Public modules the API reference must document.
PUBLIC_MODULES = {
    "registration_fsm",
    "registration_fsm.errors",
    "registration_fsm.ports",
    "registration_fsm.adapters",
    "registration_fsm.adapters.boto3_api",
    "registration_fsm.adapters.sqs",
    "registration_fsm.emulator",
    "registration_fsm.emulator.events",
    "registration_fsm.quotas",
    "registration_fsm.pacing",
    "registration_fsm.sync",
    "registration_fsm.sync.pull",
    "registration_fsm.sync.commands",
    "registration_fsm.sync.unit_of_work",
    "registration_fsm.sync.follow",
    "registration_fsm.sync.events",
    "registration_fsm.store",
    "registration_fsm.audit",
    "registration_fsm.diagrams",
    "registration_fsm.testing",
}


def test_the_reference_documents_every_public_module() -> None:
    text = (ROOT / "docs" / "reference.md").read_text()
    documented = set(re.findall(r"^::: ([\w.]+)", text, re.M))
    assert documented >= PUBLIC_MODULES, f"missing: {sorted(PUBLIC_MODULES - documented)}"
    testing = ROOT / "registration_fsm" / "testing"
    kit = {f"registration_fsm.testing.{p.stem}" for p in testing.glob("*.py")}
    kit = {m for m in kit if not m.rsplit(".", 1)[1].startswith("_")}  # private, __init__
    assert kit <= documented, f"testing modules missing: {sorted(kit - documented)}"


def _root_members() -> set[str]:
    """The names the reference documents under ``::: registration_fsm`` itself."""
    text = (ROOT / "docs" / "reference.md").read_text()
    block = text.split("::: registration_fsm\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\s+- (\w+)$", block, re.M))


def test_the_reference_documents_every_public_name() -> None:
    """Each name of ``registration_fsm.__all__`` is under the package root's own heading
    or in the section of the module it comes from (documented there, not twice)."""
    import registration_fsm

    text = (ROOT / "docs" / "reference.md").read_text()
    documented = set(re.findall(r"^::: ([\w.]+)", text, re.M))
    root = _root_members()
    missing = []
    sections = documented - {"registration_fsm"}
    for name in registration_fsm.__all__:
        if name in root:
            continue
        home = getattr(getattr(registration_fsm, name), "__module__", "") or ""
        if not any(home == m or home.startswith(m + ".") for m in sections):
            missing.append(f"{name} (from {home or '?'})")
    assert not missing, f"public names the API reference does not document: {missing}"
    assert not root - set(registration_fsm.__all__), "the root lists names it does not export"


def test_the_changelog_is_in_the_site() -> None:
    """docs/changelog.md includes CHANGELOG.md (one source), which has the rename table."""
    page = (ROOT / "docs" / "changelog.md").read_text()
    assert '--8<-- "CHANGELOG.md"' in page
    assert "pymdownx.snippets" in (ROOT / "mkdocs.yml").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "### Migration: every rename" in changelog
    assert "| 0.1 | 0.2 |" in changelog


#: Names 0.2 removed or renamed (see CHANGELOG.md). Only the changelog may mention them.
REMOVED = (
    "DiscardPolicy",
    "DEFAULT_DISCARD_POLICY",
    "TransitionNotAllowed",
    "DiscardNotAllowed",
    "FailedGuard",
    "failed_guards",
    "discard_refusals",
    "check_create_version",
    "rulebook",
    "domain.engine",
    "registration_status.py",
    "domain.registration_status",
    "adapters.emulator",
    "adapters/emulator",
    "show_cause",
    "--show-cause",
    "advance_triggers",
    "EventCause",
    "ApiConflictError",
    "discard_policy",
    "lifecycle_edges",
    "refresh_status",
    "raw_items",
    "events_json",
    "adopt_versions",
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_name_no_removed_api(page: Path) -> None:
    text = page.read_text()
    found = [name for name in REMOVED if name in text]
    assert not found, f"{page.name} names APIs 0.2 removed or renamed: {found}"
