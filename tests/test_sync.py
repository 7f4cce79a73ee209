"""The Synchronizer against the real emulator: in process, and through boto3 over HTTP.

Remote data comes from the emulator's API and ``advance`` (AWS's part). Cases the
emulator cannot produce through its API (a jump no lifecycle path explains, a
status AWS adds later, malformed data) are made by changing the emulator's own
``Registration`` objects, which is what its API then serves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    CommandRefused,
    ConflictError,
    FieldValues,
    GuardContext,
    Origin,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.domain.guards import require_reason
from registration_fsm.domain.lifecycle import LifecyclePolicy
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.errors import (
    ApiError,
    InvalidArgument,
    InvalidRegistrationId,
    NotFoundError,
    NotTracked,
    SubscriberError,
)
from registration_fsm.pacing import Pacer
from registration_fsm.ports import Filter, RegistrationApi
from registration_fsm.store import MemoryStore, SQLiteStore
from registration_fsm.sync import REMOTE_CHANGE, SyncAnomaly, Synchronizer, SyncReport

T = TypeVar("T")

DENIAL = {"Reason": "BRAND_MISMATCH", "ShortDescription": "The name does not match the EIN"}

Status = VersionStatus | RegistrationStatus
Key = tuple[int | None, str, Status | None, Status, datetime]


@attrs.define
class Remote:
    """The emulator (the truth) and the API the synchronizer talks to."""

    emu: EmulatedRegistrationApi
    api: RegistrationApi
    clock: TickingClock

    def new(self, *steps: str) -> str:
        """A new registration, driven through ``steps`` (see :meth:`drive`)."""
        reg_id: str = self.emu.create_registration(REG_TYPE)["RegistrationId"]
        self.drive(reg_id, *steps)
        return reg_id

    def drive(self, reg_id: str, *steps: str) -> list[TransitionEvent]:
        """Customer steps through the emulator's API, AWS steps through ``advance``;
        returns the events the emulator applied."""
        events: list[TransitionEvent] = []
        unsubscribe = self.truth(reg_id).subscribe(events.append)
        try:
            for step in steps:
                if step == "submit":
                    self.emu.submit_registration_version(reg_id)
                elif step == "submit_aws":
                    self.emu.submit_registration_version(reg_id, aws_review=True)
                elif step == "create_version":
                    self.emu.create_registration_version(reg_id)
                elif step == "discard":
                    self.emu.discard_registration_version(reg_id)
                elif step == "deny":
                    self.emu.advance(reg_id, "deny", denied_reasons=[DENIAL], feedback="fix it")
                else:
                    self.emu.advance(reg_id, step)
        finally:
            unsubscribe()
        return events

    def truth(self, reg_id: str) -> Registration:
        """The emulator's own Registration object (what its API serves)."""
        return self.emu._resolve(reg_id).registration

    def rewrite(
        self,
        reg_id: str,
        *,
        status: str | None = None,
        versions: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> Registration:
        """Make the emulator serve data its API cannot produce: its registration is
        replaced by one built from edited API data (``status``: the registration's,
        ``versions``: edits the RegistrationVersionInformation list)."""
        entry = self.emu._resolve(reg_id)
        info = entry.registration.to_api()
        raw = entry.registration.versions_to_api()
        if versions is not None:
            raw = versions(raw)
        if status is not None:
            info["RegistrationStatus"] = status
        entry.registration = Registration.from_api(info, raw)
        return entry.registration

    def force(self, reg_id: str, number: int, field: str, value: object) -> None:
        """Set a field of one of the emulator's versions, even to a value the model
        refuses (versions are immutable named tuples: a copy is built around the
        constructor's checks), so its API serves it."""
        version = self.truth(reg_id).versions[number]
        fields = version._asdict()
        fields[field] = value
        self.truth(reg_id).adopt_version(tuple.__new__(type(version), fields.values()))

    def calls(self) -> dict[str, int]:
        return dict(self.api.calls)


@pytest.fixture
def registration_emulator(clock: TickingClock) -> EmulatedRegistrationApi:
    """The plugin's emulator, on the test's ticking clock (the plugin serves this one)."""
    return EmulatedRegistrationApi(clock=clock, seed=11)


@pytest.fixture(params=["emulator", "http"])
def remote(
    request: pytest.FixtureRequest,
    registration_emulator: EmulatedRegistrationApi,
    clock: TickingClock,
) -> Remote:
    """The emulator, called in process or through the real boto3 adapter over HTTP
    (the plugin's ``registration_api``)."""
    emu = registration_emulator
    if request.param == "emulator":
        return Remote(emu, emu, clock)
    api: RegistrationApi = request.getfixturevalue("registration_api")
    return Remote(emu, api, clock)


def approved_at(version: dict[str, Any], at: datetime) -> dict[str, Any]:
    """``version`` (RegistrationVersionInformation) reported APPROVED since ``at``."""
    history = {**version["RegistrationVersionStatusHistory"], "ApprovedTimestamp": at}
    return {
        **version,
        "RegistrationVersionStatus": "APPROVED",
        "RegistrationVersionStatusHistory": history,
    }


def key(event: TransitionEvent) -> Key:
    return (event.version_number, event.trigger, event.source, event.dest, event.timestamp)


def keys(events: Sequence[TransitionEvent]) -> list[Key]:
    return [key(e) for e in events]


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


def within(seconds: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread; fail the test instead of hanging if it never returns."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"did not return within {seconds} s (deadlock?)")
    if errors:
        raise errors[0]
    return result[0]


# -- first sync ----------------------------------------------------------------


def test_first_sync_creates_local_registrations_with_create_and_path_events(
    remote: Remote,
) -> None:
    fresh = remote.new()
    denied = remote.new("submit_aws", "begin_review", "deny")
    approved = remote.new("submit", "begin_review", "approve", "create_version", "submit")
    syncer = Synchronizer(remote.api)

    report = syncer.sync()

    assert report.changed == [fresh, denied, approved]  # the API's order: oldest first
    assert (report.unchanged, report.deleted, report.failed, report.anomalies) == ([], [], {}, [])
    # And the field values of each current version that has left DRAFT (denied's v1,
    # approved's v2; not approved's older v1, nor the DRAFT): once, as submitted.
    assert report.api_calls == {
        "DescribeRegistrations": 1, "DescribeRegistrationVersions": 3,
        "DescribeRegistrationFieldValues": 2,
    }  # fmt: skip
    for reg_id in (fresh, denied, approved):
        assert syncer.get(reg_id) == remote.truth(reg_id)
    assert {r.id for r in syncer.registrations()} == {fresh, denied, approved}
    assert all(e.origin == Origin.REMOTE and e.anomaly is None for e in report.events)

    d = remote.truth(denied).versions[1].history
    assert keys([e for e in report.events if e.registration_id == denied]) == [
        (1, "create", None, VersionStatus.DRAFT, d.draft),
        (1, "submit", VersionStatus.DRAFT, VersionStatus.AWS_REVIEWING, d.aws_reviewing),
        (1, "begin_review", VersionStatus.AWS_REVIEWING, VersionStatus.REVIEWING, d.reviewing),
        (1, "deny", VersionStatus.REVIEWING, VersionStatus.DENIED, d.denied),
    ]
    by_trigger = {e.trigger: e for e in report.events if e.registration_id == denied}
    empty = FieldValues.empty().digest()  # the emulator here serves no forms
    assert by_trigger["submit"].details == {"aws_review": True, "fields_digest": empty}
    assert by_trigger["deny"].details == {"denied_reasons": [DENIAL], "feedback": "fix it"}

    a1, a2 = (remote.truth(approved).versions[n].history for n in (1, 2))
    assert keys([e for e in report.events if e.registration_id == approved]) == [
        (1, "create", None, VersionStatus.DRAFT, a1.draft),
        (1, "submit", VersionStatus.DRAFT, VersionStatus.SUBMITTED, a1.submitted),
        (1, "begin_review", VersionStatus.SUBMITTED, VersionStatus.REVIEWING, a1.reviewing),
        (1, "approve", VersionStatus.REVIEWING, VersionStatus.APPROVED, a1.approved),
        (2, "create", None, VersionStatus.DRAFT, a2.draft),
        (2, "submit", VersionStatus.DRAFT, VersionStatus.SUBMITTED, a2.submitted),
    ]
    assert [e.trigger for e in report.events if e.registration_id == fresh] == ["create"]
    for reg_id in (fresh, denied, approved):  # saved in the order they are reported
        mine = [e for e in report.events if e.registration_id == reg_id]
        assert list(syncer.store.events(reg_id)) == mine


def test_get_of_a_registration_never_synced_is_not_tracked(remote: Remote) -> None:
    reg_id = remote.new()
    syncer = Synchronizer(remote.api)
    calls = remote.calls()
    with pytest.raises(NotTracked, match=r"pull it with sync\(\["):
        syncer.get(reg_id)
    assert remote.calls() == calls  # local reads make no request


# -- remote advances -----------------------------------------------------------


def test_legal_remote_advances_become_the_exact_trigger_sequence(remote: Remote) -> None:
    reg_id = remote.new("submit", "begin_review", "approve", "create_version", "submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()

    applied: list[TransitionEvent] = []
    for step in ("begin_review", "require_authentication", "authenticate", "approve"):
        truth = remote.drive(reg_id, step)
        report = syncer.sync()
        assert keys(report.events) == keys(truth)
        assert all(e.origin == Origin.REMOTE and e.anomaly is None for e in report.events)
        applied.extend(report.events)

    V = VersionStatus
    assert [(e.version_number, e.trigger, e.source, e.dest) for e in applied] == [
        (2, "begin_review", V.SUBMITTED, V.REVIEWING),
        (2, "require_authentication", V.REVIEWING, V.REQUIRES_AUTHENTICATION),
        (2, "authenticate", V.REQUIRES_AUTHENTICATION, V.REVIEWING),
        (2, "approve", V.REVIEWING, V.APPROVED),
        (1, "archive", V.APPROVED, V.ARCHIVED),  # the older approval, at the same instant
    ]
    assert (
        applied[-1].timestamp
        == applied[-2].timestamp
        == remote.truth(reg_id).versions[2].history.approved
    )
    local = syncer.get(reg_id)
    assert local == remote.truth(reg_id)
    assert (local.status, local.approved_version_number) == (RegistrationStatus.COMPLETE, 2)


def test_several_steps_between_two_syncs_follow_the_remote_history(remote: Remote) -> None:
    reg_id = remote.new("submit", "begin_review", "approve")
    syncer = Synchronizer(remote.api)
    syncer.sync()

    truth = remote.drive(
        reg_id, "create_version", "submit_aws", "begin_review", "deny", "create_version", "submit"
    )
    truth += remote.drive(reg_id, "begin_review", "approve")
    report = syncer.sync()

    assert keys(report.events) == keys(truth)
    assert [e.trigger for e in report.events] == [
        "create", "submit", "begin_review", "deny", "create", "submit", "begin_review",
        "approve", "archive",
    ]  # fmt: skip
    assert syncer.get(reg_id) == remote.truth(reg_id)


def test_a_status_entered_twice_between_syncs_keeps_only_its_later_time(
    remote: Remote,
) -> None:
    # The API's history keeps one time per status: REVIEWING's first entry is gone
    # from it, so the sync explains the change by the shortest legal path the
    # history shows (SUBMITTED -> REQUIRES_AUTHENTICATION is legal), not the real one.
    reg_id = remote.new("submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    remote.drive(reg_id, "begin_review", "require_authentication", "authenticate", "approve")

    report = syncer.sync()

    assert [e.trigger for e in report.events] == [
        "require_authentication",
        "authenticate",
        "approve",
    ]
    assert (report.anomalies, [e.anomaly for e in report.events]) == ([], [None] * 3)
    assert syncer.get(reg_id) == remote.truth(reg_id)


def test_a_jump_with_no_legal_path_is_applied_as_a_recorded_anomaly(remote: Remote) -> None:
    reg_id = remote.new("submit", "begin_review", "deny")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    # AWS reverses the denial: DENIED is terminal, no lifecycle path leads out of it.
    at = remote.clock()
    truth = remote.rewrite(reg_id, status="COMPLETE", versions=lambda vs: [approved_at(vs[0], at)])

    report = syncer.sync()

    (event,) = report.events
    assert key(event) == (1, REMOTE_CHANGE, VersionStatus.DENIED, VersionStatus.APPROVED, at)
    assert event.origin == Origin.REMOTE
    assert event.anomaly is not None
    assert "no legal path from DENIED to APPROVED" in event.anomaly
    # The applied jump, and the oddity of the remote data itself, are both reported.
    assert report.anomalies == [
        SyncAnomaly(
            reg_id,
            None,
            "API data: v1.ApprovedTimestamp: APPROVED is not reachable from DENIED: out of order",
        ),
        SyncAnomaly(reg_id, 1, event.anomaly),
    ]
    assert str(report.anomalies[1]).startswith(f"{reg_id} v1: no legal path")
    assert syncer.get(reg_id) == truth  # applied as the API says
    assert list(syncer.store.events(reg_id))[-1] == event  # and recorded
    assert syncer.sync(full=True).events == []


def test_a_version_gone_from_the_api_is_an_anomaly_not_a_silent_drop(remote: Remote) -> None:
    reg_id = remote.new("submit", "begin_review", "deny", "create_version")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    truth = remote.rewrite(reg_id, versions=lambda vs: [v for v in vs if v["VersionNumber"] != 2])

    report = syncer.sync()

    assert report.events == []
    assert report.anomalies == [
        SyncAnomaly(reg_id, 2, "version is gone from the API; dropped locally")
    ]
    assert syncer.get(reg_id) == truth


def test_unknown_statuses_are_kept_raw(remote: Remote, tmp_path: Path) -> None:
    reg_id = remote.new("submit")
    store = SQLiteStore(tmp_path / "local.db")
    syncer = Synchronizer(remote.api, store)
    syncer.sync()
    truth = remote.rewrite(
        reg_id,
        status="IN_CARRIER_VETTING",
        versions=lambda vs: [{**vs[0], "RegistrationVersionStatus": "CARRIER_VETTING"}],
    )

    report = syncer.sync()

    local = syncer.get(reg_id)
    assert local == truth
    assert local.status.is_unknown
    assert local.status.to_api() == "IN_CARRIER_VETTING"
    version = local.versions[1]
    assert version.status.is_unknown
    assert version.to_api()["RegistrationVersionStatus"] == ("CARRIER_VETTING")
    (event,) = report.events
    assert (event.trigger, event.source, event.dest.to_api()) == (
        REMOTE_CHANGE,
        VersionStatus.SUBMITTED,
        "CARRIER_VETTING",
    )
    assert event.anomaly is not None
    assert [a.version_number for a in report.anomalies] == [1]

    # Out of the unknown status: only the API can say where it went.
    at = remote.clock()
    remote.rewrite(reg_id, status="COMPLETE", versions=lambda vs: [approved_at(vs[0], at)])
    (event,) = syncer.sync().events
    assert (event.source.to_api() if event.source else None, event.dest) == (
        "CARRIER_VETTING",
        VersionStatus.APPROVED,
    )
    store.close()
    with SQLiteStore(tmp_path / "local.db") as reopened:
        events = list(reopened.events(reg_id))
        assert events[-2].dest.to_api() == "CARRIER_VETTING"
        assert events[-2].dest.is_unknown
        assert reopened.get(reg_id) is not None


# -- idempotence and incremental sync ----------------------------------------------


def test_a_second_sync_with_nothing_changed_makes_no_events(remote: Remote) -> None:
    ids = [remote.new(), remote.new("submit"), remote.new("submit", "begin_review", "approve")]
    syncer = Synchronizer(remote.api, page_size=2)
    first = syncer.sync()
    stored_events = list(syncer.store.events())

    second = syncer.sync()

    assert len(first.events) > 0
    assert second.events == []
    assert (second.changed, second.unchanged) == ([], ids)
    assert second.api_calls == {"DescribeRegistrations": 2}  # two pages of two, and no more
    assert list(syncer.store.events()) == stored_events


def test_incremental_sync_describes_only_changed_summaries_unless_full(remote: Remote) -> None:
    quiet = remote.new("submit")
    busy = remote.new("submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    remote.drive(busy, "begin_review")

    report = syncer.sync()
    assert (report.changed, report.unchanged) == ([busy], [quiet])
    assert report.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 1}
    assert [e.trigger for e in report.events] == ["begin_review"]

    full = syncer.sync(full=True)
    assert (full.changed, full.unchanged, full.events) == ([quiet, busy], [], [])
    assert full.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 2}


def test_a_change_that_leaves_the_summary_identical_is_still_seen(remote: Remote) -> None:
    # REVIEWING -> REQUIRES_OFFLINE_REVIEW: the registration stays REVIEWING and the
    # version count is the same, so DescribeRegistrations shows no difference; an
    # incremental sync describes a REVIEWING registration anyway.
    reg_id = remote.new("submit", "begin_review")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    remote.drive(reg_id, "require_offline_review")

    report = syncer.sync()
    (event,) = report.events
    assert (event.trigger, event.dest) == (
        "require_offline_review",
        VersionStatus.REQUIRES_OFFLINE_REVIEW,
    )
    assert report.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 1}
    settled = syncer.sync()  # REQUIRES_OFFLINE_REVIEW: every way out changes the summary
    assert (settled.events, settled.unchanged) == ([], [reg_id])
    assert settled.api_calls == {"DescribeRegistrations": 1}


def test_sync_of_some_registrations_only(remote: Remote) -> None:
    ids = [remote.new() for _ in range(7)]
    syncer = Synchronizer(remote.api)

    report = syncer.sync([ids[0], ids[2], ids[0]])  # repeats count once

    assert report.changed == [ids[0], ids[2]]
    assert report.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 2}
    with pytest.raises(NotTracked):
        syncer.get(ids[1])
    seven = syncer.sync(ids, full=True)
    assert sorted(seven.changed) == sorted(ids)
    assert seven.api_calls["DescribeRegistrations"] == 2  # at most 5 ids per request
    with pytest.raises(InvalidRegistrationId):
        syncer.sync(["not a registration id"])


def test_progress_is_reported_up_to_the_total(remote: Remote) -> None:
    for _ in range(3):
        remote.new()
    seen: list[tuple[int, int]] = []
    Synchronizer(remote.api).sync(progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 3)
    assert seen[-1] == (3, 3)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- request economy ---------------------------------------------------------------


def test_requests_per_registration_full_incremental_and_one_percent_changed(
    remote: Remote,
) -> None:
    # What a sync costs against AWS's quotas: one DescribeRegistrations page per 100
    # registrations, one DescribeRegistrationVersions per registration described.
    ids = [remote.new() for _ in range(200)]
    syncer = Synchronizer(remote.api)

    full = syncer.sync(full=True)
    nothing = syncer.sync()
    for reg_id in ids[:2]:  # 1% changes
        remote.drive(reg_id, "submit")
    one_percent = syncer.sync()

    assert full.api_calls == {"DescribeRegistrations": 2, "DescribeRegistrationVersions": 200}
    assert full.requests_per_registration == 1.01
    assert nothing.api_calls == {"DescribeRegistrations": 2}
    assert nothing.requests_per_registration == 0.01
    assert one_percent.api_calls == {
        "DescribeRegistrations": 2,
        "DescribeRegistrationVersions": 2,
        "DescribeRegistrationFieldValues": 2,  # the two submitted versions' values, once
    }
    assert one_percent.requests_per_registration == 0.03
    assert [e.trigger for e in one_percent.events] == ["submit", "submit"]
    assert SyncReport().requests_per_registration == 0.0


def test_a_change_made_by_a_command_is_not_described_again(remote: Remote) -> None:
    reg_id = remote.new()
    syncer = Synchronizer(remote.api)
    syncer.sync()
    syncer.submit(reg_id, actor="alice")

    after_command = syncer.sync()  # the stored state already is what the summary says

    assert (after_command.unchanged, after_command.events) == ([reg_id], [])
    assert after_command.api_calls == {"DescribeRegistrations": 1}
    remote.drive(reg_id, "begin_review")  # a change after the command is still seen
    moved = syncer.sync()
    assert [e.trigger for e in moved.events] == ["begin_review"]
    assert moved.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 1}
    assert syncer.get(reg_id) == remote.truth(reg_id)


