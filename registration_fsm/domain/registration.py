"""Registration: the aggregate that owns its versions and keeps their invariants.

Invariants: version numbers run 1..n; only the current (latest) version may be
open; at most one version is APPROVED (approving a newer one archives the older);
a new version needs a closed current version; submit needs a current DRAFT.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Self

import attrs

from registration_fsm.domain import parsing as p
from registration_fsm.domain.anomalies import Anomaly
from registration_fsm.domain.events import EventCause, TransitionEvent, deliver
from registration_fsm.domain.guards import (
    DEFAULT_DISCARD_POLICY,
    DiscardPolicy,
    FailedGuard,
    Guard,
    GuardContext,
    builtin_discard_guards,
    check_guards,
    evaluate,
)
from registration_fsm.domain.lifecycle import RULES
from registration_fsm.domain.registration_status import derive_registration_status
from registration_fsm.domain.statuses import (
    CLOSED_VERSION_STATUSES,
    ENDED_REGISTRATION_STATUSES,
    RegistrationStatus,
    VersionStatus,
)
from registration_fsm.domain.version import Clock, RegistrationVersion, read_clock
from registration_fsm.errors import (
    ClockError,
    ConflictError,
    DiscardNotAllowed,
    InvalidApiData,
    InvalidArgument,
    TransitionNotAllowed,
)

_log = logging.getLogger(__name__)

Subscriber = Callable[[TransitionEvent], object]

#: The API's ConflictException reason for a refused trigger, where it has one.
CONFLICT_REASONS: Mapping[str, str] = {
    "submit": "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
    "discard": "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED",
}
CREATE_NOT_ALLOWED = "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"


@attrs.define(slots=True, eq=True)
class Registration:
    """A registration and its versions (keyed by number).

    Subscribers (see :meth:`subscribe`) receive every event a local change makes.
    ``anomalies`` lists what :meth:`from_api` found odd (not part of equality).
    """

    id: str
    arn: str
    type: str
    status: RegistrationStatus
    created: datetime
    versions: dict[int, RegistrationVersion]
    additional_attributes: dict[str, str] = attrs.field(factory=dict)
    anomalies: tuple[Anomaly, ...] = attrs.field(default=(), eq=False, repr=False)
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
        try:
            p.registration_id(registration_id)
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
        self.anomalies = _registration_anomalies(self, claimed)
        return self

    def to_api(self) -> dict[str, Any]:
        """RegistrationInformation, as boto3 returns it."""
        out: dict[str, Any] = {
            "RegistrationArn": self.arn,
            "RegistrationId": self.id,
            "RegistrationType": self.type,
            "RegistrationStatus": self.status.to_api(),
            "CurrentVersionNumber": self.current_version_number,
        }
        if (approved := self.approved_version_number) is not None:
            out["ApprovedVersionNumber"] = approved
        if (denied := self.latest_denied_version_number) is not None:
            out["LatestDeniedVersionNumber"] = denied
        if self.additional_attributes:
            out["AdditionalAttributes"] = dict(self.additional_attributes)
        out["CreatedTimestamp"] = self.created
        return out

    def versions_to_api(self) -> list[dict[str, Any]]:
        """Every version as RegistrationVersionInformation, newest first (as the API lists)."""
        return [self.versions[n].to_api() for n in sorted(self.versions, reverse=True)]

    # -- derived --------------------------------------------------------

    @property
    def current_version_number(self) -> int:
        """The latest version's number."""
        return max(self.versions)

    @property
    def current_version(self) -> RegistrationVersion:
        """The latest version."""
        return self.versions[self.current_version_number]

    @property
    def approved_version_number(self) -> int | None:
        """The APPROVED version's number (the newest, should the API report several)."""
        return self._latest_in(VersionStatus.APPROVED)

    @property
    def latest_denied_version_number(self) -> int | None:
        """The newest DENIED version's number."""
        return self._latest_in(VersionStatus.DENIED)

    def _latest_in(self, status: VersionStatus) -> int | None:
        for n in sorted(self.versions, reverse=True):
            if self.versions[n].status == status:
                return n
        return None

    def invariant_violations(self) -> list[str]:
        """Every aggregate invariant that does not hold (empty when all hold)."""
        out: list[str] = []
        numbers = sorted(self.versions)
        if numbers != list(range(1, len(numbers) + 1)):
            out.append(f"version numbers are {numbers}, not 1..{len(numbers)}")
        current = max(numbers) if numbers else None
        for n, v in self.versions.items():
            if v.number != n:
                out.append(f"version keyed {n} has number {v.number}")
            if v.registration_id != self.id:
                out.append(f"version {n} belongs to {v.registration_id}")
            if n != current and v.status.is_open:
                out.append(f"version {n} is {v.status} but is not the current version")
        approved = [n for n, v in self.versions.items() if v.status == VersionStatus.APPROVED]
        if len(approved) > 1:
            out.append(f"versions {approved} are all APPROVED")
        return out

    # -- events ---------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver every event of a local change to ``subscriber``; returns an unsubscribe.

        Events are delivered after the change is applied. A subscriber that raises
        does not undo it: the others still get the event, then the caller gets a
        :class:`SubscriberError` carrying the event and the exceptions.
        """
        if not callable(subscriber):
            raise InvalidArgument(f"subscriber must be callable, got {subscriber!r}")
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, events: Sequence[TransitionEvent]) -> None:
        """Deliver applied events to the subscribers (see :meth:`subscribe`)."""
        deliver(self._subscribers, events)

    # -- commands -------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """Held while this registration changes; hold it to read a consistent state."""
        return self._lock

    def fire(
        self,
        trigger: str,
        *,
        version: int | None = None,
        clock: Clock | None = None,
        actor: str | None = None,
        reason: str | None = None,
        cause: EventCause = EventCause.LOCAL,
        **details: Any,
    ) -> TransitionEvent:
        """Apply ``trigger`` to the version it concerns, keeping the invariants.

        The current version by default; ``archive`` and ``revoke`` concern the
        APPROVED version. ``approve`` archives a previously approved version at the
        same time. ``discard`` runs the built-in guards (see :meth:`discard`).
        Returns the trigger's own event; every event goes to the subscribers.
        """
        if trigger == "discard":
            return self.discard(actor=actor, reason=reason, clock=clock)
        with self._lock:
            events = self._apply(trigger, version, clock, actor, reason, cause, details)
        self.publish(events)
        return events[0]

    def check(self, trigger: str, *, version: int | None = None, **details: Any) -> None:
        """Raise what :meth:`fire` would raise now (discard: the built-in guards); no change."""
        if trigger == "discard":
            failed = self.discard_refusals()
            if failed:
                raise DiscardNotAllowed(failed, resource_id=self.id)
            return
        with self._lock:
            # Legality only: the time is the newest one recorded, so neither a local
            # clock behind the API's nor one ahead of it can refuse a legal trigger.
            latest = max(v.history.latest() for v in self.versions.values())
            self._plan(trigger, version, _fixed(latest), details)

    def _plan(
        self, trigger: str, number: int | None, clock: Clock | None, details: Mapping[str, Any]
    ) -> tuple[RegistrationVersion, datetime, RegistrationVersion | None]:
        """The version ``trigger`` moves, when, and the approval it archives; or raise."""
        target = self._target(trigger, number)
        self._refuse_if_ended(trigger, target)
        try:
            at, _ = target.prepare(trigger, clock=clock, details=details)
            dest = _destination(target.status, trigger, details)
            if dest.is_open and target.number != self.current_version_number:
                raise TransitionNotAllowed(
                    trigger,
                    str(target.status),
                    target.allowed_triggers(),
                    detail=f"only the current version may become {dest}",
                    resource_id=self.id,
                )
            older = None
            if dest == VersionStatus.APPROVED:
                older = self._approved_other_than(target.number)
            if older is not None:
                older.prepare("archive", clock=_fixed(at), details={})
        except TransitionNotAllowed as err:
            raise with_conflict_reason(err, trigger) from None
        return target, at, older

    def _apply(
        self,
        trigger: str,
        number: int | None,
        clock: Clock | None,
        actor: str | None,
        reason: str | None,
        cause: EventCause,
        details: Mapping[str, Any],
    ) -> list[TransitionEvent]:
        target, at, older = self._plan(trigger, number, clock, details)
        fixed = _fixed(at)
        events = [
            target.fire(trigger, clock=fixed, actor=actor, reason=reason, cause=cause, **details)
        ]
        if older is not None:
            events.append(
                older.fire(
                    "archive",
                    clock=fixed,
                    actor=actor,
                    reason=f"version {target.number} was approved",
                    cause=cause,
                )
            )
        self.refresh_status()
        return events

    def check_create_version(self) -> None:
        """Raise the conflict :meth:`create_version` would raise now; change nothing."""
        current = self.current_version
        if self.status in ENDED_REGISTRATION_STATUSES or current.status.is_open:
            why = (
                f"registration is {self.status}"
                if self.status in ENDED_REGISTRATION_STATUSES
                else f"current version {current.number} is {current.status}"
            )
            raise ConflictError(
                f"cannot create a new version: {why}",
                reason=CREATE_NOT_ALLOWED,
                resource_id=self.id,
            )
        if current.number >= p.VERSION_MAX:
            raise ConflictError(
                f"cannot create a new version: {p.VERSION_MAX} versions is the maximum",
                reason=CREATE_NOT_ALLOWED,
                resource_id=self.id,
            )

    def create_version(
        self, *, clock: Clock | None = None, actor: str | None = None
    ) -> TransitionEvent:
        """Open version n+1 in DRAFT; the current version must be closed."""
        with self._lock:
            self.check_create_version()
            current = self.current_version
            at = read_clock(clock)
            latest = max(v.history.latest() for v in self.versions.values())
            if at < latest:
                raise ClockError(
                    f"timestamps must not go backwards: new version at {at.isoformat()} is "
                    f"before the registration's latest recorded time {latest.isoformat()}"
                )
            version = RegistrationVersion.new(
                self.id, self.arn, current.number + 1, clock=_fixed(at)
            )
            self.versions[version.number] = version
            self.refresh_status()
            event = version.created_event(actor=actor)
        self.publish([event])
        return event

    def discard_refusals(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        guards: Sequence[Guard] = (),
        policy: DiscardPolicy = DEFAULT_DISCARD_POLICY,
    ) -> list[FailedGuard]:
        """Every guard that would refuse discarding the current version (empty: allowed)."""
        ctx = GuardContext(self, self.current_version, actor, reason)
        return evaluate((*builtin_discard_guards(policy), *check_guards(guards)), ctx)

    def discard(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        guards: Sequence[Guard] = (),
        clock: Clock | None = None,
        policy: DiscardPolicy = DEFAULT_DISCARD_POLICY,
    ) -> TransitionEvent:
        """Discard the current version if every guard allows it.

        Built-in guards: it is the current version, its status is in
        ``policy.discardable`` (default: SUBMITTED), the registration is not
        DELETED/CLOSED. ``guards`` add the caller's own. Raises
        :class:`DiscardNotAllowed` listing every refusal; nothing changes then.
        """
        with self._lock:
            failed = self.discard_refusals(actor=actor, reason=reason, guards=guards, policy=policy)
            if failed:
                raise DiscardNotAllowed(failed, resource_id=self.id)
            event = self.current_version.fire("discard", clock=clock, actor=actor, reason=reason)
            self.refresh_status()
        self.publish([event])
        return event

    # -- helpers --------------------------------------------------------

    def _target(self, trigger: str, number: int | None) -> RegistrationVersion:
        if number is not None:
            version = self.versions.get(number) if type(number) is int else None
            if version is None:
                raise InvalidArgument(
                    f"registration {self.id} has no version {number!r}; "
                    f"versions are 1..{self.current_version_number}"
                )
            return version
        current = self.current_version
        if current.status.is_unknown or trigger in current.allowed_triggers():
            return current
        sources = {s for t in RULES if t.trigger == trigger for s in t.sources}
        if sources and sources <= CLOSED_VERSION_STATUSES:
            for n in sorted(self.versions, reverse=True):
                if self.versions[n].status in sources:
                    return self.versions[n]
        return current

    def _refuse_if_ended(self, trigger: str, target: RegistrationVersion) -> None:
        if self.status in ENDED_REGISTRATION_STATUSES:
            raise TransitionNotAllowed(
                trigger,
                str(target.status),
                (),
                detail=f"registration {self.id} is {self.status}",
                reason=CONFLICT_REASONS.get(trigger),
                resource_id=self.id,
            )

    def _approved_other_than(self, number: int) -> RegistrationVersion | None:
        for n, v in self.versions.items():
            if n != number and v.status == VersionStatus.APPROVED:
                return v
        return None

    def refresh_status(self) -> None:
        """Derive the registration status from the versions (see registration_status)."""
        current = self.current_version
        self.status = derive_registration_status(
            self.status,
            current.status,
            current.number,
            self.approved_version_number is not None,
        )


def _fixed(at: datetime) -> Clock:
    return lambda: at


def _destination(status: VersionStatus, trigger: str, details: Mapping[str, Any]) -> VersionStatus:
    for t in RULES.edges[(trigger, status)]:
        if t.when is None or details.get(t.when):
            return t.dest
    raise TransitionNotAllowed(trigger, str(status), RULES.allowed[status])


def with_conflict_reason(err: TransitionNotAllowed, trigger: str) -> TransitionNotAllowed:
    """``err`` carrying the API's ConflictException reason for ``trigger``, if it has one."""
    if err.reason is None and trigger in CONFLICT_REASONS:
        err.reason = CONFLICT_REASONS[trigger]
    return err


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
