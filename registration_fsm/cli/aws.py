"""Commands against the real API (standard boto3 credentials) or ``--endpoint-url``."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from registration_fsm.sync import Synchronizer

from registration_fsm.cli.output import (
    registration_json,
    registration_table,
    timeline_line,
    to_json,
)
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LifecyclePolicy

DEFAULT_STORE = "registration-fsm.db"


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--endpoint-url, --region, --profile, --connect-timeout, --read-timeout and --store."""

    @click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2",
        help="Talk to this endpoint (an emulator) instead of AWS.",
    )
    @click.option("--region", envvar="AWS_REGION", help="AWS region (default: boto3's).")
    @click.option("--profile", envvar="AWS_PROFILE", help="boto3 credentials profile.")
    @click.option(
        "--connect-timeout",
        default=10.0,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True, max=3600),
        help="Seconds to wait for a connection to the API.",
    )
    @click.option(
        "--read-timeout",
        default=30.0,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True, max=3600),
        help="Seconds to wait for each answer of the API.",
    )
    @click.option(
        "--store",
        "store_path",
        default=DEFAULT_STORE,
        show_default=True,
        envvar="REGISTRATION_FSM_STORE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="SQLite file holding the local state.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper  # fmt: skip


def make_synchronizer(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    connect_timeout: float,
    read_timeout: float,
    store_path: Path,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> Synchronizer:
    """A Synchronizer over boto3 and an SQLite store (the CLI's one wiring of parts)."""
    from registration_fsm import Boto3RegistrationApi, SQLiteStore, Synchronizer

    api = Boto3RegistrationApi.from_config(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return Synchronizer(api, SQLiteStore(store_path), policy=policy)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` drawing a bar on stderr if it is a terminal, else None.

    Off a terminal click would still print the label, an extra stderr line in
    logs and pipes (and before a one-line error).
    """
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        yield progress


@click.command(short_help="Pull registrations from the API into the local store.")
@api_options
@click.option("--id", "ids", multiple=True, help="Only this registration (repeatable).")
@click.option("--full", is_flag=True, help="Describe every registration, changed or not.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sync(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    connect_timeout: float,
    read_timeout: float,
    store_path: Path,
    ids: tuple[str, ...],
    full: bool,
    as_json: bool,
) -> None:
    """Pull registrations from the API into the local store and print what changed.

    Exits 1 when a registration could not be pulled or an --id does not exist.
    """
    syncer = make_synchronizer(
        endpoint_url, region, profile, connect_timeout, read_timeout, store_path
    )
    with syncer.store, progress_bar("syncing") as progress:
        report = syncer.sync(list(ids) or None, full, progress=progress)
    if as_json:
        click.echo(to_json(report.to_dict()))
    else:
        for event in report.events:
            click.echo(timeline_line(event))
        for anomaly in report.anomalies:
            click.echo(f"  anomaly: {anomaly}")
        for registration_id, error in report.failed.items():
            click.echo(f"  failed {registration_id}: {error}")
        for registration_id in report.not_found:
            click.echo(f"  not found {registration_id}")
        calls = ", ".join(f"{k} {v}" for k, v in report.api_calls.items()) or "none"
        click.echo(
            f"{len(report.changed)} changed, {len(report.unchanged)} unchanged, "
            f"{len(report.deleted)} deleted, {len(report.not_found)} not found, "
            f"{len(report.failed)} failed; API calls: {calls}"
        )
    # The others were saved; the exit status says that not everything asked for was.
    if report.not_found:
        raise click.ClickException(
            f"no such registration on the API: {', '.join(report.not_found)}"
        )
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} registration(s) could not be pulled")


@click.command(short_help="Show local registrations (and their events).")
@click.option("--store", "store_path", default=DEFAULT_STORE, show_default=True,
              envvar="REGISTRATION_FSM_STORE", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file holding the local state.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (the API's shapes).")
@click.option("--events", "with_events", is_flag=True, help="Also print each one's events.")
@click.argument("registration_ids", nargs=-1)
def show(
    store_path: Path, as_json: bool, with_events: bool, registration_ids: tuple[str, ...]
) -> None:
    """Show local registrations (all, or the ones named) from the store."""
    from registration_fsm.store.sqlite import SQLiteStore

    if not store_path.exists():
        raise click.ClickException(f"no store at {store_path}; run `registration-fsm sync` first")
    with SQLiteStore(store_path) as store:
        ids = list(registration_ids) or store.ids()
        found = []
        for registration_id in ids:
            stored = store.get(registration_id)
            if stored is None:
                raise click.ClickException(f"registration {registration_id} is not in {store_path}")
            found.append(
                (stored.registration, list(store.events(registration_id)) if with_events else [])
            )
    if as_json:
        data = []
        for registration, events in found:
            item = registration_json(registration)
            if with_events:
                item["Events"] = [e.to_dict() for e in events]
            data.append(item)
        click.echo(to_json(data))
        return
    for registration, events in found:
        for line in registration_table(registration):
            click.echo(line)
        for event in events:
            click.echo(timeline_line(event))


@click.command(short_help="Poll a registration until it reaches a status.")
@api_options
@click.option("--registration-id", required=True, help="The registration to watch.")
@click.option("--status", "statuses", multiple=True, required=True,
              help="A registration or version status to wait for (repeatable).")  # fmt: skip
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(min=0.001))
@click.option("--poll", default=5.0, show_default=True, type=click.FloatRange(min=0.001),
              help="First pause between polls (grows with backoff, with jitter).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the registration as JSON.")
def wait(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store_path: Path,
    registration_id: str, statuses: tuple[str, ...], timeout: float, poll: float, as_json: bool,
) -> None:  # fmt: skip
    """Poll a registration until it reaches a status.

    Exits 1 at once when the registration does not exist or can no longer reach
    any status wanted, and after --timeout.
    """
    syncer = make_synchronizer(
        endpoint_url, region, profile, connect_timeout, read_timeout, store_path
    )
    with syncer.store:
        registration = syncer.wait_for(registration_id, statuses, timeout=timeout, poll=poll)
    if as_json:
        click.echo(to_json(registration_json(registration)))
    else:
        for line in registration_table(registration):
            click.echo(line)
