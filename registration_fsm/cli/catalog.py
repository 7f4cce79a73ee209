"""``registration-fsm catalog``: capture an account's registration forms into a catalogue
file, and show a catalogue.

``catalog capture`` reads DescribeRegistrationTypeDefinitions, then each type's
DescribeRegistrationSectionDefinitions and DescribeRegistrationFieldDefinitions, every
page, paced like every other request. It never destroys what the user did not ask to
replace: every check of ``--output`` runs before the first request, the file is
written beside its destination and renamed into place (an interrupted capture leaves
no half file), an existing file is replaced only with ``--force``, and a symlink, a
directory, the store or any SQLite database is never replaced.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registration_fsm.cli.aws import connection_options, make_api
from registration_fsm.cli.files import StagedOutput, check_output
from registration_fsm.cli.output import to_json
from registration_fsm.errors import InvalidApiData, InvalidArgument, InvalidArgumentType, shown

if TYPE_CHECKING:
    from registration_fsm.domain.forms import (
        Catalog,
        FieldDefinition,
        RegistrationTypeDefinition,
    )

#: The model's RegistrationType pattern and length.
_TYPE_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
#: How much of a catalogue's Source the text of ``catalog show`` prints (--json: all).
_SOURCE_SHOWN = 100


@click.group(short_help="Capture or show a catalogue of registration forms.")
def catalog() -> None:
    """Registration types with their sections and fields: capture them from an account
    into a catalogue file (the format `emulator --catalog` serves), or show one."""


# -- capture ---------------------------------------------------------------------------------


def _types(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    for value in values:
        if not _TYPE_RE.fullmatch(value):
            raise click.BadParameter(
                f"{shown(value)} is not a registration type (1-64 characters of [A-Za-z0-9_])"
            )
    return list(dict.fromkeys(values))


@catalog.command(short_help="Read the API's forms into a catalogue file.")
@connection_options
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="The catalogue file to write (an existing one only with --force).")  # fmt: skip
@click.option("--type", "types", multiple=True, metavar="TYPE", callback=_types,
              help="Only this registration type (repeatable; default: every type).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
def capture(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float,
    output: Path, types: list[str], force: bool,
) -> None:  # fmt: skip
    """Capture the registration forms the API describes into a catalogue file.

    Reads DescribeRegistrationTypeDefinitions, then each type's section and field
    definitions (every page, paced by the quotas), and writes them in the catalogue
    format that `registration-fsm emulator --catalog FILE` serves. --output is
    checked before any request; the file is written next to it and renamed into
    place, so an interrupted capture leaves no half file. Prints one summary line.
    """
    check_output(output, force=force)
    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    with StagedOutput(output, force=force) as out:
        found = _capture(api, types, _where(endpoint_url, api))
        with out.writing():
            out.text.write(to_json(found.to_json()) + "\n")
        out.commit()
    fields = sum(len(t.fields) for t in found.types.values())
    sections = sum(len(t.sections) for t in found.types.values())
    click.echo(
        f"captured {len(found.types)} types, {sections} sections, {fields} fields "
        f"in {sum(api.calls.values())} requests into {output}"
    )


def _capture(api: Any, types: list[str], where: str) -> Catalog:
    """The catalogue the API describes (only ``types``, if any are named)."""
    from registration_fsm.sync.forms import capture_catalog

    day = datetime.now(UTC).date().isoformat()
    try:
        return capture_catalog(
            api, registration_types=types, source=f"captured from {where} on {day}"
        )
    except InvalidArgument as err:  # no such type, or none at all: nothing is written
        raise click.ClickException(f"{err}; nothing written") from None


def _where(endpoint_url: str | None, api: Any) -> str:
    """Where a capture came from: the endpoint, or the account (if named) and region."""
    from registration_fsm.cli.quota_options import current_account

    region = api.client.meta.region_name
    if endpoint_url:
        return f"{endpoint_url} (region {region})"
    account = current_account()
    return f"account {account} in {region}" if account else f"AWS in {region}"


# -- show ----------------------------------------------------------------------------------


@catalog.command("show", short_help="Show a catalogue's types, or one type's form.")
@click.argument("registration_type", required=False)
@click.option("--catalog", "catalog_file", type=click.Path(path_type=Path), default=None,
              help="A catalogue file (default: the one shipped with the package).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the API's shapes as JSON.")
def show_catalog(registration_type: str | None, catalog_file: Path | None, as_json: bool) -> None:
    """Without REGISTRATION_TYPE, the types (name, title, associations); with it, its
    sections and fields (path, type, requirement, validation, title).

    REQUIRED fields are marked *, CONDITIONAL ones ? (their rules follow them).
    """
    from registration_fsm.domain.forms import Catalog

    try:
        found = Catalog.builtin() if catalog_file is None else Catalog.load(catalog_file)
    except (InvalidArgument, InvalidArgumentType, InvalidApiData) as err:
        raise click.BadParameter(str(err), param_hint="--catalog") from None
    if registration_type is None:
        if as_json:
            click.echo(to_json({"Source": found.source, "RegistrationTypeDefinitions": [
                t.to_api() for t in found.types.values()]}))  # fmt: skip
            return
        for line in _type_lines(found):
            click.echo(line)
        return
    try:
        definition = found.type(registration_type)
    except InvalidArgument as err:
        raise click.BadParameter(str(err), param_hint="REGISTRATION_TYPE") from None
    if as_json:
        click.echo(to_json({
            "RegistrationTypeDefinition": definition.to_api(),
            "RegistrationSectionDefinitions": [s.to_api() for s in definition.sections],
            "RegistrationFieldDefinitions": [f.to_api() for f in definition.fields],
        }))  # fmt: skip
        return
    for line in form_lines(definition):
        click.echo(line)


def _type_lines(found: Catalog) -> list[str]:
    source = found.source
    if len(source) > _SOURCE_SHOWN:
        source = source[: _SOURCE_SHOWN - 3] + "... (--json: all of it)"
    width = max((len(n) for n in found.types), default=0)
    lines = [f"{len(found.types)} registration types; source: {source}"]
    for name, definition in found.types.items():
        lines.append(f"  {name:<{width}}  {_title(definition.display_hints)}")
        lines.append(f"  {'':<{width}}  associations: {associations(definition)}")
    return lines


def associations(definition: RegistrationTypeDefinition) -> str:
    """A type's SupportedAssociations on one line."""
    return (
        "; ".join(
            f"{a.resource_type}"
            + (f" ({a.iso_country_code})" if a.iso_country_code else "")
            + f" {a.association_behavior}, {a.disassociation_behavior}"
            for a in definition.supported_associations
        )
        or "none"
    )


