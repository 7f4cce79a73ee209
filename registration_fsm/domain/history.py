"""RegistrationVersionStatusHistory: when a version entered each status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

from registration_fsm.errors import ClockError

#: The API's member names, in lifecycle order, and the attribute holding each.
HISTORY_FIELDS: tuple[tuple[str, str], ...] = (
    ("DraftTimestamp", "draft"),
    ("SubmittedTimestamp", "submitted"),
    ("AwsReviewingTimestamp", "aws_reviewing"),
    ("ReviewingTimestamp", "reviewing"),
    ("RequiresAuthenticationTimestamp", "requires_authentication"),
    ("ApprovedTimestamp", "approved"),
    ("DiscardedTimestamp", "discarded"),
    ("DeniedTimestamp", "denied"),
    ("RevokedTimestamp", "revoked"),
    ("ArchivedTimestamp", "archived"),
)
ATTR_OF: dict[str, str] = dict(HISTORY_FIELDS)


def ensure_utc(value: datetime, what: str = "timestamp") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


@attrs.define(slots=True, eq=True)
class StatusHistory:
    """When the version entered each status (timezone-aware UTC; None if never).

    ``draft`` is always set. A status entered twice (REVIEWING after
    REQUIRES_AUTHENTICATION) keeps the later time, as the API does.
    """

    draft: datetime
    submitted: datetime | None = None
    aws_reviewing: datetime | None = None
    reviewing: datetime | None = None
    requires_authentication: datetime | None = None
    approved: datetime | None = None
    discarded: datetime | None = None
    denied: datetime | None = None
    revoked: datetime | None = None
    archived: datetime | None = None

    def __attrs_post_init__(self) -> None:
        for _api, attr in HISTORY_FIELDS:
            value = getattr(self, attr)
            if value is None:
                if attr == "draft":
                    raise ClockError("the draft timestamp is required")
                continue
            if not isinstance(value, datetime):
                raise ClockError(f"{attr} must be a datetime, got {value!r}")
            if value.tzinfo is not UTC:
                setattr(self, attr, ensure_utc(value, attr))

    def get(self, api_field: str) -> datetime | None:
        """The timestamp for an API member name such as ``"ApprovedTimestamp"``."""
        value: datetime | None = getattr(self, ATTR_OF[api_field])
        return value

    def latest(self) -> datetime:
        """The most recent timestamp recorded."""
        return max(
            t
            for t in (
                self.draft, self.submitted, self.aws_reviewing, self.reviewing,
                self.requires_authentication, self.approved, self.discarded,
                self.denied, self.revoked, self.archived,
            )
            if t is not None
        )  # fmt: skip

    def items(self) -> list[tuple[str, datetime]]:
        """The recorded (API member, timestamp) pairs, in lifecycle order."""
        out = []
        for api, attr in HISTORY_FIELDS:
            value = getattr(self, attr)
            if value is not None:
                out.append((api, value))
        return out

    def to_api(self) -> dict[str, Any]:
        """The boto3 shape: only the recorded members, as UTC datetimes."""
        return dict(self.items())
