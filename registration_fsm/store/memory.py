"""MemoryStore: the store port in memory, for tests and short-lived tools."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.errors import StoreError
from registration_fsm.store import codec
from registration_fsm.store.base import (
    UNCHECKED,
    ClosesOnExit,
    ExpectedRevision,
    Intent,
    StoredEvent,
    StoredIntent,
    StoredRegistration,
    SyncCheckpoint,
    check_after,
    check_expected,
    check_intent_ids,
    check_revision,
    check_scope,
)
from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord


@attrs.frozen
class _Row:
    revision: int
    info: str
    versions: tuple[str, ...]
    summary: str | None
    #: The store-wide number of the save that wrote this row (see ResumableStore).
    saved: int


class MemoryStore(ClosesOnExit):
    """The :class:`~registration_fsm.store.ResumableStore` port in memory; thread-safe.

    Keeps the same encoded JSON as :class:`SQLiteStore`, so what one refuses or
    returns the other does too, and nothing read or written is shared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}
        # (seq, registration id, JSON, previous hash, hash): the audit chain
        self._events: list[tuple[int, str, str, str, str]] = []
        self._head = AuditHead(0, GENESIS)
        self._saves = 0
        # scope -> (the last save number when it began, when it began)
        self._checkpoints: dict[str, tuple[int, datetime]] = {}
        self._intents: dict[int, str] = {}
        self._intent_ids = 0
        self._closed = False

    def get(self, registration_id: str) -> StoredRegistration | None:
        """The stored registration, or None if it was never saved."""
        check_registration_id(registration_id)
        with self._lock:
            self._check_open()
            row = self._rows.get(registration_id)
        if row is None:
            return None
        return _stored(registration_id, row)

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
    ) -> int:
        """Write the registration, its summary and new events atomically (see ``Store``)."""
        expected = check_expected(expected_revision)
        enc = codec.encode_save(registration, events, summary)
        with self._lock:
            self._check_open()
            old = self._rows.get(enc.registration_id)
            check_revision(enc.registration_id, expected, None if old is None else old.revision)
            revision = 1 if old is None else old.revision + 1
            self._saves += 1
            self._rows[enc.registration_id] = _Row(
                revision,
                enc.info,
                tuple(text for _n, text in enc.versions),
                enc.summary,
                self._saves,
            )
            if enc.events:
                records = codec.chain(enc.registration_id, enc.events, *attrs.astuple(self._head))
                self._events.extend(records)
                self._head = AuditHead(records[-1][0], records[-1][4])
        return revision

    def begin_sync(self, scope: str) -> SyncCheckpoint:
        """The checkpoint ``scope``'s last run left, or a new one begun now (see
        :class:`~registration_fsm.store.ResumableStore`)."""
        check_scope(scope)
        with self._lock:
            self._check_open()
            found = self._checkpoints.get(scope)
            if found is None:
                self._checkpoints[scope] = (self._saves, datetime.now(UTC))
                return SyncCheckpoint(scope, self._checkpoints[scope][1], False, frozenset())
            after, started = found
            done = frozenset(
                i for i, r in self._rows.items() if r.saved > after and r.summary is not None
            )
            return SyncCheckpoint(scope, started, True, done)

    def end_sync(self, scope: str) -> None:
        """Forget ``scope``'s checkpoint; nothing if there is none."""
        check_scope(scope)
        with self._lock:
            self._check_open()
            self._checkpoints.pop(scope, None)

    def record_intent(self, intent: Intent) -> int:
        """Keep ``intent``; its id (see :class:`~registration_fsm.store.IntentStore`)."""
        text = codec.encode_intent(intent)
        with self._lock:
            self._check_open()
            self._intent_ids += 1
            self._intents[self._intent_ids] = text
            return self._intent_ids

    def intents(self, registration_id: str | None = None) -> list[StoredIntent]:
        """The pending intents, oldest first, all or one registration's."""
        with self._lock:
            self._check_open()
            rows = sorted(self._intents.items())
        found = [codec.decode_intent(i, text, f"intent {i}") for i, text in rows]
        return [s for s in found if registration_id in (None, s.intent.registration_id)]

    def resolve_intent(self, intent_id: int) -> None:
        """Remove a pending intent; nothing if there is none."""
        (checked,) = check_intent_ids([intent_id])
        with self._lock:
            self._check_open()
            self._intents.pop(checked, None)

    def audit_records(self) -> Iterator[AuditRecord]:
        """The audit trail, in sequence order (see :mod:`registration_fsm.audit`)."""
        with self._lock:
            self._check_open()
            rows = list(self._events)
        return (codec.audit_record(*row) for row in rows)

    def audit_head(self) -> AuditHead:
        """The chain's last sequence number and hash (0 and GENESIS when empty)."""
        with self._lock:
            self._check_open()
            return self._head

    def audit_trail(self) -> tuple[list[AuditRecord], AuditHead]:
        """The audit records and the head as of one moment (one hold of the lock)."""
        with self._lock:
            self._check_open()
            rows, head = list(self._events), self._head
        return [codec.audit_record(*row) for row in rows], head

    def ids(self) -> list[str]:
        """Every stored registration id, sorted."""
        with self._lock:
            self._check_open()
            return sorted(self._rows)

    def registrations(self) -> Iterator[Registration]:
        """Every stored registration, by id, as stored when called."""
        with self._lock:
            self._check_open()
            rows = sorted(self._rows.items())
        return (
            codec.decode_registration(r.info, r.versions, f"registration {i!r}") for i, r in rows
        )

    def events(self, registration_id: str | None = None) -> Iterator[TransitionEvent]:
        """Stored events in append order, all or one registration's."""
        return (e.event for e in self.events_with_seq(registration_id))

    def events_with_seq(
        self, registration_id: str | None = None, *, after: int = 0
    ) -> Iterator[StoredEvent]:
        """Events stored when called, with ``seq > after``, in append order."""
        if registration_id is not None:
            check_registration_id(registration_id)
        check_after(after)
        with self._lock:
            self._check_open()
            # seq is the list position + 1, so the tail after ``after`` is a slice.
            rows = self._events[after:]
        return (
            StoredEvent(seq, codec.decode_event(text, f"event {seq}"))
            for seq, reg_id, text, _prev, _hash in rows
            if registration_id is None or reg_id == registration_id
        )

    def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreError`."""
        with self._lock:
            self._closed = True
            self._rows.clear()
            self._events.clear()
            self._checkpoints.clear()
            self._intents.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")


def _stored(registration_id: str, row: _Row) -> StoredRegistration:
    where = f"registration {registration_id!r}"
    return StoredRegistration(
        codec.decode_registration(row.info, row.versions, where),
        codec.decode_summary(row.summary, where),
        row.revision,
    )
