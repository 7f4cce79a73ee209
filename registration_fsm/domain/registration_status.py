"""The one function that derives a registration's status from its versions.

AWS documents what each registration status means, not how it follows the
versions; the choices below are listed in ``docs/lifecycle.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from registration_fsm.domain.statuses import (
    ENDED_REGISTRATION_STATUSES,
    RegistrationStatus,
    VersionStatus,
)

R, V = RegistrationStatus, VersionStatus

#: In-flight version statuses mirrored by the registration.
_MIRRORED: Mapping[VersionStatus, RegistrationStatus] = {
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
    """The registration status after a local change.

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
    mirrored = _MIRRORED.get(current)
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


@cache
def summary_blind(current: VersionStatus, current_number: int, has_approved: bool) -> bool:
    """Whether the current version can leave ``current`` without the registration's
    status — so its DescribeRegistrations summary — changing (REVIEWING to
    REQUIRES_OFFLINE_REVIEW, say). An incremental sync must describe such a
    registration again even when its summary is unchanged."""
    from registration_fsm.domain.lifecycle import RULES

    if current.is_unknown:
        return True
    number = min(current_number, 2)  # the status function only tells 1 from the rest
    other_approved = has_approved and current is not V.APPROVED
    before = derive_registration_status(R.CREATED, current, number, has_approved)
    return any(
        derive_registration_status(R.CREATED, after, number, other_approved or after is V.APPROVED)
        == before
        for after in RULES.successors[current]
    )
