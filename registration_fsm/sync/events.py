"""Event-driven updates: keep a store current from a stream of EventBridge events.

AWS sends a "Registration Status Change" event (source ``aws.sms-voice``) when a
registration changes; the usual route to a worker is an EventBridge rule that
targets an SQS queue. :class:`EventFollower` takes events from any
:class:`EventSource` — :class:`~registration_fsm.adapters.sqs.SqsEventSource`
(an SQS queue), :class:`JsonLinesSource` (a file or stdin of JSON Lines) — and
re-syncs exactly the registration each one names
(:meth:`Synchronizer.handle_event`): one DescribeRegistrations and one
DescribeRegistrationVersions, nothing else. The event's ``detail`` is never
trusted (its fields are not documented by AWS): the API says what is true now.

Delivery is at least once, handling is idempotent:

- a message is acknowledged (deleted from the queue) only after the save of its
  registration committed; a follower killed before that loses nothing — the
  message comes back (after the queue's visibility timeout) and is handled then;
- handling an event twice changes nothing the first time did not (the second
  sync finds the store current); an event id handled moments ago is acknowledged
  without a request (``duplicates``); events of one batch naming the same
  registration share one sync;
- a poison message — not JSON, not an event of this service, naming no (or a
  malformed) registration, for another region or account than the API's (a sync
  there would record the registration deleted), or failing ``max_attempts``
  times — is moved aside (the source's dead-letter path) with one log line, and
  never touches the store;
- a failure (the API throttled or unreachable, the store busy) leaves the message
  to come back; nothing ever stops the follower but its stop condition.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol, runtime_checkable

import attrs

from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    InvalidEvent,
    SubscriberError,
    shown,
)
from registration_fsm.ports import DETAIL_TYPE, EVENT_SOURCE
from registration_fsm.sync.follow import registration_id_of
from registration_fsm.sync.synchronizer import Synchronizer

__all__ = [
    "DETAIL_TYPE",
    "MAX_EVENT_BYTES",
    "EventFollower",
    "EventSource",
    "FollowerStats",
    "JsonLinesSource",
    "Message",
    "parse_event",
]

_log = logging.getLogger(__name__)

#: The largest event accepted (SQS's largest message; EventBridge's is smaller).
MAX_EVENT_BYTES = 256 * 1024


@runtime_checkable
class Message(Protocol):
    """One delivery of an event by an :class:`EventSource`.

    ``attempt`` counts deliveries of this message (1 the first time; SQS's
    ApproximateReceiveCount). Exactly one of :meth:`ack`, :meth:`release` and
    :meth:`dead_letter` is called per delivery.
    """

    @property
    def message_id(self) -> str:
        """The source's id of the message (for log lines)."""
        ...

    @property
    def body(self) -> str | bytes:
        """The raw event, as delivered."""
        ...

    @property
    def attempt(self) -> int:
        """Deliveries of this message so far, this one included."""
        ...

    def ack(self) -> None:
        """Handled and saved: never deliver it again (SQS: DeleteMessage)."""
        ...

    def release(self) -> None:
        """Not handled this time: deliver it again later."""
        ...

    def dead_letter(self, reason: str) -> str:
        """Move it aside for good, with ``reason``; return where it went (for the log)."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """Where events come from: batches of :class:`Message`."""

    def receive(self, limit: int | None = None) -> Sequence[Message] | None:
        """The next batch, of at most ``limit`` messages (None: the source's batch
        size): empty when nothing came (a long poll ended), None when the source has
        ended for good (the end of a file)."""
        ...


def parse_event(body: str | bytes) -> tuple[dict[str, Any], str]:
    """The event in ``body`` and the registration it names, or :class:`InvalidEvent`.

    An event of this service is a JSON object with ``source`` "aws.sms-voice" and
    ``detail-type`` "Registration Status Change" naming exactly one well-formed
    registration (an ARN in ``resources``, or an id in ``detail``).
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if not isinstance(body, bytes):
        raise InvalidEvent(f"an event is text, got {type(body).__name__}")
    if len(body) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"the message is {len(body)} bytes, over {MAX_EVENT_BYTES}")
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise InvalidEvent(f"not JSON: {err}") from None
    if not isinstance(event, dict):
        raise InvalidEvent(f"not an EventBridge event: a JSON {type(event).__name__}")
    if event.get("source") != EVENT_SOURCE:
        raise InvalidEvent(
            f"not an event of this service: source {shown(event.get('source'), 60)}, "
            f"not {EVENT_SOURCE!r}"
        )
    if event.get("detail-type") != DETAIL_TYPE:
        raise InvalidEvent(
            f"not a registration event: detail-type {shown(event.get('detail-type'), 60)}, "
            f"not {DETAIL_TYPE!r}"
        )
    return event, registration_id_of(event)


