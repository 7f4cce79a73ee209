"""PostgresStore: the store port in PostgreSQL, shared by many processes on many hosts.

The queries are :mod:`registration_fsm.store.sql`'s; this module connects, serialises
writers, keeps the schema and reconnects. psycopg 3 is imported when a store opens
(``pip install 'registration-fsm[postgres]'``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    MissingDependency,
    StoreError,
    shown,
)
from registration_fsm.store.chain import GENESIS
from registration_fsm.store.sql import SqlStore, Tx

if TYPE_CHECKING:
    import psycopg

#: The schema this library writes (``schema_info.version``), numbered as the SQLite
#: store's: PostgreSQL stores began at 5, the first schema keyed by account and region.
SCHEMA_VERSION = 5
#: ``schema_info.application``: marks a database as a registration store.
APPLICATION = "registration-fsm"
#: Serialises the openers that would create or upgrade the schema (an advisory lock key).
_SCHEMA_LOCK = int.from_bytes(b"RFSMschm", "big") & 0x7FFF_FFFF_FFFF_FFFF

_SCHEMA = f"""
CREATE TABLE schema_info (
    id integer PRIMARY KEY CHECK (id = 1),
    application text NOT NULL,
    version integer NOT NULL
);
CREATE TABLE registrations (
    account text NOT NULL,
    region text NOT NULL,
    id text NOT NULL,
    revision bigint NOT NULL CHECK (revision >= 1),
    info text NOT NULL,
    summary text,
    saved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account, region, id)
);
CREATE INDEX registrations_by_save ON registrations (saved);
CREATE INDEX registrations_by_id ON registrations (id);
CREATE TABLE versions (
    account text NOT NULL,
    region text NOT NULL,
    registration_id text NOT NULL,
    number integer NOT NULL,
    info text NOT NULL,
    PRIMARY KEY (account, region, registration_id, number),
    FOREIGN KEY (account, region, registration_id) REFERENCES registrations (account, region, id)
);
CREATE TABLE events (
    seq bigint PRIMARY KEY,
    registration_id text NOT NULL,
    event text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    account text NOT NULL DEFAULT '',
    region text NOT NULL DEFAULT ''
);
CREATE INDEX events_by_registration ON events (registration_id, seq);
CREATE TABLE audit_head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}');
CREATE TABLE sync_checkpoints (
    scope text PRIMARY KEY,
    after_save bigint NOT NULL,
    started text NOT NULL
);
CREATE TABLE intents (
    id bigserial PRIMARY KEY,
    registration_id text NOT NULL,
    intent text NOT NULL,
    account text NOT NULL DEFAULT '',
    region text NOT NULL DEFAULT ''
);
CREATE TABLE leases (
    account text NOT NULL,
    region text NOT NULL,
    owner text,
    expires double precision NOT NULL,
    token bigint NOT NULL,
    synced double precision NOT NULL,
    PRIMARY KEY (account, region)
);
INSERT INTO schema_info (id, application, version) VALUES (1, '{APPLICATION}', {SCHEMA_VERSION});
"""

#: Each version's upgrade to the next, run in the opening transaction (none yet:
#: version 5 is the first PostgreSQL schema).
_UPGRADES: dict[int, str] = {}


class _Db:
    """The connection a store and its views share, reopened after it breaks."""

    def __init__(self, url: str, name: str, connect_timeout: float, read_only: bool) -> None:
        self.url = url
        self.name = name
        self.connect_timeout = connect_timeout
        self.read_only = read_only
        self.conn: psycopg.Connection[Any] | None = None
        self.idle_timeout = 10.0
        self.closed = False
        self.lock = threading.RLock()


class _PostgresTx(Tx):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def all(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(query.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description is not None else []

    def run(self, query: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(query.replace("?", "%s"), params)

    def many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(query.replace("?", "%s"), rows)


class PostgresStore(SqlStore):
    """The store port in a PostgreSQL database (``postgresql://user@host/db``).

    Many processes on many hosts may share one database. Each save is one
    transaction that first locks the chain's head row (``SELECT ... FOR UPDATE``), so
    the database — not a process lock — serialises writers: revisions are checked
    inside it, and the chain never forks. Reads run in ``REPEATABLE READ READ ONLY``
    transactions (one snapshot each). Leases use ``FOR UPDATE SKIP LOCKED`` and the
    database's clock.

    A lost connection (the server restarted, a network cut) fails the call under way
    with :class:`StoreError`; the next call reconnects. The server ends a session that
    stays idle inside a transaction for ``idle_timeout`` seconds (its process paused,
    its host lost), so no writer waits longer than that for the lock it held; keep it
    under two thirds of a fleet's ``lease_seconds`` (a renewal may wait that long).
    The schema is created in an empty database and its version kept in
    ``schema_info``; a database of a newer schema, or one with other tables, is
    refused. ``read_only=True`` creates nothing and runs every transaction read-only.
    """

    _NOW = "extract(epoch from clock_timestamp())::double precision"
    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 10.0,
        read_only: bool = False,
        idle_timeout: float = 10.0,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            shown_url = redacted(url) if isinstance(url, str) else type(url).__name__
            raise InvalidArgument(f"a PostgreSQL store is a postgresql:// URL, got {shown_url!r}")
        for name, value in (("connect_timeout", connect_timeout), ("idle_timeout", idle_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgumentType(f"{name} must be seconds, got {shown(value)}")
            if not 0 < value <= 3600:
                raise InvalidArgument(f"{name} must be in (0, 3600] seconds, got {value}")
        self._db = _Db(url, redacted(url), connect_timeout, read_only)
        self._db.idle_timeout = idle_timeout
        with self._db.lock:
            conn = self._connect()
            try:
                if not read_only:
                    _prepare(conn, self._db.name, url)
                _check(conn, self._db.name, url)
            except BaseException:
                conn.close()
                raise
            self._db.conn = conn

    @property
    def _name(self) -> str:
        return self._db.name

    @property
    def url(self) -> str:
        """The database's URL, without its password."""
        return self._db.name

    def close(self) -> None:
        """Close the connection (the store's and its views'); later calls raise
        :class:`StoreError`. Idempotent."""
        with self._db.lock:
            self._db.closed = True
            conn, self._db.conn = self._db.conn, None
            if conn is not None:
                conn.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._db.name!r}, {'closed' if self._db.closed else 'open'})"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            import psycopg
        except ImportError as err:
            raise MissingDependency(
                "a PostgreSQL store needs psycopg: pip install 'registration-fsm[postgres]'"
            ) from err
        try:
            conn = psycopg.connect(
                self._db.url,
                autocommit=True,
                connect_timeout=max(1, round(self._db.connect_timeout)),
                # A peer that vanishes (a host lost, a cable cut) is noticed in ~25 s.
                keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
            )  # fmt: skip
            # A session that holds a transaction open and does nothing (its process
            # paused, its host lost) is ended by the server, so the chain head's lock it
            # holds is not held for ever: every writer of the store waits on that lock.
            try:
                conn.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
                    (f"{round(self._db.idle_timeout * 1000)}ms",),
                )
            except BaseException:
                conn.close()
                raise
            return conn
        except psycopg.Error as err:
            raise StoreError(
                f"{self._db.name}: cannot connect: {_line(err, self._db.url)}"
            ) from None

    @contextmanager
    def _transaction(self, write: bool, what: str) -> Iterator[Tx]:
        if write and self._db.read_only:
            raise StoreError(f"{self._db.name}: cannot {what}: the store was opened read-only")
        with self._open(what) as conn:
            conn.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if write:
                # Every writer waits here for the one before it: save numbers and the
                # chain's sequence then grow in commit order.
                conn.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
            yield _PostgresTx(conn)

    @contextmanager
    def _lease_transaction(self, what: str) -> Iterator[Tx]:
        # Leases do not touch the chain: they take row locks only (SKIP LOCKED).
        if self._db.read_only:
            raise StoreError(f"{self._db.name}: cannot {what}: the store was opened read-only")
        with self._open(what) as conn:
            conn.execute("BEGIN")
            yield _PostgresTx(conn)

    @contextmanager
    def _open(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        import psycopg

        with self._db.lock:
            if self._db.closed:
                raise StoreError(f"{self._db.name}: cannot {what}: the store is closed")
            conn = self._db.conn
            if conn is None or conn.closed or conn.broken:
                if conn is not None:
                    conn.close()
                self._db.conn = None
                conn = self._db.conn = self._connect()
            try:
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if not conn.closed and not conn.broken:
                        conn.execute("ROLLBACK")
                    raise
            except psycopg.Error as err:
                raise StoreError(
                    f"{self._db.name}: cannot {what}: {_line(err, self._db.url)}"
                ) from None


def _prepare(conn: psycopg.Connection[Any], name: str, url: str) -> None:
    """Create the schema in an empty database, or upgrade an older one, in one
    transaction; concurrent openers wait for each other (an advisory lock)."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            version = _version(conn, name)
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                ).fetchone()
                if tables is not None and tables[0]:
                    raise StoreError(f"{name}: not a registration store (it has other tables)")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                return
            if version == SCHEMA_VERSION:
                return
            while version < SCHEMA_VERSION:
                for statement in _UPGRADES[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
            conn.execute("UPDATE schema_info SET version = %s WHERE id = 1", (version,))
    except psycopg.Error as err:
        raise StoreError(f"{name}: cannot open: {_line(err, url)}") from None


def _check(conn: psycopg.Connection[Any], name: str, url: str) -> None:
    """The database must hold a store of this library's schema."""
    import psycopg

    try:
        with conn.transaction():
            version = _version(conn, name)
    except psycopg.Error as err:
        raise StoreError(f"{name}: cannot open: {_line(err, url)}") from None
    if version == 0:
        raise StoreError(f"{name}: not a registration store (no schema_info table)")
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"{name}: schema version {version} is older than this library's "
            f"({SCHEMA_VERSION}); open it once writable to upgrade it"
        )


