"""The testing kit's form strategies agree with the domain's checks and with the emulator,
for every type of the shipped catalogue."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from registration_fsm.domain.forms import (
    Catalog,
    FieldDefinition,
    FieldRequirement,
    FieldType,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    SectionDefinition,
    TextValidation,
    check_form,
    check_value,
    missing_fields,
)
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.emulator.forms import ATTACHMENT_MAX_BYTES, MISSING_FIELD
from registration_fsm.errors import (
    ApiValidationError,
    ConflictError,
    InvalidArgument,
    InvalidArgumentType,
)
from registration_fsm.sync.forms import EXAMPLE_PDF, fill_form, read_field_values
from registration_fsm.testing.forms import (
    ATTACHMENT_MAGIC,
    attachment_bodies,
    attachment_ids,
    field_values,
    forms,
    incomplete_forms,
)

CATALOG = Catalog.builtin()
TYPES = sorted(CATALOG.types)
#: Budgets in examples (the suite shares two cores); the profile gives the rest.
FEW = settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def emulator() -> EmulatedRegistrationApi:
    """One emulator serving the shipped catalogue (each example makes its own registration)."""
    return EmulatedRegistrationApi(catalog=CATALOG, seed=0, quotas=None)


@functools.cache
def uploaded() -> tuple[str, ...]:
    """Two attachments the emulator holds (UPLOAD_COMPLETE)."""
    api = emulator()
    return tuple(
        api.create_registration_attachment(attachment_body=EXAMPLE_PDF + bytes([i]))[
            "RegistrationAttachmentId"
        ]
        for i in range(2)
    )


def ready(values: FieldValues | None = None) -> Any:
    """check_value's attachment check for the uploaded attachments."""
    return frozenset(uploaded()).__contains__


def new_registration(registration_type: str) -> str:
    created = emulator().create_registration(registration_type)
    reg_id: str = created["RegistrationId"]
    return reg_id


def put(reg_id: str, value: FieldValue) -> dict[str, Any]:
    return emulator().put_registration_field_value(
        reg_id,
        value.field_path,
        select_choices=value.select_choices,
        text_value=value.text_value,
        attachment_id=value.attachment_id,
    )


@functools.cache
def complete(registration_type: str) -> str:
    """A COMPLETE registration of the type (filled in, submitted, approved)."""
    api = emulator()
    reg_id = new_registration(registration_type)
    fill_form(api, reg_id)
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    api.advance(reg_id, "approve")
    return reg_id


def associate_before_submit(reg_id: str, definition: RegistrationTypeDefinition) -> None:
    """What the type's ASSOCIATE_BEFORE_SUBMIT associations ask for: a phone number of the
    type's kind, or a COMPLETE registration of the type named (a campaign's brand)."""
    api = emulator()
    for association in definition.supported_associations:
        if association.association_behavior != "ASSOCIATE_BEFORE_SUBMIT":
            continue
        if association.resource_type in CATALOG.types:
            resource = complete(association.resource_type)
        else:
            resource = api.add_origination_identity(
                "phone-number",
                number_type=association.resource_type,
                iso_country_code=association.iso_country_code or "US",
            )["ResourceId"]
        api.create_registration_association(reg_id, resource)
        return


# -- field values -------------------------------------------------------------------------------


@pytest.mark.parametrize("registration_type", TYPES)
@SOME
@given(data=st.data())
def test_valid_values_are_accepted_by_check_value_and_by_the_emulator(
    registration_type: str, data: st.DataObject
) -> None:
    definition = CATALOG.types[registration_type]
    value = data.draw(field_values(definition, attachment_ids=uploaded()))
    assert check_value(definition, value, attachment_ok=ready()) == []
    reg_id = new_registration(registration_type)
    put(reg_id, value)
    assert read_field_values(emulator(), reg_id) == FieldValues.of([value])


@pytest.mark.parametrize("registration_type", TYPES)
@SOME
@given(data=st.data())
def test_invalid_values_are_refused_by_check_value_and_by_the_emulator_naming_the_field(
    registration_type: str, data: st.DataObject
) -> None:
    definition = CATALOG.types[registration_type]
    value = data.draw(field_values(definition, valid=False, attachment_ids=uploaded()))
    problems = check_value(definition, value, attachment_ok=ready())
    assert problems
    assert {p.field_path for p in problems} == {value.field_path}
    reg_id = new_registration(registration_type)
    with pytest.raises(ApiValidationError) as refused:
        put(reg_id, value)
    assert refused.value.reason == "FIELD_VALIDATION_FAILED"
    assert {name for name, _ in refused.value.fields} == {value.field_path}
    assert read_field_values(emulator(), reg_id) == FieldValues.empty()


@FEW
@given(data=st.data())
def test_values_are_judged_with_the_rest_of_the_form(data: st.DataObject) -> None:
    """Given the form so far, a valid value is one the form accepts as it stands."""
    brand = CATALOG.types["US_TEN_DLC_BRAND_REGISTRATION"]
    values = data.draw(forms(brand))
    value = data.draw(field_values(brand, values=values))
    assert check_value(brand, value, values=values) == []
    refused = data.draw(field_values(brand, valid=False, values=values))
    assert check_value(brand, refused, values=values)


