"""The emulator's EventBridge events: the envelope, and the sinks they are delivered to.

AWS End User Messaging SMS sends a "Registration Status Change" event (source
``aws.sms-voice``) to EventBridge when a registration changes
(https://docs.aws.amazon.com/sms-voice/latest/userguide/monitor-event-bridge.html).
The emulator emits one such event for every status change it makes — a version
created (with its registration, or by CreateRegistrationVersion), submitted,
discarded, moved by :meth:`~EmulatedRegistrationApi.advance` (an approval that
archives the older approval emits both), and a registration deleted — after the
change, in the order the changes were made, to every sink registered.

The envelope is EventBridge's standard one (documented): ``version`` "0", ``id``,
``detail-type`` "Registration Status Change", ``source`` "aws.sms-voice",
``account``, ``time`` (second precision, UTC), ``region``, ``resources`` (the
registration ARN) and ``detail``.

**Every field of** ``detail`` **is inferred**: AWS does not document the detail of
registration events. :func:`status_change_event` builds it in the style of the
service's documented message events (camelCase, ``eventVersion``,
``eventTimestamp`` in epoch milliseconds) from the API's own names:
``eventVersion``, ``eventTimestamp``, ``registrationId``, ``registrationType``,
``registrationStatus`` and ``previousRegistrationStatus``, ``versionNumber``,
``versionStatus`` and ``previousVersionStatus`` (the three version fields are null
for a registration's deletion; ``previousVersionStatus`` is null for a new
version). A consumer that wants to work against AWS should read only the envelope
(``resources``) and re-describe the registration, as the library's
:class:`~registration_fsm.sync.events.EventFollower` does.

Sinks: any callable taking the event (a JSON-ready dict), a :class:`JsonLinesSink`
(one event per line, appended to a file) or an :class:`HttpPostSink` (a POST of the
event as JSON to a URL). A sink that raises is logged and skipped: the request that
made the change is answered as if no sink were there. Sinks run synchronously,
while the emulator holds its lock, so events reach them in order; a slow sink slows
the emulator down.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from os import PathLike
from pathlib import Path
from typing import Any, Final

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import RegistrationStatus
from registration_fsm.domain.version import CREATE
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown
from registration_fsm.ports import DETAIL_TYPE, EVENT_SOURCE

__all__ = [
    "DETAIL_TYPE",
    "EVENT_SOURCE",
    "EventEmitter",
    "EventSink",
    "HttpPostSink",
    "JsonLinesSink",
    "status_change_event",
]

_log = logging.getLogger(__name__)

#: The ``eventVersion`` put in ``detail`` (inferred, as the message events' "1.0").
DETAIL_VERSION: Final = "1.0"

#: What a sink is: a callable given each event (a JSON-ready dict); its result is ignored.
EventSink = Callable[[dict[str, Any]], object]


def status_change_event(
    event: TransitionEvent,
    registration: Registration,
    *,
    account: str,
    region: str,
    event_id: str,
    previous_registration_status: RegistrationStatus | None,
) -> dict[str, Any]:
    """The EventBridge "Registration Status Change" event for one applied change.

    ``event`` is the domain's event, ``registration`` the registration after the
    change (its status is ``registrationStatus``). The envelope is EventBridge's;
    ``detail`` is inferred (see the module docstring).
    """
    at = event.timestamp.astimezone(UTC)
    own = event.version_number is None  # the registration's own event: its deletion
    version_status = None if own else event.dest
    previous_version = None if own or event.source is None else event.source
    if own and isinstance(event.source, RegistrationStatus):
        previous_registration_status = event.source
    status = event.dest if own else registration.status
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [registration.arn],
        "detail": {
            "eventVersion": DETAIL_VERSION,
            "eventTimestamp": int(at.timestamp() * 1000),
            "registrationId": registration.id,
            "registrationType": registration.type,
            "registrationStatus": status.to_api(),
            "previousRegistrationStatus": (
                None
                if previous_registration_status is None
                else previous_registration_status.to_api()
            ),
            "versionNumber": event.version_number,
            "versionStatus": None if version_status is None else version_status.to_api(),
            "previousVersionStatus": (
                None if previous_version is None else previous_version.to_api()
            ),
        },
    }


class JsonLinesSink:
    """A sink appending each event to ``path`` as one line of JSON (flushed per event).

    The file is created if missing and opened once now, so a path that cannot be
    written is an :class:`InvalidArgument` at once rather than a logged failure per
    event. Thread-safe. :meth:`close` closes the file.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        if not isinstance(path, str | PathLike):
            raise InvalidArgumentType(f"path must be a file path, got {shown(path)}")
        self.path = Path(path)
        try:
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as err:
            raise InvalidArgument(f"cannot write events to {self.path}: {err}") from None
        self._lock = threading.Lock()

    def __call__(self, event: Mapping[str, Any]) -> None:
        """Append ``event`` as one line."""
        line = json.dumps(event, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Close the file (events after this fail, and are logged)."""
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        return f"JsonLinesSink({str(self.path)!r})"


class HttpPostSink:
    """A sink POSTing each event as JSON (``Content-Type: application/json``) to ``url``.

    Only ``http`` and ``https`` URLs. An answer other than 2xx, no answer within
    ``timeout`` seconds, or a refused connection is a failure (logged by the
    emulator; the event is not sent again).
    """

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        if not isinstance(url, str):
            raise InvalidArgumentType(f"url must be a string, got {shown(url)}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(f"events URL must be an http:// or https:// URL, got {url!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.url = url
        self.timeout = float(timeout)

    def __call__(self, event: Mapping[str, Any]) -> None:
        """POST ``event``; raises on a failure (the emulator logs it)."""
        body = json.dumps(event, separators=(",", ":")).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    def __repr__(self) -> str:
        return f"HttpPostSink({self.url!r})"


class EventEmitter:
    """The emulator's side of the events: it follows registrations and feeds the sinks.

    :meth:`track` subscribes to a new registration (and queues its creation);
    the domain delivers every later change to it; :meth:`flush`, called by the
    emulator once a request's changes are made (under its lock), turns what was
    queued into envelopes and gives each, in order, to every sink. Nothing is
    queued while there are no sinks. Event ids are drawn from ``seed`` (None:
    random), apart from the emulator's registration ids.
    """

    def __init__(
        self,
        *,
        account: str,
        region: str,
        seed: int | None = None,
        sinks: Iterable[EventSink] = (),
    ) -> None:
        if isinstance(sinks, str | bytes | Mapping) or not isinstance(sinks, Iterable):
            raise InvalidArgumentType(
                f"event_sinks must be a list of callables, got {shown(sinks)}"
            )
        self.account = account
        self.region = region
        self._rng = random.Random(None if seed is None else f"events-{seed}")
        self._lock = threading.Lock()
        self._sinks: tuple[EventSink, ...] = ()
        self._pending: list[tuple[Registration, TransitionEvent]] = []
        self._statuses: dict[str, RegistrationStatus] = {}
        for sink in sinks:
            self.add_sink(sink)

    @property
    def sinks(self) -> tuple[EventSink, ...]:
        """The sinks registered, in the order they are called."""
        return self._sinks

    def add_sink(self, sink: EventSink) -> Callable[[], None]:
        """Deliver every later event to ``sink`` too; returns a function that removes it."""
        if not callable(sink):
            raise InvalidArgumentType(f"an event sink must be callable, got {shown(sink)}")
        with self._lock:
            self._sinks = (*self._sinks, sink)

        def remove() -> None:
            with self._lock:
                if sink in self._sinks:
                    sinks = list(self._sinks)
                    sinks.remove(sink)
                    self._sinks = tuple(sinks)

        return remove

    def track(self, registration: Registration) -> None:
        """Follow a registration just created (version 1 in DRAFT): queue its creation
        (``previousRegistrationStatus`` and ``previousVersionStatus`` null)."""
        registration.subscribe(lambda event: self._queue(registration, event))
        first = registration.versions[1]
        self._queue(
            registration,
            TransitionEvent(registration.id, 1, CREATE, None, first.status, first.history.draft),
        )

    def _queue(self, registration: Registration, event: TransitionEvent) -> None:
        if self._sinks:
            self._pending.append((registration, event))
        else:  # nobody listens: only remember the status, for the next event's "previous"
            self._remember(registration)

    def _remember(self, registration: Registration) -> None:
        if registration.status is RegistrationStatus.DELETED:  # it never changes again
            self._statuses.pop(registration.id, None)
        else:
            self._statuses[registration.id] = registration.status

    def flush(self) -> None:
        """Emit what the last request queued, in order; a sink that fails is logged."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        for registration, event in pending:
            previous = self._statuses.get(registration.id)
            envelope = status_change_event(
                event,
                registration,
                account=self.account,
                region=self.region,
                event_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                previous_registration_status=previous,
            )
            self._remember(registration)
            for sink in self._sinks:
                try:
                    sink(copy.deepcopy(envelope))  # a sink may keep or change its own
                except Exception as err:
                    _log.warning(
                        "event sink %r failed on event %s (%s %s): %s: %s",
                        sink,
                        envelope["id"],
                        registration.id,
                        event.describe(),
                        type(err).__name__,
                        err,
                    )
