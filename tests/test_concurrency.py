"""Concurrency: threads and processes that command, sync and advance the same registrations.

- Threads: commands (submit, discard, create_version), syncs and AWS-side events
  on a few shared registrations at once. Invariants hold throughout, the audit
  chain verifies, the store converges on the API, and the store's events are the
  remote transitions, each exactly once (checked against a ground truth recorded
  from the emulator's own answers).
- The lock is per registration: a slow call for A does not hold up B.
- Two processes, one SQLite file: racing saves are ordered exactly by the parent;
  the optimistic revision check turns the loser's save into ``StaleWrite``, which
  is retried or reported as a typed error, never written over the winner.
- An audit export taken while another writer commits still verifies.

Found here: a sync adopted the API state it had read *before* taking the
registration's lock (``sync/synchronizer.py``, ``_pull_one``/``_save_remote`` at
commit 950aecc), so a snapshot older than what another thread or process saved
meanwhile overwrote it: a ``remote_change`` back to an earlier status, or a newer
version dropped, and the next sync replayed the lost steps a second time.
``test_a_sync_that_read_before_a_command_saved_loses_no_update`` and
``test_processes_newer_save_first_loses_no_update`` reproduce it deterministically;
the thread stress test hit it in every run (4-14 versions per run).
"""

from __future__ import annotations

import io
import json
import os
import queue
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers.apis import DelegatingApi

from registration_fsm import (
    CommandRefused,
    ConflictError,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
    audit,
)
from registration_fsm.emulator import EmulatedRegistrationApi, serve
from registration_fsm.ports import Filter, RegistrationApi
from registration_fsm.store import MemoryStore, SQLiteStore, Store
from registration_fsm.sync import Synchronizer

#: Threads and child processes: the slow part of the suite (CI runs it; -m "not slow" skips).
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
#: Seconds an Event or a child may take; only a deadlock or a hang reaches it.
PATIENCE = 60.0

Status = VersionStatus | RegistrationStatus
#: (trigger, source, dest) of one transition of one version (or of the registration).
Step = tuple[str, Status | None, Status]


class LockedClock:
    """Thread-safe: one second later at every reading, so every change has its own time."""

    def __init__(self) -> None:
        self._now = datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=1)
            return self._now


@attrs.define
class Truth:
    """Every transition the emulator applied, from its own answers: (time, version key, step)."""

    lock: threading.Lock = attrs.field(factory=threading.Lock)
    seen: list[tuple[datetime, tuple[str, int | None], Step]] = attrs.field(factory=list)

    def add(self, event: TransitionEvent) -> None:
        with self.lock:
            key = (event.registration_id, event.version_number)
            self.seen.append((event.timestamp, key, (event.trigger, event.source, event.dest)))

    def add_result(
        self, result: dict[str, Any], trigger: str, source: VersionStatus | None
    ) -> None:
        """A Create/Submit/DiscardRegistrationVersion result: the version it moved."""
        version = Registration.from_api(
            {
                "RegistrationId": result["RegistrationId"],
                "RegistrationArn": result["RegistrationArn"],
                "RegistrationType": REG_TYPE,
                "RegistrationStatus": "CREATED",
                "CurrentVersionNumber": result["VersionNumber"],
                "CreatedTimestamp": result["RegistrationVersionStatusHistory"]["DraftTimestamp"],
            },
            [result],
        ).current_version
        self.add(
            TransitionEvent(
                version.registration_id,
                version.number,
                trigger,
                source,
                version.status,
                version.history.latest(),
            )
        )

    def by_version(self) -> dict[tuple[str, int | None], list[Step]]:
        out: dict[tuple[str, int | None], list[Step]] = defaultdict(list)
        for _at, key, step in sorted(self.seen, key=lambda item: (item[0], item[1])):
            out[key].append(step)
        return out


