"""The shipped catalogue (registration_fsm/domain/catalogs/aws.json) against its format
(plan: catalog-format) and botocore's service model.

Every definition goes through botocore's Stubber as a response of its Describe*Definitions
operation (shape, required members, unknown keys); what the Stubber does not check (enums,
lengths, patterns, ranges) is checked here against the same model. Then the format's rules
and the facts the AWS documentation pins down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.model import ListShape, ServiceModel, Shape, StringShape, StructureShape
from botocore.stub import Stubber

FORMAT = "registration-fsm catalog 1"
#: The types the issue asks for; the catalogue may ship more.
REQUIRED_TYPES = (
    "US_TEN_DLC_BRAND_REGISTRATION",
    "US_TEN_DLC_CAMPAIGN_REGISTRATION",
    "US_TOLL_FREE_REGISTRATION",
)
#: Sections the documentation describes as wholly optional (no REQUIRED field).
OPTIONAL_SECTIONS = {("US_TEN_DLC_CAMPAIGN_REGISTRATION", "mmsFileSamples")}
#: From the API reference (FieldCondition, ConditionalRule, ConditionalBehavior).
OPERATORS_WITH_VALUES = {"EQUALS", "NOT_EQUALS", "IN", "NOT_IN"}
OPERATORS_WITHOUT_VALUES = {"HAS_VALUE", "NO_VALUE"}
BEHAVIORS = {"REQUIRED", "OPTIONAL", "DISALLOWED"}


def _load() -> dict[str, Any]:
    resource = files("registration_fsm.domain") / "catalogs" / "aws.json"
    data: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return data


CATALOG = _load()
TYPES = [d["RegistrationType"] for d in CATALOG["RegistrationTypeDefinitions"]]


@pytest.fixture(scope="module")
def model() -> ServiceModel:
    model: ServiceModel = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
    return model


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _fields(registration_type: str) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = CATALOG["RegistrationFieldDefinitions"][registration_type]
    return fields


def _sections(registration_type: str) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = CATALOG["RegistrationSectionDefinitions"][registration_type]
    return sections


def _string_shape(model: ServiceModel, name: str) -> StringShape:
    shape = model.shape_for(name)
    assert isinstance(shape, StringShape)
    return shape


def _violations(shape: Shape, value: Any, where: str) -> list[str]:
    """What the Stubber leaves unchecked: enums, lengths, patterns and ranges."""
    found: list[str] = []
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            if name in value:
                found += _violations(member, value[name], f"{where}.{name}")
    elif isinstance(shape, ListShape):
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            found.append(f"{where}: {len(value)} items, outside {meta}")
        for index, item in enumerate(value):
            found += _violations(shape.member, item, f"{where}[{index}]")
    elif isinstance(shape, StringShape):
        if shape.enum and value not in shape.enum:
            found.append(f"{where}: {value!r} is not one of {shape.name}'s {shape.enum}")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            found.append(f"{where}: length {len(value)} outside {meta}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            found.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name == "integer" and not (
        meta.get("min", value) <= value <= meta.get("max", value)
    ):
        found.append(f"{where}: {value} outside {meta}")
    return found


# -- the file and its format ---------------------------------------------------


def test_ships_as_package_data_in_the_catalogue_format() -> None:
    assert CATALOG["Format"] == FORMAT
    assert isinstance(CATALOG["Source"], str)
    assert "https://docs.aws.amazon.com/" in CATALOG["Source"]
    assert len(TYPES) == len(set(TYPES))
    assert set(REQUIRED_TYPES) <= set(TYPES)
    assert set(CATALOG["RegistrationSectionDefinitions"]) == set(TYPES)
    assert set(CATALOG["RegistrationFieldDefinitions"]) == set(TYPES)


# -- every definition is a valid response item ------------------------------------


def test_type_definitions_are_valid_responses(
    stubbed: tuple[Any, Stubber], model: ServiceModel
) -> None:
    client, stub = stubbed
    response = {"RegistrationTypeDefinitions": CATALOG["RegistrationTypeDefinitions"]}
    stub.add_response("describe_registration_type_definitions", response, {})
    got = client.describe_registration_type_definitions()
    assert got["RegistrationTypeDefinitions"] == CATALOG["RegistrationTypeDefinitions"]
    output = model.operation_model("DescribeRegistrationTypeDefinitions").output_shape
    assert output is not None
    assert _violations(output, response, "types") == []


@pytest.mark.parametrize("registration_type", TYPES)
def test_section_definitions_are_valid_responses(
    stubbed: tuple[Any, Stubber], model: ServiceModel, registration_type: str
) -> None:
    client, stub = stubbed
    response = {
        "RegistrationType": registration_type,
        "RegistrationSectionDefinitions": _sections(registration_type),
    }
    params = {"RegistrationType": registration_type}
    stub.add_response("describe_registration_section_definitions", response, params)
    got = client.describe_registration_section_definitions(**params)
    assert got["RegistrationSectionDefinitions"] == _sections(registration_type)
    output = model.operation_model("DescribeRegistrationSectionDefinitions").output_shape
    assert output is not None
    assert _violations(output, response, registration_type) == []


@pytest.mark.parametrize("registration_type", TYPES)
def test_field_definitions_are_valid_responses(
    stubbed: tuple[Any, Stubber], model: ServiceModel, registration_type: str
) -> None:
    client, stub = stubbed
    response = {
        "RegistrationType": registration_type,
        "RegistrationFieldDefinitions": _fields(registration_type),
    }
    params = {"RegistrationType": registration_type}
    stub.add_response("describe_registration_field_definitions", response, params)
    got = client.describe_registration_field_definitions(**params)
    assert got["RegistrationFieldDefinitions"] == _fields(registration_type)
    output = model.operation_model("DescribeRegistrationFieldDefinitions").output_shape
    assert output is not None
    assert _violations(output, response, registration_type) == []


def test_enums_are_the_models(model: ServiceModel) -> None:
    enums = {
        name: set(_string_shape(model, name).enum)
        for name in (
            "FieldType",
            "FieldRequirement",
            "RegistrationAssociationBehavior",
            "RegistrationDisassociationBehavior",
        )
    }
    for registration_type in TYPES:
        for field in _fields(registration_type):
            assert field["FieldType"] in enums["FieldType"], field["FieldPath"]
            assert field["FieldRequirement"] in enums["FieldRequirement"], field["FieldPath"]
    for definition in CATALOG["RegistrationTypeDefinitions"]:
        for association in definition.get("SupportedAssociations", []):
            assert association["AssociationBehavior"] in enums["RegistrationAssociationBehavior"]
            assert (
                association["DisassociationBehavior"] in enums["RegistrationDisassociationBehavior"]
            )


def test_the_checker_sees_what_the_stubber_misses(model: ServiceModel) -> None:
    field = {**_fields("US_TOLL_FREE_REGISTRATION")[0], "FieldType": "CHECKBOX"}
    shape = model.shape_for("RegistrationFieldDefinition")
    assert _violations(shape, field, "f") == [
        "f.FieldType: 'CHECKBOX' is not one of FieldType's ['SELECT', 'TEXT', 'ATTACHMENT']"
    ]


# -- the format's rules ------------------------------------------------------------


@pytest.mark.parametrize("registration_type", TYPES)
def test_fields_belong_to_their_sections(registration_type: str) -> None:
    sections = [s["SectionPath"] for s in _sections(registration_type)]
    assert len(sections) == len(set(sections))
    paths = [f["FieldPath"] for f in _fields(registration_type)]
    assert len(paths) == len(set(paths))
    for field in _fields(registration_type):
        assert field["SectionPath"] in sections, field["FieldPath"]
        assert field["FieldPath"].startswith(field["SectionPath"] + "."), field["FieldPath"]
    used = {f["SectionPath"] for f in _fields(registration_type)}
    assert used == set(sections), "every shipped section has fields"


@pytest.mark.parametrize("registration_type", TYPES)
def test_validations_match_field_types(registration_type: str) -> None:
    for field in _fields(registration_type):
        path, kind = field["FieldPath"], field["FieldType"]
        assert ("SelectValidation" in field) == (kind == "SELECT"), path
        assert ("TextValidation" in field) == (kind == "TEXT"), path
        if kind == "SELECT":
            select = field["SelectValidation"]
            options = select["Options"]
            assert options, path
            assert len(options) == len(set(options)), path
            assert 0 <= select["MinChoices"] <= select["MaxChoices"] <= len(options), path
        if kind == "TEXT":
            text = field["TextValidation"]
            assert 0 <= text["MinLength"] <= text["MaxLength"], path
            pattern = re.compile(text["Pattern"])
            example = field["DisplayHints"].get("ExampleTextValue")
            if example is not None:
                assert text["MinLength"] <= len(example) <= text["MaxLength"], path
                assert pattern.search(example), path


@pytest.mark.parametrize("registration_type", TYPES)
def test_conditions_name_fields_of_the_same_type(registration_type: str) -> None:
    fields = {f["FieldPath"]: f for f in _fields(registration_type)}
    for path, field in fields.items():
        behavior = field.get("ConditionalBehavior")
        assert (behavior is not None) == (field["FieldRequirement"] == "CONDITIONAL"), path
        if behavior is None:
            continue
        assert behavior["DefaultBehavior"] in BEHAVIORS, path
        for rule in behavior["Rules"]:
            assert rule["RuleBehavior"] in BEHAVIORS, path
            for condition in rule["Conditions"]:
                depends_on = condition["DependsOnFieldPath"]
                assert depends_on in fields, f"{path} depends on unknown {depends_on}"
                assert depends_on != path, path
                operator = condition["Operator"]
                assert operator in OPERATORS_WITH_VALUES | OPERATORS_WITHOUT_VALUES, path
                assert ("Values" in condition) == (operator in OPERATORS_WITH_VALUES), path
                target = fields[depends_on]
                if "Values" in condition and target["FieldType"] == "SELECT":
                    options = set(target["SelectValidation"]["Options"])
                    assert set(condition["Values"]) <= options, path
                allowed = rule.get("ConditionalValidation", {}).get("AllowedValues")
                if allowed is not None:
                    assert set(allowed) <= set(field["SelectValidation"]["Options"]), path


# -- what the documentation pins down ------------------------------------------------


@pytest.mark.parametrize("registration_type", REQUIRED_TYPES)
def test_every_section_asks_for_something(registration_type: str) -> None:
    for section in _sections(registration_type):
        name = section["SectionPath"]
        requirements = {
            f["FieldRequirement"] for f in _fields(registration_type) if f["SectionPath"] == name
        }
        if (registration_type, name) in OPTIONAL_SECTIONS:
            assert "REQUIRED" not in requirements, name
        else:
            assert "REQUIRED" in requirements, name


def test_documented_attachments_are_attachments() -> None:
    kinds = {(t, f["FieldPath"]): f["FieldType"] for t in TYPES for f in _fields(t)}
    assert kinds["US_TOLL_FREE_REGISTRATION", "messagingUseCase.optInImage"] == "ATTACHMENT"
    assert kinds["US_TEN_DLC_CAMPAIGN_REGISTRATION", "campaignInfo.optInScreenshot"] == "ATTACHMENT"


def test_captured_definitions_are_kept_as_captured() -> None:
    """registrations-sms-cli shows real output for these; nothing may drift from it."""
    fields = {f["FieldPath"]: f for f in _fields("US_TOLL_FREE_REGISTRATION")}
    name = fields["companyInfo.companyName"]
    assert name["FieldRequirement"] == "REQUIRED"
    assert name["TextValidation"] == {
        "MinLength": 1,
        "MaxLength": 100,
        "Pattern": "^(?=\\s*\\S)[\\s\\S]+$",
    }
    volume = fields["messagingUseCase.monthlyMessageVolume"]
    assert volume["FieldRequirement"] == "REQUIRED"
    assert volume["SelectValidation"] == {
        "MinChoices": 1,
        "MaxChoices": 1,
        "Options": ["10", "100", "1,000", "10,000", "100,000", "250,000", "500,000", "750,000",
                    "1,000,000", "5,000,000", "10,000,000+"],
    }  # fmt: skip
    (toll_free,) = (
        d
        for d in CATALOG["RegistrationTypeDefinitions"]
        if d["RegistrationType"] == "US_TOLL_FREE_REGISTRATION"
    )
    assert toll_free["SupportedAssociations"] == [
        {
            "ResourceType": "TOLL_FREE",
            "IsoCountryCode": "US",
            "AssociationBehavior": "ASSOCIATE_BEFORE_SUBMIT",
            "DisassociationBehavior": "DISASSOCIATE_ALL_CLOSES_REGISTRATION",
        }
    ]


def test_campaign_associates_the_brand_before_submit() -> None:
    (campaign,) = (
        d
        for d in CATALOG["RegistrationTypeDefinitions"]
        if d["RegistrationType"] == "US_TEN_DLC_CAMPAIGN_REGISTRATION"
    )
    behaviors = {
        a["ResourceType"]: a["AssociationBehavior"] for a in campaign["SupportedAssociations"]
    }
    assert behaviors["US_TEN_DLC_BRAND_REGISTRATION"] == "ASSOCIATE_BEFORE_SUBMIT"
    assert behaviors["TEN_DLC"] == "ASSOCIATE_AFTER_COMPLETE"


@pytest.mark.parametrize("registration_type", TYPES)
def test_every_field_has_its_provenance_and_a_documentation_link(registration_type: str) -> None:
    provenance = CATALOG["Provenance"][registration_type]
    assert provenance["RegistrationType"]
    paths = {f["FieldPath"] for f in _fields(registration_type)}
    assert set(provenance["Fields"]) == paths
    for path, note in provenance["Fields"].items():
        assert note.startswith(("documented", "inferred")), path
    for field in _fields(registration_type):
        link = field["DisplayHints"]["DocumentationLink"]
        assert link.startswith("https://docs.aws.amazon.com/"), field["FieldPath"]