def _version(conn: psycopg.Connection[Any], name: str) -> int:
    """The database's schema version (0: no store yet); StoreError if unusable."""
    found = conn.execute("SELECT to_regclass('schema_info') IS NOT NULL").fetchone()
    if found is None or not found[0]:
        return 0
    row = conn.execute("SELECT application, version FROM schema_info WHERE id = 1").fetchone()
    if row is None or row[0] != APPLICATION:
        raise StoreError(f"{name}: not a registration store (schema_info names {row!r})")
    version = int(row[1])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{name}: schema version {version} is newer than this library's "
            f"({SCHEMA_VERSION}); open it with a newer registration-fsm"
        )
    if version != SCHEMA_VERSION and version not in _UPGRADES:
        raise StoreError(f"{name}: schema version {version} cannot be upgraded in place")
    return version


def redacted(url: str) -> str:
    """``url`` without its password and parameters (one may be ``password=``): how
    this store names its database in errors and ``repr``."""
    scheme, sep, rest = url.partition("://")
    auth, at, place = rest.rpartition("@")
    if not at:
        return f"{scheme}{sep}{rest.partition('?')[0]}"
    return f"{scheme}{sep}{auth.partition(':')[0]}@{place.partition('?')[0]}"


def _passwords(url: str) -> set[str]:
    """The passwords ``url`` holds (its user part, a ``password=`` parameter), as
    written and decoded."""
    found: set[str] = set()
    auth, at, _place = url.partition("://")[2].rpartition("@")
    if at and ":" in auth:
        found.add(auth.partition(":")[2])
    try:
        query = urlsplit(url).query
    except ValueError:  # a URL urllib cannot split ([::1 unclosed): look for the key itself
        query = url.partition("?")[2]
    found |= {value for key, value in parse_qsl(query, keep_blank_values=True) if key == "password"}
    found |= {unquote(secret) for secret in found}
    return {secret for secret in found if secret}


def _scrubbed(text: str, url: str) -> str:
    """``text`` with ``url`` and its passwords taken out (libpq quotes a URL it cannot
    parse, whole)."""
    text = text.replace(url, redacted(url))
    for secret in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _line(err: BaseException, url: str) -> str:
    """The first line of ``err``'s message, without ``url``'s password."""
    text = str(err).strip().splitlines()
    return _scrubbed(text[0], url) if text else type(err).__name__
