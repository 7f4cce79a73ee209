"""The ``registration-fsm`` command line: the one place that wires concrete parts."""

from __future__ import annotations

import sys

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
from registration_fsm.errors import ApiError, RegistrationError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="registration-fsm")
def cli() -> None:
    """Model, emulate and follow AWS End User Messaging SMS registrations."""


for command in (
    demo, emulator, sync, show, wait, create, submit, create_version, discard, delete, diagram,
    audit, follow, catalog, form, attach, associate, report,
):  # fmt: skip
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors print one line and exit 1 (usage errors exit 2)."""
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(args=argv, prog_name="registration-fsm", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as err:
        if "\n" in err.message or "\r" in err.message:
            err = (
                click.ClickException(_one_line(err.message))
                if not isinstance(err, click.UsageError)
                else click.UsageError(_one_line(err.message), err.ctx)
            )
        err.show()
        return err.exit_code
    except RegistrationError as err:
        click.echo(f"error: {type(err).__name__}: {_one_line(_explained(err))}", err=True)
        return 1
    return code if isinstance(code, int) else 0


def _explained(err: RegistrationError) -> str:
    """The error's message with the API's ``reason`` and the fields it names, if the
    message does not say them already: what a script branches on, what to fix."""
    text = str(err)
    if not isinstance(err, ApiError):
        return text
    reason = getattr(err, "reason", None)
    if isinstance(reason, str) and reason and reason not in text:
        text = f"{reason}: {text}"
    fields = getattr(err, "fields", ())
    named = [f"{name}: {message}" for name, message in fields if message not in text]
    return f"{text} ({'; '.join(named)})" if named else text


def _one_line(message: str) -> str:
    """Keep an error on one line even when it echoes input with line breaks."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
