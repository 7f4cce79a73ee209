"""``registration-fsm emulator``: serve the emulator, and play AWS's part against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from registration_fsm.cli.files import check_append
from registration_fsm.cli.output import to_json
from registration_fsm.cli.quota_options import current_quotas, quota_options, quotas_named
from registration_fsm.domain.lifecycle import LifecyclePolicy
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import InvalidApiData, InvalidArgument, InvalidArgumentType, shown

if TYPE_CHECKING:
    from registration_fsm.domain.forms import Catalog
    from registration_fsm.emulator import EmulatorClient

#: The environment variable --catalog reads (the emulator's own ENV_CATALOG; not imported
#: from it, so that the CLI starts without loading the emulator).
CATALOG_ENV = "REGISTRATION_FSM_CATALOG"


@click.group(
    invoke_without_command=True,
    short_help="Serve the emulator over HTTP; `advance` plays AWS.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--seed", default=None, type=int, help="Seed ids, tokens and faults.")
@click.option(
    "--account",
    "account_id",
    default="123456789012",
    show_default=True,
    metavar="ACCOUNT_ID",
    help="The AWS account the emulator is (its ARNs; a fleet serves one emulator per account).",
)
@click.option(
    "--region",
    "region_name",
    default="us-east-1",
    show_default=True,
    help="The AWS region the emulator is (its ARNs and quotas).",
)
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds per request.")
@click.option("--throttle-rate", default=0.0, type=click.FloatRange(0, 1),
              help="Share of requests answered ThrottlingException.")  # fmt: skip
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of 5xx.")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), help="Dropped connections.")
@click.option("--request-deadline", default=30.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True, max=3600),
              help="Seconds for a request to arrive whole (else 408), and for a kept-alive "
              "connection to stay idle.")  # fmt: skip
@click.option("--max-connections", default=64, show_default=True, type=click.IntRange(1, 10000),
              help="Connections served at once (a thread each).")  # fmt: skip
@click.option("--connection-wait", default=5.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Seconds a connection over the cap waits for a slot (then 503).")  # fmt: skip
@quota_options
@click.option("--no-quotas", is_flag=True,
              help="Enforce no request quotas (else AWS's defaults are enforced).")  # fmt: skip
@click.option("--events-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append each status-change event to this JSON Lines file.")  # fmt: skip
@click.option("--events-url", default=None, metavar="URL",
              help="POST each status-change event (JSON) to this http(s) URL.")  # fmt: skip
@click.option("--catalog", "catalog_name", default=None, metavar="FILE|none", envvar=CATALOG_ENV,
              help="The registration forms to serve: a catalogue file (see `catalog capture`), "
              "or none (any type, no form checks). Default: the shipped catalogue.")  # fmt: skip
@click.option("--provisioning", "provisioning", multiple=True, metavar="TYPE|all",
              help="Approvals of this registration type pass through PROVISIONING until "
              "`advance ... complete_provisioning` (repeatable; all: every type).")  # fmt: skip
@click.option("--allow-edge", "edges", multiple=True, metavar="EDGE",
              help="Turn on an optional lifecycle edge AWS does not document (repeatable; "
              "names in docs/lifecycle.md).")  # fmt: skip
@click.pass_context
def emulator(
    ctx: click.Context,
    host: str,
    port: int,
    seed: int | None,
    account_id: str,
    region_name: str,
    latency: float,
    throttle_rate: float,
    error_rate: float,
    drop_rate: float,
    request_deadline: float,
    max_connections: int,
    connection_wait: float,
    no_quotas: bool,
    events_file: Path | None,
    events_url: str | None,
    catalog_name: str | None,
    provisioning: tuple[str, ...],
    edges: tuple[str, ...],
) -> None:
    """Serve the emulator over AWS JSON 1.0 until Ctrl-C (prints its URL).

    Point boto3 at it with endpoint_url=URL (any credentials), or set
    AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2. Drive AWS-side events with
    `registration-fsm emulator advance`. AWS's request quotas are enforced (an
    excess request gets ThrottlingException) unless --no-quotas. Every status
    change emits a "Registration Status Change" event (source aws.sms-voice, in
    EventBridge's envelope) to --events-file and/or --events-url; a sink that fails
    is logged, never seen by the API's caller. The registration forms served are
    --catalog's (else REGISTRATION_FSM_CATALOG's, else the shipped catalogue); a file
    that cannot be used is refused before anything is served. An address that cannot
    be listened on (a busy port, an unknown host) is one line on stderr, exit 1.
    """  # fmt: skip
    if ctx.invoked_subcommand is not None:
        return
    if not host.strip():
        raise click.BadParameter("an empty host: give a host name or address", param_hint="--host")
    if no_quotas and quotas_named():
        raise click.UsageError("--no-quotas contradicts --quota / --quota-file: give one")
    try:
        Shard.of(account_id, region_name)
    except InvalidArgument as err:
        raise click.UsageError(f"--account/--region: {err}") from None
    catalog = _catalog(ctx, catalog_name)  # first: a refused option leaves no events file
    policy = _policy(provisioning, edges)
    from registration_fsm import EmulatedRegistrationApi, Faults, run_forever
    from registration_fsm.emulator.events import HttpPostSink, JsonLinesSink

    # The sinks' own checks, as usage errors, before anything is served.
    if events_url is not None:
        try:
            HttpPostSink(events_url)
        except InvalidArgument as err:
            raise click.BadParameter(str(err), param_hint="--events-url") from None
    if events_file is not None:
        check_append(events_file, option="--events-file")  # never a link, the store, a database
        try:
            JsonLinesSink(events_file).close()
        except InvalidArgument as err:
            raise click.BadParameter(str(err), param_hint="--events-file") from None
    faults = Faults(seed=seed or 0, latency=latency, throttle_rate=throttle_rate,
                    error_rate=error_rate, drop_rate=drop_rate)  # fmt: skip
    api = EmulatedRegistrationApi(
        account=account_id, region=region_name, seed=seed, catalog=catalog, policy=policy,
        quotas=None if no_quotas else current_quotas(),
    )  # fmt: skip
    # A failed bind is a BindError: main() prints it as one line and exits 1.
    run_forever(
        host, port, faults=faults, api=api, events_file=events_file, events_url=events_url,
        request_deadline=request_deadline, max_connections=max_connections,
        connection_wait=connection_wait,
    )  # fmt: skip


def _policy(provisioning: tuple[str, ...], edges: tuple[str, ...]) -> LifecyclePolicy:
    """--allow-edge and --provisioning as a policy (an unknown edge is a usage error)."""
    try:
        policy = LifecyclePolicy.allow(*edges)
    except InvalidArgument as err:
        raise click.BadParameter(str(err), param_hint="--allow-edge") from None
    if not provisioning:
        return policy
    if "all" in provisioning:
        return policy.with_provisioning()
    for name in provisioning:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
            raise click.BadParameter(
                f"{shown(name)} is not a registration type", param_hint="--provisioning"
            )
    return policy.with_provisioning(*provisioning)


def _catalog(ctx: click.Context, name: str | None) -> Catalog | None:
    """--catalog's catalogue (None: no forms); a file that cannot be used is a usage error."""
    from registration_fsm.domain.forms import Catalog

    if name is None:
        return Catalog.builtin()
    if name.strip().lower() == "none":
        return None
    try:
        return Catalog.load(name)
    except (InvalidArgument, InvalidArgumentType, InvalidApiData) as err:
        source = ctx.get_parameter_source("catalog_name")
        hint = CATALOG_ENV if source is ParameterSource.ENVIRONMENT else "--catalog"
        raise click.BadParameter(str(err), param_hint=hint) from None