FIELD = FieldDefinition(
    "info",
    "info.code",
    FieldType.TEXT,
    FieldRequirement.REQUIRED,
    TextValidation(2, 4, "^[A-Z]+$"),
    display_hints={"Title": "Code", "ShortDescription": "A code"},
)
ALONE = RegistrationTypeDefinition(
    "ALONE",
    {"Title": "alone"},
    sections=(SectionDefinition("info", {"Title": "Info", "ShortDescription": "Info"}),),
    fields=(FIELD,),
)


@SOME
@given(valid=field_values(FIELD), invalid=field_values(FIELD, valid=False))
def test_a_lone_field_is_judged_by_its_own_validation(
    valid: FieldValue, invalid: FieldValue
) -> None:
    assert check_value(ALONE, valid) == []
    assert check_value(ALONE, invalid)


@pytest.mark.parametrize(
    ("kind", "condition"),
    [
        ("too short", lambda v: v.text_value is not None and len(v.text_value) < 2),
        ("too long", lambda v: v.text_value is not None and len(v.text_value) > 4),
        ("off the pattern", lambda v: v.text_value is not None and 2 <= len(v.text_value) <= 4),
        ("not text", lambda v: v.text_value is None),
    ],
)
def test_invalid_text_comes_in_every_kind(kind: str, condition: Any) -> None:
    found = find(field_values(FIELD, valid=False), condition, settings=settings(database=None))
    assert check_value(ALONE, found), kind


def test_invalid_choices_come_in_every_kind() -> None:
    brand = CATALOG.types["US_TEN_DLC_BRAND_REGISTRATION"]
    field = brand.field("companyInfo.legalType")  # one choice of four options
    assert field.select_validation is not None
    options = field.select_validation.options
    strategy = field_values(field, valid=False)
    kinds = {
        "none": lambda v: v.select_choices == (),
        "too many": lambda v: v.select_choices is not None and len(v.select_choices) > 1,
        "not offered": lambda v: (
            v.select_choices is not None
            and len(v.select_choices) == 1
            and v.select_choices[0] not in options
        ),
        "not a choice": lambda v: v.select_choices is None,
    }
    for kind, condition in kinds.items():
        found = find(strategy, condition, settings=settings(database=None))
        assert check_value(brand, found), kind


def test_attachment_fields_name_only_the_attachments_given() -> None:
    toll_free = CATALOG.types["US_TOLL_FREE_REGISTRATION"]
    field = toll_free.field("messagingUseCase.optInImage")
    ids = uploaded()
    found = find(field_values(field, attachment_ids=ids), lambda v: True)
    assert found.attachment_id in ids
    stranger = find(
        field_values(field, valid=False, attachment_ids=ids),
        lambda v: v.attachment_id is not None,
        settings=settings(database=None),
    )
    assert stranger.attachment_id not in ids
    with pytest.raises(InvalidArgument, match="no valid value"):
        field_values(field, attachment_ids=[])


def test_a_pattern_the_rewrite_cannot_keep_falls_back_to_plain_text() -> None:
    """A lookahead holding a group a backreference needs: text, checked against it."""
    field = FieldDefinition(
        "info",
        "info.code",
        FieldType.TEXT,
        FieldRequirement.REQUIRED,
        TextValidation(1, 30, r"^(?=(\S))\1?[\s\S]*$"),
        display_hints={"Title": "Code", "ShortDescription": "A code"},
    )
    alone = RegistrationTypeDefinition(
        "ALONE", {"Title": "alone"}, sections=ALONE.sections, fields=(field,)
    )
    found = find(
        field_values(field),
        lambda v: v.text_value is not None and len(v.text_value) > 3,
        settings=settings(database=None),
    )
    assert check_value(alone, found) == []


