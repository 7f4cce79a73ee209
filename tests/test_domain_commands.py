"""Every typed command of Registration: its event, the version's status, the registration's,
who/why/metadata recorded, and ``fire``'s checks (unknown details and triggers change nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    LIFECYCLE,
    CommandRefused,
    DeniedReason,
    InvalidArgument,
    InvalidArgumentType,
    LifecyclePolicy,
    Origin,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    UnknownDetail,
    UnknownTrigger,
    VersionStatus,
)

V, R = VersionStatus, RegistrationStatus
Command = Callable[[Registration, TickingClock], TransitionEvent]
REASON = {"Reason": "INVALID_BRAND", "ShortDescription": "The brand could not be verified."}


def _new(clock: TickingClock) -> Registration:
    return Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api(), reg.status)


def _in(clock: TickingClock, *steps: str) -> Registration:
    """A registration moved through ``steps`` (triggers; ``submit+`` submits with AWS review)."""
    reg = _new(clock)
    for step in steps:
        if step == "submit+":
            reg.submit(aws_review=True, clock=clock)
        else:
            reg.fire(step, clock=clock)
    return reg


#: (name, steps before, the command, (trigger, source, dest), version, registration status)
COMMANDS: list[tuple[str, tuple[str, ...], Command, tuple[str, Any, Any], int, RegistrationStatus]]
COMMANDS = [
    ("submit", (), lambda r, c: r.submit(clock=c),
     ("submit", V.DRAFT, V.SUBMITTED), 1, R.SUBMITTED),
    ("submit with aws_review", (), lambda r, c: r.submit(aws_review=True, clock=c),
     ("submit", V.DRAFT, V.AWS_REVIEWING), 1, R.AWS_REVIEWING),
    ("create_version", ("submit", "discard"), lambda r, c: r.create_version(clock=c),
     ("create", None, V.DRAFT), 2, R.REQUIRES_UPDATES),
    ("discard", ("submit",), lambda r, c: r.discard(clock=c),
     ("discard", V.SUBMITTED, V.DISCARDED), 1, R.REQUIRES_UPDATES),
    ("discard a draft", (),
     lambda r, c: r.discard(policy=LifecyclePolicy.allow_draft_discard(), clock=c),
     ("discard", V.DRAFT, V.DISCARDED), 1, R.REQUIRES_UPDATES),
    ("delete", ("submit",), lambda r, c: r.delete(clock=c),
     ("delete", R.SUBMITTED, R.DELETED), 0, R.DELETED),
    ("authenticate", ("submit", "require_authentication"),
     lambda r, c: r.authenticate(clock=c),
     ("authenticate", V.REQUIRES_AUTHENTICATION, V.REVIEWING), 1, R.REVIEWING),
    ("begin_review", ("submit",), lambda r, c: r.begin_review(clock=c),
     ("begin_review", V.SUBMITTED, V.REVIEWING), 1, R.REVIEWING),
    ("begin_review after aws review", ("submit+",), lambda r, c: r.begin_review(clock=c),
     ("begin_review", V.AWS_REVIEWING, V.REVIEWING), 1, R.REVIEWING),
    ("require_authentication", ("submit",), lambda r, c: r.require_authentication(clock=c),
     ("require_authentication", V.SUBMITTED, V.REQUIRES_AUTHENTICATION), 1,
     R.REQUIRES_AUTHENTICATION),
    ("require_offline_review", ("submit", "begin_review"),
     lambda r, c: r.require_offline_review(clock=c),
     ("require_offline_review", V.REVIEWING, V.REQUIRES_OFFLINE_REVIEW), 1, R.REVIEWING),
    ("approve", ("submit", "begin_review"), lambda r, c: r.approve(clock=c),
     ("approve", V.REVIEWING, V.APPROVED), 1, R.COMPLETE),
    ("approve after offline review", ("submit", "begin_review", "require_offline_review"),
     lambda r, c: r.approve(clock=c),
     ("approve", V.REQUIRES_OFFLINE_REVIEW, V.APPROVED), 1, R.COMPLETE),
    ("deny", ("submit", "begin_review"), lambda r, c: r.deny(clock=c),
     ("deny", V.REVIEWING, V.DENIED), 1, R.REQUIRES_UPDATES),
    ("deny after aws review", ("submit+",),
     lambda r, c: r.deny(denied_reasons=[REASON], feedback="Fix the brand.", clock=c),
     ("deny", V.AWS_REVIEWING, V.DENIED), 1, R.REQUIRES_UPDATES),
    ("revoke", ("submit", "begin_review", "approve"), lambda r, c: r.revoke(clock=c),
     ("revoke", V.APPROVED, V.REVOKED), 1, R.REQUIRES_UPDATES),
    ("archive", ("submit", "begin_review", "approve"), lambda r, c: r.archive(clock=c),
     ("archive", V.APPROVED, V.ARCHIVED), 1, R.REQUIRES_UPDATES),
]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "command", "edge", "number", "status"),
    [case[1:] for case in COMMANDS],
    ids=[case[0] for case in COMMANDS],
)
def test_each_command_makes_its_event_and_status(
    steps: tuple[str, ...],
    command: Command,
    edge: tuple[str, Any, Any],
    number: int,
    status: RegistrationStatus,
    clock: TickingClock,
) -> None:
    reg = _in(clock, *steps)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    event = command(reg, clock)
    assert (event.trigger, event.source, event.dest) == edge
    assert event.registration_id == REG_ID
    assert event.timestamp == clock.now
    assert event.origin == Origin.LOCAL
    assert delivered == [event]
    assert reg.status == status
    assert reg.invariant_violations() == []
    if number:  # a version's event
        assert event.version_number == number
        assert reg.versions[number].status == edge[2]
        assert reg.current_version_number == number
    else:  # the registration's own
        assert event.version_number is None


@pytest.mark.parametrize(
    ("steps", "command", "edge"),
    [case[1:4] for case in COMMANDS],
    ids=[case[0] for case in COMMANDS],
)
def test_each_command_is_fire_of_its_trigger(
    steps: tuple[str, ...], command: Command, edge: tuple[str, Any, Any]
) -> None:
    """A typed command and ``fire`` of its trigger make the same registration and event."""
    typed = _in(TickingClock(), *steps)
    typed_event = command(typed, TickingClock(typed.latest_time))
    fired = _in(TickingClock(), *steps)
    details: dict[str, Any] = {}
    if edge[2] == V.AWS_REVIEWING:
        details = {"aws_review": True}
    if typed_event.details.get("denied_reasons"):
        details = {"denied_reasons": [REASON], "feedback": "Fix the brand."}
    policy = LifecyclePolicy.allow_draft_discard()
    fired_event = fired.fire(
        edge[0], clock=TickingClock(fired.latest_time), policy=policy, **details
    )
    assert fired_event == typed_event
    assert _snapshot(fired) == _snapshot(typed)


def test_approve_archives_the_older_approval(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review", "approve")
    reg.create_version(clock=clock)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    event = reg.approve(clock=clock)
    assert (event.version_number, event.trigger, event.dest) == (2, "approve", V.APPROVED)
    archived = delivered[1]
    assert delivered[0] == event, "approve returns its own event, delivered first"
    assert (archived.version_number, archived.trigger) == (1, "archive")
    assert (archived.source, archived.dest) == (V.APPROVED, V.ARCHIVED)
    assert archived.timestamp == event.timestamp
    assert archived.reason == "version 2 was approved"
    assert [v.status for v in reg.versions.values()] == [V.ARCHIVED, V.APPROVED]
    assert reg.approved_version_number == 2
    assert reg.status == R.COMPLETE


def test_deny_records_denied_reasons_and_feedback(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review")
    given = DeniedReason("MISSING_PRIVACY_POLICY", "Add a privacy policy.")
    event = reg.deny(denied_reasons=[given, REASON], feedback="See the guide.", clock=clock)
    version = reg.current_version
    assert version.denied_reasons == (given, DeniedReason.from_api(REASON))
    assert version.feedback == "See the guide."
    assert event.details == {
        "denied_reasons": [given.to_api(), REASON],
        "feedback": "See the guide.",
    }
    assert reg.latest_denied_version_number == 1


def test_revoke_and_archive_concern_the_approved_version(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review", "approve")
    reg.create_version(clock=clock)
    assert reg.to_api()["RegistrationStatus"] == "COMPLETE"
    event = reg.archive(clock=clock)
    assert (event.version_number, event.dest) == (1, V.ARCHIVED)
    assert reg.versions[2].status == V.DRAFT
    assert reg.status == R.REQUIRES_UPDATES, "no approved version left"


# -- fire's own checks ---------------------------------------------------------------------------


def test_a_misspelt_detail_changes_nothing_and_delivers_nothing(clock: TickingClock) -> None:
    reg = _new(clock)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    before = _snapshot(reg)
    with pytest.raises(UnknownDetail) as err:
        reg.fire("submit", aws_reveiw=True, clock=clock)
    assert isinstance(err.value, TypeError)
    assert (err.value.trigger, err.value.detail) == ("submit", "aws_reveiw")
    assert err.value.accepted == ("aws_review", "field_values")
    assert str(err.value) == "submit does not take 'aws_reveiw'; it takes aws_review, field_values"
    assert _snapshot(reg) == before
    assert delivered == []
    with pytest.raises(UnknownDetail, match="it takes no details"):
        reg.refusals("begin_review", aws_review=True)


def test_unknown_trigger_changes_nothing(clock: TickingClock) -> None:
    reg = _new(clock)
    before = _snapshot(reg)
    with pytest.raises(UnknownTrigger) as err:
        reg.fire("approved", clock=clock)
    assert isinstance(err.value, ValueError)
    assert "known triggers: " + ", ".join(LIFECYCLE.triggers) in str(err.value)
    assert _snapshot(reg) == before


def test_discarding_an_older_version_is_refused(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review", "deny")
    reg.create_version(clock=clock)
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.fire("discard", version=1, clock=clock)
    assert [r.name for r in err.value.refusals] == ["current_version", "lifecycle"]
    assert err.value.refusals[0].message == "discard acts on the current version (v2), not v1"
    assert _snapshot(reg) == before


def test_the_api_commands_act_on_the_current_version_only(clock: TickingClock) -> None:
    """Even where the API's data leaves an older version open, no command reaches it."""
    fresh = _new(clock)
    fresh.submit(clock=clock)
    older = fresh.current_version
    newer = older.moved(V.DRAFT, clock(), {})
    newer_info = {**newer.to_api(), "VersionNumber": 2}
    reg = Registration.from_api(fresh.to_api(), [older.to_api(), newer_info])
    assert reg.anomalies, "an open older version is an oddity of the API's data"
    before = _snapshot(reg)
    with pytest.raises(CommandRefused) as err:
        reg.fire("discard", version=1, clock=clock)
    assert [r.name for r in err.value.refusals] == ["current_version"]
    with pytest.raises(CommandRefused) as err:
        reg.fire("begin_review", version=1, clock=clock)
    assert [(r.name, r.message) for r in err.value.refusals] == [
        ("current_version", "only the current version may become REVIEWING")
    ]
    assert _snapshot(reg) == before


