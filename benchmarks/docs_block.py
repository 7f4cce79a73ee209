"""Write a benchmark's figures into its marked block of ``docs/performance.md``."""

from __future__ import annotations

from pathlib import Path

#: The page every benchmark writes its block into.
DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def replace_block(start: str, end: str, text: str, doc: Path = DOCS) -> None:
    """Replace what lies between ``start`` and ``end`` (``text`` carries both markers)."""
    page = doc.read_text()
    if start not in page or end not in page:
        raise SystemExit(f"{doc}: the {start} ... {end} markers are missing")
    head, _, rest = page.partition(start)
    _, _, tail = rest.partition(end)
    doc.write_text(head + text + tail)
