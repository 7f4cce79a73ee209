"""The durability test's child: it holds the world and forks workers that sync it.

``python -m helpers.sync_child STORE SEED ROUND [--tear-at N]`` (with ``tests`` on
``PYTHONPATH``) builds :class:`helpers.world.World` at ROUND, prints
``ready ROUND`` and then obeys one command a line on standard input:

- ``sync fast`` / ``sync slow``: fork a worker that opens STORE, runs a full
  ``Synchronizer.sync`` into it, prints ``synced ROUND CHANGED EVENTS`` and exits;
  print ``worker PID`` at once. The worker prints ``save N`` after its Nth save
  committed, so the parent can kill it mid-sync by events, not by timing. Slow:
  each DescribeRegistrationVersions waits 6-14 ms and two run at once, so the sync
  lasts long enough to be killed in.
- ``reap``: wait for the last worker (killed or not), print ``reaped STATUS``
  (the exit code, or minus the signal). Until then the worker stays a zombie, so
  its PID cannot be reused by another process while the parent may kill it.
- ``next``: apply the next round, then ``ready ROUND``.
- ``quit`` or the end of input: exit.

Starting Python and building the world once, then forking, keeps each kill cheap;
every worker is a separate process that opens the store from scratch, as a
restarted program would. The child itself runs no threads, so forking is safe.

``--tear-at N`` makes the worker's store tear its Nth save that carries events on
purpose: the registration is committed, then the worker SIGKILLs itself before the
events are written. The parent uses it to show that its checks catch a torn save.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from helpers.apis import DelegatingApi
from helpers.world import World
from registration_fsm import Registration, TransitionEvent
from registration_fsm.ports import Filter, RegistrationApi
from registration_fsm.store import SQLiteStore
from registration_fsm.store.base import UNCHECKED, ExpectedRevision
from registration_fsm.sync import Synchronizer


class SlowApi(DelegatingApi):
    """DescribeRegistrationVersions takes a few (seeded) milliseconds longer."""

    def __init__(self, inner: RegistrationApi, seed: int) -> None:
        super().__init__(inner)
        self._rng = random.Random(seed)

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        time.sleep(self._rng.uniform(0.006, 0.014))
        return super().describe_registration_versions(
            registration_id, version_numbers=version_numbers, filters=filters, page_size=page_size
        )


class ReportingStore(SQLiteStore):
    """An SQLiteStore that prints ``save N`` once its Nth save committed."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._saves = 0
        self._count = threading.Lock()

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        revision = super().save(
            registration,
            events,
            summary=summary,
            expected_revision=expected_revision,
            resolves=resolves,
        )
        with self._count:
            self._saves += 1
            os.write(1, f"save {self._saves}\n".encode())
        return revision


class TornStore(ReportingStore):
    """A store that breaks its own atomicity once, on purpose (see the module doc)."""

    def __init__(self, path: str, tear_at: int) -> None:
        super().__init__(path)
        self._tear_at = tear_at
        self._with_events = 0

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        events = list(events)
        if events:
            self._with_events += 1
            if self._with_events == self._tear_at:
                SQLiteStore.save(
                    self, registration, [], summary=summary, expected_revision=expected_revision
                )
                os.kill(os.getpid(), signal.SIGKILL)
        return super().save(
            registration,
            events,
            summary=summary,
            expected_revision=expected_revision,
            resolves=resolves,
        )


def sync_once(world: World, path: str, *, slow: bool, tear_at: int) -> str:
    """One full sync of ``world`` into the store at ``path``; the line to print."""
    store = TornStore(path, tear_at) if tear_at else ReportingStore(path)
    with store:
        api: RegistrationApi = SlowApi(world.api, world.seed + world.round) if slow else world.api
        report = Synchronizer(api, store, concurrency=2 if slow else 8).sync(full=True)
    if report.failed:
        return f"failed {report.failed}"
    return f"synced {world.round} {len(report.changed)} {len(report.events)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sync_child")
    parser.add_argument("store")
    parser.add_argument("seed", type=int)
    parser.add_argument("round", type=int)
    parser.add_argument("--tear-at", type=int, default=0)
    args = parser.parse_args(argv)
    world = World.at(args.seed, args.round)
    worker = 0
    print(f"ready {world.round}", flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[:1] == ["sync"]:
            worker = os.fork()
            if worker == 0:  # the worker: sync, report, and leave without cleanup
                try:
                    said = sync_once(world, args.store, slow=command[1:] == ["slow"],
                                     tear_at=args.tear_at)  # fmt: skip
                except BaseException as err:  # reported to the parent
                    said = f"failed {type(err).__name__}: {err}"
                os.write(1, (said + "\n").encode())
                os._exit(0)
            print(f"worker {worker}", flush=True)
        elif command == ["reap"]:
            _, status = os.waitpid(worker, 0)
            print(f"reaped {os.waitstatus_to_exitcode(status)}", flush=True)
        elif command == ["next"]:
            world.advance()
            print(f"ready {world.round}", flush=True)
        else:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
