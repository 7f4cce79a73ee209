"""A fleet of sync workers against per-shard quotas: 1, 2, 4 and 8 workers on one PostgreSQL.

    python benchmarks/bench_fleet.py [--accounts 8] [--registrations 250] [--scale 20]
        [--workers 1,2,4,8] [--lease-seconds 30] [--poll 0.25] [--write-docs]

Each (account, region) is a shard with quotas of its own, so a fleet's throughput
grows with its workers — up to one worker per shard — while no shard goes faster
than its quota. This measures it the way users run it:

- ``--accounts`` emulators (one :class:`EmulatedRegistrationApi` per account, two
  regions taken in turn), each holding ``--registrations`` registrations in various
  statuses (three versions as in ``bench_quota``, one approved, one in review, or a
  draft), each enforcing AWS's default read quotas times ``--scale`` (as
  ``bench_quota`` scales them; the writes that only build the data are out of the
  way). Each is served over HTTP from a process of its own, forked from this one
  once the data is built: the emulators then share no interpreter lock with each
  other or with this process, and their request counters and arrival times come
  back through a pipe when they stop.
- A throwaway PostgreSQL (``tests/helpers/postgres.py``, the tests' own cluster);
  each run gets a new database, its schema made before the clock starts.
- For each ``W`` in ``--workers``: ``W`` processes of ``registration-fsm worker
  --fleet FILE --store URL --once --json`` started at once, the fleet file's
  ``sync_interval`` a day (so each shard is synced exactly once), ``--poll`` short
  (a worker with nothing left to lease exits soon after the last pass ends) and the
  workers' pacing scaled like the emulators' (``REGISTRATION_FSM_QUOTA_SCALE``). The
  wall time runs from starting the first process to the exit of the last.

The bound of a run: a shard's pass cannot beat its requests of each operation over
that operation's quota, less the burst a full bucket serves at once (``bench_quota``'s
bound, from the requests each emulator received); a pass is one worker's, so the
run cannot beat the best split of the shards' passes among ``W`` workers (for equal
shards, ``ceil(shards / W)`` passes each). Every run is also checked: every
registration of every account stored with all its versions, the audit chain intact,
each shard synced once without error, no request throttled (the emulators' buckets
are the quotas) and each operation's mean rate over a pass within its quota (for the
operations that made a second's worth of requests or more: over fewer, the jitter
between sending and arriving is most of the span).

Exits 1 when the efficiency at 4 workers (speed-up over 1 worker, divided by 4) is
under 0.8, when a quota was exceeded, or when a run lost data. ``--write-docs``
replaces the bench_fleet block in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quota import READS, bound, quotas
from bench_sync import Server
from docs_block import replace_block

from registration_fsm import EmulatedRegistrationApi
from registration_fsm.audit import verify
from registration_fsm.cli.worker import PASS_KEYS
from registration_fsm.quotas import ENV_QUOTA_FILE, ENV_QUOTA_SCALE, ENV_QUOTAS
from registration_fsm.store.postgres import PostgresStore

START, END = "<!-- bench_fleet:start -->", "<!-- bench_fleet:end -->"
ROOT = Path(__file__).resolve().parent.parent
REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
REGIONS = ("us-east-1", "eu-west-1")
#: The efficiency the issue asks for at 4 workers (speed-up over one worker ÷ 4).
TARGET_WORKERS, TARGET_EFFICIENCY = 4, 0.8


class Cluster(Protocol):
    """What is used of the tests' ``PostgresCluster``."""

    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def create_database(self, prefix: str = ...) -> str: ...


