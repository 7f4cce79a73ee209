"""The fleet failure tests' child: one fleet worker, or one writer, on a PostgreSQL store.

``python -m helpers.fleet_child worker STORE_URL FLEET_TOML [--owner O] [--slots N]
[--poll S] [--once] [--stall-at N]`` (``tests`` on ``PYTHONPATH``) runs one
:class:`~registration_fsm.fleet.Worker` of the fleet file on the store until SIGTERM
(a graceful stop) or, with ``--once``, until no shard is due. It prints what it does,
one line each, so the parent can time its kills by what the worker did:

- ``ready OWNER PID`` once, before the worker starts;
- ``lease SHARD TOKEN EXPIRES OWNER`` when it took a lease (``EXPIRES``: seconds since
  the epoch, the database's clock), ``none`` when it asked and got none;
- ``renew SHARD TOKEN EXPIRES`` after each renewal, ``lost SHARD TOKEN`` when one failed;
- ``save SHARD ID REVISION`` after each save committed;
- ``releasing SHARD TOKEN`` just before giving a lease back, ``released SHARD TOKEN``
  after;
- ``pass SHARD OWNER ok`` or ``pass SHARD OWNER error TEXT`` after each pass (``ok``:
  the pass ended by itself and no registration failed);
- ``exit`` when the worker returned;
- with ``--stall-at N``, ``stall`` when it stops itself inside its Nth save (see
  :class:`ReportingStore`).

``python -m helpers.fleet_child write STORE_URL --ids ID,ID... --saves N --seed S``
prints ``ready``, waits for ``go`` on standard input, then makes N saves, each a
lifecycle step of one of the registrations (picked by the seed): read, step, save
with the revision read, and on :class:`~registration_fsm.errors.StaleWrite` read
again and redo. It prints ``saved ID REVISION EVENTS`` per save, ``stale ID`` per
lost race and ``done`` at the end.

Each line is one ``write`` to standard output (atomic on a pipe), whatever thread
prints it. :class:`ReportingStore` is also what the tests' in-process workers use,
with a callback instead of standard output.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from registration_fsm import Registration, TransitionEvent
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import LeaseLost, StaleWrite
from registration_fsm.fleet import FleetConfig, ShardPass, Worker
from registration_fsm.store import PostgresStore
from registration_fsm.store.base import UNCHECKED, ExpectedRevision, Lease, shard_of
from registration_fsm.store.sql import Tx


def say(line: str) -> None:
    """Print ``line`` with one write (lines of many threads never interleave)."""
    os.write(1, (line + "\n").encode())


def _epoch(lease: Lease) -> str:
    return repr(lease.expires.timestamp())


class ReportingStore(PostgresStore):
    """A PostgresStore that reports its leases and saves (see the module docstring).

    ``report`` gets each line; its views (``for_shard``) report through it too.
    ``stall_at``: the process stops itself (SIGSTOP) inside the transaction of its
    Nth save, holding the chain's head, as a paused VM would (``stall`` is printed).
    """

    def __init__(self, url: str, report: Callable[[str], None] = say, *, stall_at: int = 0) -> None:
        super().__init__(url)
        self.report = report
        self.stall_at = stall_at
        self._saves = itertools.count(1)
        self._stalling = threading.local()

    @contextmanager
    def _transaction(self, write: bool, what: str) -> Iterator[Tx]:
        with super()._transaction(write, what) as tx:
            if write and getattr(self._stalling, "now", False):
                self.report("stall")
                os.kill(os.getpid(), signal.SIGSTOP)
            yield tx

    # The keyword options are passed on as they are: this reports, it does not check.
    def acquire_lease(
        self, owner: str, shards: Iterable[Shard], seconds: float, **options: Any
    ) -> Lease | None:
        lease = super().acquire_lease(owner, shards, seconds, **options)
        if lease is None:
            self.report("none")
        else:
            self.report(f"lease {lease.shard} {lease.token} {_epoch(lease)} {owner}")
        return lease

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        try:
            renewed = super().renew_lease(lease, seconds)
        except LeaseLost:
            self.report(f"lost {lease.shard} {lease.token}")
            raise
        self.report(f"renew {renewed.shard} {renewed.token} {_epoch(renewed)}")
        return renewed

    def release_lease(self, lease: Lease, **options: Any) -> None:
        self.report(f"releasing {lease.shard} {lease.token}")
        super().release_lease(lease, **options)
        self.report(f"released {lease.shard} {lease.token}")

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        self._stalling.now = next(self._saves) == self.stall_at
        revision = super().save(
            registration,
            events,
            summary=summary,
            expected_revision=expected_revision,
            resolves=resolves,
        )
        self.report(f"save {shard_of(registration)} {registration.id} {revision}")
        return revision


def pass_line(done: ShardPass) -> str:
    """The ``pass`` line of one pass."""
    failed = done.report.failed if done.report is not None else []
    if done.error is None and not failed:
        return f"pass {done.shard} {done.owner} ok"
    why = done.error if done.error is not None else f"{len(failed)} registrations failed"
    return f"pass {done.shard} {done.owner} error {' '.join(why.split())}"


def run_worker(args: argparse.Namespace) -> int:
    config = FleetConfig.from_toml(args.fleet)
    worker = Worker(
        config,
        lambda: ReportingStore(args.store, stall_at=args.stall_at),
        slots=args.slots,
        owner=args.owner,
        once=args.once,
        poll=args.poll,
        on_pass=lambda done: say(pass_line(done)),
    )
    signal.signal(signal.SIGTERM, lambda _signum, _frame: worker.stop())
    say(f"ready {worker.owner} {os.getpid()}")
    worker.run()
    say("exit")
    return 0


#: The lifecycle step a writer takes from each status of the current version.
_STEP = {
    "DRAFT": "submit",
    "SUBMITTED": "begin_review",
    "REVIEWING": "approve",
    "APPROVED": "create",
    "DENIED": "create",
}


def step(registration: Registration, rng: random.Random) -> list[TransitionEvent]:
    """One lifecycle step of ``registration`` (a review is approved or denied); its events."""
    events: list[TransitionEvent] = []
    unsubscribe = registration.subscribe(events.append)
    try:
        trigger = _STEP[registration.current_version.status.to_api()]
        if trigger == "approve" and rng.random() < 0.3:
            trigger = "deny"
        registration.fire(trigger)
    finally:
        unsubscribe()
    return events


def run_writer(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    ids: list[str] = args.ids.split(",")
    with PostgresStore(args.store) as store:
        say("ready")
        if sys.stdin.readline().strip() != "go":
            return 2
        for _ in range(args.saves):
            registration_id = rng.choice(ids)
            while True:
                stored = store.get(registration_id)
                assert stored is not None, registration_id
                events = step(stored.registration, rng)
                try:
                    revision = store.save(
                        stored.registration, events, expected_revision=stored.revision
                    )
                except StaleWrite:
                    say(f"stale {registration_id}")
                    time.sleep(rng.uniform(0, 0.002))
                    continue
                say(f"saved {registration_id} {revision} {len(events)}")
                break
    say("done")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleet_child")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker")
    worker.add_argument("store")
    worker.add_argument("fleet")
    worker.add_argument("--owner")
    worker.add_argument("--slots", type=int, default=1)
    worker.add_argument("--poll", type=float)
    worker.add_argument("--once", action="store_true")
    worker.add_argument("--stall-at", type=int, default=0)
    writer = commands.add_parser("write")
    writer.add_argument("store")
    writer.add_argument("--ids", required=True)
    writer.add_argument("--saves", type=int, required=True)
    writer.add_argument("--seed", type=int, required=True)
    args = parser.parse_args(argv)
    return run_worker(args) if args.command == "worker" else run_writer(args)


if __name__ == "__main__":
    sys.exit(main())
