"""The lifecycle as a small graph model that the Mermaid and DOT writers share.

:func:`build_model` expands :data:`~registration_fsm.domain.lifecycle.LIFECYCLE`
into one :class:`Edge` per (source, dest, trigger, when) and one :class:`State`
per status, and optionally marks the path a version's history took.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from registration_fsm.domain.guards import (
    DEFAULT_DISCARD_POLICY,
    builtin_discard_guards,
    guard_name,
)
from registration_fsm.domain.lifecycle import LIFECYCLE, RULES, Cause, Transition
from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import InvalidArgument

if TYPE_CHECKING:
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion

    Highlight = RegistrationVersion | Registration | None

#: How each built-in discard guard reads on a diagram; ``{source}`` is the edge's source.
GUARD_TEXT: dict[str, str] = {
    "is_current_version": "current version",
    "status_is_discardable": "status {source}",
    "registration_is_open": "registration open",
}


@attrs.frozen
class State:
    """A status on the diagram."""

    #: A valid Mermaid / DOT identifier.
    id: str
    #: The raw API status string.
    status: str
    label: str
    initial: bool = False
    terminal: bool = False
    #: The highlighted version's status.
    current: bool = False
    #: On the path the highlighted version's history took.
    visited: bool = False
    #: False for a status this library does not know (shown as an extra node).
    known: bool = True


@attrs.frozen
class Edge:
    """One transition: ``source`` is None for the creating edge (from the start)."""

    source: str | None
    dest: str
    trigger: str
    cause: Cause
    documented: bool
    when: str | None = None
    #: The discard guards, e.g. ``("current version", "status SUBMITTED", ...)``.
    guards: tuple[str, ...] = ()
    #: 1-based step on the highlighted path, or None when off the path.
    step: int | None = None

    @property
    def label(self) -> str:
        """The trigger, with its ``when`` detail: ``submit (aws_review)``."""
        return self.trigger if self.when is None else f"{self.trigger} ({self.when})"

    @property
    def on_path(self) -> bool:
        """Taken by the highlighted version."""
        return self.step is not None


@attrs.frozen
class DiagramModel:
    """States (table order) and edges (table order, sources sorted)."""

    states: tuple[State, ...]
    edges: tuple[Edge, ...]

    def state(self, status: str) -> State:
        """The state for a raw status string."""
        return next(s for s in self.states if s.status == status)


def unknown_state_id(status: str, taken: Sequence[str] = ()) -> str:
    """An id for an unknown status: ``UNKNOWN_`` and ``[A-Za-z0-9_]``, unlike any in ``taken``."""
    base = "UNKNOWN_" + (re.sub(r"[^A-Za-z0-9_]", "_", status) or "_")
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    return out


def discard_guards(source: VersionStatus) -> tuple[str, ...]:
    """The built-in discard guards as short texts, for an edge from ``source``."""
    out = []
    for guard in builtin_discard_guards(DEFAULT_DISCARD_POLICY):
        name = guard_name(guard)
        text = GUARD_TEXT.get(name, name.replace("_", " ")).format(source=source)
        if name == "status_is_discardable" and source not in DEFAULT_DISCARD_POLICY.discardable:
            text += " if DiscardPolicy allows it"
        out.append(text)
    return tuple(out)


def _edges(transitions: Sequence[Transition]) -> list[Edge]:
    order = {s: i for i, s in enumerate(VersionStatus)}
    out: list[Edge] = []
    seen: set[tuple[str | None, str, str, str | None]] = set()
    for t in transitions:
        sources: list[VersionStatus | None] = [*sorted(t.sources, key=order.__getitem__)]
        for src in sources or [None]:
            key = (src, str(t.dest), t.trigger, t.when)
            if key in seen:
                continue
            seen.add(key)
            guards = discard_guards(src) if t.trigger == "discard" and src is not None else ()
            out.append(
                Edge(None if src is None else str(src), str(t.dest), t.trigger, t.cause,
                     t.documented, t.when, guards)
            )  # fmt: skip
    return out


def history_path(version: RegistrationVersion) -> list[str]:
    """The statuses a version passed through, oldest first.

    Orders the stamped history members by time (ties keep lifecycle order), maps
    them to statuses with ``RULES.status_of_stamp`` and ends with the current
    status if the history does not (REQUIRES_OFFLINE_REVIEW has no stamp).
    """
    stamped = sorted(
        (at, i, RULES.status_of_stamp[field])
        for i, (field, at) in enumerate(version.history.items())
        if field in RULES.status_of_stamp
    )
    path = [str(status) for _at, _i, status in stamped]
    if not path or path[-1] != version.status:
        path.append(str(version.status))
    return path


def _resolve(highlight: object) -> RegistrationVersion | None:
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion

    if highlight is None or isinstance(highlight, RegistrationVersion):
        return highlight
    if isinstance(highlight, Registration):
        return highlight.current_version
    raise InvalidArgument(
        f"highlight must be a RegistrationVersion, a Registration or None, got {highlight!r}"
    )


def _mark_path(edges: list[Edge], path: list[str]) -> None:
    """Number the edges along ``path``; fill gaps with the lifecycle's shortest route."""
    known = {str(s): s for s in VersionStatus}
    steps: list[tuple[str | None, str]] = [(None, path[0])] if path else []
    for a, b in itertools.pairwise(path):
        if a == b or a not in known or b not in known:
            continue
        route = RULES.shortest_path(known[a], known[b])
        if route is None:
            continue
        prev = a
        for t in route:
            steps.append((prev, str(t.dest)))
            prev = str(t.dest)
    for n, (src, dest) in enumerate(steps, start=1):
        for i, e in enumerate(edges):
            if e.source == src and e.dest == dest and e.step is None:
                edges[i] = attrs.evolve(e, step=n)
                break


def build_model(highlight: Highlight = None) -> DiagramModel:
    """The lifecycle as states and edges, marking ``highlight``'s status and path.

    ``highlight`` may be a version or a registration (its current version). A
    status the library does not know becomes an extra, unconnected state.
    """
    version = _resolve(highlight)
    edges = _edges(LIFECYCLE)
    initial = str(RULES.initial.dest)
    terminal = {str(s) for s in RULES.terminal}
    path = history_path(version) if version is not None else []
    current = None if version is None else str(version.status)
    statuses = [str(s) for s in VersionStatus]
    for status in path:
        if status not in statuses:
            statuses.append(status)
    states: list[State] = []
    for status in statuses:
        known = status in VersionStatus.__members__
        sid = status if known else unknown_state_id(status, [s.id for s in states] + statuses)
        label = status if known else f"{status} (unknown status)"
        states.append(
            State(sid, status, label, status == initial, status in terminal,
                  status == current, status in path, known)
        )  # fmt: skip
    _mark_path(edges, path)
    return DiagramModel(tuple(states), tuple(edges))


__all__ = [
    "GUARD_TEXT",
    "DiagramModel",
    "Edge",
    "State",
    "build_model",
    "discard_guards",
    "history_path",
    "unknown_state_id",
]