def postgres_cluster() -> Cluster:
    """A new (not started) ``PostgresCluster`` of ``tests/helpers/postgres.py``."""
    path = ROOT / "tests" / "helpers" / "postgres.py"
    spec = importlib.util.spec_from_file_location("bench_fleet_postgres", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cluster: Cluster = module.PostgresCluster()
    return cluster


# -- the accounts ---------------------------------------------------------------------


class RecordingApi(EmulatedRegistrationApi):
    """The emulator, noting when each request arrived (monotonic seconds, by operation)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)

    def handle(
        self, operation: str, params: Mapping[str, Any], *, paced: bool = False
    ) -> dict[str, Any]:
        self.arrivals[operation].append(time.monotonic())
        return super().handle(operation, params, paced=paced)


@attrs.frozen
class Account:
    """One emulated account and region, and what it holds: id -> number of versions."""

    account: str
    region: str
    api: RecordingApi
    versions: Mapping[str, int]

    @property
    def shard(self) -> str:
        return f"{self.account}/{self.region}"


def build(number: int, n: int, scale: float) -> Account:
    """Account ``number``'s emulator with ``n`` registrations in various statuses."""
    account, region = f"{210000000000 + number:012d}", REGIONS[number % len(REGIONS)]
    # No forms (catalog=None), as in bench_quota: a version's values are read all the same.
    api = RecordingApi(
        account=account, region=region, seed=number, quotas=quotas(scale), catalog=None
    )
    versions: dict[str, int] = {}
    for i in range(n):
        reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
        kind = i % 4
        if kind == 3:  # a draft, never submitted
            versions[reg_id] = 1
            continue
        api.submit_registration_version(reg_id)
        api.advance(reg_id, "begin_review")
        if kind == 2:  # in review
            versions[reg_id] = 1
            continue
        api.advance(reg_id, "approve")
        if kind == 1:  # approved
            versions[reg_id] = 1
            continue
        # bench_quota's: approved, then denied, then in AWS review
        api.create_registration_version(reg_id)
        api.submit_registration_version(reg_id)
        api.advance(reg_id, "begin_review")
        api.advance(reg_id, "deny", denied_reasons=[{"Reason": "R", "ShortDescription": "S"}])
        api.create_registration_version(reg_id)
        api.submit_registration_version(reg_id, aws_review=True)
        versions[reg_id] = 3
    api.arrivals.clear()  # the building is not measured
    return Account(account, region, api, versions)


# -- serving them ---------------------------------------------------------------------


@attrs.frozen
class Served:
    """What one emulator received while served: requests and throttled ones by
    operation, and each operation's arrival times."""

    calls: Mapping[str, int]
    throttled: Mapping[str, int]
    arrivals: Mapping[str, Sequence[float]]


def _serve(server: Server, pipe: Any) -> None:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    pipe.recv()  # any message (or EOF) stops the server
    server.shutdown()
    thread.join()
    server.server_close()
    api = server.api
    assert isinstance(api, RecordingApi)
    pipe.send((dict(api.calls), dict(api.throttled), dict(api.arrivals)))


@contextmanager
def serving(accounts: Sequence[Account], out: list[Served]) -> Iterator[list[str]]:
    """Serve each account from a forked process of its own; their URLs. On leaving,
    ``out`` gets what each received (the building's requests taken out)."""
    ctx = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any]] = []
    urls: list[str] = []
    try:
        for account in accounts:
            server = Server(account.api)
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(server, child), daemon=True)
            proc.start()
            server.server_close()  # the child serves on its copy of the socket
            child.close()
            children.append((proc, parent))
            urls.append(server.url)
        yield urls
    finally:
        for _, pipe in children:
            pipe.send("stop")
        lost = []
        for account, (proc, pipe) in zip(accounts, children, strict=False):
            try:
                calls, throttled, arrivals = pipe.recv()
            except EOFError:  # it died: what it received is unknown
                lost.append(account.shard)
                calls, throttled, arrivals = {}, {}, {}
            proc.join(60)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            built = account.api.calls
            received = {op: n - built.get(op, 0) for op, n in calls.items()}
            out.append(Served({op: n for op, n in received.items() if n}, throttled, arrivals))
        if lost:
            raise SystemExit(f"the emulators of {', '.join(lost)} died while serving")


# -- one run ----------------------------------------------------------------------------


