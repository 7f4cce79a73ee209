"""Following AWS: wait_for polls one registration; EventBridge events re-sync just one."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from registration_fsm import RegistrationStatus, VersionStatus
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    InvalidEvent,
    InvalidRegistrationId,
    NotFoundError,
    StatusUnreachable,
    WaitTimeout,
)
from registration_fsm.sync import Synchronizer

TYPE = "US_TEN_DLC_BRAND_REGISTRATION"


@pytest.fixture
def world() -> tuple[EmulatedRegistrationApi, Synchronizer, str]:
    api = EmulatedRegistrationApi(seed=3)
    syncer = Synchronizer(api)
    reg = syncer.create(TYPE)
    syncer.submit(reg.id)
    return api, syncer, reg.id


def test_wait_for_returns_once_the_status_is_reached(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    api, syncer, rid = world
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # AWS acts while we sleep
        slept.append(seconds)
        api.advance(rid, ["begin_review", "approve"][len(slept) - 1])

    reg = syncer.wait_for(rid, {VersionStatus.APPROVED}, poll=1, sleep=sleep, seed=1)
    assert reg.current_version.status == VersionStatus.APPROVED
    assert reg.status == RegistrationStatus.COMPLETE
    assert len(slept) == 2
    assert 0.9 <= slept[0] <= 1.1, "first pause is poll, with jitter"
    assert 1.35 <= slept[1] <= 1.65, "then it backs off"
    triggers = [e.trigger for e in syncer.store.events(rid)]
    assert triggers == ["create", "submit", "begin_review", "approve"], "seen through sync"


def test_wait_for_times_out_naming_the_last_status(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    _api, syncer, rid = world
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(WaitTimeout) as err:
        syncer.wait_for(rid, {"COMPLETE"}, timeout=30, poll=4, clock=lambda: now[0], sleep=sleep)
    assert err.value.last_status == "SUBMITTED"
    assert err.value.last_version_status == "SUBMITTED"
    assert "did not reach COMPLETE" in str(err.value)
    assert now[0] == pytest.approx(30, abs=0.01), "never sleeps past the deadline"


def test_wait_for_with_real_sleep_and_a_background_approval(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    api, syncer, rid = world
    api.advance(rid, "begin_review")
    timer = threading.Timer(0.05, lambda: api.advance(rid, "deny"))
    timer.start()
    # The default clock and sleep; the timeout only bounds a hang (it returns at the deny).
    reg = syncer.wait_for(rid, {"DENIED", RegistrationStatus.COMPLETE}, timeout=120, poll=0.01)
    timer.join()
    assert reg.current_version.status == VersionStatus.DENIED


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"statuses": "APPROVED"}, InvalidArgumentType, "collection of statuses"),
        ({"statuses": set()}, InvalidArgument, "at least one status"),
        ({"statuses": {"NOPE"}}, InvalidArgument, "not a registration or version status"),
        ({"statuses": {"APPROVED"}, "timeout": 0}, InvalidArgument, "timeout"),
        ({"statuses": {"APPROVED"}, "timeout": "5"}, InvalidArgumentType, "timeout"),
        ({"statuses": {"APPROVED"}, "jitter": 2}, InvalidArgument, "jitter"),
        ({"statuses": {"APPROVED"}, "backoff": 0.5}, InvalidArgument, "backoff"),
    ],
)
def test_wait_for_refuses_bad_arguments_before_any_request(
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    api, syncer, rid = world
    before = dict(api.calls)
    with pytest.raises(error, match=match):
        syncer.wait_for(rid, **kwargs)
    assert dict(api.calls) == before


class FakeTime:
    """``wait_for``'s clock and sleep: sleeping moves the clock, nothing really waits
    (a wait_for that went on polling would end in WaitTimeout, never hang)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_wait_for_an_id_the_api_does_not_know_fails_at_once(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    _api, syncer, _rid = world
    unknown = "registration-" + "f" * 32
    time = FakeTime()

    with pytest.raises(NotFoundError) as err:
        syncer.wait_for(unknown, {VersionStatus.APPROVED}, clock=time.clock, sleep=time.sleep)

    assert time.slept == [], "not one poll more: the id will not appear"
    assert err.value.resource_id == unknown
    assert syncer.store.get(unknown) is None
    with pytest.raises(InvalidRegistrationId):
        syncer.wait_for("not an id", {VersionStatus.APPROVED}, clock=time.clock, sleep=time.sleep)


@pytest.mark.parametrize(
    ("steps", "wanted", "now"),
    [
        (["discard"], {VersionStatus.APPROVED}, "v1 DISCARDED"),
        (["begin_review", "deny"], {RegistrationStatus.COMPLETE}, "v1 DENIED"),
        (["begin_review", "approve", "revoke"], {"REVIEWING"}, "v1 REVOKED"),
    ],
)
def test_wait_for_a_status_that_can_no_longer_come_fails_at_once(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
    steps: list[str],
    wanted: set[RegistrationStatus | VersionStatus | str],
    now: str,
) -> None:
    api, syncer, rid = world  # v1 SUBMITTED
    for step in steps:  # another client, or AWS: the local copy has not seen it
        if step == "discard":
            api.discard_registration_version(rid)
        else:
            api.advance(rid, step)
    time = FakeTime()

    with pytest.raises(StatusUnreachable) as err:
        syncer.wait_for(rid, wanted, clock=time.clock, sleep=time.sleep)

    assert time.slept == [], "no poll can help: a closed version never moves on"
    assert err.value.registration_id == rid
    assert err.value.wanted == tuple(sorted(str(s) for s in wanted))
    assert now in err.value.now
    assert syncer.get(rid).current_version.status == VersionStatus(now.split()[1])  # synced


def test_wait_for_stops_as_soon_as_a_poll_shows_the_status_unreachable(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    api, syncer, rid = world
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # AWS denies during the first pause
        slept.append(seconds)
        now[0] += seconds
        api.advance(rid, "begin_review")
        api.advance(rid, "deny")

    with pytest.raises(StatusUnreachable, match="APPROVED"):
        syncer.wait_for(rid, {"APPROVED"}, poll=5, clock=lambda: now[0], sleep=sleep)
    assert len(slept) == 1


def _event(rid: str, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Registration Status Change",
        "source": "aws.sms-voice",
        "account": "123456789012",
        "time": "2026-03-02T10:17:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:sms-voice:us-east-1:123456789012:registration/{rid}"],
        "detail": {},
    }
    event.update(overrides)
    return event


def test_handle_event_resyncs_only_the_named_registration(
    world: tuple[EmulatedRegistrationApi, Synchronizer, str],
) -> None:
    api, syncer, rid = world
    other = syncer.create(TYPE).id
    api.advance(rid, "begin_review")
    before = dict(api.calls)
    report = syncer.handle_event(_event(rid))
    assert report.changed == [rid]
    assert [e.trigger for e in report.events] == ["begin_review"]
    calls = {k: v - before.get(k, 0) for k, v in api.calls.items() if v != before.get(k, 0)}
    assert calls == {"DescribeRegistrations": 1, "DescribeRegistrationVersions": 1}
    assert syncer.get(other).current_version.status == VersionStatus.DRAFT
    by_detail = _event(rid, resources=[], detail={"registrationId": rid})
    assert syncer.handle_event(by_detail).events == []


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"resources": [], "detail": {}}, "names no registration"),
        ({"resources": ["arn:aws:sms-voice:us-east-1:1:phone-number/x"]}, "names no registration"),
        ({"source": "aws.ec2"}, "not 'aws.sms-voice'"),
        ({"detail": {"registrationId": "registration-other"}}, "several registrations"),
        ({"resources": ["arn:aws:sms-voice:us-east-1:1:registration/bad id"]}, "malformed"),
    ],
)
def test_an_event_without_a_usable_registration_is_refused_without_syncing(
    overrides: dict[str, Any], match: str, world: tuple[EmulatedRegistrationApi, Synchronizer, str]
) -> None:
    api, syncer, rid = world
    before = dict(api.calls)
    with pytest.raises(InvalidEvent, match=match):
        syncer.handle_event(_event(rid, **overrides))
    assert dict(api.calls) == before, "no request at all: never a full sync by accident"
    with pytest.raises(InvalidEvent, match="JSON object"):
        syncer.handle_event(["not", "an", "event"])  # type: ignore[arg-type]
