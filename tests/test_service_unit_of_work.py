"""The unit of work: one registration's lock, its revision check, and the retry after a lost race.

A save loses when another writer (another process, another connection) saved the
registration since the attempt read it: the store raises ``StaleWrite`` and writes
nothing. The unit of work then runs the next attempt with the state read afresh,
and lets the last attempt's ``StaleWrite`` through. Here "another writer" saves
into the same store at a chosen moment, so every race is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    InvalidArgument,
    Origin,
    Registration,
    RegistrationStatus,
    StaleWrite,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.store import MemoryStore
from registration_fsm.store.base import UNCHECKED, ExpectedRevision
from registration_fsm.sync import Synchronizer, Transaction, UnitOfWork

REG = "registration-00000000000000000000000000000001"


def draft(clock: TickingClock) -> Registration:
    return Registration.new(REG, f"arn:aws:sms-voice:us-east-1:123456789012:registration/{REG}",
                            REG_TYPE, clock=clock)  # fmt: skip


def submitted_copy(store: MemoryStore, clock: TickingClock) -> None:
    """Another writer: reads what is stored, submits it, saves (checked, so it wins)."""
    stored = store.get(REG)
    assert stored is not None
    event = stored.registration.submit(actor="other", clock=clock)
    store.save(stored.registration, [event], expected_revision=stored.revision)


def run(uow: UnitOfWork, body: Callable[[Transaction], None], attempts: list[int]) -> list[int]:
    """Run ``body`` in each attempt on REG, as the service layer does; the attempts made."""
    for tx in uow.attempts(REG):
        with tx:
            attempts.append(tx.attempt)
            body(tx)
    return attempts


def revision_of(store: MemoryStore) -> int:
    stored = store.get(REG)
    assert stored is not None
    return stored.revision


@pytest.fixture
def store(clock: TickingClock) -> MemoryStore:
    store = MemoryStore()
    registration = draft(clock)
    store.save(registration, [registration.current_version.created_event()])
    return store


def test_a_lost_save_is_retried_with_the_state_read_afresh(
    store: MemoryStore, clock: TickingClock
) -> None:
    uow = UnitOfWork(store, retries=2)
    seen: list[tuple[int, int, VersionStatus]] = []  # (attempt, revision read, status read)

    revisions: list[int] = []

    def body(tx: Transaction) -> None:
        assert tx.stored is not None
        mine = tx.registration
        assert mine is not None
        seen.append((tx.attempt, tx.stored.revision, mine.current_version.status))
        if tx.attempt == 0:
            submitted_copy(store, clock)  # another writer saves between read and save
        if mine.current_version.status == VersionStatus.DRAFT:
            event = mine.submit(actor="me", clock=clock)
        else:
            event = mine.discard(actor="me", clock=clock)
        revisions.append(tx.save(mine, [event]))

    assert run(uow, body, []) == [0, 1]

    # The first attempt read revision 1 (DRAFT) and lost; the second read the other
    # writer's revision 2 (SUBMITTED) and decided on that.
    assert seen == [(0, 1, VersionStatus.DRAFT), (1, 2, VersionStatus.SUBMITTED)]
    assert revisions == [3]
    assert revision_of(store) == 3
    assert [(e.trigger, e.actor) for e in store.events(REG)] == [
        ("create", None),
        ("submit", "other"),  # the winner's event, once
        ("discard", "me"),  # ours, decided on the fresh state; the lost submit is nowhere
    ]


def test_the_last_attempts_stale_write_propagates(store: MemoryStore, clock: TickingClock) -> None:
    attempts: list[int] = []

    def body(tx: Transaction) -> None:
        assert tx.registration is not None
        stored = store.get(REG)  # another writer saves first, every time
        assert stored is not None
        store.save(stored.registration, [], expected_revision=stored.revision)
        tx.save(tx.registration, [])

    with pytest.raises(StaleWrite) as lost:
        run(UnitOfWork(store, retries=1), body, attempts)

    assert attempts == [0, 1]  # retries=1: one retry, then the error
    assert (lost.value.registration_id, lost.value.expected, lost.value.found) == (REG, 2, 3)
    assert revision_of(store) == 3  # only the other writer's saves


def test_no_retries_means_the_first_stale_write_propagates(
    store: MemoryStore, clock: TickingClock
) -> None:
    attempts: list[int] = []

    def body(tx: Transaction) -> None:
        submitted_copy(store, clock)
        assert tx.registration is not None
        tx.save(tx.registration, [])

    with pytest.raises(StaleWrite):
        run(UnitOfWork(store, retries=0), body, attempts)
    assert attempts == [0]


def test_an_attempt_that_ends_without_saving_is_not_retried(store: MemoryStore) -> None:
    uow = UnitOfWork(store, retries=3)
    assert run(uow, lambda tx: None, []) == [0]  # it decided there was nothing to save
    assert revision_of(store) == 1


def test_an_attempt_that_fails_otherwise_is_not_retried(store: MemoryStore) -> None:
    attempts: list[int] = []

    def body(tx: Transaction) -> None:
        raise RuntimeError("not a race")

    with pytest.raises(RuntimeError, match="not a race"):
        run(UnitOfWork(store, retries=3), body, attempts)
    assert attempts == [0]


def test_a_new_registration_must_not_be_stored_meanwhile(clock: TickingClock) -> None:
    store = MemoryStore()
    seen: list[int | None] = []

    def body(tx: Transaction) -> None:
        seen.append(None if tx.stored is None else tx.stored.revision)
        if tx.attempt == 0:
            store.save(draft(clock), [])  # someone else stored it first
        tx.save(draft(clock), [])

    assert run(UnitOfWork(store, retries=1), body, []) == [0, 1]
    assert seen == [None, 1]  # the retry read the other writer's revision
    assert revision_of(store) == 2


@pytest.mark.parametrize("retries", [-1, 101, 1.0, True])
def test_retries_are_checked(retries: Any) -> None:
    with pytest.raises(InvalidArgument, match="retries_on_stale"):
        UnitOfWork(MemoryStore(), retries=retries)


def test_the_lock_is_per_registration_and_reentrant() -> None:
    uow = UnitOfWork(MemoryStore())
    other_held = threading.Event()

    def hold_other() -> None:
        with uow.lock("registration-b"):
            other_held.set()

    with uow.lock("registration-a"), uow.lock("registration-a"):  # re-entrant
        thread = threading.Thread(target=hold_other)
        thread.start()
        assert other_held.wait(120), "another registration's lock waited for this one"
        thread.join()


# -- the synchronizer's saves go through it ------------------------------------------


class InterleavingStore(MemoryStore):
    """A store in which ``another_writer`` runs once, just before the next checked save."""

    def __init__(self) -> None:
        super().__init__()
        self.another_writer: Callable[[], object] | None = None
        self.stale = 0

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        hook, self.another_writer = self.another_writer, None
        if hook is not None and expected_revision is not UNCHECKED:
            hook()
        try:
            return super().save(
                registration,
                events,
                summary=summary,
                expected_revision=expected_revision,
                resolves=resolves,
            )
        except StaleWrite:
            self.stale += 1
            raise


@pytest.fixture
def emu(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=5)


def test_a_sync_that_loses_its_save_reads_again_and_records_nothing_twice(
    emu: EmulatedRegistrationApi,
) -> None:
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    store = InterleavingStore()
    syncer = Synchronizer(emu, store)
    syncer.sync()
    emu.submit_registration_version(reg_id)
    emu.advance(reg_id, "begin_review")
    # Another process syncs the same registration into the same store first.
    store.another_writer = lambda: Synchronizer(emu, store).sync([reg_id])

    report = syncer.sync([reg_id])

    assert store.stale == 1
    assert report.failed == {}
    assert report.events == []  # the winner recorded the changes; the retry found none left
    assert [e.trigger for e in store.events(reg_id)] == ["create", "submit", "begin_review"]
    assert syncer.get(reg_id).current_version.status == VersionStatus.REVIEWING


def test_a_sync_out_of_retries_reports_the_stale_write(emu: EmulatedRegistrationApi) -> None:
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    store = InterleavingStore()
    syncer = Synchronizer(emu, store, retries_on_stale=0)
    syncer.sync()
    emu.submit_registration_version(reg_id)
    store.another_writer = lambda: Synchronizer(emu, store).sync([reg_id])

    report = syncer.sync([reg_id])

    assert list(report.failed) == [reg_id]
    assert report.failed[reg_id].startswith("StaleWrite: ")
    assert not report.ok
    assert [e.trigger for e in store.events(reg_id)] == ["create", "submit"]  # the winner's


def test_a_delete_that_loses_its_save_finds_the_winners_event(
    emu: EmulatedRegistrationApi,
) -> None:
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    store = InterleavingStore()
    syncer = Synchronizer(emu, store)
    syncer.sync()
    # Another process's sync sees the registration gone first and records its deletion.
    store.another_writer = lambda: Synchronizer(emu, store).sync()

    event = syncer.delete(reg_id, actor="alice", reason="duplicate")

    assert store.stale == 1
    (stored,) = [e for e in store.events(reg_id) if e.trigger == "delete"]  # recorded once
    # The winner's sync saw the deletion, and alice's intent (recorded before the
    # request) told it who and why: the event is alice's, and so is what she gets back.
    assert (stored.origin, stored.actor, stored.reason) == (Origin.LOCAL, "alice", "duplicate")
    assert event == stored
    assert store.intents() == []  # resolved by the sync that used it
    assert (event.version_number, event.dest) == (None, RegistrationStatus.DELETED)
    assert syncer.get(reg_id).status == RegistrationStatus.DELETED