def test_waiting_costs_one_request_a_poll_while_nothing_changes(remote: Remote) -> None:
    reg_id = remote.new("submit")
    syncer = Synchronizer(remote.api)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # AWS begins its review during the third pause
        slept.append(seconds)
        if len(slept) == 3:
            remote.drive(reg_id, "begin_review")

    before = remote.calls()
    reached = syncer.wait_for(reg_id, {VersionStatus.REVIEWING}, poll=1, sleep=sleep)

    assert reached.current_version.status == VersionStatus.REVIEWING
    # Four polls: the first and the last describe the versions, the two between do not.
    assert delta(before, remote.calls()) == {
        "DescribeRegistrations": 4,
        "DescribeRegistrationVersions": 2,
        "DescribeRegistrationFieldValues": 1,  # v1 has left DRAFT: read once
    }


# -- deletion ------------------------------------------------------------------


def test_a_registration_deleted_remotely_is_kept_locally_as_deleted(remote: Remote) -> None:
    keep, gone, gone_too = remote.new("submit"), remote.new("submit"), remote.new()
    syncer = Synchronizer(remote.api)
    syncer.sync()
    before = syncer.get(gone)
    remote.emu.delete_registration(gone)
    remote.emu.delete_registration(gone_too)

    report = syncer.sync()
    assert sorted(report.deleted) == sorted([gone, gone_too])
    assert report.unchanged == [keep]
    # Each deletion is recorded: a registration's own event, seen remotely.
    assert sorted(
        (e.registration_id, e.version_number, e.trigger, e.source, e.dest, e.origin)
        for e in report.events
    ) == sorted(
        (reg_id, None, "delete", status, RegistrationStatus.DELETED, Origin.REMOTE)
        for reg_id, status in (
            (gone, RegistrationStatus.SUBMITTED),
            (gone_too, RegistrationStatus.CREATED),
        )
    )
    for event in report.events:
        assert list(syncer.store.events(event.registration_id))[-1] == event
    local = syncer.get(gone)
    assert local.status == RegistrationStatus.DELETED
    assert local.versions == before.versions
    again = syncer.sync()
    assert (again.deleted, again.events) == ([], [])  # reported and recorded once

    # Named in a sync([...]): the id is found gone the same way.
    other = remote.new("submit")
    syncer.sync([other])
    remote.emu.delete_registration(other)
    report = syncer.sync([keep, other])
    assert (report.deleted, report.unchanged, report.not_found) == ([other], [keep], [])
    assert [(e.registration_id, e.trigger) for e in report.events] == [(other, "delete")]
    assert syncer.get(other).status == RegistrationStatus.DELETED


