"""What a sync did, and what an interrupted one had done and had left."""

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
    ``resumed``: ids a full sync did not describe because an interrupted run of it
    (or another puller) already had since it began, and their summary has not
    changed since; ``deleted``: tracked ids the API no longer lists; ``not_found``:
    ids asked for that the API does not know and the store never had; ``failed``:
    ids whose pull failed, with the error (their local state is untouched; the next
    sync retries); ``api_calls``: requests made, by operation.
    """

    events: list[TransitionEvent] = attrs.field(factory=list)
    anomalies: list[SyncAnomaly] = attrs.field(factory=list)
    changed: list[str] = attrs.field(factory=list)
    unchanged: list[str] = attrs.field(factory=list)
    resumed: list[str] = attrs.field(factory=list)
    deleted: list[str] = attrs.field(factory=list)
    not_found: list[str] = attrs.field(factory=list)
    failed: dict[str, str] = attrs.field(factory=dict)
    api_calls: dict[str, int] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every registration asked for was pulled (none failed or unknown)."""
        return not self.failed and not self.not_found

    @property
    def registrations_seen(self) -> int:
        """The registrations the sync looked at, whatever became of each."""
        return sum(
            map(len, (self.changed, self.unchanged, self.resumed, self.deleted, self.not_found))
        ) + len(self.failed)

    @property
    def requests(self) -> int:
        """Requests made, every operation and page counted."""
        return sum(self.api_calls.values())

    @property
    def requests_per_registration(self) -> float:
        """:attr:`requests` over :attr:`registrations_seen` (0.0 when there were none):
        what the sync cost against the quotas, per registration."""
        seen = self.registrations_seen
        return self.requests / seen if seen else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "events": [e.to_dict() for e in self.events],
            "anomalies": [str(a) for a in self.anomalies],
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
            "resumed": list(self.resumed),
            "deleted": list(self.deleted),
            "not_found": list(self.not_found),
            "failed": dict(self.failed),
            "api_calls": dict(self.api_calls),
            "requests_per_registration": round(self.requests_per_registration, 4),
        }


@attrs.frozen
class Interruption:
    """What a sync stopped by Ctrl-C (a ``KeyboardInterrupt``) had done, and had left.

    The ``KeyboardInterrupt`` itself goes on (a program that does not catch it stops,
    as Ctrl-C should make it); the synchronizer keeps this as
    :attr:`~registration_fsm.sync.pull.Puller.last_interruption`. What the sync saved
    stays saved: ``report`` says what, as far as it went; ``left`` is how many
    registrations it had still to pull (None: stopped before they were listed). The
    next sync resumes (see :meth:`~registration_fsm.sync.pull.Puller.sync`).
    """

    report: SyncReport
    left: int | None

    @property
    def saved(self) -> int:
        """Registrations the interrupted sync saved (pulled, or found deleted)."""
        return len(self.report.changed) + len(self.report.deleted)

    def summary(self) -> str:
        """One line: what was saved, what is left, what to do."""
        failed = f", {len(self.report.failed)} failed" if self.report.failed else ""
        if self.left is None:
            return (
                f"interrupted before the registrations were listed: {self.saved} saved{failed}; "
                "run sync again to resume"
            )
        return (
            f"interrupted: {self.saved} saved, {self.left} left{failed}; run sync again to resume"
        )