def _endpoint_and_timeout(command: Any) -> Any:
    """The options of the commands that talk to a served emulator's control target."""
    command = click.option("--timeout", default=30.0, show_default=True,
                           type=click.FloatRange(min=0, min_open=True, max=3600),
                           help="Seconds to wait for the emulator's answer.")(command)  # fmt: skip
    return click.option("--endpoint-url", required=True,
                        envvar="AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2",
                        help="The running emulator's URL.")(command)  # fmt: skip


@emulator.command(short_help="Apply an AWS-side trigger on a served emulator.")
@click.option("--denied-reason", "denied", multiple=True, metavar="REASON:TEXT",
              help="For deny: a denied reason (repeatable).")  # fmt: skip
@click.option("--feedback", default=None, help="For deny: AWS review feedback.")
@click.option("--resource-id", default=None,
              help="For complete_provisioning, close: the identity that caused it.")  # fmt: skip
@_endpoint_and_timeout
@click.argument("registration_id")
@click.argument("trigger")
def advance(
    denied: tuple[str, ...],
    feedback: str | None,
    resource_id: str | None,
    endpoint_url: str,
    timeout: float,
    registration_id: str,
    trigger: str,
) -> None:
    """Apply an AWS-side TRIGGER (begin_review, approve, deny, revoke...) to a registration.

    Prints the events the emulator applied; a refusal exits 1 with the API's error.
    """
    details: dict[str, Any] = {}
    if denied:
        details["denied_reasons"] = [
            {"Reason": r, "ShortDescription": t or r}
            for r, _, t in (d.partition(":") for d in denied)
        ]
    if feedback is not None:
        details["feedback"] = feedback
    if resource_id is not None:
        details["resource_id"] = resource_id
    events = _client(endpoint_url, timeout).advance(registration_id, trigger, **details)
    click.echo(to_json({"Events": [event.to_dict() for event in events]}))