def test_a_registration_listed_as_deleted_is_adopted_from_the_summary(
    clock: TickingClock,
) -> None:
    emu = EmulatedRegistrationApi(clock=clock, keep_deleted=True)
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    syncer = Synchronizer(emu)
    syncer.sync()
    emu.delete_registration(reg_id)

    report = syncer.sync()

    assert (report.changed, report.deleted) == ([reg_id], [])
    (event,) = report.events
    assert (event.version_number, event.trigger, event.source, event.dest, event.origin) == (
        None,
        "delete",
        RegistrationStatus.CREATED,
        RegistrationStatus.DELETED,
        Origin.REMOTE,
    )
    assert syncer.get(reg_id).status == RegistrationStatus.DELETED
    assert syncer.sync(full=True).events == []


# -- commands --------------------------------------------------------------------


def four_eyes(ctx: GuardContext) -> str | None:
    return None if ctx.actor == "carol" else "a second approver (carol) must discard"


def test_a_refusal_by_a_local_guard_costs_no_api_call(remote: Remote) -> None:
    submitted = remote.new("submit")
    draft = remote.new()
    syncer = Synchronizer(remote.api)
    syncer.sync()
    calls = remote.calls()
    revision = syncer.store.get(submitted)

    with pytest.raises(CommandRefused) as refused:
        syncer.discard(submitted, actor="alice", reason=" ", guards=[require_reason, four_eyes])
    assert [(g.name, g.message) for g in refused.value.refusals] == [
        ("require_reason", "a reason is required"),
        ("four_eyes", "a second approver (carol) must discard"),
    ]
    assert refused.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    with pytest.raises(CommandRefused, match="policy: DRAFT --discard--> DISCARDED"):
        syncer.discard(draft, actor="carol", reason="typo")
    with pytest.raises(CommandRefused) as not_draft:
        syncer.submit(submitted)
    assert not_draft.value.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    with pytest.raises(CommandRefused) as still_open:
        syncer.create_version(draft)
    assert still_open.value.reason == "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"
    assert [r.name for r in still_open.value.refusals] == ["lifecycle"]

    assert remote.calls() == calls
    assert syncer.store.get(submitted) == revision
    assert remote.truth(submitted).current_version.status == VersionStatus.SUBMITTED
    assert syncer.get(submitted) == remote.truth(submitted)


