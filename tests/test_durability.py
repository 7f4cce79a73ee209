"""Durability: a sync SIGKILLed at random points never leaves a torn store.

A child process (:mod:`helpers.sync_child`) holds a seeded remote world
(:mod:`helpers.world`: 30+ registrations moved along legal paths in rounds) and
syncs it into one SQLite file. Each round the parent moves the world on, lets the
child start a (slowed) sync, and SIGKILLs it once a seeded number of its saves
committed, after a seeded random delay (so the kill lands between two saves or
inside one, by events rather than by timing). Then:

- the store opens, and every registration is exactly as before the sync (the
  previous round) or as after it (this round) — state and summary, never between;
- the events in the store replay to every stored version's status (each version's
  log starts with ``create``, each event leaves from where the previous one
  arrived, the last arrives at the stored status): the events were written in the
  same transaction as the state they describe;
- the audit chain verifies, its head at the last event;
- a new child's sync of the same round completes and the store then equals the
  world exactly.

The parent knows both worlds because it builds the same seeded world in process.
``RFSM_KILLS`` (default 50) sets the number of kills, ``RFSM_SEED`` the seed.
"""

from __future__ import annotations

import itertools
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import attrs
import pytest
from helpers.world import Remote, World

from registration_fsm import Registration, RegistrationStatus, TransitionEvent
from registration_fsm.audit import verify
from registration_fsm.store import SQLiteStore

TESTS = Path(__file__).resolve().parent
KILLS = int(os.environ.get("RFSM_KILLS", "50"))
SEED = int(os.environ.get("RFSM_SEED", "20260515"))
#: Seconds to wait for a child's answer; only a hung child ever reaches it.
PATIENCE = 120.0

#: What the store must hold: registration id -> (registration, summary).
Expected = dict[str, tuple[Registration, dict[str, Any] | None]]


