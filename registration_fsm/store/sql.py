"""What the two SQL stores share: every query of the store port, in one dialect-neutral SQL.

:class:`SQLiteStore <registration_fsm.store.sqlite.SQLiteStore>` and
:class:`PostgresStore <registration_fsm.store.postgres.PostgresStore>` differ in how
they connect, lock, create and upgrade their schema, and in their clock; the queries
are these, written once with ``?`` placeholders (a dialect rewrites them).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import UNKNOWN, Shard
from registration_fsm.errors import (
    AmbiguousRegistrationId,
    InvalidArgument,
    InvalidArgumentType,
    LeaseLost,
    StoreError,
    shown,
)
from registration_fsm.store import codec
from registration_fsm.store.base import (
    UNCHECKED,
    ClosesOnExit,
    ExpectedRevision,
    Intent,
    Lease,
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

_PAGE = 500
#: The longest lease a worker may take, in seconds (a day).
MAX_LEASE_SECONDS = 86_400.0


class Tx(abc.ABC):
    """One open transaction of a dialect: ``?`` placeholders, rows as tuples."""

    @abc.abstractmethod
    def all(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of ``query``."""

    def one(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of ``query``, or None."""
        rows = self.all(query, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    def run(self, query: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that returns nothing."""

    @abc.abstractmethod
    def many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement once per row of parameters."""


class SqlStore(ShardViews, ClosesOnExit):
    """The store port over SQL; subclasses give the connection, locking and clock.

    A *write* transaction must serialise with every other writer of the store before
    it reads (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a row lock on the chain's
    head), so revisions, save numbers and the chain's sequence grow in commit order.
    A *read* transaction sees one snapshot.
    """

    #: SQL for "now" in seconds since the epoch, in the database's clock.
    _NOW: str
    #: What a dialect adds to the lease query so a locked row is skipped, not waited for.
    _SKIP_LOCKED = ""

    # -- what a dialect provides -------------------------------------------

    @abc.abstractmethod
    def _transaction(self, write: bool, what: str) -> AbstractContextManager[Tx]:
        """A transaction (errors become :class:`StoreError` naming ``what``)."""

    def _lease_transaction(self, what: str) -> AbstractContextManager[Tx]:
        """A write transaction for the leases (a dialect may lock less for them)."""
        return self._transaction(True, what)

    @property
    @abc.abstractmethod
    def _name(self) -> str:
        """How errors name the store (its file, its database)."""

    def _filter(self, prefix: str = "") -> tuple[str, tuple[str, ...]]:
        sel, sql = self._selection, ""
        params: tuple[str, ...] = ()
        if sel.account is not None:
            sql, params = f" AND {prefix}account = ?", (sel.account,)
        if sel.region is not None:
            sql, params = f"{sql} AND {prefix}region = ?", (*params, sel.region)
        return sql, params

    def shards(self) -> list[Shard]:
        """The shards with stored registrations in this view, sorted."""
        where, params = self._filter()
        with self._transaction(False, "list shards") as tx:
            rows = tx.all(
                f"SELECT DISTINCT account, region FROM registrations WHERE 1 = 1{where} "
                "ORDER BY account, region",
                params,
            )
        return [Shard(a, r) for a, r in rows]

    # -- registrations -----------------------------------------------------

    def _key(self, tx: Tx, registration_id: str) -> tuple[str, str] | None:
        where, params = self._filter()
        rows = tx.all(
            f"SELECT account, region FROM registrations WHERE id = ?{where} "
            "ORDER BY account, region",
            (registration_id, *params),
        )
        if len(rows) > 1:
            raise AmbiguousRegistrationId(registration_id, [f"{a}/{r}" for a, r in rows])
        return (rows[0][0], rows[0][1]) if rows else None

    def get(self, registration_id: str) -> StoredRegistration | None:
        """The stored registration, or None if it was never saved."""
        check_registration_id(registration_id)
        where = f"registration {registration_id!r}"
        with self._transaction(False, f"read {where}") as tx:
            key = self._key(tx, registration_id)
            if key is None:
                return None
            row = tx.one(
                "SELECT revision, info, summary FROM registrations "
                "WHERE account = ? AND region = ? AND id = ?",
                (*key, registration_id),
            )
            versions = tx.all(
                "SELECT info FROM versions WHERE account = ? AND region = ? "
                "AND registration_id = ? ORDER BY number",
                (*key, registration_id),
            )
        assert row is not None  # read in the transaction that found the key
        revision, info, summary = row
        return StoredRegistration(
            codec.decode_registration(info, [v for (v,) in versions], where),
            codec.decode_summary(summary, where),
            _revision(revision, where),
        )

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
        intents ``resolves`` names in the same transaction (see ``Store``)."""
        expected = check_expected(expected_revision)
        resolved = check_intent_ids(resolves)
        enc = codec.encode_save(registration, events, summary)
        self._selection.check_save(registration)
        reg_id, key = enc.registration_id, (enc.shard.account, enc.shard.region)
        where = f"registration {reg_id!r}"
        with self._transaction(True, f"save {where}") as tx:
            found = tx.one(
                "SELECT revision FROM registrations WHERE account = ? AND region = ? AND id = ?",
                (*key, reg_id),
            )
            old = None if found is None else _revision(found[0], where)
            check_revision(reg_id, expected, old)
            revision = 1 if old is None else old + 1
            (saved,) = tx.one("SELECT coalesce(max(saved), 0) + 1 FROM registrations") or (1,)
            if old is None:
                tx.run(
                    "INSERT INTO registrations (account, region, id, revision, info, summary, "
                    "saved) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*key, reg_id, revision, enc.info, enc.summary, saved),
                )
            else:
                tx.run(
                    "UPDATE registrations SET revision = ?, info = ?, summary = ?, saved = ? "
                    "WHERE account = ? AND region = ? AND id = ?",
                    (revision, enc.info, enc.summary, saved, *key, reg_id),
                )
            tx.run(
                "DELETE FROM versions WHERE account = ? AND region = ? AND registration_id = ?",
                (*key, reg_id),
            )
            tx.many(
                "INSERT INTO versions (account, region, registration_id, number, info) "
                "VALUES (?, ?, ?, ?, ?)",
                [(*key, reg_id, n, text) for n, text in enc.versions],
            )
            if enc.events:
                head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
                records = codec.chain(reg_id, enc.events, *(head or (0, GENESIS)))
                tx.many(
                    "INSERT INTO events (seq, registration_id, event, prev_hash, hash, account, "
                    "region) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*r, *key) for r in records],
                )
                tx.run(
                    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    (records[-1][0], records[-1][4]),
                )
            tx.many("DELETE FROM intents WHERE id = ?", [(i,) for i in resolved])
        return revision

    def ids(self) -> list[str]:
        """Every stored registration id in this view, sorted (an id stored for two
        shards once)."""
        where, params = self._filter()
        with self._transaction(False, "list registrations") as tx:
            rows = tx.all(
                f"SELECT DISTINCT id FROM registrations WHERE 1 = 1{where} ORDER BY id", params
            )
        return [reg_id for (reg_id,) in rows]

    def registrations(self) -> Iterator[Registration]:
        """Every stored registration in this view, by id (then shard), as stored when called."""
        where, params = self._filter()
        with self._transaction(False, "read registrations") as tx:
            infos = tx.all(
                f"SELECT account, region, id, info FROM registrations WHERE 1 = 1{where} "
                "ORDER BY id, account, region",
                params,
            )
            rows = tx.all(
                f"SELECT account, region, registration_id, info FROM versions WHERE 1 = 1{where} "
                "ORDER BY account, region, registration_id, number",
                params,
            )
        versions: dict[tuple[str, str, str], list[str]] = {}
        for account, region, reg_id, text in rows:
            versions.setdefault((account, region, reg_id), []).append(text)
        return (
            codec.decode_registration(info, versions.get((a, r, i), []), f"registration {i!r}")
            for a, r, i, info in infos
        )

    # -- events and the audit trail ------------------------------------------

    def events(self, registration_id: str | None = None) -> Iterator[TransitionEvent]:
        """Stored events in append order, all or one registration's."""
        return (e.event for e in self.events_with_seq(registration_id))

    def events_with_seq(
        self, registration_id: str | None = None, *, after: int = 0
    ) -> Iterator[StoredEvent]:
        """Events stored when called, with ``seq > after``, in append order (read in pages)."""
        if registration_id is not None:
            check_registration_id(registration_id)
        check_after(after)
        with self._transaction(False, "read events") as tx:
            (last,) = tx.one("SELECT coalesce(max(seq), 0) FROM events") or (0,)
        return self._event_pages(registration_id, after, last)

    def _event_pages(self, reg_id: str | None, after: int, last: int) -> Iterator[StoredEvent]:
        # seq grows in commit order (writers are serialised), so paging by seq
        # up to the max seen at the call neither skips nor repeats an event.
        where, params = self._filter()
        query = f"SELECT seq, event FROM events WHERE seq > ? AND seq <= ?{where}"
        if reg_id is not None:
            query += " AND registration_id = ?"
        query += " ORDER BY seq LIMIT ?"
        while after < last:
            args = (after, last, *params) + (() if reg_id is None else (reg_id,)) + (_PAGE,)
            with self._transaction(False, "read events") as tx:
                rows = tx.all(query, args)
            if not rows:
                return
            for seq, text in rows:
                yield StoredEvent(seq, codec.decode_event(text, f"event {seq}"))
            after = rows[-1][0]

    def audit_records(self) -> Iterator[AuditRecord]:
        """The audit trail as stored (the whole store's), in sequence order, undecoded."""
        return iter(self.audit_trail()[0])

    def audit_head(self) -> AuditHead:
        """The chain's last sequence number and hash (0 and GENESIS when empty)."""
        with self._transaction(False, "read the audit head") as tx:
            row = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
        return AuditHead(0, GENESIS) if row is None else AuditHead(row[0], row[1])

    def audit_trail(self) -> tuple[list[AuditRecord], AuditHead]:
        """The audit records and the head, read in one transaction (one snapshot).

        ``audit_records()`` then ``audit_head()`` would be two transactions: a save
        committed between them (another process, another connection) leaves a
        head past the records read, which :func:`~registration_fsm.audit.verify`
        reports as a truncated chain. Export and verify use this instead.
        """
        with self._transaction(False, "read the audit trail") as tx:
            rows = tx.all(
                "SELECT seq, registration_id, event, prev_hash, hash, account, region "
                "FROM events ORDER BY seq"
            )
            head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
        records = [codec.audit_record(*row) for row in rows]
        return records, AuditHead(0, GENESIS) if head is None else AuditHead(head[0], head[1])

    # -- intents -------------------------------------------------------------

    def record_intent(self, intent: Intent) -> int:
        """Keep ``intent`` in a transaction of its own; its id (see ``IntentStore``)."""
        text = codec.encode_intent(intent)
        with self._transaction(True, "record an intent") as tx:
            shard = self._selection.shard
            if shard is None:
                key = self._key(tx, intent.registration_id)
                shard = UNKNOWN if key is None else Shard(*key)
            row = tx.one(
                "INSERT INTO intents (registration_id, intent, account, region) "
                "VALUES (?, ?, ?, ?) RETURNING id",
                (intent.registration_id, text, shard.account, shard.region),
            )
        assert row is not None  # INSERT ... RETURNING
        return int(row[0])

    def intents(self, registration_id: str | None = None) -> list[StoredIntent]:
        """The pending intents, oldest first, all or one registration's (an intent
        recorded for no known shard is every view's)."""
        where, params = self._filter()
        query = (
            f"SELECT id, intent FROM intents WHERE (account = '' OR (1 = 1{where}))"
            + ("" if registration_id is None else " AND registration_id = ?")
            + " ORDER BY id"
        )
        args = params + (() if registration_id is None else (registration_id,))
        with self._transaction(False, "read intents") as tx:
            rows = tx.all(query, args)
        return [codec.decode_intent(i, text, f"intent {i}") for i, text in rows]

    def resolve_intent(self, intent_id: int) -> None:
        """Remove a pending intent; nothing if there is none."""
        (checked,) = check_intent_ids([intent_id])
        with self._transaction(True, f"resolve intent {checked}") as tx:
            tx.run("DELETE FROM intents WHERE id = ?", (checked,))

    # -- sync checkpoints ------------------------------------------------------

    def begin_sync(self, scope: str) -> SyncCheckpoint:
        """The checkpoint ``scope``'s last run left, or a new one begun now (see
        :class:`~registration_fsm.store.ResumableStore`); a view's scopes are its own."""
        check_scope(scope)
        stored = self._selection.scope(scope)
        where, params = self._filter()
        with self._transaction(True, f"begin sync {scope!r}") as tx:
            row = tx.one(
                "SELECT after_save, started FROM sync_checkpoints WHERE scope = ?", (stored,)
            )
            if row is None:
                (after,) = tx.one("SELECT coalesce(max(saved), 0) FROM registrations") or (0,)
                started = datetime.now(UTC)
                tx.run(
                    "INSERT INTO sync_checkpoints (scope, after_save, started) VALUES (?, ?, ?)",
                    (stored, after, started.isoformat()),
                )
                return SyncCheckpoint(scope, started, False, frozenset())
            after, text = row
            done = tx.all(
                f"SELECT id FROM registrations WHERE saved > ? AND summary IS NOT NULL{where}",
                (after, *params),
            )
        return SyncCheckpoint(scope, _started(text, scope), True, frozenset(i for (i,) in done))

    def end_sync(self, scope: str) -> None:
        """Forget ``scope``'s checkpoint; nothing if there is none."""
        check_scope(scope)
        with self._transaction(True, f"end sync {scope!r}") as tx:
            tx.run("DELETE FROM sync_checkpoints WHERE scope = ?", (self._selection.scope(scope),))

    # -- leases ------------------------------------------------------------------

    def acquire_lease(
        self, owner: str, shards: Iterable[Shard], seconds: float, *, idle: float = 0.0
    ) -> Lease | None:
        """A lease on one of ``shards`` no one holds (or whose lease expired) and whose
        last pass ended ``idle`` seconds ago or more, the longest-waiting first; None if
        there is none (see :class:`~registration_fsm.store.LeaseStore`)."""
        owner, wanted = _check_owner(owner), _check_shards(shards)
        seconds, idle = _seconds(seconds), _idle(idle)
        if not wanted:
            return None
        with self._lease_transaction("acquire a lease") as tx:
            tx.many(
                "INSERT INTO leases (account, region, owner, expires, token, synced) "
                "VALUES (?, ?, NULL, 0, 0, 0) ON CONFLICT (account, region) DO NOTHING",
                [(s.account, s.region) for s in wanted],
            )
            pairs = " OR ".join("(account = ? AND region = ?)" for _ in wanted)
            row = tx.one(
                f"SELECT account, region FROM leases WHERE ({pairs}) "
                f"AND expires <= {self._NOW} AND synced + ? <= {self._NOW} "
                f"ORDER BY synced, account, region LIMIT 1{self._SKIP_LOCKED}",
                [*(part for s in wanted for part in (s.account, s.region)), idle],
            )
            if row is None:
                return None
            found = tx.one(
                f"UPDATE leases SET owner = ?, expires = {self._NOW} + ?, token = token + 1 "
                "WHERE account = ? AND region = ? RETURNING account, region, owner, expires, "
                "token, synced",
                (owner, seconds, row[0], row[1]),
            )
        assert found is not None  # the row was just read under the write lock
        return _lease(*found)

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        """``lease`` extended to ``seconds`` from now; LeaseLost if it is no longer held."""
        seconds = _seconds(seconds)
        lease = _check_lease(lease)
        with self._lease_transaction(f"renew the lease on {lease.shard}") as tx:
            found = tx.one(
                f"UPDATE leases SET expires = {self._NOW} + ? WHERE account = ? AND region = ? "
                f"AND owner = ? AND token = ? AND expires > {self._NOW} "
                "RETURNING account, region, owner, expires, token, synced",
                (seconds, lease.shard.account, lease.shard.region, lease.owner, lease.token),
            )
        if found is None:
            raise LeaseLost(
                f"{self._name}: the lease of {lease.owner!r} on {lease.shard} expired or was "
                "taken over"
            )
        return _lease(*found)

    def release_lease(
        self, lease: Lease, *, synced: bool = False, retry_after: float = 0.0
    ) -> None:
        """Give ``lease`` up (nothing if it was already lost); ``synced``: the holder
        finished a pass of the shard, which is then not due again for a while;
        ``retry_after``: no one may take the shard for that many seconds (a pass that
        failed backs off)."""
        lease, retry_after = _check_lease(lease), _idle(retry_after, "retry_after")
        mark = f", synced = {self._NOW}" if synced else ""
        with self._lease_transaction(f"release the lease on {lease.shard}") as tx:
            tx.run(
                f"UPDATE leases SET owner = NULL, expires = {self._NOW} + ?{mark} "
                "WHERE account = ? AND region = ? AND owner = ? AND token = ?",
                (retry_after, lease.shard.account, lease.shard.region, lease.owner, lease.token),
            )

    def due(self, shards: Iterable[Shard], idle: float) -> list[Shard]:
        """Which of ``shards`` have not finished a pass in the last ``idle`` seconds
        (held or not), sorted."""
        wanted, idle = _check_shards(shards), _idle(idle)
        with self._transaction(False, "read leases") as tx:
            rows = tx.all(
                f"SELECT account, region FROM leases WHERE synced + ? > {self._NOW}", (idle,)
            )
        recent = {Shard(a, r) for a, r in rows}
        return sorted(s for s in wanted if s not in recent)

    def leases(self) -> list[Lease]:
        """Every lease held now (not expired, not released), by shard."""
        with self._transaction(False, "read leases") as tx:
            rows = tx.all(
                "SELECT account, region, owner, expires, token, synced FROM leases "
                f"WHERE owner IS NOT NULL AND expires > {self._NOW} ORDER BY account, region"
            )
        return [_lease(*row) for row in rows]


def _lease(
    account: str, region: str, owner: str, expires: float, token: int, synced: float
) -> Lease:
    return Lease(
        Shard(account, region), owner, _time(expires), int(token), _time(synced) if synced else None
    )


def _idle(seconds: float, name: str = "idle") -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidArgumentType(f"{name} must be a number of seconds, got {shown(seconds)}")
    if not 0 <= seconds <= MAX_LEASE_SECONDS * 365:
        raise InvalidArgument(f"{name} must be 0 or more seconds (at most a year), got {seconds}")
    return float(seconds)


def _revision(value: object, where: str) -> int:
    if type(value) is not int or value < 1:
        raise StoreError(f"{where}: stored revision {value!r} is not a revision")
    return value


def _started(text: object, scope: str) -> datetime:
    try:
        if isinstance(text, str):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise StoreError(f"sync checkpoint {scope!r}: stored start {text!r} is not a time")


def _time(epoch: object) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)  # type: ignore[arg-type]


