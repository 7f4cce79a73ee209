"""Generated blocks in the Markdown docs, so they cannot go stale.

A block is written between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``.
``python -m registration_fsm.diagrams.docs_blocks FILE...`` rewrites them;
``--check`` exits 1 naming every stale block (the test suite does the same).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from registration_fsm.diagrams.mermaid import to_mermaid
from registration_fsm.diagrams.table import (
    to_markdown_table,
    to_quota_table,
    to_registration_table,
    to_status_rules_table,
)
from registration_fsm.errors import InvalidArgument


def _mermaid(**options: Any) -> str:
    return f"```mermaid\n{to_mermaid(**options).rstrip()}\n```"


GENERATORS: Mapping[str, Callable[[], str]] = {
    "lifecycle-mermaid": lambda: _mermaid(show_inferred=True),
    "lifecycle-table": to_markdown_table,
    "registration-mermaid": lambda: _mermaid(show_inferred=True, level="registration"),
    "registration-table": to_registration_table,
    "registration-status-rules": to_status_rules_table,
    "quota-table": to_quota_table,
}

_BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S
)


def refresh(text: str) -> str:
    """``text`` with every generated block rewritten from the code."""

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise InvalidArgument(
                f"unknown generated block {name!r}; known: {', '.join(GENERATORS)}"
            )
        return f"{match[1]}{GENERATORS[name]().rstrip()}\n{match[4]}"

    return _BLOCK.sub(fill, text)


def stale_blocks(text: str) -> list[str]:
    """Names of the generated blocks in ``text`` that differ from what the code makes now."""
    fresh = {m["name"]: m["body"] for m in _BLOCK.finditer(refresh(text))}
    return [m["name"] for m in _BLOCK.finditer(text) if m["body"] != fresh[m["name"]]]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    status = 0
    for name in (a for a in args if a != "--check"):
        path = Path(name)
        text = path.read_text()
        if check:
            for block in stale_blocks(text):
                print(f"{path}: generated block {block!r} is stale", file=sys.stderr)
                status = 1
        else:
            path.write_text(refresh(text))
    return status


if __name__ == "__main__":
    sys.exit(main())
