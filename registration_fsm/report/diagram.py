"""A version's path on the lifecycle diagram, as the report draws it.

Unlike :func:`registration_fsm.diagrams.to_dot` it puts a title on the graph, the
time of each step on the highlighted edges, and marks the edges the active policy
refuses (grey, dotted, "off by policy") apart from the undocumented ones (dashed).
Edges and nodes carry SVG classes (``on-path``, ``refused``, ``inferred``,
``current``, ``visited``) that the report's legend and tests read.
:func:`svg_markup` renders it with Graphviz and keeps only plain SVG.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import datetime

from registration_fsm.diagrams.dot import PATH_COLOR, START, quote
from registration_fsm.diagrams.model import DiagramModel, DrawnEdge, State, build_model
from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.history import STAMP_OF
from registration_fsm.domain.lifecycle import LifecyclePolicy
from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.domain.version import RegistrationVersion
from registration_fsm.errors import RenderError

REFUSED_COLOR = "#9e9e9e"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
#: What Graphviz writes that the report keeps; anything else is dropped.
_SVG_TAGS = frozenset(
    {"svg", "g", "title", "path", "polygon", "polyline", "ellipse", "text", "a", "desc"}
)


def _attrs(**values: str | None) -> str:
    shown = [f"{k}={quote(v)}" for k, v in values.items() if v is not None]
    return f" [{', '.join(shown)}]" if shown else ""


def when(at: datetime) -> str:
    """A time as the report writes it: ``2026-11-28 10:11:25 UTC``."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def step_times(
    model: DiagramModel, version: RegistrationVersion, events: Iterable[TransitionEvent]
) -> dict[int, datetime]:
    """When each numbered step of the highlighted path was taken: the version's event
    for that edge, else the history stamp of the status it reached (none for a step
    the lifecycle's shortest route filled in without either)."""
    moves = [
        (None if e.source is None else str(e.source), str(e.dest), e.timestamp)
        for e in events
        if e.version_number == version.number
    ]
    out: dict[int, datetime] = {}
    for edge in model.edges:
        if edge.step is None:
            continue
        found = next((t for s, d, t in moves if s == edge.source and d == edge.dest), None)
        if found is None:
            stamp = STAMP_OF.get(VersionStatus(edge.dest))
            found = None if stamp is None else version.history.get(stamp)
        if found is not None:
            out[edge.step] = found
    return out


def _node(state: State) -> str:
    fill = "#ffd54f" if state.current else "#fff3c4" if state.visited else None
    classes = " ".join(
        c for c, on in (("current", state.current), ("visited", state.visited)) if on
    )
    return f"  {quote(state.id)}" + _attrs(
        label=state.label,
        peripheries="2" if state.terminal else None,
        style="rounded,filled" if fill else None,
        fillcolor=fill,
        penwidth="3" if state.current else None,
        color="#e65100" if state.current else None,
        tooltip=None if state.known else "a status this library does not know",
        **{"class": classes or None},
    )


def _edge(edge: DrawnEdge, ids: dict[str, str], times: dict[int, datetime]) -> str:
    src = START if edge.source is None else ids[edge.source]
    label = edge.label
    classes = []
    color = style = None
    if not edge.edge.documented:
        style, label = "dashed", f"{label} (inferred)"
        classes.append("inferred")
    if not edge.enabled:
        color, style, label = REFUSED_COLOR, "dotted", f"{label}\n(off by policy)"
        classes.append("refused")
    if edge.step is not None:
        color = PATH_COLOR
        at = times.get(edge.step)
        label = f"({edge.step}) {label}" + ("" if at is None else f"\n{when(at)}")
        classes += ["on-path", f"step-{edge.step}"]
    return f"  {quote(src)} -> {quote(ids[edge.dest])}" + _attrs(
        label=label,
        color=color,
        fontcolor=color,
        style=style,
        penwidth="2.5" if edge.step is not None else None,
        **{"class": " ".join(classes) or None},
    )


def version_dot(
    version: RegistrationVersion,
    events: Sequence[TransitionEvent],
    *,
    policy: LifecyclePolicy,
    title: str,
) -> str:
    """DOT text of the version lifecycle with ``version``'s path, its times and ``title``."""
    model = build_model(version, policy=policy)
    ids = {s.status: s.id for s in model.states}
    times = step_times(model, version, events)
    lines = [
        "digraph registration_version_path {",
        "  graph"
        + _attrs(rankdir="TB", label=title, labelloc="t", fontsize="16", fontname="Helvetica"),
        '  node [shape="box", style="rounded", fontname="Helvetica"]',
        '  edge [fontname="Helvetica", fontsize="10"]',
        f'  {quote(START)} [shape="point", width="0.2", label=""]',
    ]
    lines += [_node(s) for s in model.states]
    lines += [_edge(e, ids, times) for e in model.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg_markup(svg: bytes, *, label: str) -> str:
    """Graphviz's SVG as markup to inline in HTML: its elements and attributes only
    (no script, no event handler, no link off the page), labelled ``label``."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as err:
        raise RenderError(f"dot wrote SVG that is not XML: {err}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise RenderError(f"dot wrote {root.tag!r}, not an SVG document")
    _clean(root)
    root.set("role", "img")
    root.set("aria-label", label)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def _clean(element: ET.Element) -> None:
    for child in list(element):
        tag = child.tag.removeprefix(f"{{{SVG_NS}}}")
        if tag not in _SVG_TAGS or not child.tag.startswith(f"{{{SVG_NS}}}"):
            element.remove(child)
            continue
        _clean(child)
    for name in list(element.attrib):
        local = name.rsplit("}", 1)[-1].lower()
        if local.startswith("on") or (local == "href" and not element.attrib[name].startswith("#")):
            del element.attrib[name]


__all__ = ["step_times", "svg_markup", "version_dot", "when"]
