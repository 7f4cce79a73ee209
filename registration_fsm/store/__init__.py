"""Local storage of registrations, their event log, sync summaries and sync checkpoints.

:class:`Store` is the port, :class:`ResumableStore` the port with checkpoints;
:class:`MemoryStore` and :class:`SQLiteStore` implement both.
"""

from registration_fsm.store.base import (
    UNCHECKED,
    ExpectedRevision,
    ResumableStore,
    Store,
    StoredEvent,
    StoredRegistration,
    SyncCheckpoint,
    Unchecked,
)
from registration_fsm.store.memory import MemoryStore
from registration_fsm.store.sqlite import SQLiteStore

__all__ = [
    "UNCHECKED",
    "ExpectedRevision",
    "MemoryStore",
    "ResumableStore",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "StoredRegistration",
    "SyncCheckpoint",
    "Unchecked",
]
