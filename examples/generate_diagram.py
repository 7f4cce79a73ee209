"""Generate the lifecycle diagram that docs/lifecycle.md shows.

    python examples/generate_diagram.py                     # Mermaid to stdout
    python examples/generate_diagram.py docs/lifecycle.mmd  # Mermaid to a file,
                                                            # and lifecycle.svg beside it

The SVG needs Graphviz's ``dot`` (apt-get install graphviz, brew install graphviz,
or REGISTRATION_FSM_DOT=/path/to/dot); without it only the Mermaid file is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from registration_fsm.diagrams import render, to_mermaid
from registration_fsm.errors import GraphvizNotFound

#: docs/lifecycle.md's generated block marks the edges AWS does not document.
SHOW_INFERRED = True


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    mermaid = to_mermaid(show_inferred=SHOW_INFERRED)
    if not argv:
        sys.stdout.write(mermaid)
        return 0
    target = Path(argv[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(mermaid, encoding="utf-8")
    print(f"wrote {target} (Mermaid, {len(mermaid.splitlines())} lines)")
    svg = target.with_suffix(".svg")
    try:
        svg.write_bytes(render("svg", show_inferred=SHOW_INFERRED))
    except GraphvizNotFound as err:
        print(f"skipped {svg}: {err}", file=sys.stderr)
        return 0
    print(f"wrote {svg} (SVG, rendered by Graphviz)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
