"""Fleet workers on one PostgreSQL store, under failure (issue 12, points 1 and 6).

Emulated shards (an emulator per account and region, served by this process, its
quotas enforced) are synced by :class:`~registration_fsm.fleet.Worker` s — processes
(``helpers.fleet_child``) or threads — into a throwaway PostgreSQL database:

- workers SIGKILLed mid-shard again and again, the remote world moving between
  kills: no save is torn, no event lost or duplicated, the chain verifies, each
  killed worker's shard is taken over once its lease expired, by another worker,
  and a last worker (``once``) finishes every shard;
- the PostgreSQL server restarted, then crashed, under two running workers: they
  log the errors, reconnect and converge, and leave no lease held once stopped;
- workers racing for one shard: exactly one gets the lease each time, and two
  workers on a one-shard fleet never sync it at the same time;
- writer processes saving the same registrations at once: no update lost, the
  chain one unbroken sequence.

Two more: a worker stalled inside a save (its session idle in a transaction, holding
the chain head's lock) blocks the other writers only until the server ends that
session (``PostgresStore(idle_timeout=)``); ``once`` tries a failing shard once.

``RFSM_FLEET_KILLS`` (default 6) sets the targeted kills, ``RFSM_SEED`` the seed.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers import REG_TYPE
from helpers.fleet_child import ReportingStore, pass_line
from helpers.postgres import PostgresCluster
from helpers.resume_cli import cli_env
from helpers.world import STEPS, current_status, step

from registration_fsm import EmulatedRegistrationApi, Registration, serve
from registration_fsm.audit import verify, verify_audit
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import AccessDeniedError
from registration_fsm.fleet import FleetConfig, ShardConfig, ShardPass, Worker
from registration_fsm.quotas import DEFAULT_QUOTAS, Quotas
from registration_fsm.store import Lease, PostgresStore

KILLS = int(os.environ.get("RFSM_FLEET_KILLS", "6"))
SEED = int(os.environ.get("RFSM_SEED", "20260515"))
TESTS = Path(__file__).resolve().parent
#: Seconds anything may take before the test calls it hung (never reached when it works).
HANG = 120.0
SHARDS = (
    Shard("111111111111", "us-east-1"),
    Shard("222222222222", "us-east-1"),
    Shard("111111111111", "eu-west-1"),
)
#: The fleet's DescribeRegistrationVersions per second and shard: a pass over a
#: shard's 80 registrations takes over three seconds, a pass over a round's changes
#: about one, long enough to be killed in.
RATE = 25
#: Every other operation's rate (the fleet's and the emulators').
FAST = 200
FLEET_RATES = {op: float(FAST) for op in DEFAULT_QUOTAS} | {"DescribeRegistrationVersions": RATE}
#: The emulators enforce twice the fleet's rate: this process reads the registrations
#: it moves through the same quota, and the fleet's own pace is what makes a pass slow.
EMULATOR_QUOTAS = Quotas.of(FLEET_RATES | {"DescribeRegistrationVersions": 2 * RATE})


# -- the remote world -------------------------------------------------------------------


@attrs.define
class Remote:
    """One served emulator per shard, and the ids each holds."""

    apis: dict[Shard, EmulatedRegistrationApi]
    urls: dict[Shard, str]
    ids: dict[Shard, list[str]]

    def change(self, rng: random.Random, steps: int, new: int = 1) -> None:
        """Move ``steps`` registrations of each shard one legal step; create ``new``."""
        for shard, api in self.apis.items():
            ids = self.ids[shard]
            for registration_id in rng.sample(ids, min(steps, len(ids))):
                choice = rng.choice(STEPS[current_status(api, registration_id)])
                step(api, registration_id, choice)
            for _ in range(new):
                ids.append(api.create_registration(REG_TYPE)["RegistrationId"])

    def truth(self, shard: Shard, registration_id: str) -> Registration:
        registration: Registration = self.apis[shard]._resolve(registration_id).registration
        return registration


@contextmanager
def served(shards: tuple[Shard, ...], size: int, seed: int) -> Iterator[Remote]:
    """Emulators of ``size`` registrations each, walked a few seeded steps, served."""
    rng = random.Random(seed)
    remote = Remote({}, {}, {})
    with ExitStack() as stack:
        for number, shard in enumerate(shards):
            api = EmulatedRegistrationApi(
                account=shard.account,
                region=shard.region,
                seed=seed + number,
                quotas=EMULATOR_QUOTAS,
            )
            remote.apis[shard] = api
            remote.ids[shard] = [
                api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(size)
            ]
            remote.urls[shard] = stack.enter_context(serve(api))
        for _ in range(3):
            remote.change(rng, size // 2, new=0)
        yield remote


def write_fleet(path: Path, remote: Remote, *, lease: float, interval: float) -> Path:
    """A fleet file of ``remote``'s shards, each paced at :data:`FLEET_RATES`."""
    lines = [
        "[defaults]",
        f"lease_seconds = {lease}",
        f"sync_interval = {interval}",
        "max_attempts = 5",
    ]
    for shard, url in remote.urls.items():
        lines += [
            "",
            "[[shard]]",
            f'account = "{shard.account}"',
            f'region = "{shard.region}"',
            f'endpoint_url = "{url}"',
            "[shard.quotas]",
            *(f"{op} = {rate}" for op, rate in FLEET_RATES.items()),
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def check_converged(store: PostgresStore, remote: Remote) -> None:
    """Every registration as the API has it, each save whole, each event once, the
    chain and the replay intact."""
    verdict = verify_audit(store)
    assert verdict.ok, str(verdict)
    assert verdict.replay is not None
    assert verdict.replay.registrations == sum(len(ids) for ids in remote.ids.values())
    assert store.shards() == sorted(remote.apis)
    for shard, api in remote.apis.items():
        view = store.for_shard(shard)
        listed = sorted(s["RegistrationId"] for s in api.describe_registrations())
        assert view.ids() == listed == sorted(remote.ids[shard])
        for registration_id in listed:
            stored = view.get(registration_id)
            assert stored is not None
            assert stored.registration == remote.truth(shard, registration_id), registration_id
        seen = Counter(
            (e.registration_id, e.version_number, e.trigger, e.dest, e.timestamp)
            for e in view.events()
        )
        twice = [key for key, count in seen.items() if count > 1]
        assert not twice, f"{shard}: events stored twice: {twice[:3]}"


# -- what the workers did ------------------------------------------------------------------


@attrs.define
class Held:
    """One lease a worker took, and what it did under it (from its lines)."""

    shard: str
    token: int
    owner: str
    #: When the database granted it (its clock), and when it ends as last known.
    granted: float
    expires: float
    #: When the line reached the log (this process's monotonic clock).
    seen: float
    saves: int = 0
    round_saves: int = 0
    lost: bool = False
    releasing: float | None = None
    released: bool = False
    outcome: str | None = None


class FleetLog:
    """The lines of every worker (helpers.fleet_child's), by owner; thread-safe."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        self.lock = threading.Lock()
        self.leases: list[Held] = []
        self.current: dict[tuple[str, str], Held] = {}
        self.nones: list[tuple[str, float]] = []
        self.stalled: set[str] = set()
        self.problems: list[str] = []

    def reporter(self, owner: str) -> Callable[[str], None]:
        return lambda line: self.feed(owner, line)

    def feed(self, owner: str, line: str | None) -> None:
        now = time.monotonic()
        with self.lock:
            if line is None:  # the worker's output ended
                return
            word, *rest = line.split(" ", 3 if line.startswith("pass ") else -1)
            held = self.current.get((owner, rest[0])) if rest else None
            if word == "lease":
                shard, token, expires = rest[0], int(rest[1]), float(rest[2])
                if rest[3] != owner:
                    self.problems.append(f"{owner} took a lease as {rest[3]}")
                granted = expires - self.lease_seconds
                held = Held(shard, token, owner, granted, expires, now)
                self.leases.append(held)
                self.current[(owner, shard)] = held
            elif word == "none":
                self.nones.append((owner, now))
            elif word == "stall":
                self.stalled.add(owner)
            elif held is None:
                if word in ("renew", "lost", "save", "releasing", "released", "pass"):
                    self.problems.append(f"{owner}: {line!r} under no lease")
            elif word == "renew":
                held.expires = max(held.expires, float(rest[2]))
            elif word == "lost":
                held.lost = True
            elif word == "save":
                if held.released:
                    self.problems.append(f"{owner}: {line!r} after its lease was released")
                held.saves += 1
                held.round_saves += 1
            elif word == "releasing":
                held.releasing = now
            elif word == "released":
                held.released = True
            elif word == "pass":
                held.outcome = rest[2]

    def finished_since(self, begun: int) -> bool:
        """Whether a lease taken after the first ``begun`` ended in a pass that went well."""
        with self.lock:
            return any(h.outcome == "ok" for h in self.leases[begun:])

    def new_round(self) -> None:
        with self.lock:
            for held in self.leases:
                held.round_saves = 0

    def held_by(self, owner: str) -> list[Held]:
        """The leases ``owner`` took and did not give back (or has not yet)."""
        with self.lock:
            return [h for (o, _), h in self.current.items() if o == owner and not h.released]

    def of_shard(self, shard: str) -> list[Held]:
        with self.lock:
            return sorted((h for h in self.leases if h.shard == shard), key=lambda h: h.token)


def child(home: Path, *args: str, **options: Any) -> subprocess.Popen[Any]:
    """``python -m helpers.fleet_child ARGS`` with dummy AWS credentials and AWS's
    quotas at their real scale, as a user's worker has them."""
    env = cli_env(home) | {"PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    command = [sys.executable, "-m", "helpers.fleet_child", *args]
    return subprocess.Popen(command, env=env, **options)


def wait_until(
    condition: Callable[[], object], what: str, children: Iterable[Child] = ()
) -> object:
    """Poll ``condition`` until it is truthy (its value); fail after :data:`HANG`
    seconds, or as soon as one of ``children`` ends."""
    end = time.monotonic() + HANG
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        for child in children:
            if child.proc.poll() is not None:
                raise AssertionError(f"{child.owner} ended ({what}): {child.errors()}")
        time.sleep(0.01)
    raise AssertionError(f"not within {HANG:.0f} s: {what}")


class Child:
    """A ``helpers.fleet_child worker`` process whose lines go to a :class:`FleetLog`."""

    def __init__(
        self, owner: str, store_url: str, fleet: Path, home: Path, log: FleetLog, *extra: str
    ) -> None:
        self.owner = owner
        self.stderr = home / f"{owner}.stderr"
        args = ["worker", store_url, str(fleet), "--owner", owner, "--slots", "2", "--poll", "0.3"]
        args += extra
        with self.stderr.open("wb") as err:
            self.proc = child(home, *args, stdout=subprocess.PIPE, stderr=err)
        self.reader = threading.Thread(target=self._read, args=(log,), daemon=True)
        self.reader.start()

    def _read(self, log: FleetLog) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout as out:
            for raw in out:
                log.feed(self.owner, raw.decode().rstrip("\n"))
        log.feed(self.owner, None)

    def kill(self) -> None:
        """SIGKILL it, reap it, and read every line it printed before it died."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=HANG)
        self.reader.join(timeout=HANG)
        assert self.proc.returncode == -signal.SIGKILL, self.errors()

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")[-3000:]


@contextmanager
def running(workers: list[Worker]) -> Iterator[list[threading.Thread]]:
    """Run each worker in a thread; stop them all on the way out (and join them)."""
    threads = [threading.Thread(target=w.run, name=w.owner, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=HANG)
    assert not any(t.is_alive() for t in threads), "a worker did not stop"


def on_pass(log: FleetLog) -> Callable[[ShardPass], None]:
    return lambda done: log.feed(done.owner, pass_line(done))


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and no AWS settings of the host, for in-process workers
    (the children get the same from ``cli_env``)."""
    for name, value in cli_env(tmp_path).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


# -- 1. SIGKILL mid-shard ---------------------------------------------------------------------


@pytest.mark.slow
def test_workers_killed_mid_shard_again_and_again_lose_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two worker processes (two slots each) sync three shards; again and again the
    API moves and one worker is SIGKILLed once it saved a few registrations of the
    round, and a new one starts; in the end the rest are killed too and a last worker
    (``once``) runs. Every kill leaves a chain that verifies; each killed worker's
    shard is taken by another worker, not before its lease expired, and finished;
    no token is handed out twice; the store ends as the API is, every save whole,
    every event once."""
    lease, final_interval = 2.0, 4.0
    rng = random.Random(SEED)
    log = FleetLog(lease)
    names = (f"worker-{n}" for n in itertools.count(1))
    with served(SHARDS, 80, SEED) as remote, PostgresStore(postgres_url) as store:
        fleet = write_fleet(tmp_path / "fleet.toml", remote, lease=lease, interval=1.0)
        live = [Child(next(names), postgres_url, fleet, tmp_path, log) for _ in range(2)]
        killed: list[tuple[str, list[Held]]] = []

        def kill(child: Child) -> None:
            child.kill()
            live.remove(child)
            killed.append((child.owner, log.held_by(child.owner)))
            assert verify(*store.audit_trail()).ok, f"after {child.owner} was killed"

        def busy(saves: int) -> Child | None:
            for child in live:
                held = log.held_by(child.owner)
                if any(h.round_saves >= saves and h.releasing is None for h in held):
                    return child
            return None

        try:
            for number in range(KILLS):
                log.new_round()
                remote.change(rng, 20, new=1)
                saves = rng.randint(1, 4)
                victim = wait_until(partial(busy, saves), f"kill {number}: mid-pass", live)
                assert isinstance(victim, Child)
                kill(victim)
                live.append(Child(next(names), postgres_url, fleet, tmp_path, log))
                if number % 2:  # and now and then, a worker finishes a pass before the next kill
                    wait_until(
                        partial(log.finished_since, len(log.leases)),
                        f"kill {number}: a pass finished after it",
                        live,
                    )
            for child in list(live):  # the last ones die wherever they are
                kill(child)
        finally:
            for child in live:
                child.proc.kill()
                child.proc.wait()

        remote.change(rng, 20, new=1)
        # The last worker must find every shard due: none finished a pass lately.
        wait_until(lambda: store.due(SHARDS, final_interval) == sorted(SHARDS), "shards due")
        config = FleetConfig.from_toml(
            write_fleet(tmp_path / "last.toml", remote, lease=lease, interval=final_interval)
        )
        last = Worker(
            config,
            lambda: ReportingStore(postgres_url, log.reporter("last")),
            slots=len(SHARDS),
            owner="last",
            once=True,
            poll=0.3,
            quotas=Quotas(),
            on_pass=on_pass(log),
        )
        thread = threading.Thread(target=last.run, daemon=True)
        thread.start()
        thread.join(timeout=HANG)
        if thread.is_alive():
            last.stop()
            thread.join(timeout=HANG)
            raise AssertionError(f"the last worker did not finish: {last.passes[-3:]}")

        assert not log.problems, log.problems
        done = {
            str(p.shard) for p in last.passes if p.report and not p.error and not p.report.failed
        }
        assert done == {str(s) for s in SHARDS}
        assert store.leases() == []
        check_converged(store, remote)

    mid_pass = 0
    for owner, held in killed:
        for lease_held in held:
            mid_pass += lease_held.releasing is None
            after = [h for h in log.of_shard(lease_held.shard) if h.token > lease_held.token]
            assert after, f"no one took {lease_held.shard} over from {owner}"
            taker = after[0]
            assert taker.owner != owner
            # Not before the killed worker's lease expired (as last renewed, by its lines).
            assert taker.granted >= lease_held.expires - 1e-3, (owner, lease_held, taker)
            assert any(h.outcome == "ok" for h in after), f"{lease_held.shard} never finished"
    for shard in SHARDS:
        # A fencing token names one holder: never handed out twice.
        tokens = [h.token for h in log.of_shard(str(shard))]
        assert len(tokens) == len(set(tokens)), f"{shard}: tokens {tokens}"
    takeovers = sum(  # by a worker of the kills' phase, not the last one
        next(t for t in log.of_shard(h.shard) if t.token > h.token).owner != "last"
        for _, held in killed
        for h in held
    )
    passes = Counter(h.outcome.split()[0] for h in log.leases if h.outcome)
    print(
        f"{len(killed)} workers killed holding {mid_pass} leases mid-pass; {takeovers} "
        f"taken over before the last worker; {len(log.leases)} leases, passes {dict(passes)}"
    )
    assert mid_pass >= KILLS
    assert takeovers >= KILLS // 2
    assert passes["ok"] >= len(SHARDS) + KILLS // 2


# -- 2. PostgreSQL restarted and crashed under the workers ---------------------------------


@pytest.mark.slow
def test_workers_outlive_a_restart_and_a_crash_of_the_database(
    postgres_cluster: PostgresCluster,
    postgres_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two workers (threads, two slots each) sync three shards while the server is
    restarted cleanly mid-pass, then crashed (SIGKILL) and started again: they log
    the errors, reconnect, and every shard is synced again after each outage and
    after a last change of the API; stopped, they hold no lease; the store is right.

    The session's server is used: tests run one at a time, and ``postgres_url``
    starts it again should this test end half-way with it down."""
    lease = 3.0
    rng = random.Random(SEED + 1)
    log = FleetLog(lease)
    caplog.set_level(logging.WARNING, logger="registration_fsm.fleet.worker")

    def synced_since(moment: float) -> bool:
        """Every shard had a pass that began after ``moment`` and ended well."""
        with log.lock:
            ok = {h.shard for h in log.leases if h.seen > moment and h.outcome == "ok"}
        return ok == {str(s) for s in SHARDS}

    def complaints() -> int:
        return sum(r.levelno >= logging.WARNING for r in caplog.records)

    def complained(before: int) -> bool:
        return complaints() > before

    with served(SHARDS, 40, SEED + 1) as remote:
        fleet = write_fleet(tmp_path / "fleet.toml", remote, lease=lease, interval=0.5)
        workers = [
            Worker(
                FleetConfig.from_toml(fleet),
                partial(ReportingStore, postgres_url, log.reporter(owner)),
                slots=2,
                owner=owner,
                poll=0.3,
                quotas=Quotas(),
                on_pass=on_pass(log),
            )
            for owner in ("one", "two")
        ]
        with running(workers):
            wait_until(lambda: synced_since(0.0), "a first pass of every shard")
            for outage in ("restart", "crash"):
                log.new_round()
                remote.change(rng, 15, new=1)
                wait_until(
                    lambda: any(h.round_saves and not h.released for h in log.leases),
                    f"passes under way before the {outage}",
                )
                before = complaints()
                if outage == "restart":
                    postgres_cluster.restart()
                else:
                    postgres_cluster.kill()
                    wait_until(partial(complained, before), "the workers see the crash")
                    postgres_cluster.start_again()
                back = time.monotonic()
                wait_until(partial(complained, before), f"the workers see the {outage}")
                wait_until(partial(synced_since, back), f"every shard synced after the {outage}")
            remote.change(rng, 15, new=1)
            changed = time.monotonic()
            wait_until(lambda: synced_since(changed), "every shard synced after the last change")

    assert not log.problems, log.problems
    failed = [h.outcome for h in log.leases if h.outcome and h.outcome != "ok"]
    assert any("StoreError" in f or "lost" in f for f in failed), failed
    with PostgresStore(postgres_url) as store:
        assert store.leases() == []  # stopped: every lease given back
        check_converged(store, remote)


# -- 3. racing for one shard ---------------------------------------------------------------


def test_exactly_one_of_many_racers_takes_a_lease(postgres_url: str) -> None:
    """Six threads, each with its own connection, ask for a lease at the same moment
    (a barrier), turn after turn: for one shard exactly one gets it, for two shards
    exactly two get one each — whether the lease was new, released or expired — and
    no fencing token is handed out twice."""
    racers, rounds = 6, 36
    shards = SHARDS[:2]
    stores = [PostgresStore(postgres_url) for _ in range(racers)]
    got: list[list[object]] = [[None] * racers for _ in range(rounds)]
    barrier = threading.Barrier(racers)
    failures: list[BaseException] = []

    def race(me: int) -> None:
        store = stores[me]
        try:
            for turn in range(rounds):
                # One shard, two shards (two winners), or one shard whose winner lets
                # its lease run out (renewed for a millisecond): the next turn races
                # for an expired lease.
                kind = turn % 3
                wanted = shards if kind == 1 else shards[:1]
                barrier.wait(timeout=HANG)
                lease = store.acquire_lease(f"racer-{me}", wanted, 30)
                got[turn][me] = lease
                barrier.wait(timeout=HANG)
                if lease is not None:
                    if kind == 2:
                        store.renew_lease(lease, 0.001)
                    else:
                        store.release_lease(lease)
                if me == 0:
                    wait_until(lambda: not store.leases(), "no lease held")
                barrier.wait(timeout=HANG)
        except BaseException as err:
            failures.append(err)
            barrier.abort()

    threads = [threading.Thread(target=race, args=(me,)) for me in range(racers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=HANG)
    finally:
        for store in stores:
            store.close()
    assert not failures, failures
    tokens: dict[Shard, list[int]] = {s: [] for s in shards}
    for turn, leases in enumerate(got):
        won = [lease for lease in leases if isinstance(lease, Lease)]
        wanted = 2 if turn % 3 == 1 else 1
        assert len(won) == wanted, f"turn {turn}: {won}"
        assert len({lease.shard for lease in won}) == wanted, f"turn {turn}: {won}"
        for lease in won:
            tokens[lease.shard].append(lease.token)
    for shard, seen in tokens.items():
        assert seen == sorted(set(seen)), f"{shard}: a token handed out twice: {seen}"


@pytest.mark.slow
def test_two_workers_on_one_shard_never_sync_it_at_once(postgres_url: str, tmp_path: Path) -> None:
    """Two workers on a one-shard fleet, the API moving between passes: each pass
    (from its lease granted to its release begun) ends before the next begins, every
    save falls inside its worker's pass, and the idle worker was asking meanwhile."""
    lease = 3.0
    log = FleetLog(lease)
    rng = random.Random(SEED + 2)
    with served(SHARDS[:1], 30, SEED + 2) as remote:
        fleet = write_fleet(tmp_path / "fleet.toml", remote, lease=lease, interval=0.3)
        workers = [
            Worker(
                FleetConfig.from_toml(fleet),
                partial(ReportingStore, postgres_url, log.reporter(owner)),
                owner=owner,
                poll=0.05,
                quotas=Quotas(),
                on_pass=on_pass(log),
            )
            for owner in ("one", "two")
        ]
        with running(workers):
            for _ in range(8):  # each change makes the next pass a few saves long
                log.new_round()
                remote.change(rng, 8, new=0)
                wait_until(
                    lambda: any(h.round_saves and h.outcome == "ok" for h in log.leases),
                    "a pass of the changes",
                )

    assert not log.problems, log.problems
    passes = sorted(log.leases, key=lambda h: h.token)
    assert [h.seen for h in passes] == sorted(h.seen for h in passes)
    for first, then in itertools.pairwise(passes):
        assert first.releasing is not None, first
        assert first.released, first
        # The next holder's lease began after this one was being given back.
        assert then.seen > first.releasing or first.lost, (first, then)
    # And the other one was asking meanwhile: the two did race for it.
    raced = [
        (owner, moment)
        for owner, moment in log.nones
        for h in passes
        if h.owner != owner and h.seen < moment < (h.releasing or 0)
    ]
    assert raced, "no worker asked for the shard while the other held it"
    assert sum(h.saves for h in passes) >= 8


# -- 4. many writer processes on one store -------------------------------------------------


@pytest.mark.slow
def test_writers_in_many_processes_lose_no_update_and_fork_no_chain(
    postgres_url: str, tmp_path: Path
) -> None:
    """Four processes make 50 saves each of three registrations (read, step, save
    with the revision read; redone when stale), all starting at once: every revision
    went to exactly one save, the chain is one sequence 1..N of every event saved,
    and it verifies and replays."""
    writers, saves = 4, 50
    shard = SHARDS[0]
    ids = [f"registration-{n:032x}" for n in (1, 2, 3)]
    with PostgresStore(postgres_url) as store:
        for registration_id in ids:
            arn = f"arn:aws:sms-voice:{shard.region}:{shard.account}:registration/{registration_id}"
            registration = Registration.new(registration_id, arn, REG_TYPE)
            created = registration.current_version.created_event()
            store.save(registration, [created], expected_revision=None)
    args = ["write", postgres_url, "--ids", ",".join(ids), "--saves", str(saves)]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    procs = [
        child(tmp_path, *args, "--seed", str(SEED + n), text=True, **pipes) for n in range(writers)
    ]
    outputs = []
    try:
        for proc in procs:  # all ready, then all go at once
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=HANG)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=HANG)
            assert proc.returncode == 0, err
            outputs.append(out.splitlines())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    granted: dict[str, list[int]] = {i: [] for i in ids}
    events = len(ids)  # the creations
    stale = 0
    for lines in outputs:
        assert lines[-1] == "done"
        done = [line.split() for line in lines if line.startswith("saved ")]
        assert len(done) == saves
        for _, registration_id, revision, count in done:
            granted[registration_id].append(int(revision))
            events += int(count)
        stale += sum(line.startswith("stale ") for line in lines)
    assert stale, "the writers never raced"
    with PostgresStore(postgres_url) as store:
        for registration_id, revisions in granted.items():
            # Each revision went to exactly one save: no update lost or written twice.
            assert sorted(revisions) == list(range(2, len(revisions) + 2)), registration_id
            stored = store.get(registration_id)
            assert stored is not None
            assert stored.revision == len(revisions) + 1
        records, head = store.audit_trail()
        assert [r.seq for r in records] == list(range(1, events + 1))
        assert head.seq == events
        verdict = verify_audit(store)
        assert verdict.ok, str(verdict)


# -- a stalled writer, a failing shard ---------------------------------------------------


@pytest.mark.slow
def test_a_worker_stalled_inside_a_save_does_not_stall_the_fleet(
    postgres_url: str, tmp_path: Path
) -> None:
    """docs/fleet.md, Failures, "A worker stalls (a paused VM, SIGSTOP...)": another
    worker takes its shards and goes on. A worker stopped inside a save's transaction
    (SIGSTOP, as a paused VM; a host lost without closing its connections looks the
    same to the server) must not keep the others from saving."""
    lease = 2.0
    log = FleetLog(lease)
    with served(SHARDS[:2], 30, SEED + 3) as remote:
        fleet = write_fleet(tmp_path / "fleet.toml", remote, lease=lease, interval=60.0)
        stalled = Child("stalled", postgres_url, fleet, tmp_path, log, "--stall-at", "3")
        other: Child | None = None
        try:
            wait_until(lambda: "stalled" in log.stalled, "the worker stops in a save", [stalled])
            other = Child("other", postgres_url, fleet, tmp_path, log)
            wait_until(
                lambda: (
                    {h.shard for h in log.leases if h.owner == "other" and h.outcome == "ok"}
                    == {str(s) for s in remote.apis}
                ),
                "the other worker syncs both shards",
                [other],
            )
        finally:
            for child in (stalled, other):
                if child is not None:
                    child.proc.kill()
                    child.proc.wait()
                    child.reader.join(timeout=HANG)


def test_once_does_not_retry_a_failing_shard_forever(postgres_url: str) -> None:
    """``once`` is for a job run by a timer (docs/fleet.md): a shard whose passes all
    fail (its credentials refused) is tried, and reported, but must not keep the run
    going until the next timer fires — or for ever."""
    config = FleetConfig.from_mapping(
        {
            "defaults": {"sync_interval": 3600, "lease_seconds": 30},
            "shard": [{"account": SHARDS[0].account, "region": SHARDS[0].region}],
        }
    )

    def refused(_settings: ShardConfig) -> EmulatedRegistrationApi:
        raise AccessDeniedError("not authorized to perform: sts:AssumeRole")

    def enough(_done: ShardPass) -> None:
        if len(worker.passes) >= 5:  # back-offs of 0.05, 0.1, 0.2, 0.4 s: it would go on
            worker.stop()

    worker = Worker(
        config,
        lambda: PostgresStore(postgres_url),
        once=True,
        poll=0.05,
        api_factory=refused,
        on_pass=enough,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    thread.join(timeout=HANG)
    assert not thread.is_alive(), "the worker did not end"
    assert all("AccessDenied" in (p.error or "") for p in worker.passes)
    assert len(worker.passes) == 1, f"{len(worker.passes)} passes of a refused shard, once"
    assert worker.failed_shards == [SHARDS[0]]
