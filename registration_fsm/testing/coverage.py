"""Lifecycle coverage: which statuses and edges a test run reached.

Edges are the lifecycle's own :class:`~registration_fsm.Edge` (``source --trigger-->
dest``) and the registration's own :class:`~registration_fsm.domain.lifecycle.RegistrationEdge`
(``COMPLETE --close--> CLOSED``). :class:`LifecycleCoverage` counts the edges of the
events it is shown and the statuses it sees; :meth:`~LifecycleCoverage.report`
compares them with the edges a suite requires. It also counts named actions (the
stateful machine's form actions: ``put_value``, ``submit_incomplete``...) against
those required. The stateful machine (:mod:`registration_fsm.testing.machine`) keeps
one per machine class, across every example of a hypothesis run. Nothing here needs
hypothesis.

::

    from registration_fsm.testing.coverage import LifecycleCoverage

    coverage = LifecycleCoverage()
    coverage.record(event)                   # a TransitionEvent
    report = coverage.report()               # against every edge of LIFECYCLE
    report.missing                           # the required edges never seen
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Literal

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.lifecycle import LIFECYCLE, Edge, Move, RegistrationEdge
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.errors import CoverageError, InvalidArgument, InvalidArgumentType

__all__ = [
    "CoverageError",
    "CoveragePolicy",
    "CoverageReport",
    "LifecycleCoverage",
    "LifecycleCoverageWarning",
    "edge_of",
    "registration_edge_of",
]

#: What a run does when a required edge was never reached.
CoveragePolicy = Literal["fail", "warn", "off"]
POLICIES: tuple[CoveragePolicy, ...] = ("fail", "warn", "off")


def edge_of(event: TransitionEvent) -> Edge | None:
    """The lifecycle edge a version's event took (None for a registration's own event)."""
    if event.version_number is None or isinstance(event.dest, RegistrationStatus):
        return None
    source = event.source if isinstance(event.source, VersionStatus) else None
    return LIFECYCLE.edge(source, event.trigger, event.dest) or Edge(
        source, event.trigger, event.dest
    )


def registration_edge_of(event: TransitionEvent) -> RegistrationEdge | None:
    """The registration edge a registration's own event took (None for a version's event,
    or one with no source)."""
    if event.version_number is not None or not isinstance(event.source, RegistrationStatus):
        return None
    if not isinstance(event.dest, RegistrationStatus):
        return None
    found = LIFECYCLE.registration_edge_taken(event.source, event.trigger, event.dest)
    return found or RegistrationEdge(event.source, event.trigger, event.dest)


def _edge_key(edge: Move) -> tuple[int, str, str, str]:
    kind = 0 if isinstance(edge, Edge) else 1
    return (kind, "" if edge.source is None else str(edge.source), edge.trigger, str(edge.dest))


class LifecycleCoverageWarning(UserWarning):
    """A run left required lifecycle edges unexercised (``coverage_policy = "warn"``)."""


@attrs.frozen
class CoverageReport:
    """What a run reached, and what it should have.

    ``edges`` (the versions'), ``registration_edges`` (the registration's own),
    ``version_statuses`` and ``registration_statuses`` count how often each was seen;
    ``required`` are the edges (of either kind) the run had to reach; ``examples``
    counts the machine instances (hypothesis examples) that contributed; ``actions``
    counts the named actions taken (the machine's form actions) and
    ``required_actions`` are those the run had to take.
    """

    edges: Mapping[Edge, int]
    version_statuses: Mapping[VersionStatus, int]
    registration_statuses: Mapping[RegistrationStatus, int]
    required: frozenset[Move]
    examples: int
    registration_edges: Mapping[RegistrationEdge, int] = attrs.field(factory=dict)
    actions: Mapping[str, int] = attrs.field(factory=dict)
    required_actions: frozenset[str] = frozenset()

    @property
    def missing(self) -> tuple[Move, ...]:
        """Required edges never reached, in a stable order (version edges first)."""
        seen = (self.edges, self.registration_edges)
        return tuple(
            sorted((e for e in self.required if not any(e in s for s in seen)), key=_edge_key)
        )

    @property
    def missing_actions(self) -> tuple[str, ...]:
        """Required actions never taken, sorted."""
        return tuple(sorted(a for a in self.required_actions if not self.actions.get(a)))

    @property
    def ok(self) -> bool:
        """True when every required edge was reached and every required action taken."""
        return not self.missing and not self.missing_actions

    @property
    def unreached_statuses(self) -> tuple[VersionStatus, ...]:
        """Known version statuses never entered."""
        return tuple(s for s in VersionStatus if s not in self.version_statuses)

    def __str__(self) -> str:
        reached = len(self.required) - len(self.missing)
        lines = [
            f"lifecycle coverage: {reached}/{len(self.required)} required edges reached "
            f"in {self.examples} example(s); {len(self.edges)} distinct edge(s) seen"
        ]
        if self.missing:
            lines.append("never exercised:")
            lines.extend(f"  {edge}" for edge in self.missing)
        if self.unreached_statuses:
            lines.append(f"version statuses never entered: {', '.join(self.unreached_statuses)}")
        if self.actions or self.required_actions:
            taken = ", ".join(f"{a} x{n}" for a, n in sorted(self.actions.items()))
            lines.append(f"actions taken: {taken or 'none'}")
        if self.missing_actions:
            lines.append(f"required actions never taken: {', '.join(self.missing_actions)}")
        return "\n".join(lines)


class LifecycleCoverage:
    """A thread-safe accumulator of edges and statuses seen (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.edges: Counter[Edge] = Counter()
        self.registration_edges: Counter[RegistrationEdge] = Counter()
        self.version_statuses: Counter[VersionStatus] = Counter()
        self.registration_statuses: Counter[RegistrationStatus] = Counter()
        self.actions: Counter[str] = Counter()
        self.examples = 0

    def record(self, event: TransitionEvent) -> None:
        """Count the edge an event took and the statuses it touched.

        An event carrying an anomaly (a ``remote_change`` no legal path explains)
        is not a lifecycle edge and is not counted.
        """
        if event.anomaly is not None:
            return
        edge = edge_of(event)
        if edge is not None:
            with self._lock:
                self.edges[edge] += 1
                self.version_statuses[edge.dest] += 1
            return
        own = registration_edge_of(event)
        if own is not None:
            with self._lock:
                self.registration_edges[own] += 1
                self.registration_statuses[own.dest] += 1

    def record_action(self, action: str) -> None:
        """Count one named action taken (such as the machine's ``put_value``)."""
        with self._lock:
            self.actions[action] += 1

    def record_registration_status(self, status: RegistrationStatus) -> None:
        """Count a registration status seen."""
        with self._lock:
            self.registration_statuses[status] += 1

    def start_example(self) -> None:
        """Count one more example (machine instance) contributing to the run."""
        with self._lock:
            self.examples += 1

    def reset(self) -> None:
        """Forget everything (a new run starts)."""
        with self._lock:
            self.edges.clear()
            self.registration_edges.clear()
            self.version_statuses.clear()
            self.registration_statuses.clear()
            self.actions.clear()
            self.examples = 0

    def report(
        self, required: Collection[Move] | None = None, required_actions: Collection[str] = ()
    ) -> CoverageReport:
        """A snapshot against ``required`` (default: every edge of both LIFECYCLE tables)
        and ``required_actions`` (default: none)."""
        wanted = check_required_edges(required)
        if isinstance(required_actions, str) or not all(
            isinstance(a, str) for a in required_actions
        ):
            raise InvalidArgumentType("required actions must be a collection of names")
        with self._lock:
            return CoverageReport(
                dict(self.edges),
                dict(self.version_statuses),
                dict(self.registration_statuses),
                wanted,
                self.examples,
                dict(self.registration_edges),
                dict(self.actions),
                frozenset(required_actions),
            )


def check_required_edges(required: Collection[Move] | None) -> frozenset[Move]:
    """``required`` as a frozenset (None: every edge of both LIFECYCLE tables); refuses
    edges in neither."""
    every: frozenset[Move] = frozenset((*LIFECYCLE.edges, *LIFECYCLE.registration_edges))
    if required is None:
        return every
    if isinstance(required, str) or not all(
        isinstance(e, Edge | RegistrationEdge) for e in required
    ):
        raise InvalidArgumentType("required edges must be a collection of Edge or RegistrationEdge")
    wanted = frozenset(required)
    unknown = sorted((e for e in wanted if e not in every), key=_edge_key)
    if unknown:
        raise InvalidArgument(
            "required edges not in the lifecycle (they can never be reached): "
            + "; ".join(str(e) for e in unknown)
        )
    return wanted


def check_policy(policy: object) -> CoveragePolicy:
    """``policy`` if it is one of "fail", "warn", "off"; else InvalidArgument."""
    for known in POLICIES:
        if policy == known:
            return known
    raise InvalidArgument(f"coverage_policy must be one of {', '.join(POLICIES)}, got {policy!r}")
