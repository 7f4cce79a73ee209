"""Filling in a registration's form from the command line: ``form show``, ``form set``,
``form unset``, ``attach`` and ``associate``.

They talk to the API directly (AWS, or ``--endpoint-url``), keep no local state, and
follow AWS's documented CLI flow (`Create a registration using the AWS CLI
<https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-sms-cli.html>`_):
read the form's field definitions, put each field's value, upload attachments, associate
an origination identity where the type asks for one, then ``submit``. A value the API
refuses is its one-line error (exit 1), with the reason and each field it names; a
malformed command line is a usage error (exit 2) and sends nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registration_fsm.cli.aws import connection_options, make_api
from registration_fsm.cli.output import to_json
from registration_fsm.domain.parsing import VERSION_MAX, VERSION_MIN
from registration_fsm.errors import (
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    shown,
)

if TYPE_CHECKING:
    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.domain.forms import (
        FieldDefinition,
        FieldValue,
        FieldValues,
        RegistrationTypeDefinition,
    )

#: ``scheme://...``: an attachment named by URL (the API judges which it accepts).
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: The model's Tag limits: Key 1-128 characters, Value 0-256, at most 200 tags.
_TAG_KEY_MAX, _TAG_VALUE_MAX, _TAGS_MAX = 128, 256, 200


def _registration_id(command: Any) -> Any:
    return click.option("--registration-id", required=True, help="The registration (id or ARN).")(
        command
    )


def _json_option(command: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")(
        command
    )


@click.group(short_help="Show or fill in a registration's form.")
def form() -> None:
    """A registration's form: show its fields with their values and what is still
    missing, set a field's value, unset it. Then `submit`."""


# -- form show -------------------------------------------------------------------------------


@form.command("show", short_help="Show the form's fields, values, what is missing.")
@connection_options
@_registration_id
@click.option("--version", "version_number", type=click.IntRange(VERSION_MIN, VERSION_MAX),
              default=None, help="This version's values (default: the current one).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show_form(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float,
    registration_id: str, version_number: int | None, as_json: bool,
) -> None:  # fmt: skip
    """Show the registration type's fields with the version's values, and the required
    fields that are still missing (and any value the form as it stands refuses).

    The form is read with DescribeRegistrationTypeDefinitions, -SectionDefinitions and
    -FieldDefinitions, the values with DescribeRegistrationFieldValues.
    """
    from registration_fsm.domain.forms import (
        FieldValues,
        RegistrationTypeDefinition,
        check_form,
        missing_fields,
    )

    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    info = _registration(api, registration_id)
    reg_type = info["RegistrationType"]
    items = list(api.describe_registration_type_definitions(registration_types=[reg_type]))
    if not items:
        raise click.ClickException(f"the API does not describe registration type {reg_type}")
    definition = RegistrationTypeDefinition.from_api(
        items[0],
        list(api.describe_registration_section_definitions(reg_type)),
        list(api.describe_registration_field_definitions(reg_type)),
    )
    raw = list(
        api.describe_registration_field_values(
            info["RegistrationId"], version_number=version_number
        )
    )
    values = FieldValues.from_json(raw)
    notes = {item["FieldPath"]: item for item in raw}
    missing = missing_fields(definition, values)
    problems = check_form(definition, values)
    number = version_number or info.get("CurrentVersionNumber")
    if as_json:
        click.echo(to_json(_form_json(info, number, definition, values, notes, missing, problems)))
        return
    for line in _form_text(info, number, definition, values, notes):
        click.echo(line)
    for problem in problems:
        click.echo(f"refused: {problem}")
    if missing:
        click.echo(f"missing {len(missing)} required: {', '.join(missing)}")
    else:
        click.echo("no required field is missing")


def _registration(api: Boto3RegistrationApi, registration_id: str) -> dict[str, Any]:
    """DescribeRegistrations of one id; NotFoundError if the API does not list it."""
    for info in api.describe_registrations(registration_ids=[registration_id]):
        return info
    raise NotFoundError(
        f"registration {registration_id} does not exist",
        resource_id=registration_id,
        operation="DescribeRegistrations",
    )


def _mark(field: FieldDefinition) -> str:
    return {"REQUIRED": "*", "CONDITIONAL": "?"}.get(str(field.requirement), " ")