def form_lines(definition: RegistrationTypeDefinition) -> list[str]:
    """A type's form as text: sections, then their fields with their rules."""
    lines = [
        f"{definition.registration_type}  {_title(definition.display_hints)}",
        f"  associations: {associations(definition)}",
    ]
    width = max((len(f.field_path) for f in definition.fields), default=0)
    for section in definition.sections:
        lines.append("")
        lines.append(f"{section.section_path}  {_title(section.display_hints)}")
        for field in definition.fields:
            if field.section_path != section.section_path:
                continue
            lines.append(
                f"  {_mark(field)} {field.field_path:<{width}}  {field.field_type!s:<10} "
                f"{field.requirement!s:<11}  {_title(field.display_hints)}"
            )
            lines.extend(f"      {detail}" for detail in field_details(field))
    lines.append("")
    lines.append("* required   ? conditional (its rules follow it)")
    return lines


def _mark(field: FieldDefinition) -> str:
    return {"REQUIRED": "*", "CONDITIONAL": "?"}.get(str(field.requirement), " ")


def _title(hints: Any) -> str:
    title = hints.get("Title") if hints else None
    return title if isinstance(title, str) else ""


def field_details(field: FieldDefinition) -> list[str]:
    """A field's validation and conditions, one line each."""
    out = []
    if field.text_validation is not None:
        v = field.text_validation
        length = str(v.min_length) if v.min_length == v.max_length else (
            f"{v.min_length}-{v.max_length}"
        )  # fmt: skip
        out.append(f"text: {length} characters matching {v.pattern}")
    if field.select_validation is not None:
        s = field.select_validation
        count = str(s.min_choices) if s.min_choices == s.max_choices else (
            f"{s.min_choices}-{s.max_choices}"
        )  # fmt: skip
        out.append(f"choose {count} of: {', '.join(s.options) or '(no options)'}")
    if field.conditional is not None:
        for rule in field.conditional.rules:
            when = " and ".join(
                f"{c.depends_on} {c.operator}" + (f" {'|'.join(c.values)}" if c.values else "")
                for c in rule.conditions
            )
            extra = ""
            if rule.validation is not None:
                extra = f" (then validated by {json.dumps(rule.validation.to_api())})"
            out.append(f"{rule.behavior} when {when}{extra}")
        out.append(f"{field.conditional.default_behavior} otherwise")
    example = field.display_hints.get("ExampleTextValue")
    if isinstance(example, str):
        out.append(f"example: {example}")
    return out


__all__ = ["associations", "catalog", "field_details", "form_lines"]