class RecordingApi(DelegatingApi):
    """Records every transition a command caused, from the API's answer."""

    def __init__(self, inner: RegistrationApi, truth: Truth) -> None:
        super().__init__(inner)
        self.truth = truth

    def create_registration(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Any = None,
    ) -> dict[str, Any]:
        result = super().create_registration(
            registration_type, client_token=client_token, tags=tags
        )
        self.truth.add_result(
            {
                **result,
                "VersionNumber": 1,
                "RegistrationVersionStatus": "DRAFT",
                "RegistrationVersionStatusHistory": {"DraftTimestamp": result["CreatedTimestamp"]},
            },
            "create",
            None,
        )
        return result

    def create_registration_version(self, registration_id: str) -> dict[str, Any]:
        result = super().create_registration_version(registration_id)
        self.truth.add_result(result, "create", None)
        return result

    def submit_registration_version(
        self, registration_id: str, *, aws_review: bool = False
    ) -> dict[str, Any]:
        result = super().submit_registration_version(registration_id, aws_review=aws_review)
        self.truth.add_result(result, "submit", VersionStatus.DRAFT)
        return result

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        result = super().discard_registration_version(registration_id)
        self.truth.add_result(result, "discard", VersionStatus.SUBMITTED)
        return result


def store_steps(store: Store) -> dict[tuple[str, int | None], list[Step]]:
    out: dict[tuple[str, int | None], list[Step]] = defaultdict(list)
    for event in store.events():
        out[(event.registration_id, event.version_number)].append(
            (event.trigger, event.source, event.dest)
        )
    return out


def is_subsequence(small: Sequence[Step], big: Sequence[Step]) -> bool:
    rest = iter(big)
    return all(step in rest for step in small)


def audit_ok(store: Store) -> audit.Verdict:
    return audit.verify(store.audit_records(), store.audit_head())


# -- threads ----------------------------------------------------------------

#: The AWS thread's choices. Statuses are never entered twice and each has a
#: history field, so a sync can tell every step it missed (the comparison with
#: the ground truth is exact).
AWS_STEPS: dict[VersionStatus, tuple[str, ...]] = {
    VersionStatus.SUBMITTED: ("begin_review",),
    VersionStatus.AWS_REVIEWING: ("begin_review", "deny"),
    VersionStatus.REVIEWING: ("approve", "approve", "deny"),
    VersionStatus.APPROVED: ("revoke",),
}


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    if request.param == "memory":
        return MemoryStore
    return lambda: SQLiteStore(tmp_path / "store.db")


