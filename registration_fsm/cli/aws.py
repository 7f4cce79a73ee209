"""Commands against the real API (standard boto3 credentials) or ``--endpoint-url``.

Also the CLI's one way to name and open a store: ``--store FILE|URL`` is an SQLite
file or a ``postgresql://`` URL (:func:`store_option`, :func:`open_cli_store`).
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.domain.registration import Registration
    from registration_fsm.store.postgres import PostgresStore
    from registration_fsm.store.sqlite import SQLiteStore
    from registration_fsm.sync import Synchronizer

from registration_fsm.cli.output import (
    field_lines,
    registration_json,
    registration_table,
    timeline_line,
    to_json,
)
from registration_fsm.cli.quota_options import (
    account_option,
    current_account,
    current_quotas,
    quota_options,
)
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LifecyclePolicy
from registration_fsm.domain.parsing import VERSION_MAX, VERSION_MIN
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import (
    AmbiguousRegistrationId,
    InvalidArgument,
    InvalidArgumentType,
)
from registration_fsm.pacing import Pacer
from registration_fsm.quotas import Quotas

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_STORE = "registration-fsm.db"
#: The environment variable --store reads.
STORE_ENV = "REGISTRATION_FSM_STORE"
#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


# -- the store: an SQLite file or a PostgreSQL URL ---------------------------------------


def _is_url(target: str) -> bool:
    from registration_fsm.store.locate import is_postgres

    return is_postgres(target)


def store_target(exists: bool) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """The callback of a parameter naming a store: a ``postgresql://`` URL as given, else
    a file path checked as :class:`click.Path` checks one (never a directory; with
    ``exists``, there)."""
    path = click.Path(dir_okay=False, exists=exists)

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or (isinstance(value, str) and _is_url(value)):
            return value
        return os.fspath(path.convert(value, param, ctx))

    return check


def store_option(
    help: str, *, required: bool = False, exists: bool = False
) -> Callable[[F], F]:  # fmt: skip
    """``--store FILE|URL`` as the argument ``store`` (text). Without ``required``, the
    default is :data:`DEFAULT_STORE`, and :data:`STORE_ENV` is read."""
    if required:
        return click.option(
            "--store", "store", required=True, metavar="FILE|URL",
            callback=store_target(exists), help=help,
        )  # fmt: skip
    return click.option(
        "--store", "store", default=DEFAULT_STORE, show_default=True, envvar=STORE_ENV,
        metavar="FILE|URL", callback=store_target(exists), help=help,
    )  # fmt: skip


def is_store_file(target: str) -> bool:
    """Whether ``target`` names an SQLite file (not a PostgreSQL URL)."""
    return not _is_url(target)


def open_cli_store(
    target: str | os.PathLike[str], *, read_only: bool, missing: str | None = None
) -> SQLiteStore | PostgresStore:
    """The store ``--store`` names, through :func:`~registration_fsm.store.open_store`.

    A URL opens a :class:`PostgresStore` (``read_only``: in read-only transactions,
    creating nothing); its errors never show the URL's password. A file is opened as
    the CLI always did: a reading command (``read_only``) refuses a missing file
    (``missing``, else ``no store at PATH``) and one that is not a regular file (a
    device, a pipe) before SQLite sees it, and never creates one.
    """
    from registration_fsm.store.locate import open_store

    text = os.fspath(target)
    if _is_url(text):
        return open_store(text, read_only=read_only)  # its errors never show the password
    path = Path(text)
    if read_only:
        if not path.exists():
            raise click.ClickException(missing or f"no store at {path}")
        if not path.is_file():  # a device or a pipe: never read as a store
            raise click.ClickException(f"{path} is not a regular file, not a store")
    return open_store(path, read_only=read_only)


def store_name(store: object, target: str | os.PathLike[str]) -> str:
    """How messages name an open store: a database's URL without its password or
    parameters, a file's path as given."""
    url = getattr(store, "url", None)
    return url if isinstance(url, str) else str(Path(os.fspath(target)))