def worker_command() -> list[str]:
    """``registration-fsm`` as users run it: the console script beside this Python."""
    script = Path(sys.executable).with_name("registration-fsm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "registration_fsm.cli"]


def fleet_file(path: Path, accounts: Sequence[Account], urls: Sequence[str], lease: float) -> None:
    lines = [
        "[defaults]",
        f"lease_seconds = {lease}",
        "sync_interval = 86400  # a day: each shard is synced once per run",
    ]
    for account, url in zip(accounts, urls, strict=True):
        lines += [
            "",
            "[[shard]]",
            f'account = "{account.account}"',
            f'region = "{account.region}"',
            f'endpoint_url = "{url}"',
        ]
    path.write_text("\n".join(lines) + "\n")


def worker_env(scale: float) -> dict[str, str]:
    """This environment without AWS settings or quota overrides, with dummy
    credentials and the workers' pacing scaled as the emulators' quotas are."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in (ENV_QUOTAS, ENV_QUOTA_FILE, ENV_QUOTA_SCALE)
    }
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env[ENV_QUOTA_SCALE] = repr(scale)
    return env


@attrs.frozen
class Run:
    """One run of ``workers`` workers: its wall time, passes, what each emulator
    received, and the problems found (none: the run is sound)."""

    workers: int
    wall: float
    #: When the first worker was started (seconds since the epoch, as the passes' times).
    spawned: float
    #: The machine's 1-minute load average just before (others' work shows in it).
    load: float
    #: CPU seconds the worker processes used, all together.
    cpu: float
    passes: list[dict[str, Any]]
    served: list[Served]
    stored: int
    chain: str
    problems: list[str]


def run(
    workers: int, accounts: Sequence[Account], cluster: Cluster, args: argparse.Namespace
) -> Run:
    load = os.getloadavg()[0]
    url = cluster.create_database("fleet")
    PostgresStore(url).close()  # the schema, made before the clock starts
    served: list[Served] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        fleet = Path(tmp) / "fleet.toml"
        with serving(accounts, served) as urls:
            fleet_file(fleet, accounts, urls, args.lease_seconds)
            command = [
                *worker_command(), "worker", "--fleet", str(fleet), "--store", url, "--once",
                "--json", "--poll", repr(args.poll),
            ]  # fmt: skip
            spawned = time.time()
            cpu = _children_cpu()
            wall, outputs = _run_workers(command, workers, Path(tmp), worker_env(args.scale))
            cpu = _children_cpu() - cpu  # the workers' (the emulators are not reaped yet)
        passes: list[dict[str, Any]] = []
        for number, (code, stdout, stderr) in enumerate(outputs, 1):
            if code != 0:
                problems.append(f"worker {number} exited {code}: {_tail(stderr)}")
            passes += _passes(stdout, number, problems)
    stored, chain = _check_store(url, accounts, problems)
    _check_passes(passes, accounts, problems)
    return Run(workers, wall, spawned, load, cpu, passes, served, stored, chain, problems)


def _run_workers(
    command: list[str], workers: int, tmp: Path, env: dict[str, str]
) -> tuple[float, list[tuple[int, str, str]]]:
    """Start ``workers`` processes at once, wait for all; the wall time and each
    one's exit status, standard output and standard error."""
    files = [(tmp / f"out{i}", tmp / f"err{i}") for i in range(workers)]
    procs: list[subprocess.Popen[bytes]] = []
    started = time.perf_counter()
    for out, err in files:
        with out.open("wb") as stdout, err.open("wb") as stderr:
            procs.append(
                subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env
                )
            )
    try:
        for proc in procs:
            proc.wait(timeout=3600)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - started
    return wall, [
        (proc.returncode, out.read_text(), err.read_text())
        for proc, (out, err) in zip(procs, files, strict=True)
    ]


def _epoch(value: Any) -> float | None:
    """A pass's ``started`` or ``ended`` in seconds since the epoch (None if unreadable)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment.timestamp() if moment.tzinfo is not None else None
    return None


def _span(run: Run, key: str, pick: Callable[[list[float]], float]) -> float | None:
    """Seconds from starting the workers to the first or last pass's ``key``."""
    times = [t for p in run.passes if (t := _epoch(p[key])) is not None]
    return pick(times) - run.spawned if times and len(times) == len(run.passes) else None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(nothing on stderr)"


def _passes(stdout: str, number: int, problems: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"worker {number} printed a line that is not JSON: {line[:100]!r}")
            continue
        if not isinstance(item, dict) or not item.keys() >= set(PASS_KEYS):
            problems.append(f"worker {number}: a pass line without {sorted(PASS_KEYS)}: {line}")
            continue
        out.append(item)
    return out


def _check_passes(
    passes: Sequence[Mapping[str, Any]], accounts: Sequence[Account], problems: list[str]
) -> None:
    """Each shard synced exactly once, whole and without error."""
    by_shard = Counter(p["shard"] for p in passes)
    for account in accounts:
        if by_shard[account.shard] != 1:
            problems.append(f"{account.shard} was synced {by_shard[account.shard]} times")
    for p in passes:
        failed = p["failed"] if isinstance(p["failed"], int) else len(p["failed"])
        if p["error"] is not None or failed:
            problems.append(f"the pass of {p['shard']}: {failed} failed, error {p['error']}")


