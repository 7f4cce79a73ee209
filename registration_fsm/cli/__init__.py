"""The ``registration-fsm`` command line: the one place that wires concrete parts."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from registration_fsm.cli.audit import audit
from registration_fsm.cli.aws import show, sync, wait
from registration_fsm.cli.catalog import catalog
from registration_fsm.cli.commands import create, create_version, delete, discard, submit
from registration_fsm.cli.demo import demo
from registration_fsm.cli.diagram import diagram
from registration_fsm.cli.emulator import emulator
from registration_fsm.cli.follow import follow
from registration_fsm.cli.form import associate, attach, form
from registration_fsm.cli.report import report
from registration_fsm.cli.worker import worker
from registration_fsm.errors import ApiError, RegistrationError

#: The exit status when standard output is closed early (a broken pipe: ``| head``),
#: as a shell reports a program killed by SIGPIPE (128 + 13).
BROKEN_PIPE = 141
#: The exit status of an error this library did not foresee (a bug), as sysexits'
#: EX_SOFTWARE; set :data:`TRACEBACK_ENV` to see the traceback.
INTERNAL_ERROR = 70
TRACEBACK_ENV = "REGISTRATION_FSM_TRACEBACK"
#: What a failed write of standard output raises (a full disk, an I/O error...).
_WRITE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EIO", "EDQUOT", "EFBIG", "EROFS", "EBADF", "EAGAIN", "ENXIO")
    if hasattr(errno, name)
)


class _OsFailure(Exception):
    """An :class:`OSError` out of a command, kept from click (which would turn a broken
    pipe into exit 1)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Cli(click.Group):
    """The command group; an :class:`OSError` out of a command (or out of printing the
    help) reaches :func:`main` as :class:`_OsFailure`."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:  # fmt: skip
        with _os_failures():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _os_failures():
            return super().invoke(ctx)


@contextlib.contextmanager
def _os_failures() -> Iterator[None]:
    try:
        yield
    except OSError as err:
        if isinstance(err, RegistrationError):  # BindError: the library's own
            raise
        raise _OsFailure(err) from err


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="registration-fsm")
def cli() -> None:
    """Model, emulate and follow AWS End User Messaging SMS registrations."""


for command in (
    demo, emulator, sync, show, wait, create, submit, create_version, discard, delete, diagram,
    audit, follow, catalog, form, attach, associate, report, worker,
):  # fmt: skip
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. Every failure prints one line on stderr (see docs/cli.md, "Errors and
    exit codes"): library errors exit 1, usage errors 2, a bug 70, Ctrl-C 130; standard
    output closed early (``| head``) exits 141 and prints nothing."""
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(args=argv, prog_name="registration-fsm", standalone_mode=False)
        sys.stdout.flush()
    except click.exceptions.Abort:
        _error_line("aborted")
        return 130
    except click.ClickException as err:
        if "\n" in err.message or "\r" in err.message:
            err = (
                click.ClickException(_one_line(err.message))
                if not isinstance(err, click.UsageError)
                else click.UsageError(_one_line(err.message), err.ctx)
            )
        with contextlib.suppress(OSError):  # stderr itself gone: the status still says it
            err.show()
        return err.exit_code
    except RegistrationError as err:
        _error_line(f"error: {type(err).__name__}: {_one_line(_explained(err))}")
        return 1
    except _OsFailure as failure:
        return _os_failure(failure.error)
    except OSError as err:  # the final flush of standard output
        return _os_failure(err)
    except Exception as err:
        if os.environ.get(TRACEBACK_ENV):
            raise
        _error_line(
            f"internal error: {type(err).__name__}: {_one_line(str(err))} "
            f"(a bug; {TRACEBACK_ENV}=1 shows where)"
        )
        return INTERNAL_ERROR
    return code if isinstance(code, int) else 0


def _os_failure(err: OSError) -> int:
    """The exit status of an :class:`OSError` out of a command, its line printed."""
    if err.errno == errno.EPIPE:  # the reader went away (| head): say nothing
        _discard_stdout()
        return BROKEN_PIPE
    if err.filename is None and err.errno in _WRITE_ERRNOS:
        _discard_stdout()
        _error_line(f"Error: cannot write standard output: {err.strerror or err}")
    else:
        where = "" if err.filename is None else f"{err.filename}: "
        _error_line(f"error: {type(err).__name__}: {_one_line(where + (err.strerror or str(err)))}")
    return 1


def _discard_stdout() -> None:
    """Point standard output at the null device, so the interpreter's last flush of what
    could not be written neither fails nor prints "Exception ignored"."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):  # not a real file (tests): nothing to do
        return
    try:
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    finally:
        os.close(null)


def _error_line(text: str) -> None:
    """``text`` on stderr; nothing if stderr itself cannot be written."""
    with contextlib.suppress(OSError):
        click.echo(text, err=True)


def _explained(err: RegistrationError) -> str:
    """The error's message with the API's ``reason`` and the fields it names, if the
    message does not say them already: what a script branches on, what to fix."""
    text = str(err)
    if not isinstance(err, ApiError):
        return text
    reason = getattr(err, "reason", None)
    if isinstance(reason, str) and reason and reason not in text:
        text = f"{reason}: {text}"
    fields = [
        (name, message) for name, message in getattr(err, "fields", ()) if message not in text
    ]
    if fields and all(name in text for name, _ in fields) and len({m for _, m in fields}) == 1:
        return f"{text} (each: {fields[0][1]})"  # the names are there already: say it once
    named = [f"{name}: {message}" for name, message in fields]
    return f"{text} ({'; '.join(named)})" if named else text


def _one_line(message: str) -> str:
    """Keep an error on one line even when it echoes input with line breaks."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
