"""``registration-fsm emulator``: serve the emulator, and play AWS's part against it."""

from __future__ import annotations

from typing import Any

import click

from registration_fsm.cli.output import to_json
from registration_fsm.cli.quota_options import quota_options
from registration_fsm.quotas import Quotas


@click.group(
    invoke_without_command=True,
    short_help="Serve the emulator over HTTP; `advance` plays AWS.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--seed", default=None, type=int, help="Seed ids, tokens and faults.")
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds per request.")
@click.option("--throttle-rate", default=0.0, type=click.FloatRange(0, 1))
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of 5xx.")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), help="Dropped connections.")
@quota_options
@click.option("--no-quotas", is_flag=True,
              help="Enforce no request quotas (else AWS's defaults are enforced).")  # fmt: skip
@click.pass_context
def emulator(
    ctx: click.Context,
    host: str,
    port: int,
    seed: int | None,
    latency: float,
    throttle_rate: float,
    error_rate: float,
    drop_rate: float,
    quotas: Quotas,
    no_quotas: bool,
) -> None:
    """Serve the emulator over AWS JSON 1.0 until Ctrl-C (prints its URL).

    Point boto3 at it with endpoint_url=URL (any credentials), or set
    AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2. Drive AWS-side events with
    `registration-fsm emulator advance`. AWS's request quotas are enforced (an
    excess request gets ThrottlingException) unless --no-quotas.
    """  # fmt: skip
    if ctx.invoked_subcommand is not None:
        return
    from registration_fsm import EmulatedRegistrationApi, Faults, run_forever

    faults = Faults(seed=seed or 0, latency=latency, throttle_rate=throttle_rate,
                    error_rate=error_rate, drop_rate=drop_rate)  # fmt: skip
    api = EmulatedRegistrationApi(seed=seed, quotas=None if no_quotas else quotas)
    run_forever(host, port, faults=faults, api=api)


@emulator.command(short_help="Apply an AWS-side trigger on a served emulator.")
@click.option("--endpoint-url", required=True, envvar="AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2",
              help="The running emulator's URL.")  # fmt: skip
@click.option("--denied-reason", "denied", multiple=True, metavar="REASON:TEXT",
              help="For deny: a denied reason (repeatable).")  # fmt: skip
@click.option("--feedback", default=None, help="For deny: AWS review feedback.")
@click.option("--timeout", default=30.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True, max=3600),
              help="Seconds to wait for the emulator's answer.")  # fmt: skip
@click.argument("registration_id")
@click.argument("trigger")
def advance(
    endpoint_url: str,
    denied: tuple[str, ...],
    feedback: str | None,
    timeout: float,
    registration_id: str,
    trigger: str,
) -> None:
    """Apply an AWS-side TRIGGER (begin_review, approve, deny, revoke...) to a registration.

    Prints the events the emulator applied; a refusal exits 1 with the API's error.
    """
    from registration_fsm import EmulatorClient

    details: dict[str, Any] = {}
    if denied:
        details["denied_reasons"] = [
            {"Reason": r, "ShortDescription": t or r}
            for r, _, t in (d.partition(":") for d in denied)
        ]
    if feedback is not None:
        details["feedback"] = feedback
    try:
        client = EmulatorClient(endpoint_url, timeout=timeout)
    except ValueError as err:  # InvalidArgument, or urllib's own (an unclosed "[" of IPv6)
        raise click.BadParameter(str(err), param_hint="--endpoint-url") from None
    events = client.advance(registration_id, trigger, **details)
    click.echo(to_json({"Events": [event.to_dict() for event in events]}))