def test_threads_commanding_syncing_and_advancing_at_once(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    rounds = 150 if isinstance(store, MemoryStore) else 60  # commands per commanding thread
    emu = EmulatedRegistrationApi(seed=3, clock=LockedClock())
    truth = Truth()
    api = RecordingApi(emu, truth)
    syncer = Synchronizer(api, store, concurrency=4)
    ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(6)]
    syncer.sync()
    failures: list[BaseException] = []
    tally: Counter[str] = Counter()
    tally_lock = threading.Lock()
    running, commanding = threading.Event(), threading.Event()
    running.set()
    commanding.set()

    def count(what: str) -> None:
        with tally_lock:
            tally[what] += 1

    def guarded(work: Callable[[random.Random], None], seed: int) -> Callable[[], None]:
        def run() -> None:
            try:
                work(random.Random(seed))
            except BaseException as exc:
                failures.append(exc)

        return run

    def commander(rng: random.Random) -> None:
        for _ in range(rounds):
            registration_id = rng.choice(ids)
            status = syncer.get(registration_id).current_version.status
            try:
                if status == VersionStatus.DRAFT:
                    syncer.submit(registration_id, aws_review=rng.random() < 0.3, actor="cmd")
                elif status == VersionStatus.SUBMITTED and rng.random() < 0.5:
                    syncer.discard(registration_id, actor="cmd", reason="race")
                elif not status.is_open:
                    syncer.create_version(registration_id, actor="cmd")
                else:
                    syncer.sync([registration_id])
                    count("syncs")
                    continue
                count("commands")
            except ConflictError:  # refused by the API: it moved after our last read
                count("commands refused by the API (the state moved first)")
            except CommandRefused:  # refused locally: a sync saw the move first
                count("commands refused locally (the state moved first)")

    def synchronizer(rng: random.Random) -> None:
        while commanding.is_set():
            some = rng.sample(ids, rng.randint(1, len(ids))) if rng.random() < 0.5 else None
            report = syncer.sync(some, full=rng.random() < 0.5)
            assert report.failed == {}, report.failed
            count("syncs")

    def aws(rng: random.Random) -> None:
        while commanding.is_set():
            time.sleep(0.0005)  # let the others at the emulator's lock
            registration_id = rng.choice(ids)
            newest = next(iter(emu.describe_registration_versions(registration_id)))
            choices = AWS_STEPS.get(VersionStatus(newest["RegistrationVersionStatus"]))
            if not choices:
                continue
            trigger = rng.choice(choices)
            if trigger == "revoke" and rng.random() < 0.7:
                continue
            try:
                for event in emu.advance(registration_id, trigger):
                    truth.add(event)
                count("AWS-side events")
            except (ConflictError, CommandRefused):  # a command moved it since the describe
                count("AWS-side events refused (a command came first)")

    def checker(_rng: random.Random) -> None:
        while running.is_set():
            for registration in syncer.registrations():
                assert registration.invariant_violations() == [], registration
            count("invariant checks of the whole store")

    commanders = [threading.Thread(target=guarded(commander, n)) for n in range(3)]
    others = [
        *(threading.Thread(target=guarded(synchronizer, 10 + n)) for n in range(2)),
        threading.Thread(target=guarded(aws, 20)),
    ]
    watcher = threading.Thread(target=guarded(checker, 0))
    for thread in [watcher, *others, *commanders]:
        thread.start()
    for thread in commanders:
        thread.join(PATIENCE)
    commanding.clear()
    for thread in others:
        thread.join(PATIENCE)
    running.clear()
    watcher.join(PATIENCE)
    assert not any(t.is_alive() for t in [*commanders, *others, watcher]), "a thread hung"
    assert failures == []

    # Converged: after a quiet full sync the store is the API, invariants hold.
    assert syncer.sync(full=True).failed == {}
    for registration_id in ids:
        remote = Registration.from_api(
            next(iter(emu.describe_registrations(registration_ids=[registration_id]))),
            list(emu.describe_registration_versions(registration_id)),
        )
        assert syncer.get(registration_id) == remote
        assert remote.invariant_violations() == []
    verdict = audit_ok(syncer.store)
    assert verdict.ok, verdict

    # Each remote transition is in the store exactly once, in order.
    expected, stored = truth.by_version(), store_steps(syncer.store)
    assert expected.keys() == stored.keys()
    lost = {k: v for k, v in expected.items() if not is_subsequence(v, stored[k])}
    assert lost == {}, f"transitions lost: {lost}"
    differ = {k: (expected[k], stored[k]) for k in expected if expected[k] != stored[k]}
    print(f"threads: {dict(tally)}, {len(truth.seen)} transitions, {verdict.records} events")
    assert differ == {}, (
        f"{len(differ)} of {len(expected)} versions have events beyond the transitions "
        "(a stale snapshot adopted: set back or dropped, then replayed?)"
    )
    assert verdict.records == len(truth.seen)


# -- the lock is per registration ---------------------------------------------


class BlockingApi(DelegatingApi):
    """DescribeRegistrationVersions for ``blocked`` waits until ``release`` is set."""

    def __init__(self, inner: RegistrationApi, blocked: str) -> None:
        super().__init__(inner)
        self.blocked = blocked
        self.entered = threading.Event()
        self.entries = 0
        self.release = threading.Event()
        self.returned = threading.Event()

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        items = super().describe_registration_versions(
            registration_id, version_numbers=version_numbers, filters=filters, page_size=page_size
        )
        if registration_id != self.blocked or self.release.is_set():
            return items
        self.entries += 1
        self.entered.set()
        assert self.release.wait(PATIENCE)
        out = list(items)
        self.returned.set()
        return iter(out)


def run_in_thread(call: Callable[[], object]) -> tuple[threading.Event, list[object]]:
    """Start ``call``; an Event set when it finished, and its result or exception."""
    done = threading.Event()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, outcome


