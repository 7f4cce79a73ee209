"""The store port: where registrations, their events and sync summaries are kept."""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Protocol, Self, runtime_checkable

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, StaleWrite, shown
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


@attrs.frozen
class SyncCheckpoint:
    """Where a sync of one scope stands (see :class:`ResumableStore`).

    ``scope`` names the sync (``"full"``, say); ``started`` is when its first run
    began (UTC); ``resumed`` is True when an earlier run of the scope left it (it
    was interrupted, or ended with failures); ``done`` holds the registrations
    pulled — saved with an API summary — since the scope began, by any writer.
    """

    scope: str
    started: datetime
    resumed: bool
    done: frozenset[str]


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

        ``summary`` replaces the stored one (None clears it: a registration changed
        locally is then pulled again, unless the API's summary is exactly what the
        registration itself says). A save with a summary is a pull: it counts for
        the sync checkpoints of a :class:`ResumableStore`. With
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


@runtime_checkable
class ResumableStore(Store, Protocol):
    """A :class:`Store` that keeps sync checkpoints, so an interrupted sync resumes.

    Every save is numbered, in commit order, in the save's own transaction; a
    checkpoint is a scope and the last save number when the scope began. The
    registrations saved *with a summary* after that number are the ones the scope's
    runs (or another puller) have pulled since: :attr:`SyncCheckpoint.done`. So a
    registration counts as done exactly when its save committed, and a save that
    was killed half-way counts for nothing.

    Both stores of this package are resumable. A store written against the plain
    :class:`Store` still syncs; its syncs just start afresh each time.
    """

    def begin_sync(self, scope: str) -> SyncCheckpoint:
        """The checkpoint ``scope``'s last run left (``resumed``), or a new one begun now."""
        ...

    def end_sync(self, scope: str) -> None:
        """Forget ``scope``'s checkpoint (its sync completed); nothing if there is none."""
        ...


@attrs.frozen
class Intent:
    """What a command is about to ask the API, recorded before it asks (who, why, what).

    ``version_number`` is the version the trigger concerns (for ``create``: the new
    one; None: the registration itself, ``delete``). ``recorded_at`` is UTC.
    """

    registration_id: str
    trigger: str
    operation: str
    version_number: int | None
    actor: str | None
    reason: str | None
    metadata: Mapping[str, str]
    recorded_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The intent as stored (JSON-ready)."""
        return {
            "registration_id": self.registration_id, "trigger": self.trigger,
            "operation": self.operation, "version_number": self.version_number,
            "actor": self.actor, "reason": self.reason, "metadata": dict(self.metadata),
            "recorded_at": self.recorded_at.isoformat(),
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Intent:
        """Read :meth:`to_json`'s dict (KeyError, TypeError, ValueError when malformed)."""
        number = data["version_number"]
        return cls(
            str(data["registration_id"]), str(data["trigger"]), str(data["operation"]),
            None if number is None else int(number),
            data["actor"], data["reason"], dict(data["metadata"]),
            datetime.fromisoformat(data["recorded_at"]),
        )  # fmt: skip


@attrs.frozen
class StoredIntent:
    """An intent and its id (unique in the store, never reused)."""

    id: int
    intent: Intent


@runtime_checkable
class IntentStore(Store, Protocol):
    """A :class:`Store` that keeps commands' intents, so no who and why is lost.

    A command records its intent in a transaction of its own **before** it calls the
    API (a store that cannot be written refuses the command first) and resolves it
    with its final save: in the save's transaction when the store's ``save`` takes
    ``resolves=`` (this package's three do), else just after it. If that save fails
    after the API changed, the intent stays: the next sync that sees the change
    attributes it to the intent's actor and reason, and resolves it. An intent claims
    one change only — its trigger on its version, which happens at most once — so one
    left behind (a store whose save resolves nothing, a crash between the two) can
    never claim another change.
    """

    def record_intent(self, intent: Intent) -> int:
        """Keep ``intent`` (its own transaction, durable when this returns); its id."""
        ...

    def intents(self, registration_id: str | None = None) -> list[StoredIntent]:
        """The pending intents, oldest first, all or one registration's."""
        ...

    def resolve_intent(self, intent_id: int) -> None:
        """Remove a pending intent; nothing if there is none."""
        ...


