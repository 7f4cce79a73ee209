"""Graphviz DOT text for the lifecycle, written by hand (no ``graphviz`` import).

Edge labels are the Mermaid writer's (:func:`~registration_fsm.diagrams.mermaid.edge_label`);
DOT also colours customer (blue) and AWS (orange) edges, dashes inferred ones,
draws terminal states with a double border and the highlighted path in bold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registration_fsm.diagrams.mermaid import edge_label
from registration_fsm.diagrams.model import DiagramModel, DrawnEdge, Level, State, build_model
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, Initiator, LifecyclePolicy

if TYPE_CHECKING:
    from registration_fsm.diagrams.model import Highlight

#: The start pseudo-state's node id.
START = "__start__"
#: The graph's name, by level.
GRAPH_NAMES = {
    "version": "registration_version_lifecycle",
    "registration": "registration_lifecycle",
}
INITIATOR_COLOR = {Initiator.CUSTOMER: "#1f6fb4", Initiator.AWS: "#d9730d"}
PATH_COLOR = "#b71c1c"


def quote(value: str) -> str:
    """A DOT double-quoted string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(**values: str | None) -> str:
    shown = [f"{k}={quote(v)}" for k, v in values.items() if v is not None]
    return f" [{', '.join(shown)}]" if shown else ""


def _node(state: State) -> str:
    fill = "#ffd54f" if state.current else "#fff3c4" if state.visited else None
    style = "rounded,filled" if fill else "rounded,dashed" if state.pseudo else None
    return f"  {quote(state.id)}" + _attrs(
        label=state.label,
        peripheries="2" if state.terminal else None,
        style=style,
        fillcolor=fill,
        penwidth="3" if state.current else None,
        color="#e65100" if state.current else None,
        tooltip=None if state.known else "a status this library does not know",
    )


def _edge(
    edge: DrawnEdge,
    ids: dict[str, str],
    show_guards: bool,
    show_initiator: bool,
    show_inferred: bool,
) -> str:
    src = START if edge.source is None else ids[edge.source]
    label = edge_label(
        edge, show_guards=show_guards, show_initiator=show_initiator, show_inferred=show_inferred
    )
    color = INITIATOR_COLOR[edge.initiator] if show_initiator else None
    if edge.on_path:
        color = PATH_COLOR
    dashed = show_inferred and not edge.edge.documented
    return f"  {quote(src)} -> {quote(ids[edge.dest])}" + _attrs(
        label=label,
        color=color,
        fontcolor=color,
        style="dashed" if dashed else None,
        penwidth="2.5" if edge.on_path else None,
    )


def _legend(show_initiator: bool, show_inferred: bool) -> str | None:
    parts = []
    if show_initiator:
        parts.append("blue: customer, orange: AWS")
    if show_inferred:
        parts.append("dashed: inferred (undocumented)")
    return "; ".join(parts) or None


def render_model(
    model: DiagramModel,
    *,
    show_guards: bool = False,
    show_initiator: bool = False,
    show_inferred: bool = False,
) -> str:
    """DOT text for a :class:`DiagramModel`."""
    ids = {s.status: s.id for s in model.states}
    lines = [
        f"digraph {GRAPH_NAMES[model.level]} {{",
        "  graph"
        + _attrs(rankdir="TB", label=_legend(show_initiator, show_inferred), labelloc="b"),
        '  node [shape="box", style="rounded", fontname="Helvetica"]',
        '  edge [fontname="Helvetica", fontsize="10"]',
        f'  {quote(START)} [shape="point", width="0.2", label=""]',
    ]
    lines += [_node(s) for s in model.states]
    lines += [_edge(e, ids, show_guards, show_initiator, show_inferred) for e in model.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(
    *,
    show_guards: bool = False,
    show_initiator: bool = False,
    show_inferred: bool = False,
    highlight: Highlight = None,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    level: Level = "version",
) -> str:
    """The lifecycle as Graphviz DOT text; options as for :func:`to_mermaid`."""
    return render_model(
        build_model(highlight, policy=policy, level=level),
        show_guards=show_guards,
        show_initiator=show_initiator,
        show_inferred=show_inferred,
    )


__all__ = ["quote", "render_model", "to_dot"]
