"""The store port: where registrations, their events and sync summaries are kept."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self, runtime_checkable

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.registration import Registration
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, StaleWrite
from registration_fsm.store.chain import AuditHead, AuditRecord


class Unchecked(enum.Enum):
    """The type of :data:`UNCHECKED`."""

    UNCHECKED = "UNCHECKED"


#: ``save(..., expected_revision=UNCHECKED)`` (the default) writes whatever is stored.
UNCHECKED: Final = Unchecked.UNCHECKED

#: What ``save`` may expect: a revision, None (must not be stored yet) or UNCHECKED.
ExpectedRevision = int | None | Unchecked


@attrs.frozen(unsafe_hash=False)  # unhashable: it holds a mutable Registration
class StoredRegistration:
    """A registration as stored: its state, the last API summary seen, its revision.

    ``summary`` is the RegistrationInformation dict DescribeRegistrations last
    returned (None if the last save gave none). ``revision`` is 1 after the
    first save and grows by one with each save.
    """

    registration: Registration
    summary: dict[str, Any] | None
    revision: int


@attrs.frozen
class StoredEvent:
    """An event and its sequence number.

    ``seq`` is unique, never reused and grows in commit order across the whole
    store (not per registration), so ``seq`` order is append order.
    """

    seq: int
    event: TransitionEvent


@runtime_checkable
class Store(Protocol):
    """Keeps registrations, an append-only event log and sync summaries.

    Every read returns fresh objects: changing them does not change the store.
    Errors: :class:`StoreError` (unreadable, locked, closed), its subclass
    :class:`StaleWrite`; :class:`InvalidArgument` / :class:`InvalidArgumentType` for
    unusable arguments (a malformed registration id: :class:`InvalidRegistrationId`).

    Both stores also offer ``audit_trail() -> (records, head)``, the two read
    as of one moment; the audit export and verification use it when a store has
    it (it is not part of this protocol, so existing stores still conform).
    """

    def get(self, registration_id: str) -> StoredRegistration | None:
        """The stored registration, or None if it was never saved."""
        ...

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
    ) -> int:
        """Write the registration (all versions), its summary and new events atomically.

        ``summary`` replaces the stored one (None clears it, so a registration
        changed locally is pulled again rather than skipped). With
        ``expected_revision`` an int, the stored revision must equal it; with
        None, the registration must not be stored yet. Otherwise raises
        :class:`StaleWrite` and writes nothing. Returns the new revision.
        """
        ...

    def ids(self) -> list[str]:
        """Every stored registration id, sorted."""
        ...

    def registrations(self) -> Iterator[Registration]:
        """Every stored registration, by id."""
        ...

    def events(self, registration_id: str | None = None) -> Iterator[TransitionEvent]:
        """Stored events in append order, all or one registration's."""
        ...

    def events_with_seq(
        self, registration_id: str | None = None, *, after: int = 0
    ) -> Iterator[StoredEvent]:
        """Stored events with their ``seq``, in append order, those with ``seq > after``."""
        ...

    def audit_records(self) -> Iterator[AuditRecord]:
        """The audit trail: every stored event hash-chained, undecoded, in ``seq`` order."""
        ...

    def audit_head(self) -> AuditHead:
        """The chain's end, written in the same transaction as the events."""
        ...

    def close(self) -> None:
        """Release the store; later calls raise :class:`StoreError`. Idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """``with store:`` closes the store on the way out."""

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover  (every store defines it)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_expected(value: ExpectedRevision) -> ExpectedRevision:
    """``value`` if it is an expected revision; :class:`InvalidArgument` if not."""
    if value is None or value is UNCHECKED:
        return value
    if type(value) is not int:
        raise InvalidArgumentType(
            f"expected_revision must be a revision (>= 1), None or UNCHECKED, got {value!r}"
        )
    if value < 1:
        raise InvalidArgument(f"expected_revision must be >= 1, got {value}")
    return value


def check_revision(registration_id: str, expected: ExpectedRevision, found: int | None) -> None:
    """Raise :class:`StaleWrite` unless ``found`` is what ``expected`` asks for."""
    if expected is not UNCHECKED and expected != found:
        raise StaleWrite(registration_id, expected, found)


def check_after(after: int) -> int:
    """``after`` as a sequence number to read past."""
    if type(after) is not int:
        raise InvalidArgumentType(f"after must be a sequence number (>= 0), got {after!r}")
    if after < 0:
        raise InvalidArgument(f"after must be a sequence number (>= 0), got {after}")
    return after