@attrs.define
class FollowerStats:
    """What an :class:`EventFollower` did.

    ``received``: deliveries taken from the source (redeliveries included);
    ``handled``: messages acknowledged after their registration's save committed;
    ``changed``: of those, the ones whose sync saved a change; ``duplicates``:
    messages acknowledged without a request (their event id was just handled);
    ``poison``: messages moved aside; ``retried``: deliveries left to come back
    after a failure; ``api_calls``: requests made, by operation.
    """

    received: int = 0
    handled: int = 0
    changed: int = 0
    duplicates: int = 0
    poison: int = 0
    retried: int = 0
    api_calls: Counter[str] = attrs.field(factory=Counter)

    @property
    def settled(self) -> int:
        """Messages done with for good: handled, duplicates and poison."""
        return self.handled + self.duplicates + self.poison

    def summary(self) -> str:
        """One line: ``5 handled (3 changed), 1 duplicate, 2 poison, 0 retried; API calls: ...``."""
        calls = ", ".join(f"{k} {v}" for k, v in sorted(self.api_calls.items())) or "none"
        return (
            f"{self.handled} handled ({self.changed} changed), {self.duplicates} duplicate"
            f"{'' if self.duplicates == 1 else 's'}, {self.poison} poison, "
            f"{self.retried} retried; API calls: {calls}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "received": self.received,
            "handled": self.handled,
            "changed": self.changed,
            "duplicates": self.duplicates,
            "poison": self.poison,
            "retried": self.retried,
            "api_calls": dict(sorted(self.api_calls.items())),
        }


def _where(api: object) -> tuple[str | None, str | None]:
    """The region and account ``api`` works in, as far as it tells."""
    region = getattr(api, "region", None)
    if not isinstance(region, str):
        meta = getattr(getattr(api, "client", None), "meta", None)
        region = getattr(meta, "region_name", None)
    account = getattr(api, "account", None)
    return (
        region if isinstance(region, str) and region else None,
        account if isinstance(account, str) and account else None,
    )


@attrs.frozen
class _Parsed:
    message: Message
    event: dict[str, Any]
    registration_id: str
    event_id: str | None