def _check_store(url: str, accounts: Sequence[Account], problems: list[str]) -> tuple[int, str]:
    """Every registration of every account stored with all its versions, and the audit
    chain intact; the number stored, and the chain's verdict."""
    store = PostgresStore(url)
    try:
        stored = 0
        for account in accounts:
            view = store.where(account=account.account, region=account.region)
            ids = set(view.ids())
            stored += len(ids)
            missing = account.versions.keys() - ids
            if missing or len(ids) != len(account.versions):
                problems.append(
                    f"{account.shard}: {len(ids)} stored of {len(account.versions)} "
                    f"({len(missing)} missing)"
                )
            short = [
                r.id for r in view.registrations() if len(r.versions) != account.versions.get(r.id)
            ]
            if short:
                problems.append(f"{account.shard}: {len(short)} stored with the wrong versions")
        verdict = verify(*store.audit_trail())
        if not verdict.ok:
            problems.append(f"the audit chain: {verdict}")
        return stored, str(verdict)
    finally:
        store.close()


# -- the bound and the quotas -----------------------------------------------------------


def shard_bound(served: Served, scale: float) -> float:
    """A shard's pass at best: bench_quota's bound over the requests it received."""
    return bound({op: n for op, n in served.calls.items() if op in READS}, scale)


def makespan(durations: Sequence[float], workers: int) -> float:
    """The shortest time ``workers`` take for passes of ``durations``, each pass on one
    worker (exact: a search over assignments, a few thousand for 8 shards)."""
    jobs = sorted(durations, reverse=True)
    best = sum(jobs)
    loads = [0.0] * max(1, min(workers, len(jobs)))

    def place(i: int) -> None:
        nonlocal best
        if i == len(jobs):
            best = min(best, max(loads))
            return
        tried: set[float] = set()
        for m, load in enumerate(loads):
            if load in tried or load + jobs[i] >= best:
                continue
            tried.add(load)
            loads[m] += jobs[i]
            place(i + 1)
            loads[m] -= jobs[i]

    place(0)
    return best


def highest_rate_share(
    accounts: Sequence[Account], served: Sequence[Served], scale: float
) -> float:
    """The highest share of its quota any operation of any shard ran at, its rate
    taken over its pass (first to last request as the emulator saw them).

    Only operations that made a second's worth of requests or more are rated: over
    a few requests the jitter between sending and arriving (milliseconds, against
    requests spaced 1/rate apart) is most of the span. Every request, rated or not,
    passed its quota's bucket unless counted as throttled.
    """
    highest = 0.0
    for account, got in zip(accounts, served, strict=True):
        rates = quotas(scale).rates(account.account, account.region)
        for op, times in got.arrivals.items():
            if len(times) >= max(2.0, rates[op]) and times[-1] > times[0]:
                rate = (len(times) - 1) / (times[-1] - times[0])
                highest = max(highest, rate / rates[op])
    return highest


# -- the report ---------------------------------------------------------------------------


@attrs.frozen
class Row:
    workers: int
    wall: float
    bound: float
    throughput: float
    speedup: float
    efficiency: float
    throttled: int
    rate_share: float
    #: Seconds from starting the workers to the first pass's start, and to the last's end.
    first_started: float | None
    last_ended: float | None
    cpu: float


def rows(runs: Sequence[Run], accounts: Sequence[Account], scale: float) -> list[Row]:
    one = next(r for r in runs if r.workers == 1)
    out = []
    for r in runs:
        per_shard = [shard_bound(s, scale) for s in r.served]
        speedup = one.wall / r.wall
        out.append(
            Row(
                r.workers,
                r.wall,
                makespan(per_shard, r.workers),
                r.stored / r.wall,
                speedup,
                speedup / r.workers,
                sum(sum(s.throttled.values()) for s in r.served),
                highest_rate_share(accounts, r.served, scale),
                _span(r, "started", min),
                _span(r, "ended", max),
                r.cpu,
            )
        )
    return out


