"""Registration: the aggregate's invariants, its status, and event delivery."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    ApiError,
    CommandRefused,
    InvalidArgument,
    InvalidArgumentType,
    Registration,
    RegistrationStatus,
    SubscriberError,
    TransitionEvent,
    VersionStatus,
)

V, R = VersionStatus, RegistrationStatus


def _registration(clock: TickingClock) -> Registration:
    return Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api())


def _approve_current(reg: Registration, clock: TickingClock) -> None:
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    reg.approve(clock=clock)


def test_new_registration(clock: TickingClock) -> None:
    reg = _registration(clock)
    assert reg.status == R.CREATED
    assert reg.current_version_number == 1
    assert reg.current_version.status == V.DRAFT
    assert reg.created == reg.current_version.history.draft
    assert reg.approved_version_number is None
    assert reg.latest_denied_version_number is None
    assert reg.invariant_violations() == []


def test_new_validates_its_arguments(clock: TickingClock) -> None:
    with pytest.raises(InvalidArgument, match="RegistrationType"):
        Registration.new(REG_ID, REG_ARN, "bad type", clock=clock)
    with pytest.raises(InvalidArgument, match="RegistrationId"):
        Registration.new("", REG_ARN, REG_TYPE, clock=clock)


def test_create_version_needs_a_closed_current_version(clock: TickingClock) -> None:
    reg = _registration(clock)
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.create_version(clock=clock)
    assert not isinstance(err.value, ApiError), "a local refusal is not an answer of the API"
    assert err.value.reason == "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"
    assert err.value.resource_id == REG_ID
    assert [r.name for r in err.value.refusals] == ["lifecycle"]
    assert "a new version needs a closed current version" in str(err.value)
    assert _snapshot(reg) == before
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    reg.deny(clock=clock)
    event = reg.create_version(clock=clock, actor="bob")
    assert reg.current_version_number == 2
    assert reg.current_version.status == V.DRAFT
    assert (event.trigger, event.source, event.dest, event.actor) == (
        "create",
        None,
        V.DRAFT,
        "bob",
    )
    assert event.version_number == 2
    assert reg.latest_denied_version_number == 1


def test_submit_only_on_a_current_draft(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock)
    with pytest.raises(CommandRefused) as err:
        reg.submit(clock=clock)
    assert err.value.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    assert [r.name for r in err.value.refusals] == ["lifecycle"]
    assert "v1 is SUBMITTED" in err.value.refusals[0].message


def test_approving_a_newer_version_archives_the_older(clock: TickingClock) -> None:
    reg = _registration(clock)
    events: list[TransitionEvent] = []
    reg.subscribe(events.append)
    _approve_current(reg, clock)
    reg.create_version(clock=clock)
    assert reg.status == R.COMPLETE, "an approved registration with a new draft stays COMPLETE"
    _approve_current(reg, clock)
    assert reg.versions[1].status == V.ARCHIVED
    assert reg.versions[2].status == V.APPROVED
    assert reg.versions[1].history.archived == reg.versions[2].history.approved
    assert reg.approved_version_number == 2
    assert [(e.version_number, e.trigger) for e in events[-2:]] == [(2, "approve"), (1, "archive")]
    assert events[-1].reason == "version 2 was approved"
    assert reg.invariant_violations() == []


def test_revoke_concerns_the_approved_version(clock: TickingClock) -> None:
    reg = _registration(clock)
    _approve_current(reg, clock)
    reg.create_version(clock=clock)
    event = reg.revoke(clock=clock)
    assert event.version_number == 1
    assert reg.versions[1].status == V.REVOKED
    assert reg.status == R.REQUIRES_UPDATES
    assert reg.invariant_violations() == []


def test_an_older_version_cannot_reopen(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    reg.deny(clock=clock)
    reg.create_version(clock=clock)
    with pytest.raises(CommandRefused):
        reg.fire("begin_review", version=1, clock=clock)
    with pytest.raises(InvalidArgument, match="has no version 7"):
        reg.fire("submit", version=7, clock=clock)


@pytest.mark.parametrize(
    ("triggers", "status"),
    [
        ((), R.CREATED),
        (("submit",), R.SUBMITTED),
        (("submit:aws",), R.AWS_REVIEWING),
        (("submit", "begin_review"), R.REVIEWING),
        (("submit", "require_authentication"), R.REQUIRES_AUTHENTICATION),
        (("submit", "begin_review", "require_offline_review"), R.REVIEWING),
        (("submit", "begin_review", "approve"), R.COMPLETE),
        (("submit", "begin_review", "deny"), R.REQUIRES_UPDATES),
        (("submit", "discard"), R.REQUIRES_UPDATES),
        (("submit", "begin_review", "approve", "revoke"), R.REQUIRES_UPDATES),
    ],
)
def test_registration_status_follows_the_versions(
    triggers: tuple[str, ...], status: RegistrationStatus, clock: TickingClock
) -> None:
    reg = _registration(clock)
    for trigger in triggers:
        name, _, flag = trigger.partition(":")
        if name == "submit":
            reg.fire(name, clock=clock, aws_review=flag == "aws")
        else:
            reg.fire(name, clock=clock)
    assert reg.status == status


def test_a_raising_subscriber_does_not_undo_the_change(
    clock: TickingClock, caplog: pytest.LogCaptureFixture
) -> None:
    reg = _registration(clock)
    seen: list[str] = []

    def broken(event: TransitionEvent) -> None:
        raise RuntimeError("ticket system down")

    reg.subscribe(broken)
    reg.subscribe(lambda e: seen.append(e.trigger))
    with caplog.at_level(logging.ERROR), pytest.raises(SubscriberError) as err:
        reg.submit(clock=clock)
    assert reg.current_version.status == V.SUBMITTED
    assert seen == ["submit"], "the other subscribers still get the event"
    assert err.value.event.trigger == "submit"
    assert isinstance(err.value.errors[0], RuntimeError)
    assert "ticket system down" in caplog.text


def test_unsubscribe(clock: TickingClock) -> None:
    reg = _registration(clock)
    seen: list[TransitionEvent] = []
    stop = reg.subscribe(seen.append)
    reg.submit(clock=clock)
    stop()
    reg.begin_review(clock=clock)
    assert [e.trigger for e in seen] == ["submit"]
    stop()  # a second call is harmless
    with pytest.raises(InvalidArgumentType, match="subscriber must be callable"):
        reg.subscribe("not callable")  # type: ignore[arg-type]


def test_deleted_registration_refuses_triggers(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.delete(clock=clock)
    before = _snapshot(reg)
    with pytest.raises(CommandRefused, match="is DELETED"):
        reg.submit(clock=clock)
    with pytest.raises(CommandRefused, match="is DELETED") as err:
        reg.create_version(clock=clock)
    assert err.value.reason == "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"
    assert reg.current_version.status == V.DRAFT
    assert _snapshot(reg) == before


def test_events_serialise_to_json_and_back(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock, actor="a", metadata={"ticket": "T-7"})
    reg.begin_review(clock=clock)
    event = reg.deny(clock=clock, denied_reasons=[{"Reason": "R", "ShortDescription": "s"}])
    assert TransitionEvent.from_dict(event.to_dict()) == event
    assert "v1 REVIEWING -> DENIED (deny)" in event.describe()
    deleted = reg.delete(clock=clock, actor="a", reason="gone")
    assert TransitionEvent.from_dict(deleted.to_dict()) == deleted
    assert deleted.describe() == "registration REQUIRES_UPDATES -> DELETED (delete) by a: gone"


def test_refusals_ignore_the_local_clock(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=lambda: clock.now + timedelta(days=1))  # the API's clock is ahead
    assert reg.refusals("begin_review") == [], "a local clock behind the API's does not refuse"
    assert [r.name for r in reg.refusals("submit")] == ["lifecycle"]
    assert reg.current_version.status == V.SUBMITTED
