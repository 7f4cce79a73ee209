"""Local storage of registrations, their event log, sync summaries and sync checkpoints.

:class:`Store` is the port, :class:`ResumableStore` the port with checkpoints,
:class:`IntentStore` the port that keeps commands' intents, :class:`ShardedStore` the
port keyed by account and region, :class:`LeaseStore` the leases of a fleet's
workers. :class:`MemoryStore`, :class:`SQLiteStore` and :class:`PostgresStore`
implement the first four; the two SQL stores also keep leases.
"""

from registration_fsm.store.base import (
    UNCHECKED,
    ExpectedRevision,
    Intent,
    IntentStore,
    Lease,
    LeaseStore,
    ResumableStore,
    Selection,
    ShardedStore,
    Store,
    StoredEvent,
    StoredIntent,
    StoredRegistration,
    SyncCheckpoint,
    Unchecked,
)
from registration_fsm.store.locate import is_postgres, open_store
from registration_fsm.store.memory import MemoryStore
from registration_fsm.store.postgres import PostgresStore
from registration_fsm.store.sqlite import SQLiteStore

__all__ = [
    "UNCHECKED",
    "ExpectedRevision",
    "Intent",
    "IntentStore",
    "Lease",
    "LeaseStore",
    "MemoryStore",
    "PostgresStore",
    "ResumableStore",
    "SQLiteStore",
    "Selection",
    "ShardedStore",
    "Store",
    "StoredEvent",
    "StoredIntent",
    "StoredRegistration",
    "SyncCheckpoint",
    "Unchecked",
    "is_postgres",
    "open_store",
]
