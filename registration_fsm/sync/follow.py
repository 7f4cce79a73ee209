"""Following AWS: what ``wait_for`` waits for, and which registration an event names.

boto3 has no waiters for registrations, so ``Synchronizer.wait_for`` polls one
registration (with backoff and jitter); AWS emits a "Registration Status Change"
event (source ``aws.sms-voice``) that ``Synchronizer.handle_event`` turns into a
sync of just the registration it names (:func:`registration_id_of`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from registration_fsm.domain.lifecycle import LIFECYCLE
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import (
    ENDED_REGISTRATION_STATUSES,
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)
from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    InvalidEvent,
    InvalidRegistrationId,
    shown,
)
from registration_fsm.ports import EVENT_SOURCE

_ID_KEYS = ("registrationId", "RegistrationId", "registration_id", "registration-id")


def registration_id_of(event: Mapping[str, Any]) -> str:
    """The registration id an EventBridge "Registration Status Change" event names."""
    if not isinstance(event, Mapping):
        raise InvalidEvent(f"an EventBridge event is a JSON object, got {type(event).__name__}")
    source = event.get("source")
    if source is not None and source != EVENT_SOURCE:
        raise InvalidEvent(f"event source is {source!r}, not {EVENT_SOURCE!r}")
    found: list[str] = []
    resources = event.get("resources")
    if isinstance(resources, list):
        for arn in resources:
            if isinstance(arn, str) and ":registration/" in arn:
                found.append(arn.rsplit(":registration/", 1)[1])
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        for key in _ID_KEYS:
            if isinstance(detail.get(key), str):
                found.append(detail[key])
    ids = list(dict.fromkeys(found))
    if not ids:
        raise InvalidEvent(
            "the event names no registration (no registration ARN in resources, "
            "no registration id in detail); refusing to guess"
        )
    if len(ids) > 1:
        raise InvalidEvent(f"the event names several registrations: {', '.join(ids)}")
    try:
        return check_registration_id(ids[0])
    except (InvalidRegistrationId, InvalidArgumentType) as err:
        raise InvalidEvent(f"the event's registration id is malformed: {err}") from None


@attrs.frozen
class Wanted:
    """What ``wait_for`` waits for: (what, status) pairs, what being "registration",
    "version" (the current version) or "any"."""

    pairs: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, statuses: Collection[RegistrationStatus | VersionStatus | str]) -> Wanted:
        """A RegistrationStatus matches the registration's status, a VersionStatus the
        current version's, a plain string either."""
        if isinstance(statuses, str) or not isinstance(statuses, Collection):
            raise InvalidArgumentType(
                f"statuses must be a collection of statuses, got {shown(statuses)}"
            )
        if not statuses:
            raise InvalidArgument("statuses must name at least one status")
        known = {s.value for s in RegistrationStatus} | {s.value for s in VersionStatus}
        out = set()
        for status in statuses:
            if isinstance(status, RegistrationStatus):
                out.add(("registration", status.value))
            elif isinstance(status, VersionStatus):
                out.add(("version", status.value))
            elif isinstance(status, str) and status in known:
                out.add(("any", status))
            else:
                raise InvalidArgument(f"not a registration or version status: {shown(status)}")
        return cls(frozenset(out))

    @property
    def names(self) -> list[str]:
        """The statuses, sorted."""
        return sorted(name for _what, name in self.pairs)

    def matched_by(self, registration: Registration) -> bool:
        """Whether ``registration`` is in a status wanted now."""
        return bool(self.pairs & _seen(registration.status, registration.current_version.status))

    def reachable_from(self, registration: Registration) -> bool:
        """Whether a wanted status can still come: the current version can reach it along
        the lifecycle, with the registration statuses that follow from it and those AWS
        moves the registration to on its own (PROVISIONING, COMPLETE, CLOSED). A new
        version or a delete is a command of its own, so neither is counted."""
        current = registration.current_version
        if current.status.is_unknown or registration.status.is_unknown:
            return True
        has_approved = registration.approved_version_number is not None
        ended = registration.status in ENDED_REGISTRATION_STATUSES
        for status in LIFECYCLE.reachable(current.status) if not ended else {current.status}:
            approved = has_approved or status is VersionStatus.APPROVED
            for provisioning in (False, True):
                derived = derive_registration_status(
                    registration.status, status, current.number, approved,
                    provisioning=provisioning,
                )  # fmt: skip
                if any(self.pairs & _seen(r, status) for r in _aws_reachable(derived)):
                    return True
        return bool(self.pairs & _seen(registration.status, current.status))


@functools.cache
def _aws_reachable(start: RegistrationStatus) -> frozenset[RegistrationStatus]:
    """``start`` and the registration statuses AWS's own registration triggers reach."""
    seen, todo = {start}, [start]
    while todo:
        for edge in LIFECYCLE.registration_edges_from(todo.pop()):
            if edge.trigger in LIFECYCLE.registration_aws_triggers and edge.dest not in seen:
                seen.add(edge.dest)
                todo.append(edge.dest)
    return frozenset(seen)


def _seen(registration: RegistrationStatus, version: VersionStatus) -> set[tuple[str, str]]:
    return {
        ("registration", str(registration)),
        ("version", str(version)),
        ("any", str(registration)),
        ("any", str(version)),
    }


def check_seconds(**values: float) -> None:
    """Each value a positive, finite number of seconds, or a typed one-line error."""
    for name, value in values.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidArgumentType(f"{name} must be a number of seconds, got {shown(value)}")
        if not math.isfinite(value) or value <= 0:
            raise InvalidArgument(f"{name} must be a positive number of seconds, got {value!r}")
