"""``registration-fsm emulator``: serve the emulator, and play AWS's part against it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

from registration_fsm.cli.output import to_json


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--seed", default=None, type=int, help="Seed ids, tokens and faults.")
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds per request.")
@click.option("--throttle-rate", default=0.0, type=click.FloatRange(0, 1))
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of 5xx.")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), help="Dropped connections.")
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
) -> None:
    """Serve the emulator over AWS JSON 1.0 until Ctrl-C (prints its URL).

    Point boto3 at it with endpoint_url=URL (any credentials), or set
    AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2. Drive AWS-side events with
    `registration-fsm emulator advance`.
    """  # fmt: skip
    if ctx.invoked_subcommand is not None:
        return
    from registration_fsm.adapters.emulator import EmulatedRegistrationApi, Faults, run_forever

    faults = Faults(seed=seed or 0, latency=latency, throttle_rate=throttle_rate,
                    error_rate=error_rate, drop_rate=drop_rate)  # fmt: skip
    run_forever(host, port, faults=faults, api=EmulatedRegistrationApi(seed=seed))


@emulator.command()
@click.option("--endpoint-url", required=True, envvar="AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2",
              help="The running emulator's URL.")  # fmt: skip
@click.option("--denied-reason", "denied", multiple=True, metavar="REASON:TEXT",
              help="For deny: a denied reason (repeatable).")  # fmt: skip
@click.option("--feedback", default=None, help="For deny: AWS review feedback.")
@click.argument("registration_id")
@click.argument("trigger")
def advance(
    endpoint_url: str,
    denied: tuple[str, ...],
    feedback: str | None,
    registration_id: str,
    trigger: str,
) -> None:
    """Apply an AWS-side TRIGGER (begin_review, approve, deny, revoke...) to a registration."""
    details: dict[str, Any] = {}
    if denied:
        details["denied_reasons"] = [
            {"Reason": r, "ShortDescription": t or r}
            for r, _, t in (d.partition(":") for d in denied)
        ]
    if feedback is not None:
        details["feedback"] = feedback
    body = {"RegistrationId": registration_id, "Trigger": trigger, "Details": details}
    click.echo(to_json(control(endpoint_url, "Advance", body)))


def control(endpoint_url: str, operation: str, body: dict[str, Any]) -> Any:
    """Call an emulator control operation; a refusal becomes a ClickException."""
    try:
        request = urllib.request.Request(
            endpoint_url,
            data=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": f"RegistrationFsmEmulator.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
            },
            method="POST",
        )
    except ValueError as err:  # urllib refuses a malformed URL
        raise click.BadParameter(f"{endpoint_url!r}: {err}", param_hint="--endpoint-url") from None
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            payload = json.loads(err.read() or b"{}")
        except ValueError:
            payload = {}
        raise click.ClickException(
            f"{payload.get('__type', err.code)}: {payload.get('message', err.reason)}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise click.ClickException(f"cannot reach the emulator at {endpoint_url}: {err}") from None
