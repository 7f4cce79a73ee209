"""The API's status enums, open to values AWS adds later.

Parsing a value this library does not know (``VersionStatus("NEW_THING")``)
returns a *pseudo-member*: an instance of the enum that keeps the raw string,
reports ``is_unknown``, compares and hashes as its string, and round-trips
unchanged through ``to_api()``. Iterating the enum yields only the known members.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple, Self

import attrs

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

#: Registration statuses after which nothing but ``delete`` (CLOSED) or nothing at all
#: (DELETED) can happen.
ENDED_REGISTRATION_STATUSES: frozenset[RegistrationStatus] = frozenset(
    {RegistrationStatus.DELETED, RegistrationStatus.CLOSED}
)

#: Registration statuses the versions cannot explain: entered by the registration's own
#: triggers (``provision``, ``close``, ``delete``). No version trigger applies in them.
REGISTRATION_LEVEL_STATUSES: frozenset[RegistrationStatus] = frozenset(
    {RegistrationStatus.PROVISIONING, RegistrationStatus.CLOSED, RegistrationStatus.DELETED}
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


class StatusInputs(NamedTuple):
    """What a rule of :data:`REGISTRATION_STATUS_RULES` reads."""

    #: The registration status before the change.
    previous: RegistrationStatus
    #: The current (latest) version's status after the change.
    current: VersionStatus
    #: The current version is version 1.
    first: bool
    #: Some version is APPROVED after the change.
    has_approved: bool
    #: The change is an approval whose origination identity is being created
    #: (``LifecyclePolicy.provisioning``).
    provisioning: bool


@attrs.frozen
class StatusRule:
    """One row of :data:`REGISTRATION_STATUS_RULES`: when it applies, what it gives, why.

    ``decide`` returns the registration status, or None when the row does not apply.
    """

    when: str
    gives: str
    why: str
    decide: Callable[[StatusInputs], RegistrationStatus | None] = attrs.field(repr=False)


def _mirror(i: StatusInputs) -> RegistrationStatus | None:
    return MIRRORED.get(i.current) if i.current is not V.REQUIRES_OFFLINE_REVIEW else None


#: How the registration status follows a change of the versions: the first row that
#: applies decides. AWS documents what each status means, not how it follows the
#: versions (https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_RegistrationInformation.html):
#: every row is a choice, listed with its reason in ``docs/lifecycle.md``.
REGISTRATION_STATUS_RULES: tuple[StatusRule, ...] = (
    StatusRule(
        "DELETED or CLOSED before", "unchanged",
        "versions cannot undo them (CLOSED: the phone number or sender ID was deleted and the "
        "registration must be deleted too, as documented)",
        lambda i: i.previous if i.previous in ENDED_REGISTRATION_STATUSES else None,
    ),
    StatusRule(
        "current version in a status the library does not know", "unchanged",
        "only the API can say",
        lambda i: i.previous if i.current.is_unknown else None,
    ),
    StatusRule(
        "PROVISIONING before, a version still APPROVED", "PROVISIONING",
        "the origination identity is still being created; `complete_provisioning` ends it",
        lambda i: R.PROVISIONING if i.previous is R.PROVISIONING and i.has_approved else None,
    ),
    StatusRule(
        "SUBMITTED, AWS_REVIEWING, REVIEWING, REQUIRES_AUTHENTICATION", "the same name",
        "the statuses mirror each other (inferred from identical names and meanings)",
        _mirror,
    ),
    StatusRule(
        "REQUIRES_OFFLINE_REVIEW", "REVIEWING",
        "RegistrationStatus has no offline-review value: the review goes on",
        lambda i: R.REVIEWING if i.current is V.REQUIRES_OFFLINE_REVIEW else None,
    ),
    StatusRule(
        "APPROVED by an approval that provisions", "PROVISIONING",
        "documented meaning: approved, the origination identity being created; which types "
        "pass through it is AWS-silent: `LifecyclePolicy(provisioning=...)`, off by default",
        lambda i: R.PROVISIONING if i.current is V.APPROVED and i.provisioning else None,
    ),
    StatusRule(
        "APPROVED", "COMPLETE",
        "documented meaning: approved, the origination identity created (by default an "
        "approval does not pass through PROVISIONING)",
        lambda i: R.COMPLETE if i.current is V.APPROVED else None,
    ),
    StatusRule(
        "DENIED", "REQUIRES_UPDATES",
        "documented meaning: fix and resubmit, as DENIED says",
        lambda i: R.REQUIRES_UPDATES if i.current is V.DENIED else None,
    ),
    StatusRule(
        "DRAFT, DISCARDED, REVOKED, ARCHIVED while another version is APPROVED", "COMPLETE",
        "an approved registration stays in force while a new version is prepared (AWS is silent)",
        lambda i: R.COMPLETE if i.has_approved else None,
    ),
    StatusRule(
        "DRAFT, version 1", "CREATED",
        "documented meaning: created, not submitted",
        lambda i: R.CREATED if i.current is V.DRAFT and i.first else None,
    ),
    StatusRule(
        "DRAFT (version > 1), DISCARDED, REVOKED, ARCHIVED with no approval", "REQUIRES_UPDATES",
        "something must be fixed and resubmitted (AWS is silent)",
        lambda _: R.REQUIRES_UPDATES,
    ),
)  # fmt: skip


def derive_registration_status(
    previous: RegistrationStatus,
    current: VersionStatus,
    current_number: int,
    has_approved: bool,
    *,
    provisioning: bool = False,
) -> RegistrationStatus:
    """The registration status after a change of its versions: the one place it is derived.

    The first row of :data:`REGISTRATION_STATUS_RULES` that applies decides:
    DELETED and CLOSED are kept; an unknown version status keeps ``previous``;
    PROVISIONING is kept while a version is APPROVED; in-flight versions are
    mirrored (REQUIRES_OFFLINE_REVIEW shows REVIEWING); APPROVED gives
    PROVISIONING when the approval provisions (``provisioning``), else COMPLETE;
    DENIED gives REQUIRES_UPDATES; otherwise COMPLETE while another version stays
    APPROVED, CREATED for a first DRAFT, REQUIRES_UPDATES after a denial, discard
    or revocation. The registration's own triggers (``provision``,
    ``complete_provisioning``, ``close``, ``delete``) move it along
    :data:`~registration_fsm.domain.lifecycle.REGISTRATION_EDGES` instead.
    """
    return _derive(
        StatusInputs(previous, current, current_number == 1, bool(has_approved), provisioning)
    )


@lru_cache(maxsize=4096)
def _derive(inputs: StatusInputs) -> RegistrationStatus:
    for rule in REGISTRATION_STATUS_RULES:
        found = rule.decide(inputs)
        if found is not None:
            return found
    raise AssertionError("unreachable: the last rule always applies")  # pragma: no cover
