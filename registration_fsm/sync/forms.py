"""Forms through the API: read a catalogue, read a version's field values, fill a form.

Everything here goes through :class:`~registration_fsm.ports.FormsApi`, so it works
the same against AWS (the boto3 adapter, paced by the quotas) and the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from registration_fsm.domain.forms import (
    STRICT,
    Catalog,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    Semantics,
    example_values,
)
from registration_fsm.errors import InvalidApiData, InvalidArgument, InvalidArgumentType, shown
from registration_fsm.ports import FormsApi, RegistrationApi

#: The smallest file the attachment checks accept (a PDF header and trailer): what
#: :func:`fill_form` uploads for ATTACHMENT fields unless given a file.
EXAMPLE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def capture_catalog(
    api: FormsApi, *, registration_types: Sequence[str] = (), source: str
) -> Catalog:
    """The catalogue the API describes: DescribeRegistrationTypeDefinitions, then each
    type's section and field definitions, every page (only ``registration_types``, if
    any are named). ``source`` says where it came from (kept in the catalogue).

    Raises :class:`InvalidArgument` when a named type is not there or the API
    describes none; :class:`InvalidApiData` when what it describes is malformed.
    """
    if isinstance(registration_types, str) or not isinstance(registration_types, Sequence):
        raise InvalidArgumentType(
            f"registration_types takes a sequence of names, got {shown(registration_types)}"
        )
    types = list(dict.fromkeys(registration_types))
    items = list(api.describe_registration_type_definitions(registration_types=types))
    named = [item.get("RegistrationType") for item in items]
    absent = [t for t in types if t not in named]
    if absent:
        raise InvalidArgument(f"the API has no registration type {', '.join(absent)}")
    if not items:
        raise InvalidArgument("the API describes no registration types")
    sections: dict[str, list[dict[str, Any]]] = {}
    fields: dict[str, list[dict[str, Any]]] = {}
    for name in named:
        if not isinstance(name, str) or name in sections:
            break  # not a type name, or twice: Catalog.from_api names the problem
        sections[name] = list(api.describe_registration_section_definitions(name))
        fields[name] = list(api.describe_registration_field_definitions(name))
    return Catalog.from_api(items, sections, fields, source=source)


def read_field_values(
    api: FormsApi, registration_id: str, version_number: int | None = None
) -> FieldValues:
    """A version's field values (DescribeRegistrationFieldValues, every page; the
    current version when ``version_number`` is None)."""
    items = api.describe_registration_field_values(registration_id, version_number=version_number)
    values: list[FieldValue] = []
    for i, item in enumerate(items):
        try:
            values.append(FieldValue.from_api(item))
        except InvalidApiData as exc:
            where = f"RegistrationFieldValues[{i}].{exc.field}"
            raise InvalidApiData(where, exc.value, exc.problem) from None
    try:
        return FieldValues.of(values)
    except InvalidArgument as exc:
        raise InvalidApiData("RegistrationFieldValues", len(values), str(exc)) from None


def type_definition(api: FormsApi, registration_type: str) -> RegistrationTypeDefinition:
    """One registration type's form as the API describes it."""
    found = capture_catalog(api, registration_types=[registration_type], source="the API")
    return found.types[registration_type]


class FormApi(RegistrationApi, FormsApi, Protocol):
    """What :func:`fill_form` needs: an API that serves registrations and their forms."""


def fill_form(
    api: FormApi,
    registration_id: str,
    *,
    text: Mapping[str, str] | None = None,
    attachment: bytes = EXAMPLE_PDF,
    attachment_id: str | None = None,
    skip: Sequence[str] = (),
    semantics: Semantics = STRICT,
) -> FieldValues:
    """Fill the current DRAFT version's form so it can be submitted, from the type's own
    example values (``text`` gives TEXT values by field path; ATTACHMENT fields get
    ``attachment_id``, else ``attachment`` uploaded once). Fields in ``skip`` are left
    empty (to see a submit refused). Returns the values put.

    Reads the type's definitions from the API (3 requests or more), then one
    PutRegistrationFieldValue per field. Raises :class:`InvalidArgument` when the
    type's examples cannot fill a required field (pass it in ``text``).
    """
    (summary,) = api.describe_registrations(registration_ids=[registration_id])
    definition = type_definition(api, summary["RegistrationType"])
    # Upload the file only if the examples need one: a stand-in id first.
    stand_in = "attachment-" + "0" * 32
    values = example_values(definition, attachment_id=stand_in, text=text, semantics=semantics)
    if any(v.attachment_id == stand_in for v in values.values()):
        real = attachment_id
        if real is None:
            created = api.create_registration_attachment(attachment_body=attachment)
            real = created["RegistrationAttachmentId"]
        values = FieldValues.of(
            FieldValue(v.field_path, attachment_id=real) if v.attachment_id == stand_in else v
            for v in values.values()
        )
    unknown = [path for path in skip if path not in values]
    if unknown:
        raise InvalidArgument(f"skip names fields the form does not fill: {', '.join(unknown)}")
    put = FieldValues.of(v for v in values.values() if v.field_path not in skip)
    for value in put.values():
        api.put_registration_field_value(
            registration_id,
            value.field_path,
            select_choices=value.select_choices,
            text_value=value.text_value,
            attachment_id=value.attachment_id,
        )
    return put


__all__ = [
    "EXAMPLE_PDF",
    "FormApi",
    "capture_catalog",
    "fill_form",
    "read_field_values",
    "type_definition",
]