def test_commands_apply_the_api_answer_and_record_who_and_why(remote: Remote) -> None:
    syncer = Synchronizer(remote.api)
    seen: list[TransitionEvent] = []
    syncer.subscribe(seen.append)
    created = syncer.create(REG_TYPE)
    reg_id = created.id
    assert created == remote.truth(reg_id)
    calls = remote.calls()

    submitted = syncer.submit(reg_id, actor="alice")
    discarded = syncer.discard(reg_id, actor="carol", reason="wrong EIN", guards=[four_eyes])
    opened = syncer.create_version(reg_id, actor="alice")
    aws = syncer.submit(reg_id, aws_review=True, actor="alice")

    assert delta(calls, remote.calls()) == {
        "SubmitRegistrationVersion": 2,
        "DiscardRegistrationVersion": 1,
        "CreateRegistrationVersion": 1,
        "DescribeRegistrationFieldValues": 2,  # what each submit sent, read once
    }
    h1, h2 = (remote.truth(reg_id).versions[n].history for n in (1, 2))
    V = VersionStatus
    assert [key(e) for e in (submitted, discarded, opened, aws)] == [
        (1, "submit", V.DRAFT, V.SUBMITTED, h1.submitted),
        (1, "discard", V.SUBMITTED, V.DISCARDED, h1.discarded),
        (2, "create", None, V.DRAFT, h2.draft),
        (2, "submit", V.DRAFT, V.AWS_REVIEWING, h2.aws_reviewing),
    ]
    assert [(e.origin, e.actor, e.reason) for e in (submitted, discarded, opened, aws)] == [
        (Origin.LOCAL, "alice", None),
        (Origin.LOCAL, "carol", "wrong EIN"),
        (Origin.LOCAL, "alice", None),
        (Origin.LOCAL, "alice", None),
    ]
    # The empty form's digest: what was submitted (the emulator here serves no forms).
    assert aws.details == {"aws_review": True, "fields_digest": FieldValues.empty().digest()}
    assert syncer.get(reg_id) == remote.truth(reg_id)
    stored = list(syncer.store.events(reg_id))
    assert stored[1:] == [submitted, discarded, opened, aws]
    assert seen == stored
    after = syncer.sync()
    assert after.events == []  # the commands left nothing for the sync to explain
    assert syncer.get(reg_id) == remote.truth(reg_id)


