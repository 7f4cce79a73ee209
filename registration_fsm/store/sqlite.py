"""SQLiteStore: the store port in one SQLite file, shared by threads and processes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from registration_fsm.domain.shard import Shard
from registration_fsm.errors import StoreError
from registration_fsm.store.sql import SqlStore, Tx

#: ``PRAGMA user_version`` of the schema this library writes.
SCHEMA_VERSION = 5
#: The oldest SQLite the queries run on (``RETURNING``: 3.35; upserts: 3.24).
MIN_SQLITE = (3, 35, 0)
#: ``PRAGMA application_id``: "RFSM", marks a file as a registration store.
APPLICATION_ID = int.from_bytes(b"RFSM", "big")

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
    # 5: registrations keyed by account, region and id (two accounts may hold the
    # same id); each row's shard comes from its ARN (rfsm_shard, registered on the
    # connection). SQLite cannot change a primary key in place: the tables are copied.
    # Leases on shards for a fleet of workers (LeaseStore).
    4: """
CREATE TABLE registrations_5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    info TEXT NOT NULL,
    summary TEXT,
    saved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, region, id)
);
INSERT INTO registrations_5
    SELECT rfsm_shard(info, 4), rfsm_shard(info, 3), id, revision, info, summary, saved
    FROM registrations;
CREATE TABLE versions_5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (account, region, registration_id, number),
    FOREIGN KEY (account, region, registration_id) REFERENCES registrations_5 (account, region, id)
) WITHOUT ROWID;
INSERT INTO versions_5
    SELECT r.account, r.region, v.registration_id, v.number, v.info
    FROM versions v JOIN registrations_5 r ON r.id = v.registration_id;
CREATE TABLE events_5 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id TEXT NOT NULL,
    event TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT ''
);
INSERT INTO events_5 (seq, registration_id, event, prev_hash, hash, account, region)
    SELECT e.seq, e.registration_id, e.event, e.prev_hash, e.hash,
        coalesce(r.account, ''), coalesce(r.region, '')
    FROM events e LEFT JOIN registrations_5 r ON r.id = e.registration_id;
DROP INDEX events_by_registration;
DROP INDEX registrations_by_save;
DROP TABLE events;
DROP TABLE versions;
DROP TABLE registrations;
ALTER TABLE registrations_5 RENAME TO registrations;
ALTER TABLE versions_5 RENAME TO versions;
ALTER TABLE events_5 RENAME TO events;
CREATE INDEX registrations_by_save ON registrations (saved);
CREATE INDEX registrations_by_id ON registrations (id);
CREATE INDEX events_by_registration ON events (registration_id, seq);
ALTER TABLE intents ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE intents ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE intents SET
    account = coalesce((SELECT account FROM registrations WHERE id = registration_id), ''),
    region = coalesce((SELECT region FROM registrations WHERE id = registration_id), '');
CREATE TABLE leases (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    owner TEXT,
    expires REAL NOT NULL,
    token INTEGER NOT NULL,
    synced REAL NOT NULL,
    PRIMARY KEY (account, region)
) WITHOUT ROWID;
""",
}


class _Db:
    """The connection a store and its views share."""

    def __init__(self, path: str, conn: sqlite3.Connection | None) -> None:
        self.path = path
        self.conn = conn
        self.lock = threading.RLock()


class _SQLiteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def all(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(query, params).fetchall()

    def run(self, query: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(query, params)

    def many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(query, rows)


class SQLiteStore(SqlStore):
    """The :class:`~registration_fsm.store.ResumableStore` port in an SQLite file.

    WAL journal, so readers never wait for the writer; ``synchronous=FULL``, which
    SQLite documents as making a returned save survive a power cut (saves are few,
    and a lost one would lose audit events after the API already changed); this
    project tests process crashes (SIGKILL), not power loss (docs/reliability.md). Each save is one
    ``BEGIN IMMEDIATE`` transaction; the revision check runs inside it, so it
    holds across processes. One connection serves all threads behind a lock;
    other processes wait up to ``timeout`` seconds for the write lock.

    Keyed by account, region and id, with views of some shards and leases for a
    fleet of workers on one host (:class:`~registration_fsm.store.ShardedStore`,
    :class:`~registration_fsm.store.LeaseStore`). A file of an earlier schema
    (version 2, registration-fsm 0.2; 3, 0.3; 4, 0.4) is upgraded in place on open,
    in one transaction; one of a newer schema is refused.

    ``read_only=True`` opens the file with SQLite's ``mode=ro``: nothing is
    created, upgraded or written (a missing file, or one that is not a store, is
    refused; writes raise :class:`StoreError`). A file of an older schema is then
    refused too, with the way to upgrade it.
    """

    _NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self._db = _Db(os.fspath(path), None)
        path = self._db.path
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"{path}: this Python's SQLite is {sqlite3.sqlite_version}; the store needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer (INSERT ... RETURNING)"
            )
        target = _read_only_uri(path) if read_only else path
        try:
            conn = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False,
                uri=read_only,
            )  # fmt: skip
        except sqlite3.Error as err:
            raise self._error("cannot open", err) from err
        try:
            if read_only:
                conn = _readable(conn, path, timeout)
            else:
                _prepare(conn, path)
        except sqlite3.Error as err:
            conn.close()
            raise self._error("cannot open", err) from err
        except BaseException:
            conn.close()
            raise
        self._db.conn = conn

    @property
    def _name(self) -> str:
        return self._db.path

    @property
    def path(self) -> str:
        """The database file."""
        return self._db.path

    def close(self) -> None:
        """Close the connection (the store's and its views'); later calls raise
        :class:`StoreError`. Idempotent."""
        with self._db.lock:
            conn, self._db.conn = self._db.conn, None
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error as err:
                    raise self._error("cannot close", err) from err

    def __repr__(self) -> str:
        state = "closed" if self._db.conn is None else "open"
        return f"SQLiteStore({self._db.path!r}, {state})"

    @contextmanager
    def _transaction(self, write: bool, what: str) -> Iterator[Tx]:
        with self._db.lock:
            conn = self._db.conn
            if conn is None:
                raise StoreError(f"{self._db.path}: cannot {what}: the store is closed")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                try:
                    yield _SQLiteTx(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise self._error(f"cannot {what}", err) from err

    def _error(self, what: str, err: sqlite3.Error) -> StoreError:
        return StoreError(f"{self._db.path}: {what}: {err}")


def _shard_part(info: object, index: int) -> str:
    """The account (4) or region (3) of a stored registration's ARN ('' if none)."""
    try:
        arn = json.loads(info)["RegistrationArn"] if isinstance(info, str) else None
    except (ValueError, TypeError, KeyError, RecursionError):
        return ""
    shard = Shard.of_arn(arn) if isinstance(arn, str) else Shard("", "")
    return shard.account if index == 4 else shard.region


def _prepare(conn: sqlite3.Connection, path: str) -> None:
    """Set the pragmas; create the schema in a new file, upgrade an older one, in one
    transaction (a failed upgrade leaves the file as it was)."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if _version(conn, path) == SCHEMA_VERSION:
        return
    conn.create_function("rfsm_shard", 2, _shard_part, deterministic=True)
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
    version = _version(conn, path)
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is older than this library's "
            f"({SCHEMA_VERSION}) and a read-only open cannot upgrade it; open it writable "
            "once (any command that writes, or SQLiteStore(path)) to upgrade it in place"
        )


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
