"""The lifecycle table: the one place that lists the version transitions.

The engine, the guards, the emulator, the diagrams and the docs all read
:data:`LIFECYCLE`. AWS publishes no transition table; each edge says whether a
source documents it (``documented``) or it is inferred from status descriptions,
field names and dates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import cached_property

import attrs

from registration_fsm.domain.statuses import VersionStatus

V = VersionStatus

_API_REF = "https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2"
_STATUS_DOC = f"{_API_REF}/API_RegistrationVersionInformation.html"
_HISTORY_DOC = f"{_API_REF}/API_RegistrationVersionStatusHistory.html"
_DISCARD_GUIDE = "https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-discard.html"


class Cause(StrEnum):
    """Who causes a transition."""

    CUSTOMER = "customer"
    AWS = "aws"


@attrs.frozen
class Transition:
    """One edge (or a fan-in of edges sharing a destination) of the lifecycle."""

    trigger: str
    sources: frozenset[VersionStatus]
    dest: VersionStatus
    #: The RegistrationVersionStatusHistory member stamped on arrival, or None.
    stamps: str | None
    cause: Cause
    documented: bool
    source_link: str
    #: The API operation that causes it, or None for AWS-side or out-of-band steps.
    operation: str | None = None
    #: A boolean detail that selects this edge among edges sharing a trigger
    #: and source (``submit`` with ``aws_review=True``). None: the detail is false.
    when: str | None = None
    note: str = ""


def _t(
    trigger: str,
    sources: set[VersionStatus],
    dest: VersionStatus,
    stamps: str | None,
    cause: Cause,
    documented: bool,
    link: str,
    **extra: str,
) -> Transition:
    return Transition(trigger, frozenset(sources), dest, stamps, cause, documented, link, **extra)


C, A = Cause.CUSTOMER, Cause.AWS

#: Trigger of the edge that brings a new version into existence (no source status).
CREATE = "create"

#: Every transition of a registration version. Order matters only between
#: edges sharing a trigger and source: the one with ``when`` comes first.
LIFECYCLE: tuple[Transition, ...] = (
    _t(
        CREATE,
        set(),
        V.DRAFT,
        "DraftTimestamp",
        C,
        True,
        _STATUS_DOC,
        operation="CreateRegistration/CreateRegistrationVersion",
        note="CreateRegistration makes version 1; CreateRegistrationVersion makes n+1",
    ),
    _t(
        "submit",
        {V.DRAFT},
        V.AWS_REVIEWING,
        "AwsReviewingTimestamp",
        C,
        False,
        _STATUS_DOC,
        operation="SubmitRegistrationVersion",
        when="aws_review",
        note="AwsReview=true is documented; that it lands in AWS_REVIEWING is inferred",
    ),
    _t(
        "submit",
        {V.DRAFT},
        V.SUBMITTED,
        "SubmittedTimestamp",
        C,
        True,
        _STATUS_DOC,
        operation="SubmitRegistrationVersion",
    ),
    _t(
        "begin_review",
        {V.SUBMITTED, V.AWS_REVIEWING},
        V.REVIEWING,
        "ReviewingTimestamp",
        A,
        False,
        _STATUS_DOC,
        note="REVIEWING's meaning is documented; what triggers it is inferred",
    ),
    _t(
        "require_authentication",
        {V.SUBMITTED, V.REVIEWING},
        V.REQUIRES_AUTHENTICATION,
        "RequiresAuthenticationTimestamp",
        A,
        False,
        _STATUS_DOC,
        note="the status's meaning is documented; its source statuses are inferred",
    ),
    _t(
        "authenticate",
        {V.REQUIRES_AUTHENTICATION},
        V.REVIEWING,
        "ReviewingTimestamp",
        C,
        False,
        _STATUS_DOC,
        note="the customer completes email authentication outside the API",
    ),
    _t(
        "require_offline_review",
        {V.REVIEWING},
        V.REQUIRES_OFFLINE_REVIEW,
        None,
        A,
        False,
        _STATUS_DOC,
        note="no history field exists for this status",
    ),
    _t("approve", {V.REVIEWING}, V.APPROVED, "ApprovedTimestamp", A, True, _STATUS_DOC),
    _t(
        "approve",
        {V.REQUIRES_AUTHENTICATION, V.REQUIRES_OFFLINE_REVIEW},
        V.APPROVED,
        "ApprovedTimestamp",
        A,
        False,
        _STATUS_DOC,
    ),
    _t(
        "deny",
        {V.REVIEWING},
        V.DENIED,
        "DeniedTimestamp",
        A,
        True,
        _STATUS_DOC,
        note="DeniedReasons are filled",
    ),
    _t(
        "deny",
        {V.AWS_REVIEWING, V.REQUIRES_AUTHENTICATION, V.REQUIRES_OFFLINE_REVIEW},
        V.DENIED,
        "DeniedTimestamp",
        A,
        False,
        _STATUS_DOC,
        note="from AWS_REVIEWING, AWS's own review fills Feedback",
    ),
    _t(
        "discard",
        {V.SUBMITTED},
        V.DISCARDED,
        "DiscardedTimestamp",
        C,
        True,
        _DISCARD_GUIDE,
        operation="DiscardRegistrationVersion",
    ),
    _t(
        "discard",
        {V.DRAFT},
        V.DISCARDED,
        "DiscardedTimestamp",
        C,
        False,
        _DISCARD_GUIDE,
        operation="DiscardRegistrationVersion",
        note="undocumented; refused unless the DiscardPolicy allows DRAFT",
    ),
    _t(
        "revoke",
        {V.APPROVED},
        V.REVOKED,
        "RevokedTimestamp",
        A,
        True,
        _STATUS_DOC,
        note="the meaning is documented; the cause is not",
    ),
    _t(
        "archive",
        {V.APPROVED},
        V.ARCHIVED,
        "ArchivedTimestamp",
        A,
        True,
        _STATUS_DOC,
        note="when a more recently submitted version is approved",
    ),
)


@attrs.frozen
class Lifecycle:
    """Lookups derived from a transition table (built once, on first use)."""

    transitions: tuple[Transition, ...]

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger that moves an existing version, in table order."""
        seen: dict[str, None] = {}
        for t in self.transitions:
            if t.sources:
                seen.setdefault(t.trigger, None)
        return tuple(seen)

    @cached_property
    def trigger_set(self) -> frozenset[str]:
        """:attr:`triggers` as a set."""
        return frozenset(self.triggers)

    @cached_property
    def initial(self) -> Transition:
        """The edge that creates a version."""
        return next(t for t in self.transitions if not t.sources)

    @cached_property
    def allowed(self) -> Mapping[VersionStatus, tuple[str, ...]]:
        """Triggers allowed from each known status."""
        out: dict[VersionStatus, dict[str, None]] = {s: {} for s in VersionStatus}
        for t in self.transitions:
            for s in t.sources:
                out[s].setdefault(t.trigger, None)
        return {s: tuple(ts) for s, ts in out.items()}

    @cached_property
    def edges(self) -> Mapping[tuple[str, VersionStatus], tuple[Transition, ...]]:
        """The candidate transitions for a (trigger, source) pair, in table order."""
        out: dict[tuple[str, VersionStatus], list[Transition]] = {}
        for t in self.transitions:
            for s in t.sources:
                out.setdefault((t.trigger, s), []).append(t)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def successors(self) -> Mapping[VersionStatus, frozenset[VersionStatus]]:
        """Statuses reachable in one step from each known status."""
        out: dict[VersionStatus, set[VersionStatus]] = {s: set() for s in VersionStatus}
        for t in self.transitions:
            for s in t.sources:
                out[s].add(t.dest)
        return {s: frozenset(d) for s, d in out.items()}

    @cached_property
    def terminal(self) -> frozenset[VersionStatus]:
        """Statuses with no way out."""
        return frozenset(s for s, d in self.successors.items() if not d)

    @cached_property
    def stamp_of(self) -> Mapping[VersionStatus, str | None]:
        """The history member stamped on arrival in each status."""
        out: dict[VersionStatus, str | None] = dict.fromkeys(VersionStatus)
        for t in self.transitions:
            out[t.dest] = t.stamps
        return out

    @cached_property
    def status_of_stamp(self) -> Mapping[str, VersionStatus]:
        """The status whose arrival a history member records."""
        return {f: s for s, f in self.stamp_of.items() if f is not None}

    def reachable(self, start: VersionStatus) -> frozenset[VersionStatus]:
        """Every status reachable from ``start`` in zero or more steps."""
        return self._closure[start]

    @cached_property
    def _closure(self) -> Mapping[VersionStatus, frozenset[VersionStatus]]:
        out: dict[VersionStatus, frozenset[VersionStatus]] = {}
        for start in VersionStatus:
            seen = {start}
            todo = [start]
            while todo:
                for nxt in self.successors[todo.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            out[start] = frozenset(seen)
        return out

    def shortest_path(
        self, start: VersionStatus, goal: VersionStatus
    ) -> tuple[Transition, ...] | None:
        """The shortest chain of transitions from ``start`` to ``goal`` (``()`` if equal)."""
        if start == goal:
            return ()
        frontier: list[tuple[VersionStatus, tuple[Transition, ...]]] = [(start, ())]
        seen = {start}
        while frontier:
            nxt_frontier: list[tuple[VersionStatus, tuple[Transition, ...]]] = []
            for status, path in frontier:
                for t in self.transitions:
                    if status in t.sources and t.dest not in seen:
                        if t.dest == goal:
                            return (*path, t)
                        seen.add(t.dest)
                        nxt_frontier.append((t.dest, (*path, t)))
            frontier = nxt_frontier
        return None


#: Derived lookups over :data:`LIFECYCLE`.
RULES = Lifecycle(LIFECYCLE)