def test_the_draft_policy_allows_discarding_a_draft(clock: TickingClock) -> None:
    emu = EmulatedRegistrationApi(clock=clock, policy=LifecyclePolicy.allow_draft_discard())
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    syncer = Synchronizer(emu)
    event = syncer.discard(reg_id, reason="typo", policy=LifecyclePolicy.allow_draft_discard())
    assert (event.source, event.dest) == (VersionStatus.DRAFT, VersionStatus.DISCARDED)


def test_a_command_on_a_registration_never_synced_pulls_it_first(remote: Remote) -> None:
    # Regression: the pull ran on a pool thread waiting for the lock the command held.
    reg_id = remote.new()
    syncer = Synchronizer(remote.api)

    event = within(60, lambda: syncer.submit(reg_id, actor="alice"))

    assert (event.trigger, event.actor) == ("submit", "alice")
    assert [e.trigger for e in syncer.store.events(reg_id)] == ["create", "submit"]
    draft = remote.new()
    with pytest.raises(CommandRefused, match="policy: DRAFT --discard--> DISCARDED"):
        within(60, lambda: syncer.discard(draft, reason="typo"))  # checked on the pulled state
    assert syncer.get(draft) == remote.truth(draft)


def test_delete_keeps_the_registration_locally_as_deleted(remote: Remote) -> None:
    reg_id = remote.new("submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    seen: list[TransitionEvent] = []
    syncer.subscribe(seen.append)

    deleted = syncer.delete(reg_id, actor="alice", reason="duplicate", metadata={"ticket": "T-1"})

    assert (deleted.version_number, deleted.trigger, deleted.source, deleted.dest) == (
        None,
        "delete",
        RegistrationStatus.SUBMITTED,
        RegistrationStatus.DELETED,
    )
    assert (deleted.origin, deleted.actor, deleted.reason, dict(deleted.metadata)) == (
        Origin.LOCAL,
        "alice",
        "duplicate",
        {"ticket": "T-1"},
    )
    assert list(syncer.store.events(reg_id))[-1] == deleted
    assert seen == [deleted]
    local = syncer.get(reg_id)
    assert local.status == RegistrationStatus.DELETED
    assert local.current_version.status == VersionStatus.SUBMITTED  # versions are kept
    with pytest.raises(NotFoundError):
        remote.truth(reg_id)
    report = syncer.sync()
    assert (report.deleted, report.events) == ([], [])  # the sync records it no second time
    calls = remote.calls()
    with pytest.raises(CommandRefused) as again:
        syncer.delete(reg_id)
    assert [r.name for r in again.value.refusals] == ["registration_open"]
    with pytest.raises(CommandRefused):
        syncer.submit(reg_id)
    assert remote.calls() == calls  # refused locally: no request


def test_a_conflict_from_the_api_repulls_and_carries_the_fresh_state(remote: Remote) -> None:
    reg_id = remote.new()
    syncer = Synchronizer(remote.api)
    syncer.sync()
    remote.drive(reg_id, "submit")  # someone else submits: the local copy still says DRAFT
    calls = remote.calls()

    with pytest.raises(ConflictError) as conflict:
        within(60, lambda: syncer.submit(reg_id, actor="bob"))

    assert conflict.value.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    assert conflict.value.operation == "SubmitRegistrationVersion"
    assert isinstance(conflict.value, ApiError)
    fresh = conflict.value.registration
    assert isinstance(fresh, Registration)
    assert fresh == remote.truth(reg_id) == syncer.get(reg_id)
    assert fresh.current_version.status == VersionStatus.SUBMITTED
    assert delta(calls, remote.calls()) == {
        "SubmitRegistrationVersion": 1,
        "DescribeRegistrations": 1,
        "DescribeRegistrationVersions": 1,
        "DescribeRegistrationFieldValues": 1,  # the re-pull saw v1 leave DRAFT
    }
    events = list(syncer.store.events(reg_id))
    assert [(e.trigger, e.origin, e.actor) for e in events] == [
        ("create", Origin.REMOTE, None),
        ("submit", Origin.REMOTE, None),  # the other submit, as seen; none by bob
    ]
    assert events[-1].timestamp == remote.truth(reg_id).versions[1].history.submitted


def test_a_discard_that_lost_the_race_to_aws_is_refused_with_the_fresh_state(
    remote: Remote,
) -> None:
    reg_id = remote.new("submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    remote.drive(reg_id, "begin_review")

    with pytest.raises(ConflictError) as conflict:
        within(60, lambda: syncer.discard(reg_id, actor="carol", reason="typo"))

    assert conflict.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert conflict.value.operation == "DiscardRegistrationVersion"
    assert conflict.value.registration.current_version.status == VersionStatus.REVIEWING
    assert syncer.get(reg_id) == remote.truth(reg_id)
    assert [e.trigger for e in syncer.store.events(reg_id)][-1] == "begin_review"
    assert not any(e.trigger == "discard" for e in syncer.store.events(reg_id))


# -- stores, concurrency, subscribers, failures ---------------------------------------


def test_a_sqlite_store_restores_everything_after_reopening(remote: Remote, tmp_path: Path) -> None:
    path = tmp_path / "registrations.db"
    ids = [remote.new("submit", "begin_review", "deny"), remote.new("submit")]
    with SQLiteStore(path) as store:
        syncer = Synchronizer(remote.api, store)
        syncer.sync()
        syncer.create_version(ids[0], actor="alice")
        syncer.discard(ids[1], actor="carol", reason="typo")
        syncer.sync()
        events = list(store.events())
        registrations = list(syncer.registrations())

    with SQLiteStore(path) as reopened:
        again = Synchronizer(remote.api, reopened)
        assert list(again.registrations()) == registrations
        assert list(reopened.events()) == events
        for reg_id in ids:
            assert again.get(reg_id) == remote.truth(reg_id)
        report = again.sync()
        assert report.events == []
        # The summaries were kept: only the v2 DRAFT, which could be discarded without
        # its summary changing, is described again.
        assert report.unchanged == [ids[1]]
        assert report.api_calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 1}


class InFlight:
    """A RegistrationApi that delegates to the emulator and counts the
    DescribeRegistrationVersions requests in flight at once.

    The first requests wait (up to 30 s) until ``expect`` are in flight together,
    so a synchronizer that does use its concurrency reaches it whatever the
    machine's load; later ones just hold briefly, so any excess would overlap.
    """

    def __init__(self, inner: EmulatedRegistrationApi, expect: int) -> None:
        self.inner = inner
        self.expect = expect
        self.now = self.peak = 0
        self.cond = threading.Condition()
        self.pacer: Pacer | None = None

    @property
    def calls(self) -> Mapping[str, int]:
        return self.inner.calls

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        with self.cond:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.peak >= self.expect, timeout=30)
        try:
            time.sleep(0.01)
            items = list(
                self.inner.describe_registration_versions(
                    registration_id,
                    version_numbers=version_numbers,
                    filters=filters,
                    page_size=page_size,
                )
            )
        finally:
            with self.cond:
                self.now -= 1
        return iter(items)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_describe_versions_calls_run_with_bounded_concurrency(
    clock: TickingClock, concurrency: int
) -> None:
    emu = EmulatedRegistrationApi(clock=clock)
    for _ in range(16):
        emu.create_registration(REG_TYPE)
    probe = InFlight(emu, expect=concurrency)
    assert isinstance(probe, RegistrationApi)

    report = Synchronizer(probe, concurrency=concurrency).sync()

    assert len(report.changed) == 16
    assert probe.peak == concurrency  # used, and never exceeded