@attrs.frozen
class Selection:
    """Which accounts and regions a store view reads and writes (None: any).

    A view of one whole shard (both set) is what a sync of one account and region
    uses: its ids, its deletions, its checkpoints and its intents are that shard's.
    """

    account: str | None = None
    region: str | None = None

    @classmethod
    def of(cls, account: str | None = None, region: str | None = None) -> Selection:
        """A checked selection (each part a shard's text, or None)."""
        for name, value in (("account", account), ("region", region)):
            if value is not None and (not isinstance(value, str) or not value.isprintable()):
                raise InvalidArgumentType(f"{name} must be text or None, got {shown(value)}")
        return cls(account, region)

    @property
    def shard(self) -> Shard | None:
        """The one shard selected, if both parts are given."""
        if self.account is None or self.region is None:
            return None
        return Shard(self.account, self.region)

    @property
    def everything(self) -> bool:
        """Whether nothing is filtered out."""
        return self.account is None and self.region is None

    def matches(self, shard: Shard) -> bool:
        """Whether ``shard`` is selected."""
        return self.account in (None, shard.account) and self.region in (None, shard.region)

    def check_save(self, registration: Registration) -> Shard:
        """The shard ``registration`` is saved under; InvalidArgument if not selected."""
        shard = shard_of(registration)
        if not self.matches(shard):
            raise InvalidArgument(
                f"registration {registration.id} belongs to {shard or 'no account/region'}, "
                f"outside this store view ({self})"
            )
        return shard

    def scope(self, scope: str) -> str:
        """The stored name of a sync ``scope`` run in this view."""
        return scope if self.everything else f"{scope}@{self}"

    def __str__(self) -> str:
        return f"{self.account or '*'}/{self.region or '*'}"


#: The selection of a whole store.
EVERYTHING: Final = Selection()

# What each view selects. Kept outside the objects: a view shares its store's
# __dict__ (so a subclass's state stays one), and differs only in this.
_SELECTIONS: weakref.WeakKeyDictionary[object, Selection] = weakref.WeakKeyDictionary()


class ShardViews:
    """What makes a store a :class:`ShardedStore`'s views (mixed into the stores).

    A view is an object of the store's own class sharing the store's attributes,
    live: a subclass's overrides and state apply to its views too. Only what it
    selects differs.
    """

    @property
    def _selection(self) -> Selection:
        return _SELECTIONS.get(self, EVERYTHING)

    @property
    def selection(self) -> Selection:
        """What this view selects (:data:`EVERYTHING` for the store itself)."""
        return self._selection

    def where(self, *, account: str | None = None, region: str | None = None) -> Self:
        """A view of the selected accounts and regions (None: any)."""
        selection = Selection.of(account, region)
        view = object.__new__(type(self))
        object.__setattr__(view, "__dict__", self.__dict__)
        _SELECTIONS[view] = selection
        return view

    def for_shard(self, shard: Shard) -> Self:
        """A view of one account in one region (what a sync of that shard uses)."""
        if not isinstance(shard, Shard):
            raise InvalidArgumentType(f"expected a Shard, got {shown(shard)}")
        return self.where(account=shard.account, region=shard.region)


def shard_of(registration: Registration) -> Shard:
    """The shard a registration is stored under: its ARN's account and region."""
    return Shard.of_arn(registration.arn)