@emulator.command("add-identity", short_help="Give a served emulator's account a number.")
@click.option("--type", "resource_type", default="phone-number", show_default=True,
              type=click.Choice(["phone-number", "sender-id", "pool"]))  # fmt: skip
@click.option("--country", "iso_country_code", default="US", show_default=True,
              help="ISO country code.")  # fmt: skip
@click.option("--number-type", default=None,
              help="A phone number's NumberType (default TOLL_FREE).")  # fmt: skip
@click.option("--phone-number", default=None, help="A phone number's E.164 digits.")
@_endpoint_and_timeout
def add_identity(
    resource_type: str, iso_country_code: str, number_type: str | None,
    phone_number: str | None, endpoint_url: str, timeout: float,
) -> None:  # fmt: skip
    """Give the account an origination identity (as buying a number or registering a
    sender ID would) for `registration-fsm associate`. Prints its
    RegistrationAssociationMetadata (ResourceId...)."""
    found = _client(endpoint_url, timeout).add_origination_identity(
        resource_type,
        iso_country_code=iso_country_code,
        phone_number=phone_number,
        number_type=number_type,
    )
    click.echo(to_json(found))


@emulator.command("release-identity", short_help="Delete an identity (a number) on AWS's side.")
@_endpoint_and_timeout
@click.argument("resource_id")
def release_identity(endpoint_url: str, timeout: float, resource_id: str) -> None:
    """Delete origination identity RESOURCE_ID (release the number). A COMPLETE
    registration whose last identity it was goes CLOSED. Prints the events."""
    events = _client(endpoint_url, timeout).release_origination_identity(resource_id)
    click.echo(to_json({"Events": [event.to_dict() for event in events]}))


def _client(endpoint_url: str, timeout: float) -> EmulatorClient:
    from registration_fsm import EmulatorClient

    try:
        return EmulatorClient(endpoint_url, timeout=timeout)
    except ValueError as err:  # InvalidArgument, or urllib's own (an unclosed "[" of IPv6)
        raise click.BadParameter(str(err), param_hint="--endpoint-url") from None
