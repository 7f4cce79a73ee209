"""The customer's commands: create, submit, create-version, discard and delete.

Each checks the local model first (a refusal sends nothing and exits 1 naming
every check that said no), then calls the API, and records who (``--actor``),
why (``--reason``) and any ``--meta KEY=VALUE`` pairs with the event it prints.
``discard`` and ``delete`` need a ``--reason``: without one they are refused
before any request is made (not even a pull of the registration).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from registration_fsm.cli.aws import api_options, make_synchronizer
from registration_fsm.cli.output import (
    registration_json,
    registration_table,
    timeline_line,
    to_json,
)
from registration_fsm.domain.events import TransitionEvent, check_metadata
from registration_fsm.domain.guards import require_reason
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LIFECYCLE, LifecyclePolicy
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.errors import CommandRefused, InvalidArgument, InvalidArgumentType, Refusal


def _metadata(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """``--meta KEY=VALUE`` options as a dict; a malformed one is a usage error."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--meta")
        if key in out:
            raise click.BadParameter(f"{key!r} is given twice", param_hint="--meta")
        out[key] = text
    try:
        check_metadata(out)  # the library's limits (length, printable keys), before any request
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.BadParameter(str(err), param_hint="--meta") from None
    return out


def who_and_why(command: Callable[..., Any]) -> Callable[..., Any]:
    """--actor, --reason, --meta KEY=VALUE (repeatable) and --json."""

    @click.option("--actor", default=None, help="Who asks (recorded with the event).")
    @click.option("--reason", default=None, help="Why (recorded with the event).")
    @click.option(
        "--meta",
        "metadata",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_metadata,
        help="Recorded with the event: a ticket, a second approver (repeatable).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the event as JSON.")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper  # fmt: skip


def _registration_id(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--registration-id", required=True, help="The registration (id or ARN).")(
        command
    )


def _echo(event: TransitionEvent, as_json: bool) -> None:
    click.echo(to_json(event.to_dict()) if as_json else timeline_line(event))


def _need_reason(trigger: str, registration_id: str, reason: str | None) -> str:
    """The checked id; refused here, before any request, when there is no reason.

    The same refusal :func:`~registration_fsm.require_reason` gives (it still runs
    with the command's other checks), without pulling the registration first.
    """
    checked = check_registration_id(registration_id)
    if reason is None or not reason.strip():
        raise CommandRefused(
            trigger,
            [Refusal(require_reason.__name__, "a reason is required (--reason)")],
            reason=LIFECYCLE.trigger(trigger).conflict_reason,
            resource_id=checked,
        )
    return checked


@click.command(short_help="Create a registration (CreateRegistration).")
@api_options
@who_and_why
@click.argument("registration_type")
def create(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str,
    actor: str | None, reason: str | None, metadata: dict[str, str], as_json: bool,
    registration_type: str,
) -> None:  # fmt: skip
    """CreateRegistration of REGISTRATION_TYPE, then pull it into the store.

    Prints the new registration and its create event (--json: the shape of
    `show --json --events`).
    """
    syncer = make_synchronizer(endpoint_url, region, profile, connect_timeout, read_timeout, store)
    seen: list[TransitionEvent] = []
    syncer.subscribe(seen.append)
    with syncer.store:
        registration = syncer.create(
            registration_type, actor=actor, reason=reason, metadata=metadata
        )
    mine = [e for e in seen if e.registration_id == registration.id]
    if as_json:
        item = registration_json(registration)
        item["Events"] = [e.to_dict() for e in mine]
        click.echo(to_json([item]))
    else:
        for line in registration_table(registration):
            click.echo(line)
        for event in mine:
            click.echo(timeline_line(event))


@click.command(short_help="Submit the current DRAFT version.")
@api_options
@_registration_id
@who_and_why
@click.option("--aws-review", is_flag=True, help="Ask for AWS's own review first (AwsReview).")
def submit(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str, registration_id: str,
    actor: str | None, reason: str | None, metadata: dict[str, str], as_json: bool,
    aws_review: bool,
) -> None:  # fmt: skip
    """SubmitRegistrationVersion: submit the current DRAFT version."""
    syncer = make_synchronizer(endpoint_url, region, profile, connect_timeout, read_timeout, store)
    with syncer.store:
        event = syncer.submit(
            registration_id, aws_review=aws_review, actor=actor, reason=reason, metadata=metadata
        )
    _echo(event, as_json)


@click.command("create-version", short_help="Create a new DRAFT version.")
@api_options
@_registration_id
@who_and_why
def create_version(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str, registration_id: str,
    actor: str | None, reason: str | None, metadata: dict[str, str], as_json: bool,
) -> None:  # fmt: skip
    """CreateRegistrationVersion: a new DRAFT over a closed current version."""
    syncer = make_synchronizer(endpoint_url, region, profile, connect_timeout, read_timeout, store)
    with syncer.store:
        event = syncer.create_version(
            registration_id, actor=actor, reason=reason, metadata=metadata
        )
    _echo(event, as_json)


@click.command(short_help="Discard the current version (needs --reason).")
@api_options
@_registration_id
@who_and_why
@click.option(
    "--allow-draft", is_flag=True, help="Also allow discarding a DRAFT (undocumented by AWS)."
)
def discard(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str, registration_id: str,
    actor: str | None, reason: str | None, metadata: dict[str, str], as_json: bool,
    allow_draft: bool,
) -> None:  # fmt: skip
    """DiscardRegistrationVersion on the current version; a --reason is required."""
    registration_id = _need_reason("discard", registration_id, reason)
    policy = LifecyclePolicy.allow_draft_discard() if allow_draft else DEFAULT_POLICY
    syncer = make_synchronizer(
        endpoint_url, region, profile, connect_timeout, read_timeout, store, policy
    )
    with syncer.store:
        event = syncer.discard(
            registration_id, actor=actor, reason=reason, metadata=metadata,
            guards=[require_reason],
        )  # fmt: skip
    _echo(event, as_json)


@click.command(short_help="Delete a registration (needs --reason).")
@api_options
@_registration_id
@who_and_why
def delete(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, store: str, registration_id: str,
    actor: str | None, reason: str | None, metadata: dict[str, str], as_json: bool,
) -> None:  # fmt: skip
    """DeleteRegistration; the store keeps the registration, DELETED; a --reason is required."""
    registration_id = _need_reason("delete", registration_id, reason)
    syncer = make_synchronizer(endpoint_url, region, profile, connect_timeout, read_timeout, store)
    with syncer.store:
        event = syncer.delete(
            registration_id, actor=actor, reason=reason, metadata=metadata,
            guards=[require_reason],
        )  # fmt: skip
    _echo(event, as_json)


__all__ = ["create", "create_version", "delete", "discard", "submit", "who_and_why"]
