"""Local storage of registrations, their event log and sync summaries.

:class:`Store` is the port; :class:`MemoryStore` and :class:`SQLiteStore`
implement it.
"""

from registration_fsm.store.base import (
    UNCHECKED,
    ExpectedRevision,
    Store,
    StoredEvent,
    StoredRegistration,
    Unchecked,
)
from registration_fsm.store.memory import MemoryStore
from registration_fsm.store.sqlite import SQLiteStore

__all__ = [
    "UNCHECKED",
    "ExpectedRevision",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "StoredRegistration",
    "Unchecked",
]
