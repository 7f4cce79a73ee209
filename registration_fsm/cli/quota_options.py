"""``--quota OPERATION=RPS`` and ``--quota-file FILE``: the quotas a command runs under."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from registration_fsm.errors import InvalidArgument, InvalidArgumentType
from registration_fsm.quotas import ENV_QUOTA_FILE, Quotas, parse_overrides


def quota_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--quota`` (repeatable) and ``--quota-file``; the command gets ``quotas``."""

    @click.option(
        "--quota",
        "quota_overrides",
        multiple=True,
        metavar="OPERATION=RPS",
        help="An operation's requests per second, for a raised quota (repeatable; "
        "over REGISTRATION_FSM_QUOTAS).",
    )
    @click.option(
        "--quota-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_QUOTA_FILE,
        default=None,
        help='A TOML file of quotas ([quotas], and [quotas."ACCOUNT/REGION"]).',
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, quota_overrides: tuple[str, ...], quota_file: Path | None, **kwargs: Any
    ) -> Any:
        return command(*args, quotas=resolve(quota_overrides, quota_file), **kwargs)

    return wrapper  # fmt: skip


def resolve(overrides: tuple[str, ...], quota_file: Path | None) -> Quotas:
    """The environment's quotas, the file's, then ``--quota``: each a usage error if bad."""
    environ = dict(os.environ)
    if quota_file is not None:  # --quota-file, or REGISTRATION_FSM_QUOTA_FILE through click
        environ[ENV_QUOTA_FILE] = os.fspath(quota_file)
    try:
        quotas = Quotas.from_environment(environ)
        return quotas.overridden(everywhere=parse_overrides(overrides))
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.BadParameter(str(err), param_hint="--quota / --quota-file") from None


__all__ = ["quota_options", "resolve"]
