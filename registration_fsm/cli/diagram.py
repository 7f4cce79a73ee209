"""``registration-fsm diagram``: the lifecycle as Mermaid, DOT, SVG or PNG.

``--level version`` (default) draws the version statuses, ``--level registration``
the registration statuses (the registration's own edges and the changes the
version edges make). ``--highlight FILE`` marks a version's status and the path its
history took (at ``--level registration``: a registration's status). The file
(``-`` for standard input) holds JSON in one of the API's shapes:

- a registration as ``registration-fsm show --json`` prints it:
  ``{"Registration": RegistrationInformation, "RegistrationVersions": [...]}``
  (or that command's one-element list); its current version is highlighted;
- a version: RegistrationVersionInformation carrying ``RegistrationId`` and
  ``RegistrationArn``, or a Create/Submit/DiscardRegistrationVersion result;
- a DescribeRegistrationVersions response (``RegistrationId``,
  ``RegistrationArn``, ``RegistrationVersions``): its latest version.

Timestamps may be ISO 8601 strings (as ``show --json`` prints) or epoch seconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registration_fsm.cli.files import StagedOutput, check_output, read_input
from registration_fsm.errors import InvalidApiData

if TYPE_CHECKING:
    from registration_fsm.diagrams.model import Level
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion

FORMATS = ("mermaid", "dot", "svg", "png")
#: The lifecycles ``--level`` chooses between (registration_fsm.diagrams.model.LEVELS).
LEVELS: tuple[Level, ...] = ("version", "registration")
BINARY_FORMATS = ("svg", "png")
#: The format an --output file's suffix implies when --format is not given.
SUFFIX_FORMATS = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}


@click.command(short_help="Draw the lifecycle: Mermaid, DOT, SVG or PNG.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format [default: from the --output suffix, else mermaid]. "
    "svg and png need Graphviz's dot.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output (an existing file only with --force).",
)
@click.option(
    "--highlight",
    "highlight_file",
    metavar="FILE",
    default=None,
    help="JSON of a registration or a version (- for stdin; at most 16 MiB): mark its "
    "status and path.",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@click.option(
    "--show-guards",
    is_flag=True,
    help="Annotate edges with the checks besides the table (current version, "
    "registration open, the policy of optional edges).",
)
@click.option("--show-initiator", is_flag=True, help="Mark customer and AWS edges.")
@click.option("--show-inferred", is_flag=True, help="Mark edges AWS does not document.")
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    default="version",
    show_default=True,
    help="The version statuses, or the registration statuses.",
)
def diagram(
    fmt: str | None,
    output: Path | None,
    highlight_file: str | None,
    show_guards: bool,
    show_initiator: bool,
    show_inferred: bool,
    level: Level,
    force: bool,
) -> None:
    """Draw the registration-version lifecycle (optionally one version's path through it),
    or with --level registration the registration statuses.

    --output is written beside its destination and renamed into place (a failed
    write leaves no half file); an existing file is replaced only with --force, a
    symbolic link, the store or any SQLite database never.
    """
    from registration_fsm.diagrams import render, to_dot, to_mermaid
    from registration_fsm.domain.registration import Registration

    implied = SUFFIX_FORMATS.get(output.suffix.lower()) if output is not None else None
    if output is not None and output.suffix and implied is None:
        raise click.BadParameter(
            f"{output.name}: unknown extension {output.suffix!r}; use one of "
            f"{', '.join(sorted(SUFFIX_FORMATS))}",
            param_hint="--output",
        )
    if fmt is not None and implied is not None and fmt != implied:
        raise click.BadParameter(
            f"{output.name if output else ''} is a {implied} file name, but --format is {fmt}",
            param_hint="--output",
        )
    fmt = fmt or implied or "mermaid"
    if output is not None:
        check_output(output, force=force)
    if fmt in BINARY_FORMATS and output is None and sys.stdout.isatty():
        raise click.UsageError(
            f"refusing to write {fmt.upper()} to a terminal; use --output FILE or redirect stdout"
        )
    highlight = None if highlight_file is None else load_highlight(highlight_file)
    if (
        level == "registration"
        and highlight is not None
        and not isinstance(highlight, Registration)
    ):
        raise click.BadParameter(
            "--level registration highlights a registration (registration-fsm show ID --json), "
            "not a version",
            param_hint="--highlight",
        )
    if fmt in BINARY_FORMATS:
        data = render(
            "png" if fmt == "png" else "svg",
            show_guards=show_guards,
            show_initiator=show_initiator,
            show_inferred=show_inferred,
            highlight=highlight,
            level=level,
        )
    else:
        to_text = to_mermaid if fmt == "mermaid" else to_dot
        text = to_text(
            show_guards=show_guards,
            show_initiator=show_initiator,
            show_inferred=show_inferred,
            highlight=highlight,
            level=level,
        )
        data = text.encode("utf-8")
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with StagedOutput(output, force=force) as out:
        with out.writing():
            out.binary.write(data)
        out.commit()
    click.echo(f"wrote {output} ({fmt}, {len(data)} bytes)", err=True)


def load_highlight(source: str) -> Registration | RegistrationVersion:
    """Read ``source`` (a path, or ``-`` for stdin; at most
    :data:`~registration_fsm.cli.files.MAX_INPUT_BYTES`) and parse what it holds."""
    name = "standard input" if source == "-" else source
    text = read_input(source, option="--highlight")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise click.BadParameter(f"{name} is not JSON: {err}", param_hint="--highlight") from None
    try:
        return parse_highlight(data)
    except (InvalidApiData, ValueError, RecursionError, OverflowError) as err:
        raise click.BadParameter(f"{name}: {err}", param_hint="--highlight") from None


def parse_highlight(data: Any) -> Registration | RegistrationVersion:
    """A registration or a version from JSON-decoded API data (see the module docstring).

    Raises :class:`ValueError` (or :class:`InvalidApiData`) saying what is wrong.
    """
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion

    if isinstance(data, list):
        if len(data) != 1:
            raise ValueError(
                f"holds {len(data)} registrations; highlight one "
                "(registration-fsm show ID --json prints one)"
            )
        data = data[0]
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    data = with_datetimes(data)
    if "Registration" in data:
        versions = data.get("RegistrationVersions")
        if versions is None:
            raise ValueError("a registration needs its RegistrationVersions")
        return Registration.from_api(data["Registration"], versions)
    if "RegistrationVersions" in data:
        versions = data["RegistrationVersions"]
        if not isinstance(versions, list) or not versions:
            raise ValueError("RegistrationVersions must be a non-empty list")
        latest = max(versions, key=_version_number)
        return RegistrationVersion.from_api(
            latest,
            registration_id=data.get("RegistrationId"),
            registration_arn=data.get("RegistrationArn"),
        )
    if "RegistrationVersionStatus" in data:
        return RegistrationVersion.from_api(data)
    raise ValueError(
        "expected a registration ({'Registration': ..., 'RegistrationVersions': [...]}) "
        f"or a version (RegistrationVersionStatus...); got the keys {sorted(data)}"
    )


def _version_number(version: Any) -> int:
    number = version.get("VersionNumber") if isinstance(version, Mapping) else None
    return number if type(number) is int else 0


def with_datetimes(value: Any, key: str = "") -> Any:
    """``value`` with ISO 8601 strings under ``...Timestamp`` keys turned into datetimes.

    Naive or unreadable strings are left as they are: the domain's parser then
    names the field and says what is wrong.
    """
    if isinstance(value, Mapping):
        return {k: with_datetimes(v, k if isinstance(k, str) else "") for k, v in value.items()}
    if isinstance(value, list):
        return [with_datetimes(v) for v in value]
    if isinstance(value, str) and key.endswith("Timestamp"):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


__all__ = ["diagram", "load_highlight", "parse_highlight", "with_datetimes"]
