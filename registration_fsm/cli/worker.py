"""``registration-fsm worker``: sync a fleet's accounts and regions, sharing the work with
every other worker on the same store."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registration_fsm.cli.aws import INTERRUPTED, open_cli_store, store_option
from registration_fsm.cli.follow import log_to_stderr
from registration_fsm.cli.quota_options import current_quotas, quota_options
from registration_fsm.errors import InvalidArgument, InvalidArgumentType

if TYPE_CHECKING:
    from registration_fsm.fleet import ShardPass, Worker

#: The keys of each ``--json`` line (one per pass); scripts parse them.
PASS_KEYS = (
    "shard", "owner", "started", "ended", "seconds", "registrations", "changed", "failed",
    "api_calls", "events", "error",
)  # fmt: skip


def _check_owner(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    # The stores' rule for a lease owner, checked before any lease is asked for.
    if value is not None and (not 1 <= len(value) <= 200 or not value.isprintable()):
        raise click.BadParameter(f"a lease owner is 1..200 printable characters, got {value!r}")
    return value


@click.command(short_help="Sync a fleet's accounts and regions, with other workers.")
@click.option("--fleet", "fleet_file", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The fleet file (TOML): the accounts and regions, how to reach each."
              )  # fmt: skip
@store_option("The store the workers share: a postgresql:// URL (workers on many hosts), or "
              "an SQLite file (workers of one host).")  # fmt: skip
@click.option("--slots", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Shards this worker syncs at once (two store connections each).")  # fmt: skip
@click.option("--once", is_flag=True,
              help="Exit once no shard of the fleet is due (each synced within its "
              "sync_interval), instead of waiting for the next.")  # fmt: skip
@click.option("--owner", default=None, metavar="NAME", callback=_check_owner,
              help="The name this worker's leases are taken under "
              "(default HOST:PID:RANDOM).")  # fmt: skip
@click.option("--poll", default=None, metavar="SECONDS",
              type=click.FloatRange(0, 3600, min_open=True),
              help="Seconds to wait when no shard can be leased (default: a third of "
              "lease_seconds, at most 5).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print each pass as one JSON object.")
@quota_options
def worker(
    fleet_file: Path, store: str, slots: int, once: bool, owner: str | None,
    poll: float | None, as_json: bool,
) -> None:  # fmt: skip
    """Sync the accounts and regions of a fleet file, sharing them with every other
    worker on the same store.

    The worker leases one shard (account and region) at a time per slot — a shard
    is synced by one worker at a time — syncs it at its quotas (AWS's defaults,
    --quota-file and --quota, then the fleet file's [shard.quotas]), releases it,
    and takes the next that is due. It prints one line per pass on stdout (--json:
    one object); its warnings go to stderr.

    Runs until SIGTERM or Ctrl-C (each pass stops at its next registration and the
    leases are released: exit 0 after SIGTERM, 130 after Ctrl-C), or with --once
    until no shard is due — a shard whose pass fails is then tried once, and the run
    exits 1 naming it. A fleet file that cannot be used is a usage error (exit 2); a
    store that cannot be opened, exit 1.
    """
    from registration_fsm.fleet import FleetConfig, Worker

    try:
        config = FleetConfig.from_toml(fleet_file)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.BadParameter(str(err), param_hint="--fleet") from None
    quotas = current_quotas()
    open_cli_store(store, read_only=False).close()  # fails here, in one line, if it cannot
    printer = _Printer(as_json)
    runner = Worker(
        config,
        lambda: open_cli_store(store, read_only=False),
        slots=slots, quotas=quotas, owner=owner, once=once, poll=poll, on_pass=printer,
    )  # fmt: skip
    printer.worker = runner
    with log_to_stderr():
        _run(runner)
    if printer.failure is not None:  # stdout went away: the worker was stopped for it
        raise printer.failure
    failed = runner.failed_shards
    if failed and not runner.stopping:
        shards = ", ".join(str(s) for s in failed)
        raise click.ClickException(f"--once: the pass of {shards} failed (tried once)")


def _run(runner: Worker) -> None:
    """``runner.run()`` in a thread of its own, stopped by SIGTERM or Ctrl-C."""
    failures: list[BaseException] = []
    # Waited for instead of Thread.join: a join that Ctrl-C interrupts marks a thread
    # still running as stopped (CPython's bpo-45274 handling), and the next join returns.
    done = threading.Event()

    def run() -> None:
        try:
            runner.run()
        except BaseException as err:  # raised again in the main thread
            failures.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"worker {runner.owner}", daemon=True)
    stopped: list[str] = []

    def terminate(_signum: int, _frame: object) -> None:
        stopped.append("SIGTERM")
        runner.stop()

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main else None
    try:
        thread.start()
        try:
            done.wait()
        except KeyboardInterrupt:
            runner.stop()
            done.wait()  # the passes stop at their next registration and give their leases up
            click.echo(f"interrupted: worker {runner.owner} stopped, its leases released", err=True)
            raise SystemExit(INTERRUPTED) from None
    finally:
        if previous is not None:  # None: not the main thread, or a handler not from Python
            signal.signal(signal.SIGTERM, previous)
    if failures:
        raise failures[0]
    if stopped:
        click.echo(f"stopped (SIGTERM): worker {runner.owner}, its leases released", err=True)


class _Printer:
    """The worker's ``on_pass``: one line per pass on stdout, from any loop's thread."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.worker: Worker | None = None
        #: Why printing failed (stdout closed, a full disk): the worker is stopped.
        self.failure: OSError | None = None
        self._lock = threading.Lock()

    def __call__(self, done: ShardPass) -> None:
        line = pass_line(done, as_json=self.as_json)
        with self._lock:
            if self.failure is not None:
                return
            try:
                click.echo(line)
            except OSError as err:
                self.failure = err
                if self.worker is not None:
                    self.worker.stop()


def pass_record(done: ShardPass) -> dict[str, Any]:
    """One pass as ``--json`` prints it (the keys of :data:`PASS_KEYS`)."""
    report = done.report
    return {
        "shard": str(done.shard),
        "owner": done.owner,
        "started": None if done.started is None else done.started.isoformat(),
        "ended": None if done.ended is None else done.ended.isoformat(),
        "seconds": round(done.seconds, 3),
        "registrations": 0 if report is None else report.registrations_seen,
        "changed": 0 if report is None else len(report.changed),
        "failed": 0 if report is None else len(report.failed),
        "api_calls": {} if report is None else dict(report.api_calls),
        "events": done.events,
        "error": done.error,
    }


def pass_line(done: ShardPass, *, as_json: bool) -> str:
    """One pass as the worker prints it: ``ACCOUNT/REGION: N registrations, C changed,
    F failed[, E events], S s``, ``ACCOUNT/REGION: ended early: WHY``, or (``as_json``)
    :func:`pass_record` on one line."""
    if as_json:
        return json.dumps(pass_record(done), sort_keys=True)
    report = done.report
    if done.error is not None:
        return f"{done.shard}: ended early: {done.error}"
    assert report is not None  # a pass that did not end early has its sync's report
    text = (
        f"{done.shard}: {report.registrations_seen} registrations, {len(report.changed)} "
        f"changed, {len(report.failed)} failed"
    )
    if done.events:
        text += f", {done.events} events"
    return f"{text}, {done.seconds:.1f} s"


__all__ = ["PASS_KEYS", "pass_line", "pass_record", "worker"]
