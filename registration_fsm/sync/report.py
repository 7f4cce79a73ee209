"""What a sync did."""

from __future__ import annotations

from typing import Any

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.sync.reconcile import SyncAnomaly


@attrs.define
class SyncReport:
    """The outcome of one :meth:`Synchronizer.sync`.

    ``events``: the changes saved (origin ``remote``); ``anomalies``: what the
    lifecycle does not explain; ``changed`` / ``unchanged``: registration ids;
    ``deleted``: tracked ids the API no longer lists; ``not_found``: ids asked for
    that the API does not know and the store never had; ``failed``: ids whose pull
    failed, with the error (their local state is untouched; the next sync retries);
    ``api_calls``: requests made, by operation.
    """

    events: list[TransitionEvent] = attrs.field(factory=list)
    anomalies: list[SyncAnomaly] = attrs.field(factory=list)
    changed: list[str] = attrs.field(factory=list)
    unchanged: list[str] = attrs.field(factory=list)
    deleted: list[str] = attrs.field(factory=list)
    not_found: list[str] = attrs.field(factory=list)
    failed: dict[str, str] = attrs.field(factory=dict)
    api_calls: dict[str, int] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every registration asked for was pulled (none failed or unknown)."""
        return not self.failed and not self.not_found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "events": [e.to_dict() for e in self.events],
            "anomalies": [str(a) for a in self.anomalies],
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
            "deleted": list(self.deleted),
            "not_found": list(self.not_found),
            "failed": dict(self.failed),
            "api_calls": dict(self.api_calls),
        }
