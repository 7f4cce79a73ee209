"""Local storage of registrations, their event log, sync summaries and sync checkpoints.

:class:`Store` is the port, :class:`ResumableStore` the port with checkpoints,
:class:`IntentStore` the port that keeps commands' intents; :class:`MemoryStore` and
:class:`SQLiteStore` implement all three.
"""

from registration_fsm.store.base import (
    UNCHECKED,
    ExpectedRevision,
    Intent,
    IntentStore,
    ResumableStore,
    Store,
    StoredEvent,
    StoredIntent,
    StoredRegistration,
    SyncCheckpoint,
    Unchecked,
)
from registration_fsm.store.memory import MemoryStore
from registration_fsm.store.sqlite import SQLiteStore

__all__ = [
    "UNCHECKED",
    "ExpectedRevision",
    "Intent",
    "IntentStore",
    "MemoryStore",
    "ResumableStore",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "StoredIntent",
    "StoredRegistration",
    "SyncCheckpoint",
    "Unchecked",
]
