"""``--quota OPERATION=RPS``, ``--quota-file FILE`` and ``--account``: the quotas a
command runs under, for the API commands and the emulator alike.

The options are checked as they are parsed (a bad one is a usage error naming it)
and leave their values in the click context, where :func:`current_quotas` and
:func:`current_account` read them: a command passes them on without naming them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from registration_fsm.errors import InvalidArgument, InvalidArgumentType
from registration_fsm.quotas import ENV_QUOTA_FILE, Quotas, parse_overrides

F = TypeVar("F", bound=Callable[..., Any])

#: Where the options leave their values in the click context (``ctx.meta``).
_META = "registration_fsm.cli.quotas"


def _stash(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def _check_overrides(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    try:
        parse_overrides(values)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.UsageError(str(err), ctx) from None  # it names --quota itself
    return _stash(ctx, param, values)


def _check_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    if value is not None:
        try:
            Quotas.from_toml(value)
        except (InvalidArgument, InvalidArgumentType) as err:
            raise click.BadParameter(str(err)) from None
    return _stash(ctx, param, value)


def _check_account(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is not None and (len(value) != 12 or not value.isdigit()):
        raise click.BadParameter(f"{value!r} is not an AWS account id (12 digits)")
    return _stash(ctx, param, value)


def quota_options(command: F) -> F:
    """Add ``--quota`` (repeatable) and ``--quota-file``; read with :func:`current_quotas`."""
    command = click.option(
        "--quota-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_QUOTA_FILE,
        default=None,
        expose_value=False,
        callback=_check_file,
        help='A TOML file of quotas ([quotas], and [quotas."ACCOUNT/REGION"]).',
    )(command)
    return click.option(
        "--quota",
        "quota_overrides",
        multiple=True,
        metavar="OPERATION=RPS",
        expose_value=False,
        callback=_check_overrides,
        help="An operation's requests per second, for a raised quota (repeatable; "
        "over REGISTRATION_FSM_QUOTAS).",
    )(command)


def account_option(command: F) -> F:
    """Add ``--account``; read with :func:`current_account`."""
    return click.option(
        "--account",
        default=None,
        metavar="ACCOUNT_ID",
        expose_value=False,
        callback=_check_account,
        help="The AWS account of the credentials: requests are paced per account and "
        'region, and [quotas."ACCOUNT/REGION"] of --quota-file applies.',
    )(command)


def _given() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return {} if ctx is None else dict(ctx.meta.get(_META, {}))  # meta is shared by all


def quotas_named() -> bool:
    """Whether the running command's own command line gave --quota or --quota-file."""
    ctx = click.get_current_context()
    named = (ctx.get_parameter_source(n) for n in ("quota_overrides", "quota_file"))
    return click.core.ParameterSource.COMMANDLINE in named


def current_quotas() -> Quotas:
    """The environment's quotas, then --quota-file's, then --quota's (AWS's defaults
    under them all)."""
    given = _given()
    environ = dict(os.environ)
    if given.get("quota_file") is not None:  # --quota-file, or its environment variable
        environ[ENV_QUOTA_FILE] = os.fspath(given["quota_file"])
    try:
        quotas = Quotas.from_environment(environ)
        overrides = parse_overrides(tuple(given.get("quota_overrides") or ()))
        return quotas.overridden(everywhere=overrides)
    except (InvalidArgument, InvalidArgumentType) as err:  # REGISTRATION_FSM_QUOTAS, say
        raise click.UsageError(str(err)) from None


def current_account() -> str | None:
    """The running command's --account."""
    account: str | None = _given().get("account")
    return account


__all__ = [
    "account_option",
    "current_account",
    "current_quotas",
    "quota_options",
    "quotas_named",
]
