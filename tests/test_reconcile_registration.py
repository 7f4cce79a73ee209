"""Reconcile and the registration's own lifecycle: a sync records PROVISIONING, COMPLETE,
CLOSED and DELETED as the registration's own events (origin remote), optional edges
whatever the local policy allows, and the stores keep what the aggregate holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    CommandRefused,
    EmulatedRegistrationApi,
    LifecyclePolicy,
    Origin,
    Registration,
    RegistrationStatus,
    Synchronizer,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.store import MemoryStore, SQLiteStore
from registration_fsm.store.codec import decode_registration, encode_save
from registration_fsm.sync.reconcile import REMOTE_CHANGE, registration_difference

R, V = RegistrationStatus, VersionStatus
TOLL_FREE = "US_TOLL_FREE_REGISTRATION"
PROVISIONS = LifecyclePolicy().with_provisioning(TOLL_FREE)
SEEN = datetime(2030, 1, 1, tzinfo=UTC)


def _copy(reg: Registration) -> Registration:
    return Registration.from_api(reg.to_api(), reg.versions_to_api())


def _told(events: tuple[TransitionEvent, ...]) -> list[tuple[Any, ...]]:
    return [(e.version_number, e.trigger, str(e.source), str(e.dest)) for e in events]


def _reviewing(clock: TickingClock, reg_type: str = TOLL_FREE) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, reg_type, clock=clock)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    return reg


# -- registration_difference -------------------------------------------------------------


def test_an_approval_through_provisioning_is_told_with_its_provision(clock: TickingClock) -> None:
    local = _reviewing(clock)
    remote = _copy(local)
    remote.approve(clock=clock, policy=PROVISIONS)
    diff = registration_difference(local, remote, observed_at=SEEN)
    assert _told(diff.events) == [
        (1, "approve", "REVIEWING", "APPROVED"),
        (None, "provision", "REVIEWING", "PROVISIONING"),
    ]
    assert diff.anomalies == ()
    approve, provision = diff.events
    assert provision.timestamp == approve.timestamp
    assert provision.origin == Origin.REMOTE


def test_a_first_sync_of_a_provisioning_registration(clock: TickingClock) -> None:
    remote = _reviewing(clock)
    remote.approve(clock=clock, policy=PROVISIONS)
    diff = registration_difference(None, remote, observed_at=SEEN)
    assert [e.trigger for e in diff.events] == [
        "create", "submit", "begin_review", "approve", "provision",
    ]  # fmt: skip
    assert diff.anomalies == ()


def test_provision_comes_after_the_archive_an_approval_causes(clock: TickingClock) -> None:
    local = _reviewing(clock)
    local.approve(clock=clock)
    local.create_version(clock=clock)
    local.submit(clock=clock)
    local.begin_review(clock=clock)
    remote = _copy(local)
    remote.approve(clock=clock, policy=PROVISIONS)
    assert remote.status == R.PROVISIONING
    diff = registration_difference(local, remote, observed_at=SEEN)
    assert _told(diff.events) == [
        (2, "approve", "REVIEWING", "APPROVED"),
        (1, "archive", "APPROVED", "ARCHIVED"),
        (None, "provision", "REVIEWING", "PROVISIONING"),
    ]
    assert diff.anomalies == ()


def test_the_registrations_own_changes_after_the_versions(clock: TickingClock) -> None:
    local = _reviewing(clock)
    remote = _copy(local)
    remote.approve(clock=clock)
    remote.close(clock=clock)
    diff = registration_difference(local, remote, observed_at=SEEN)
    assert _told(diff.events) == [
        (1, "approve", "REVIEWING", "APPROVED"),
        (None, "close", "COMPLETE", "CLOSED"),
    ]
    assert diff.events[-1].timestamp == SEEN, "the API records no time: when the sync saw it"
    assert diff.anomalies == ()
    remote.delete(clock=clock)
    diff = registration_difference(local, remote, observed_at=SEEN)
    assert _told(diff.events)[1:] == [(None, "delete", "COMPLETE", "DELETED")]  # the shortest


def test_provisioning_completed_before_a_new_version(clock: TickingClock) -> None:
    local = _reviewing(clock)
    local.approve(clock=clock, policy=PROVISIONS)
    remote = _copy(local)
    remote.complete_provisioning(clock=clock)
    remote.create_version(clock=clock)
    remote.submit(clock=clock)
    assert remote.status == R.SUBMITTED
    diff = registration_difference(local, remote, observed_at=SEEN)
    assert _told(diff.events) == [
        (None, "complete_provisioning", "PROVISIONING", "COMPLETE"),
        (2, "create", "None", "DRAFT"),
        (2, "submit", "DRAFT", "SUBMITTED"),
    ]
    assert diff.events[0].timestamp == diff.events[1].timestamp
    assert diff.anomalies == ()


def test_a_change_no_table_explains_is_one_anomaly(clock: TickingClock) -> None:
    local = _reviewing(clock)
    local.approve(clock=clock)
    info = local.to_api() | {"RegistrationStatus": "PROVISIONING"}
    remote = Registration.from_api(info, local.versions_to_api())
    diff = registration_difference(local, remote, observed_at=SEEN)
    (event,) = diff.events
    assert (event.trigger, event.source, event.dest, event.version_number) == (
        REMOTE_CHANGE, R.COMPLETE, R.PROVISIONING, None,
    )  # fmt: skip
    assert event.anomaly == "no legal path from COMPLETE to PROVISIONING; applied as the API says"
    (anomaly,) = diff.anomalies
    assert anomaly.version_number is None
    assert str(anomaly).endswith("registration: " + event.anomaly)


def test_an_unknown_registration_status_is_taken_as_it_is(clock: TickingClock) -> None:
    local = _reviewing(clock)
    info = local.to_api() | {"RegistrationStatus": "IN_CARRIER_VETTING"}
    remote = Registration.from_api(info, local.versions_to_api())
    assert registration_difference(local, remote, observed_at=SEEN).events == ()


# -- through the synchronizer and the emulator ----------------------------------------------


def test_a_sync_follows_provisioning_completion_closing_and_deletion(tmp_path: Path) -> None:
    clock = TickingClock()
    emulator = EmulatedRegistrationApi(seed=4, clock=clock, policy=PROVISIONS, quotas=None)
    with SQLiteStore(tmp_path / "state.db") as store:
        syncer = Synchronizer(emulator, store)
        rid = syncer.create(TOLL_FREE).id
        syncer.submit(rid)
        emulator.advance(rid, "begin_review")
        syncer.sync([rid])
        applied = emulator.advance(rid, "approve")
        assert [e.trigger for e in applied] == ["approve", "provision"]
        told = []
        for trigger in (None, "complete_provisioning", "close"):
            if trigger is not None:
                (event,) = emulator.advance(rid, trigger)
                assert event.version_number is None
            report = syncer.sync()  # incremental: the status is in the summary
            assert report.anomalies == []
            told += [(e.trigger, str(e.source), str(e.dest), e.origin) for e in report.events]
        assert told == [
            ("approve", "REVIEWING", "APPROVED", Origin.REMOTE),
            ("provision", "REVIEWING", "PROVISIONING", Origin.REMOTE),
            ("complete_provisioning", "PROVISIONING", "COMPLETE", Origin.REMOTE),
            ("close", "COMPLETE", "CLOSED", Origin.REMOTE),
        ]
        assert syncer.get(rid).status == R.CLOSED
        with pytest.raises(CommandRefused, match="is CLOSED"):
            syncer.submit(rid)
        deleted = syncer.delete(rid, actor="alice", reason="number released")
        assert (deleted.source, deleted.dest) == (R.CLOSED, R.DELETED)
    with SQLiteStore(tmp_path / "state.db") as store:
        stored = store.get(rid)
        assert stored is not None
        assert stored.registration.status == R.DELETED
        own = [e for e in store.events(rid) if e.version_number is None]
        assert [e.trigger for e in own] == ["provision", "complete_provisioning", "close", "delete"]


def test_advance_refuses_registration_triggers_the_table_does_not_allow() -> None:
    emulator = EmulatedRegistrationApi(seed=4, quotas=None)
    rid = emulator.create_registration(REG_TYPE)["RegistrationId"]
    for trigger in ("complete_provisioning", "close", "provision"):
        with pytest.raises(CommandRefused):
            emulator.advance(rid, trigger)
    emulator.submit_registration_version(rid)
    emulator.advance(rid, "begin_review")
    emulator.advance(rid, "approve")  # the default policy: straight to COMPLETE
    (summary,) = emulator.describe_registrations(registration_ids=[rid])
    assert summary["RegistrationStatus"] == "COMPLETE"


def test_the_emulator_sends_eventbridge_events_for_the_registrations_own_changes() -> None:
    events: list[dict[str, Any]] = []
    emulator = EmulatedRegistrationApi(seed=4, quotas=None, policy=PROVISIONS)
    emulator.add_event_sink(events.append)
    rid = emulator.create_registration(TOLL_FREE)["RegistrationId"]
    emulator.submit_registration_version(rid)
    emulator.advance(rid, "begin_review")
    emulator.advance(rid, "approve")
    emulator.advance(rid, "complete_provisioning")
    statuses = [
        (e["detail"]["previousRegistrationStatus"], e["detail"]["registrationStatus"])
        for e in events[-3:]
    ]
    assert statuses == [
        ("REVIEWING", "PROVISIONING"),  # the approval: the version's event, the status after
        ("REVIEWING", "PROVISIONING"),  # provision
        ("PROVISIONING", "COMPLETE"),  # complete_provisioning
    ]
    assert events[-1]["detail"]["versionNumber"] is None


def test_optional_edges_seen_remotely_are_recorded_whatever_the_local_policy() -> None:
    clock = TickingClock()
    emulator = EmulatedRegistrationApi(
        seed=4, clock=clock, policy=LifecyclePolicy.permissive(), quotas=None
    )
    syncer = Synchronizer(emulator)  # DEFAULT_POLICY: every optional edge off locally
    denied = syncer.create(REG_TYPE).id
    syncer.submit(denied)
    emulator.advance(denied, "deny")  # SUBMITTED -> DENIED, optional
    drafted = syncer.create(REG_TYPE).id
    emulator.discard_registration_version(drafted)  # DRAFT -> DISCARDED, optional
    report = syncer.sync()
    assert report.anomalies == []
    told = {(e.registration_id, e.trigger, str(e.source), str(e.dest)) for e in report.events}
    assert (denied, "deny", "SUBMITTED", "DENIED") in told
    assert (drafted, "discard", "DRAFT", "DISCARDED") in told
    assert all(e.anomaly is None for e in report.events)
    submitted = syncer.create(REG_TYPE).id
    syncer.submit(submitted)
    local = syncer.get(submitted)
    assert [r.name for r in local.refusals("deny")] == ["policy"]  # still off locally


# -- the stores ---------------------------------------------------------------------------


#: A registration as a store wrote it before PROVISIONING and CLOSED could happen.
OLD_INFO = (
    '{"RegistrationArn":"' + REG_ARN + '","RegistrationId":"' + REG_ID + '",'
    '"RegistrationType":"US_TEN_DLC_BRAND_REGISTRATION","RegistrationStatus":"COMPLETE",'
    '"CurrentVersionNumber":1,"ApprovedVersionNumber":1,'
    '"CreatedTimestamp":{"$datetime":"2026-01-01T00:01:00.000000+00:00"}}'
)
OLD_VERSION = (
    '{"VersionNumber":1,"RegistrationVersionStatus":"APPROVED",'
    '"RegistrationVersionStatusHistory":{'
    '"DraftTimestamp":{"$datetime":"2026-01-01T00:01:00.000000+00:00"},'
    '"SubmittedTimestamp":{"$datetime":"2026-01-01T00:02:00.000000+00:00"},'
    '"ReviewingTimestamp":{"$datetime":"2026-01-01T00:03:00.000000+00:00"},'
    '"ApprovedTimestamp":{"$datetime":"2026-01-01T00:04:00.000000+00:00"}}}'
)


def test_old_stored_registrations_load_and_can_close() -> None:
    reg = decode_registration(OLD_INFO, [OLD_VERSION], "old")
    assert (reg.status, reg.anomalies) == (R.COMPLETE, ())
    event = reg.close(clock=lambda: datetime(2026, 2, 1, tzinfo=UTC))
    assert event.dest == R.CLOSED


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_stores_keep_the_registration_level_statuses(
    kind: str, tmp_path: Path, clock: TickingClock
) -> None:
    provisioning = _reviewing(clock)
    seen: list[TransitionEvent] = []
    provisioning.subscribe(seen.append)
    provisioning.approve(clock=clock, policy=PROVISIONS)
    closed = _reviewing(clock, REG_TYPE)
    closed.approve(clock=clock)
    closed.close(clock=clock)
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    with store:
        store.save(provisioning, seen)
        stored = store.get(REG_ID)
        assert stored is not None
        assert stored.registration == provisioning
        assert stored.registration.status == R.PROVISIONING
        assert list(store.events(REG_ID)) == seen
        store.save(closed, [])
        again = store.get(REG_ID)
        assert again is not None
        assert again.registration.status == R.CLOSED
    encoded = encode_save(closed, [], None)
    assert '"RegistrationStatus":"CLOSED"' in encoded.info
