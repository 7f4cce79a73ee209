"""Transition events: what happened to a version, when, why and on whose behalf."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.errors import SubscriberError

_log = logging.getLogger(__name__)


class EventCause(StrEnum):
    """Where a transition came from."""

    #: Fired in this process (a command or a direct ``fire``).
    LOCAL = "local"
    #: Observed on the API and applied by a sync.
    REMOTE = "remote"


_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


class TransitionEvent(NamedTuple):
    """One applied transition of one version (immutable).

    ``source`` is None for the ``create`` event that brings a version into
    existence. ``anomaly`` is set when a sync applied a change that no legal
    path explains (it says what was odd). A NamedTuple: cheap to make, and
    ``event._replace(actor=...)`` derives a changed copy.
    """

    registration_id: str
    version_number: int
    trigger: str
    source: VersionStatus | None
    dest: VersionStatus
    timestamp: datetime
    cause: EventCause = EventCause.LOCAL
    actor: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = _NO_DETAILS
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
            "cause": self.cause.value,
            "actor": self.actor,
            "reason": self.reason,
            "details": dict(self.details),
            "anomaly": self.anomaly,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransitionEvent:
        """Rebuild an event from :meth:`to_dict` output."""
        source = data["source"]
        return cls(
            registration_id=data["registration_id"],
            version_number=int(data["version_number"]),
            trigger=data["trigger"],
            source=None if source is None else VersionStatus(source),
            dest=VersionStatus(data["dest"]),
            timestamp=datetime.fromisoformat(data["timestamp"]),
            cause=EventCause(data["cause"]),
            actor=data.get("actor"),
            reason=data.get("reason"),
            details=dict(data.get("details") or {}),
            anomaly=data.get("anomaly"),
        )

    def describe(self) -> str:
        """One human line: ``v2 SUBMITTED -> DISCARDED by alice: typo in address``."""
        src = "(new)" if self.source is None else str(self.source)
        who = f" by {self.actor}" if self.actor else ""
        why = f": {self.reason}" if self.reason else ""
        odd = f" [anomaly: {self.anomaly}]" if self.anomaly else ""
        return f"v{self.version_number} {src} -> {self.dest} ({self.trigger}){who}{why}{odd}"


def deliver(
    subscribers: Sequence[Callable[[TransitionEvent], object]], events: Sequence[TransitionEvent]
) -> None:
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
