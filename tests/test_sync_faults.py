"""Sync under injected faults: repeated syncs converge to the emulator, losing and
duplicating nothing.

The emulator is served over HTTP with seeded faults (throttling, 5xx, dropped
connections) and a real boto3 client (standard retry mode, two attempts) talks to
it, so some requests fail even after botocore's retries. Between syncs the
emulator goes through AWS-side events (``advance``) and API changes made both by
"another client" (in process, not faulted) and by the synchronizer's own commands
(over the faulted HTTP front). The emulator's own ``Registration`` objects are the
truth: after each round, every local registration must equal the emulator's, and
its stored event log must be exactly the transitions the emulator made, each once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    CommandRefused,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.emulator import EmulatedRegistrationApi, Faults, serve
from registration_fsm.errors import ApiError, ApiUnavailable
from registration_fsm.store import MemoryStore
from registration_fsm.sync import Synchronizer, SyncReport

ROUNDS = 10
START_WITH = 8
#: AWS-side triggers, the common ones first (tried in a shuffled, weighted order).
AWS_STEPS = {
    "begin_review": 6,
    "approve": 4,
    "deny": 3,
    "require_authentication": 2,
    "authenticate": 3,
    "require_offline_review": 2,
    "revoke": 1,
    "archive": 1,
}

Status = VersionStatus | RegistrationStatus
Key = tuple[int | None, str, Status | None, Status, datetime | None]


def key(event: TransitionEvent) -> Key:
    # REQUIRES_OFFLINE_REVIEW has no history field and a deletion no time at all: the
    # API never says when they happened, so the sync dates them by when it saw them.
    undated = event.trigger in ("require_offline_review", "delete")
    when = None if undated else event.timestamp
    return (event.version_number, event.trigger, event.source, event.dest, when)


class Truth:
    """Every transition the emulator makes, per registration (its objects kept after delete)."""

    def __init__(self, emu: EmulatedRegistrationApi) -> None:
        self.emu = emu
        self.registrations: dict[str, Registration] = {}
        self.events: dict[str, list[TransitionEvent]] = {}

    def track_new(self) -> None:
        """Start following registrations created since the last call (before they change)."""
        for info in self.emu.describe_registrations():
            reg_id = info["RegistrationId"]
            if reg_id not in self.registrations:
                reg = self.emu._resolve(reg_id).registration
                assert len(reg.versions) == 1, "tracked too late"
                self.registrations[reg_id] = reg
                self.events[reg_id] = [reg.versions[1].created_event()]
                reg.subscribe(self.events[reg_id].append)

    def live(self) -> list[str]:
        return [i for i, r in self.registrations.items() if r.status != RegistrationStatus.DELETED]


def converge(syncer: Synchronizer, full: bool, stats: dict[str, int]) -> list[SyncReport]:
    """Sync until one sync saw every registration; the reports of every sync made.

    Incremental: plain ``sync()`` again and again (a failed pull must be retried by
    the next one). Full: a full sync, then full syncs of the registrations that
    failed, which an incremental one would skip if their summary did not change.
    """
    reports: list[SyncReport] = []
    todo: list[str] | None = None  # None: everything
    for _ in range(40):
        stats["syncs"] += 1
        try:
            report = syncer.sync(todo, full=full)
        except ApiError:  # DescribeRegistrations itself failed after the retries
            stats["failed_syncs"] += 1
            continue
        reports.append(report)
        stats["failed_pulls"] += len(report.failed)
        if not report.failed:
            return reports
        if full:
            todo = sorted(report.failed)
    pytest.fail("no convergence after 40 syncs")


def command(syncer: Synchronizer, reg_id: str, rng: random.Random) -> str:
    """One command the local state allows, through the faulted HTTP front."""
    local = syncer.get(reg_id)
    status = local.current_version.status
    if status == VersionStatus.DRAFT:
        syncer.submit(reg_id, aws_review=rng.random() < 0.3, actor="alice")
        return "submit"
    if status == VersionStatus.SUBMITTED and rng.random() < 0.5:
        syncer.discard(reg_id, actor="carol", reason="second thoughts")
        return "discard"
    if not status.is_open and rng.random() < 0.9:
        syncer.create_version(reg_id, actor="alice")
        return "create_version"
    if rng.random() < 0.15 and not local.refusals("delete"):  # never while REVIEWING
        syncer.delete(reg_id, actor="alice")
        return "delete"
    return "none"


def aws_step(emu: EmulatedRegistrationApi, reg_id: str, rng: random.Random, offline: bool) -> None:
    """One AWS-side event the registration's state allows (tries triggers in a random order)."""
    triggers = [t for t in AWS_STEPS if offline or t != "require_offline_review"]
    order = sorted(triggers, key=lambda t: rng.random() ** (1 / AWS_STEPS[t]), reverse=True)
    for trigger in order:
        details = {"denied_reasons": [{"Reason": "R", "ShortDescription": "S"}]}
        try:
            emu.advance(reg_id, trigger, **(details if trigger == "deny" else {}))
        except CommandRefused:
            continue
        return


def other_client_step(emu: EmulatedRegistrationApi, reg_id: str, rng: random.Random) -> None:
    """A customer change made by another client, straight on the emulator (no faults)."""
    reg = emu._resolve(reg_id).registration
    status = reg.current_version.status
    if status == VersionStatus.DRAFT:
        emu.submit_registration_version(reg_id, aws_review=rng.random() < 0.3)
    elif status == VersionStatus.SUBMITTED and rng.random() < 0.3:
        emu.discard_registration_version(reg_id)
    elif not status.is_open:
        emu.create_registration_version(reg_id)
        if rng.random() < 0.5:
            emu.submit_registration_version(reg_id)