@pytest.mark.parametrize(("rate", "in_flight"), [(1.0, 2), (2.5, 5), (100.0, 8)])
def test_pulls_in_flight_are_what_the_pacer_lets_through_in_two_seconds(
    clock: TickingClock, rate: float, in_flight: int
) -> None:
    # More would only wait for the pacer's slots, and Ctrl-C waits for those in flight:
    # at AWS's default 1 request per second, two.
    emu = EmulatedRegistrationApi(clock=clock)
    for _ in range(16):
        emu.create_registration(REG_TYPE)
    probe = InFlight(emu, expect=in_flight)
    probe.pacer = Pacer({"DescribeRegistrationVersions": rate})  # as Boto3RegistrationApi's

    syncer = Synchronizer(probe, concurrency=8)
    report = syncer.sync()

    assert len(report.changed) == 16
    assert probe.peak == in_flight == syncer.workers()


@pytest.mark.parametrize("bad", [0, 65, 2.0, True])
def test_concurrency_and_page_size_are_checked(bad: object) -> None:
    emu = EmulatedRegistrationApi()
    with pytest.raises(InvalidArgument, match="concurrency"):
        Synchronizer(emu, concurrency=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="page_size"):
        Synchronizer(emu, page_size=bad if bad != 65 else 101)  # type: ignore[arg-type]