def test_bad_arguments_are_refused() -> None:
    brand = CATALOG.types["US_TEN_DLC_BRAND_REGISTRATION"]
    with pytest.raises(InvalidArgumentType):
        field_values("companyInfo.taxId")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType):
        field_values(brand, attachment_ids="attachment-1")
    with pytest.raises(InvalidArgumentType):
        field_values(brand, values=[])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType):
        forms(brand.fields[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_bytes"):
        attachment_bodies(max_bytes=0)
    optional = RegistrationTypeDefinition(
        "OPTIONAL_ONLY",
        {"Title": "optional"},
        sections=ALONE.sections,
        fields=(FieldDefinition(
            "info", "info.note", FieldType.TEXT, FieldRequirement.OPTIONAL,
            TextValidation(1, 4, ".+"),
            display_hints={"Title": "Note", "ShortDescription": "A note"},
        ),),
    )  # fmt: skip
    with pytest.raises(InvalidArgument, match="requires no field"):
        incomplete_forms(optional)


# -- whole forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("registration_type", TYPES)
@FEW
@given(data=st.data())
def test_forms_are_complete_and_the_emulator_takes_their_submit(
    registration_type: str, data: st.DataObject
) -> None:
    definition = CATALOG.types[registration_type]
    values = data.draw(forms(definition, attachment_ids=uploaded()))
    assert missing_fields(definition, values) == ()
    assert check_form(definition, values, attachment_ok=ready()) == []
    reg_id = new_registration(registration_type)
    for value in values.values():
        put(reg_id, value)
    associate_before_submit(reg_id, definition)
    submitted = emulator().submit_registration_version(reg_id)
    assert submitted["RegistrationVersionStatus"] == "SUBMITTED"
    assert read_field_values(emulator(), reg_id, 1) == values


@pytest.mark.parametrize("registration_type", TYPES)
@FEW
@given(data=st.data())
def test_incomplete_forms_are_refused_naming_each_missing_field(
    registration_type: str, data: st.DataObject
) -> None:
    definition = CATALOG.types[registration_type]
    values = data.draw(incomplete_forms(definition, attachment_ids=uploaded()))
    missing = missing_fields(definition, values)
    assert missing
    assert check_form(definition, values, attachment_ok=ready()) == []
    reg_id = new_registration(registration_type)
    for value in values.values():
        put(reg_id, value)
    associate_before_submit(reg_id, definition)
    with pytest.raises(ApiValidationError) as refused:
        emulator().submit_registration_version(reg_id)
    assert refused.value.reason == "FIELD_VALIDATION_FAILED"
    assert refused.value.fields == tuple((path, MISSING_FIELD) for path in missing)
    (version,) = emulator().describe_registration_versions(reg_id)
    assert version["RegistrationVersionStatus"] == "DRAFT"
    assert read_field_values(emulator(), reg_id) == values


@FEW
@given(data=st.data())
def test_forms_keep_what_they_start_from(data: st.DataObject) -> None:
    brand = CATALOG.types["US_TEN_DLC_BRAND_REGISTRATION"]
    start = data.draw(field_values(brand))
    form = data.draw(forms(brand, start=FieldValues.of([start])))
    assert form[start.field_path] == start


def test_a_required_attachment_field_needs_attachment_ids() -> None:
    toll_free = CATALOG.types["US_TOLL_FREE_REGISTRATION"]
    with pytest.raises(InvalidArgument, match=r"messagingUseCase\.optInImage"):
        find(forms(toll_free, attachment_ids=[]), lambda v: True)


def test_the_association_a_type_needs_before_submit_is_asked_for() -> None:
    """Why the tests above associate: a complete toll-free form alone is refused."""
    toll_free = CATALOG.types["US_TOLL_FREE_REGISTRATION"]
    values = find(forms(toll_free, attachment_ids=uploaded()), lambda v: True)
    reg_id = new_registration("US_TOLL_FREE_REGISTRATION")
    for value in values.values():
        put(reg_id, value)
    with pytest.raises(ConflictError) as refused:
        emulator().submit_registration_version(reg_id)
    assert refused.value.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"


# -- attachments -----------------------------------------------------------------------------------


@SOME
@given(body=attachment_bodies())
def test_valid_attachment_bodies_are_uploaded(body: bytes) -> None:
    assert body.startswith(ATTACHMENT_MAGIC)
    assert 0 < len(body) <= ATTACHMENT_MAX_BYTES
    created = emulator().create_registration_attachment(attachment_body=body)
    assert created["AttachmentStatus"] == "UPLOAD_COMPLETE"


@SOME
@given(body=attachment_bodies(valid=False))
def test_invalid_attachment_bodies_are_refused_for_their_type_or_size(body: bytes) -> None:
    too_big = len(body) > ATTACHMENT_MAX_BYTES
    assert too_big or not body.startswith(ATTACHMENT_MAGIC)
    before = len(list(emulator().describe_registration_attachments()))
    with pytest.raises(ApiValidationError) as refused:
        emulator().create_registration_attachment(attachment_body=body)
    wanted = "MAXIMUM_SIZE_EXCEEDED" if too_big else "ATTACHMENT_TYPE_NOT_SUPPORTED"
    assert refused.value.reason == wanted
    assert len(list(emulator().describe_registration_attachments())) == before


def test_invalid_attachment_bodies_include_one_just_over_the_limit() -> None:
    sizes = attachment_bodies(valid=False).map(lambda b: (len(b), b.startswith(ATTACHMENT_MAGIC)))
    assert find(sizes, lambda s: s[0] > 256) == (ATTACHMENT_MAX_BYTES + 1, True)
    small = find(attachment_bodies(valid=False, max_bytes=10), lambda b: len(b) > 10)
    assert len(small) == 11


@FEW
@given(attachment_ids())
def test_attachment_ids_look_like_the_apis(attachment_id: str) -> None:
    assert attachment_id.startswith("attachment-")
    assert len(attachment_id) == 43