def _form_text(
    info: dict[str, Any],
    number: int | None,
    definition: RegistrationTypeDefinition,
    values: FieldValues,
    notes: dict[str, dict[str, Any]],
) -> list[str]:
    from registration_fsm.domain.forms import behavior

    lines = [
        f"{info['RegistrationId']}  {info['RegistrationType']}  "
        f"{info.get('RegistrationStatus')}  v{number}"
    ]
    width = max((len(f.field_path) for f in definition.fields), default=0)
    for section in definition.sections:
        lines.append(f"{section.section_path}  {_title(section.display_hints)}")
        for field in definition.fields:
            if field.section_path != section.section_path:
                continue
            value = values.get(field.field_path)
            now = behavior(definition, field, values)
            shown_value = value.show() if value is not None else (
                "MISSING" if now == "REQUIRED" else "-"
            )  # fmt: skip
            conditional = f" (now {now})" if str(field.requirement) == "CONDITIONAL" else ""
            lines.append(
                f"  {_mark(field)} {field.field_path:<{width}}  {field.field_type!s:<10} "
                f"{shown_value}{conditional}"
            )
            lines.extend(_notes(notes.get(field.field_path)))
    others = [v for path, v in values.items() if path not in definition.field_paths]
    for value in others:
        lines.append(f"  (not in the form) {value.field_path} = {value.show()}")
        lines.extend(_notes(notes.get(value.field_path)))
    lines.append("* required   ? conditional")
    return lines


def _notes(item: dict[str, Any] | None) -> list[str]:
    """A value's DeniedReason and Feedback (AWS's review), if any."""
    if not item:
        return []
    return [
        f"      {label}: {item[key]}"
        for key, label in (("DeniedReason", "denied"), ("Feedback", "feedback"))
        if item.get(key)
    ]


def _title(hints: Any) -> str:
    title = hints.get("Title") if hints else None
    return title if isinstance(title, str) else ""


def _form_json(
    info: dict[str, Any],
    number: int | None,
    definition: RegistrationTypeDefinition,
    values: FieldValues,
    notes: dict[str, dict[str, Any]],
    missing: tuple[str, ...],
    problems: list[Any],
) -> dict[str, Any]:
    from registration_fsm.domain.forms import behavior

    fields = [
        {
            "FieldPath": f.field_path,
            "SectionPath": f.section_path,
            "FieldType": str(f.field_type),
            "FieldRequirement": str(f.requirement),
            "Behavior": behavior(definition, f, values),
            "Title": _title(f.display_hints),
            "Value": notes.get(f.field_path),
        }
        for f in definition.fields
    ]
    return {
        "RegistrationId": info["RegistrationId"],
        "RegistrationArn": info.get("RegistrationArn"),
        "RegistrationType": info["RegistrationType"],
        "RegistrationStatus": info.get("RegistrationStatus"),
        "VersionNumber": number,
        "Fields": fields,
        "OtherValues": [notes[p] for p in values if p not in definition.field_paths],
        "Missing": list(missing),
        "Problems": [p.to_api() for p in problems],
    }


# -- form set / unset ------------------------------------------------------------------------


@form.command("set", short_help="Set a field's value (PutRegistrationFieldValue).")
@connection_options
@_registration_id
@click.option("--choice", "choices", multiple=True, metavar="OPTION",
              help="A SELECT field's choice (repeatable).")  # fmt: skip
@click.option("--attachment", "attachment_id", default=None, metavar="ATTACHMENT_ID",
              help="An ATTACHMENT field's value: an id that `attach` printed.")  # fmt: skip
@_json_option
@click.argument("field_path")
@click.argument("value", required=False)
def set_field(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, registration_id: str,
    choices: tuple[str, ...], attachment_id: str | None, as_json: bool,
    field_path: str, value: str | None,
) -> None:  # fmt: skip
    """Set FIELD_PATH of the current DRAFT version: VALUE for a TEXT field, --choice
    for a SELECT field, --attachment for an ATTACHMENT field (exactly one of them)."""
    given = [v is not None for v in (value, choices or None, attachment_id)]
    if sum(given) != 1:
        raise click.UsageError(
            "give exactly one of VALUE (a TEXT field), --choice (SELECT) and --attachment "
            f"(ATTACHMENT); got {sum(given) or 'none'}"
        )
    checked = _field_value(field_path, choices or None, value, attachment_id)
    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    result = api.put_registration_field_value(
        registration_id,
        field_path,
        select_choices=checked.select_choices,
        text_value=checked.text_value,
        attachment_id=checked.attachment_id,
    )
    if as_json:
        click.echo(to_json(result))
        return
    click.echo(
        f"{result.get('RegistrationId')} v{result.get('VersionNumber')}: "
        f"{field_path} = {checked.show()}"
    )


def _field_value(
    path: str, choices: tuple[str, ...] | None, text: str | None, attachment: str | None
) -> FieldValue:
    """The value as the API's shapes allow it, or a usage error (before any request)."""
    from registration_fsm.domain.forms import FieldValue

    try:
        return FieldValue(path, choices, text, attachment)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise click.UsageError(str(err)) from None