def test_subscribers_get_every_event_saved(remote: Remote) -> None:
    syncer = Synchronizer(remote.api, MemoryStore())
    got: list[TransitionEvent] = []
    unsubscribe = syncer.subscribe(got.append)
    reg_id = remote.new("submit", "begin_review", "deny")
    syncer.sync()
    syncer.create_version(reg_id, actor="alice")
    syncer.submit(reg_id, actor="alice")
    remote.drive(reg_id, "begin_review", "approve")
    syncer.sync()
    assert got == list(syncer.store.events())
    assert len(got) == 8

    unsubscribe()
    syncer.create_version(reg_id)
    syncer.sync()
    assert len(got) == 8
    assert len(list(syncer.store.events())) == 9


def test_a_failing_subscriber_does_not_undo_the_sync(remote: Remote) -> None:
    syncer = Synchronizer(remote.api)
    got: list[TransitionEvent] = []

    def broken(event: TransitionEvent) -> None:
        raise RuntimeError("down")

    syncer.subscribe(broken)
    syncer.subscribe(got.append)
    reg_id = remote.new("submit")

    with pytest.raises(SubscriberError) as err:
        syncer.sync()

    assert [type(e) for e in err.value.errors] == [RuntimeError, RuntimeError]
    assert got == list(syncer.store.events())
    assert len(got) == 2
    assert syncer.get(reg_id) == remote.truth(reg_id)


