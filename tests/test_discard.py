"""Discard: built-in and user guards, every refusal reported, nothing changed."""

from __future__ import annotations

import pytest
from support import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    ConflictError,
    DiscardNotAllowed,
    DiscardPolicy,
    GuardContext,
    InvalidArgument,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.domain.guards import require_reason

V = VersionStatus


def _submitted(clock: TickingClock) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    reg.fire("submit", clock=clock)
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
    with pytest.raises(DiscardNotAllowed) as err:
        reg.discard(clock=clock)
    assert [g.name for g in err.value.failed_guards] == ["status_is_discardable"]
    assert "only SUBMITTED can be discarded" in err.value.failed_guards[0].message
    assert _snapshot(reg) == before
    reg.discard(clock=clock, policy=DiscardPolicy.allow_draft())
    assert reg.current_version.status == V.DISCARDED


def test_every_failed_guard_is_reported(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    reg.status = RegistrationStatus.CLOSED
    before = _snapshot(reg)
    with pytest.raises(DiscardNotAllowed) as err:
        reg.discard(actor="bob", guards=[require_reason, second_approver], clock=clock)
    refusal = err.value
    assert isinstance(refusal, ConflictError)
    assert refusal.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert {g.name: g.message for g in refusal.failed_guards} == {
        "status_is_discardable": "version 1 is DRAFT; only SUBMITTED can be discarded",
        "registration_is_open": f"registration {REG_ID} is CLOSED",
        "require_reason": "a reason is required",
        "second_approver": "a second approver must sign off (carol)",
    }
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

    with pytest.raises(DiscardNotAllowed) as err:
        reg.discard(guards=[crashing, sloppy], clock=clock)
    messages = [g.message for g in err.value.failed_guards]
    assert messages == [
        "guard raised LookupError: approvals DB unreachable",
        "guard returned False; expected None or a message",
    ]
    assert reg.current_version.status == V.SUBMITTED


def test_guards_must_be_callable_and_policies_must_fit_the_table(clock: TickingClock) -> None:
    reg = _submitted(clock)
    with pytest.raises(InvalidArgument, match="callables"):
        reg.discard(guards=["nope"], clock=clock)  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="no discard edge from REVIEWING"):
        DiscardPolicy(frozenset({V.REVIEWING}))
    assert reg.current_version.status == V.SUBMITTED


def test_fire_discard_goes_through_the_guards(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    with pytest.raises(DiscardNotAllowed):
        reg.fire("discard", clock=clock)


def test_discard_refusals_is_a_dry_run(clock: TickingClock) -> None:
    reg = _submitted(clock)
    assert reg.discard_refusals() == []
    assert [g.name for g in reg.discard_refusals(guards=[require_reason])] == ["require_reason"]
    assert reg.current_version.status == V.SUBMITTED