class EventFollower:
    """Keeps ``synchronizer``'s store current from the events of an :class:`EventSource`.

    Args:
        synchronizer: the :class:`~registration_fsm.Synchronizer` (its API and store).
        max_attempts: deliveries of a failing message before it is moved aside (>= 1).
        remember: event ids kept to tell a duplicate delivery (0: none).
        sleep: how :meth:`run` waits after the source failed (backoff up to 30 s).
        region: an event for another region is poison (a sync of it against this
            API would find the registration missing and record it deleted).
            Default: the API's own, when it tells it (the boto3 adapter's client
            region, the emulator's); else not checked.
        account: the same for the account (default: the boto3 adapter's
            ``account``, the emulator's).

    See the module docstring for the guarantees; :attr:`stats` counts what it did.
    """

    def __init__(
        self,
        synchronizer: Synchronizer,
        *,
        max_attempts: int = 5,
        remember: int = 10_000,
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        if not isinstance(synchronizer, Synchronizer):
            raise InvalidArgumentType(
                f"synchronizer must be a Synchronizer, got {shown(synchronizer)}"
            )
        for name, value, low in (("max_attempts", max_attempts, 1), ("remember", remember, 0)):
            if type(value) is not int or value < low:
                raise InvalidArgument(f"{name} must be an integer >= {low}, got {value!r}")
        if not callable(sleep):
            raise InvalidArgumentType(f"sleep must be callable, got {shown(sleep)}")
        for where, given in (("region", region), ("account", account)):
            if given is not None and not isinstance(given, str):
                raise InvalidArgumentType(f"{where} must be a string, got {shown(given)}")
        self.synchronizer = synchronizer
        self.max_attempts = max_attempts
        self.remember = remember
        self.stats = FollowerStats()
        api_region, api_account = _where(synchronizer.api)
        #: Events for another region are poison (None: not checked).
        self.region = region or api_region
        #: Events for another account are poison (None: not checked).
        self.account = account or api_account
        self._sleep = sleep
        self._seen: OrderedDict[str, None] = OrderedDict()

    # -- the loop --------------------------------------------------------------

    def run(
        self,
        source: EventSource,
        *,
        max_messages: int | None = None,
        once: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> FollowerStats:
        """Follow ``source`` until it ends, ``max_messages`` were settled (handled,
        duplicates or poison; no more are received), one batch was taken (``once``)
        or ``should_stop()``.

        A source that fails (SQS unreachable, throttled) is logged and asked again
        after a pause (1 s, doubling up to 30 s). Returns :attr:`stats`.
        KeyboardInterrupt propagates: what was not acknowledged comes back.
        """
        if not isinstance(source, EventSource):
            raise InvalidArgumentType(f"source must be an EventSource, got {shown(source)}")
        if max_messages is not None and (type(max_messages) is not int or max_messages < 1):
            raise InvalidArgument(f"max_messages must be an integer >= 1, got {max_messages!r}")
        pause = 1.0
        while not (should_stop is not None and should_stop()):
            if max_messages is not None and self.stats.settled >= max_messages:
                break
            limit = None if max_messages is None else max_messages - self.stats.settled
            try:
                batch = source.receive(limit)
            except Exception as err:  # SQS unreachable, throttled...: never the end
                _log.warning(
                    "could not receive events (%s: %s); retrying in %.0f s",
                    type(err).__name__,
                    err,
                    pause,
                )
                if once:
                    break
                self._sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            if batch is None:
                break
            self.process(batch)
            if once:
                break
        return self.stats

    # -- one batch -------------------------------------------------------------

    def process(self, batch: Sequence[Message]) -> None:
        """Handle one batch: poison aside, duplicates acknowledged, one sync per
        registration named, each message acknowledged after its save committed."""
        groups: dict[str, list[_Parsed]] = {}
        for message in batch:
            self.stats.received += 1
            try:
                event, registration_id = parse_event(message.body)
            except InvalidEvent as err:
                self._poison(message, str(err))
                continue
            elsewhere = self._elsewhere(event)
            if elsewhere is not None:
                self._poison(message, elsewhere)
                continue
            raw_id = event.get("id")
            event_id = raw_id if isinstance(raw_id, str) and raw_id else None
            if event_id is not None and event_id in self._seen:
                self.stats.duplicates += 1
                _log.info(
                    "duplicate event %s (message %s): acknowledged", event_id, message.message_id
                )
                self._settle(message, message.ack, "acknowledge")
                continue
            groups.setdefault(registration_id, []).append(
                _Parsed(message, event, registration_id, event_id)
            )
        for registration_id, items in groups.items():
            self._handle(registration_id, items)

    def _elsewhere(self, event: dict[str, Any]) -> str | None:
        """Why ``event`` belongs to another region or account than the API's, if it does:
        a sync there would find the registration missing and record it deleted."""
        for key, mine in (("region", self.region), ("account", self.account)):
            theirs = event.get(key)
            if mine is not None and theirs is not None and theirs != mine:
                return (
                    f"the event is for {key} {shown(theirs, 40)}, "
                    f"but this follower's API is in {mine!r}"
                )
        return None

    def _handle(self, registration_id: str, items: list[_Parsed]) -> None:
        """One sync of ``registration_id`` for every message naming it."""
        failure: str | None = None
        changed = False
        api = self.synchronizer.api
        before = dict(api.calls)
        try:
            report = self.synchronizer.handle_event(items[0].event)
        except InvalidEvent as err:  # parse_event accepted it: cannot happen, but never crash
            for item in items:
                self._poison(item.message, str(err))
            return
        except SubscriberError as err:  # saved; one of the synchronizer's subscribers failed
            _log.warning("event for %s saved, but a subscriber failed: %s", registration_id, err)
            changed = True
        except Exception as err:  # the API, the store, a bug: the message comes back
            failure = f"{type(err).__name__}: {err}"
        else:
            failure = report.failed.get(registration_id)
            changed = bool(report.events)
            if report.not_found:
                _log.info("event for %s: the API does not know it; nothing saved", registration_id)
        finally:
            after = api.calls
            self.stats.api_calls.update(
                {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
            )
        if failure is None:
            for item in items:
                self.stats.handled += 1
                self.stats.changed += changed
                changed = False  # one sync made the change, whatever the messages
                if item.event_id is not None:
                    self._remember(item.event_id)
                self._settle(item.message, item.message.ack, "acknowledge")
            return
        for item in items:
            message = item.message
            if message.attempt >= self.max_attempts:
                self._poison(message, f"failed {message.attempt} times; last: {failure}")
            else:
                self.stats.retried += 1
                _log.warning(
                    "event for %s (message %s, attempt %d of %d) failed, will come back: %s",
                    registration_id,
                    message.message_id,
                    message.attempt,
                    self.max_attempts,
                    failure,
                )
                self._settle(message, message.release, "release")

    def _poison(self, message: Message, reason: str) -> None:
        try:
            where = message.dead_letter(reason)
        except Exception as err:
            _log.error(
                "poison message %s could not be moved aside (%s: %s); it will come back: %s",
                message.message_id,
                type(err).__name__,
                err,
                reason,
            )
            return
        self.stats.poison += 1
        _log.warning("poison message %s %s: %s", message.message_id, where, reason)

    def _settle(self, message: Message, action: Callable[[], None], what: str) -> None:
        try:
            action()
        except Exception as err:
            _log.warning(
                "could not %s message %s (%s: %s); it will come back and be handled again",
                what,
                message.message_id,
                type(err).__name__,
                err,
            )

    def _remember(self, event_id: str) -> None:
        if not self.remember:
            return
        self._seen[event_id] = None
        self._seen.move_to_end(event_id)
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)


# -- JSON Lines ------------------------------------------------------------------


@attrs.define
class _Line:
    """One line of a :class:`JsonLinesSource`."""

    source: JsonLinesSource
    number: int
    body: str
    attempt: int = 1

    @property
    def message_id(self) -> str:
        return f"{self.source.name}:{self.number}"

    def ack(self) -> None:
        """Nothing to delete in a file."""

    def release(self) -> None:
        self.source._retry(self)

    def dead_letter(self, reason: str) -> str:
        return self.source._dead_letter(self, reason)


class JsonLinesSource:
    """Events from JSON Lines (one EventBridge event per line), e.g. what the emulator's
    ``--events-file`` wrote, or stdin.

    Blank lines are skipped. A line that failed is offered again (after
    ``retry_delay`` times its retries seconds) until the follower moves it aside.
    Poison lines are appended to ``dead_letter`` (a text stream) if given, as JSON
    ``{"line": N, "reason": ..., "body": ...}``; either way the follower logs them.
    ``batch_size`` lines are read per batch (1 for a live stream: a line is
    handled as soon as it arrives).
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        name: str = "events",
        batch_size: int = 10,
        retry_delay: float = 1.0,
        dead_letter: IO[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if type(batch_size) is not int or not 1 <= batch_size <= 1000:
            raise InvalidArgument(f"batch_size must be 1..1000, got {batch_size!r}")
        if isinstance(retry_delay, bool) or not isinstance(retry_delay, int | float):
            raise InvalidArgumentType(f"retry_delay must be seconds, got {shown(retry_delay)}")
        if not retry_delay >= 0:
            raise InvalidArgument(f"retry_delay must be >= 0, got {retry_delay!r}")
        self.stream = stream
        self.name = name
        self.batch_size = batch_size
        self.retry_delay = float(retry_delay)
        self.dead_letter = dead_letter
        self._sleep = sleep
        self._number = 0
        self._ended = False
        self._retries: list[_Line] = []

    def receive(self, limit: int | None = None) -> Sequence[Message] | None:
        """Up to ``batch_size`` (or ``limit``) lines, lines to retry first; None at the end."""
        size = self.batch_size if limit is None else max(1, min(limit, self.batch_size))
        if self._retries:
            batch, self._retries = self._retries[:size], self._retries[size:]
            self._sleep(self.retry_delay * max(line.attempt - 1 for line in batch))
            return batch
        out: list[Message] = []
        while not self._ended and len(out) < size:
            raw = self.stream.readline(MAX_EVENT_BYTES + 2)
            if raw == "":
                self._ended = True
                break
            self._number += 1
            if len(raw) > MAX_EVENT_BYTES and not raw.endswith("\n"):
                while (rest := self.stream.readline(MAX_EVENT_BYTES)) and not rest.endswith("\n"):
                    pass  # the rest of an oversized line: it is poison as a whole
            if raw.strip():
                out.append(_Line(self, self._number, raw.strip()))
        if not out and self._ended:
            return None
        return out

    def _retry(self, line: _Line) -> None:
        self._retries.append(attrs.evolve(line, attempt=line.attempt + 1))

    def _dead_letter(self, line: _Line, reason: str) -> str:
        if self.dead_letter is None:
            return "skipped"
        record = {"line": line.number, "reason": reason, "body": line.body}
        self.dead_letter.write(json.dumps(record) + "\n")
        self.dead_letter.flush()
        return "written to the dead-letter file"
