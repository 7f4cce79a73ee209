"""The API's status enums, open to values AWS adds later.

Parsing a value this library does not know (``VersionStatus("NEW_THING")``)
returns a *pseudo-member*: an instance of the enum that keeps the raw string,
reports ``is_unknown``, compares and hashes as its string, and round-trips
unchanged through ``to_api()``. Iterating the enum yields only the known members.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

#: Longest raw status string accepted for an unknown value.
MAX_STATUS_LENGTH = 128


class _OpenStrEnum(StrEnum):
    """A string enum whose unknown values parse into pseudo-members."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str) or not value or len(value) > MAX_STATUS_LENGTH:
            return None
        if not value.isprintable() or value != value.strip():
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_unknown(self) -> bool:
        """True for a value this library does not know (added by AWS later)."""
        return self._name_ not in type(self)._member_map_

    def to_api(self) -> str:
        """The raw API string."""
        return self._value_


class VersionStatus(_OpenStrEnum):
    """RegistrationVersionStatus."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AWS_REVIEWING = "AWS_REVIEWING"
    REVIEWING = "REVIEWING"
    REQUIRES_AUTHENTICATION = "REQUIRES_AUTHENTICATION"
    APPROVED = "APPROVED"
    DISCARDED = "DISCARDED"
    DENIED = "DENIED"
    REVOKED = "REVOKED"
    ARCHIVED = "ARCHIVED"
    REQUIRES_OFFLINE_REVIEW = "REQUIRES_OFFLINE_REVIEW"

    @property
    def is_open(self) -> bool:
        """In progress: only the current version may be open. Unknown counts as open."""
        return self.is_unknown or self not in CLOSED_VERSION_STATUSES


class RegistrationStatus(_OpenStrEnum):
    """RegistrationStatus."""

    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    AWS_REVIEWING = "AWS_REVIEWING"
    REVIEWING = "REVIEWING"
    REQUIRES_AUTHENTICATION = "REQUIRES_AUTHENTICATION"
    PROVISIONING = "PROVISIONING"
    COMPLETE = "COMPLETE"
    REQUIRES_UPDATES = "REQUIRES_UPDATES"
    CLOSED = "CLOSED"
    DELETED = "DELETED"


#: Statuses in which a version is finished with: a new version may be created on
#: top of it. APPROVED counts: an approved registration can be updated.
CLOSED_VERSION_STATUSES: frozenset[VersionStatus] = frozenset(
    {
        VersionStatus.APPROVED,
        VersionStatus.DISCARDED,
        VersionStatus.DENIED,
        VersionStatus.REVOKED,
        VersionStatus.ARCHIVED,
    }
)

#: Registration statuses after which nothing can change any more.
ENDED_REGISTRATION_STATUSES: frozenset[RegistrationStatus] = frozenset(
    {RegistrationStatus.DELETED, RegistrationStatus.CLOSED}
)

R, V = RegistrationStatus, VersionStatus

#: In-flight version statuses the registration mirrors.
MIRRORED: dict[VersionStatus, RegistrationStatus] = {
    V.SUBMITTED: R.SUBMITTED,
    V.AWS_REVIEWING: R.AWS_REVIEWING,
    V.REVIEWING: R.REVIEWING,
    V.REQUIRES_AUTHENTICATION: R.REQUIRES_AUTHENTICATION,
    # RegistrationStatus has no offline-review value: the review goes on.
    V.REQUIRES_OFFLINE_REVIEW: R.REVIEWING,
}


def derive_registration_status(
    previous: RegistrationStatus,
    current: VersionStatus,
    current_number: int,
    has_approved: bool,
) -> RegistrationStatus:
    """The registration status after a change of its versions: the one place it is derived.

    AWS documents what each registration status means, not how it follows the
    versions; these choices are listed in ``docs/lifecycle.md``:

    - DELETED and CLOSED are kept: versions cannot undo them.
    - An unknown version status keeps ``previous`` (the next sync says).
    - In-flight versions are mirrored (REQUIRES_OFFLINE_REVIEW shows REVIEWING).
    - APPROVED gives COMPLETE (PROVISIONING is AWS-side only and comes from a sync).
    - DENIED gives REQUIRES_UPDATES.
    - Otherwise (DRAFT, DISCARDED, REVOKED, ARCHIVED current): COMPLETE while another
      version stays APPROVED; else CREATED for a first DRAFT, REQUIRES_UPDATES after
      a denial, discard or revocation.
    """
    if previous in ENDED_REGISTRATION_STATUSES or current.is_unknown:
        return previous
    mirrored = MIRRORED.get(current)
    if mirrored is not None:
        return mirrored
    if current is V.APPROVED:
        return R.COMPLETE
    if current is V.DENIED:
        return R.REQUIRES_UPDATES
    if has_approved:
        return R.COMPLETE
    if current is V.DRAFT and current_number == 1:
        return R.CREATED
    return R.REQUIRES_UPDATES
