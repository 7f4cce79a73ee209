"""RegistrationVersion: one version of a registration, an immutable value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, Self, TypeVar

import attrs

from registration_fsm.domain import parsing as p
from registration_fsm.domain.anomalies import Anomaly, history_anomalies
from registration_fsm.domain.events import Origin, TransitionEvent, check_metadata
from registration_fsm.domain.forms.values import FieldValues
from registration_fsm.domain.history import ATTR_OF, STAMP_OF, StatusHistory, ensure_utc
from registration_fsm.domain.lifecycle import LIFECYCLE, Trigger
from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import (
    ClockError,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    UnknownDetail,
    shown,
)

#: The trigger of the edge that brings a version into existence.
CREATE = "create"

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


class _VersionFields(NamedTuple):
    registration_id: str
    registration_arn: str
    number: int
    status: VersionStatus
    history: StatusHistory
    denied_reasons: tuple[DeniedReason, ...] = ()
    feedback: str | None = None


class RegistrationVersion(_VersionFields):
    """One version of a registration: its status, history and review outcome (immutable).

    Build with :meth:`new` or :meth:`from_api`. A version changes only through its
    :class:`~registration_fsm.Registration`, which swaps in the moved copy.
    ``anomalies`` lists what the data has that the lifecycle does not explain.

    An immutable named tuple of its fields (a tuple is the cheapest immutable
    object to build, and hydrating many versions builds many); it equals only
    another RegistrationVersion with the same fields.
    """

    __slots__ = ()

    def __new__(
        cls,
        registration_id: str,
        registration_arn: str,
        number: int,
        status: VersionStatus,
        history: StatusHistory,
        denied_reasons: tuple[DeniedReason, ...] = (),
        feedback: str | None = None,
    ) -> Self:
        self = _new(
            cls,
            (registration_id, registration_arn, number, status, history, denied_reasons, feedback),
        )
        _check_fields(self)
        return self

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]  # its StatusHistory is unhashable

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
        # Fast paths first (an id seen before, a str): hydrating many versions runs here.
        if type(reg_id) is not str or reg_id not in p.VALID_IDS:
            reg_id = p.registration_id(reg_id)
        if type(reg_arn) is not str:
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
        raw_history = d.get("RegistrationVersionStatusHistory")
        if raw_history is None:
            raw_history = p.required(d, "RegistrationVersionStatusHistory", "")
        history = _history_from_api(raw_history)
        denied: tuple[DeniedReason, ...] = ()
        raw_denied = d.get("DeniedReasons")
        if raw_denied is not None:
            denied = _denied_reasons(raw_denied, "DeniedReasons")
        feedback = d.get("Feedback")
        if feedback is not None:
            feedback = p.string(feedback, "Feedback")
        # Every field was validated above: skip the constructor's checks.
        return _new(cls, (reg_id, reg_arn, number, status, history, denied, feedback))

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

    def allowed_triggers(self) -> tuple[str, ...]:
        """Triggers the lifecycle table allows from the status (none if it is unknown)."""
        return LIFECYCLE.allowed(self.status)

    def created_event(
        self,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        origin: Origin = Origin.LOCAL,
    ) -> TransitionEvent:
        """The ``create`` event of this version (source None, dest DRAFT)."""
        return TransitionEvent(
            self.registration_id,
            self.number,
            CREATE,
            None,
            VersionStatus.DRAFT,
            self.history.draft,
            origin,
            actor,
            reason,
            check_metadata(metadata),
        )

    def moved(
        self, dest: VersionStatus, at: datetime, updates: Mapping[str, Any]
    ) -> RegistrationVersion:
        """This version in ``dest`` since ``at``, with ``updates`` (denied reasons, feedback).

        Changes nothing: the aggregate swaps the copy in.
        """
        stamp = STAMP_OF.get(dest)
        history = self.history if stamp is None else self.history.with_stamp(stamp, at)
        return _trusted(
            type(self),
            self.registration_id,
            self.registration_arn,
            self.number,
            dest,
            history,
            updates.get("denied_reasons", self.denied_reasons),
            updates.get("feedback", self.feedback),
        )

    def with_status(self, status: VersionStatus) -> RegistrationVersion:
        """This version reported in ``status`` with its history unchanged (for API data)."""
        return _trusted(
            type(self),
            self.registration_id,
            self.registration_arn,
            self.number,
            status,
            self.history,
            self.denied_reasons,
            self.feedback,
        )


T = TypeVar("T", bound=RegistrationVersion)


def _trusted(
    cls: type[T],
    registration_id: str,
    registration_arn: str,
    number: int,
    status: VersionStatus,
    history: StatusHistory,
    denied_reasons: tuple[DeniedReason, ...],
    feedback: str | None,
) -> T:
    """A version from checked fields, without re-running the constructor's checks."""
    fields = (registration_id, registration_arn, number, status, history, denied_reasons)
    return _new(cls, (*fields, feedback))


