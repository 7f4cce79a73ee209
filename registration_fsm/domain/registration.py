"""Registration: the aggregate that owns its versions and keeps their invariants.

Invariants: version numbers run 1..n; only the current (latest) version may be
open; at most one version is APPROVED (approving a newer one archives the older);
a new version needs a closed current version; the API's commands act on the
current version. Every change goes through a method of the aggregate; callers
read ``versions`` through a read-only mapping of immutable versions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Self

import attrs

from registration_fsm.domain import parsing as p
from registration_fsm.domain.anomalies import Anomaly
from registration_fsm.domain.events import (
    Origin,
    Subscriber,
    TransitionEvent,
    check_metadata,
    check_text,
    deliver,
)
from registration_fsm.domain.forms.values import FieldChange, FieldValues
from registration_fsm.domain.lifecycle import (
    DEFAULT_POLICY,
    LIFECYCLE,
    NOT_FROM,
    Edge,
    LifecyclePolicy,
    RegistrationEdge,
    Trigger,
)
from registration_fsm.domain.statuses import (
    CLOSED_VERSION_STATUSES,
    ENDED_REGISTRATION_STATUSES,
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)
from registration_fsm.domain.version import (
    _NO_DETAILS,
    CREATE,
    Clock,
    PreparedDetails,
    RegistrationVersion,
    prepare_details,
    read_clock,
)
from registration_fsm.errors import (
    ClockError,
    CommandRefused,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    Refusal,
    shown,
)

DELETE = "delete"


@attrs.frozen
class GuardContext:
    """What a guard sees: the registration, the version the command concerns, the
    trigger, and who asks, why, with which metadata."""

    registration: Registration
    version: RegistrationVersion
    trigger: str
    actor: str | None
    reason: str | None
    metadata: Mapping[str, str]


#: A guard returns None to allow, or a message saying why it refuses.
Guard = Callable[[GuardContext], str | None]


def guard_name(guard: Guard) -> str:
    """A readable name for a guard callable."""
    return getattr(guard, "__name__", None) or type(guard).__name__


def check_guards(guards: Sequence[Guard]) -> tuple[Guard, ...]:
    """``guards`` as a tuple of callables, or :class:`InvalidArgumentType`."""
    if callable(guards) or isinstance(guards, str | bytes):
        raise InvalidArgumentType(f"guards must be a sequence of callables, got {shown(guards)}")
    for g in guards:
        if not callable(g):
            raise InvalidArgumentType(f"guards must be callables, got {shown(g)}")
    return tuple(guards)


def evaluate(guards: Iterable[Guard], ctx: GuardContext) -> list[Refusal]:
    """Run every guard; return every refusal. A guard that raises refuses (fail closed)."""
    out: list[Refusal] = []
    for guard in guards:
        name = guard_name(guard)
        try:
            verdict = guard(ctx)
        except Exception as exc:
            out.append(Refusal(name, f"guard raised {type(exc).__name__}: {exc}"))
            continue
        if verdict is None:
            continue
        if not isinstance(verdict, str) or not verdict:
            out.append(Refusal(name, f"guard returned {verdict!r}; expected None or a message"))
            continue
        out.append(Refusal(name, verdict))
    return out


@attrs.frozen
class _Request:
    """A checked command: the trigger, its details and who asks."""

    trigger: Trigger
    details: PreparedDetails
    actor: str | None
    reason: str | None
    metadata: Mapping[str, str]
    guards: tuple[Guard, ...]
    policy: LifecyclePolicy


def _request(
    trigger: str,
    details: Mapping[str, Any],
    actor: str | None,
    reason: str | None,
    metadata: Mapping[str, str] | None,
    guards: Sequence[Guard],
    policy: LifecyclePolicy,
) -> _Request:
    if not isinstance(policy, LifecyclePolicy):
        raise InvalidArgumentType(f"policy must be a LifecyclePolicy, got {shown(policy)}")
    found = LIFECYCLE.trigger(trigger)
    return _Request(
        found,
        prepare_details(found, details),
        check_text(actor, "actor"),
        check_text(reason, "reason"),
        check_metadata(metadata),
        check_guards(guards),
        policy,
    )


@attrs.frozen
class _Plan:
    """What a command would do: the version it concerns, the edge (a version's, or the
    registration's own), every refusal."""

    target: RegistrationVersion
    edge: Edge | None
    refusals: list[Refusal]
    own: RegistrationEdge | None = None


@attrs.define(slots=True, eq=True)
class Registration:
    """A registration and its versions.

    Build with :meth:`new` or :meth:`from_api`. Ask "may I?" with :meth:`refusals`
    (empty: allowed); change it with the typed commands (:meth:`submit`,
    :meth:`create_version`, :meth:`discard`, :meth:`delete`, and AWS's side:
    :meth:`begin_review`, :meth:`approve`, :meth:`deny`...) or :meth:`fire`.
    Subscribers (:meth:`subscribe`) receive every event a change makes.
    ``anomalies`` lists what :meth:`from_api` found odd (not part of equality).
    """

    _id: str
    _arn: str
    _type: str
    _status: RegistrationStatus
    _created: datetime
    _versions: dict[int, RegistrationVersion]
    _additional_attributes: dict[str, str] = attrs.field(factory=dict)
    _anomalies: tuple[Anomaly, ...] = attrs.field(default=(), eq=False, repr=False)
    #: Evidence, not API state (RegistrationVersionInformation has no values): the field
    #: values of a version as submitted (or as last read from a DRAFT), by number.
    _field_values: dict[int, FieldValues] = attrs.field(factory=dict, eq=False, repr=False)
    _subscribers: list[Subscriber] = attrs.field(factory=list, init=False, eq=False, repr=False)
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False, eq=False, repr=False)

    # -- construction ---------------------------------------------------

    @classmethod
    def new(
        cls,
        registration_id: str,
        arn: str,
        registration_type: str,
        *,
        clock: Clock | None = None,
        additional_attributes: Mapping[str, str] | None = None,
    ) -> Self:
        """A new registration in CREATED with version 1 in DRAFT."""
        p.check_registration_id(registration_id)
        try:
            p.string(arn, "arn")
            p.registration_type(registration_type)
            attributes = p.string_map(additional_attributes or {}, "additional_attributes")
        except InvalidApiData as err:
            raise InvalidArgument(str(err)) from None
        v1 = RegistrationVersion.new(registration_id, arn, 1, clock=clock)
        return cls(
            registration_id,
            arn,
            registration_type,
            RegistrationStatus.CREATED,
            v1.history.draft,
            {1: v1},
            attributes,
        )

    @classmethod
    def from_api(
        cls,
        info: Mapping[str, Any],
        versions: Iterable[Mapping[str, Any] | RegistrationVersion],
    ) -> Self:
        """Build from RegistrationInformation plus its versions.

        ``versions`` are RegistrationVersionInformation dicts (or parsed versions);
        the registration supplies their id and ARN. Structural errors raise
        :class:`InvalidApiData`; oddities land in ``anomalies``.
        """
        d = p.mapping(info, "RegistrationInformation")
        reg_id = p.registration_id(p.required(d, "RegistrationId", ""))
        arn = p.string(p.required(d, "RegistrationArn", ""), "RegistrationArn")
        reg_type = p.registration_type(p.required(d, "RegistrationType", ""))
        status = p.status(
            p.required(d, "RegistrationStatus", ""), "RegistrationStatus", RegistrationStatus
        )
        current = p.version_number(
            p.required(d, "CurrentVersionNumber", ""), "CurrentVersionNumber"
        )
        created = p.timestamp(p.required(d, "CreatedTimestamp", ""), "CreatedTimestamp")
        claimed: dict[str, int | None] = {"CurrentVersionNumber": current}
        for key in ("ApprovedVersionNumber", "LatestDeniedVersionNumber"):
            raw = d.get(key)
            claimed[key] = None if raw is None else p.version_number(raw, key)
        raw_attrs = d.get("AdditionalAttributes")
        attributes = {} if raw_attrs is None else p.string_map(raw_attrs, "AdditionalAttributes")
        if isinstance(versions, str | bytes | Mapping) or not isinstance(versions, Iterable):
            raise InvalidApiData("RegistrationVersions", versions, "expected a list of versions")
        parsed: dict[int, RegistrationVersion] = {}
        for i, raw_version in enumerate(versions):
            version = _parse_version(raw_version, i, reg_id, arn)
            if version.number in parsed:
                raise InvalidApiData(
                    f"RegistrationVersions[{i}].VersionNumber", version.number, "duplicate version"
                )
            parsed[version.number] = version
        if not parsed:
            raise InvalidApiData("RegistrationVersions", [], "at least one version is required")
        ordered = {n: parsed[n] for n in sorted(parsed)}
        self = cls(reg_id, arn, reg_type, status, created, ordered, attributes)
        self._anomalies = _registration_anomalies(self, claimed)
        return self

    def to_api(self) -> dict[str, Any]:
        """RegistrationInformation, as boto3 returns it."""
        out: dict[str, Any] = {
            "RegistrationArn": self._arn,
            "RegistrationId": self._id,
            "RegistrationType": self._type,
            "RegistrationStatus": self._status.to_api(),
            "CurrentVersionNumber": self.current_version_number,
        }
        if (approved := self.approved_version_number) is not None:
            out["ApprovedVersionNumber"] = approved
        if (denied := self.latest_denied_version_number) is not None:
            out["LatestDeniedVersionNumber"] = denied
        if self._additional_attributes:
            out["AdditionalAttributes"] = dict(self._additional_attributes)
        out["CreatedTimestamp"] = self._created
        return out

    def versions_to_api(self) -> list[dict[str, Any]]:
        """Every version as RegistrationVersionInformation, newest first (as the API lists)."""
        return [self._versions[n].to_api() for n in sorted(self._versions, reverse=True)]

    # -- reading --------------------------------------------------------

    @property
    def id(self) -> str:
        """RegistrationId."""
        return self._id

    @property
    def arn(self) -> str:
        """RegistrationArn."""
        return self._arn

    @property
    def type(self) -> str:
        """RegistrationType."""
        return self._type

    @property
    def status(self) -> RegistrationStatus:
        """RegistrationStatus, derived from the versions (or as the API reported it)."""
        return self._status

    @property
    def created(self) -> datetime:
        """CreatedTimestamp."""
        return self._created

    @property
    def versions(self) -> Mapping[int, RegistrationVersion]:
        """Every version by number, oldest first (read-only)."""
        return MappingProxyType(self._versions)

    @property
    def additional_attributes(self) -> Mapping[str, str]:
        """AdditionalAttributes (read-only)."""
        return MappingProxyType(self._additional_attributes)

    @property
    def anomalies(self) -> tuple[Anomaly, ...]:
        """What :meth:`from_api` found that the lifecycle does not explain."""
        return self._anomalies

    @property
    def current_version_number(self) -> int:
        """The latest version's number."""
        return max(self._versions)

    @property
    def current_version(self) -> RegistrationVersion:
        """The latest version."""
        return self._versions[self.current_version_number]

    @property
    def approved_version_number(self) -> int | None:
        """The APPROVED version's number (the newest, should the API report several)."""
        return self._latest_in(VersionStatus.APPROVED)

    @property
    def latest_denied_version_number(self) -> int | None:
        """The newest DENIED version's number."""
        return self._latest_in(VersionStatus.DENIED)

    def _latest_in(self, status: VersionStatus) -> int | None:
        for n in sorted(self._versions, reverse=True):
            if self._versions[n].status == status:
                return n
        return None

    @property
    def latest_time(self) -> datetime:
        """The newest timestamp the registration records."""
        return max(v.history.latest() for v in self._versions.values())

    def invariant_violations(self) -> list[str]:
        """Every aggregate invariant that does not hold (empty when all hold)."""
        out: list[str] = []
        numbers = sorted(self._versions)
        if numbers != list(range(1, len(numbers) + 1)):
            out.append(f"version numbers are {numbers}, not 1..{len(numbers)}")
        current = max(numbers) if numbers else None
        for n, v in self._versions.items():
            if v.number != n:
                out.append(f"version keyed {n} has number {v.number}")
            if v.registration_id != self._id:
                out.append(f"version {n} belongs to {v.registration_id}")
            if n != current and v.status.is_open:
                out.append(f"version {n} is {v.status} but is not the current version")
        approved = [n for n, v in self._versions.items() if v.status == VersionStatus.APPROVED]
        if len(approved) > 1:
            out.append(f"versions {approved} are all APPROVED")
        return out

    @property
    def lock(self) -> threading.RLock:
        """Held while this registration changes; hold it to read a consistent state."""
        return self._lock

    # -- events ---------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver every event of a change to ``subscriber``; returns an unsubscribe.

        Events are delivered after the change is applied. A subscriber that raises
        does not undo it: the others still get the event, then the caller gets a
        :class:`SubscriberError` carrying the event and the exceptions.
        """
        if not callable(subscriber):
            raise InvalidArgumentType(f"subscriber must be callable, got {shown(subscriber)}")
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    # -- may I? ---------------------------------------------------------

    def refusals(
        self,
        trigger: str,
        *,
        version: int | None = None,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        policy: LifecyclePolicy = DEFAULT_POLICY,
        **details: Any,
    ) -> list[Refusal]:
        """Every reason ``trigger`` may not run now (empty: allowed); changes nothing.

        The lifecycle table, the ``policy``'s optional edges, the aggregate's
        invariants and your ``guards`` are all asked, and every refusal is listed.
        The clock is not asked: a refusal is about legality, never about time.
        Bad arguments (an unknown trigger or detail) raise instead.
        """
        request = _request(trigger, details, actor, reason, metadata, guards, policy)
        with self._lock:
            return self._plan(request, version).refusals

    def _plan(self, request: _Request, number: int | None) -> _Plan:
        """The version ``request`` concerns, the edge it takes, and every refusal."""
        trigger = request.trigger
        target = self._target(trigger.name, number)
        edge: Edge | None = None
        own: RegistrationEdge | None = None
        out: list[Refusal] = []
        if trigger.scope == "registration":
            own = LIFECYCLE.registration_destination(self._status, trigger.name)
            out.extend(self._registration_refusals(request, own))
        else:
            out.extend(self._status_refusals())
        if trigger.name == CREATE:
            out.extend(self._create_refusals())
        elif trigger.scope == "version":
            edge = LIFECYCLE.destination(target.status, trigger.name, request.details.given)
            out.extend(self._version_refusals(request, target, edge))
            out.extend(self._provisioning_refusals(request, edge))
        if request.guards:
            ctx = GuardContext(
                self, target, trigger.name, request.actor, request.reason, request.metadata
            )
            out.extend(evaluate(request.guards, ctx))
        return _Plan(target, edge, out, own)

    def _status_refusals(self) -> list[Refusal]:
        """Refusals of a version's trigger in a registration-level status."""
        status = self._status
        if status in ENDED_REGISTRATION_STATUSES:
            return [Refusal("registration_open", f"registration {self._id} is {status}")]
        if status == RegistrationStatus.PROVISIONING:
            allowed = ", ".join(LIFECYCLE.registration_allowed(status))
            return [
                Refusal(
                    "provisioning",
                    f"registration {self._id} is PROVISIONING: its origination identity is "
                    f"being created; only {allowed} may happen first",
                )
            ]
        return []

    def _registration_refusals(
        self, request: _Request, edge: RegistrationEdge | None
    ) -> list[Refusal]:
        """Refusals of one of the registration's own triggers (``delete``, ``close``...)."""
        trigger, status = request.trigger, self._status
        if status == RegistrationStatus.DELETED:
            return [Refusal("registration_open", f"registration {self._id} is {status}")]
        if trigger.follows is not None:
            return [
                Refusal(
                    "lifecycle",
                    f"{trigger.name} only comes with {trigger.follows} (when the policy's "
                    "provisioning covers the registration's type); it is never fired alone",
                )
            ]
        blocked = NOT_FROM.get((trigger.name, status))
        if edge is None and blocked is not None:
            link, says = blocked
            return [Refusal("lifecycle", f"registration {self._id} is {says} ({link})")]
        if edge is None:
            allowed = ", ".join(LIFECYCLE.registration_allowed(status)) or "none"
            return [
                Refusal(
                    "lifecycle",
                    f"registration {self._id} is {status}; {trigger.name} is not allowed "
                    f"from it (allowed: {allowed})",
                )
            ]
        if not request.policy.allows(edge):
            return [
                Refusal(
                    "policy",
                    f"{edge} is an optional edge the policy leaves off "
                    "(LifecyclePolicy.allowing(...) turns it on)",
                )
            ]
        return []

    def _provisioning_refusals(self, request: _Request, edge: Edge | None) -> list[Refusal]:
        """An approval the policy sends through PROVISIONING needs a ``provision`` edge."""
        if edge is None or edge.dest != VersionStatus.APPROVED:
            return []
        if not request.policy.provisions(self._type):
            return []
        if LIFECYCLE.registration_destination(self._status, "provision") is not None:
            return []
        return [
            Refusal(
                "lifecycle",
                f"approving would provision, but a {self._status} registration has no "
                "provision edge",
            )
        ]

    def _create_refusals(self) -> list[Refusal]:
        current = self.current_version
        if current.status.is_open:
            return [
                Refusal(
                    "lifecycle",
                    f"current version {current.number} is {current.status}; "
                    "a new version needs a closed current version",
                )
            ]
        if current.number >= p.VERSION_MAX:
            return [Refusal("version_limit", f"{p.VERSION_MAX} versions is the maximum")]
        return []

    def _version_refusals(
        self, request: _Request, target: RegistrationVersion, edge: Edge | None
    ) -> list[Refusal]:
        trigger, status = request.trigger, target.status
        out: list[Refusal] = []
        if trigger.operation is not None and target.number != self.current_version_number:
            out.append(
                Refusal(
                    "current_version",
                    f"{trigger.name} acts on the current version "
                    f"(v{self.current_version_number}), not v{target.number}",
                )
            )
        if status.is_unknown:
            out.append(
                Refusal(
                    "lifecycle",
                    f"v{target.number} is {status}, a status unknown to the library; "
                    "only a sync from the API can move it",
                )
            )
            return out
        if edge is None:
            allowed = (
                ", ".join(
                    dict.fromkeys(
                        e.trigger for e in LIFECYCLE.edges_from(status) if request.policy.allows(e)
                    )
                )
                or "none"
            )
            out.append(
                Refusal(
                    "lifecycle",
                    f"v{target.number} is {status}; {trigger.name} is not allowed from it "
                    f"(allowed: {allowed})",
                )
            )
            return out
        if not request.policy.allows(edge):
            out.append(
                Refusal(
                    "policy",
                    f"{edge} is an optional edge the policy leaves off "
                    "(LifecyclePolicy.allowing(...) turns it on)",
                )
            )
        if edge.dest.is_open and target.number != self.current_version_number:
            out.append(
                Refusal("current_version", f"only the current version may become {edge.dest}")
            )
        return out

    # -- commands -------------------------------------------------------

    def fire(
        self,
        trigger: str,
        *,
        version: int | None = None,
        clock: Clock | None = None,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        policy: LifecyclePolicy = DEFAULT_POLICY,
        origin: Origin = Origin.LOCAL,
        **details: Any,
    ) -> TransitionEvent:
        """Apply any trigger of :data:`~registration_fsm.LIFECYCLE` (the typed methods call this).

        ``details`` must be ones the trigger takes (``submit``: ``aws_review``;
        ``deny``: ``denied_reasons``, ``feedback``), else :class:`UnknownDetail`.
        Refused (see :meth:`refusals`): :class:`CommandRefused` listing every
        refusal. Either way nothing changes. Returns the trigger's own event;
        every event (an approval also archives the older approval) goes to the
        subscribers. ``version`` picks another version than the one the trigger
        concerns (the current one; ``revoke``/``archive``: the APPROVED one).
        """
        if not isinstance(origin, Origin):
            raise InvalidArgumentType(f"origin must be an Origin, got {shown(origin)}")
        request = _request(trigger, details, actor, reason, metadata, guards, policy)
        with self._lock:
            events = self._apply(request, version, clock, origin)
        deliver(self._subscribers, events)
        return events[0]

    def submit(
        self,
        *,
        aws_review: bool = False,
        field_values: FieldValues | None = None,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        clock: Clock | None = None,
    ) -> TransitionEvent:
        """SubmitRegistrationVersion: the current DRAFT goes to SUBMITTED (AWS_REVIEWING
        with ``aws_review``). ``field_values``, the form as submitted, is kept with the
        version (:meth:`field_values`) and its digest recorded in the event."""
        values: dict[str, Any] = {} if field_values is None else {"field_values": field_values}
        return self.fire("submit", aws_review=aws_review, actor=actor, reason=reason,
                         metadata=metadata, guards=guards, clock=clock, **values)  # fmt: skip

    def create_version(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        clock: Clock | None = None,
    ) -> TransitionEvent:
        """CreateRegistrationVersion: version n+1 in DRAFT; the current one must be closed."""
        return self.fire(CREATE, actor=actor, reason=reason, metadata=metadata, guards=guards,
                         clock=clock)  # fmt: skip

    def discard(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        policy: LifecyclePolicy = DEFAULT_POLICY,
        clock: Clock | None = None,
    ) -> TransitionEvent:
        """DiscardRegistrationVersion: the current version goes to DISCARDED.

        The default policy allows SUBMITTED only, as the AWS user guide says;
        ``LifecyclePolicy.allow_draft_discard()`` allows DRAFT too.
        """
        return self.fire("discard", actor=actor, reason=reason, metadata=metadata,
                         guards=guards, policy=policy, clock=clock)  # fmt: skip

    def delete(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        clock: Clock | None = None,
    ) -> TransitionEvent:
        """DeleteRegistration: the registration becomes DELETED (an event records it)."""
        return self.fire(DELETE, actor=actor, reason=reason, metadata=metadata, guards=guards,
                         clock=clock)  # fmt: skip

    def authenticate(
        self, *, actor: str | None = None, reason: str | None = None, clock: Clock | None = None
    ) -> TransitionEvent:
        """The customer completed email authentication (outside the API): back to REVIEWING."""
        return self.fire("authenticate", actor=actor, reason=reason, clock=clock)

    # AWS's side: the emulator plays these; a sync tells them from the API's data.

    def begin_review(self, *, clock: Clock | None = None) -> TransitionEvent:
        """AWS accepts the submitted version for review: REVIEWING."""
        return self.fire("begin_review", clock=clock)

    def require_authentication(self, *, clock: Clock | None = None) -> TransitionEvent:
        """AWS asks for email authentication: REQUIRES_AUTHENTICATION."""
        return self.fire("require_authentication", clock=clock)

    def require_offline_review(self, *, clock: Clock | None = None) -> TransitionEvent:
        """AWS moves the review offline: REQUIRES_OFFLINE_REVIEW."""
        return self.fire("require_offline_review", clock=clock)

    def approve(
        self, *, clock: Clock | None = None, policy: LifecyclePolicy = DEFAULT_POLICY
    ) -> TransitionEvent:
        """AWS approves: APPROVED (a previously approved version is ARCHIVED). When the
        ``policy`` provisions this type, the registration goes PROVISIONING (a
        ``provision`` event follows), else COMPLETE."""
        return self.fire("approve", clock=clock, policy=policy)

    def deny(
        self,
        *,
        denied_reasons: Sequence[Any] | None = None,
        feedback: str | None = None,
        clock: Clock | None = None,
    ) -> TransitionEvent:
        """AWS denies: DENIED, with ``denied_reasons`` (DeniedReason or the API's dicts).

        Only the details given are passed on, so the event is ``fire("deny", ...)``'s.
        """
        details: dict[str, Any] = {}
        if denied_reasons is not None:
            details["denied_reasons"] = denied_reasons
        if feedback is not None:
            details["feedback"] = feedback
        return self.fire("deny", clock=clock, **details)

    def revoke(self, *, clock: Clock | None = None) -> TransitionEvent:
        """AWS revokes the approval: the APPROVED version becomes REVOKED."""
        return self.fire("revoke", clock=clock)

    def archive(self, *, clock: Clock | None = None) -> TransitionEvent:
        """The APPROVED version becomes ARCHIVED (approving a newer one does this itself)."""
        return self.fire("archive", clock=clock)

    def complete_provisioning(self, *, clock: Clock | None = None) -> TransitionEvent:
        """AWS has created the origination identity: PROVISIONING -> COMPLETE."""
        return self.fire("complete_provisioning", clock=clock)

    def close(self, *, clock: Clock | None = None) -> TransitionEvent:
        """The phone number or sender ID was deleted: COMPLETE -> CLOSED (then only
        ``delete`` is allowed)."""
        return self.fire("close", clock=clock)

    # -- what sync and the emulator need -----------------------------------

    def field_values(self, number: int | None = None) -> FieldValues | None:
        """Version ``number``'s field values (default: the current version's): as
        submitted once it has left DRAFT, else as last read; None when not known."""
        with self._lock:
            return self._field_values.get(self._number(number))

    def field_values_known(self) -> dict[int, FieldValues]:
        """Every version's known field values, by number (a copy)."""
        with self._lock:
            return dict(self._field_values)

    def keep_field_values(self, number: int, values: FieldValues) -> None:
        """Record version ``number``'s field values as the API reports them (the API is
        authoritative; a sync reads a version's values once, when it leaves DRAFT)."""
        if not isinstance(values, FieldValues):
            raise InvalidArgumentType(f"expected FieldValues, got {shown(values)}")
        with self._lock:
            self._field_values[self._number(number)] = values

    def diff_fields(self, before: int, after: int) -> tuple[FieldChange, ...]:
        """What changed in the field values from version ``before`` to ``after``.

        Raises :class:`InvalidArgument` naming a version whose values are not known."""
        with self._lock:
            values = []
            for number in (before, after):
                found = self._field_values.get(self._number(number))
                if found is None:
                    raise InvalidArgument(
                        f"{self._id} v{number}: its field values are not known "
                        "(a sync reads them when the version leaves DRAFT)"
                    )
                values.append(found)
        return values[0].diff(values[1])

    def _number(self, number: int | None) -> int:
        if number is None:
            return self.current_version_number
        if type(number) is not int:
            raise InvalidArgumentType(f"a version number is an int, got {shown(number)}")
        if number not in self._versions:
            raise InvalidArgument(f"{self._id} has no version {number}")
        return number

    def adopt_version(self, version: RegistrationVersion) -> None:
        """Take a version as the API reports it (replacing the one with its number).

        The API is authoritative, so no transition is checked; the number must be
        an existing one or the next, and the registration status is derived again.
        """
        if not isinstance(version, RegistrationVersion):
            raise InvalidArgumentType(f"expected a RegistrationVersion, got {shown(version)}")
        if version.registration_id != self._id:
            raise InvalidArgument(f"v{version.number} belongs to {version.registration_id}")
        with self._lock:
            if version.number > self.current_version_number + 1:
                raise InvalidArgument(
                    f"v{version.number} would leave a gap after v{self.current_version_number}"
                )
            self._versions[version.number] = version
            self._refresh_status()

    # -- internals ------------------------------------------------------

    def _apply(
        self, request: _Request, number: int | None, clock: Clock | None, origin: Origin
    ) -> list[TransitionEvent]:
        trigger = request.trigger
        plan = self._plan(request, number)
        if plan.refusals:
            raise CommandRefused(
                trigger.name, plan.refusals, reason=trigger.conflict_reason, resource_id=self._id
            )
        if trigger.name == CREATE:
            return [self._add_version(request, clock, origin)]
        if plan.own is not None:
            return [self._move_registration(plan.own, request, clock, origin)]
        target, edge = plan.target, plan.edge
        assert edge is not None  # no refusal: the table has the edge
        at = self._time(clock, target.history.latest(), f"{trigger.name} on v{target.number}")
        older = None
        if edge.dest == VersionStatus.APPROVED:
            older = next(
                (v for n, v in self._versions.items() if n != target.number and
                 v.status == VersionStatus.APPROVED),
                None,
            )  # fmt: skip
        before = self._status
        events = [self._move(target, edge, at, request, origin)]
        why = f"version {target.number} was approved"
        cascade = attrs.evolve(request, reason=why, details=_NO_DETAILS)
        if older is not None:
            archive = LIFECYCLE.destination(older.status, "archive")
            assert archive is not None
            events.append(self._move(older, archive, at, cascade, origin))
        provisioning = edge.dest == VersionStatus.APPROVED and request.policy.provisions(self._type)
        self._refresh_status(provisioning=provisioning)
        if provisioning and self._status == RegistrationStatus.PROVISIONING:
            provision = LIFECYCLE.registration_destination(before, "provision")
            assert provision is not None  # else refused
            events.append(self._registration_event(provision, before, at, cascade, origin))
        return events

    def _move(
        self,
        version: RegistrationVersion,
        edge: Edge,
        at: datetime,
        request: _Request,
        origin: Origin,
    ) -> TransitionEvent:
        self._versions[version.number] = version.moved(edge.dest, at, request.details.updates)
        submitted = request.details.given.get("field_values")
        if submitted is not None:
            self._field_values[version.number] = submitted
        return TransitionEvent(
            self._id,
            version.number,
            edge.trigger,
            version.status,
            edge.dest,
            at,
            origin,
            request.actor,
            request.reason,
            request.metadata,
            dict(request.details.recorded),
        )

    def _add_version(
        self, request: _Request, clock: Clock | None, origin: Origin
    ) -> TransitionEvent:
        at = self._time(clock, self.latest_time, "a new version")
        number = self.current_version_number + 1
        version = RegistrationVersion.new(self._id, self._arn, number, clock=lambda: at)
        self._versions[number] = version
        self._refresh_status()
        return version.created_event(
            actor=request.actor, reason=request.reason, metadata=request.metadata, origin=origin
        )

    def _move_registration(
        self, edge: RegistrationEdge, request: _Request, clock: Clock | None, origin: Origin
    ) -> TransitionEvent:
        at = self._time(clock, self.latest_time, edge.trigger)
        before, self._status = self._status, edge.dest
        return self._registration_event(edge, before, at, request, origin)

    def _registration_event(
        self,
        edge: RegistrationEdge,
        before: RegistrationStatus,
        at: datetime,
        request: _Request,
        origin: Origin,
    ) -> TransitionEvent:
        """The registration's own event: ``version_number`` None, its statuses."""
        return TransitionEvent(
            self._id,
            None,
            edge.trigger,
            before,
            edge.dest,
            at,
            origin,
            request.actor,
            request.reason,
            request.metadata,
            dict(request.details.recorded),
        )

    def _time(self, clock: Clock | None, latest: datetime, what: str) -> datetime:
        at = read_clock(clock)
        if at < latest:
            raise ClockError(
                f"timestamps must not go backwards: {what} at {at.isoformat()} is before "
                f"the latest recorded time {latest.isoformat()}"
            )
        return at

    def _target(self, trigger: str, number: int | None) -> RegistrationVersion:
        """The version ``trigger`` concerns: ``number``'s, else the current one, else (for
        triggers that only leave closed statuses: revoke, archive) the newest in one."""
        if number is not None:
            found = self._versions.get(number) if type(number) is int else None
            if found is None:
                raise InvalidArgument(
                    f"registration {self._id} has no version {number!r}; "
                    f"versions are 1..{self.current_version_number}"
                )
            return found
        current = self.current_version
        if current.status.is_unknown or trigger in LIFECYCLE.allowed(current.status):
            return current
        sources = LIFECYCLE.sources_of(trigger)
        if sources and sources <= CLOSED_VERSION_STATUSES:
            for n in sorted(self._versions, reverse=True):
                if self._versions[n].status in sources:
                    return self._versions[n]
        return current

    def _refresh_status(self, *, provisioning: bool = False) -> None:
        current = self.current_version
        self._status = derive_registration_status(
            self._status,
            current.status,
            current.number,
            self.approved_version_number is not None,
            provisioning=provisioning,
        )


