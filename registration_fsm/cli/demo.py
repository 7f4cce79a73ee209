"""``registration-fsm demo``: a whole registration story on the embedded emulator.

An emulator is served over HTTP on 127.0.0.1; a real boto3 client talks to it
through :class:`Boto3RegistrationApi`, and a :class:`Synchronizer` keeps the
local model in step — the same paths a real deployment uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import click

from registration_fsm.cli.output import registration_table, timeline_line
from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.guards import require_reason
from registration_fsm.domain.registration import GuardContext
from registration_fsm.errors import CommandRefused

REGISTRATION_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"


class StoryClock:
    """The emulator's clock for the demo: a fixed start, a few minutes per request."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now


def four_eyes(ctx: GuardContext) -> str | None:
    """A compliance guard: discards need a second approver (here: 'carol')."""
    if ctx.actor != "carol":
        return f"{ctx.actor or 'nobody'} may not discard alone: a second approver (carol) must"
    return None


@click.command(short_help="The story of one registration, on an embedded emulator.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the demo's hash-chained audit trail here (JSON Lines).",
)
def demo(as_json: bool, audit_log: Path | None) -> None:
    """Walk one registration through its lifecycle on the embedded emulator."""
    import boto3

    from registration_fsm import (
        Boto3RegistrationApi,
        EmulatedRegistrationApi,
        Synchronizer,
        serve,
    )

    say: Callable[[str], None] = (lambda _text: None) if as_json else click.echo
    log = None if audit_log is None else _open_log(audit_log)  # a bad path fails first
    emulated = EmulatedRegistrationApi(clock=StoryClock(), seed=7)
    with serve(emulated) as url:
        session = boto3.session.Session(
            aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1"
        )
        api = Boto3RegistrationApi.from_config(session=session, endpoint_url=url, max_attempts=2)
        syncer = Synchronizer(api)
        syncer.subscribe(_json_line if as_json else _timeline_line)
        say(f"Emulator at {url}; a real boto3 client and the sync paths drive it.\n")
        say(f"CreateRegistration {REGISTRATION_TYPE}")
        rid = syncer.create(REGISTRATION_TYPE, actor="alice", metadata={"ticket": "CMP-101"}).id

        def aws(trigger: str, **details: object) -> None:
            emulated.advance(rid, trigger, **details)
            syncer.sync([rid])

        syncer.submit(rid, actor="alice")
        aws("begin_review")
        mismatch = {"Reason": "BRAND_MISMATCH", "ShortDescription": "Name does not match the EIN"}
        aws("deny", denied_reasons=[mismatch])
        syncer.create_version(rid, actor="alice")
        syncer.submit(rid, actor="alice")
        guards = [require_reason, four_eyes]
        try:
            syncer.discard(rid, actor="alice", reason="wrong EIN", guards=guards)
        except CommandRefused as refused:
            say(f"  discard by alice refused ({refused.reason}):")
            for refusal in refused.refusals:
                say(f"    - {refusal.name}: {refusal.message}")
        syncer.discard(
            rid, actor="carol", reason="wrong EIN", metadata={"approved_by": "carol"},
            guards=guards,
        )  # fmt: skip
        syncer.create_version(rid, actor="alice")
        syncer.submit(rid, actor="alice")
        aws("begin_review")
        aws("approve")
        syncer.create_version(rid, actor="alice")
        syncer.submit(rid, actor="alice", aws_review=True)
        aws("begin_review")
        aws("approve")

        say(f"\nRegistration {rid}, as the local model holds it after the last sync:")
        for line in registration_table(syncer.get(rid)):
            say(line)
        calls = ", ".join(f"{op} {n}" for op, n in sorted(api.calls.items()))
        say(f"\nAPI calls made through boto3: {calls}")
        if log is not None:
            from registration_fsm.audit import export_jsonl

            with log:
                count = export_jsonl(syncer.store, log)
            say(f"Audit trail: {count} hash-chained records written to {audit_log}")


def _open_log(path: Path) -> TextIO:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as err:
        raise click.BadParameter(
            f"cannot write {path}: {err.strerror or err}", param_hint="--audit-log"
        ) from None


def _json_line(event: TransitionEvent) -> None:
    click.echo(json.dumps(event.to_dict(), sort_keys=True))


def _timeline_line(event: TransitionEvent) -> None:
    click.echo(timeline_line(event))