# -- the API --------------------------------------------------------------------------


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--endpoint-url, --region, --profile, --connect-timeout, --read-timeout, --store,
    and the pacing options --quota OPERATION=RPS, --quota-file and --account.

    The command gets the first six as arguments (``store``: the text given); the
    pacing options reach :func:`make_synchronizer` through the click context, so a
    command passes them on without naming them.
    """

    @connection_options
    @store_option("The local state: an SQLite file, or a postgresql:// URL.")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`api_options` without --store, for commands that keep no local state
    (read them with :func:`make_api`)."""

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
    @quota_options
    @account_option
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
    store: str | os.PathLike[str],
    policy: LifecyclePolicy = DEFAULT_POLICY,
    *,
    quotas: Quotas | None = None,
    account: str | None = None,
    field_values: str = "submitted",
) -> Synchronizer:
    """A Synchronizer over boto3 and the store ``store`` names (an SQLite file or a
    PostgreSQL URL): the CLI's one wiring of parts.

    Requests are paced by ``quotas`` for ``account`` (default: what the command's
    --quota, --quota-file and --account say). With an account, the sync is of that
    account in the client's region: the store is used through its view of that shard.
    """
    from registration_fsm import Synchronizer

    api = make_api(
        endpoint_url, region, profile, connect_timeout, read_timeout, quotas=quotas, account=account
    )
    shard = _shard(api)
    opened = open_cli_store(store, read_only=False)
    try:
        return Synchronizer(api, opened, policy=policy, field_values=field_values, shard=shard)
    except BaseException:
        opened.close()
        raise


def _shard(api: Boto3RegistrationApi) -> Shard | None:
    """The account and region ``api`` reaches, when its account is known (--account)."""
    if api.account is None:
        return None  # the adapter knows no account: the Synchronizer asks it (None)
    try:
        return Shard.of(api.account, api.client.meta.region_name or "")
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.BadParameter(
            f"{err}; with --account, the account and the region name the shard synced",
            param_hint="--region",
        ) from None


def make_api(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    connect_timeout: float,
    read_timeout: float,
    *,
    quotas: Quotas | None = None,
    account: str | None = None,
) -> Boto3RegistrationApi:
    """A paced Boto3RegistrationApi (for :func:`make_synchronizer`, and the commands of
    :func:`connection_options`).

    Requests are paced by ``quotas`` for ``account`` (default: what the command's
    --quota, --quota-file and --account say).
    """
    from registration_fsm import Boto3RegistrationApi

    if quotas is None:
        quotas = current_quotas()
        account = account if account is not None else current_account()
    return Boto3RegistrationApi.from_config(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        quotas=quotas,
        account=account,
    )


def eta_text(seconds: float) -> str:
    """``seconds`` as ``eta H:MM:SS`` (rounded up: never shorter than the quota allows)."""
    whole = math.ceil(seconds) if math.isfinite(seconds) else 0
    hours, rest = divmod(max(whole, 0), 3600)
    return f"eta {hours}:{rest // 60:02}:{rest % 60:02}"


def sync_eta(syncer: Synchronizer) -> Callable[[int, int], float] | None:
    """``eta(done, total)``: seconds the rest of a sync takes at the pacer's current rates
    (the requests still to make over each operation's rate); None if nothing paces it."""
    pacer = getattr(syncer.api, "pacer", None)
    if not isinstance(pacer, Pacer):
        return None
    return lambda done, total: pacer.seconds_for(syncer.requests_for(total - done))