class Child:
    """A running :mod:`helpers.sync_child`, its output read line by line in a thread."""

    def __init__(self, store: Path, round_number: int, log: IO[str], *extra: str) -> None:
        path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
        argv = [sys.executable, "-m", "helpers.sync_child", str(store), str(SEED)]
        self.proc = subprocess.Popen(
            [*argv, str(round_number), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        #: Lines read while waiting for saves that :meth:`reap` must still see.
        self.pending: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str) -> str:
        line = self.lines.get(timeout=PATIENCE)
        if line is None or not line.startswith(prefix):
            raise AssertionError(f"child said {line!r}, expected {prefix!r}...")
        return line

    def start_sync(self, speed: str) -> int:
        """Fork a worker that syncs; its PID."""
        self.send(f"sync {speed}")
        return int(self.expect("worker ").split()[1])

    def wait_for_saves(self, count: int) -> bool:
        """Wait until the worker reports its ``count``-th committed save; False if it
        ended its sync first (what it said is kept for :meth:`reap`)."""
        while True:
            line = self.expect("")
            if line == f"save {count}":
                return True
            if not line.startswith("save "):
                self.pending.append(line)
                return False

    def reap(self) -> tuple[int, list[str]]:
        """Wait for the worker; its exit status and what it printed (its ``save N``
        progress lines left out)."""
        self.send("reap")
        said, self.pending = self.pending, []
        while not (line := self.expect("")).startswith("reaped "):
            said.append(line)
        return int(line.split()[1]), [line for line in said if not line.startswith("save ")]

    def sync(self) -> None:
        """A complete (fast) sync; fails unless the worker reports it done."""
        self.start_sync("fast")
        status, said = self.reap()
        assert status == 0
        assert [line.split()[0] for line in said] == ["synced"], said

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.send("quit")
        try:
            self.proc.wait(timeout=PATIENCE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()


def expected_after(previous: Expected, snapshot: dict[str, Remote]) -> Expected:
    """What a complete sync of ``snapshot`` leaves in a store that held ``previous``.

    A registration the API no longer lists is kept, marked DELETED (a ``delete``
    event records it), without summary.
    """
    out: Expected = {i: (r.registration, r.summary) for i, r in snapshot.items()}
    for registration_id, (registration, _summary) in previous.items():
        if registration_id not in out:
            gone = Registration.from_api(registration.to_api(), registration.versions_to_api())
            if gone.status != RegistrationStatus.DELETED:
                # The time is not stored with the registration: any valid one will do.
                gone.delete(clock=itertools.repeat(gone.latest_time).__next__)
            out[registration_id] = (gone, None)
    return out


@attrs.define
class Inspection:
    """What one look at the store found."""

    problems: list[str] = attrs.field(factory=list)
    #: Per registration, which expectation it matched: before, after or both.
    matched: Counter[str] = attrs.field(factory=Counter)
    events: int = 0


def replay_problems(
    events: Iterable[TransitionEvent], registrations: Iterable[Registration]
) -> list[str]:
    """Check that the stored events replay to every stored version's status."""
    problems = []
    logs: dict[tuple[str, int | None], list[TransitionEvent]] = defaultdict(list)
    for event in events:
        logs[(event.registration_id, event.version_number)].append(event)
    for registration in registrations:
        # The registration's own log: one delete event exactly when it is DELETED.
        own = [e.trigger for e in logs.pop((registration.id, None), [])]
        deleted = registration.status == RegistrationStatus.DELETED
        if own != (["delete"] if deleted else []):
            problems.append(f"{registration.id}: {registration.status} with events {own}")
        for number, version in registration.versions.items():
            log = logs.pop((registration.id, number), [])
            where = f"{registration.id} v{number}"
            if not log:
                problems.append(f"{where}: stored with no events")
                continue
            first = log[0]
            if (first.trigger, first.source) != ("create", None):
                problems.append(f"{where}: the log starts with {first.describe()}")
            for before, after in itertools.pairwise(log):
                if after.source != before.dest:
                    problems.append(f"{where}: {after.describe()} follows {before.describe()}")
            if log[-1].dest != version.status:
                replayed, held = log[-1].dest, version.status
                problems.append(f"{where}: the events replay to {replayed}, the store holds {held}")
    for (registration_id, left), log in logs.items():
        what = "the registration" if left is None else f"v{left}"
        problems.append(f"{registration_id} {what}: {len(log)} events for nothing stored")
    return problems


def inspect(path: Path, *expectations: tuple[str, Expected]) -> Inspection:
    """Open the store and check it against the expectations (any one may match)."""
    found = Inspection()
    with SQLiteStore(path) as store:
        ids = set(store.ids())
        for _name, expected in expectations:
            ids |= expected.keys()
        for registration_id in sorted(ids):
            stored = store.get(registration_id)
            matches = []
            for name, expected in expectations:
                want = expected.get(registration_id)
                if want is None:
                    if stored is None:
                        matches.append(name)
                elif (
                    stored is not None
                    and stored.registration == want[0]
                    and stored.summary == want[1]
                ):
                    matches.append(name)
            if not matches:
                names = " or ".join(name for name, _ in expectations)
                found.problems.append(f"{registration_id}: stored state is neither {names}")
            found.matched["+".join(matches)] += 1
        # The audit records are the stored events (undecoded): one read serves both checks.
        records = list(store.audit_records())
        verdict = verify(records, store.audit_head())
        if not verdict.ok:
            found.problems.append(f"audit chain: {verdict}")
        events = [TransitionEvent.from_dict(record.event) for record in records]
        found.events = len(events)
        found.problems.extend(replay_problems(events, store.registrations()))
    return found


@pytest.mark.slow
def test_sigkill_mid_sync_never_tears_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    rng = random.Random(SEED)
    world = World(SEED)
    expected = expected_after({}, world.snapshot())
    figures: Counter[str] = Counter()
    with (tmp_path / "child.log").open("w") as log:
        child = Child(path, 0, log)
        try:
            child.expect("ready 0")
            child.sync()
            assert inspect(path, ("after", expected)).problems == []
            for kill in range(1, KILLS + 1):
                child.send("next")
                world.advance()
                before, after = expected, expected_after(expected, world.snapshot())
                child.expect(f"ready {kill}")
                worker = child.start_sync("slow")
                # Kill once a seeded number of saves committed (at most half of them, so
                # most of the sync is still to come), then after a few seeded ms: the
                # kill lands between two saves or inside one.
                child.wait_for_saves(rng.randint(1, len(after) // 2))
                time.sleep(rng.uniform(0, 0.015))
                os.kill(worker, signal.SIGKILL)  # unreaped until we say: never another's PID
                status, said = child.reap()
                finished = any(line.startswith("synced") for line in said)
                assert status == (0 if finished else -signal.SIGKILL), said
                seen = inspect(path, ("before", before), ("after", after))
                assert seen.problems == [], f"kill {kill}: {seen.problems[:5]}"
                figures["kills"] += 1
                figures["finished before the kill"] += finished
                if not finished:
                    if seen.matched["before"] and seen.matched["after"]:
                        figures["killed mid-sync, some saved"] += 1
                    elif seen.matched["before"]:
                        figures["killed before the first save"] += 1
                    else:
                        figures["killed after the last save"] += 1
                figures["registrations checked"] += sum(seen.matched.values())
                figures["changed: found as before"] += seen.matched["before"]
                figures["changed: found as after"] += seen.matched["after"]
                # A new sync of the same round completes, and the store is the world.
                child.sync()
                seen = inspect(path, ("after", after))
                assert seen.problems == [], f"resync after kill {kill}: {seen.problems[:5]}"
                expected = after
            figures["events at the end"] = seen.events
        finally:
            child.close()
    print(f"durability (seed {SEED}): {dict(figures)}")
    assert figures["kills"] == KILLS
    # The kills must land mid-sync often, or the test proves little. Each waits for
    # a save with at least half the sync still to come, so only a worker that ran all
    # the rest before the kill arrived (milliseconds) is not caught mid-sync.
    assert figures["killed mid-sync, some saved"] >= KILLS // 4, dict(figures)


@pytest.mark.slow
def test_the_checks_catch_a_torn_save(tmp_path: Path) -> None:
    """A store that commits a registration without its events is caught by the checks."""
    path = tmp_path / "store.db"
    expected = expected_after({}, World(SEED).snapshot())
    with (tmp_path / "child.log").open("w") as log:
        child = Child(path, 0, log, "--tear-at", "3")
        try:
            child.expect("ready 0")
            child.start_sync("fast")
            status, said = child.reap()  # the worker killed itself in its third save
            assert (status, said) == (-signal.SIGKILL, [])
        finally:
            child.close()
    seen = inspect(path, ("before", {}), ("after", expected))
    assert any("stored with no events" in p for p in seen.problems), seen.problems


@pytest.mark.slow
@pytest.mark.parametrize("round_number", [0, 3])
def test_the_child_builds_the_parents_world(tmp_path: Path, round_number: int) -> None:
    """Child and parent agree on the world, or "as before or after" would mean nothing."""
    path = tmp_path / "store.db"
    world = World.at(SEED, round_number)
    with (tmp_path / "child.log").open("w") as log:
        child = Child(path, round_number, log)
        try:
            child.expect(f"ready {round_number}")
            child.sync()
        finally:
            child.close()
        assert child.proc.returncode == 0
    seen = inspect(path, ("after", expected_after({}, world.snapshot())))
    assert seen.problems == []
    assert seen.matched["after"] >= 30