def _parse_version(
    raw: Mapping[str, Any] | RegistrationVersion, index: int, reg_id: str, arn: str
) -> RegistrationVersion:
    if isinstance(raw, RegistrationVersion):
        version = raw
    else:
        try:
            version = RegistrationVersion.from_api(
                raw, registration_id=reg_id, registration_arn=arn
            )
        except InvalidApiData as err:
            raise InvalidApiData(
                f"RegistrationVersions[{index}].{err.field}", err.value, err.problem
            ) from None
    if version.registration_id != reg_id:
        raise InvalidApiData(
            f"RegistrationVersions[{index}].RegistrationId",
            version.registration_id,
            f"belongs to another registration than {reg_id}",
        )
    return version


def _registration_anomalies(
    reg: Registration, claimed: Mapping[str, int | None]
) -> tuple[Anomaly, ...]:
    found = [Anomaly("RegistrationVersions", v) for v in reg.invariant_violations()]
    derived = {
        "CurrentVersionNumber": reg.current_version_number,
        "ApprovedVersionNumber": reg.approved_version_number,
        "LatestDeniedVersionNumber": reg.latest_denied_version_number,
    }
    for key, value in claimed.items():
        if value != derived[key]:
            found.append(Anomaly(key, f"API says {value}, the versions say {derived[key]}"))
    for n, v in reg.versions.items():
        found.extend(Anomaly(f"v{n}.{a.field}", a.message) for a in v.anomalies)
    return tuple(found)
