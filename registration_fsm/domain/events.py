"""Transition events: what changed, when, why, on whose behalf, and where it was seen."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, SubscriberError, shown

_log = logging.getLogger(__name__)


class Origin(StrEnum):
    """Where an event was made."""

    #: Applied in this process (a command, or ``fire``).
    LOCAL = "local"
    #: Observed on the API and applied by a sync.
    REMOTE = "remote"


_EMPTY: Mapping[str, Any] = MappingProxyType({})

#: Longest metadata key and value accepted (they go into every export and report).
MAX_METADATA_KEY, MAX_METADATA_VALUE = 128, 4096


class TransitionEvent(NamedTuple):
    """One applied change (immutable).

    A version's event has its ``version_number`` and VersionStatus ``source`` /
    ``dest`` (``source`` None for the ``create`` event that brings the version into
    existence). A registration's own event (``delete``) has ``version_number``
    None and RegistrationStatus ``source`` / ``dest``. ``actor``, ``reason`` and
    ``metadata`` say who and why; ``details`` what the trigger read (``aws_review``,
    ``denied_reasons``...). ``anomaly`` is set when a sync applied a change no
    legal path explains.
    """

    registration_id: str
    version_number: int | None
    trigger: str
    source: VersionStatus | RegistrationStatus | None
    dest: VersionStatus | RegistrationStatus
    timestamp: datetime
    origin: Origin = Origin.LOCAL
    actor: str | None = None
    reason: str | None = None
    metadata: Mapping[str, str] = _EMPTY
    details: Mapping[str, Any] = _EMPTY
    anomaly: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 UTC)."""
        return {
            "registration_id": self.registration_id,
            "version_number": self.version_number,
            "trigger": self.trigger,
            "source": None if self.source is None else self.source.to_api(),
            "dest": self.dest.to_api(),
            "timestamp": self.timestamp.isoformat(),
            "origin": self.origin.value,
            "actor": self.actor,
            "reason": self.reason,
            "metadata": dict(self.metadata),
            "details": dict(self.details),
            "anomaly": self.anomaly,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransitionEvent:
        """Rebuild an event from :meth:`to_dict` output (also reads 0.1's ``cause`` key).

        A ``version_number`` that is not an int of the API's range (1..100000) or None
        raises ValueError (so does every other malformed member, or KeyError/TypeError).
        """
        number = data["version_number"]
        if number is not None and not (type(number) is int and 1 <= number <= 100_000):
            raise ValueError(f"version_number {number!r} is not a version number (1..100000)")
        status: type[VersionStatus] | type[RegistrationStatus] = (
            RegistrationStatus if number is None else VersionStatus
        )
        source = data["source"]
        return cls(
            registration_id=data["registration_id"],
            version_number=None if number is None else int(number),
            trigger=data["trigger"],
            source=None if source is None else status(source),
            dest=status(data["dest"]),
            timestamp=datetime.fromisoformat(data["timestamp"]),
            origin=Origin(data.get("origin", data.get("cause"))),
            actor=data.get("actor"),
            reason=data.get("reason"),
            metadata=dict(data.get("metadata") or {}),
            details=dict(data.get("details") or {}),
            anomaly=data.get("anomaly"),
        )

    @property
    def subject(self) -> str:
        """``v2`` for a version's event, ``registration`` for the registration's own."""
        return "registration" if self.version_number is None else f"v{self.version_number}"

    def describe(self) -> str:
        """One human line: ``v2 SUBMITTED -> DISCARDED (discard) by alice: typo in address``."""
        src = "(new)" if self.source is None else str(self.source)
        who = f" by {self.actor}" if self.actor else ""
        why = f": {self.reason}" if self.reason else ""
        odd = f" [anomaly: {self.anomaly}]" if self.anomaly else ""
        return f"{self.subject} {src} -> {self.dest} ({self.trigger}){who}{why}{odd}"


def check_metadata(metadata: Mapping[str, str] | None) -> Mapping[str, str]:
    """``metadata`` as a read-only mapping of strings, or a typed one-line error."""
    if metadata is None:
        return _EMPTY
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentType(
            f"metadata must be a mapping of strings, got {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgumentType(
                f"metadata keys and values must be strings, got {shown(key)}: {shown(value)}"
            )
        if not key or len(key) > MAX_METADATA_KEY or not key.isprintable():
            raise InvalidArgument(
                f"metadata key {shown(key)} must be 1-{MAX_METADATA_KEY} printable characters"
            )
        if len(value) > MAX_METADATA_VALUE:
            raise InvalidArgument(
                f"metadata value for {key!r} is over {MAX_METADATA_VALUE} characters"
            )
    return MappingProxyType(dict(metadata))


def check_text(value: str | None, what: str) -> str | None:
    """An actor or reason: None or a string."""
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentType(f"{what} must be a string or None, got {shown(value)}")
    return value


Subscriber = Callable[[TransitionEvent], object]


def deliver(subscribers: Sequence[Subscriber], events: Sequence[TransitionEvent]) -> None:
    """Give every event to every subscriber, in order, after the change is applied.

    A subscriber that raises does not stop the others: its exception is logged,
    and once all were called a :class:`SubscriberError` carries the first event
    and every exception.
    """
    errors: list[BaseException] = []
    for event in events:
        for subscriber in tuple(subscribers):
            try:
                subscriber(event)
            except Exception as exc:
                _log.exception("subscriber %r raised on %s", subscriber, event.describe())
                errors.append(exc)
    if errors:
        raise SubscriberError(events[0], errors)
