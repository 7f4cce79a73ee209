"""RegistrationVersion: timestamped transitions and refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from support import REG_ARN, REG_ID, TickingClock

from registration_fsm import (
    ClockError,
    EventCause,
    InvalidArgument,
    RegistrationVersion,
    StatusHistory,
    TransitionNotAllowed,
    VersionStatus,
)

V = VersionStatus


def _draft(clock: TickingClock) -> RegistrationVersion:
    return RegistrationVersion.new(REG_ID, REG_ARN, 1, clock=clock)


def test_new_version_is_a_stamped_draft(clock: TickingClock) -> None:
    version = _draft(clock)
    assert version.status == V.DRAFT
    assert version.history.draft == clock.now
    assert version.history.draft.tzinfo is UTC
    assert version.to_api()["RegistrationVersionStatusHistory"] == {"DraftTimestamp": clock.now}


def test_fire_moves_stamps_and_returns_the_event(clock: TickingClock) -> None:
    version = _draft(clock)
    event = version.fire("submit", clock=clock, actor="alice", reason="ready")
    assert version.status == V.SUBMITTED
    assert version.history.submitted == clock.now == event.timestamp
    assert event.registration_id == REG_ID
    assert event.version_number == 1
    assert (event.trigger, event.source, event.dest) == ("submit", V.DRAFT, V.SUBMITTED)
    assert (event.actor, event.reason, event.cause) == ("alice", "ready", EventCause.LOCAL)


def test_submit_with_aws_review_goes_to_aws_reviewing(clock: TickingClock) -> None:
    version = _draft(clock)
    event = version.fire("submit", clock=clock, aws_review=True)
    assert version.status == V.AWS_REVIEWING
    assert version.history.aws_reviewing == event.timestamp
    assert version.history.submitted is None
    assert event.details == {"aws_review": True}


def test_deny_records_reasons_and_feedback(clock: TickingClock) -> None:
    version = _draft(clock)
    version.fire("submit", clock=clock, aws_review=True)
    event = version.fire(
        "deny",
        clock=clock,
        denied_reasons=[{"Reason": "BRAND", "ShortDescription": "brand unknown"}],
        feedback="Use the legal company name.",
    )
    assert version.status == V.DENIED
    assert version.denied_reasons[0].reason == "BRAND"
    assert version.feedback == "Use the legal company name."
    assert version.to_api()["DeniedReasons"] == [
        {"Reason": "BRAND", "ShortDescription": "brand unknown"}
    ]
    assert event.details["denied_reasons"] == [
        {"Reason": "BRAND", "ShortDescription": "brand unknown"}
    ]


@pytest.mark.parametrize(
    ("details", "match"),
    [
        ({"denied_reasons": [{"Reason": "X"}]}, "ShortDescription"),
        ({"denied_reasons": "nope"}, "expected a list"),
        ({"feedback": 42}, "feedback must be a string"),
        ({"aws_review": "yes"}, "aws_review must be a bool"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(
    details: dict[str, Any], match: str, clock: TickingClock
) -> None:
    version = _draft(clock)
    version.fire("submit", clock=clock)
    version.fire("begin_review", clock=clock)
    before = version.to_api()
    with pytest.raises(InvalidArgument, match=match):
        version.fire("deny", clock=clock, **details)
    assert version.to_api() == before


def test_refusal_names_trigger_status_and_allowed(clock: TickingClock) -> None:
    version = _draft(clock)
    before = version.to_api()
    with pytest.raises(TransitionNotAllowed) as err:
        version.fire("approve", clock=clock)
    assert err.value.trigger == "approve"
    assert err.value.status == "DRAFT"
    assert err.value.allowed == ("submit", "discard")
    assert "'approve'" in str(err.value)
    assert "DRAFT" in str(err.value)
    assert "submit, discard" in str(err.value)
    assert version.to_api() == before


def test_clock_going_backwards_is_refused(clock: TickingClock) -> None:
    version = _draft(clock)
    version.fire("submit", clock=clock)
    before = version.to_api()
    earlier = clock.now - timedelta(seconds=1)
    with pytest.raises(ClockError, match="must not go backwards"):
        version.fire("begin_review", clock=lambda: earlier)
    assert version.to_api() == before
    # The same instant is allowed: AWS stamps several fields at once.
    same = clock.now
    version.fire("begin_review", clock=lambda: same)
    assert version.history.reviewing == same


def test_naive_or_non_datetime_clock_is_refused(clock: TickingClock) -> None:
    version = _draft(clock)
    with pytest.raises(ClockError, match="timezone-aware"):
        version.fire("submit", clock=lambda: datetime(2030, 1, 1))
    with pytest.raises(ClockError, match="must return a datetime"):
        version.fire("submit", clock=lambda: "now")  # type: ignore[arg-type,return-value]
    assert version.status == V.DRAFT


def test_clock_in_another_zone_is_stored_as_utc(clock: TickingClock) -> None:
    version = _draft(clock)
    local = (clock.now + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    version.fire("submit", clock=lambda: local)
    assert version.history.submitted == local
    assert version.history.submitted is not None
    assert version.history.submitted.tzinfo is UTC


def test_default_clock_is_now_utc() -> None:
    version = RegistrationVersion.new(REG_ID, REG_ARN)
    before = datetime.now(UTC)
    version.fire("submit")
    assert version.history.submitted is not None
    assert before <= version.history.submitted <= datetime.now(UTC)


def test_reentering_reviewing_keeps_the_later_time(clock: TickingClock) -> None:
    version = _draft(clock)
    for trigger in ("submit", "begin_review", "require_authentication", "authenticate"):
        version.fire(trigger, clock=clock)
    assert version.status == V.REVIEWING
    assert version.history.reviewing == clock.now
    assert version.anomalies == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"registration_id": "bad id!"}, "RegistrationId"),
        ({"number": 0}, "number"),
        ({"number": 100_001}, "number"),
        ({"status": "DRAFT"}, "status must be a VersionStatus"),
        ({"history": {"DraftTimestamp": 1}}, "history must be a StatusHistory"),
        ({"denied_reasons": ["x"]}, "denied_reasons"),
    ],
)
def test_direct_construction_validates(
    kwargs: dict[str, object], match: str, clock: TickingClock
) -> None:
    fields: dict[str, object] = {
        "registration_id": REG_ID,
        "registration_arn": REG_ARN,
        "number": 1,
        "status": V.DRAFT,
        "history": StatusHistory(draft=clock()),
    }
    fields.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        RegistrationVersion(**fields)  # type: ignore[arg-type]


def test_history_refuses_naive_and_converts_to_utc() -> None:
    with pytest.raises(ClockError, match="timezone-aware"):
        StatusHistory(draft=datetime(2026, 1, 1))
    eastern = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=-5)))
    assert StatusHistory(draft=eastern).draft == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert StatusHistory(draft=eastern).draft.tzinfo is UTC
