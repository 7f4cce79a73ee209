"""Mermaid ``stateDiagram-v2`` text for the lifecycle.

Mermaid state diagrams cannot style single transitions, so the options mark
edges in their labels: ``«customer»``/``«AWS»`` (``show_initiator``), ``(inferred)``
(``show_inferred``), ``[guards]`` (``show_guards``) and ``(n)`` for the n-th step
of a highlighted path. Highlighted states get the ``current``/``visited`` classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registration_fsm.diagrams.model import DiagramModel, DrawnEdge, Level, State, build_model
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, Initiator, LifecyclePolicy

if TYPE_CHECKING:
    from registration_fsm.diagrams.model import Highlight

#: The start and end pseudo-state.
PSEUDO = "[*]"

CLASS_DEFS = {
    "current": "fill:#ffd54f,stroke:#e65100,stroke-width:3px,font-weight:bold",
    "visited": "fill:#fff3c4,stroke:#f9a825",
}
INITIATOR_TEXT = {Initiator.CUSTOMER: "«customer»", Initiator.AWS: "«AWS»"}


def edge_label(
    edge: DrawnEdge, *, show_guards: bool, show_initiator: bool, show_inferred: bool
) -> str:
    """The text shown on an edge (shared with the DOT writer)."""
    parts = []
    if edge.step is not None:
        parts.append(f"({edge.step})")
    if show_initiator:
        parts.append(INITIATOR_TEXT[edge.initiator])
    parts.append(edge.label)
    if show_guards and edge.guards:
        parts.append("[" + ", ".join(edge.guards) + "]")
    if show_inferred and not edge.edge.documented:
        parts.append("(inferred)")
    return " ".join(parts)


def _text(value: str) -> str:
    """Text safe in a Mermaid label: ``;`` ends a statement (and makes ``#..;`` entities)."""
    for bad, good in (('"', "'"), (";", ","), ("\n", " ")):
        value = value.replace(bad, good)
    return value


def _state_line(state: State) -> str | None:
    if state.label == state.id:
        return None
    return f'    state "{_text(state.label)}" as {state.id}'


def render_model(
    model: DiagramModel,
    *,
    show_guards: bool = False,
    show_initiator: bool = False,
    show_inferred: bool = False,
) -> str:
    """Mermaid text for a :class:`DiagramModel`."""
    ids = {s.status: s.id for s in model.states}
    lines = ["stateDiagram-v2"]
    lines += [line for s in model.states if (line := _state_line(s)) is not None]
    for e in model.edges:
        src = PSEUDO if e.source is None else ids[e.source]
        label = edge_label(
            e, show_guards=show_guards, show_initiator=show_initiator, show_inferred=show_inferred
        )
        lines.append(f"    {src} --> {ids[e.dest]}: {_text(label)}")
    lines += [f"    {s.id} --> {PSEUDO}" for s in model.states if s.terminal]
    current = [s.id for s in model.states if s.current]
    visited = [s.id for s in model.states if s.visited and not s.current]
    if current or visited:
        lines += [f"    classDef {name} {style}" for name, style in CLASS_DEFS.items()]
    if visited:
        lines.append(f"    class {','.join(visited)} visited")
    if current:
        lines.append(f"    class {','.join(current)} current")
    return "\n".join(lines) + "\n"


def to_mermaid(
    *,
    show_guards: bool = False,
    show_initiator: bool = False,
    show_inferred: bool = False,
    highlight: Highlight = None,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    level: Level = "version",
) -> str:
    """The lifecycle as a Mermaid ``stateDiagram-v2``.

    ``show_guards`` annotates edges with the checks they pass besides the table
    (current version, registration open, the ``policy`` for optional edges and
    provisioning), ``show_initiator`` marks customer and AWS edges, ``show_inferred``
    marks undocumented edges and ``highlight`` (a version, or a registration's current
    version) marks its status and the path its history took. ``level="registration"``
    draws the registration statuses instead (``highlight``: a registration).
    """
    return render_model(
        build_model(highlight, policy=policy, level=level),
        show_guards=show_guards,
        show_initiator=show_initiator,
        show_inferred=show_inferred,
    )


__all__ = ["edge_label", "render_model", "to_mermaid"]