def test_a_failing_pull_is_reported_and_leaves_the_local_state_untouched(
    remote: Remote,
) -> None:
    bad, good = remote.new("submit"), remote.new("submit")
    syncer = Synchronizer(remote.api)
    syncer.sync()
    stored = syncer.store.get(bad)
    events = list(syncer.store.events())
    remote.drive(bad, "begin_review")
    remote.drive(good, "begin_review")
    remote.force(bad, 1, "feedback", 42)  # malformed

    report = syncer.sync()

    assert list(report.failed) == [bad]
    assert "InvalidApiData" in report.failed[bad]
    assert "Feedback" in report.failed[bad]
    assert report.changed == [good]
    assert [e.registration_id for e in report.events] == [good]
    assert syncer.store.get(bad) == stored  # same state, summary and revision
    assert list(syncer.store.events())[: len(events)] == events

    remote.force(bad, 1, "feedback", None)
    retried = syncer.sync()  # the old summary was kept, so the registration is pulled again
    assert retried.failed == {}
    assert bad in retried.changed
    assert [e.trigger for e in retried.events] == ["begin_review"]
    assert syncer.get(bad) == remote.truth(bad)


def test_the_report_is_json_ready(remote: Remote) -> None:
    import json

    remote.new("submit")
    report = Synchronizer(remote.api).sync()
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {
        "events", "anomalies", "changed", "unchanged", "resumed", "deleted", "not_found",
        "failed", "api_calls", "requests_per_registration",
    }  # fmt: skip
    # One list page, one describe, and the submitted version's field values.
    assert data["requests_per_registration"] == 3.0
    assert [e["trigger"] for e in data["events"]] == ["create", "submit"]
    assert data["events"][0]["origin"] == "remote"
    assert isinstance(report, SyncReport)
