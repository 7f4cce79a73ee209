"""A griffe extension for this project's docstrings, used by the mkdocs build.

- Sphinx roles (``:class:`~a.b.C```, ``:meth:`fire```...) become code spans
  (``C``, ``fire``) instead of showing the role as text.
- a reST literal-block marker (a line ``::``, or ``text::``) is dropped, leaving
  the indented block that follows, which Markdown shows as code;
- ``#:`` comments above an attribute (the Sphinx convention the code uses)
  become that attribute's docstring when it has none.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
LITERAL_MARKER = re.compile(r"^[ \t]*::[ \t]*$|(?<=\S):(?=:[ \t]*$)", re.M)


def _code(match: re.Match[str]) -> str:
    target = match[2]
    return f"`{target.rsplit('.', 1)[-1]}`" if match[1] else f"`{target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles, read ``#:`` comments."""

    def on_instance(self, *, obj: griffe.Object, **_kwargs: Any) -> None:
        if obj.docstring is None and obj.is_attribute and obj.lineno:
            lines = obj.module.lines
            comment: list[str] = []
            i = obj.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#:"):
                comment.insert(0, lines[i].strip()[2:].strip())
                i -= 1
            if comment:
                obj.docstring = griffe.Docstring("\n".join(comment), parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = LITERAL_MARKER.sub("", ROLE.sub(_code, obj.docstring.value))
