"""The Synchronizer's commands record who asked, why, and with which metadata.

Every command (create, submit, create_version, discard, delete) saves the event
its request caused with ``origin`` local and the ``actor``, ``reason`` and
``metadata`` given, so the audit trail says who did what and why. A refusal by
the API is a ``ConflictError`` naming the operation and carrying the registration
as pulled again right after.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    CommandRefused,
    ConflictError,
    InvalidArgument,
    InvalidArgumentType,
    LifecyclePolicy,
    Origin,
    RegistrationStatus,
    Synchronizer,
    TransitionEvent,
    VersionStatus,
    require_metadata,
)
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.store import SQLiteStore

V = VersionStatus


@pytest.fixture
def emu(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=12)


def who(event: TransitionEvent) -> tuple[Origin, str | None, str | None, dict[str, str]]:
    return (event.origin, event.actor, event.reason, dict(event.metadata))


def test_every_command_records_actor_reason_and_metadata(
    emu: EmulatedRegistrationApi, tmp_path: Path
) -> None:
    path = tmp_path / "audit.db"
    with SQLiteStore(path) as store:
        syncer = Synchronizer(emu, store)
        created = syncer.create(
            REG_TYPE, actor="alice", reason="new brand", metadata={"ticket": "T-1"}
        )
        reg_id = created.id
        submitted = syncer.submit(reg_id, actor="alice", reason="ready", metadata={"ticket": "T-2"})
        discarded = syncer.discard(
            reg_id, actor="carol", reason="wrong EIN", metadata={"ticket": "T-3", "approver": "dan"}
        )
        opened = syncer.create_version(
            reg_id, actor="alice", reason="second try", metadata={"ticket": "T-4"}
        )
        deleted = syncer.delete(reg_id, actor="bob", reason="duplicate", metadata={"ticket": "T-5"})
        returned = [submitted, discarded, opened, deleted]

    with SQLiteStore(path) as reopened:  # what the audit trail keeps
        events = list(reopened.events(reg_id))

    assert [(e.version_number, e.trigger, e.source, e.dest) for e in events] == [
        (1, "create", None, V.DRAFT),
        (1, "submit", V.DRAFT, V.SUBMITTED),
        (1, "discard", V.SUBMITTED, V.DISCARDED),
        (2, "create", None, V.DRAFT),
        (None, "delete", RegistrationStatus.REQUIRES_UPDATES, RegistrationStatus.DELETED),
    ]
    assert [who(e) for e in events] == [
        (Origin.LOCAL, "alice", "new brand", {"ticket": "T-1"}),
        (Origin.LOCAL, "alice", "ready", {"ticket": "T-2"}),
        (Origin.LOCAL, "carol", "wrong EIN", {"ticket": "T-3", "approver": "dan"}),
        (Origin.LOCAL, "alice", "second try", {"ticket": "T-4"}),
        (Origin.LOCAL, "bob", "duplicate", {"ticket": "T-5"}),
    ]
    assert events[1:] == returned  # each command returns the event it saved


def test_without_attribution_the_event_says_so(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    event = syncer.submit(reg_id)
    assert who(event) == (Origin.LOCAL, None, None, {})


def test_bad_metadata_is_refused_before_any_request(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    before = dict(emu.calls)
    with pytest.raises(InvalidArgumentType, match="metadata"):
        syncer.submit(reg_id, metadata={"ticket": 42})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgumentType, match="metadata"):
        syncer.submit(reg_id, metadata=[("ticket", "T-1")])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="metadata key"):
        syncer.submit(reg_id, metadata={"": "x"})
    with pytest.raises(InvalidArgumentType, match="actor"):
        syncer.submit(reg_id, actor=7)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType, match="metadata"):
        syncer.create(REG_TYPE, metadata={"ticket": 42})  # type: ignore[dict-item]
    assert dict(emu.calls) == before
    assert syncer.get(reg_id).current_version.status == V.DRAFT


def test_a_metadata_guard_refuses_locally(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    before = dict(emu.calls)
    with pytest.raises(CommandRefused) as refused:
        syncer.submit(reg_id, metadata={"ticket": " "}, guards=[require_metadata("ticket")])
    assert [(r.name, r.message) for r in refused.value.refusals] == [
        ("require_metadata", "metadata ticket required")
    ]
    assert dict(emu.calls) == before
    event = syncer.submit(reg_id, metadata={"ticket": "T-9"}, guards=[require_metadata("ticket")])
    assert dict(event.metadata) == {"ticket": "T-9"}


def test_delete_returns_and_saves_the_delete_event(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    seen: list[TransitionEvent] = []
    syncer.subscribe(seen.append)

    event = syncer.delete(reg_id, actor="bob", reason="duplicate")

    assert isinstance(event, TransitionEvent)
    assert (event.registration_id, event.version_number, event.trigger) == (reg_id, None, "delete")
    assert (event.source, event.dest) == (RegistrationStatus.CREATED, RegistrationStatus.DELETED)
    assert event.subject == "registration"
    assert list(syncer.store.events(reg_id))[-1] == event
    assert seen == [event]
    assert syncer.get(reg_id).status == RegistrationStatus.DELETED
    assert emu.calls["DeleteRegistration"] == 1


# -- the API says no ----------------------------------------------------------------


def someone_submits(emu: EmulatedRegistrationApi, reg_id: str) -> None:
    emu.submit_registration_version(reg_id)


def aws_begins_the_review(emu: EmulatedRegistrationApi, reg_id: str) -> None:
    emu.advance(reg_id, "begin_review")


def someone_opens_a_version(emu: EmulatedRegistrationApi, reg_id: str) -> None:
    emu.create_registration_version(reg_id)


@pytest.mark.parametrize(
    ("setup", "meanwhile", "command", "operation", "reason", "now"),
    [
        ([], someone_submits, "submit", "SubmitRegistrationVersion",
         "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED", (1, V.SUBMITTED)),
        (["submit"], aws_begins_the_review, "discard", "DiscardRegistrationVersion",
         "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED", (1, V.REVIEWING)),
        (["submit", "discard"], someone_opens_a_version, "create_version",
         "CreateRegistrationVersion", "CREATE_REGISTRATION_VERSION_NOT_ALLOWED", (2, V.DRAFT)),
    ],
    ids=["submit", "discard", "create_version"],
)  # fmt: skip
def test_a_conflict_names_its_operation_and_carries_the_registration_pulled_again(
    emu: EmulatedRegistrationApi,
    setup: list[str],
    meanwhile: Callable[[EmulatedRegistrationApi, str], None],
    command: str,
    operation: str,
    reason: str,
    now: tuple[int, VersionStatus],
) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    for step in setup:
        getattr(syncer, step)(reg_id)
    meanwhile(emu, reg_id)  # the local copy has not seen it: the local check passes
    run: Callable[..., TransitionEvent] = getattr(syncer, command)

    with pytest.raises(ConflictError) as conflict:
        run(reg_id, actor="mallory", reason="late")

    err = conflict.value
    assert (err.operation, err.reason, err.resource_id) == (operation, reason, reg_id)
    assert err.code == "ConflictException"
    fresh = err.registration
    assert fresh is not None
    assert (fresh.current_version.number, fresh.current_version.status) == now
    assert fresh == syncer.get(reg_id)  # the re-pull was saved too
    events = list(syncer.store.events(reg_id))
    assert not any(e.actor == "mallory" for e in events)  # nothing is told as ours
    last = events[-1]  # the other party's change, as the re-pull saw it
    assert (last.origin, last.version_number, last.dest) == (Origin.REMOTE, *now)


def test_a_local_refusal_is_not_a_conflict_and_sends_nothing(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id = syncer.create(REG_TYPE).id
    before = dict(emu.calls)
    with pytest.raises(CommandRefused) as refused:
        syncer.discard(reg_id, actor="alice", reason="typo")  # DRAFT: the policy says no
    assert not isinstance(refused.value, ConflictError)
    assert refused.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert [r.name for r in refused.value.refusals] == ["policy"]
    assert dict(emu.calls) == before


def test_a_draft_discard_needs_the_policy_on_both_sides(clock: TickingClock) -> None:
    lenient = LifecyclePolicy.allow_draft_discard()
    strict_api = EmulatedRegistrationApi(clock=clock, seed=1)
    syncer = Synchronizer(strict_api, policy=lenient)  # the local check lets it through...
    reg_id = syncer.create(REG_TYPE).id
    with pytest.raises(ConflictError) as conflict:  # ...the API (as AWS documents) does not
        syncer.discard(reg_id, reason="typo")
    assert conflict.value.operation == "DiscardRegistrationVersion"
    assert syncer.get(reg_id).current_version.status == V.DRAFT

    lenient_api = EmulatedRegistrationApi(clock=clock, seed=2, policy=lenient)
    other = Synchronizer(lenient_api, policy=lenient)
    other_id = other.create(REG_TYPE).id
    event = other.discard(other_id, reason="typo")
    assert (event.source, event.dest) == (V.DRAFT, V.DISCARDED)
