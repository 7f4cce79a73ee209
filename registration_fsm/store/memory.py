"""MemoryStore: the store port in memory, for tests and short-lived tools."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import UNKNOWN, Shard
from registration_fsm.errors import AmbiguousRegistrationId, StoreError
from registration_fsm.store import codec
from registration_fsm.store.base import (
    UNCHECKED,
    ClosesOnExit,
    ExpectedRevision,
    Intent,
    ShardViews,
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


#: A stored registration's key: its shard and its id.
_Key = tuple[Shard, str]


class _State:
    """What a store and its views share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[_Key, _Row] = {}
        self.shards_of: dict[str, set[Shard]] = {}  # id -> the shards it is stored for
        # (seq, registration id, JSON, previous hash, hash, shard): the audit chain
        self.events: list[tuple[int, str, str, str, str, Shard]] = []
        self.head = AuditHead(0, GENESIS)
        self.saves = 0
        # stored scope -> (the last save number when it began, when it began)
        self.checkpoints: dict[str, tuple[int, datetime]] = {}
        self.intents: dict[int, tuple[Shard, str]] = {}
        self.intent_ids = 0
        self.closed = False


class MemoryStore(ShardViews, ClosesOnExit):
    """The :class:`~registration_fsm.store.ResumableStore` port in memory; thread-safe.

    Keeps the same encoded JSON as :class:`SQLiteStore`, so what one refuses or
    returns the other does too, and nothing read or written is shared. Keyed by
    account, region and id, with views (see :class:`~registration_fsm.store.ShardedStore`).
    """

    def __init__(self) -> None:
        self._state = _State()

    def shards(self) -> list[Shard]:
        """The shards with stored registrations in this view, sorted."""
        with self._open() as state:
            return sorted({k[0] for k in state.rows if self._selection.matches(k[0])})

    def get(self, registration_id: str) -> StoredRegistration | None:
        """The stored registration, or None if it was never saved."""
        check_registration_id(registration_id)
        with self._open() as state:
            found = self._find(state, registration_id)
            row = None if found is None else state.rows[found]
        if row is None:
            return None
        return _stored(registration_id, row)

    def _find(self, state: _State, registration_id: str) -> _Key | None:
        keys = [
            (shard, registration_id)
            for shard in state.shards_of.get(registration_id, ())
            if self._selection.matches(shard)
        ]
        if len(keys) > 1:
            raise AmbiguousRegistrationId(registration_id, [str(k[0]) for k in sorted(keys)])
        return keys[0] if keys else None

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        """Write the registration, its summary and new events atomically, and remove the
        intents ``resolves`` names in the same step (see ``Store``)."""
        expected = check_expected(expected_revision)
        resolved = check_intent_ids(resolves)
        enc = codec.encode_save(registration, events, summary)
        self._selection.check_save(registration)
        key = (enc.shard, enc.registration_id)
        with self._open() as state:
            old = state.rows.get(key)
            check_revision(enc.registration_id, expected, None if old is None else old.revision)
            revision = 1 if old is None else old.revision + 1
            state.saves += 1
            state.shards_of.setdefault(enc.registration_id, set()).add(enc.shard)
            state.rows[key] = _Row(
                revision,
                enc.info,
                tuple(text for _n, text in enc.versions),
                enc.summary,
                state.saves,
            )
            if enc.events:
                records = codec.chain(enc.registration_id, enc.events, *attrs.astuple(state.head))
                state.events.extend((*r, enc.shard) for r in records)
                state.head = AuditHead(records[-1][0], records[-1][4])
            for intent_id in resolved:
                state.intents.pop(intent_id, None)
        return revision

    def begin_sync(self, scope: str) -> SyncCheckpoint:
        """The checkpoint ``scope``'s last run left, or a new one begun now (see
        :class:`~registration_fsm.store.ResumableStore`)."""
        check_scope(scope)
        stored = self._selection.scope(scope)
        with self._open() as state:
            found = state.checkpoints.get(stored)
            if found is None:
                state.checkpoints[stored] = (state.saves, datetime.now(UTC))
                return SyncCheckpoint(scope, state.checkpoints[stored][1], False, frozenset())
            after, started = found
            done = frozenset(
                k[1]
                for k, r in state.rows.items()
                if r.saved > after and r.summary is not None and self._selection.matches(k[0])
            )
            return SyncCheckpoint(scope, started, True, done)

    def end_sync(self, scope: str) -> None:
        """Forget ``scope``'s checkpoint; nothing if there is none."""
        check_scope(scope)
        with self._open() as state:
            state.checkpoints.pop(self._selection.scope(scope), None)

    def record_intent(self, intent: Intent) -> int:
        """Keep ``intent``; its id (see :class:`~registration_fsm.store.IntentStore`)."""
        text = codec.encode_intent(intent)
        with self._open() as state:
            shard = self._selection.shard
            if shard is None:
                found = self._find(state, intent.registration_id)
                shard = UNKNOWN if found is None else found[0]
            state.intent_ids += 1
            state.intents[state.intent_ids] = (shard, text)
            return state.intent_ids

    def intents(self, registration_id: str | None = None) -> list[StoredIntent]:
        """The pending intents, oldest first, all or one registration's."""
        with self._open() as state:
            rows = sorted(
                (i, text)
                for i, (shard, text) in state.intents.items()
                if shard == UNKNOWN or self._selection.matches(shard)
            )
        found = [codec.decode_intent(i, text, f"intent {i}") for i, text in rows]
        return [s for s in found if registration_id in (None, s.intent.registration_id)]

    def resolve_intent(self, intent_id: int) -> None:
        """Remove a pending intent; nothing if there is none."""
        (checked,) = check_intent_ids([intent_id])
        with self._open() as state:
            state.intents.pop(checked, None)

    def audit_records(self) -> Iterator[AuditRecord]:
        """The audit trail, in sequence order (see :mod:`registration_fsm.audit`)."""
        with self._open() as state:
            rows = list(state.events)
        return (codec.audit_record(*row[:5], row[5].account, row[5].region) for row in rows)

    def audit_head(self) -> AuditHead:
        """The chain's last sequence number and hash (0 and GENESIS when empty)."""
        with self._open() as state:
            return state.head

    def audit_trail(self) -> tuple[list[AuditRecord], AuditHead]:
        """The audit records and the head as of one moment (one hold of the lock)."""
        with self._open() as state:
            rows, head = list(state.events), state.head
        return [codec.audit_record(*r[:5], r[5].account, r[5].region) for r in rows], head

    def ids(self) -> list[str]:
        """Every stored registration id in this view, sorted (an id stored for two
        shards once)."""
        with self._open() as state:
            return sorted({k[1] for k in state.rows if self._selection.matches(k[0])})

    def registrations(self) -> Iterator[Registration]:
        """Every stored registration in this view, by id (then shard), as stored when called."""
        with self._open() as state:
            rows = sorted(
                ((k[1], k[0]), r) for k, r in state.rows.items() if self._selection.matches(k[0])
            )
        return (
            codec.decode_registration(r.info, r.versions, f"registration {k[0]!r}") for k, r in rows
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
        with self._open() as state:
            # seq is the list position + 1, so the tail after ``after`` is a slice.
            rows = state.events[after:]
        return (
            StoredEvent(seq, codec.decode_event(text, f"event {seq}"))
            for seq, reg_id, text, _prev, _hash, shard in rows
            if registration_id in (None, reg_id) and self._selection.matches(shard)
        )

    def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreError`."""
        state = self._state
        with state.lock:
            state.closed = True
            state.rows.clear()
            state.shards_of.clear()
            state.events.clear()
            state.checkpoints.clear()
            state.intents.clear()

    @contextmanager
    def _open(self) -> Iterator[_State]:
        state = self._state
        with state.lock:
            if state.closed:
                raise StoreError("the store is closed")
            yield state


def _stored(registration_id: str, row: _Row) -> StoredRegistration:
    where = f"registration {registration_id!r}"
    return StoredRegistration(
        codec.decode_registration(row.info, row.versions, where),
        codec.decode_summary(row.summary, where),
        row.revision,
    )