@pytest.mark.parametrize("slow_call", ["command on A", "sync of A"])
def test_a_slow_call_for_one_registration_does_not_block_another(slow_call: str) -> None:
    emu = EmulatedRegistrationApi(seed=5, clock=LockedClock())
    b = emu.create_registration(REG_TYPE)["RegistrationId"]
    a = emu.create_registration(REG_TYPE)["RegistrationId"]
    api = BlockingApi(emu, a)
    syncer = Synchronizer(api)
    api.release.set()
    syncer.sync([b])
    if slow_call == "sync of A":
        syncer.sync([a])
    api.release.clear()

    # A command on A that is not stored pulls it first, holding A's lock while
    # DescribeRegistrationVersions(A) hangs; a sync of A hangs in the same call.
    a_done, a_outcome = run_in_thread(
        lambda: (
            syncer.submit(a, actor="a")
            if slow_call == "command on A"
            else syncer.sync([a], full=True)
        )
    )
    assert api.entered.wait(PATIENCE)
    second_a_done, second_a_outcome = run_in_thread(lambda: syncer.submit(a, actor="a2"))
    b_done, b_outcome = run_in_thread(lambda: syncer.submit(b, actor="b"))
    assert b_done.wait(PATIENCE), "a command on B waited for A's slow call"
    assert not api.returned.is_set()
    assert not a_done.is_set()
    (event,) = b_outcome
    assert isinstance(event, TransitionEvent)
    assert (event.registration_id, event.trigger, event.actor) == (b, "submit", "b")
    assert syncer.get(b).current_version.status == VersionStatus.SUBMITTED

    api.release.set()
    assert a_done.wait(PATIENCE)
    assert second_a_done.wait(PATIENCE)
    if slow_call == "command on A":
        # The second command on A waited for A's lock: it never entered the slow
        # call, saw the first one's result and was refused locally.
        assert api.entries == 1
        assert isinstance(a_outcome[0], TransitionEvent)
        assert isinstance(second_a_outcome[0], CommandRefused)
        assert emu.calls["SubmitRegistrationVersion"] == 2  # B's and A's first
    else:
        assert not isinstance(a_outcome[0], BaseException)
    assert syncer.get(a).current_version.status == VersionStatus.SUBMITTED
    assert audit_ok(syncer.store).ok


# -- a sync racing a command, deterministically ----------------------------------


class HoldAfterRead(DelegatingApi):
    """Holds a DescribeRegistrationVersions after the API answered, until ``go``."""

    def __init__(self, inner: RegistrationApi) -> None:
        super().__init__(inner)
        self.read = threading.Event()
        self.go = threading.Event()

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        items = list(
            super().describe_registration_versions(
                registration_id,
                version_numbers=version_numbers,
                filters=filters,
                page_size=page_size,
            )
        )
        if not self.go.is_set():
            self.read.set()
            assert self.go.wait(PATIENCE)
        return iter(items)


@pytest.mark.parametrize("command", ["submit", "create_version"])
def test_a_sync_that_read_before_a_command_saved_loses_no_update(command: str) -> None:
    emu = EmulatedRegistrationApi(seed=6, clock=LockedClock())
    a = emu.create_registration(REG_TYPE)["RegistrationId"]
    if command == "create_version":
        emu.submit_registration_version(a)
        emu.discard_registration_version(a)  # v1 closed: a new version may be made
    api = HoldAfterRead(emu)
    api.go.set()
    syncer = Synchronizer(api)
    syncer.sync()
    api.go.clear()
    done, outcome = run_in_thread(lambda: syncer.sync([a], full=True))
    assert api.read.wait(PATIENCE)  # the sync holds the API's answer from before the command
    api.go.set()  # the command's own reads are not held
    event = getattr(syncer, command)(a, actor="alice")  # saved: v1 SUBMITTED, or v2 DRAFT
    assert done.wait(PATIENCE)
    assert not isinstance(outcome[0], BaseException)
    local = syncer.get(a)
    assert local.current_version.number == event.version_number
    assert local.current_version.status == event.dest  # the command's result is not lost
    triggers = [e.trigger for e in syncer.store.events(a)]
    syncer.sync([a], full=True)  # and nothing is replayed a second time
    assert [e.trigger for e in syncer.store.events(a)] == triggers


