"""RegistrationVersion: an immutable value, moved (and stamped) only through its Registration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    ClockError,
    CommandRefused,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    Origin,
    Refusal,
    Registration,
    RegistrationVersion,
    StatusHistory,
    UnknownDetail,
    VersionStatus,
)

V = VersionStatus


def _draft(clock: TickingClock) -> RegistrationVersion:
    return RegistrationVersion.new(REG_ID, REG_ARN, 1, clock=clock)


def _registration(clock: TickingClock) -> Registration:
    return Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api())


def test_new_version_is_a_stamped_draft(clock: TickingClock) -> None:
    version = _draft(clock)
    assert version.status == V.DRAFT
    assert version.history.draft == clock.now
    assert version.history.draft.tzinfo is UTC
    assert version.to_api()["RegistrationVersionStatusHistory"] == {"DraftTimestamp": clock.now}


def test_created_event_of_a_version(clock: TickingClock) -> None:
    version = _draft(clock)
    event = version.created_event(actor="alice", reason="new brand", metadata={"ticket": "T-1"})
    assert (event.trigger, event.source, event.dest) == ("create", None, V.DRAFT)
    assert (event.version_number, event.timestamp) == (1, version.history.draft)
    assert (event.actor, event.reason, dict(event.metadata)) == (
        "alice",
        "new brand",
        {"ticket": "T-1"},
    )


def test_a_version_is_immutable(clock: TickingClock) -> None:
    version = _draft(clock)
    with pytest.raises(AttributeError):
        version.status = V.APPROVED  # type: ignore[misc]
    with pytest.raises(AttributeError):
        version.feedback = "x"  # type: ignore[misc]
    assert not hasattr(version, "fire"), "versions change only through their Registration"
    assert version.status == V.DRAFT


def test_moving_through_the_registration_swaps_in_a_new_version(clock: TickingClock) -> None:
    reg = _registration(clock)
    before = reg.current_version
    event = reg.submit(clock=clock, actor="alice", reason="ready")
    after = reg.current_version
    assert before.status == V.DRAFT, "the old value is untouched"
    assert before.history.submitted is None
    assert after is not before
    assert after.status == V.SUBMITTED
    assert after.history.submitted == clock.now == event.timestamp
    assert after.history.draft == before.history.draft
    assert event.registration_id == REG_ID
    assert event.version_number == 1
    assert (event.trigger, event.source, event.dest) == ("submit", V.DRAFT, V.SUBMITTED)
    assert (event.actor, event.reason, event.origin) == ("alice", "ready", Origin.LOCAL)


def test_submit_with_aws_review_goes_to_aws_reviewing(clock: TickingClock) -> None:
    reg = _registration(clock)
    event = reg.submit(aws_review=True, clock=clock)
    version = reg.current_version
    assert version.status == V.AWS_REVIEWING
    assert version.history.aws_reviewing == event.timestamp
    assert version.history.submitted is None
    assert event.details == {"aws_review": True}


def test_deny_records_reasons_and_feedback(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(aws_review=True, clock=clock)
    event = reg.deny(
        denied_reasons=[{"Reason": "BRAND", "ShortDescription": "brand unknown"}],
        feedback="Use the legal company name.",
        clock=clock,
    )
    version = reg.current_version
    assert version.status == V.DENIED
    assert version.denied_reasons[0].reason == "BRAND"
    assert version.feedback == "Use the legal company name."
    assert version.to_api()["DeniedReasons"] == [
        {"Reason": "BRAND", "ShortDescription": "brand unknown"}
    ]
    assert event.details["denied_reasons"] == [
        {"Reason": "BRAND", "ShortDescription": "brand unknown"}
    ]
    assert event.details["feedback"] == "Use the legal company name."


@pytest.mark.parametrize(
    ("trigger", "details", "match"),
    [
        ("deny", {"denied_reasons": [{"Reason": "X"}]}, "ShortDescription"),
        ("deny", {"denied_reasons": "nope"}, "expected a list"),
        ("deny", {"feedback": 42}, "feedback must be a string"),
        ("submit", {"aws_review": "yes"}, "aws_review must be a bool"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(
    trigger: str, details: dict[str, Any], match: str, clock: TickingClock
) -> None:
    reg = _registration(clock)
    if trigger == "deny":
        reg.submit(clock=clock)
        reg.begin_review(clock=clock)
    before = _snapshot(reg)
    with pytest.raises(InvalidArgumentType, match=match) as err:
        reg.fire(trigger, clock=clock, **details)
    assert isinstance(err.value, TypeError)
    assert "\n" not in str(err.value)
    assert _snapshot(reg) == before


def test_a_detail_of_another_trigger_is_unknown(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    before = _snapshot(reg)
    with pytest.raises(UnknownDetail, match="deny does not take 'aws_review'"):
        reg.fire("deny", clock=clock, aws_review=True)
    assert _snapshot(reg) == before


def test_refusal_names_the_check_the_status_and_what_is_allowed(clock: TickingClock) -> None:
    reg = _registration(clock)
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.approve(clock=clock)
    assert err.value.trigger == "approve"
    assert err.value.resource_id == REG_ID
    assert err.value.reason is None, "AWS's own approval has no ConflictException reason"
    assert err.value.refusals == (
        Refusal("lifecycle", "v1 is DRAFT; approve is not allowed from it (allowed: submit)"),
    )
    assert str(err.value).startswith(f"approve refused on {REG_ID}: lifecycle: v1 is DRAFT")
    assert _snapshot(reg) == before


def test_clock_going_backwards_is_refused(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock)
    before = _snapshot(reg)
    earlier = clock.now - timedelta(seconds=1)
    with pytest.raises(ClockError, match="must not go backwards"):
        reg.begin_review(clock=lambda: earlier)
    assert _snapshot(reg) == before
    # The same instant is allowed: AWS stamps several fields at once.
    same = clock.now
    reg.begin_review(clock=lambda: same)
    assert reg.current_version.history.reviewing == same


def test_naive_or_non_datetime_clock_is_refused(clock: TickingClock) -> None:
    reg = _registration(clock)
    with pytest.raises(ClockError, match="timezone-aware"):
        reg.submit(clock=lambda: datetime(2030, 1, 1))
    with pytest.raises(ClockError, match="must return a datetime"):
        reg.submit(clock=lambda: "now")  # type: ignore[arg-type,return-value]
    assert reg.current_version.status == V.DRAFT


def test_clock_in_another_zone_is_stored_as_utc(clock: TickingClock) -> None:
    reg = _registration(clock)
    local = (clock.now + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    reg.submit(clock=lambda: local)
    submitted = reg.current_version.history.submitted
    assert submitted == local
    assert submitted is not None
    assert submitted.tzinfo is UTC


def test_default_clock_is_now_utc() -> None:
    before = datetime.now(UTC)
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE)
    reg.submit()
    submitted = reg.current_version.history.submitted
    assert submitted is not None
    assert before <= reg.current_version.history.draft <= submitted <= datetime.now(UTC)


def test_reentering_reviewing_keeps_the_later_time(clock: TickingClock) -> None:
    reg = _registration(clock)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    first = reg.current_version.history.reviewing
    reg.require_authentication(clock=clock)
    reg.authenticate(clock=clock)
    version = reg.current_version
    assert version.status == V.REVIEWING
    assert version.history.reviewing == clock.now
    assert first is not None
    assert first < clock.now
    assert version.anomalies == ()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"registration_id": "bad id!"}, InvalidRegistrationId, "registration_id"),
        ({"number": 0}, InvalidArgument, "number"),
        ({"number": 100_001}, InvalidArgument, "number"),
        ({"number": "1"}, InvalidArgumentType, "number must be an int"),
        ({"status": "DRAFT"}, InvalidArgumentType, "status must be a VersionStatus"),
        ({"history": {"DraftTimestamp": 1}}, InvalidArgumentType, "history must be a Status"),
        ({"denied_reasons": ["x"]}, InvalidArgumentType, "denied_reasons"),
        ({"feedback": 3}, InvalidArgumentType, "feedback must be a string"),
    ],
)
def test_direct_construction_validates(
    kwargs: dict[str, object], error: type[Exception], match: str, clock: TickingClock
) -> None:
    fields: dict[str, object] = {
        "registration_id": REG_ID,
        "registration_arn": REG_ARN,
        "number": 1,
        "status": V.DRAFT,
        "history": StatusHistory(draft=clock()),
    }
    fields.update(kwargs)
    with pytest.raises(error, match=match):
        RegistrationVersion(**fields)  # type: ignore[arg-type]


def test_history_refuses_naive_and_converts_to_utc() -> None:
    with pytest.raises(ClockError, match="timezone-aware"):
        StatusHistory(draft=datetime(2026, 1, 1))
    eastern = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=-5)))
    assert StatusHistory(draft=eastern).draft == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert StatusHistory(draft=eastern).draft.tzinfo is UTC


def test_a_history_is_immutable(clock: TickingClock) -> None:
    history = StatusHistory(draft=clock())
    assert not hasattr(history, "set")
    later = clock()
    stamped = history.with_stamp("SubmittedTimestamp", later)
    assert history.submitted is None, "with_stamp returns a new history"
    assert stamped.submitted == later
    assert stamped.draft == history.draft
    with pytest.raises(AttributeError):
        history.submitted = later  # type: ignore[misc]
    with pytest.raises(ClockError, match="unknown history member"):
        history.with_stamp("PendingTimestamp", later)
