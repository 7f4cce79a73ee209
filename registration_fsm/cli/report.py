"""``registration-fsm report``: an HTML evidence report of a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from registration_fsm.cli.aws import (
    ambiguous,
    filtered,
    is_store_file,
    open_cli_store,
    shard_filters,
    store_name,
    store_option,
)

_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command(short_help="Write an HTML evidence report of the store.")
@store_option("The store to report on (an SQLite file, or a postgresql:// URL), opened read-only.")
@shard_filters
@click.option("--registration", "registration_ids", multiple=True, metavar="ID",
              help="Report on this registration only (repeatable; default: all).")  # fmt: skip
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="A directory (index.html and one page per registration), or with one "
              "--registration a .html file.")  # fmt: skip
@click.option("--stale-days", default=14.0, show_default=True,
              type=click.FloatRange(min=0, max=36500),
              help="List reviews open longer than this many days on the overview.")  # fmt: skip
@click.option("--public-key", type=_EXISTING, default=None,
              help="The checkpoints' Ed25519 public key (PEM); with --checkpoints.")  # fmt: skip
@click.option("--checkpoints", type=_EXISTING, default=None,
              help="The signed checkpoint file to check the trail against; "
              "with --public-key.")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace pages that already exist.")
def report(
    store: str,
    account: str | None,
    region: str | None,
    registration_ids: tuple[str, ...],
    output: Path,
    stale_days: float,
    public_key: Path | None,
    checkpoints: Path | None,
    force: bool,
) -> None:
    """Write an HTML evidence report: one self-contained page per registration (every
    event with who, when, why and metadata; each version's path on the lifecycle
    diagram; denial reasons; the field values submitted and what changed; the audit
    trail's verification) and an overview (by status, reviews open longer than
    --stale-days, denials by reason).

    The store is opened read-only. --account and --region report on one account's or
    region's registrations (an id stored for two needs them). The audit trail is
    verified as `audit verify` does (with --public-key and --checkpoints, against the
    signed checkpoints); the report is written whatever the verdict, and shows it on
    every page. Pages are written to temporary files and renamed into place; an
    existing page is replaced only with --force, and an output that is a symbolic
    link is refused. The diagrams need Graphviz's dot.
    """
    from registration_fsm.errors import AmbiguousRegistrationId, InvalidArgument, NotTracked
    from registration_fsm.report import build_report, layout_for, write_report

    if (public_key is None) != (checkpoints is None):
        raise click.UsageError("--public-key and --checkpoints go together: give both, or neither")
    if layout_for(output) == "file" and len(registration_ids) != 1:
        raise click.BadParameter(
            f"{output.name}: a one-file report shows one registration; name it with "
            "--registration ID, or give a directory",
            param_hint="--output",
        )
    with open_cli_store(store, read_only=True) as opened:
        name = store_name(opened, store)
        source: Any = opened
        if account is not None or region is not None:
            # The audit check still covers the whole store: its verification replays
            # the store's whole chain against every registration, whatever the view.
            source = filtered(opened, account, region)
            name = f"{name} ({source.selection})"
        try:
            data = build_report(
                source, registration_ids, stale_days=stale_days, public_key=public_key,
                checkpoints=checkpoints, store_name=name,
            )  # fmt: skip
        except NotTracked as err:
            where = "" if account is None and region is None else " for the accounts/regions chosen"
            raise click.ClickException(
                f"registration {err.registration_id} is not in {name}{where}"
            ) from None
        except AmbiguousRegistrationId as err:
            raise ambiguous(err) from None
        except InvalidArgument as err:  # a key or checkpoint file that is not one
            raise click.UsageError(str(err)) from None
    protect = [Path(store)] if is_store_file(store) else []
    try:
        written = write_report(data, output, force=force, protect=protect)
    except InvalidArgument as err:
        raise click.BadParameter(str(err), param_hint="--output") from None
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from None
    pages = "1 page" if len(written) == 1 else f"{len(written)} pages"
    click.echo(f"wrote {output} ({pages})", err=True)
    click.echo(f"audit trail: {data.audit.summary}", err=True)


__all__ = ["report"]