#: Builds a version from checked fields: ``tuple.__new__``, skipping ``__new__``'s checks.
_new = tuple.__new__


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


@attrs.frozen
class PreparedDetails:
    """A trigger's checked details: as the machine reads them, the fields they set on the
    version, and what the event records (JSON-ready)."""

    given: Mapping[str, Any]
    updates: Mapping[str, Any]
    recorded: Mapping[str, Any]


_NO_DETAILS = PreparedDetails({}, {}, {})


def prepare_details(trigger: Trigger, details: Mapping[str, Any]) -> PreparedDetails:
    """Check ``details`` against what ``trigger`` takes; nothing is changed.

    A detail the trigger does not take raises :class:`UnknownDetail` (a typo
    never reaches an event); a value of the wrong type :class:`InvalidArgumentType`.
    """
    for name in details:
        if name not in trigger.details:
            raise UnknownDetail(trigger.name, name, trigger.details)
    if not details:
        return _NO_DETAILS
    updates: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    review = details.get("aws_review")
    if review is not None:
        if not isinstance(review, bool):
            raise InvalidArgumentType(f"aws_review must be a bool, got {review!r}")
        if review:
            recorded["aws_review"] = True
    reasons = details.get("denied_reasons")
    if reasons is not None:
        try:
            parsed = _denied_reasons(reasons, "denied_reasons")
        except InvalidApiData as err:
            raise InvalidArgumentType(str(err)) from None
        updates["denied_reasons"] = parsed
        recorded["denied_reasons"] = [r.to_api() for r in parsed]
    values = details.get("field_values")
    if values is not None:
        if not isinstance(values, FieldValues):
            raise InvalidArgumentType(f"field_values must be FieldValues, got {shown(values)}")
        recorded["fields_digest"] = values.digest()
    resource = details.get("resource_id")
    if resource is not None:  # the origination identity that caused the change
        recorded["resource_id"] = p.check_resource_id(resource, "resource_id")
    feedback = details.get("feedback")
    if feedback is not None:
        if not isinstance(feedback, str):
            raise InvalidArgumentType(f"feedback must be a string, got {feedback!r}")
        updates["feedback"] = recorded["feedback"] = feedback
    return PreparedDetails(dict(details), updates, recorded)


def _check_fields(v: RegistrationVersion) -> None:
    """Validate a directly constructed version (``from_api`` validates on its own)."""
    p.check_registration_id(v.registration_id, "registration_id")
    if not isinstance(v.registration_arn, str):
        raise InvalidArgumentType(f"registration_arn must be a string, got {v.registration_arn!r}")
    if type(v.number) is not int:
        raise InvalidArgumentType(f"number must be an int, got {v.number!r}")
    if not p.VERSION_MIN <= v.number <= p.VERSION_MAX:
        raise InvalidArgument(f"number must be in {p.VERSION_MIN}..{p.VERSION_MAX}, got {v.number}")
    if v.feedback is not None and not isinstance(v.feedback, str):
        raise InvalidArgumentType(f"feedback must be a string or None, got {v.feedback!r}")
    if not isinstance(v.status, VersionStatus):
        raise InvalidArgumentType(f"status must be a VersionStatus, got {v.status!r}")
    if not isinstance(v.history, StatusHistory):
        raise InvalidArgumentType(f"history must be a StatusHistory, got {v.history!r}")
    if not isinstance(v.denied_reasons, tuple) or not all(
        isinstance(r, DeniedReason) for r in v.denied_reasons
    ):
        raise InvalidArgumentType("denied_reasons must be a tuple of DeniedReason")


__all__ = ["CREATE", "Clock", "DeniedReason", "PreparedDetails", "RegistrationVersion", "utc_now"]
