"""No lost intent: a command records who, why and what before it calls the API; a store
that cannot be written refuses the command first; a change the API made whose final
save failed is attributed to its command by the next sync."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import REG_TYPE

from registration_fsm import (
    ConflictError,
    EmulatedRegistrationApi,
    Origin,
    Registration,
    SQLiteStore,
    StoreError,
    Synchronizer,
    TransitionEvent,
)
from registration_fsm.errors import UnsavedChange
from registration_fsm.store import UNCHECKED, ExpectedRevision, IntentStore, MemoryStore


class FailingSaves(MemoryStore):
    """A store whose next ``fail`` saves raise StoreError (a full disk, say).

    Its ``save`` predates ``resolves=`` (as a user's override may): the sync then
    resolves its intents just after the save.
    """

    fail = 0

    def save(  # type: ignore[override]
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
    ) -> int:
        if self.fail:
            self.fail -= 1
            raise StoreError("disk I/O error")
        return super().save(
            registration, events, summary=summary, expected_revision=expected_revision
        )


@pytest.fixture
def emu() -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(seed=3)


def submitted(emu: EmulatedRegistrationApi, syncer: Synchronizer) -> str:
    reg_id: str = emu.create_registration(REG_TYPE)["RegistrationId"]
    emu.submit_registration_version(reg_id)
    syncer.sync()
    return reg_id


def test_both_stores_keep_intents() -> None:
    assert isinstance(MemoryStore(), IntentStore)


def test_a_store_that_cannot_be_written_refuses_before_any_request(
    emu: EmulatedRegistrationApi, tmp_path: Path
) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        reg_id = submitted(emu, Synchronizer(emu, store))
    before = dict(emu.calls)
    with SQLiteStore(path, read_only=True) as store, pytest.raises(StoreError):
        Synchronizer(emu, store).discard(reg_id, actor="carol", reason="wrong EIN")
    assert dict(emu.calls) == before  # nothing was sent
    (info,) = emu.describe_registrations(registration_ids=[reg_id])
    assert info["RegistrationStatus"] == "SUBMITTED"


def test_a_change_whose_save_failed_is_attributed_by_the_next_sync(
    emu: EmulatedRegistrationApi,
) -> None:
    store = FailingSaves()
    syncer = Synchronizer(emu, store)
    reg_id = submitted(emu, syncer)
    store.fail = 10  # every attempt of the final save fails

    with pytest.raises(UnsavedChange) as failed:
        syncer.discard(reg_id, actor="carol", reason="wrong EIN", metadata={"ticket": "C-9"})
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(
        f"DiscardRegistrationVersion succeeded on the API (registration {reg_id} v1 is "
        "DISCARDED), but saving it locally failed: disk I/O error; its intent "
        "(actor carol, reason wrong EIN) is kept"
    )
    (pending,) = store.intents(reg_id)
    assert failed.value.intent_id == pending.id
    assert (pending.intent.trigger, pending.intent.version_number) == ("discard", 1)
    assert [e.trigger for e in store.events(reg_id)] == ["create", "submit"]  # not saved

    store.fail = 0
    report = Synchronizer(emu, store).sync()  # another process, later
    (discard,) = [e for e in report.events if e.trigger == "discard"]
    assert (discard.origin, discard.actor, discard.reason) == (Origin.LOCAL, "carol", "wrong EIN")
    assert dict(discard.metadata) == {"ticket": "C-9"}
    assert store.intents() == []


def test_a_refused_command_leaves_no_intent(emu: EmulatedRegistrationApi) -> None:
    store = MemoryStore()
    syncer = Synchronizer(emu, store)
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    syncer.sync()
    emu.submit_registration_version(reg_id)  # someone else submits: our copy says DRAFT
    with pytest.raises(ConflictError):
        syncer.submit(reg_id, actor="bob")
    assert store.intents() == []
    (submit,) = [e for e in store.events(reg_id) if e.trigger == "submit"]
    assert (submit.origin, submit.actor) == (Origin.REMOTE, None)  # not bob's


def test_intents_outlive_the_process(emu: EmulatedRegistrationApi, tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        reg_id = submitted(emu, Synchronizer(emu, store))
        assert store.intents() == []
        syncer = Synchronizer(emu, store)
        syncer.discard(reg_id, actor="carol", reason="typo")
        assert store.intents() == []  # resolved after the save
        from registration_fsm.store import Intent

        at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        kept = Intent(reg_id, "create", "CreateRegistrationVersion", 2, "dan", "retry", {}, at)
        intent_id = store.record_intent(kept)
    with SQLiteStore(path) as store:
        (found,) = store.intents()
        assert (found.id, found.intent) == (intent_id, kept)
        store.resolve_intent(intent_id)
        assert store.intents(reg_id) == []
