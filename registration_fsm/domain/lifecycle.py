"""The lifecycle: the tables of edges, and the one object that answers questions about them.

:data:`EDGES` is the only place an edge of the version lifecycle is stated, and
:data:`REGISTRATION_EDGES` the only place an edge of the registration's own
lifecycle is (PROVISIONING, COMPLETE, CLOSED, DELETED: what the versions cannot
tell), one line each: ``documented(...)`` where an AWS page states the transition
(its link), ``inferred(...)`` where it is read from status descriptions, field names
and dates (the link is the page read). :data:`TRIGGERS` says who fires each trigger,
through which API operation, with which details. :data:`LIFECYCLE` answers
everything else — the destination of a trigger (through one shared ``transitions``
machine built from the version table), the triggers legal from a status, shortest
paths, distances, reachability, the registration statuses the versions lead to —
for the aggregate, reconcile, the emulator, the strategies, the stateful machine,
the diagrams and the docs alike. :class:`LifecyclePolicy` turns optional edges on,
and says which registration types pass through PROVISIONING on approval.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, overload

import attrs

from registration_fsm.domain import walk
from registration_fsm.domain.edges import (
    API_REFERENCE,
    ASSOCIATION_DOC,
    DELETE_DOC,
    DISCARD_GUIDE,
    HISTORY_DOC,
    INFO_DOC,
    STATUS_DOC,
    STATUS_GUIDE,
    SUBMIT_DOC,
    USER_GUIDE,
    Edge,
    Initiator,
    Move,
    RegistrationEdge,
    Trigger,
)
from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.walk import RegistrationState, Step
from registration_fsm.errors import InvalidArgument, UnknownTrigger

V = VersionStatus
R = RegistrationStatus


@overload
def documented(
    source: VersionStatus | None, trigger: str, dest: VersionStatus, link: str, **extra: Any
) -> Edge: ...
@overload
def documented(
    source: RegistrationStatus | None,
    trigger: str,
    dest: RegistrationStatus,
    link: str,
    **extra: Any,
) -> RegistrationEdge: ...
def documented(source: Any, trigger: str, dest: Any, link: str, **extra: Any) -> Any:
    """An edge an AWS page states (``link``); ``extra``: ``when``, ``note``, ``name``."""
    cls = RegistrationEdge if isinstance(dest, RegistrationStatus) else Edge
    return cls(source, trigger, dest, documented=True, link=link, **extra)


@overload
def inferred(
    source: VersionStatus | None, trigger: str, dest: VersionStatus, **extra: Any
) -> Edge: ...
@overload
def inferred(
    source: RegistrationStatus | None, trigger: str, dest: RegistrationStatus, **extra: Any
) -> RegistrationEdge: ...
def inferred(source: Any, trigger: str, dest: Any, **extra: Any) -> Any:
    """An edge no AWS page states; ``extra``: ``link`` (the page read), ``when``,
    ``optional`` (off unless the policy enables it), ``name``, ``note``."""
    registration = isinstance(dest, RegistrationStatus)
    extra.setdefault("link", INFO_DOC if registration else STATUS_DOC)
    cls = RegistrationEdge if registration else Edge
    return cls(source, trigger, dest, documented=False, **extra)


C, A = Initiator.CUSTOMER, Initiator.AWS

#: Every trigger, by name.
TRIGGERS: Mapping[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("create", C, "CreateRegistrationVersion", (),
                "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"),
        Trigger("submit", C, "SubmitRegistrationVersion", ("aws_review", "field_values"),
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
        Trigger("provision", A, scope="registration", follows="approve"),
        Trigger("complete_provisioning", A, details=("resource_id",), scope="registration"),
        Trigger("close", A, details=("resource_id",), scope="registration"),
        Trigger("delete", C, "DeleteRegistration", (), "RESOURCE_DELETION_NOT_ALLOWED",
                scope="registration"),
    )
}  # fmt: skip

_NEW = "DRAFT: 'the initial status of a registration version after it's created'"
_SUBMIT = "the operation submits the draft; SUBMITTED: 'your registration has been submitted'"
_AWS_REVIEW = "AwsReview=true is documented; that it lands in AWS_REVIEWING is inferred"
_REVIEW = "REVIEWING's meaning is documented; what triggers it is inferred"
_AUTH = "the status's meaning is documented; its source statuses are inferred"
_OUTCOME = "both statuses are documented; no page states the step between them"
_NEWER = "the discard page (SUBMITTED only) predates this status"

#: Every edge of the version lifecycle, one per line. Siblings sharing a trigger and
#: source: the one with ``when`` first. Optional edges (off by default) come last.
# fmt: off
EDGES: tuple[Edge, ...] = (
    documented(None, "create", V.DRAFT, STATUS_DOC, note=_NEW),
    inferred(V.DRAFT, "submit", V.AWS_REVIEWING, link=SUBMIT_DOC, when="aws_review", note=_AWS_REVIEW),  # noqa: E501
    documented(V.DRAFT, "submit", V.SUBMITTED, SUBMIT_DOC, note=_SUBMIT),
    inferred(V.SUBMITTED, "begin_review", V.REVIEWING, note=_REVIEW),
    inferred(V.AWS_REVIEWING, "begin_review", V.REVIEWING, note=_REVIEW),
    inferred(V.SUBMITTED, "require_authentication", V.REQUIRES_AUTHENTICATION, note=_AUTH),
    inferred(V.REVIEWING, "require_authentication", V.REQUIRES_AUTHENTICATION, note=_AUTH),
    inferred(V.REQUIRES_AUTHENTICATION, "authenticate", V.REVIEWING, note="email step, outside the API"),  # noqa: E501
    inferred(V.REVIEWING, "require_offline_review", V.REQUIRES_OFFLINE_REVIEW, note="no history field"),  # noqa: E501
    inferred(V.REVIEWING, "approve", V.APPROVED, note=_OUTCOME),
    inferred(V.REQUIRES_AUTHENTICATION, "approve", V.APPROVED),
    inferred(V.REQUIRES_OFFLINE_REVIEW, "approve", V.APPROVED),
    inferred(V.REVIEWING, "deny", V.DENIED, note=_OUTCOME + "; DeniedReasons are filled"),
    inferred(V.AWS_REVIEWING, "deny", V.DENIED, note="AWS's own review fills Feedback"),
    inferred(V.REQUIRES_AUTHENTICATION, "deny", V.DENIED),
    inferred(V.REQUIRES_OFFLINE_REVIEW, "deny", V.DENIED),
    documented(V.SUBMITTED, "discard", V.DISCARDED, DISCARD_GUIDE, note="'only if it's status is Submitted'"),  # noqa: E501
    documented(V.APPROVED, "revoke", V.REVOKED, STATUS_DOC, note="'your previously approved registration has been revoked'; the cause is undocumented"),  # noqa: E501
    documented(V.APPROVED, "archive", V.ARCHIVED, STATUS_DOC, note="'moves into this status when a more recently submitted version is approved'"),  # noqa: E501
    inferred(V.DRAFT, "discard", V.DISCARDED, link=DISCARD_GUIDE, optional=True, name="draft_discard", note="the user guide allows SUBMITTED only; the API reference is silent on DRAFT"),  # noqa: E501
    inferred(V.SUBMITTED, "deny", V.DENIED, optional=True, name="submitted_deny", note="a denial before the review starts (no ReviewingTimestamp); AWS does not rule it out"),  # noqa: E501
    inferred(V.AWS_REVIEWING, "require_authentication", V.REQUIRES_AUTHENTICATION, optional=True, name="aws_reviewing_authentication", note="email authentication asked during AWS's own review (AWS_REVIEWING, 2025, is newer than the pages)"),  # noqa: E501
    inferred(V.AWS_REVIEWING, "discard", V.DISCARDED, link=DISCARD_GUIDE, optional=True, name="aws_reviewing_discard", note="AWS's own review has not reached the carriers; " + _NEWER),  # noqa: E501
    inferred(V.REQUIRES_AUTHENTICATION, "discard", V.DISCARDED, link=DISCARD_GUIDE, optional=True, name="requires_authentication_discard", note="waiting on the customer's e-mail step, not under review; " + _NEWER),  # noqa: E501
)

#: Every edge of the registration's own lifecycle, one per line: the statuses the
#: versions cannot tell. The rest of the registration status follows the versions
#: (``derive_registration_status``).
REGISTRATION_EDGES: tuple[RegistrationEdge, ...] = (
    inferred(R.REVIEWING, "provision", R.PROVISIONING, link=ASSOCIATION_DOC, note="with the approval, when the policy sends the type through PROVISIONING ('automatically provisioned once the registration is approved')"),  # noqa: E501
    inferred(R.REQUIRES_AUTHENTICATION, "provision", R.PROVISIONING, link=ASSOCIATION_DOC, note="with an approval from REQUIRES_AUTHENTICATION, as above"),  # noqa: E501
    inferred(R.PROVISIONING, "complete_provisioning", R.COMPLETE, note="PROVISIONING: the origination identity 'is being created'; COMPLETE: it 'has been created'"),  # noqa: E501
    inferred(R.COMPLETE, "close", R.CLOSED, note="CLOSED: 'the phone number or sender ID has been deleted'; only a complete registration has one to lose"),  # noqa: E501
    documented(R.CLOSED, "delete", R.DELETED, STATUS_GUIDE, note="CLOSED: you 'must also delete the registration for the number'"),  # noqa: E501
    inferred(None, "delete", R.DELETED, link=DELETE_DOC, note="DeleteRegistration from any other status but REVIEWING (NOT_FROM: documented); other refusals by status are undocumented"),  # noqa: E501
)
# fmt: on

#: Where an "any other status" edge of :data:`REGISTRATION_EDGES` does not apply:
#: (trigger, status) -> (the page that says so, what it says). Documented, so not optional.
NOT_FROM: Mapping[tuple[str, RegistrationStatus], tuple[str, str]] = {
    ("delete", R.REVIEWING): (
        STATUS_GUIDE,
        "REVIEWING: 'You can't make any changes to your registration or any resources "
        "associated to the registration while it is in this state'",
    ),
}


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
    """Every question about a table of version edges and one of registration edges.

    Lookups are built on first use, never at import. Unknown statuses (values AWS
    adds later) have no edges: every query answers "none" for them (but
    ``delete``, which applies from any registration status).
    """

    def __init__(
        self,
        edges: Iterable[Edge],
        triggers: Mapping[str, Trigger],
        registration_edges: Iterable[RegistrationEdge] = (),
    ) -> None:
        self.edges: tuple[Edge, ...] = tuple(edges)
        self.triggers: Mapping[str, Trigger] = dict(triggers)
        self.registration_edges: tuple[RegistrationEdge, ...] = tuple(registration_edges)
        _check_table(self.edges, self.triggers)
        _check_registration_table(self.registration_edges, self.triggers)

    def __iter__(self) -> Iterator[Edge]:
        return iter(self.edges)

    def __len__(self) -> int:
        return len(self.edges)

    def __contains__(self, edge: object) -> bool:
        return edge in self._by_key or edge in self._registration_by_key

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
        """Version triggers no API operation fires (AWS's side, or steps outside the API)."""
        return tuple(t for t in self.moving_triggers if self.triggers[t].operation is None)

    @cached_property
    def registration_triggers(self) -> tuple[str, ...]:
        """Triggers of the registration's own lifecycle, in :data:`TRIGGERS` order."""
        return tuple(t.name for t in self.triggers.values() if t.scope == "registration")

    @cached_property
    def registration_aws_triggers(self) -> tuple[str, ...]:
        """Registration triggers no API operation fires: ``provision`` (only ever with an
        approval), ``complete_provisioning``, ``close``."""
        return tuple(t for t in self.registration_triggers if self.triggers[t].operation is None)

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
    def optional_edges(self) -> frozenset[Move]:
        """The edges (of either table) a :class:`LifecyclePolicy` must enable before they
        are taken."""
        every: tuple[Move, ...] = (*self.edges, *self.registration_edges)
        return frozenset(e for e in every if e.optional)

    @cached_property
    def _by_key(self) -> Mapping[Edge, Edge]:
        return {e: e for e in self.edges}

    # -- the registration's own edges ---------------------------------------

    @cached_property
    def _registration_by_key(self) -> Mapping[RegistrationEdge, RegistrationEdge]:
        return {e: e for e in self.registration_edges}

    @cached_property
    def _registration_from(self) -> Mapping[RegistrationStatus, tuple[RegistrationEdge, ...]]:
        return {s: self._registration_edges_from(s) for s in RegistrationStatus}

    def _registration_edges_from(self, status: RegistrationStatus) -> tuple[RegistrationEdge, ...]:
        own = tuple(e for e in self.registration_edges if e.source == status)
        taken = {e.trigger for e in own}
        anywhere = tuple(
            e
            for e in self.registration_edges
            if e.source is None
            and e.trigger not in taken
            and e.dest != status
            and (e.trigger, status) not in NOT_FROM
        )
        return own + anywhere

    def registration_edges_from(self, status: RegistrationStatus) -> tuple[RegistrationEdge, ...]:
        """The registration edges that apply from ``status``: its own, then the "any
        other status" ones whose trigger it has no edge for (an unknown status: those)."""
        found = self._registration_from.get(status)
        return self._registration_edges_from(status) if found is None else found

    def registration_allowed(self, status: RegistrationStatus) -> tuple[str, ...]:
        """The registration triggers that may be fired alone from ``status``."""
        return tuple(
            dict.fromkeys(
                e.trigger
                for e in self.registration_edges_from(status)
                if self.triggers[e.trigger].follows is None
            )
        )

    def registration_destination(
        self, status: RegistrationStatus, trigger: str
    ) -> RegistrationEdge | None:
        """The registration edge ``trigger`` takes from ``status``, or None."""
        return next((e for e in self.registration_edges_from(status) if e.trigger == trigger), None)

    def registration_edge(
        self, source: RegistrationStatus | None, trigger: str, dest: RegistrationStatus
    ) -> RegistrationEdge | None:
        """The registration table's line ``source --trigger--> dest`` (source None: any)."""
        return self._registration_by_key.get(RegistrationEdge(source, trigger, dest))

    def registration_edge_taken(
        self, source: RegistrationStatus | None, trigger: str, dest: RegistrationStatus
    ) -> RegistrationEdge | None:
        """The table's edge a change ``source -> dest`` by ``trigger`` took (its own line, or
        the "any other status" line), or None."""
        if source is None:
            return self.registration_edge(None, trigger, dest)
        found = self.registration_destination(source, trigger)
        return found if found is not None and found.dest == dest else None

    def registration_path(
        self,
        start: RegistrationStatus,
        goal: RegistrationStatus,
        *,
        usable: Callable[[Move], bool] | None = None,
    ) -> tuple[RegistrationEdge, ...] | None:
        """The shortest chain of registration edges from ``start`` to ``goal`` (``()`` at it),
        leaving out triggers that only come with another (``provision``); or None."""
        frontier: list[tuple[RegistrationStatus, tuple[RegistrationEdge, ...]]] = [(start, ())]
        seen = {start}
        while frontier:
            following: list[tuple[RegistrationStatus, tuple[RegistrationEdge, ...]]] = []
            for status, path in frontier:
                if status == goal:
                    return path
                for e in self.registration_edges_from(status):
                    alone = self.triggers[e.trigger].follows is None
                    if alone and e.dest not in seen and (usable is None or usable(e)):
                        seen.add(e.dest)
                        following.append((e.dest, (*path, e)))
            frontier = following
        return None

    # -- the registration, walked without one (registration_fsm.domain.walk) ------

    def registration_moves(
        self,
        state: RegistrationState,
        *,
        provisions: bool = False,
        usable: Callable[[Move], bool] | None = None,
    ) -> tuple[Step, ...]:
        """Every move a registration in ``state`` can take (see :func:`walk.moves`)."""
        return walk.moves(self, state, provisions=provisions, usable=usable)

    def registration_plan(
        self,
        start: RegistrationState,
        goal: Move,
        *,
        provisions: bool = False,
        usable: Callable[[Move], bool] | None = None,
    ) -> tuple[Move, ...] | None:
        """The shortest chain of moves from ``start`` taking ``goal`` (see :func:`walk.plan`)."""
        return walk.plan(self, start, goal, provisions=provisions, usable=usable)

    def registration_graph(
        self,
        *,
        provisions: Collection[bool] = (False, True),
        usable: Callable[[Move], bool] | None = None,
    ) -> tuple[RegistrationEdge, ...]:
        """Every change of registration status a new registration can go through: the
        registration table's edges it reaches and ``derived`` ones (see :func:`walk.graph`)."""
        return walk.graph(self, provisions=provisions, usable=usable)

    def reachable_registration_edges(
        self,
        *,
        provisions: Collection[bool] = (False, True),
        usable: Callable[[Move], bool] | None = None,
    ) -> frozenset[RegistrationEdge]:
        """The lines of the registration table a new registration can reach."""
        graph = self.registration_graph(provisions=provisions, usable=usable)
        return frozenset(e for e in graph if not e.derived)

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
        if not isinstance(e, Edge) or trigger is None or trigger.scope != "version":
            raise InvalidArgument(f"{e}: {e.trigger!r} is not a version trigger")
        if e in seen:
            raise InvalidArgument(f"{e} is listed twice")
        if e.when is not None and e.when not in trigger.details:
            raise InvalidArgument(f"{e}: when={e.when!r} is not a detail of {e.trigger}")
        seen.add(e)


def _check_registration_table(
    edges: Sequence[RegistrationEdge], triggers: Mapping[str, Trigger]
) -> None:
    seen: set[tuple[RegistrationStatus | None, str]] = set()
    for e in edges:
        trigger = triggers.get(e.trigger)
        if (
            not isinstance(e, RegistrationEdge)
            or trigger is None
            or trigger.scope != "registration"
        ):
            raise InvalidArgument(f"{e}: {e.trigger!r} is not a registration trigger")
        if (e.source, e.trigger) in seen:
            raise InvalidArgument(
                f"{e}: {e.trigger} from {e.source or 'any status'} is listed twice"
            )
        if e.when is not None:
            raise InvalidArgument(f"{e}: registration edges take no when")
        seen.add((e.source, e.trigger))
    for name in {e.trigger for e in edges}:
        follows = triggers[name].follows
        if follows is not None and follows not in triggers:
            raise InvalidArgument(f"{name} follows {follows!r}, which is not a trigger")


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


#: The lifecycle of registrations and their versions: :data:`EDGES`,
#: :data:`TRIGGERS` and :data:`REGISTRATION_EDGES`.
LIFECYCLE = Lifecycle(EDGES, TRIGGERS, REGISTRATION_EDGES)


def _provisioning(value: bool | Iterable[str]) -> bool | frozenset[str]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgument(
            f"provisioning must be True, False or a collection of registration types, got {value!r}"
        )
    types = frozenset(value)
    bad = sorted(repr(t) for t in types if not isinstance(t, str) or not t)
    if bad:
        raise InvalidArgument(
            f"provisioning names registration types (strings), got {', '.join(bad)}"
        )
    return types


@attrs.frozen
class LifecyclePolicy:
    """Which optional edges are on, and which registration types an approval provisions.

    The default: no optional edge, no provisioning (an approval gives COMPLETE at once).

    - ``enabled``: the optional edges on. :meth:`allow` takes edges or their names
      (``"draft_discard"``, or the edge's text ``"DRAFT --discard--> DISCARDED"``),
      :meth:`permissive` turns every optional edge on, :meth:`allow_draft_discard`
      the undocumented DRAFT discard. An edge that is not an optional edge of
      :data:`LIFECYCLE` is refused (:class:`InvalidArgument`).
    - ``provisioning``: whether an approval passes through PROVISIONING (AWS: "approved
      and your origination identity is being created") before COMPLETE: ``True`` for
      every registration type, a collection of types for those, ``False`` (default)
      for none. AWS documents that ASSOCIATE_ON_APPROVAL types (sender IDs, short
      codes) are "automatically provisioned once the registration is approved", not
      which types those are in an account. :meth:`with_provisioning` returns a copy.
    """

    enabled: frozenset[Move] = frozenset()
    provisioning: bool | frozenset[str] = attrs.field(default=False, converter=_provisioning)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.enabled, frozenset):
            raise InvalidArgument(f"enabled must be a frozenset of edges, got {self.enabled!r}")
        for e in self.enabled:
            found = _table_edge(e)
            if found is None or not found.optional:
                raise InvalidArgument(
                    f"{e} is not an optional edge of the lifecycle; optional edges: "
                    f"{_optional_names()}"
                )

    @classmethod
    def allowing(cls, *edges: Move) -> LifecyclePolicy:
        """A policy with these optional edges on."""
        return cls(frozenset(edges))

    @classmethod
    def allow(
        cls, *edges: Move | str, provisioning: bool | Iterable[str] = False
    ) -> LifecyclePolicy:
        """A policy with these optional edges on, given as edges or by name."""
        return cls(frozenset(_optional_edge(e) for e in edges), provisioning)

    @classmethod
    def permissive(cls, *, provisioning: bool | Iterable[str] = False) -> LifecyclePolicy:
        """Every optional edge on (what an account that shows them all needs)."""
        return cls(LIFECYCLE.optional_edges, provisioning)

    @classmethod
    def allow_draft_discard(cls) -> LifecyclePolicy:
        """DRAFT may be discarded too (the API reference leaves it undocumented)."""
        return cls.allowing(Edge(V.DRAFT, "discard", V.DISCARDED))

    def with_provisioning(self, *registration_types: str) -> LifecyclePolicy:
        """A copy where approvals of these types (none given: of every type) pass through
        PROVISIONING."""
        return attrs.evolve(self, provisioning=frozenset(registration_types) or True)

    def provisions(self, registration_type: str) -> bool:
        """Whether an approval of a ``registration_type`` registration passes through
        PROVISIONING."""
        if isinstance(self.provisioning, bool):
            return self.provisioning
        return registration_type in self.provisioning

    @property
    def provisioning_choices(self) -> frozenset[bool]:
        """The approval outcomes this policy allows across types: ``{False}``, ``{True}``,
        or both (some types provision)."""
        if isinstance(self.provisioning, bool):
            return frozenset({self.provisioning})
        return frozenset({False, True}) if self.provisioning else frozenset({False})

    def allows(self, edge: Move) -> bool:
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


