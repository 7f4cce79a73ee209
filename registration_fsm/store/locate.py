"""Which store a ``--store`` value names: a PostgreSQL URL or an SQLite file."""

from __future__ import annotations

import os

from registration_fsm.errors import InvalidArgumentType, shown
from registration_fsm.store.postgres import PostgresStore
from registration_fsm.store.sqlite import SQLiteStore

#: The URL schemes that name a PostgreSQL store (libpq's).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` is a PostgreSQL URL (anything else is an SQLite file path)."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def open_store(
    target: str | os.PathLike[str], *, read_only: bool = False, timeout: float = 30.0
) -> SQLiteStore | PostgresStore:
    """The store ``target`` names: ``postgresql://...`` opens a :class:`PostgresStore`,
    a path an :class:`SQLiteStore` (``timeout``: SQLite's wait for the write lock,
    PostgreSQL's for a connection). ``read_only`` creates and changes nothing."""
    if not isinstance(target, str | os.PathLike):
        raise InvalidArgumentType(f"a store is a path or a postgresql:// URL, got {shown(target)}")
    if is_postgres(target):
        assert isinstance(target, str)
        return PostgresStore(target, connect_timeout=timeout, read_only=read_only)
    return SQLiteStore(target, timeout=timeout, read_only=read_only)
