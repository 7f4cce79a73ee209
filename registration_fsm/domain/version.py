"""RegistrationVersion: one version of a registration and its timestamped transitions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Self

import attrs

from registration_fsm.domain import parsing as p
from registration_fsm.domain.anomalies import Anomaly, history_anomalies
from registration_fsm.domain.engine import rulebook
from registration_fsm.domain.events import EventCause, TransitionEvent
from registration_fsm.domain.history import ATTR_OF, HISTORY_FIELDS, StatusHistory, ensure_utc
from registration_fsm.domain.lifecycle import CREATE, RULES
from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import (
    ClockError,
    InvalidApiData,
    InvalidArgument,
    TransitionNotAllowed,
    UnknownTrigger,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@attrs.frozen
class DeniedReason:
    """RegistrationDeniedReasonInformation."""

    reason: str
    short_description: str
    long_description: str | None = None
    documentation_title: str | None = None
    documentation_link: str | None = None

    _API = (
        ("Reason", "reason"),
        ("ShortDescription", "short_description"),
        ("LongDescription", "long_description"),
        ("DocumentationTitle", "documentation_title"),
        ("DocumentationLink", "documentation_link"),
    )

    @classmethod
    def from_api(cls, data: Any, path: str = "DeniedReasons[]") -> DeniedReason:
        """Parse one RegistrationDeniedReasonInformation."""
        d = p.mapping(data, path)
        values: dict[str, str | None] = {}
        for api, attr in cls._API:
            raw = d.get(api)
            if raw is None and api in ("Reason", "ShortDescription"):
                raise InvalidApiData(f"{path}.{api}", None, "required member is missing")
            values[attr] = None if raw is None else p.string(raw, f"{path}.{api}")
        return cls(**values)  # type: ignore[arg-type]

    def to_api(self) -> dict[str, str]:
        """The boto3 shape."""
        return {api: getattr(self, a) for api, a in self._API if getattr(self, a) is not None}


def _denied_reasons(value: Any, path: str) -> tuple[DeniedReason, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidApiData(path, value, "expected a list")
    return tuple(
        v if isinstance(v, DeniedReason) else DeniedReason.from_api(v, f"{path}[{i}]")
        for i, v in enumerate(value)
    )


def read_clock(clock: Clock | None) -> datetime:
    """Call ``clock`` (default: now) and return an aware UTC datetime."""
    value = utc_now() if clock is None else clock()
    if not isinstance(value, datetime):
        raise ClockError(f"clock must return a datetime, got {type(value).__name__}")
    return ensure_utc(value, "clock time")


@attrs.define(slots=True, eq=True)
class RegistrationVersion:
    """One version of a registration: its status, history and review outcome.

    Build with :meth:`new` or :meth:`from_api`; move with :meth:`fire`.
    ``anomalies`` lists what the data has that the lifecycle does not explain.
    """

    registration_id: str
    registration_arn: str
    number: int
    status: VersionStatus
    history: StatusHistory
    denied_reasons: tuple[DeniedReason, ...] = ()
    feedback: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_fields(self)

    # -- construction ---------------------------------------------------

    @classmethod
    def new(
        cls,
        registration_id: str,
        registration_arn: str,
        number: int = 1,
        *,
        clock: Clock | None = None,
    ) -> Self:
        """A fresh DRAFT version stamped with ``DraftTimestamp``."""
        return cls(
            registration_id,
            registration_arn,
            number,
            VersionStatus.DRAFT,
            StatusHistory(draft=read_clock(clock)),
        )

    @classmethod
    def from_api(
        cls,
        data: Mapping[str, Any],
        *,
        registration_id: str | None = None,
        registration_arn: str | None = None,
    ) -> Self:
        """Parse any version shape the API returns.

        Accepts RegistrationVersionInformation (pass ``registration_id`` and
        ``registration_arn``: it carries neither) and the Create/Submit/Discard
        RegistrationVersion results. Timestamps may be datetimes or epoch seconds.
        Raises :class:`InvalidApiData` naming the field; semantic oddities are
        recorded in ``anomalies``.
        """
        d = data if type(data) is dict else p.mapping(data, "RegistrationVersion")
        reg_id = d.get("RegistrationId", registration_id)
        reg_arn = d.get("RegistrationArn", registration_arn)
        if reg_id is None:
            raise InvalidApiData("RegistrationId", None, "required member is missing")
        if reg_arn is None:
            raise InvalidApiData("RegistrationArn", None, "required member is missing")
        reg_id = p.registration_id(reg_id)
        reg_arn = p.string(reg_arn, "RegistrationArn")
        number = d.get("VersionNumber")
        if type(number) is not int or not p.VERSION_MIN <= number <= p.VERSION_MAX:
            number = p.version_number(p.required(d, "VersionNumber", ""), "VersionNumber")
        raw_status = d.get("RegistrationVersionStatus")
        status = _KNOWN_STATUS.get(raw_status) if type(raw_status) is str else None
        if status is None:
            status = p.status(
                p.required(d, "RegistrationVersionStatus", ""),
                "RegistrationVersionStatus",
                VersionStatus,
            )
        history = _history_from_api(p.required(d, "RegistrationVersionStatusHistory", ""))
        denied: tuple[DeniedReason, ...] = ()
        raw_denied = d.get("DeniedReasons")
        if raw_denied is not None:
            denied = _denied_reasons(raw_denied, "DeniedReasons")
        feedback = d.get("Feedback")
        if feedback is not None:
            feedback = p.string(feedback, "Feedback")
        self = object.__new__(cls)  # fields are validated above: skip __init__'s checks
        self.registration_id = reg_id
        self.registration_arn = reg_arn
        self.number = number
        self.status = status
        self.history = history
        self.denied_reasons = denied
        self.feedback = feedback
        return self

    def to_api(self) -> dict[str, Any]:
        """RegistrationVersionInformation, as boto3 returns it (UTC datetimes)."""
        out: dict[str, Any] = {
            "VersionNumber": self.number,
            "RegistrationVersionStatus": self.status.to_api(),
            "RegistrationVersionStatusHistory": self.history.to_api(),
        }
        if self.denied_reasons:
            out["DeniedReasons"] = [r.to_api() for r in self.denied_reasons]
        if self.feedback is not None:
            out["Feedback"] = self.feedback
        return out

    def to_result(self, *, aws_review: bool | None = None) -> dict[str, Any]:
        """The Create/Discard (or, with ``aws_review``, Submit) RegistrationVersion result."""
        out: dict[str, Any] = {
            "RegistrationArn": self.registration_arn,
            "RegistrationId": self.registration_id,
            "VersionNumber": self.number,
            "RegistrationVersionStatus": self.status.to_api(),
            "RegistrationVersionStatusHistory": self.history.to_api(),
        }
        if aws_review is not None:
            out["AwsReview"] = aws_review
        return out

    @property
    def anomalies(self) -> tuple[Anomaly, ...]:
        """What the lifecycle does not explain in this version's data (() when consistent).

        Computed when read, so hydrating many versions costs nothing for it.
        """
        return history_anomalies(self.status, self.history)

    # -- transitions ----------------------------------------------------

    def allowed_triggers(self) -> tuple[str, ...]:
        """Triggers the lifecycle allows from the current status (none if unknown)."""
        return () if self.status.is_unknown else RULES.allowed[self.status]

    def fire(
        self,
        trigger: str,
        *,
        clock: Clock | None = None,
        actor: str | None = None,
        reason: str | None = None,
        cause: EventCause = EventCause.LOCAL,
        **details: Any,
    ) -> TransitionEvent:
        """Fire ``trigger``: move the status, stamp the history, return the event.

        Details the lifecycle reads: ``aws_review`` (``submit``), ``denied_reasons``
        and ``feedback`` (``deny``). Raises :class:`TransitionNotAllowed`,
        :class:`UnknownTrigger` or :class:`ClockError`, leaving the version unchanged.
        """
        source = self.status
        at, updates = self.prepare(trigger, clock=clock, details=details)
        if not rulebook().events[trigger].trigger(self, **details):
            raise TransitionNotAllowed(
                trigger, str(source), self.allowed_triggers(), resource_id=self.registration_id
            )
        return self._stamp(trigger, source, at, updates, cause, actor, reason, details)

    def prepare(
        self, trigger: str, *, clock: Clock | None, details: Mapping[str, Any]
    ) -> tuple[datetime, dict[str, Any]]:
        """Check that ``trigger`` can fire now; return its time and field updates.

        Changes nothing. Used by :meth:`fire` and by aggregates that must check
        several versions before changing any.
        """
        status = self.status
        if trigger not in RULES.trigger_set:
            raise UnknownTrigger(trigger, RULES.triggers)
        if status.is_unknown:
            raise TransitionNotAllowed(
                trigger,
                str(status),
                (),
                detail="this status is unknown to the library; only a sync from the API "
                "can move the version out of it",
                resource_id=self.registration_id,
            )
        allowed = RULES.allowed[status]
        if trigger not in allowed:
            raise TransitionNotAllowed(
                trigger, str(status), allowed, resource_id=self.registration_id
            )
        updates = _detail_updates(trigger, details)
        at = read_clock(clock)
        latest = self.history.latest()
        if at < latest:
            raise ClockError(
                f"timestamps must not go backwards: {trigger!r} at {at.isoformat()} is before "
                f"v{self.number}'s latest recorded time {latest.isoformat()}"
            )
        return at, updates

    def _stamp(
        self,
        trigger: str,
        source: VersionStatus,
        at: datetime,
        updates: dict[str, Any],
        cause: EventCause,
        actor: str | None,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> TransitionEvent:
        dest = self.status
        stamp = RULES.stamp_of[dest]
        if stamp is not None:
            self.history.set(stamp, at)
        for name, value in updates.items():
            setattr(self, name, value)
        return TransitionEvent(
            self.registration_id,
            self.number,
            trigger,
            source,
            dest,
            at,
            cause,
            actor,
            reason,
            _json_details(details),
        )

    def created_event(
        self, *, actor: str | None = None, cause: EventCause = EventCause.LOCAL
    ) -> TransitionEvent:
        """The ``create`` event for this version (source None, dest DRAFT)."""
        return TransitionEvent(
            self.registration_id,
            self.number,
            CREATE,
            None,
            VersionStatus.DRAFT,
            self.history.draft,
            cause,
            actor,
        )


_KNOWN_STATUS: dict[str, VersionStatus] = {s.value: s for s in VersionStatus}


def _history_from_api(value: Any) -> StatusHistory:
    h = value if type(value) is dict else p.mapping(value, "RegistrationVersionStatusHistory")
    stamps: dict[str, datetime] = {}
    for key, raw in h.items():
        if raw is None:
            continue
        if key not in ATTR_OF:
            raise InvalidApiData(
                f"RegistrationVersionStatusHistory.{key}", raw, "unknown history member"
            )
        # Aware datetimes are kept as given (read back as UTC); anything else is parsed.
        if (
            type(raw) is datetime
            and type(raw.tzinfo) in p.AWARE_ZONE_TYPES
            and 1 < raw.year < 9999  # at the edges, converting to UTC may overflow: check now
        ):
            stamps[key] = raw
        else:
            stamps[key] = p.timestamp(raw, f"RegistrationVersionStatusHistory.{key}")
    if "DraftTimestamp" not in stamps:
        raise InvalidApiData(
            "RegistrationVersionStatusHistory.DraftTimestamp", None, "required member is missing"
        )
    return StatusHistory.trusted(stamps)


def _detail_updates(trigger: str, details: Mapping[str, Any]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if "aws_review" in details and not isinstance(details["aws_review"], bool):
        raise InvalidArgument(f"aws_review must be a bool, got {details['aws_review']!r}")
    if trigger != "deny":
        return updates
    if details.get("denied_reasons") is not None:
        try:
            updates["denied_reasons"] = _denied_reasons(details["denied_reasons"], "denied_reasons")
        except InvalidApiData as err:
            raise InvalidArgument(str(err)) from None
    if details.get("feedback") is not None:
        if not isinstance(details["feedback"], str):
            raise InvalidArgument(f"feedback must be a string, got {details['feedback']!r}")
        updates["feedback"] = details["feedback"]
    return updates


def _json_details(details: Mapping[str, Any]) -> dict[str, Any]:
    if not details:
        return {}
    out = dict(details)
    reasons = out.get("denied_reasons")
    if reasons is not None:
        out["denied_reasons"] = [
            r.to_api() if isinstance(r, DeniedReason) else dict(r) for r in reasons
        ]
    return out


def _check_fields(v: RegistrationVersion) -> None:
    """Validate a directly constructed version (``from_api`` validates on its own)."""
    try:
        p.registration_id(v.registration_id)
        p.string(v.registration_arn, "registration_arn")
        p.version_number(v.number, "number")
        if v.feedback is not None:
            p.string(v.feedback, "feedback")
    except InvalidApiData as err:
        raise InvalidArgument(str(err)) from None
    if not isinstance(v.status, VersionStatus):
        raise InvalidArgument(f"status must be a VersionStatus, got {v.status!r}")
    if not isinstance(v.history, StatusHistory):
        raise InvalidArgument(f"history must be a StatusHistory, got {v.history!r}")
    if not isinstance(v.denied_reasons, tuple) or not all(
        isinstance(r, DeniedReason) for r in v.denied_reasons
    ):
        raise InvalidArgument("denied_reasons must be a tuple of DeniedReason")


__all__ = ["HISTORY_FIELDS", "Clock", "DeniedReason", "RegistrationVersion", "utc_now"]
