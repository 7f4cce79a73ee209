"""``registration-fsm follow``: keep the store current from EventBridge events, no polling."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import click

from registration_fsm.cli.aws import api_options, is_store_file, make_synchronizer
from registration_fsm.cli.files import BoundedLines, check_append, open_append, stdin_lines
from registration_fsm.cli.output import to_json
from registration_fsm.errors import shown

if TYPE_CHECKING:
    from registration_fsm.sync.events import EventSource, FollowerStats

#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


@click.command(short_help="Keep the store current from status-change events.")
@api_options
@click.option("--events", "events",
              type=click.Path(dir_okay=False, allow_dash=True, path_type=str), default=None,
              metavar="FILE|-",
              help="JSON Lines of EventBridge events (e.g. the emulator's --events-file); "
                   "- reads stdin. A line over 1 MiB or not UTF-8 stops the follower.")  # fmt: skip
@click.option("--sqs-queue-url", default=None, metavar="URL",
              help="Long-poll this SQS queue (an EventBridge rule's target).")  # fmt: skip
@click.option("--sqs-endpoint-url", default=None, metavar="URL",
              help="Talk to this SQS endpoint (moto's server, say) instead of AWS.")  # fmt: skip
@click.option("--dead-letter-queue-url", default=None, metavar="URL",
              help="Where poison goes (default: the queue's redrive target).")  # fmt: skip
@click.option("--dead-letter-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --events: append poison lines here (JSON; never a symbolic link, "
                   "the store or an SQLite file).")  # fmt: skip
@click.option("--max-messages", type=click.IntRange(min=1), default=None,
              help="Stop once this many messages were handled or moved aside.")  # fmt: skip
@click.option("--once", is_flag=True, help="Take one batch (one SQS long poll), then stop.")
@click.option("--max-attempts", type=click.IntRange(min=1), default=5, show_default=True,
              help="Deliveries of a failing message before it is moved aside.")  # fmt: skip
@click.option("--wait-seconds", type=click.IntRange(0, 20), default=20, show_default=True,
              help="SQS long poll per ReceiveMessage.")  # fmt: skip
@click.option("--visibility-timeout", type=click.IntRange(0, 43200), default=None,
              help="Seconds a received message stays hidden (default: the queue's).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON at the end.")
def follow(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str,
    events: str | None, sqs_queue_url: str | None, sqs_endpoint_url: str | None,
    dead_letter_queue_url: str | None, dead_letter_file: Path | None,
    max_messages: int | None, once: bool, max_attempts: int, wait_seconds: int,
    visibility_timeout: int | None, as_json: bool,
) -> None:  # fmt: skip
    """Keep the store current from "Registration Status Change" events.

    Each event re-syncs just the registration it names (DescribeRegistrations and
    DescribeRegistrationVersions), then is acknowledged: an SQS message is deleted
    only after the save committed, so a follower stopped or killed loses nothing
    (the message comes back). Poison — not JSON, not an event of this service,
    naming no registration, failing --max-attempts times — is moved aside (the
    dead-letter queue, or --dead-letter-file) with one log line on stderr.

    Runs until the file ends, --max-messages or --once; with SQS, until Ctrl-C.
    Prints one line of counts at the end (--json: an object). A line of --events
    longer than 1 MiB or not UTF-8 is not an event stream: the follower stops there
    (what came before is kept), prints the counts and exits 2.
    """
    from registration_fsm.sync.events import EventFollower, JsonLinesSource

    if (events is None) == (sqs_queue_url is None):
        raise click.UsageError("give exactly one of --events FILE|- and --sqs-queue-url URL")
    sqs_only = {"--sqs-endpoint-url": sqs_endpoint_url, "--visibility-timeout": visibility_timeout,
                "--dead-letter-queue-url": dead_letter_queue_url}  # fmt: skip
    if events is not None and (given := [k for k, v in sqs_only.items() if v is not None]):
        raise click.UsageError(f"{', '.join(given)} only go with --sqs-queue-url")
    if sqs_queue_url is not None and dead_letter_file is not None:
        raise click.UsageError("--dead-letter-file only goes with --events")
    if dead_letter_file is not None:  # before the store is opened: a refusal changes nothing
        protect = [Path(store)] if is_store_file(store) else []
        check_append(dead_letter_file, option="--dead-letter-file", protect=protect)
    with ExitStack() as stack:
        lines = None if events is None else _event_lines(events, stack)
        syncer = make_synchronizer(
            endpoint_url, region, profile, connect_timeout, read_timeout, store
        )
        stack.enter_context(log_to_stderr())
        stack.enter_context(syncer.store)
        source: EventSource
        if lines is not None:
            dead = None
            if dead_letter_file is not None:
                dead = stack.enter_context(
                    open_append(dead_letter_file, option="--dead-letter-file")
                )
            source = JsonLinesSource(
                cast(IO[str], lines),
                name=lines.where,
                batch_size=1 if events == "-" else 10,
                dead_letter=dead,
            )
        else:
            from registration_fsm.adapters.sqs import SqsEventSource

            assert sqs_queue_url is not None
            source = SqsEventSource(
                sqs_queue_url,
                profile=profile,
                region=region,
                endpoint_url=sqs_endpoint_url,
                dead_letter_queue_url=dead_letter_queue_url,
                wait_seconds=wait_seconds,
                visibility_timeout=visibility_timeout,
                connect_timeout=connect_timeout,
            )
        follower = EventFollower(syncer, max_attempts=max_attempts)
        try:
            follower.run(source, max_messages=max_messages, once=once)
        except KeyboardInterrupt:
            _report(follower.stats, as_json, "stopped: ")
            sys.exit(INTERRUPTED)
    _report(follower.stats, as_json, "")
    if lines is not None and lines.problem is not None:
        raise click.BadParameter(lines.problem, param_hint="--events")


def _event_lines(events: str, stack: ExitStack) -> BoundedLines:
    """--events as bounded lines: standard input's bytes, or a file opened (and closed
    by ``stack``) in binary."""
    if events == "-":
        return BoundedLines(stdin_lines(), "stdin")
    try:
        raw = stack.enter_context(open(events, "rb"))  # noqa: SIM115 -- the stack closes it
    except OSError as err:
        raise click.BadParameter(
            f"cannot read {shown(events)}: {err.strerror or err}", param_hint="--events"
        ) from None
    return BoundedLines(raw, events)


def _report(stats: FollowerStats, as_json: bool, prefix: str) -> None:
    if as_json:
        click.echo(to_json(stats.to_dict()))
    else:
        click.echo(prefix + stats.summary())


@contextmanager
def log_to_stderr() -> Iterator[None]:
    """The library's log lines (the follower's poison, a worker's failures) on stderr,
    unless logging is set up."""
    logger = logging.getLogger("registration_fsm")
    if logger.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
