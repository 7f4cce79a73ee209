"""SQLiteStore: the store port in one SQLite file, shared by threads and processes."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

#: ``PRAGMA user_version`` of the schema this library writes.
SCHEMA_VERSION = 4
#: ``PRAGMA application_id``: "RFSM", marks a file as a registration store.
APPLICATION_ID = int.from_bytes(b"RFSM", "big")
_PAGE = 500

#: Version 2 (0.2): what a new file starts from, before the upgrades below.
_SCHEMA_V2 = """
CREATE TABLE registrations (
    id TEXT PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    info TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE versions (
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    number INTEGER NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (registration_id, number)
) WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    event TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_registration ON events (registration_id, seq);
"""

#: Each version's upgrade to the next. A new file is version 2 upgraded, so an
#: upgraded file and a new one have the same schema.
_UPGRADES: dict[int, str] = {
    # 3: sync checkpoints. ``saved`` numbers every save in commit order (0: saved
    # before version 3); a checkpoint is a scope and the last number when it began.
    2: """
ALTER TABLE registrations ADD COLUMN saved INTEGER NOT NULL DEFAULT 0;
CREATE INDEX registrations_by_save ON registrations (saved);
CREATE TABLE sync_checkpoints (
    scope TEXT PRIMARY KEY NOT NULL,
    after_save INTEGER NOT NULL,
    started TEXT NOT NULL
) WITHOUT ROWID;
""",
    # 4: commands' intents, recorded before the API call (see IntentStore).
    3: """
CREATE TABLE intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id TEXT NOT NULL,
    intent TEXT NOT NULL
);
""",
}


class SQLiteStore(ClosesOnExit):
    """The :class:`~registration_fsm.store.ResumableStore` port in an SQLite file.

    WAL journal, so readers never wait for the writer; ``synchronous=FULL``, which
    SQLite documents as making a returned save survive a power cut (saves are few,
    and a lost one would lose audit events after the API already changed); this
    project tests process crashes (SIGKILL), not power loss (docs/reliability.md). Each save is one
    ``BEGIN IMMEDIATE`` transaction; the revision check runs inside it, so it
    holds across processes. One connection serves all threads behind a lock;
    other processes wait up to ``timeout`` seconds for the write lock.

    A file of an earlier schema (version 2, registration-fsm 0.2; 3, 0.3) is upgraded
    in place on open, in one transaction; one of a newer schema is refused.

    ``read_only=True`` opens the file with SQLite's ``mode=ro``: nothing is
    created, upgraded or written (a missing file, or one that is not a store, is
    refused; writes raise :class:`StoreError`).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self._path = os.fspath(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        target = _read_only_uri(self._path) if read_only else self._path
        try:
            conn = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False,
                uri=read_only,
            )  # fmt: skip
        except sqlite3.Error as err:
            raise self._error("cannot open", err) from err
        try:
            if read_only:
                conn = _readable(conn, self._path, timeout)
            else:
                _prepare(conn, self._path)
        except sqlite3.Error as err:
            conn.close()
            raise self._error("cannot open", err) from err
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def get(self, registration_id: str) -> StoredRegistration | None:
        """The stored registration, or None if it was never saved."""
        check_registration_id(registration_id)
        with self._transaction("DEFERRED", f"read registration {registration_id!r}") as conn:
            row = conn.execute(
                "SELECT revision, info, summary FROM registrations WHERE id = ?",
                (registration_id,),
            ).fetchone()
            if row is None:
                return None
            versions = conn.execute(
                "SELECT info FROM versions WHERE registration_id = ? ORDER BY number",
                (registration_id,),
            ).fetchall()
        where = f"registration {registration_id!r}"
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
    ) -> int:
        """Write the registration, its summary and new events atomically (see ``Store``)."""
        expected = check_expected(expected_revision)
        enc = codec.encode_save(registration, events, summary)
        reg_id = enc.registration_id
        where = f"registration {reg_id!r}"
        with self._transaction("IMMEDIATE", f"save {where}") as conn:
            row = conn.execute("SELECT revision FROM registrations WHERE id = ?", (reg_id,))
            found = row.fetchone()
            old = None if found is None else _revision(found[0], where)
            check_revision(reg_id, expected, old)
            revision = 1 if old is None else old + 1
            (saved,) = conn.execute(
                "SELECT coalesce(max(saved), 0) + 1 FROM registrations"
            ).fetchone()
            if old is None:
                conn.execute(
                    "INSERT INTO registrations (id, revision, info, summary, saved) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (reg_id, revision, enc.info, enc.summary, saved),
                )
            else:
                conn.execute(
                    "UPDATE registrations SET revision = ?, info = ?, summary = ?, saved = ? "
                    "WHERE id = ?",
                    (revision, enc.info, enc.summary, saved, reg_id),
                )
            conn.execute("DELETE FROM versions WHERE registration_id = ?", (reg_id,))
            conn.executemany(
                "INSERT INTO versions (registration_id, number, info) VALUES (?, ?, ?)",
                [(reg_id, n, text) for n, text in enc.versions],
            )
            if enc.events:
                head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
                records = codec.chain(reg_id, enc.events, *(head or (0, GENESIS)))
                conn.executemany(
                    "INSERT INTO events (seq, registration_id, event, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?)",
                    records,
                )
                conn.execute(
                    "INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, ?, ?)",
                    (records[-1][0], records[-1][4]),
                )
        return revision

    def record_intent(self, intent: Intent) -> int:
        """Keep ``intent`` in a transaction of its own; its id (see ``IntentStore``)."""
        text = codec.encode_intent(intent)
        with self._transaction("IMMEDIATE", "record an intent") as conn:
            cursor = conn.execute(
                "INSERT INTO intents (registration_id, intent) VALUES (?, ?)",
                (intent.registration_id, text),
            )
            found = cursor.lastrowid
        assert found is not None  # an INSERT into a rowid table
        return found

    def intents(self, registration_id: str | None = None) -> list[StoredIntent]:
        """The pending intents, oldest first, all or one registration's."""
        with self._transaction("DEFERRED", "read intents") as conn:
            rows = conn.execute(
                "SELECT id, intent FROM intents WHERE ?1 IS NULL OR registration_id = ?1 "
                "ORDER BY id",
                (registration_id,),
            ).fetchall()
        return [codec.decode_intent(i, text, f"intent {i}") for i, text in rows]

    def resolve_intent(self, intent_id: int) -> None:
        """Remove a pending intent; nothing if there is none."""
        (checked,) = check_intent_ids([intent_id])
        with self._transaction("IMMEDIATE", f"resolve intent {checked}") as conn:
            conn.execute("DELETE FROM intents WHERE id = ?", (checked,))

    def begin_sync(self, scope: str) -> SyncCheckpoint:
        """The checkpoint ``scope``'s last run left, or a new one begun now (see
        :class:`~registration_fsm.store.ResumableStore`)."""
        check_scope(scope)
        with self._transaction("IMMEDIATE", f"begin sync {scope!r}") as conn:
            row = conn.execute(
                "SELECT after_save, started FROM sync_checkpoints WHERE scope = ?", (scope,)
            ).fetchone()
            if row is None:
                (after,) = conn.execute(
                    "SELECT coalesce(max(saved), 0) FROM registrations"
                ).fetchone()
                started = datetime.now(UTC)
                conn.execute(
                    "INSERT INTO sync_checkpoints (scope, after_save, started) VALUES (?, ?, ?)",
                    (scope, after, started.isoformat()),
                )
                return SyncCheckpoint(scope, started, False, frozenset())
            after, text = row
            done = conn.execute(
                "SELECT id FROM registrations WHERE saved > ? AND summary IS NOT NULL", (after,)
            ).fetchall()
        return SyncCheckpoint(scope, _started(text, scope), True, frozenset(i for (i,) in done))

    def end_sync(self, scope: str) -> None:
        """Forget ``scope``'s checkpoint; nothing if there is none."""
        check_scope(scope)
        with self._transaction("IMMEDIATE", f"end sync {scope!r}") as conn:
            conn.execute("DELETE FROM sync_checkpoints WHERE scope = ?", (scope,))

    def audit_records(self) -> Iterator[AuditRecord]:
        """The audit trail as stored, in sequence order, undecoded (for verification)."""
        with self._transaction("DEFERRED", "read the audit trail") as conn:
            rows = conn.execute(
                "SELECT seq, registration_id, event, prev_hash, hash FROM events ORDER BY seq"
            ).fetchall()
        return (codec.audit_record(*row) for row in rows)

    def audit_head(self) -> AuditHead:
        """The chain's last sequence number and hash (0 and GENESIS when empty)."""
        with self._transaction("DEFERRED", "read the audit head") as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        return AuditHead(0, GENESIS) if row is None else AuditHead(row[0], row[1])

    def audit_trail(self) -> tuple[list[AuditRecord], AuditHead]:
        """The audit records and the head, read in one transaction (one WAL snapshot).

        ``audit_records()`` then ``audit_head()`` are two transactions: a save
        committed between them (another process, another connection) leaves a
        head past the records read, which :func:`~registration_fsm.audit.verify`
        reports as a truncated chain. Export and verify use this instead.
        """
        with self._transaction("DEFERRED", "read the audit trail") as conn:
            rows = conn.execute(
                "SELECT seq, registration_id, event, prev_hash, hash FROM events ORDER BY seq"
            ).fetchall()
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        records = [codec.audit_record(*row) for row in rows]
        return records, AuditHead(0, GENESIS) if head is None else AuditHead(head[0], head[1])

    def ids(self) -> list[str]:
        """Every stored registration id, sorted."""
        with self._transaction("DEFERRED", "list registrations") as conn:
            rows = conn.execute("SELECT id FROM registrations ORDER BY id").fetchall()
        return [reg_id for (reg_id,) in rows]

    def registrations(self) -> Iterator[Registration]:
        """Every stored registration, by id, as stored when called."""
        with self._transaction("DEFERRED", "read registrations") as conn:
            infos = conn.execute("SELECT id, info FROM registrations ORDER BY id").fetchall()
            rows = conn.execute(
                "SELECT registration_id, info FROM versions ORDER BY registration_id, number"
            ).fetchall()
        versions: dict[str, list[str]] = {}
        for reg_id, text in rows:
            versions.setdefault(reg_id, []).append(text)
        return (
            codec.decode_registration(info, versions.get(i, []), f"registration {i!r}")
            for i, info in infos
        )

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
        with self._transaction("DEFERRED", "read events") as conn:
            (last,) = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        return self._event_pages(registration_id, after, last)

    def _event_pages(self, reg_id: str | None, after: int, last: int) -> Iterator[StoredEvent]:
        # seq grows in commit order (writers are serialised), so paging by seq
        # up to the max seen at the call neither skips nor repeats an event.
        query = "SELECT seq, event FROM events WHERE seq > ? AND seq <= ?"
        if reg_id is not None:
            query += " AND registration_id = ?"
        query += " ORDER BY seq LIMIT ?"
        while after < last:
            params = (after, last) + (() if reg_id is None else (reg_id,)) + (_PAGE,)
            with self._transaction("DEFERRED", "read events") as conn:
                rows = conn.execute(query, params).fetchall()
            if not rows:
                return
            for seq, text in rows:
                yield StoredEvent(seq, codec.decode_event(text, f"event {seq}"))
            after = rows[-1][0]

    def close(self) -> None:
        """Close the connection; later calls raise :class:`StoreError`. Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error as err:
                    raise self._error("cannot close", err) from err

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"SQLiteStore({self._path!r}, {state})"

    @contextmanager
    def _transaction(self, mode: str, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError(f"{self._path}: cannot {what}: the store is closed")
            try:
                conn.execute(f"BEGIN {mode}")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise self._error(f"cannot {what}", err) from err

    def _error(self, what: str, err: sqlite3.Error) -> StoreError:
        return StoreError(f"{self._path}: {what}: {err}")


def _prepare(conn: sqlite3.Connection, path: str) -> None:
    """Set the pragmas; create the schema in a new file, upgrade an older one, in one
    transaction (a failed upgrade leaves the file as it was)."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if _version(conn, path) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn, path)  # again: another process may have just done it
        if version == 0:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{path}: not a registration store (it has other tables)")
            _run(conn, _SCHEMA_V2)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            version = 2
        while version < SCHEMA_VERSION:
            _run(conn, _UPGRADES[version])
            version += 1
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _read_only_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