def _seconds(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidArgumentType(f"lease seconds must be a number, got {shown(seconds)}")
    if not 0 < seconds <= MAX_LEASE_SECONDS:
        raise InvalidArgument(f"lease seconds must be in (0, {MAX_LEASE_SECONDS:g}], got {seconds}")
    return float(seconds)


def _check_owner(owner: str) -> str:
    if not isinstance(owner, str) or not 1 <= len(owner) <= 200 or not owner.isprintable():
        raise InvalidArgument(f"a lease owner is 1..200 printable characters, got {shown(owner)}")
    return owner


def _check_shards(shards: Iterable[Shard]) -> list[Shard]:
    if isinstance(shards, Shard | str) or not isinstance(shards, Iterable):
        raise InvalidArgumentType(f"shards must be a list of Shard, got {shown(shards)}")
    given = list(dict.fromkeys(shards))
    for shard in given:
        if not isinstance(shard, Shard):
            raise InvalidArgumentType(f"expected a Shard, got {shown(shard)}")
        Shard.of(shard.account, shard.region)  # a real account and region, or InvalidArgument
    # sorted: workers inserting the same lease rows lock them in one order (no deadlock)
    return sorted(given)


def _check_lease(lease: Lease) -> Lease:
    if not isinstance(lease, Lease):
        raise InvalidArgumentType(f"expected a Lease, got {shown(lease)}")
    return lease