@contextmanager
def progress_bar(
    label: str, eta: Callable[[int, int], float] | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` drawing a bar on stderr if it is a terminal, else None.

    With ``eta``, the bar ends with the time left as ``eta`` computes it (from the
    quotas), not click's guess from the time spent so far. Off a terminal click would
    still print the label, an extra stderr line in logs and pipes (and before a
    one-line error).
    """
    if not sys.stderr.isatty():
        yield None
        return
    with ExitStack() as stack:
        bars: list[ProgressBar[Any]] = []

        def progress(done: int, total: int) -> None:
            left = None if eta is None else eta_text(eta(done, total))
            if not bars:  # drawn once the total is known
                bar: ProgressBar[Any] = click.progressbar(
                    length=max(total, 1), label=label, file=sys.stderr, show_pos=True,
                    show_percent=True, show_eta=eta is None, item_show_func=lambda item: item,
                )  # fmt: skip
                bar.current_item = left
                bars.append(stack.enter_context(bar))
            bar = bars[0]
            bar.length = max(total, 1)
            bar.update(done - bar.pos, left)

        yield progress


@click.command(short_help="Pull registrations from the API into the local store.")
@api_options
@click.option("--id", "ids", multiple=True, help="Only this registration (repeatable).")
@click.option("--full", is_flag=True, help="Describe every registration, changed or not.")
@click.option(
    "--restart",
    is_flag=True,
    help="With --full: describe everything again, forgetting an interrupted sync's progress.",
)
@click.option("--field-values", type=click.Choice(["submitted", "all", "drafts", "off"]),
              default="submitted", show_default=True,
              help="When to read versions' field values: once as a version leaves DRAFT; "
              "all: also older versions the store lacks (backfill); drafts: also the "
              "current DRAFT's; off: never.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sync(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str,
    ids: tuple[str, ...], full: bool, restart: bool, field_values: str, as_json: bool,
) -> None:  # fmt: skip
    """Pull registrations from the API into the local store and print what changed.

    Requests are paced by AWS's quotas (--quota to name raised ones). On a terminal
    a progress bar shows the time left at those rates. Ctrl-C stops after the
    requests in flight, keeps what was saved, prints one line and exits 130; run
    sync again to resume (a --full sync does not describe again what it saved).

    Exits 1 when a registration could not be pulled or an --id does not exist.
    """
    if restart and not full:
        raise click.UsageError("--restart only applies to a --full sync")
    syncer = make_synchronizer(
        endpoint_url, region, profile, connect_timeout, read_timeout, store,
        field_values=field_values,
    )  # fmt: skip
    try:
        with syncer.store, _bar(as_json, syncer) as progress:
            report = syncer.sync(list(ids) or None, full, progress=progress, resume=not restart)
    except KeyboardInterrupt:
        stopped = syncer.last_interruption
        if stopped is None:  # not in the sync (opening the store, say): click says "aborted"
            raise
        click.echo(stopped.summary(), err=True)
        raise SystemExit(INTERRUPTED) from None
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
        if report.resumed:
            click.echo(
                f"  resumed: {len(report.resumed)} pulled since an interrupted --full sync "
                "began and unchanged since, not described again (--restart: describe them too)"
            )
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


@contextmanager
def _bar(as_json: bool, syncer: Synchronizer) -> Iterator[Callable[[int, int], None] | None]:
    """sync's progress bar: none with --json (a script reads the output)."""
    if as_json:
        yield None
        return
    with progress_bar("syncing", sync_eta(syncer)) as progress:
        yield progress


def _check_filter(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--account (12 digits) or --region (an AWS region name), as a shard names them."""
    if value is None:
        return None
    try:  # the other part stands in for one given: each is checked alone
        if param.name == "account":
            Shard.of(value, "us-east-1")
        else:
            Shard.of("000000000000", value)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.BadParameter(str(err)) from None
    return value


def shard_filters(command: F) -> F:
    """``--account`` and ``--region``, filters on what a store holds (either, both or
    neither): the command gets ``account`` and ``region`` (None: any)."""
    command = click.option(
        "--region", default=None, callback=_check_filter, metavar="REGION",
        help="Only registrations of this AWS region.",
    )(command)  # fmt: skip
    return click.option(
        "--account", default=None, callback=_check_filter, metavar="ACCOUNT_ID",
        help="Only registrations of this AWS account.",
    )(command)  # fmt: skip


def filtered(store: Any, account: str | None, region: str | None) -> Any:
    """``store`` seen through ``--account`` and ``--region`` (itself if neither)."""
    if account is None and region is None:
        return store
    return store.where(account=account, region=region)


def ambiguous(err: AmbiguousRegistrationId) -> click.UsageError:
    """The usage error of an id stored for several shards: name them, say how to choose."""
    return click.UsageError(
        f"registration {err.registration_id} is stored for {len(err.shards)} "
        f"accounts/regions ({', '.join(err.shards)}): choose one with --account and --region"
    )


@click.command(short_help="Show local registrations (and their events).")
@store_option("The local state (an SQLite file, or a postgresql:// URL), opened read-only.")
@shard_filters
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (the API's shapes).")
@click.option("--events", "with_events", is_flag=True, help="Also print each one's events.")
@click.option("--fields", "with_fields", is_flag=True,
              help="Also print each version's field values (as submitted).")  # fmt: skip
@click.option("--diff", "diff_versions", nargs=2, type=click.IntRange(VERSION_MIN, VERSION_MAX),
              metavar="A B", default=None,
              help="Print what changed in the field values from version A to B.")  # fmt: skip
@click.argument("registration_ids", nargs=-1)
def show(
    store: str, account: str | None, region: str | None, as_json: bool, with_events: bool,
    with_fields: bool, diff_versions: tuple[int, int] | None, registration_ids: tuple[str, ...],
) -> None:  # fmt: skip
    """Show local registrations (all, or the ones named) from the store.

    The store is opened read-only: it is never created or changed (a file that is
    not a store is an error), and a read-only directory will do. --account and
    --region show one account's or region's registrations; an id stored for two
    accounts or regions needs them. When what is shown spans several accounts or
    regions, each registration says its ACCOUNT/REGION (--json: Account, Region).

    A sync keeps each version's field values as they stood when it left DRAFT (the
    evidence of what was submitted): --fields prints them, --diff A B (one
    registration) what changed between two versions.
    """
    if diff_versions is not None and len(registration_ids) != 1:
        raise click.UsageError("--diff compares two versions of one registration: name it")
    missing = f"no store at {Path(store)}; run `registration-fsm sync` first"
    with open_cli_store(store, read_only=True, missing=missing) as opened:  # never changes it
        view = filtered(opened, account, region)
        shards = view.shards()
        found = _found(view, registration_ids, with_events, store_name(opened, store))
    if diff_versions is not None:
        _show_diff(found[0][0], *diff_versions, as_json=as_json)
        return
    several = len(shards) > 1
    if as_json:
        data = []
        for registration, events, shard in found:
            item = registration_json(registration)
            if several:
                item["Account"], item["Region"] = shard.account, shard.region
            if with_fields:
                item["FieldValues"] = {
                    str(n): v.to_json() for n, v in registration.field_values_known().items()
                }
            if with_events:
                item["Events"] = [e.to_dict() for e in events]
            data.append(item)
        click.echo(to_json(data))
        return
    for registration, events, shard in found:
        lines = registration_table(registration)
        if several:
            lines[0] += f"  {shard}"
        for line in lines:
            click.echo(line)
        if with_fields:
            for line in field_lines(registration):
                click.echo(line)
        for event in events:
            click.echo(timeline_line(event))


def _found(
    view: Any, ids: tuple[str, ...], with_events: bool, name: str
) -> list[tuple[Registration, list[Any], Shard]]:
    """The registrations ``show`` prints (the ones named, else all, by id then shard),
    with their events (if asked for) and shard."""
    from registration_fsm.store.base import shard_of

    found = []
    if ids:
        for registration_id in ids:
            try:
                stored = view.get(registration_id)
            except AmbiguousRegistrationId as err:
                raise ambiguous(err) from None
            if stored is None:
                where = "" if view.selection.everything else f" for {view.selection}"
                raise click.ClickException(
                    f"registration {registration_id} is not in {name}{where}"
                )
            shard = shard_of(stored.registration)
            events = list(view.for_shard(shard).events(registration_id)) if with_events else []
            found.append((stored.registration, events, shard))
        return found
    for registration in view.registrations():  # by id, then shard
        shard = shard_of(registration)
        events = list(view.for_shard(shard).events(registration.id)) if with_events else []
        found.append((registration, events, shard))
    return found


def _show_diff(registration: Registration, before: int, after: int, *, as_json: bool) -> None:
    try:
        changes = registration.diff_fields(before, after)
    except InvalidArgument as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(to_json([
            {"FieldPath": c.field_path, "Change": c.kind,
             "Before": None if c.before is None else c.before.to_api(),
             "After": None if c.after is None else c.after.to_api()}
            for c in changes
        ]))  # fmt: skip
        return
    click.echo(f"{registration.id}: v{before} -> v{after}, {len(changes)} field(s) changed")
    for change in changes:
        click.echo(f"  {change.kind:<7} {change.describe()}")


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
    connect_timeout: float, read_timeout: float, store: str,
    registration_id: str, statuses: tuple[str, ...], timeout: float, poll: float, as_json: bool,
) -> None:  # fmt: skip
    """Poll a registration until it reaches a status.

    Exits 1 at once when the registration does not exist or can no longer reach
    any status wanted, and after --timeout.
    """
    syncer = make_synchronizer(endpoint_url, region, profile, connect_timeout, read_timeout, store)
    with syncer.store:
        registration = syncer.wait_for(registration_id, statuses, timeout=timeout, poll=poll)
    if as_json:
        click.echo(to_json(registration_json(registration)))
    else:
        for line in registration_table(registration):
            click.echo(line)