def _readable(conn: sqlite3.Connection, path: str, timeout: float) -> sqlite3.Connection:
    """``conn`` checked as a store; in a directory this process cannot write, where
    ``mode=ro`` cannot create the WAL's ``-shm`` file, a connection with
    ``immutable=1`` instead — safe only when no writer has unmerged changes, so only
    when there is no non-empty ``-wal`` file."""
    try:
        _check_readable(conn, path)
        return conn
    except sqlite3.OperationalError:
        wal = Path(f"{path}-wal")
        writable = os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)
        if writable or (wal.exists() and wal.stat().st_size > 0):
            raise
    conn.close()
    conn = sqlite3.connect(
        _read_only_uri(path) + "&immutable=1", timeout=timeout, isolation_level=None,
        check_same_thread=False, uri=True,
    )  # fmt: skip
    _check_readable(conn, path)
    return conn


def _check_readable(conn: sqlite3.Connection, path: str) -> None:
    """A read-only connection: the file must be a store this library reads as it is."""
    conn.execute("PRAGMA foreign_keys = ON")
    if _version(conn, path) == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        what = "it has other tables" if tables else "an empty database"
        raise StoreError(f"{path}: not a registration store ({what})")


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit first; run the statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _version(conn: sqlite3.Connection, path: str) -> int:
    """The file's schema version (0: a new, empty file); :class:`StoreError` if this
    library cannot use it."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    if version == 0 and app_id == 0:
        return 0
    if app_id != APPLICATION_ID:
        raise StoreError(f"{path}: not a registration store (application_id {app_id})")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this library's "
            f"({SCHEMA_VERSION}); open it with a newer registration-fsm"
        )
    if version not in _UPGRADES and version != SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} cannot be upgraded in place "
            f"(this library upgrades version {min(_UPGRADES)} and later)"
        )
    return int(version)


def _started(text: object, scope: str) -> datetime:
    try:
        if isinstance(text, str):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise StoreError(f"sync checkpoint {scope!r}: stored start {text!r} is not a time")


def _revision(value: object, where: str) -> int:
    if type(value) is not int or value < 1:
        raise StoreError(f"{where}: stored revision {value!r} is not a revision")
    return value
