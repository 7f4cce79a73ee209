"""Following AWS without polling everything: ``wait_for`` and EventBridge events.

boto3 has no waiters for registrations, so :meth:`Following.wait_for` polls one
registration (with backoff and jitter) through the synchronizer; AWS emits a
"Registration Status Change" event (source ``aws.sms-voice``) that
:meth:`Following.handle_event` turns into a sync of just that registration.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from registration_fsm.adapters.ids import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.errors import (
    InvalidArgument,
    InvalidEvent,
    NotTracked,
    ValidationError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from registration_fsm.sync.report import SyncReport

#: The EventBridge source of End User Messaging SMS events.
EVENT_SOURCE = "aws.sms-voice"
_ID_KEYS = ("registrationId", "RegistrationId", "registration_id", "registration-id")


class _Syncing(Protocol):
    def sync(
        self, registration_ids: Sequence[str] | None = None, full: bool = False
    ) -> SyncReport: ...

    def get(self, registration_id: str) -> Registration: ...


class Following:
    """``wait_for`` and ``handle_event``, mixed into the Synchronizer."""

    def wait_for(
        self: _Syncing,
        registration_id: str,
        statuses: Collection[RegistrationStatus | VersionStatus | str],
        *,
        timeout: float = 600.0,
        poll: float = 5.0,
        backoff: float = 1.5,
        max_poll: float = 60.0,
        jitter: float = 0.1,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Registration:
        """Sync ``registration_id`` until it reaches one of ``statuses``; return it.

        A RegistrationStatus matches the registration's status, a VersionStatus the
        current version's, a plain string either. Polls start at ``poll`` seconds and
        grow by ``backoff`` up to ``max_poll``, each varied by ±``jitter``. Every poll
        is a full sync of that registration, so its events are applied and saved.
        Raises :class:`WaitTimeout` naming the last status seen.
        """
        check_registration_id(registration_id)
        wanted = _wanted(statuses)
        for name, value in (("timeout", timeout), ("poll", poll), ("max_poll", max_poll)):
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise InvalidArgument(f"{name} must be a positive number of seconds, got {value!r}")
        if not isinstance(backoff, int | float) or backoff < 1:
            raise InvalidArgument(f"backoff must be >= 1, got {backoff!r}")
        if not isinstance(jitter, int | float) or not 0 <= jitter < 1:
            raise InvalidArgument(f"jitter must be in [0, 1), got {jitter!r}")
        rng = random.Random(seed)
        start, delay = clock(), float(poll)
        last: Registration | None = None
        while True:
            self.sync([registration_id], full=True)  # a failed pull keeps the last state
            with contextlib.suppress(NotTracked):
                last = self.get(registration_id)
            if last is not None and _matches(last, wanted):
                return last
            waited = clock() - start
            if waited >= timeout:
                raise WaitTimeout(
                    registration_id,
                    sorted(name for _what, name in wanted),
                    waited,
                    None if last is None else str(last.status),
                    None if last is None else str(last.current_version.status),
                )
            pause = min(delay, max_poll) * (1 + rng.uniform(-jitter, jitter))
            sleep(max(0.0, min(pause, timeout - waited)))
            delay = min(delay * backoff, max_poll)

    def handle_event(self: _Syncing, event: Mapping[str, Any]) -> SyncReport:
        """Re-sync just the registration an EventBridge event names; return the report.

        The id comes from ``resources`` (a registration ARN) or ``detail``. An event
        naming no registration raises :class:`InvalidEvent` — never a full sync.
        """
        registration_id = registration_id_of(event)
        return self.sync([registration_id], full=True)


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
    except ValidationError as err:
        raise InvalidEvent(f"the event's registration id is malformed: {err}") from None


def _wanted(
    statuses: Collection[RegistrationStatus | VersionStatus | str],
) -> set[tuple[str, str]]:
    """(what, status name) pairs: what is "registration", "version" or "any"."""
    if isinstance(statuses, str) or not isinstance(statuses, Collection) or not statuses:
        raise InvalidArgument(f"statuses must be a non-empty collection, got {statuses!r}")
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
            raise InvalidArgument(f"not a registration or version status: {status!r}")
    return out


def _matches(registration: Registration, wanted: set[tuple[str, str]]) -> bool:
    seen = {
        ("registration", str(registration.status)),
        ("version", str(registration.current_version.status)),
        ("any", str(registration.status)),
        ("any", str(registration.current_version.status)),
    }
    return bool(seen & wanted)
