"""The lifecycle: the one table of edges, and the one object that answers questions about it.

:data:`EDGES` is the only place an edge of the version lifecycle is stated, one
line each: ``documented(...)`` where an AWS page says so (its link), ``inferred(...)``
where the edge is read from status descriptions, field names and dates.
:data:`TRIGGERS` says who fires each trigger, through which API operation, with
which details. :data:`LIFECYCLE` answers everything else — the destination of a
trigger (through one shared ``transitions`` machine built from the table), the
triggers legal from a status, shortest paths, distances, reachability — for the
aggregate, reconcile, the emulator, the strategies, the stateful machine, the
diagrams and the docs alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from functools import cached_property
from typing import Any

import attrs

from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import InvalidArgument, UnknownTrigger

V = VersionStatus

API_REFERENCE = "https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2"
STATUS_DOC = f"{API_REFERENCE}/API_RegistrationVersionInformation.html"
HISTORY_DOC = f"{API_REFERENCE}/API_RegistrationVersionStatusHistory.html"
DISCARD_GUIDE = "https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-discard.html"


class Initiator(StrEnum):
    """Who fires a trigger: the customer (an API call, or a step outside it) or AWS."""

    CUSTOMER = "customer"
    AWS = "aws"


@attrs.frozen
class Trigger:
    """A named cause of change: who fires it, through which operation, with which details.

    ``details`` are the keyword details it takes (``submit`` takes ``aws_review``);
    ``conflict_reason`` is the ConflictException ``Reason`` the API gives when it
    refuses the trigger; ``scope`` is ``"version"`` or ``"registration"``.
    """

    name: str
    initiator: Initiator
    operation: str | None = None
    details: tuple[str, ...] = ()
    conflict_reason: str | None = None
    scope: str = "version"


@attrs.frozen(repr=False, cache_hash=True)
class Edge:
    """One arrow of the lifecycle: ``source --trigger--> dest`` (``source`` None: a new version).

    Equality and hashing use (source, trigger, dest) only, so
    ``Edge(V.SUBMITTED, "discard", V.DISCARDED)`` finds the table's edge.
    ``when`` names a boolean detail that selects this edge over its siblings
    (``submit`` with ``aws_review``); an ``optional`` edge is refused unless the
    :class:`LifecyclePolicy` in force enables it.
    """

    source: VersionStatus | None
    trigger: str
    dest: VersionStatus
    documented: bool = attrs.field(default=False, eq=False)
    link: str = attrs.field(default="", eq=False)
    when: str | None = attrs.field(default=None, eq=False)
    optional: bool = attrs.field(default=False, eq=False)
    note: str = attrs.field(default="", eq=False)

    def __str__(self) -> str:
        src = "(new)" if self.source is None else str(self.source)
        return f"{src} --{self.trigger}--> {self.dest}"

    def __repr__(self) -> str:
        return f"Edge({self})"

    @property
    def label(self) -> str:
        """The trigger, with its ``when`` detail: ``submit (aws_review)``."""
        return self.trigger if self.when is None else f"{self.trigger} ({self.when})"


def documented(
    source: VersionStatus | None, trigger: str, dest: VersionStatus, link: str, **extra: Any
) -> Edge:
    """An edge an AWS page documents (``link``); ``extra``: ``when``, ``note``."""
    return Edge(source, trigger, dest, documented=True, link=link, **extra)


def inferred(source: VersionStatus | None, trigger: str, dest: VersionStatus, **extra: Any) -> Edge:
    """An edge no AWS page states; ``extra``: ``link`` (the page read), ``when``,
    ``optional`` (off unless the policy enables it), ``note``."""
    extra.setdefault("link", STATUS_DOC)
    return Edge(source, trigger, dest, documented=False, **extra)


C, A = Initiator.CUSTOMER, Initiator.AWS

#: Every trigger, by name.
TRIGGERS: Mapping[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("create", C, "CreateRegistrationVersion", (),
                "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"),
        Trigger("submit", C, "SubmitRegistrationVersion", ("aws_review",),
                "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"),
        Trigger("begin_review", A),
        Trigger("require_authentication", A),
        Trigger("authenticate", C),
        Trigger("require_offline_review", A),
        Trigger("approve", A),
        Trigger("deny", A, details=("denied_reasons", "feedback")),
        Trigger("discard", C, "DiscardRegistrationVersion", (),
                "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"),
        Trigger("revoke", A),
        Trigger("archive", A),
        Trigger("delete", C, "DeleteRegistration", (), "RESOURCE_DELETION_NOT_ALLOWED",
                scope="registration"),
    )
}  # fmt: skip

_NEW = "CreateRegistration makes version 1, CreateRegistrationVersion version n+1"
_AWS_REVIEW = "AwsReview=true is documented; that it lands in AWS_REVIEWING is inferred"
_REVIEW = "REVIEWING's meaning is documented; what triggers it is inferred"
_AUTH = "the status's meaning is documented; its source statuses are inferred"

#: Every edge of the version lifecycle, one per line. Siblings sharing a trigger
#: and source: the one with ``when`` first.
# fmt: off
EDGES: tuple[Edge, ...] = (
    documented(None, "create", V.DRAFT, STATUS_DOC, note=_NEW),
    inferred(V.DRAFT, "submit", V.AWS_REVIEWING, when="aws_review", note=_AWS_REVIEW),
    documented(V.DRAFT, "submit", V.SUBMITTED, STATUS_DOC),
    inferred(V.SUBMITTED, "begin_review", V.REVIEWING, note=_REVIEW),
    inferred(V.AWS_REVIEWING, "begin_review", V.REVIEWING, note=_REVIEW),
    inferred(V.SUBMITTED, "require_authentication", V.REQUIRES_AUTHENTICATION, note=_AUTH),
    inferred(V.REVIEWING, "require_authentication", V.REQUIRES_AUTHENTICATION, note=_AUTH),
    inferred(V.REQUIRES_AUTHENTICATION, "authenticate", V.REVIEWING, note="email step, outside the API"),  # noqa: E501
    inferred(V.REVIEWING, "require_offline_review", V.REQUIRES_OFFLINE_REVIEW, note="no history field"),  # noqa: E501
    documented(V.REVIEWING, "approve", V.APPROVED, STATUS_DOC),
    inferred(V.REQUIRES_AUTHENTICATION, "approve", V.APPROVED),
    inferred(V.REQUIRES_OFFLINE_REVIEW, "approve", V.APPROVED),
    documented(V.REVIEWING, "deny", V.DENIED, STATUS_DOC, note="DeniedReasons are filled"),
    inferred(V.AWS_REVIEWING, "deny", V.DENIED, note="AWS's own review fills Feedback"),
    inferred(V.REQUIRES_AUTHENTICATION, "deny", V.DENIED),
    inferred(V.REQUIRES_OFFLINE_REVIEW, "deny", V.DENIED),
    documented(V.SUBMITTED, "discard", V.DISCARDED, DISCARD_GUIDE),
    inferred(V.DRAFT, "discard", V.DISCARDED, link=DISCARD_GUIDE, optional=True, note="undocumented"),  # noqa: E501
    documented(V.APPROVED, "revoke", V.REVOKED, STATUS_DOC, note="the cause is undocumented"),
    documented(V.APPROVED, "archive", V.ARCHIVED, STATUS_DOC, note="a newer version was approved"),
)
# fmt: on


class _Probe:
    """The model the shared machine moves to resolve a destination."""

    __slots__ = ("status",)

    def __init__(self, status: VersionStatus) -> None:
        self.status = status


def _detail_is_true(name: str) -> Callable[[Any], bool]:
    def check(event_data: Any) -> bool:
        return bool(event_data.kwargs.get(name, False))

    check.__name__ = f"detail_{name}"
    return check


class Lifecycle:
    """Every question about a table of edges (see the module docstring).

    Lookups are built on first use, never at import. Unknown statuses (values AWS
    adds later) have no edges: every query answers "none" for them.
    """

    def __init__(self, edges: Iterable[Edge], triggers: Mapping[str, Trigger]) -> None:
        self.edges: tuple[Edge, ...] = tuple(edges)
        self.triggers: Mapping[str, Trigger] = dict(triggers)
        _check_table(self.edges, self.triggers)

    def __iter__(self) -> Iterator[Edge]:
        return iter(self.edges)

    def __len__(self) -> int:
        return len(self.edges)

    def __contains__(self, edge: object) -> bool:
        return edge in self._by_key

    # -- triggers ---------------------------------------------------------

    def trigger(self, name: object) -> Trigger:
        """The trigger called ``name``; :class:`UnknownTrigger` if there is none."""
        found = self.triggers.get(name) if isinstance(name, str) else None
        if found is None:
            raise UnknownTrigger(name, tuple(self.triggers))
        return found

    @cached_property
    def moving_triggers(self) -> tuple[str, ...]:
        """Triggers that move an existing version, in table order."""
        return tuple(dict.fromkeys(e.trigger for e in self.edges if e.source is not None))

    @cached_property
    def aws_triggers(self) -> tuple[str, ...]:
        """Triggers no API operation fires (AWS's side, or steps outside the API)."""
        return tuple(t for t in self.moving_triggers if self.triggers[t].operation is None)

    # -- one status ---------------------------------------------------------

    @cached_property
    def initial(self) -> Edge:
        """The edge that brings a version into existence."""
        return next(e for e in self.edges if e.source is None)

    @cached_property
    def _from(self) -> Mapping[VersionStatus, tuple[Edge, ...]]:
        out: dict[VersionStatus, list[Edge]] = {s: [] for s in VersionStatus}
        for e in self.edges:
            if e.source is not None:
                out[e.source].append(e)
        return {s: tuple(es) for s, es in out.items()}

    def edges_from(self, status: VersionStatus) -> tuple[Edge, ...]:
        """The edges leaving ``status``, in table order (none for an unknown status)."""
        return self._from.get(status, ())

    @cached_property
    def _allowed(self) -> Mapping[VersionStatus, tuple[str, ...]]:
        return {s: tuple(dict.fromkeys(e.trigger for e in es)) for s, es in self._from.items()}

    def allowed(self, status: VersionStatus) -> tuple[str, ...]:
        """The triggers the table allows from ``status``, in table order."""
        return self._allowed.get(status, ())

    def successors(self, status: VersionStatus) -> frozenset[VersionStatus]:
        """Statuses one edge away from ``status``."""
        return frozenset(e.dest for e in self.edges_from(status))

    @cached_property
    def terminal(self) -> frozenset[VersionStatus]:
        """Known statuses with no way out."""
        return frozenset(s for s, es in self._from.items() if not es)

    def sources_of(self, trigger: str) -> frozenset[VersionStatus]:
        """The statuses ``trigger`` can fire from."""
        return frozenset(e.source for e in self.edges if e.trigger == trigger and e.source)

    def edge(self, source: VersionStatus | None, trigger: str, dest: VersionStatus) -> Edge | None:
        """The table's edge ``source --trigger--> dest``, or None."""
        return self._by_key.get(Edge(source, trigger, dest))

    @cached_property
    def optional_edges(self) -> frozenset[Edge]:
        """The edges a :class:`LifecyclePolicy` must enable before they are taken."""
        return frozenset(e for e in self.edges if e.optional)

    @cached_property
    def _by_key(self) -> Mapping[Edge, Edge]:
        return {e: e for e in self.edges}

    # -- the destination: the shared transitions machine -------------------

    @cached_property
    def machine(self) -> Any:
        """One ``transitions.Machine`` for every version (typed Any: transitions is untyped).

        Versions are not its models (one Machine or ``add_model`` per version costs
        O(models); transitions issue #434): :meth:`destination` moves a probe.
        """
        from transitions import Machine

        return Machine(
            model=[],
            states=list(VersionStatus),
            transitions=_machine_transitions(self.edges),
            initial=None,
            auto_transitions=False,
            send_event=True,
            model_attribute="status",
            ignore_invalid_triggers=False,
        )

    def destination(
        self, status: VersionStatus, trigger: str, details: Mapping[str, Any] | None = None
    ) -> Edge | None:
        """The edge ``trigger`` takes from ``status`` with these details, or None.

        Decided by the shared machine: the only place a destination is resolved.
        Its conditions read nothing but the ``when`` details, so each answer is
        remembered per (status, trigger, those details' truth) and asked once.
        """
        if trigger not in self.allowed(status):
            return None
        given = details or {}
        key = (status, trigger, tuple(bool(given.get(w)) for w in self._whens[trigger]))
        if key not in self._decided:
            probe = _Probe(status)
            moved = self.machine.events[trigger].trigger(probe, **given)
            self._decided[key] = (
                self._by_key[Edge(status, trigger, probe.status)] if moved else None
            )
        return self._decided[key]

    @cached_property
    def _whens(self) -> Mapping[str, tuple[str, ...]]:
        out: dict[str, dict[str, None]] = {t: {} for t in self.triggers}
        for e in self.edges:
            if e.when is not None:
                out[e.trigger][e.when] = None
        return {t: tuple(ws) for t, ws in out.items()}

    @cached_property
    def _decided(self) -> dict[tuple[VersionStatus, str, tuple[bool, ...]], Edge | None]:
        return {}

    # -- paths ---------------------------------------------------------------

    def shortest_path(
        self,
        start: VersionStatus,
        goals: VersionStatus | Collection[VersionStatus],
        *,
        usable: Callable[[Edge], bool] | None = None,
    ) -> tuple[Edge, ...] | None:
        """The shortest chain of edges from ``start`` to a goal (``()`` at a goal), or None.

        ``usable`` leaves out edges (an edge policy, disabled triggers). Breadth
        first over table order, so ties go to the edge listed first.
        """
        wanted = {goals} if isinstance(goals, VersionStatus) else set(goals)
        frontier: list[tuple[VersionStatus, tuple[Edge, ...]]] = [(start, ())]
        seen = {start}
        while frontier:
            following: list[tuple[VersionStatus, tuple[Edge, ...]]] = []
            for status, path in frontier:
                if status in wanted:
                    return path
                for e in self.edges_from(status):
                    if e.dest not in seen and (usable is None or usable(e)):
                        seen.add(e.dest)
                        following.append((e.dest, (*path, e)))
            frontier = following
        return None

    @cached_property
    def distances(self) -> Mapping[tuple[VersionStatus, VersionStatus], int]:
        """Edges on the shortest path between two known statuses (absent: unreachable)."""
        out: dict[tuple[VersionStatus, VersionStatus], int] = {}
        for start in VersionStatus:
            for goal in VersionStatus:
                path = self.shortest_path(start, goal)
                if path is not None:
                    out[(start, goal)] = len(path)
        return out

    def distance(self, start: VersionStatus, goal: VersionStatus) -> int | None:
        """Edges on the shortest path from ``start`` to ``goal``, or None if unreachable."""
        return self.distances.get((start, goal))

    def reachable(self, start: VersionStatus) -> frozenset[VersionStatus]:
        """Every status reachable from ``start`` in zero or more edges."""
        return self._closure.get(start, frozenset({start}))

    @cached_property
    def _closure(self) -> Mapping[VersionStatus, frozenset[VersionStatus]]:
        out: dict[VersionStatus, set[VersionStatus]] = {}
        for a, b in self.distances:
            out.setdefault(a, set()).add(b)
        return {s: frozenset(reached) for s, reached in out.items()}


def _check_table(edges: Sequence[Edge], triggers: Mapping[str, Trigger]) -> None:
    """Refuse a table that could not mean anything (checked when a Lifecycle is built)."""
    seen: set[Edge] = set()
    creates = [e for e in edges if e.source is None]
    if len(creates) != 1:
        raise InvalidArgument(f"the table needs exactly one create edge, has {len(creates)}")
    for e in edges:
        trigger = triggers.get(e.trigger)
        if trigger is None or trigger.scope != "version":
            raise InvalidArgument(f"{e}: {e.trigger!r} is not a version trigger")
        if e in seen:
            raise InvalidArgument(f"{e} is listed twice")
        if e.when is not None and e.when not in trigger.details:
            raise InvalidArgument(f"{e}: when={e.when!r} is not a detail of {e.trigger}")
        seen.add(e)


def _machine_transitions(edges: Sequence[Edge]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in edges:
        if e.source is None:
            continue
        spec: dict[str, Any] = {"trigger": e.trigger, "source": e.source, "dest": e.dest}
        if e.when is not None:
            spec["conditions"] = [_detail_is_true(e.when)]
        else:
            # An edge without ``when`` applies only when its siblings' details are false.
            siblings = sorted(
                {
                    o.when
                    for o in edges
                    if o.when is not None and o.trigger == e.trigger and o.source == e.source
                }
            )
            if siblings:
                spec["unless"] = [_detail_is_true(w) for w in siblings]
        out.append(spec)
    return out


#: The lifecycle of registration versions: :data:`EDGES` and :data:`TRIGGERS`.
LIFECYCLE = Lifecycle(EDGES, TRIGGERS)


@attrs.frozen
class LifecyclePolicy:
    """Which optional edges are on. The default: none (only what the table allows outright).

    ``LifecyclePolicy.allowing(edge, ...)`` turns optional edges on; for the
    undocumented DRAFT discard, :meth:`allow_draft_discard`. An edge that is not
    an optional edge of :data:`LIFECYCLE` is refused (:class:`InvalidArgument`).
    """

    enabled: frozenset[Edge] = frozenset()

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.enabled, frozenset):
            raise InvalidArgument(f"enabled must be a frozenset of edges, got {self.enabled!r}")
        for e in self.enabled:
            found = LIFECYCLE.edge(e.source, e.trigger, e.dest) if isinstance(e, Edge) else None
            if found is None or not found.optional:
                optional = "; ".join(str(o) for o in LIFECYCLE if o.optional) or "none"
                raise InvalidArgument(
                    f"{e} is not an optional edge of the lifecycle; optional edges: {optional}"
                )

    @classmethod
    def allowing(cls, *edges: Edge) -> LifecyclePolicy:
        """A policy with these optional edges on."""
        return cls(frozenset(edges))

    @classmethod
    def allow_draft_discard(cls) -> LifecyclePolicy:
        """DRAFT may be discarded too (the API reference leaves it undocumented)."""
        return cls.allowing(Edge(V.DRAFT, "discard", V.DISCARDED))

    def allows(self, edge: Edge) -> bool:
        """Whether ``edge`` may be taken under this policy.

        Whether an edge is optional is the table's say: ``Edge(V.DRAFT, "discard",
        V.DISCARDED)`` built by hand is the table's optional edge (edges compare by
        source, trigger and destination), whatever its own ``optional`` flag.
        """
        if edge in LIFECYCLE.optional_edges:
            return edge in self.enabled
        return edge in LIFECYCLE or not edge.optional

    @property
    def discardable(self) -> frozenset[VersionStatus]:
        """The statuses a discard is allowed from."""
        return frozenset(
            e.source for e in LIFECYCLE if e.trigger == "discard" and e.source and self.allows(e)
        )


#: The default policy: every optional edge off.
DEFAULT_POLICY = LifecyclePolicy()
