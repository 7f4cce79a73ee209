"""``registration-fsm demo``: a whole registration story on the embedded emulator.

An emulator is served over HTTP on 127.0.0.1; a real boto3 client talks to it
through :class:`Boto3RegistrationApi`, and a :class:`Synchronizer` keeps the
local model in step — the same paths a real deployment uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from registration_fsm.cli.output import registration_table, timeline_line
from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.guards import require_reason
from registration_fsm.domain.registration import GuardContext
from registration_fsm.errors import ApiValidationError, CommandRefused

if TYPE_CHECKING:
    from registration_fsm import Boto3RegistrationApi, EmulatedRegistrationApi, Synchronizer

REGISTRATION_TYPE = "US_TOLL_FREE_REGISTRATION"
#: The field the first submit leaves out (the API refuses it, naming the field).
FORGOTTEN = "messageSamples.messageSample1"
SAMPLE = "Example Corp: your order 12345 has shipped. Reply STOP to cancel."
#: The field the reviewer objects to, and its fix.
OPT_IN = "messagingUseCase.optInDescription"
FIXED_OPT_IN = (
    "At checkout on https://example.com/checkout customers tick an unchecked SMS consent "
    "box whose text names the program, message frequency, rates, HELP and STOP."
)
#: The smallest PNG the attachment checks take: the opt-in screenshot.
SCREENSHOT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


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
    """Walk one toll-free registration through its lifecycle on the embedded emulator.

    It serves the shipped catalogue of registration forms, and its approvals of
    toll-free registrations pass through PROVISIONING (a choice: AWS does not say
    which types do). The story: attach the opt-in screenshot, fill the form,
    associate the number, a submit refused for a missing field, a denial, a guarded
    discard, a fixed version approved and provisioned, and the fields that changed.
    """
    import boto3

    from registration_fsm import (
        Boto3RegistrationApi,
        Catalog,
        EmulatedRegistrationApi,
        LifecyclePolicy,
        Synchronizer,
        serve,
    )

    say: Callable[[str], None] = (lambda _text: None) if as_json else click.echo
    log = None if audit_log is None else _open_log(audit_log)  # a bad path fails first
    clock = StoryClock()
    emulated = EmulatedRegistrationApi(
        clock=clock,
        seed=7,
        catalog=Catalog.builtin(),
        policy=LifecyclePolicy().with_provisioning(REGISTRATION_TYPE),
    )
    with serve(emulated) as url:
        session = boto3.session.Session(
            aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1"
        )
        api = Boto3RegistrationApi.from_config(session=session, endpoint_url=url, max_attempts=2)
        # The sync dates what the API does not (the registration's own changes) by the
        # story's time, read without moving it.
        syncer = Synchronizer(api, clock=lambda: clock.now)
        syncer.subscribe(_json_line if as_json else _timeline_line)
        say(f"Emulator at {url}; a real boto3 client and the sync paths drive it.\n")
        story = _Story(emulated, api, syncer, say)
        story.tell()
        registration = syncer.get(story.rid)
        say(f"\nRegistration {story.rid}, as the local model holds it after the last sync:")
        for line in registration_table(registration):
            say(line)
        denied = registration.latest_denied_version_number or 1
        approved = registration.approved_version_number or registration.current_version_number
        changes = registration.diff_fields(denied, approved)
        say(f"\nFields changed from the denied v{denied} to the approved v{approved}:")
        for change in changes:
            say(f"  {change.kind:<7} {change.describe()}")
        calls = ", ".join(f"{op} {n}" for op, n in sorted(api.calls.items()))
        say(f"\nAPI calls made through boto3: {calls}")
        if log is not None:
            from registration_fsm.audit import export_jsonl

            with log:
                count = export_jsonl(syncer.store, log)
            say(f"Audit trail: {count} hash-chained records written to {audit_log}")


class _Story:
    """The demo's steps: the customer's through boto3 and the Synchronizer, AWS's by the
    emulator (``advance``), each followed by a sync of the registration."""

    def __init__(
        self,
        emulated: EmulatedRegistrationApi,
        api: Boto3RegistrationApi,
        syncer: Synchronizer,
        say: Callable[[str], None],
    ) -> None:
        self.emulated, self.api, self.syncer, self.say = emulated, api, syncer, say
        self.rid = ""
        self.screenshot = ""

    def tell(self) -> None:
        say, syncer = self.say, self.syncer
        number = self.emulated.add_origination_identity("phone-number", number_type="TOLL_FREE")
        say(f"The account has toll-free number {number['ResourceId']} (AWS's part: buying it)")
        say(f"CreateRegistration {REGISTRATION_TYPE}")
        self.rid = syncer.create(
            REGISTRATION_TYPE, actor="alice", metadata={"ticket": "CMP-101"}
        ).id
        attached = self.api.create_registration_attachment(attachment_body=SCREENSHOT)
        self.screenshot = attached["RegistrationAttachmentId"]
        say(f"  attached the opt-in screenshot: {self.screenshot}")
        self.fill(skip=[FORGOTTEN])
        self.api.create_registration_association(self.rid, number["ResourceId"])
        say(f"  associated {number['ResourceId']} (this type: before submit)")
        try:
            syncer.submit(self.rid, actor="alice")
        except ApiValidationError as refused:
            missing = ", ".join(path for path, _ in refused.fields)
            say(f"  submit refused ({refused.reason}), nothing changed: {missing}")
        self.api.put_registration_field_value(self.rid, FORGOTTEN, text_value=SAMPLE)
        say(f"  put {FORGOTTEN}")
        syncer.submit(self.rid, actor="alice", reason="first submission")
        self.aws("begin_review")
        reason = {"Reason": "OPT_IN_INCOMPLETE",
                  "ShortDescription": "The opt-in description lacks the consent text"}  # fmt: skip
        self.aws("deny", denied_reasons=[reason])

        syncer.create_version(self.rid, actor="alice")
        self.fill(text={FORGOTTEN: SAMPLE})  # the opt-in not fixed yet: to be discarded
        syncer.submit(self.rid, actor="alice")
        self.guarded_discard()

        syncer.create_version(self.rid, actor="alice")
        self.fill(text={FORGOTTEN: SAMPLE, OPT_IN: FIXED_OPT_IN})
        syncer.submit(self.rid, actor="alice", reason="opt-in description fixed")
        self.aws("begin_review")
        self.aws("approve")
        self.aws("complete_provisioning", resource_id=number["ResourceId"])

    def aws(self, trigger: str, **details: object) -> None:
        self.emulated.advance(self.rid, trigger, **details)
        self.syncer.sync([self.rid])

    def fill(self, *, text: dict[str, str] | None = None, skip: Sequence[str] = ()) -> None:
        from registration_fsm import fill_form

        values = fill_form(self.api, self.rid, text=text, attachment_id=self.screenshot,
                           skip=skip)  # fmt: skip
        left = f" ({', '.join(skip)} left out)" if skip else ""
        number = self.syncer.get(self.rid).current_version_number
        self.say(f"  form of v{number}: {len(values)} fields put{left}")

    def guarded_discard(self) -> None:
        guards = [require_reason, four_eyes]
        try:
            self.syncer.discard(self.rid, actor="alice", reason="opt-in not fixed", guards=guards)
        except CommandRefused as refused:
            self.say(f"  discard by alice refused ({refused.reason}):")
            for refusal in refused.refusals:
                self.say(f"    - {refusal.name}: {refusal.message}")
        self.syncer.discard(
            self.rid, actor="carol", reason="opt-in not fixed", metadata={"approved_by": "carol"},
            guards=guards,
        )  # fmt: skip


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