def test_fire_takes_an_origin(clock: TickingClock) -> None:
    reg = _new(clock)
    with pytest.raises(InvalidArgumentType, match="origin must be an Origin"):
        reg.fire("submit", origin="remote", clock=clock)  # type: ignore[arg-type]
    assert reg.current_version.status == V.DRAFT
    event = reg.fire("submit", origin=Origin.REMOTE, clock=clock)
    assert event.origin == Origin.REMOTE


def test_a_bad_policy_is_a_type_error(clock: TickingClock) -> None:
    reg = _in(clock, "submit")
    with pytest.raises(InvalidArgumentType, match="policy must be a LifecyclePolicy"):
        reg.discard(policy=frozenset(), clock=clock)  # type: ignore[arg-type]
    assert reg.current_version.status == V.SUBMITTED


# -- who, why and metadata ---------------------------------------------------------------------


WHO: list[tuple[str, tuple[str, ...], Callable[..., TransitionEvent]]] = [
    ("submit", (), Registration.submit),
    ("create_version", ("submit", "discard"), Registration.create_version),
    ("discard", ("submit",), Registration.discard),
    ("delete", (), Registration.delete),
]


@pytest.mark.parametrize(("steps", "command"), [w[1:] for w in WHO], ids=[w[0] for w in WHO])
def test_actor_reason_and_metadata_are_recorded(
    steps: tuple[str, ...], command: Callable[..., TransitionEvent], clock: TickingClock
) -> None:
    reg = _in(clock, *steps)
    metadata = {"ticket": "T-42", "approver": "carol"}
    event = command(reg, actor="alice", reason="quarterly update", metadata=metadata, clock=clock)
    metadata["ticket"] = "changed later"
    assert (event.actor, event.reason) == ("alice", "quarterly update")
    assert dict(event.metadata) == {"ticket": "T-42", "approver": "carol"}
    with pytest.raises(TypeError):
        event.metadata["ticket"] = "x"  # type: ignore[index]
    recorded = event.to_dict()
    assert recorded["metadata"] == {"ticket": "T-42", "approver": "carol"}
    assert (recorded["actor"], recorded["reason"]) == ("alice", "quarterly update")
    assert TransitionEvent.from_dict(recorded) == event


