"""Resuming a sync, in process: what an interrupted sync saved is not described again,
and resuming never hides a change.

Interruptions here are a crash (an exception that is not an API error, raised by
the API wrapper at a chosen request) and Ctrl-C (a ``KeyboardInterrupt`` raised in
the main thread, from the progress callback). ``test_resume_kill.py`` kills real
processes; ``test_cli_sync_interrupt.py`` sends a real SIGINT.

The rule checked (``Puller.sync``'s docstring): a run of a full sync whose
checkpoint exists skips a registration only when it was pulled since the
checkpoint began, its summary is the one saved, and that summary can show its
next change (it is not summary-blind); everything else is described.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import REG_TYPE, TickingClock
from helpers.apis import DelegatingApi

from registration_fsm import Synchronizer, VersionStatus
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.errors import InternalServerError
from registration_fsm.ports import Filter, RegistrationApi
from registration_fsm.store import MemoryStore, PostgresStore, ResumableStore, SQLiteStore, Store
from registration_fsm.sync.pull import sync_scope

DESCRIBE = "DescribeRegistrationVersions"


class Crash(Exception):
    """What the crashing API raises: not an API error, so the sync stops on it."""


class Recording(DelegatingApi):
    """Records the ids each DescribeRegistrationVersions asked for; from the
    ``crash_at``-th one on (1-based; 0: never), raises :class:`Crash` instead.
    ``fail`` names ids whose describe is answered with an API error (once each)."""

    def __init__(self, inner: RegistrationApi, crash_at: int = 0, fail: Sequence[str] = ()) -> None:
        super().__init__(inner)
        self.crash_at = crash_at
        self.fail = set(fail)
        self.described: list[str] = []

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        if self.crash_at and len(self.described) + 1 >= self.crash_at:
            raise Crash(f"crashed before describing {registration_id}")
        self.described.append(registration_id)
        if registration_id in self.fail:
            self.fail.discard(registration_id)
            raise InternalServerError("the API failed this once")
        return super().describe_registration_versions(
            registration_id, version_numbers=version_numbers, filters=filters, page_size=page_size
        )


@pytest.fixture
def emu(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=17)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "postgres":
        made = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    with made:
        yield made


def registrations(emu: EmulatedRegistrationApi, *steps_each: Sequence[str]) -> list[str]:
    """One new registration per entry of ``steps_each``, driven through those steps."""
    ids = []
    for steps in steps_each:
        reg_id: str = emu.create_registration(REG_TYPE)["RegistrationId"]
        for step in steps:
            if step == "submit":
                emu.submit_registration_version(reg_id)
            else:
                emu.advance(reg_id, step)
        ids.append(reg_id)
    return ids


def synced(emu: EmulatedRegistrationApi, store: Store, *steps_each: Sequence[str]) -> list[str]:
    """:func:`registrations`, then pulled once into ``store`` (so a full sync has work that
    an incremental one would skip)."""
    ids = registrations(emu, *steps_each)
    assert Synchronizer(emu, store).sync().ok
    return ids


def crashed_full_sync(emu: EmulatedRegistrationApi, store: Store, saves: int) -> list[str]:
    """A full sync that crashes after ``saves`` registrations were saved; their ids.

    One pull at a time, so each describe is saved before the next one starts.
    """
    api = Recording(emu, crash_at=saves + 1)
    with pytest.raises(Crash):
        Synchronizer(api, store, concurrency=1).sync(full=True)
    assert len(api.described) == saves
    return api.described


def current_status(emu: EmulatedRegistrationApi, reg_id: str) -> VersionStatus:
    return emu._resolve(reg_id).registration.current_version.status


def describes(api: Recording, run: Any) -> tuple[Any, list[str]]:
    """What ``run()`` returned and the ids it described."""
    before = len(api.described)
    out = run()
    return out, api.described[before:]


def test_a_full_sync_that_crashed_resumes_where_it_stopped(
    emu: EmulatedRegistrationApi, store: Store
) -> None:
    ids = synced(emu, store, *([()] * 6), *([("submit",)] * 6))
    saved = crashed_full_sync(emu, store, saves=5)
    api = Recording(emu)

    report, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))

    assert sorted(report.resumed) == sorted(saved)
    assert sorted(described) == sorted(set(ids) - set(saved))  # only what was not saved yet
    assert sorted(report.changed) == sorted(described)
    assert report.api_calls == {"DescribeRegistrations": 1, DESCRIBE: 7}
    # It completed: the checkpoint is gone, and the next full sync describes everything.
    again, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))
    assert (again.resumed, sorted(described)) == ([], sorted(ids))


def test_resuming_never_hides_a_change(emu: EmulatedRegistrationApi, store: Store) -> None:
    ids = synced(emu, store, *([("submit", "begin_review")] * 5), *([("submit",)] * 5))
    saved = crashed_full_sync(emu, store, saves=6)
    blind = [i for i in saved if current_status(emu, i) == VersionStatus.REVIEWING]
    assert blind, "some of the saved ones are REVIEWING (summary-blind)"
    assert len(blind) < len(saved), "and some are SUBMITTED"
    moved = next(i for i in saved if i not in blind)
    emu.advance(moved, "begin_review")  # saved by the crashed run, changed since
    hidden = blind[0]
    emu.advance(hidden, "require_offline_review")  # a change its summary cannot show
    api = Recording(emu)

    report, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))

    unsaved = set(ids) - set(saved)
    assert sorted(described) == sorted(unsaved | {moved} | set(blind))
    assert sorted(report.resumed) == sorted(set(saved) - {moved} - set(blind))
    seen = {(e.registration_id, e.trigger) for e in report.events}
    assert {(moved, "begin_review"), (hidden, "require_offline_review")} <= seen
    syncer = Synchronizer(emu, store)
    assert syncer.get(hidden).current_version.status == VersionStatus.REQUIRES_OFFLINE_REVIEW
    for reg_id in ids:  # every registration ends as the API has it
        assert syncer.get(reg_id) == emu._resolve(reg_id).registration


def test_ctrl_c_keeps_what_was_saved_and_says_what_is_left(
    emu: EmulatedRegistrationApi, store: Store
) -> None:
    ids = registrations(emu, *([()] * 12))
    api = Recording(emu)
    handled: list[int] = []

    def progress(done: int, total: int) -> None:
        handled.append(done)
        if done == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    syncer = Synchronizer(api, store, concurrency=4)
    with pytest.raises(KeyboardInterrupt):  # goes on: a program that does not catch it stops
        syncer.sync(progress=progress)

    stop = syncer.last_interruption
    assert stop is not None
    saved = store.ids()
    assert sorted(stop.report.changed) == saved  # in-flight pulls finished and were counted
    assert stop.saved == len(saved) >= 3
    assert stop.left == len(ids) - len(saved)
    assert stop.report.api_calls[DESCRIBE] == len(api.described) == len(saved)
    assert stop.summary() == (
        f"interrupted: {len(saved)} saved, {stop.left} left; run sync again to resume"
    )
    # An incremental sync resumes by the saved summaries alone.
    report, described = describes(api, lambda: Synchronizer(api, store).sync())
    assert sorted(described) == sorted(set(ids) - set(saved))
    assert sorted(report.unchanged) == saved


def test_ctrl_c_before_the_listing_says_nothing_was_listed(
    emu: EmulatedRegistrationApi, store: Store
) -> None:
    registrations(emu, ())

    class Interrupted(DelegatingApi):
        def describe_registrations(self, **_: Any) -> Iterator[dict[str, Any]]:
            raise KeyboardInterrupt

    syncer = Synchronizer(Interrupted(emu), store)
    assert syncer.last_interruption is None
    with pytest.raises(KeyboardInterrupt):
        syncer.sync(full=True)
    assert syncer.last_interruption is not None
    assert syncer.last_interruption.left is None
    assert syncer.last_interruption.summary() == (
        "interrupted before the registrations were listed: 0 saved; run sync again to resume"
    )


def test_a_sync_that_ended_with_failures_retries_only_those_next(
    emu: EmulatedRegistrationApi, store: Store
) -> None:
    ids = synced(emu, store, *([("submit",)] * 6))
    api = Recording(emu, fail=ids[1:3])

    first = Synchronizer(api, store).sync(full=True)
    assert sorted(first.failed) == sorted(ids[1:3])
    report, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))

    assert sorted(described) == sorted(ids[1:3])
    assert sorted(report.resumed) == sorted(set(ids) - set(ids[1:3]))
    assert report.ok


def test_each_set_of_ids_is_its_own_scope(emu: EmulatedRegistrationApi, store: Store) -> None:
    a, b, c, d = synced(emu, store, (), (), ("submit",), ("submit",))
    api = Recording(emu, crash_at=2)
    with pytest.raises(Crash):
        Synchronizer(api, store, concurrency=1).sync([a, b, c], full=True)
    (saved,) = api.described
    api = Recording(emu)

    # The same set, in another order and with a repeat: the same scope, resumed.
    same, described = describes(api, lambda: Synchronizer(api, store).sync([c, b, a, c], full=True))
    assert (same.resumed, sorted(described)) == ([saved], sorted({a, b, c} - {saved}))
    # Another set is another scope, begun now: everything in it is described.
    other, described = describes(api, lambda: Synchronizer(api, store).sync([saved], full=True))
    assert (other.resumed, described) == ([], [saved])
    every, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))
    assert (every.resumed, sorted(described)) == ([], sorted([a, b, c, d]))


def test_resume_false_begins_the_scope_afresh(emu: EmulatedRegistrationApi, store: Store) -> None:
    ids = synced(emu, store, *([()] * 5))
    crashed_full_sync(emu, store, saves=3)
    api = Recording(emu, crash_at=3)

    with pytest.raises(Crash):  # a restart that crashes in turn, after two saves
        Synchronizer(api, store, concurrency=1).sync(full=True, resume=False)
    restarted = api.described
    api = Recording(emu)
    report, described = describes(api, lambda: Synchronizer(api, store).sync(full=True))

    assert sorted(report.resumed) == sorted(restarted)  # from the restart's checkpoint
    assert sorted(described) == sorted(set(ids) - set(restarted))
    with pytest.raises(TypeError, match="resume"):
        Synchronizer(emu, store).sync(full=True, resume="no")  # type: ignore[arg-type]


def test_events_read_the_api_afresh_whatever_checkpoint_their_id_has(
    emu: EmulatedRegistrationApi, store: Store
) -> None:
    (reg_id,) = synced(emu, store, ("submit",))
    assert isinstance(store, ResumableStore)
    store.begin_sync(sync_scope([reg_id]))  # a full sync of that id was interrupted...
    Synchronizer(emu, store).sync(full=True)  # ...and it was pulled since
    api = Recording(emu)
    syncer = Synchronizer(api, store)
    event = {
        "version": "0",
        "source": "aws.sms-voice",
        "detail-type": "Registration Status Change",
        "resources": [f"arn:aws:sms-voice:us-east-1:123456789012:registration/{reg_id}"],
        "detail": {},
    }

    _, described = describes(api, lambda: [syncer.handle_event(event) for _ in range(2)])
    assert described == [reg_id, reg_id]  # each event is described, checkpoint or not

    resumed, described = describes(api, lambda: syncer.sync([reg_id], full=True))
    assert (resumed.resumed, described) == ([reg_id], [])  # a sync of that scope resumes