@runtime_checkable
class ShardedStore(Store, Protocol):
    """A :class:`Store` keyed by account, region and id, with views of some shards.

    Two accounts (or regions) may hold registrations with the same id; the store
    keeps both. A read by id alone that finds more than one raises
    :class:`~registration_fsm.errors.AmbiguousRegistrationId`; a view of one shard
    (:meth:`for_shard`) never does. A view shares its store's state, connection
    and class (see :class:`ShardViews`): closing one closes the store. The audit
    chain is the whole store's.
    """

    @property
    def selection(self) -> Selection:
        """What this view selects (:data:`EVERYTHING` for the store itself)."""
        ...

    def where(self, *, account: str | None = None, region: str | None = None) -> Self:
        """A view of the selected accounts and regions (None: any)."""
        ...

    def for_shard(self, shard: Shard) -> Self:
        """A view of one account in one region (what a sync of that shard uses)."""
        ...

    def shards(self) -> list[Shard]:
        """The shards with stored registrations in this view, sorted."""
        ...


@attrs.frozen
class Lease:
    """A worker's hold on one shard until ``expires`` (the database's clock, UTC).

    ``token`` grows each time the shard passes to a new holder; renewals and releases
    must name it, so an old holder cannot touch a new one's lease. Saves are not
    fenced by it: a stalled holder's late save is kept right by the revision check.
    """

    shard: Shard
    owner: str
    expires: datetime
    token: int
    #: When a holder last finished a pass of the shard (None: never).
    synced: datetime | None = None


@runtime_checkable
class LeaseStore(Protocol):
    """Leases on shards, so each (account, region) is synced by one worker at a time.

    Expiry is measured by the store's clock, so workers' clocks do not matter. A
    lease not renewed in time can be taken by another worker; its old holder learns
    it at its next renewal (:class:`~registration_fsm.errors.LeaseLost`).
    """

    def acquire_lease(
        self, owner: str, shards: Iterable[Shard], seconds: float, *, idle: float = 0.0
    ) -> Lease | None:
        """A lease for ``seconds`` on one of ``shards`` that no one holds (or whose lease
        expired) and whose last pass ended ``idle`` seconds ago or more, the one waiting
        longest first; None if there is none. Never waits for another worker."""
        ...

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        """``lease`` extended to ``seconds`` from now; LeaseLost if it is no longer held."""
        ...

    def release_lease(
        self, lease: Lease, *, synced: bool = False, retry_after: float = 0.0
    ) -> None:
        """Give ``lease`` up (nothing if it was already lost); ``synced``: a pass of the
        shard was finished (its ``idle`` time starts now); ``retry_after``: no one may
        take the shard for that many seconds."""
        ...

    def due(self, shards: Iterable[Shard], idle: float) -> list[Shard]:
        """Which of ``shards`` have not finished a pass in the last ``idle`` seconds
        (held or not), sorted."""
        ...

    def leases(self) -> list[Lease]:
        """Every lease held now (not expired, not released), by shard."""
        ...


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


def check_intent_ids(ids: Iterable[int]) -> tuple[int, ...]:
    """``ids`` as intent ids (ints >= 1)."""
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise InvalidArgumentType(f"resolves must be intent ids, got {ids!r}")
    out = tuple(ids)
    for found in out:
        if type(found) is not int or found < 1:
            raise InvalidArgument(f"an intent id is an int >= 1, got {found!r}")
    return out


def check_scope(scope: str) -> str:
    """``scope`` if it can name a sync's checkpoint (1..200 printable characters)."""
    if not isinstance(scope, str):
        raise InvalidArgumentType(f"a sync scope must be a string, got {type(scope).__name__}")
    if not 1 <= len(scope) <= 200 or not scope.isprintable():
        raise InvalidArgument(f"a sync scope must be 1..200 printable characters, got {scope!r}")
    return scope


def check_after(after: int) -> int:
    """``after`` as a sequence number to read past."""
    if type(after) is not int:
        raise InvalidArgumentType(f"after must be a sequence number (>= 0), got {after!r}")
    if after < 0:
        raise InvalidArgument(f"after must be a sequence number (>= 0), got {after}")
    return after