def test_aws_triggers_through_fire_record_who_and_why_too(clock: TickingClock) -> None:
    reg = _in(clock, "submit")
    event = reg.fire("begin_review", actor="aws", reason="queue", metadata={"k": "v"}, clock=clock)
    assert (event.actor, event.reason, dict(event.metadata)) == ("aws", "queue", {"k": "v"})
    assert reg.current_version.status == V.REVIEWING


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metadata": ["ticket"]}, InvalidArgumentType, "metadata must be a mapping"),
        ({"metadata": "ticket=1"}, InvalidArgumentType, "metadata must be a mapping"),
        ({"metadata": {"ticket": 1}}, InvalidArgumentType, "keys and values must be strings"),
        ({"metadata": {1: "x"}}, InvalidArgumentType, "keys and values must be strings"),
        ({"metadata": {"": "x"}}, InvalidArgument, "metadata key '' must be"),
        ({"metadata": {"k": "x" * 5000}}, InvalidArgument, "over 4096 characters"),
        ({"actor": 7}, InvalidArgumentType, "actor must be a string or None"),
        ({"reason": b"why"}, InvalidArgumentType, "reason must be a string or None"),
    ],
)
def test_bad_who_or_why_is_one_line_and_changes_nothing(
    kwargs: dict[str, Any], error: type[Exception], match: str, clock: TickingClock
) -> None:
    reg = _new(clock)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    before = _snapshot(reg)
    for call in (
        lambda: reg.submit(clock=clock, **kwargs),
        lambda: reg.delete(clock=clock, **kwargs),
        lambda: reg.refusals("submit", **kwargs),
    ):
        with pytest.raises(error, match=match) as err:
            call()
        assert "\n" not in str(err.value)
    assert _snapshot(reg) == before
    assert delivered == []


