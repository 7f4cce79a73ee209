"""The lifecycle as a small graph model that the Mermaid and DOT writers share.

:func:`build_model` draws, at ``level="version"``, each edge of
:data:`~registration_fsm.domain.lifecycle.LIFECYCLE` as one :class:`DrawnEdge` (the
lifecycle's ``Edge``, its checks, whether the policy drawn enables it) and each
version status as one :class:`State`, and optionally marks the path a version's
history took. At ``level="registration"`` it draws the registration statuses and
every change between them (:meth:`Lifecycle.registration_graph`: the lines of
``REGISTRATION_EDGES`` and the changes the version edges make through the status
rules), from the same tables.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import attrs

from registration_fsm.domain.history import STATUS_OF_STAMP
from registration_fsm.domain.lifecycle import (
    DEFAULT_POLICY,
    INFO_DOC,
    LIFECYCLE,
    Edge,
    Initiator,
    LifecyclePolicy,
    Move,
    RegistrationEdge,
)
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.errors import InvalidArgument, InvalidArgumentType

if TYPE_CHECKING:
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion

    Highlight = RegistrationVersion | Registration | None

#: Which lifecycle a diagram draws: the versions' statuses or the registration's.
Level = Literal["version", "registration"]
LEVELS: tuple[Level, ...] = ("version", "registration")
#: The pseudo-state the registration diagram draws "from any other status" edges from.
ANY_STATUS = "(any)"


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
    #: A stand-in, not a status: "any other status" on the registration diagram.
    pseudo: bool = False


@attrs.frozen
class DrawnEdge:
    """One lifecycle edge (a version's :class:`~registration_fsm.Edge`, or a registration's
    :class:`~registration_fsm.domain.lifecycle.RegistrationEdge`) as drawn: ids, checks,
    path step."""

    edge: Move
    #: The source state's id (None: the start, for the creating edge) and the dest's.
    source: str | None
    dest: str
    #: Checks shown with ``show_guards``: ``("current version", "registration open")``.
    guards: tuple[str, ...] = ()
    #: False when the policy drawn leaves this optional edge off.
    enabled: bool = True
    #: 1-based step on the highlighted path, or None when off the path.
    step: int | None = None

    @property
    def label(self) -> str:
        """The trigger, with its ``when`` detail: ``submit (aws_review)``."""
        return self.edge.label

    @property
    def initiator(self) -> Initiator:
        """Who fires the edge's trigger."""
        return LIFECYCLE.triggers[self.edge.trigger].initiator

    @property
    def on_path(self) -> bool:
        """Taken by the highlighted version."""
        return self.step is not None


@attrs.frozen
class DiagramModel:
    """States (status order) and edges (the lifecycle table's order), of one ``level``."""

    states: tuple[State, ...]
    edges: tuple[DrawnEdge, ...]
    level: Level = "version"

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


