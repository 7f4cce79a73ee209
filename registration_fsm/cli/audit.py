"""``registration-fsm audit``: export, checkpoint and verify the tamper-evident audit trail."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

from registration_fsm.audit.jsonl import MAX_TRAIL_BYTES
from registration_fsm.cli.aws import (
    is_store_file,
    open_cli_store,
    store_name,
    store_option,
    store_target,
)
from registration_fsm.errors import InvalidArgument


class _Usage(click.ClickException):
    """A usage error printed as one ``Error:`` line (exit 2), without click's usage text."""

    exit_code = 2


@contextmanager
def _usage_errors() -> Iterator[None]:
    """What the audit layer refuses as unusable input is a usage error (exit 2)."""
    try:
        yield
    except InvalidArgument as err:
        raise _Usage(_one_line(str(err))) from None


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUTPUT = click.Path(dir_okay=False, path_type=Path)


@click.group(short_help="Export, checkpoint or verify the audit trail.")
def audit() -> None:
    """Export, sign checkpoints of, or verify the hash-chained audit trail of a store."""


@audit.command(short_help="Verify a trail; exit 1 if tampered.")
@click.argument("path", metavar="PATH|URL", callback=store_target(exists=True))
@click.option(
    "--public-key",
    type=_EXISTING,
    default=None,
    help="The checkpoints' Ed25519 public key (PEM); with --checkpoints.",
)
@click.option(
    "--checkpoints",
    type=_EXISTING,
    default=None,
    help="The signed checkpoint file to anchor the trail to; with --public-key.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=MAX_TRAIL_BYTES,
    show_default=True,
    help="The most bytes of a JSON Lines export read.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")  # fmt: skip
def verify(
    path: str,
    public_key: Path | None,
    checkpoints: Path | None,
    max_bytes: int,
    as_json: bool,
) -> None:
    """Verify a JSON Lines export, an SQLite store or a postgresql:// store (opened
    read-only).

    Checks the hash chain and, for a store, replays the events against the stored
    registrations and versions. With --public-key and --checkpoints it also checks
    every signed checkpoint and that the trail still holds what each vouched for;
    without them it proves internal consistency only. Exit 0 intact, 1 tampered
    (or checkpoints invalid), 2 not an audit trail or another usage error.
    """
    from registration_fsm.audit import verify_audit
    from registration_fsm.cli.output import to_json

    if (public_key is None) != (checkpoints is None):
        raise _Usage("--public-key and --checkpoints go together: give both, or neither")
    with ExitStack() as stack:
        trail: Any = Path(path)
        name = str(trail)
        if not is_store_file(path):
            trail = stack.enter_context(open_cli_store(path, read_only=True))
            name = store_name(trail, path)
        with _usage_errors():
            verdict = verify_audit(
                trail, public_key=public_key, checkpoints=checkpoints, max_trail_bytes=max_bytes
            )
    if as_json:
        click.echo(to_json(verdict.to_json()))
    else:
        click.echo(_one_line(f"{name}: {verdict}"))
    if not verdict.ok:
        sys.exit(1)


@audit.command(short_help="Create an Ed25519 key pair for checkpoints.")
@click.option(
    "--private-key",
    required=True,
    type=_OUTPUT,
    help="Where to write the private key (PEM, mode 0600).",
)
@click.option(
    "--public-key", required=True, type=_OUTPUT, help="Where to write the public key (PEM)."
)
@click.option("--force", is_flag=True, help="Replace existing key files.")  # fmt: skip
def keygen(private_key: Path, public_key: Path, force: bool) -> None:
    """Create an Ed25519 key pair to sign audit checkpoints with; prints its key id.

    Keep the private key where whoever can write the store cannot read it; give
    the public key to whoever verifies. Existing files are kept unless --force;
    a symbolic link is always refused.
    """
    from registration_fsm.audit import generate_keypair

    with _usage_errors():
        kid = generate_keypair(private_key, public_key, force=force)
    click.echo(
        _one_line(f"key {kid}: private key {private_key} (mode 0600), public key {public_key}")
    )


@audit.command(short_help="Append a signed checkpoint of a store's trail.")
@store_option(
    "The store whose audit trail to sign (an SQLite file, or a postgresql:// URL; "
    "opened read-only).",
    required=True,
    exists=True,
)
@click.option(
    "--key",
    "private_key",
    required=True,
    type=_EXISTING,
    help="The Ed25519 private key (PEM) from `audit keygen`.",
)
@click.option("--checkpoints", required=True, type=_OUTPUT,
              help="The checkpoint file to append to (created if missing).")  # fmt: skip
def checkpoint(store: str, private_key: Path, checkpoints: Path) -> None:
    """Sign the audit chain's head of a store and append it to a checkpoint file.

    The trail must verify and still hold what the file's latest checkpoint
    vouched for, and every checkpoint in the file must verify with this key;
    otherwise nothing is appended (exit 1). Copy each new line somewhere the
    store's writers cannot change (see the compliance guide).
    """
    from registration_fsm.audit import append_checkpoint

    with ExitStack() as stack:
        trail: Any = Path(store)
        if not is_store_file(store):
            trail = stack.enter_context(open_cli_store(store, read_only=True))
        with _usage_errors():
            made = append_checkpoint(trail, private_key, checkpoints)
    covered = f"records 1-{made.records}" if made.records else "no records"
    click.echo(
        _one_line(
            f"checkpoint {made.number} appended to {checkpoints}: {covered}, "
            f"head {made.head.hash}, key {made.key_id}, {made.to_json()['time']}"
        )
    )


@audit.command(short_help="Export a store's audit trail as JSON Lines.")
@store_option(
    "The store to export from (an SQLite file, or a postgresql:// URL; opened read-only).",
    required=True,
    exists=True,
)
@click.option("--output", type=_OUTPUT, default=None,
              help="Write here instead of standard output (an existing file only with "
              "--force; never a store or another SQLite file).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
def export(store: str, output: Path | None, force: bool) -> None:
    """Export a store's audit trail as JSON Lines (the head record last).

    The store is opened read-only (a read-only directory will do). --output is
    written beside its destination and renamed into place: a failed write (a full
    disk) leaves no half file. An existing file is replaced only with --force; a
    symbolic link, the store or any SQLite database never.
    """
    from registration_fsm.audit import export_jsonl
    from registration_fsm.cli.files import StagedOutput, check_output

    file = is_store_file(store)
    if file and not Path(store).is_file():  # a device or a pipe: never read as a store
        raise click.ClickException(f"{Path(store)} is not a regular file, not a store")
    if output is not None:
        check_output(output, force=force, protect=[Path(store)] if file else [])
    with open_cli_store(store, read_only=True) as opened:
        if output is None:
            count = export_jsonl(opened, sys.stdout)
        else:
            with StagedOutput(output, force=force) as out:
                with out.writing():
                    count = export_jsonl(opened, out.text)
                out.commit()
    click.echo(f"exported {count} records", err=True)