# -- delete ----------------------------------------------------------------------------------


def test_delete_records_the_registrations_own_event(clock: TickingClock) -> None:
    reg = _in(clock, "submit", "begin_review", "approve")
    versions = dict(reg.versions)
    event = reg.delete(actor="alice", reason="brand sold", clock=clock)
    assert event.version_number is None
    assert (event.trigger, event.source, event.dest) == ("delete", R.COMPLETE, R.DELETED)
    assert isinstance(event.source, RegistrationStatus)
    assert event.subject == "registration"
    assert event.timestamp == clock.now
    assert reg.status == R.DELETED
    assert dict(reg.versions) == versions, "the versions are kept as they were"
    assert reg.to_api()["RegistrationStatus"] == "DELETED"


def test_a_deleted_registration_refuses_everything(clock: TickingClock) -> None:
    reg = _in(clock, "submit")
    reg.delete(clock=clock)
    before = _snapshot(reg)
    for trigger in LIFECYCLE.triggers:
        refusals = reg.refusals(trigger, policy=LifecyclePolicy.allow_draft_discard())
        assert "registration_open" in [r.name for r in refusals], trigger
        with pytest.raises(CommandRefused, match=f"registration {REG_ID} is DELETED"):
            reg.fire(trigger, clock=clock)
    assert _snapshot(reg) == before


def test_a_closed_registration_may_still_be_deleted(clock: TickingClock) -> None:
    fresh = _in(clock, "submit")
    reg = Registration.from_api(
        fresh.to_api() | {"RegistrationStatus": "CLOSED"}, fresh.versions_to_api()
    )
    assert [r.name for r in reg.refusals("discard")] == ["registration_open"]
    assert reg.refusals("delete") == []
    event = reg.delete(clock=clock)
    assert (event.source, event.dest) == (R.CLOSED, R.DELETED)
