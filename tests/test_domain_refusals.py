"""``Registration.refusals``: the one way to ask "may I?" — every check named, every refusal
listed, nothing changed — and the guards every command takes."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    LIFECYCLE,
    CommandRefused,
    GuardContext,
    InvalidArgument,
    LifecyclePolicy,
    Refusal,
    Registration,
    TransitionEvent,
    VersionStatus,
    require_actor,
    require_metadata,
    require_reason,
)

V = VersionStatus
ALLOW_DRAFT = LifecyclePolicy.allow_draft_discard()


def _new(clock: TickingClock) -> Registration:
    return Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api(), reg.status)


def _in(clock: TickingClock, *steps: str) -> Registration:
    reg = _new(clock)
    for step in steps:
        reg.fire(step, clock=clock)
    return reg


#: For each trigger, the checks refusing it on a fresh registration (version 1 in DRAFT).
ON_A_DRAFT = {
    "create": ["lifecycle"],
    "submit": [],
    "begin_review": ["lifecycle"],
    "require_authentication": ["lifecycle"],
    "authenticate": ["lifecycle"],
    "require_offline_review": ["lifecycle"],
    "approve": ["lifecycle"],
    "deny": ["lifecycle"],
    "discard": ["policy"],
    "revoke": ["lifecycle"],
    "archive": ["lifecycle"],
    "provision": ["lifecycle"],
    "complete_provisioning": ["lifecycle"],
    "close": ["lifecycle"],
    "delete": [],
}


def test_the_table_covers_every_trigger() -> None:
    assert set(ON_A_DRAFT) == set(LIFECYCLE.triggers)


@pytest.mark.parametrize(("trigger", "names"), ON_A_DRAFT.items())
def test_refusals_of_every_trigger_on_a_draft(
    trigger: str, names: list[str], clock: TickingClock
) -> None:
    reg = _new(clock)
    before = _snapshot(reg)
    refusals = reg.refusals(trigger)
    assert [r.name for r in refusals] == names
    assert all(isinstance(r, Refusal) and r.message for r in refusals)
    assert _snapshot(reg) == before, "asking changes nothing"
    if names:
        with pytest.raises(CommandRefused) as err:
            reg.fire(trigger, clock=clock)
        assert list(err.value.refusals) == refusals, "the command says what refusals said"
        assert err.value.reason == LIFECYCLE.triggers[trigger].conflict_reason
        assert _snapshot(reg) == before
    else:
        reg.fire(trigger, clock=clock)
        assert _snapshot(reg) != before


@pytest.mark.parametrize(
    ("steps", "allowed"),
    [
        ((), {"submit", "delete"}),
        (("submit",), {"begin_review", "require_authentication", "discard", "delete"}),
        # REVIEWING: no delete ("You can't make any changes ... while it is in this state")
        (("submit", "begin_review"),
         {"require_authentication", "require_offline_review", "approve", "deny"}),
        (("submit", "begin_review", "approve"),
         {"create", "revoke", "archive", "close", "delete"}),
        (("submit", "discard"), {"create", "delete"}),
        (("submit", "begin_review", "deny"), {"create", "delete"}),
    ],
)  # fmt: skip
def test_refusals_are_empty_exactly_when_allowed(
    steps: tuple[str, ...], allowed: set[str], clock: TickingClock
) -> None:
    reg = _in(clock, *steps)
    assert {t for t in LIFECYCLE.triggers if not reg.refusals(t)} == allowed


def test_submit_details_select_the_edge_refusals_judge(clock: TickingClock) -> None:
    reg = _new(clock)
    assert reg.refusals("submit", aws_review=True) == []
    assert reg.refusals("submit", aws_review=False) == []
    reg.submit(clock=clock)
    assert [r.name for r in reg.refusals("submit", aws_review=True)] == ["lifecycle"]


def test_the_policy_is_asked(clock: TickingClock) -> None:
    reg = _new(clock)
    (refusal,) = reg.refusals("discard")
    assert refusal.name == "policy"
    assert "LifecyclePolicy.allowing(...) turns it on" in refusal.message
    assert reg.refusals("discard", policy=ALLOW_DRAFT) == []


def test_every_refusal_is_listed(clock: TickingClock) -> None:
    """Registration CLOSED, an older version left open by the API, an optional edge, and three
    guards: every check that says no is named, in order."""
    fresh = _new(clock)
    v1 = fresh.current_version
    v2 = {**v1.moved(V.DRAFT, clock(), {}).to_api(), "VersionNumber": 2}
    reg = Registration.from_api(
        fresh.to_api() | {"RegistrationStatus": "CLOSED"}, [v1.to_api(), v2]
    )
    guards = [require_reason, require_actor, require_metadata("ticket", "approver")]
    before = _snapshot(reg)
    refusals = reg.refusals("discard", version=1, guards=guards, metadata={"approver": " "})
    assert [(r.name, r.message) for r in refusals] == [
        ("registration_open", f"registration {REG_ID} is CLOSED"),
        ("current_version", "discard acts on the current version (v2), not v1"),
        ("policy", refusals[2].message),
        ("require_reason", "a reason is required"),
        ("require_actor", "an actor is required"),
        ("require_metadata", "metadata ticket, approver required"),
    ]
    with pytest.raises(CommandRefused) as err:
        reg.discard(guards=guards, clock=clock)
    assert [r.name for r in err.value.refusals] == [
        "registration_open",
        "policy",
        "require_reason",
        "require_actor",
        "require_metadata",
    ]
    for refusal in err.value.refusals:
        assert str(refusal) in str(err.value)
    assert _snapshot(reg) == before


def test_the_version_limit_is_a_refusal(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "discard")
    last = reg.current_version
    info = {**last.to_api(), "VersionNumber": 100_000}
    big = Registration.from_api(reg.to_api(), [info])
    assert [r.name for r in big.refusals("create")] == ["version_limit"]


# -- guards ----------------------------------------------------------------------------------


def test_guards_see_what_the_command_concerns(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review", "approve")
    reg.create_version(clock=clock)
    seen: list[GuardContext] = []

    def spy(ctx: GuardContext) -> str | None:
        seen.append(ctx)
        return None

    reg.submit(actor="alice", reason="ready", metadata={"ticket": "T-1"}, guards=[spy], clock=clock)
    (ctx,) = seen
    assert ctx.registration is reg
    assert ctx.trigger == "submit"
    assert (ctx.actor, ctx.reason, dict(ctx.metadata)) == ("alice", "ready", {"ticket": "T-1"})
    assert ctx.version.number == 2
    assert ctx.version.status == V.DRAFT, "the guard sees the version before the change"
    reg.fire("revoke", guards=[spy], clock=clock)
    assert (seen[1].trigger, seen[1].version.number) == ("revoke", 1), "revoke: the approved one"
    assert seen[1].metadata == {}
    reg.refusals("delete", actor="bob", guards=[spy])
    assert (seen[2].trigger, seen[2].actor) == ("delete", "bob")


@pytest.mark.parametrize("command", ["submit", "create_version", "discard", "delete"])
def test_every_customer_command_runs_the_guards(command: str, clock: TickingClock) -> None:
    steps = {"create_version": ("submit", "discard"), "discard": ("submit",)}.get(command, ())
    reg = _in(clock, *steps)
    before = _snapshot(reg)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    call: Any = getattr(reg, command)
    with pytest.raises(CommandRefused) as err:
        call(guards=[require_reason], clock=clock)
    assert [r.name for r in err.value.refusals] == ["require_reason"]
    assert _snapshot(reg) == before
    assert delivered == []
    event = call(guards=[require_reason], reason="because", clock=clock)
    assert event.reason == "because"


def test_a_raising_guard_refuses_and_changes_nothing(clock: TickingClock) -> None:
    reg = _new(clock)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    before = _snapshot(reg)

    def flaky(ctx: GuardContext) -> str | None:
        raise ConnectionError("approvals service down")

    assert reg.refusals("submit", guards=[flaky]) == [
        Refusal("flaky", "guard raised ConnectionError: approvals service down")
    ]
    with pytest.raises(CommandRefused, match="flaky: guard raised ConnectionError"):
        reg.submit(guards=[flaky], clock=clock)
    assert _snapshot(reg) == before
    assert delivered == []


def test_a_callable_object_guard_is_named_by_its_class(clock: TickingClock) -> None:
    class FourEyes:
        def __call__(self, _ctx: GuardContext) -> str | None:
            return "needs a second pair of eyes"

    reg = _new(clock)
    assert [r.name for r in reg.refusals("submit", guards=[FourEyes()])] == ["FourEyes"]


def test_ready_made_guards() -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=TickingClock())
    two = require_metadata("ticket", "approver")
    assert reg.refusals("submit", guards=[require_reason], reason="  ") != []
    assert reg.refusals("submit", guards=[require_actor], actor="") != []
    assert (
        reg.refusals("submit", guards=[require_reason, require_actor], actor="a", reason="r") == []
    )
    assert [r.message for r in reg.refusals("submit", guards=[two], metadata={"ticket": "T"})] == [
        "metadata approver required"
    ]
    assert reg.refusals("submit", guards=[two], metadata={"ticket": "T", "approver": "c"}) == []
    with pytest.raises(InvalidArgument, match="one or more key names"):
        require_metadata()
    with pytest.raises(InvalidArgument, match="one or more key names"):
        require_metadata("")
