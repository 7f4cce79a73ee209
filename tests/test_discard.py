"""Discard: the lifecycle, the policy and user guards; every refusal reported, nothing changed."""

from __future__ import annotations

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    ApiError,
    CommandRefused,
    Edge,
    GuardContext,
    InvalidArgument,
    InvalidArgumentType,
    LifecyclePolicy,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
    require_reason,
)

V = VersionStatus


def _submitted(clock: TickingClock) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    reg.submit(clock=clock)
    return reg


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api())


def second_approver(ctx: GuardContext) -> str | None:
    return None if ctx.actor == "carol" else "a second approver must sign off (carol)"


def test_discard_of_a_submitted_version(clock: TickingClock) -> None:
    reg = _submitted(clock)
    seen: list[TransitionEvent] = []
    reg.subscribe(seen.append)
    event = reg.discard(actor="alice", reason="typo in the address", clock=clock)
    assert reg.current_version.status == V.DISCARDED
    assert reg.current_version.history.discarded == event.timestamp == clock.now
    assert (event.trigger, event.source, event.dest) == ("discard", V.SUBMITTED, V.DISCARDED)
    assert (event.actor, event.reason) == ("alice", "typo in the address")
    assert seen == [event]


def test_draft_is_refused_by_default_and_allowed_by_policy(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.discard(clock=clock)
    assert [r.name for r in err.value.refusals] == ["policy"]
    assert "DRAFT --discard--> DISCARDED is an optional edge" in err.value.refusals[0].message
    assert err.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert _snapshot(reg) == before
    reg.discard(clock=clock, policy=LifecyclePolicy.allow_draft_discard())
    assert reg.current_version.status == V.DISCARDED


def test_every_refusal_is_reported(clock: TickingClock) -> None:
    fresh = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    closed = fresh.to_api() | {"RegistrationStatus": "CLOSED"}
    reg = Registration.from_api(closed, fresh.versions_to_api())
    assert reg.status == RegistrationStatus.CLOSED
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.discard(actor="bob", guards=[require_reason, second_approver], clock=clock)
    refusal = err.value
    assert not isinstance(refusal, ApiError)
    assert refusal.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert [r.name for r in refusal.refusals] == [
        "registration_open",
        "policy",
        "require_reason",
        "second_approver",
    ]
    messages = {r.name: r.message for r in refusal.refusals}
    assert messages["registration_open"] == f"registration {REG_ID} is CLOSED"
    assert messages["require_reason"] == "a reason is required"
    assert messages["second_approver"] == "a second approver must sign off (carol)"
    assert "a reason is required" in str(refusal)
    assert _snapshot(reg) == before


def test_user_guards_allow_when_satisfied(clock: TickingClock) -> None:
    reg = _submitted(clock)
    reg.discard(
        actor="carol", reason="wrong EIN", guards=[require_reason, second_approver], clock=clock
    )
    assert reg.current_version.status == V.DISCARDED


def test_a_guard_that_raises_or_misbehaves_refuses(clock: TickingClock) -> None:
    reg = _submitted(clock)

    def crashing(ctx: GuardContext) -> str | None:
        raise LookupError("approvals DB unreachable")

    def sloppy(ctx: GuardContext) -> str | None:
        return False  # type: ignore[return-value]

    def empty(ctx: GuardContext) -> str | None:
        return ""

    with pytest.raises(CommandRefused) as err:
        reg.discard(guards=[crashing, sloppy, empty], clock=clock)
    assert [(r.name, r.message) for r in err.value.refusals] == [
        ("crashing", "guard raised LookupError: approvals DB unreachable"),
        ("sloppy", "guard returned False; expected None or a message"),
        ("empty", "guard returned ''; expected None or a message"),
    ]
    assert reg.current_version.status == V.SUBMITTED


def test_guards_must_be_callable_and_policies_must_fit_the_table(clock: TickingClock) -> None:
    reg = _submitted(clock)
    with pytest.raises(InvalidArgumentType, match="callables"):
        reg.discard(guards=["nope"], clock=clock)  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentType, match="sequence of callables"):
        reg.discard(guards=require_reason, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="not an optional edge"):
        LifecyclePolicy(frozenset({V.REVIEWING}))  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgument, match="SUBMITTED --discard--> DISCARDED is not an optional"
    ):
        LifecyclePolicy.allowing(Edge(V.SUBMITTED, "discard", V.DISCARDED))
    with pytest.raises(InvalidArgument, match="frozenset"):
        LifecyclePolicy({Edge(V.DRAFT, "discard", V.DISCARDED)})  # type: ignore[arg-type]
    assert reg.current_version.status == V.SUBMITTED


def test_discardable_statuses_follow_the_policy() -> None:
    assert LifecyclePolicy().discardable == {V.SUBMITTED}
    assert LifecyclePolicy.allow_draft_discard().discardable == {V.SUBMITTED, V.DRAFT}
    assert LifecyclePolicy.allow_draft_discard() == LifecyclePolicy.allowing(
        Edge(V.DRAFT, "discard", V.DISCARDED)
    )


def test_fire_discard_goes_through_the_same_checks(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    with pytest.raises(CommandRefused) as err:
        reg.fire("discard", clock=clock)
    assert [r.name for r in err.value.refusals] == ["policy"]
    with pytest.raises(CommandRefused) as err:
        reg.fire("discard", clock=clock, guards=[require_reason])
    assert [r.name for r in err.value.refusals] == ["policy", "require_reason"]


def test_refusals_is_a_dry_run(clock: TickingClock) -> None:
    reg = _submitted(clock)
    before = _snapshot(reg)
    assert reg.refusals("discard") == []
    assert [r.name for r in reg.refusals("discard", guards=[require_reason])] == ["require_reason"]
    assert reg.refusals("discard", reason="wrong EIN", guards=[require_reason]) == []
    assert _snapshot(reg) == before