def report(
    runs: Sequence[Run],
    table: Sequence[Row],
    accounts: Sequence[Account],
    args: argparse.Namespace,
    seconds: float,
    postgres: str,
) -> str:
    first = runs[0].served[0]
    requests = ", ".join(f"{op} {n}" for op, n in sorted(first.calls.items()))
    total = sum(len(a.versions) for a in accounts)
    read_rate = quotas(args.scale).rates()[READS[0]]
    lines = [
        START,
        f"Measured {datetime.now(UTC):%Y-%m-%d} on Python {platform.python_version()} "
        f"({platform.machine()}, {os.cpu_count()} cores), {postgres}: {len(accounts)} accounts "
        f"(shards) x {args.registrations} registrations ({total:,}), each account an emulator "
        f"served from a process of its own enforcing AWS's default read quotas x{args.scale:g} "
        f"({read_rate:g} requests per second per operation); workers are `registration-fsm "
        f"worker --once --json --poll {args.poll:g}` processes (lease {args.lease_seconds:g} s, "
        f"sync_interval a day). The machine's load average before each run: "
        f"{', '.join(f'{r.load:.1f}' for r in runs)}. The whole benchmark took {seconds:.0f} s.",
        "",
        "| workers | wall time | first pass began, last ended | bound | wall ÷ bound | "
        "registrations per second | speed-up vs 1 worker | efficiency (speed-up ÷ workers) | "
        "throttled | highest rate ÷ quota | the workers' CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            f"| {row.workers} | {row.wall:.1f} s | {_seconds(row.first_started)}, "
            f"{_seconds(row.last_ended)} | {row.bound:.1f} s | {_ratio(row.wall, row.bound)} "
            f"| {row.throughput:.1f} | {row.speedup:.2f}x | {row.efficiency:.2f} | {row.throttled} "
            f"| {row.rate_share:.2f} | {row.cpu:.1f} s |"
        )
    sound = all(not r.problems for r in runs)
    lines += [
        "",
        f"Each shard's pass: {requests} (a bound of {shard_bound(first, args.scale):.1f} s "
        f"alone). Target: efficiency >= {TARGET_EFFICIENCY:g} at {TARGET_WORKERS} workers, "
        f"nothing throttled, every rate within its quota. Every run: "
        + (
            f"all {total:,} registrations stored with all their versions, each shard synced "
            f"once, the audit chain intact ({runs[-1].chain})."
            if sound
            else "PROBLEMS: " + "; ".join(p for r in runs for p in r.problems)
        ),
        END,
    ]
    return "\n".join(lines)


def _ratio(wall: float, bound: float) -> str:
    # A bound of 0: each shard's requests fit in its buckets' burst (a tiny run).
    return f"{wall / bound:.2f}x" if bound > 0 else "(no bound)"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"


def verdicts(table: Sequence[Row], runs: Sequence[Run]) -> list[str]:
    """Why the benchmark fails (nothing: it passes)."""
    out = [f"{r.workers} workers: {p}" for r in runs for p in r.problems]
    for row in table:
        if row.throttled:
            out.append(f"{row.workers} workers: {row.throttled} requests throttled")
        if row.rate_share > 1:
            out.append(f"{row.workers} workers: a rate {row.rate_share:.2f}x its quota")
        if row.workers == TARGET_WORKERS and row.efficiency < TARGET_EFFICIENCY:
            out.append(
                f"efficiency {row.efficiency:.2f} at {TARGET_WORKERS} workers "
                f"(target {TARGET_EFFICIENCY:g})"
            )
    return out


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of worker counts: {text!r}") from None
    if 1 not in sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("the worker counts must include 1 (the speed-up's base)")
    return sizes


def _postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0].split()[0] if row else '?'}"


def measure(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[str, list[str]]:
    began = time.perf_counter()
    accounts = [build(i + 1, args.registrations, args.scale) for i in range(args.accounts)]
    log(f"built {args.accounts} accounts in {time.perf_counter() - began:.1f} s")
    cluster = postgres_cluster()
    cluster.start()
    try:
        runs = []
        for workers in args.workers:
            done = run(workers, accounts, cluster, args)
            runs.append(done)
            log(
                f"{workers} workers: {done.wall:.1f} s (load average before: {done.load:.1f}); "
                f"problems: {done.problems or 'none'}"
            )
        postgres = _postgres_version(cluster.create_database("version"))
    finally:
        cluster.stop()
    table = rows(runs, accounts, args.scale)
    text = report(runs, table, accounts, args, time.perf_counter() - began, postgres)
    return text, verdicts(table, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--registrations", type=int, default=250)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--workers", type=_sizes, default=[1, 2, 4, 8])
    parser.add_argument("--lease-seconds", type=float, default=30.0)
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    text, failures = measure(args, lambda line: print(line, file=sys.stderr, flush=True))
    print(text)
    if args.write_docs:
        replace_block(START, END, text)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