@pytest.fixture
def faults(request: pytest.FixtureRequest) -> Faults:
    """The faults of the long run, unless a test parametrizes others (indirectly)."""
    settings: dict[str, Any] = getattr(request, "param", None) or {
        "seed": 20260101,
        "throttle_rate": 0.2,
        "error_rate": 0.05,
        "drop_rate": 0.05,
    }
    return Faults(**settings)


@pytest.fixture
def emu(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=21)


@pytest.fixture
def registration_emulator(emu: EmulatedRegistrationApi) -> EmulatedRegistrationApi:
    """The plugin's fixtures serve this module's emulator..."""
    return emu


@pytest.fixture
def registration_emulator_url(emu: EmulatedRegistrationApi, faults: Faults) -> Iterator[str]:
    """...with seeded faults; ``registration_api`` (boto3, standard retries, two
    attempts) talks to it."""
    with serve(emu, faults=faults) as url:
        yield url


@pytest.fixture
def api(registration_api: Boto3RegistrationApi) -> Boto3RegistrationApi:
    return registration_api


@pytest.mark.slow
def test_repeated_syncs_converge_with_no_lost_or_duplicated_events(
    emu: EmulatedRegistrationApi,
    api: Boto3RegistrationApi,
    faults: Faults,
    record_property: Callable[[str, object], None],
) -> None:
    rng = random.Random(7)
    truth = Truth(emu)
    for _ in range(START_WITH):
        emu.create_registration(REG_TYPE)
    truth.track_new()
    syncer = Synchronizer(api, MemoryStore(), concurrency=8)
    stats = dict.fromkeys(("syncs", "failed_syncs", "failed_pulls", "command_errors"), 0)
    stats["commands"] = 0
    converge(syncer, full=False, stats=stats)

    for round_no in range(ROUNDS):
        # The offline review leaves the DescribeRegistrations summary unchanged: only a
        # full sync sees it, so it happens only in rounds that end with one.
        full = round_no % 3 == 2
        # 1. The synchronizer's own commands, over the faulted HTTP front.
        for reg_id in rng.sample(truth.live(), k=min(3, len(truth.live()))):
            try:
                stats["commands"] += command(syncer, reg_id, rng) != "none"
            except ApiError:  # failed after the retries: nothing was applied anywhere
                stats["command_errors"] += 1
        if rng.random() < 0.5:
            try:
                syncer.create(REG_TYPE)
            except ApiError:
                stats["command_errors"] += 1
        truth.track_new()
        # 2. AWS's part and another client's changes, straight on the emulator.
        touched = set()
        for reg_id in rng.sample(truth.live(), k=max(1, len(truth.live()) * 2 // 3)):
            touched.add(reg_id)
            steps = ["aws", "other client"]
            rng.shuffle(steps)
            for step in steps[: rng.choice((1, 2))]:
                if step == "aws":
                    aws_step(emu, reg_id, rng, offline=full)
                else:
                    other_client_step(emu, reg_id, rng)
        emu.create_registration(REG_TYPE)
        truth.track_new()
        # Delete only what did not change since the last sync: changes made just before
        # a deletion are gone with the registration (the API no longer shows them).
        untouched = [i for i in truth.live() if i not in touched and syncer.store.get(i)]
        if untouched and round_no % 3 == 1:
            emu.delete_registration(rng.choice(untouched))
        # 3. Sync until every registration was seen; then local == remote, exactly.
        converge(syncer, full=full, stats=stats)
        check(syncer, truth, round_no)

    # Nothing left to do: a sync (retried until it gets through) makes no events.
    assert all(r.events == [] for r in converge(syncer, full=True, stats=stats))

    injected = dict(faults.injected)
    figures = {
        **stats,
        "registrations": len(truth.registrations),
        "events": sum(len(e) for e in truth.events.values()),
        "requests_served": sum(emu.calls.values()),
        **{f"injected_{k}": v for k, v in injected.items()},
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\nfault run:", ", ".join(f"{k}={v}" for k, v in figures.items()))
    # The run really was faulty, and really exercised the lifecycle.
    assert injected["throttle"] >= 10
    assert injected["error"] >= 1
    assert injected["drop"] >= 1
    assert stats["failed_pulls"] + stats["failed_syncs"] + stats["command_errors"] >= 1
    triggers = {e.trigger for events in truth.events.values() for e in events}
    assert {"submit", "begin_review", "approve", "deny", "discard", "create"} <= triggers
    assert any(r.status == RegistrationStatus.DELETED for r in truth.registrations.values())


def check(syncer: Synchronizer, truth: Truth, round_no: int) -> None:
    for reg_id, remote in truth.registrations.items():
        where = f"round {round_no}, {reg_id}"
        local = syncer.get(reg_id)
        assert local == remote, where
        stored = [key(e) for e in syncer.store.events(reg_id)]
        made = [key(e) for e in truth.events[reg_id]]
        assert stored == made, where  # each transition once, in order: none lost or doubled
        assert all(e.anomaly is None for e in syncer.store.events(reg_id)), where


@pytest.mark.parametrize("faults", [{"drop_rate": 1.0}], indirect=True)
def test_a_sync_that_cannot_reach_the_api_changes_nothing(
    emu: EmulatedRegistrationApi, api: Boto3RegistrationApi, faults: Faults
) -> None:
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    store = MemoryStore()
    with pytest.raises(ApiUnavailable):
        Synchronizer(api, store).sync()
    assert store.ids() == []
    with pytest.raises(ApiUnavailable):
        Synchronizer(api, store).submit(reg_id)
    assert faults.injected["drop"] == 4  # two requests, each tried twice, all dropped
    assert dict(emu.calls) == {"CreateRegistration": 1}  # no dropped request reached it
    assert store.ids() == []
    assert emu._resolve(reg_id).registration.current_version.status == VersionStatus.DRAFT
