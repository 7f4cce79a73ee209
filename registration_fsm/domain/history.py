"""RegistrationVersionStatusHistory: when a version entered each status (immutable)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import ClockError

V = VersionStatus

#: The API's member names, in lifecycle order, the attribute reading each, and the
#: status whose arrival it records. REQUIRES_OFFLINE_REVIEW has no member.
HISTORY_FIELDS: tuple[tuple[str, str, VersionStatus], ...] = (
    ("DraftTimestamp", "draft", V.DRAFT),
    ("SubmittedTimestamp", "submitted", V.SUBMITTED),
    ("AwsReviewingTimestamp", "aws_reviewing", V.AWS_REVIEWING),
    ("ReviewingTimestamp", "reviewing", V.REVIEWING),
    ("RequiresAuthenticationTimestamp", "requires_authentication", V.REQUIRES_AUTHENTICATION),
    ("ApprovedTimestamp", "approved", V.APPROVED),
    ("DiscardedTimestamp", "discarded", V.DISCARDED),
    ("DeniedTimestamp", "denied", V.DENIED),
    ("RevokedTimestamp", "revoked", V.REVOKED),
    ("ArchivedTimestamp", "archived", V.ARCHIVED),
)
ATTR_OF: Mapping[str, str] = {api: attr for api, attr, _ in HISTORY_FIELDS}
#: The member stamped on arrival in each known status (None: it has none).
STAMP_OF: Mapping[VersionStatus, str | None] = {
    **dict.fromkeys(VersionStatus),
    **{status: api for api, _, status in HISTORY_FIELDS},
}
#: The status whose arrival each member records.
STATUS_OF_STAMP: Mapping[str, VersionStatus] = {api: s for api, _, s in HISTORY_FIELDS}
#: Each member's position in lifecycle order (breaks ties between equal times).
RANK: Mapping[str, int] = {api: i for i, (api, _, _) in enumerate(HISTORY_FIELDS)}


def ensure_utc(value: datetime, what: str = "timestamp") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class StatusHistory:
    """When the version entered each status (aware datetimes, read as UTC; None if never).

    Immutable: :meth:`with_stamp` returns a new history. ``draft`` is always set. A
    status entered twice (REVIEWING after REQUIRES_AUTHENTICATION) keeps the later
    time, as the API does. Aware
    timestamps from other zones (boto3 gives the local zone) are kept as given and
    converted to UTC when read: equality and ordering compare instants either way.
    """

    __slots__ = ("_stamps",)

    def __init__(
        self,
        draft: datetime,
        submitted: datetime | None = None,
        aws_reviewing: datetime | None = None,
        reviewing: datetime | None = None,
        requires_authentication: datetime | None = None,
        approved: datetime | None = None,
        discarded: datetime | None = None,
        denied: datetime | None = None,
        revoked: datetime | None = None,
        archived: datetime | None = None,
    ) -> None:
        given = locals()
        stamps: dict[str, datetime] = {}
        for api, attr, _ in HISTORY_FIELDS:
            value = given[attr]
            if value is None:
                if attr == "draft":
                    raise ClockError("the draft timestamp is required")
                continue
            if not isinstance(value, datetime):
                raise ClockError(f"{attr} must be a datetime, got {value!r}")
            stamps[api] = ensure_utc(value, attr)
        self._stamps = stamps

    @classmethod
    def trusted(cls, stamps: dict[str, datetime]) -> StatusHistory:
        """Wrap already-checked aware datetimes keyed by API member (no copy, no checks)."""
        self = object.__new__(cls)
        self._stamps = stamps
        return self

    @property
    def draft(self) -> datetime:
        """DraftTimestamp (UTC)."""
        value = self.get("DraftTimestamp")
        if value is None:  # unreachable: every constructor requires it
            raise ClockError("DraftTimestamp is missing")
        return value

    @property
    def submitted(self) -> datetime | None:
        """SubmittedTimestamp (UTC), or None."""
        return self.get("SubmittedTimestamp")

    @property
    def aws_reviewing(self) -> datetime | None:
        """AwsReviewingTimestamp (UTC), or None."""
        return self.get("AwsReviewingTimestamp")

    @property
    def reviewing(self) -> datetime | None:
        """ReviewingTimestamp (UTC), or None."""
        return self.get("ReviewingTimestamp")

    @property
    def requires_authentication(self) -> datetime | None:
        """RequiresAuthenticationTimestamp (UTC), or None."""
        return self.get("RequiresAuthenticationTimestamp")

    @property
    def approved(self) -> datetime | None:
        """ApprovedTimestamp (UTC), or None."""
        return self.get("ApprovedTimestamp")

    @property
    def discarded(self) -> datetime | None:
        """DiscardedTimestamp (UTC), or None."""
        return self.get("DiscardedTimestamp")

    @property
    def denied(self) -> datetime | None:
        """DeniedTimestamp (UTC), or None."""
        return self.get("DeniedTimestamp")

    @property
    def revoked(self) -> datetime | None:
        """RevokedTimestamp (UTC), or None."""
        return self.get("RevokedTimestamp")

    @property
    def archived(self) -> datetime | None:
        """ArchivedTimestamp (UTC), or None."""
        return self.get("ArchivedTimestamp")

    def get(self, api_field: str) -> datetime | None:
        """The timestamp (UTC) for an API member name such as ``"ApprovedTimestamp"``."""
        value = self._stamps.get(api_field)
        if value is None or value.tzinfo is UTC:
            return value
        value = self._stamps[api_field] = value.astimezone(UTC)
        return value

    def with_stamp(self, api_field: str, value: datetime) -> StatusHistory:
        """A new history with ``value`` (aware) recorded for an API member."""
        if api_field not in ATTR_OF:
            raise ClockError(f"unknown history member {api_field!r}")
        return StatusHistory.trusted({**self._stamps, api_field: ensure_utc(value, api_field)})

    def latest(self) -> datetime:
        """The most recent timestamp recorded (UTC)."""
        return max(self._stamps.values()).astimezone(UTC)

    def items(self) -> list[tuple[str, datetime]]:
        """The recorded (API member, UTC timestamp) pairs, in lifecycle order."""
        return [(api, t) for api, _, _ in HISTORY_FIELDS if (t := self.get(api)) is not None]

    def to_api(self) -> dict[str, Any]:
        """The boto3 shape: only the recorded members, as UTC datetimes."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusHistory):
            return NotImplemented
        return self._stamps == other._stamps

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{ATTR_OF[api]}={t.isoformat()!r}" for api, t in self.items())
        return f"StatusHistory({inner})"