@form.command("unset", short_help="Remove a field's value.")
@connection_options
@_registration_id
@_json_option
@click.argument("field_path")
def unset_field(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, registration_id: str, as_json: bool,
    field_path: str,
) -> None:  # fmt: skip
    """DeleteRegistrationFieldValue: remove FIELD_PATH's value from the current DRAFT."""
    from registration_fsm.domain.forms import FieldValue

    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    result = api.delete_registration_field_value(registration_id, field_path)
    if as_json:
        click.echo(to_json(result))
        return
    try:
        was = FieldValue.from_api(result).show()
    except InvalidApiData:
        was = "a value"
    click.echo(
        f"{result.get('RegistrationId')} v{result.get('VersionNumber')}: "
        f"{field_path} unset (was {was})"
    )


# -- attach ----------------------------------------------------------------------------------


def _tags(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """``--tag KEY=VALUE`` options as a dict, within the model's Tag limits."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{shown(item)} is not KEY=VALUE")
        if key in out:
            raise click.BadParameter(f"{shown(key)} is given twice")
        if len(key) > _TAG_KEY_MAX or len(text) > _TAG_VALUE_MAX:
            raise click.BadParameter(
                f"{shown(item)}: a key is 1-{_TAG_KEY_MAX} characters, a value 0-{_TAG_VALUE_MAX}"
            )
        out[key] = text
    if len(out) > _TAGS_MAX:
        raise click.BadParameter(f"{len(out)} tags; at most {_TAGS_MAX}")
    return out


@click.command(short_help="Upload a registration attachment; prints its id.")
@connection_options
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", callback=_tags,
              help="A tag for the attachment (repeatable).")  # fmt: skip
@_json_option
@click.argument("source", metavar="FILE_OR_S3_URL")
def attach(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, tags: dict[str, str], as_json: bool,
    source: str,
) -> None:  # fmt: skip
    """CreateRegistrationAttachment from a local file (its bytes are sent as
    AttachmentBody) or an s3://BucketName/FileName URL (AttachmentUrl); prints the
    attachment id, for `form set --attachment`.

    The API judges the file's size and type (AWS documents PDF, JPEG and PNG); an
    attachment whose upload failed exits 1 after its id.
    """
    body, url = (None, source) if _URL_RE.match(source) else (_read(source), None)
    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    result = api.create_registration_attachment(
        attachment_body=body, attachment_url=url, tags=tags or None
    )
    attachment_id = result.get("RegistrationAttachmentId")
    click.echo(to_json(result) if as_json else attachment_id)
    status = result.get("AttachmentStatus")
    if status == "UPLOAD_FAILED":
        raise click.ClickException(f"attachment {attachment_id}: the upload failed ({status})")


def _read(name: str) -> bytes:
    """A local file's bytes, or a usage error naming it (a directory, unreadable...)."""
    from registration_fsm.arguments import BODY_MAX

    def bad(problem: str) -> click.BadParameter:
        return click.BadParameter(f"{shown(name)} {problem}", param_hint="FILE_OR_S3_URL")

    path = Path(name)
    if path.is_dir():
        raise bad("is a directory")
    if path.exists() and not path.is_file():
        raise bad("is not a regular file")
    try:
        with path.open("rb") as file:
            data = file.read(BODY_MAX + 1)
            size = os.fstat(file.fileno()).st_size
    except OSError as err:
        raise bad(f"cannot be read: {err.strerror}") from None
    if not data:
        raise bad("is empty")
    if len(data) > BODY_MAX:
        raise bad(f"has {size} bytes; an AttachmentBody has at most {BODY_MAX}")
    return data


# -- associate -------------------------------------------------------------------------------


@click.command(short_help="Associate an origination identity with a registration.")
@connection_options
@_registration_id
@_json_option
@click.argument("resource_id")
def associate(
    endpoint_url: str | None, region: str | None, profile: str | None,
    connect_timeout: float, read_timeout: float, registration_id: str, as_json: bool,
    resource_id: str,
) -> None:  # fmt: skip
    """CreateRegistrationAssociation: associate RESOURCE_ID (a phone number, sender ID or
    pool, by id or ARN) with the registration, as its type's SupportedAssociations allow."""
    api = make_api(endpoint_url, region, profile, connect_timeout, read_timeout)
    result = api.create_registration_association(registration_id, resource_id)
    if as_json:
        click.echo(to_json(result))
        return
    number = f" {result['PhoneNumber']}" if result.get("PhoneNumber") else ""
    click.echo(
        f"{result.get('RegistrationId')} ({result.get('RegistrationType')}) associated with "
        f"{result.get('ResourceType')} {result.get('ResourceId')}{number}"
    )


__all__ = ["associate", "attach", "form"]