def checks(edge: Edge, policy: LifecyclePolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """The checks besides the table that an edge passes, as short texts for a diagram."""
    out: list[str] = []
    if LIFECYCLE.triggers[edge.trigger].operation is not None and edge.source is not None:
        out.append("current version")
    if edge.source is not None:
        out.append("registration open")
    if edge.optional:
        out.append("on by policy" if policy.allows(edge) else "off by policy")
    return tuple(out)


def _edges(policy: LifecyclePolicy) -> list[DrawnEdge]:
    return [
        DrawnEdge(
            e,
            None if e.source is None else str(e.source),
            str(e.dest),
            checks(e, policy),
            policy.allows(e),
        )
        for e in LIFECYCLE
    ]


def history_path(version: RegistrationVersion) -> list[str]:
    """The statuses a version passed through, oldest first.

    Orders the stamped history members by time (ties keep lifecycle order), maps
    them to statuses and ends with the current
    status if the history does not (REQUIRES_OFFLINE_REVIEW has no stamp).
    """
    stamped = sorted(
        (at, i, STATUS_OF_STAMP[field])
        for i, (field, at) in enumerate(version.history.items())
        if field in STATUS_OF_STAMP
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
    raise InvalidArgumentType(
        f"highlight must be a RegistrationVersion, a Registration or None, got {highlight!r}"
    )


def _mark_path(edges: list[DrawnEdge], path: list[str]) -> None:
    """Number the edges along ``path``; fill gaps with the lifecycle's shortest route."""
    known = {str(s): s for s in VersionStatus}
    steps: list[tuple[str | None, str]] = [(None, path[0])] if path else []
    for a, b in itertools.pairwise(path):
        if a == b or a not in known or b not in known:
            continue
        route = LIFECYCLE.shortest_path(known[a], known[b])
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


def build_model(
    highlight: Highlight = None,
    *,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    level: Level = "version",
) -> DiagramModel:
    """The lifecycle as states and edges, marking ``highlight``'s status and path.

    ``level="version"`` (default): ``highlight`` may be a version or a registration
    (its current version). ``level="registration"``: the registration statuses;
    ``highlight`` must be a registration (its status is marked; the API keeps no
    history of registration statuses, so no path). A status the library does not
    know becomes an extra, unconnected state. Edges the ``policy`` leaves off are
    marked (``enabled`` False).
    """
    if level == "registration":
        return _registration_model(highlight, policy)
    if level != "version":
        raise InvalidArgument(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    version = _resolve(highlight)
    edges = _edges(policy)
    initial = str(LIFECYCLE.initial.dest)
    terminal = {str(s) for s in LIFECYCLE.terminal}
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


# -- the registration's statuses ------------------------------------------------

#: How a registration comes to be: CreateRegistration (documented: "created but not
#: submitted"). Drawn from the start, as the version diagram's ``create`` is.
CREATED_EDGE = RegistrationEdge(
    None, "create", RegistrationStatus.CREATED, documented=True, link=INFO_DOC,
    note="CreateRegistration",
)  # fmt: skip


def registration_checks(edge: RegistrationEdge, policy: LifecyclePolicy) -> tuple[str, ...]:
    """The checks besides the tables that a registration edge passes, for a diagram."""
    trigger = LIFECYCLE.triggers[edge.trigger]
    out: list[str] = []
    if trigger.follows is not None:
        on = True in policy.provisioning_choices
        out += [f"with {trigger.follows}", "provisioning on" if on else "provisioning off"]
    elif edge.derived and trigger.operation is not None:
        out.append("current version")
    if edge.optional:
        out.append("on by policy" if _enabled(edge, policy) else "off by policy")
    return tuple(out)


def _enabled(edge: RegistrationEdge, policy: LifecyclePolicy) -> bool:
    reachable = LIFECYCLE.registration_graph(
        provisions=policy.provisioning_choices, usable=policy.allows
    )
    return edge in reachable


def _registration_model(highlight: object, policy: LifecyclePolicy) -> DiagramModel:
    from registration_fsm.domain.registration import Registration

    if highlight is not None and not isinstance(highlight, Registration):
        raise InvalidArgumentType(
            f"highlight a Registration (or None) on the registration diagram, got {highlight!r}"
        )
    current = None if highlight is None else str(highlight.status)
    graph = LIFECYCLE.registration_graph()
    enabled = set(LIFECYCLE.registration_graph(provisions=policy.provisioning_choices,
                                               usable=policy.allows))  # fmt: skip
    edges = [DrawnEdge(CREATED_EDGE, None, str(RegistrationStatus.CREATED))]
    edges += [
        DrawnEdge(
            e,
            ANY_STATUS if e.source is None else str(e.source),
            str(e.dest),
            registration_checks(e, policy),
            e in enabled,
        )
        for e in graph
    ]
    leaving = {e.source for e in edges if e.source is not None}
    statuses = [str(s) for s in RegistrationStatus]
    if current is not None and current not in statuses:
        statuses.append(current)
    states: list[State] = []
    for status in statuses:
        known = status in RegistrationStatus.__members__
        sid = status if known else unknown_state_id(status, [s.id for s in states] + statuses)
        label = status if known else f"{status} (unknown status)"
        states.append(
            State(sid, status, label, status == str(RegistrationStatus.CREATED),
                  known and status not in leaving, status == current, False, known)
        )  # fmt: skip
    if any(e.source == ANY_STATUS for e in edges):
        states.append(State("ANY_STATUS", ANY_STATUS, "any other status", pseudo=True))
    return DiagramModel(tuple(states), tuple(edges), "registration")


__all__ = [
    "ANY_STATUS",
    "LEVELS",
    "DiagramModel",
    "DrawnEdge",
    "Level",
    "State",
    "build_model",
    "checks",
    "history_path",
    "registration_checks",
    "unknown_state_id",
]
