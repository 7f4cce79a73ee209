"""Lifecycle coverage: which statuses and edges a test run reached.

An :class:`Edge` is one ``(source, trigger, dest)`` step of :data:`LIFECYCLE`
(``source`` is None for ``create``). :class:`LifecycleCoverage` counts the edges
of the events it is shown and the statuses it sees; :meth:`~LifecycleCoverage.report`
compares them with the edges a suite requires. The stateful machine
(:mod:`registration_fsm.testing.machine`) keeps one per machine class, across
every example of a hypothesis run. Nothing here needs hypothesis.

::

    from registration_fsm.testing.coverage import LifecycleCoverage, lifecycle_edges

    coverage = LifecycleCoverage()
    coverage.record(event)                   # a TransitionEvent
    report = coverage.report(lifecycle_edges())
    report.missing                           # the required edges never seen
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Literal, NamedTuple

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.lifecycle import LIFECYCLE, Transition
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.errors import InvalidArgument, RegistrationError

__all__ = [
    "CoverageError",
    "CoveragePolicy",
    "CoverageReport",
    "Edge",
    "LifecycleCoverage",
    "LifecycleCoverageWarning",
    "lifecycle_edges",
]

#: What a run does when a required edge was never reached.
CoveragePolicy = Literal["fail", "warn", "off"]
POLICIES: tuple[CoveragePolicy, ...] = ("fail", "warn", "off")


class Edge(NamedTuple):
    """One step of the lifecycle: ``Edge(VersionStatus.APPROVED, "revoke", VersionStatus.REVOKED)``.

    ``source`` is None for the ``create`` edge that brings a version into existence.
    """

    source: VersionStatus | None
    trigger: str
    dest: VersionStatus

    def __str__(self) -> str:
        src = "(new)" if self.source is None else str(self.source)
        return f"{src} --{self.trigger}--> {self.dest}"

    @classmethod
    def of(cls, event: TransitionEvent) -> Edge:
        """The edge an event took."""
        return cls(event.source, event.trigger, event.dest)


def _edge_key(edge: Edge) -> tuple[str, str, str]:
    return ("" if edge.source is None else str(edge.source), edge.trigger, str(edge.dest))


def lifecycle_edges(table: Iterable[Transition] = LIFECYCLE) -> frozenset[Edge]:
    """Every edge of a transition table (default :data:`LIFECYCLE`: 20 edges)."""
    out: set[Edge] = set()
    for t in table:
        if not t.sources:
            out.add(Edge(None, t.trigger, t.dest))
        out.update(Edge(s, t.trigger, t.dest) for s in t.sources)
    return frozenset(out)


class LifecycleCoverageWarning(UserWarning):
    """A run left required lifecycle edges unexercised (``coverage_policy = "warn"``)."""


class CoverageError(RegistrationError, AssertionError):
    """A run left required lifecycle edges unexercised (``coverage_policy = "fail"``)."""

    def __init__(self, report: CoverageReport) -> None:
        super().__init__(str(report))
        self.report = report


@attrs.frozen
class CoverageReport:
    """What a run reached, and what it should have.

    ``edges``, ``version_statuses`` and ``registration_statuses`` count how often
    each was seen; ``required`` are the edges the run had to reach; ``examples``
    counts the machine instances (hypothesis examples) that contributed.
    """

    edges: Mapping[Edge, int]
    version_statuses: Mapping[VersionStatus, int]
    registration_statuses: Mapping[RegistrationStatus, int]
    required: frozenset[Edge]
    examples: int

    @property
    def missing(self) -> tuple[Edge, ...]:
        """Required edges never reached, in a stable order."""
        return tuple(sorted((e for e in self.required if e not in self.edges), key=_edge_key))

    @property
    def ok(self) -> bool:
        """True when every required edge was reached."""
        return not self.missing

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
        return "\n".join(lines)


class LifecycleCoverage:
    """A thread-safe accumulator of edges and statuses seen (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.edges: Counter[Edge] = Counter()
        self.version_statuses: Counter[VersionStatus] = Counter()
        self.registration_statuses: Counter[RegistrationStatus] = Counter()
        self.examples = 0

    def record(self, event: TransitionEvent) -> None:
        """Count the edge an event took and the statuses it touched.

        An event carrying an anomaly (a ``remote_change`` no legal path explains)
        is not a lifecycle edge and is not counted.
        """
        if event.anomaly is not None:
            return
        with self._lock:
            self.edges[Edge.of(event)] += 1
            self.version_statuses[event.dest] += 1

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
            self.version_statuses.clear()
            self.registration_statuses.clear()
            self.examples = 0

    def report(self, required: Collection[Edge] | None = None) -> CoverageReport:
        """A snapshot against ``required`` (default: every :data:`LIFECYCLE` edge)."""
        wanted = check_required_edges(required)
        with self._lock:
            return CoverageReport(
                dict(self.edges),
                dict(self.version_statuses),
                dict(self.registration_statuses),
                wanted,
                self.examples,
            )


def check_required_edges(required: Collection[Edge] | None) -> frozenset[Edge]:
    """``required`` as a frozenset (None: every LIFECYCLE edge); refuses edges not in it."""
    every = lifecycle_edges()
    if required is None:
        return every
    wanted = frozenset(Edge(*e) for e in required)
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
