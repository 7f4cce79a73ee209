"""The docs cannot go stale: generated blocks must match what the code makes now."""

from __future__ import annotations

from pathlib import Path

import pytest

from registration_fsm.diagrams.docs_blocks import refresh, stale_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_generated_blocks_are_fresh(page: Path) -> None:
    stale = stale_blocks(page.read_text())
    assert not stale, (
        f"{page.name}: stale generated blocks {stale}; "
        f"run python -m registration_fsm.diagrams.docs_blocks {page.relative_to(ROOT)}"
    )


def test_lifecycle_page_has_the_table_and_the_diagram() -> None:
    text = (ROOT / "docs" / "lifecycle.md").read_text()
    assert "<!-- generated: lifecycle-table -->" in text
    assert "<!-- generated: lifecycle-mermaid -->" in text


def test_a_stale_block_is_detected() -> None:
    page = "<!-- generated: lifecycle-table -->\n| old |\n<!-- end generated -->\n"
    assert stale_blocks(page) == ["lifecycle-table"]
    assert stale_blocks(refresh(page)) == []