def _table_edge(edge: object) -> Move | None:
    if isinstance(edge, Edge):
        return LIFECYCLE.edge(edge.source, edge.trigger, edge.dest)
    if isinstance(edge, RegistrationEdge):
        return LIFECYCLE.registration_edge(edge.source, edge.trigger, edge.dest)
    return None


def _optional_names() -> str:
    named = [f"{e.name} ({e})" if e.name else str(e) for e in LIFECYCLE.optional_edges]
    return "; ".join(sorted(named)) or "none"


def _optional_edge(edge: Move | str) -> Move:
    if not isinstance(edge, str):
        return edge
    for e in LIFECYCLE.optional_edges:
        if edge in (e.name, str(e)):
            return e
    raise InvalidArgument(
        f"no optional edge is called {edge!r}; optional edges: {_optional_names()}"
    )


def who(event: TransitionEvent) -> str:
    """Who caused ``event``: its actor, else who fires its trigger (``customer``,
    ``aws``; ``api`` for a trigger the table does not know)."""
    if event.actor:
        return event.actor
    trigger = LIFECYCLE.triggers.get(event.trigger)
    return "api" if trigger is None else trigger.initiator.value


#: The default policy: every optional edge off, no approval provisions.
DEFAULT_POLICY = LifecyclePolicy()

__all__ = [
    "API_REFERENCE",
    "ASSOCIATION_DOC",
    "DEFAULT_POLICY",
    "DELETE_DOC",
    "DISCARD_GUIDE",
    "EDGES",
    "HISTORY_DOC",
    "INFO_DOC",
    "LIFECYCLE",
    "NOT_FROM",
    "REGISTRATION_EDGES",
    "STATUS_DOC",
    "STATUS_GUIDE",
    "SUBMIT_DOC",
    "TRIGGERS",
    "USER_GUIDE",
    "Edge",
    "Initiator",
    "Lifecycle",
    "LifecyclePolicy",
    "Move",
    "RegistrationEdge",
    "Trigger",
    "documented",
    "inferred",
    "who",
]
