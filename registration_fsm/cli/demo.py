"""``registration-fsm demo``: a whole registration story on the embedded emulator.

An emulator is served over HTTP on 127.0.0.1; a real boto3 client talks to it
through :class:`Boto3RegistrationApi`, and a :class:`Synchronizer` keeps the
local model in step — the same paths a real deployment uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from registration_fsm.cli.files import StagedOutput, check_output
from registration_fsm.cli.output import registration_table, timeline_line
from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.guards import require_reason
from registration_fsm.domain.registration import GuardContext
from registration_fsm.errors import ApiValidationError, CommandRefused

if TYPE_CHECKING:
    from registration_fsm import Boto3RegistrationApi, EmulatedRegistrationApi, Synchronizer

REGISTRATION_TYPE = "US_TOLL_FREE_REGISTRATION"
#: How many times AWS's request quotas the demo runs at (both sides pace by them).
QUOTA_SCALE = 50
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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the demo's hash-chained audit trail here (JSON Lines; an existing "
    "file only with --force).",
)
@click.option("--force", is_flag=True, help="Replace an existing --audit-log file.")
def demo(as_json: bool, audit_log: Path | None, force: bool) -> None:
    """Walk one toll-free registration through its lifecycle on the embedded emulator.

    It serves the shipped catalogue of registration forms, and its approvals of
    toll-free registrations pass through PROVISIONING (a choice: AWS does not say
    which types do). The story: attach the opt-in screenshot, fill the form,
    associate the number, a submit refused for a missing field, a denial, a guarded
    discard, a fixed version approved and provisioned, and the fields that changed.

    --audit-log is checked before the story starts, written beside its destination
    and renamed into place at the end: a failed or interrupted demo leaves no half
    file. An existing file is replaced only with --force; a symbolic link, the
    store or any SQLite database never.
    """
    printer = _Printer()
    say = printer.check if as_json else printer.say
    if audit_log is not None:  # a bad path fails before the story
        check_output(audit_log, force=force, option="--audit-log")
    with ExitStack() as stack:
        log = None
        if audit_log is not None:
            log = stack.enter_context(StagedOutput(audit_log, force=force, option="--audit-log"))
        _tell(printer, say, as_json, log)


def _tell(
    printer: _Printer, say: Callable[[str], None], as_json: bool, log: StagedOutput | None
) -> None:
    """Run the story on an embedded emulator; write its audit trail to ``log``."""
    import boto3

    from registration_fsm import (
        Boto3RegistrationApi,
        Catalog,
        EmulatedRegistrationApi,
        LifecyclePolicy,
        Quotas,
        Synchronizer,
        serve,
    )

    clock = StoryClock()
    # AWS's quotas, QUOTA_SCALE times over: at 1 request per second the ~90 form and
    # sync requests would take minutes; the pacing and throttling work the same.
    quotas = Quotas.of({}).scaled(QUOTA_SCALE)
    emulated = EmulatedRegistrationApi(
        clock=clock,
        seed=7,
        catalog=Catalog.builtin(),
        policy=LifecyclePolicy().with_provisioning(REGISTRATION_TYPE),
        quotas=quotas,
    )
    with serve(emulated) as url:
        session = boto3.session.Session(
            aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1"
        )
        api = Boto3RegistrationApi.from_config(
            session=session, endpoint_url=url, max_attempts=2, quotas=quotas
        )
        # The sync dates what the API does not (the registration's own changes) by the
        # story's time, read without moving it.
        syncer = Synchronizer(api, clock=lambda: clock.now)
        syncer.subscribe(printer.json_line if as_json else printer.timeline_line)
        say(
            f"Emulator at {url} (AWS's quotas x{QUOTA_SCALE}); a real boto3 client and the "
            "sync paths drive it.\n"
        )
        story = _Story(emulated, api, syncer, say, printer.check)
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

            with log.writing():
                count = export_jsonl(syncer.store, log.text)
            log.commit()
            say(f"Audit trail: {count} hash-chained records written to {log.path}")
        printer.check()


class _Story:
    """The demo's steps: the customer's through boto3 and the Synchronizer, AWS's by the
    emulator (``advance``), each followed by a sync of the registration."""

    def __init__(
        self,
        emulated: EmulatedRegistrationApi,
        api: Boto3RegistrationApi,
        syncer: Synchronizer,
        say: Callable[[str], None],
        check: Callable[[], None],
    ) -> None:
        self.emulated, self.api, self.syncer, self.say = emulated, api, syncer, say
        self.check = check  # raises once standard output failed: the story stops there
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
        self.check()
        self.emulated.advance(self.rid, trigger, **details)
        self.syncer.sync([self.rid])

    def fill(self, *, text: dict[str, str] | None = None, skip: Sequence[str] = ()) -> None:
        from registration_fsm import fill_form

        self.check()
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


class _Printer:
    """The story's lines on standard output. Once a write fails (the reader went away:
    ``| head``; a full disk) nothing more is printed, and :meth:`check` raises that
    error, so the story stops at its next step: a subscriber that raised would only
    be logged, and the story would go on."""

    def __init__(self) -> None:
        self.error: OSError | None = None

    def echo(self, text: str) -> None:
        if self.error is None:
            try:
                click.echo(text)
            except OSError as err:
                self.error = err

    def check(self, _text: str = "") -> None:
        """Raise the write error met so far, if any."""
        if self.error is not None:
            raise self.error

    def say(self, text: str) -> None:
        self.check()
        self.echo(text)
        self.check()

    def json_line(self, event: TransitionEvent) -> None:
        self.echo(json.dumps(event.to_dict(), sort_keys=True))

    def timeline_line(self, event: TransitionEvent) -> None:
        self.echo(timeline_line(event))
