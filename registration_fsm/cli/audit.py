"""``registration-fsm audit``: export and verify the tamper-evident audit trail."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group(short_help="Export or verify the hash-chained audit trail.")
def audit() -> None:
    """Export or verify the hash-chained audit trail of a store."""


@audit.command(short_help="Verify an export or a store; exit 1 if tampered.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify(path: Path, as_json: bool) -> None:
    """Verify a JSON Lines export or an SQLite store; exit 1 naming the first bad record."""
    from registration_fsm.audit import verify_path
    from registration_fsm.cli.output import to_json

    verdict = verify_path(path)
    if as_json:
        click.echo(
            to_json(
                {
                    "ok": verdict.ok,
                    "records": verdict.records,
                    "first_bad": verdict.first_bad,
                    "problem": verdict.problem,
                    "head": None if verdict.head is None else verdict.head.to_json()["head"],
                }
            )
        )
    else:
        click.echo(f"{path}: {verdict}")
    if not verdict.ok:
        sys.exit(1)


@audit.command(short_help="Export a store's audit trail as JSON Lines.")
@click.option("--store", "store_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The SQLite store to export from.")  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")  # fmt: skip
def export(store_path: Path, output: Path | None) -> None:
    """Export a store's audit trail as JSON Lines (the head record last)."""
    from registration_fsm.audit import export_jsonl
    from registration_fsm.store.sqlite import SQLiteStore

    with SQLiteStore(store_path) as store:
        if output is None:
            count = export_jsonl(store, sys.stdout)
        else:
            try:
                out = output.open("w", encoding="utf-8")
            except OSError as err:
                raise click.BadParameter(
                    f"cannot write {output}: {err.strerror or err}", param_hint="--output"
                ) from None
            with out:
                count = export_jsonl(store, out)
    click.echo(f"exported {count} records", err=True)
