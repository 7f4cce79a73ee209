"""The unit of work: one registration, its lock, its stored revision, and the retry on a lost race.

::

    with uow.lock(registration_id):                  # this process's writers, one at a time
        for tx in uow.attempts(registration_id):     # each attempt reads the stored state afresh
            with tx:                                 # a save that lost to another writer
                ...                                  # (StaleWrite) leads to the next attempt
                tx.save(registration, events)        # checked against the revision read

The lock serialises this process's threads; the revision check (in the store's
own transaction) covers other processes. When another writer saved first, the
attempt's ``StaleWrite`` is swallowed and the loop runs again with the state
read afresh, up to ``retries`` times; the last one propagates.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.registration import Registration
from registration_fsm.errors import InvalidArgument, StaleWrite
from registration_fsm.store.base import Store, StoredRegistration


class Transaction:
    """One attempt on one registration: what was stored when it began, and a checked save."""

    def __init__(self, store: Store, registration_id: str, attempt: int, last: bool) -> None:
        self.registration_id = registration_id
        #: 0 for the first attempt, then 1, 2...: a retry follows another writer's save.
        self.attempt = attempt
        self._store = store
        self._last = last
        #: The registration as stored when the attempt began (None: not stored yet).
        self.stored: StoredRegistration | None = store.get(registration_id)
        #: True when this attempt's save lost to another writer (then the next one runs).
        self.lost = False
        #: The intents the last save was asked to resolve but its store could not.
        self.unresolved: tuple[int, ...] = ()

    @property
    def registration(self) -> Registration | None:
        """The stored registration (a fresh copy, the caller's to change), or None."""
        return None if self.stored is None else self.stored.registration

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        resolves: Sequence[int] = (),
    ) -> int:
        """Save, expecting the revision read when the attempt began; returns the new one.

        The intents ``resolves`` names are removed in the save's transaction when the
        store's ``save`` takes ``resolves=``; those it cannot take are left in
        :attr:`unresolved`, the caller's to resolve after.
        """
        options: dict[str, Any] = {}
        if resolves and _saves_resolve(self._store):
            options["resolves"] = tuple(resolves)
        revision = self._store.save(
            registration,
            events,
            summary=summary,
            expected_revision=None if self.stored is None else self.stored.revision,
            **options,
        )
        self.unresolved = () if options else tuple(resolves)
        return revision

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        # Another writer saved first: let the next attempt read its state (not the last).
        self.lost = exc_type is not None and issubclass(exc_type, StaleWrite) and not self._last
        return self.lost


class UnitOfWork:
    """Per-registration transactions on a store (see the module docstring)."""

    def __init__(self, store: Store, *, retries: int = 3) -> None:
        if type(retries) is not int or not 0 <= retries <= 100:
            raise InvalidArgument(f"retries_on_stale must be 0..100, got {retries!r}")
        self.store = store
        self.retries = retries
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def lock(self, registration_id: str) -> Iterator[None]:
        """Hold this process's lock on one registration (re-entrant)."""
        with self._guard:
            found = self._locks.setdefault(registration_id, threading.RLock())
        with found:
            yield

    def attempts(self, registration_id: str) -> Iterator[Transaction]:
        """A transaction per attempt: the next one only after a save lost to another writer."""
        for attempt in range(self.retries + 1):
            tx = Transaction(self.store, registration_id, attempt, attempt == self.retries)
            yield tx
            if not tx.lost:
                return


def _saves_resolve(store: Store) -> bool:
    """Whether ``store.save`` takes ``resolves=`` (a subclass's override may not)."""
    try:
        return "resolves" in inspect.signature(store.save).parameters
    except (TypeError, ValueError):
        return False