# -- two processes, one SQLite file -----------------------------------------------


class Racer:
    """A :mod:`helpers.racer` child: a synchronizer whose saves wait for our go."""

    def __init__(self, spec: dict[str, Any], log: io.TextIOWrapper) -> None:
        path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "AWS_EC2_METADATA_DISABLED": "true"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.racer", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.said: list[str] = []

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, prefix: str) -> str:
        line = self.lines.get(timeout=PATIENCE)
        self.said.append(str(line))
        assert line is not None, f"the racer ended; it said {self.said}"
        assert line.startswith(prefix), f"racer said {line!r}, expected {prefix!r}"
        return line

    def send(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def go(self) -> str:
        """Let the pending save through; ``saved N`` or ``stale E F``."""
        self.send("go")
        line = self.lines.get(timeout=PATIENCE)
        self.said.append(str(line))
        assert line is not None
        assert line.startswith(("saved ", "stale ")), line
        return line

    def finish(self) -> dict[str, Any]:
        """Let every further save through; the action's result."""
        while True:
            line = self.lines.get(timeout=PATIENCE)
            self.said.append(str(line))
            assert line is not None, f"the racer ended; it said {self.said}"
            if line.startswith("result "):
                assert self.proc.wait(PATIENCE) == 0
                result: dict[str, Any] = json.loads(line.removeprefix("result "))
                return result
            if line.startswith("saving "):
                self.send("go")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(PATIENCE)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@attrs.define
class Race:
    """The parent's side: the emulator (served), the shared store file, one registration."""

    emu: EmulatedRegistrationApi
    url: str
    path: Path
    registration_id: str
    log: io.TextIOWrapper

    def racer(self, action: str, actor: str, retries: int = 3) -> Racer:
        spec = {
            "store": str(self.path),
            "url": self.url,
            "action": action,
            "registration_id": self.registration_id,
            "actor": actor,
            "retries": retries,
        }
        racer = Racer(spec, self.log)
        racer.expect("ready")
        return racer

    def remote(self) -> Registration:
        rid = self.registration_id
        return Registration.from_api(
            next(iter(self.emu.describe_registrations(registration_ids=[rid]))),
            list(self.emu.describe_registration_versions(rid)),
        )


@pytest.fixture
def race(tmp_path: Path) -> Iterator[Race]:
    emu = EmulatedRegistrationApi(seed=9, clock=LockedClock())
    registration_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    path = tmp_path / "shared.db"
    with SQLiteStore(path) as store:
        Synchronizer(emu, store).sync()  # v1 DRAFT, revision 1
    with serve(emu) as url, (tmp_path / "racers.log").open("w") as log:
        yield Race(emu, url, path, registration_id, log)


def start_both(race: Race, retries: int = 3) -> tuple[Racer, Racer]:
    """P1 submits (its save waits); AWS begins the review; P2 syncs (its save waits).

    Both read revision 1. P1's change: v1 DRAFT -> SUBMITTED. P2's, read later from
    the API: v1 DRAFT -> SUBMITTED -> REVIEWING.
    """
    p1 = race.racer("submit", "p1")
    p2 = race.racer("sync", "p2", retries)
    p1.send("start")
    assert p1.expect("saving ") == "saving 1"
    race.emu.advance(race.registration_id, "begin_review")
    p2.send("start")
    assert p2.expect("saving ") == "saving 1"
    return p1, p2


def stored_steps(race: Race) -> tuple[Registration | None, list[TransitionEvent], audit.Verdict]:
    with SQLiteStore(race.path) as store:
        stored = store.get(race.registration_id)
        return (
            None if stored is None else stored.registration,
            list(store.events(race.registration_id)),
            audit_ok(store),
        )


def test_processes_the_loser_of_a_save_race_retries_on_stale_write(race: Race) -> None:
    p1, p2 = start_both(race)
    try:
        assert p1.go() == "saved 2"
        assert p1.finish()["ok"] is True
        assert p2.go() == "stale 1 2"  # the revision check caught the race
        result = p2.finish()  # retried: re-read revision 2, saved what it adds
        assert result["ok"] is True
    finally:
        p1.close()
        p2.close()
    assert p2.said.count("stale 1 2") == 1
    assert p2.said[-2] == "saved 3"
    registration, events, verdict = stored_steps(race)
    assert registration == race.remote()
    assert [(e.trigger, e.actor) for e in events] == [
        ("create", None),
        ("submit", "p1"),
        ("begin_review", None),
    ]
    assert verdict.ok, verdict
    assert verdict.records == 3


def test_processes_with_no_retries_the_loser_gets_a_typed_stale_write(race: Race) -> None:
    p1, p2 = start_both(race, retries=0)
    try:
        assert p1.go() == "saved 2"
        assert p1.finish()["ok"] is True
        assert p2.go() == "stale 1 2"
        result = p2.finish()
    finally:
        p1.close()
        p2.close()
    assert result["ok"] is False
    (failure,) = result["report"]["failed"].values()
    assert failure.startswith("StaleWrite: ")
    registration, events, verdict = stored_steps(race)
    assert registration is not None
    assert registration.current_version.status == VersionStatus.SUBMITTED  # P1's, kept
    assert [e.trigger for e in events] == ["create", "submit"]
    assert verdict.ok, verdict
    with SQLiteStore(race.path) as store:  # the next sync brings P2's part, once
        Synchronizer(race.emu, store).sync()
    registration, events, verdict = stored_steps(race)
    assert registration == race.remote()
    assert [e.trigger for e in events] == ["create", "submit", "begin_review"]
    assert verdict.ok, verdict


def test_processes_newer_save_first_loses_no_update(race: Race) -> None:
    p1, p2 = start_both(race)
    try:
        assert p2.go() == "saved 2"  # P2 (the newer read) wins
        assert p2.finish()["ok"] is True
        assert p1.go() == "stale 1 2"
        p1.finish()  # whatever it answers, it must not overwrite P2's newer state
    finally:
        p1.close()
        p2.close()
    registration, events, verdict = stored_steps(race)
    assert verdict.ok, verdict
    assert registration == race.remote()
    assert [e.trigger for e in events] == ["create", "submit", "begin_review"]


# -- audit trail read while another writer commits --------------------------------


@pytest.fixture
def busy_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store file whose *next opened* connection sees another writer commit right
    after it read the audit records (whatever it does next, in or out of a transaction).

    A trace callback on the reader's connection notices the read of the events
    table; at the reader's next statement another connection commits one event.
    """
    path = tmp_path / "s.db"
    registration = Registration.from_api(*_seed_registration())
    writer = SQLiteStore(path)
    writer.save(registration, [registration.current_version.created_event()])
    connect = sqlite3.connect
    state = {"read": False, "written": False}

    def write_now() -> None:
        stored = writer.get(registration.id)
        assert stored is not None
        event = stored.registration.fire("submit")
        writer.save(stored.registration, [event], expected_revision=stored.revision)
        state["written"] = True

    def trace(statement: str) -> None:
        if state["read"] and not state["written"]:
            write_now()
        if "FROM events" in statement and "prev_hash" in statement:
            state["read"] = True

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        monkeypatch.setattr(sqlite3, "connect", connect)  # only the first one
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    try:
        yield path
    finally:
        writer.close()
    assert state["written"], "the interleaved write never happened"


def _seed_registration() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    emu = EmulatedRegistrationApi(seed=4, clock=LockedClock())
    rid = emu.create_registration(REG_TYPE)["RegistrationId"]
    summary = next(iter(emu.describe_registrations()))
    return summary, list(emu.describe_registration_versions(rid))


def test_an_export_of_a_store_being_written_still_verifies(busy_store: Path) -> None:
    out = io.StringIO()
    with SQLiteStore(busy_store) as reader:
        count = audit.export_jsonl(reader, out)
    records, head, problem = audit.read_jsonl(iter(out.getvalue().splitlines()))
    assert problem is None
    verdict = audit.verify(records, head)
    assert verdict.ok, verdict
    assert verdict.records == count


def test_verifying_a_store_being_written_is_not_a_false_alarm(busy_store: Path) -> None:
    verdict = audit.verify_path(busy_store)
    assert verdict.ok, verdict
