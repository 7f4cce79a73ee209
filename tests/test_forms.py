"""Registration forms: the catalogue, field values, and the rules that check them.

The catalogue here is hand-written (the shipped one is tested only for loading).
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from registration_fsm.domain import forms
from registration_fsm.domain.forms import (
    STRICT,
    Catalog,
    ConditionalBehavior,
    ConditionalRule,
    ConditionalValidation,
    ConditionOperator,
    FieldBehavior,
    FieldCondition,
    FieldDefinition,
    FieldRequirement,
    FieldType,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    SectionDefinition,
    SelectValidation,
    Semantics,
    SupportedAssociation,
    TextValidation,
    behavior,
    behaviors,
    check_form,
    check_value,
    missing_fields,
)
from registration_fsm.errors import (
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    UnknownField,
    UnknownRegistrationType,
)

BRAND = "US_TEST_BRAND"
HINTS = {"Title": "A title", "ShortDescription": "A description"}


def _field(path: str, kind: str, requirement: str, **members: Any) -> dict[str, Any]:
    return {
        "SectionPath": path.split(".", 1)[0],
        "FieldPath": path,
        "FieldType": kind,
        "FieldRequirement": requirement,
        **members,
        "DisplayHints": dict(HINTS),
    }


def _doc() -> dict[str, Any]:
    """A small brand form in the file format: every requirement, type and operator kind."""
    text = {"MinLength": 1, "MaxLength": 100, "Pattern": "[A-Za-z0-9 .,&'-]+"}
    kinds = ["PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT"]
    return {
        "Format": "registration-fsm catalog 1",
        "Source": "tests/test_forms.py",
        "RegistrationTypeDefinitions": [
            {
                "RegistrationType": BRAND,
                "SupportedAssociations": [
                    {
                        "ResourceType": "PHONE_NUMBER",
                        "IsoCountryCode": "US",
                        "AssociationBehavior": "ASSOCIATE_AFTER_COMPLETE",
                        "DisassociationBehavior": "DISASSOCIATE_ALL_ALLOWS_DELETE_REGISTRATION",
                    }
                ],
                "DisplayHints": {"Title": "US test brand", "DocumentationLink": "https://x"},
            }
        ],
        "RegistrationSectionDefinitions": {
            BRAND: [
                {"SectionPath": "companyInfo", "DisplayHints": dict(HINTS)},
                {"SectionPath": "contactInfo", "DisplayHints": dict(HINTS)},
                {"SectionPath": "legacy", "DisplayHints": dict(HINTS)},
            ]
        },
        "RegistrationFieldDefinitions": {
            BRAND: [
                _field("companyInfo.companyName", "TEXT", "REQUIRED", TextValidation=text),
                _field(
                    "companyInfo.businessType",
                    "SELECT",
                    "REQUIRED",
                    SelectValidation={"MinChoices": 1, "MaxChoices": 1, "Options": kinds},
                ),
                _field(
                    "companyInfo.stockSymbol",
                    "TEXT",
                    "CONDITIONAL",
                    TextValidation={"MinLength": 1, "MaxLength": 10, "Pattern": "[A-Z.]+"},
                    ConditionalBehavior={
                        "Rules": [
                            {
                                "Conditions": [
                                    {
                                        "DependsOnFieldPath": "companyInfo.businessType",
                                        "Operator": "EQUALS",
                                        "Values": ["PUBLIC_PROFIT"],
                                    }
                                ],
                                "RuleBehavior": "REQUIRED",
                                "ConditionalValidation": {"MaxLength": 5, "Pattern": "[A-Z]+"},
                            }
                        ],
                        "DefaultBehavior": "DISALLOWED",
                    },
                ),
                _field(
                    "companyInfo.taxId",
                    "TEXT",
                    "CONDITIONAL",
                    TextValidation={"MinLength": 9, "MaxLength": 9, "Pattern": "[0-9]+"},
                    ConditionalBehavior={
                        "Rules": [
                            {
                                "Conditions": [
                                    {
                                        "DependsOnFieldPath": "companyInfo.businessType",
                                        "Operator": "EQUALS",
                                        "Values": ["NON_PROFIT"],
                                    }
                                ],
                                "RuleBehavior": "OPTIONAL",
                            },
                            {
                                "Conditions": [
                                    {
                                        "DependsOnFieldPath": "companyInfo.businessType",
                                        "Operator": "IN",
                                        "Values": ["PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT"],
                                    }
                                ],
                                "RuleBehavior": "REQUIRED",
                            },
                        ],
                        "DefaultBehavior": "OPTIONAL",
                    },
                ),
                _field(
                    "companyInfo.verticals",
                    "SELECT",
                    "OPTIONAL",
                    SelectValidation={
                        "MinChoices": 1,
                        "MaxChoices": 3,
                        "Options": ["RETAIL", "HEALTH", "TECH", "ENERGY"],
                    },
                ),
                _field(
                    "contactInfo.email",
                    "TEXT",
                    "OPTIONAL",
                    TextValidation={
                        "MinLength": 3,
                        "MaxLength": 100,
                        "Pattern": r"[^@\s]+@[^@\s]+",
                    },
                ),
                _field(
                    "contactInfo.supportPhone",
                    "TEXT",
                    "CONDITIONAL",
                    TextValidation={"MinLength": 2, "MaxLength": 16, "Pattern": r"\+[0-9]+"},
                    ConditionalBehavior={
                        "Rules": [
                            {
                                "Conditions": [
                                    {
                                        "DependsOnFieldPath": "contactInfo.email",
                                        "Operator": "NO_VALUE",
                                    }
                                ],
                                "RuleBehavior": "REQUIRED",
                            }
                        ],
                        "DefaultBehavior": "OPTIONAL",
                    },
                ),
                _field("contactInfo.logo", "ATTACHMENT", "OPTIONAL"),
                _field(
                    "legacy.notes",
                    "TEXT",
                    "CONDITIONAL",
                    TextValidation={"MinLength": 1, "MaxLength": 50, "Pattern": ".+"},
                ),
            ]
        },
    }


@pytest.fixture
def brand() -> RegistrationTypeDefinition:
    return Catalog.from_json(_doc()).type(BRAND)


def text(path: str, value: str) -> FieldValue:
    return FieldValue(path, text_value=value)


def choose(path: str, *choices: str) -> FieldValue:
    return FieldValue(path, select_choices=choices)


def values(*items: FieldValue) -> FieldValues:
    return FieldValues.of(items)


COMPLETE_PRIVATE = (
    text("companyInfo.companyName", "Acme"),
    choose("companyInfo.businessType", "PRIVATE_PROFIT"),
    text("companyInfo.taxId", "123456789"),
    text("contactInfo.email", "ops@example.com"),
    text("legacy.notes", "none"),
)


# -- the catalogue --------------------------------------------------------------------------


def test_the_file_format_round_trips_exactly() -> None:
    doc = _doc()
    catalog = Catalog.from_json(json.dumps(doc))
    assert catalog.to_json() == doc
    assert Catalog.from_json(catalog.to_json()) == catalog
    assert Catalog.from_json(json.dumps(doc).encode()) == catalog
    assert catalog.source == "tests/test_forms.py"
    assert list(catalog.types) == [BRAND]


def test_definitions_read_as_typed_values(brand: RegistrationTypeDefinition) -> None:
    name = brand.field("companyInfo.companyName")
    assert name.field_type is FieldType.TEXT
    assert name.requirement is FieldRequirement.REQUIRED
    assert name.text_validation == TextValidation(1, 100, "[A-Za-z0-9 .,&'-]+")
    kind = brand.field("companyInfo.businessType")
    assert kind.select_validation is not None
    assert kind.select_validation.options[:2] == ("PRIVATE_PROFIT", "PUBLIC_PROFIT")
    symbol = brand.field("companyInfo.stockSymbol")
    assert symbol.conditional is not None
    rule = symbol.conditional.rules[0]
    assert rule.conditions == (
        FieldCondition("companyInfo.businessType", "EQUALS", ("PUBLIC_PROFIT",)),
    )
    assert rule.validation == ConditionalValidation(max_length=5, pattern="[A-Z]+")
    assert brand.supported_associations == (
        SupportedAssociation(
            "PHONE_NUMBER",
            "US",
            "ASSOCIATE_AFTER_COMPLETE",
            "DISASSOCIATE_ALL_ALLOWS_DELETE_REGISTRATION",
        ),
    )
    assert [s.section_path for s in brand.sections] == ["companyInfo", "contactInfo", "legacy"]
    assert brand.field_paths[0] == "companyInfo.companyName"
    assert brand.display_hints["DocumentationLink"] == "https://x"


def test_members_this_library_does_not_know_are_kept() -> None:
    doc = _doc()
    doc["CapturedWith"] = {"tool": "x", "pages": [1, 2]}
    doc["RegistrationTypeDefinitions"][0]["NewMember"] = [{"a": None}]
    field = doc["RegistrationFieldDefinitions"][BRAND][0]
    field["Future"] = True
    field["TextValidation"]["Flags"] = "i"
    field["DisplayHints"]["SelectOptionDescriptions"] = [{"Option": "A", "Note": "kept"}]
    field["DisplayHints"]["Glyph"] = {"nested": ["x"]}
    catalog = Catalog.from_json(doc)
    assert catalog.to_json() == doc
    assert catalog.type(BRAND).fields[0].extra == {"Future": True}
    assert Catalog.from_json(catalog.to_json()) == catalog


def test_to_api_is_each_operations_item(brand: RegistrationTypeDefinition) -> None:
    assert brand.to_api() == _doc()["RegistrationTypeDefinitions"][0]
    fields = _doc()["RegistrationFieldDefinitions"][BRAND]
    assert [f.to_api() for f in brand.fields] == fields
    assert [FieldDefinition.from_api(f) for f in fields] == list(brand.fields)
    sections = _doc()["RegistrationSectionDefinitions"][BRAND]
    assert [SectionDefinition.from_api(s) for s in sections] == list(brand.sections)
    again = RegistrationTypeDefinition.from_api(brand.to_api(), sections, fields)
    assert again == brand


def test_the_shapes_validate_against_botocores_output_model() -> None:
    model = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
    doc = Catalog.from_json(_doc()).to_json()
    checks = [("RegistrationTypeDefinition", t) for t in doc["RegistrationTypeDefinitions"]]
    checks += [
        ("RegistrationSectionDefinition", s) for s in doc["RegistrationSectionDefinitions"][BRAND]
    ]
    checks += [
        ("RegistrationFieldDefinition", f) for f in doc["RegistrationFieldDefinitions"][BRAND]
    ]
    checks += [("RegistrationFieldValueInformation", v.to_api()) for v in COMPLETE_PRIVATE]
    for shape, item in checks:
        report = ParamValidator().validate(item, model.shape_for(shape))
        assert not report.has_errors(), report.generate_report()


def test_our_enums_and_documented_terms_match_botocores_model() -> None:
    model: Any = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
    assert set(FieldType) == set(model.shape_for("FieldType").enum)
    assert set(FieldRequirement) == set(model.shape_for("FieldRequirement").enum)
    association = model.shape_for("SupportedAssociation").members
    assert tuple(association["AssociationBehavior"].enum) == forms.ASSOCIATION_BEHAVIORS
    assert tuple(association["DisassociationBehavior"].enum) == forms.DISASSOCIATION_BEHAVIORS
    # The operators and behaviours are free strings; their documentation names them.
    operator_doc = model.shape_for("FieldCondition").members["Operator"].documentation
    for operator in ConditionOperator:
        assert f"<b>{operator}</b>" in operator_doc
    behavior_doc = model.shape_for("ConditionalFieldBehavior").documentation
    for name in FieldBehavior:
        assert f"<b>{name}</b>" in behavior_doc


def test_unknown_type_and_field_are_one_line_and_name_the_known(
    brand: RegistrationTypeDefinition,
) -> None:
    catalog = Catalog.from_json(_doc())
    with pytest.raises(UnknownRegistrationType, match=rf"'NOPE'; known types: {BRAND}$") as t:
        catalog.type("NOPE")
    assert isinstance(t.value, InvalidArgument)
    assert t.value.known == (BRAND,)
    with pytest.raises(UnknownField, match=r"'companyInfo\.nope' of US_TEST_BRAND; known") as f:
        brand.field("companyInfo.nope")
    assert "companyInfo.companyName, companyInfo.businessType" in str(f.value)
    assert "\n" not in str(f.value)
    with pytest.raises(UnknownField):
        brand.field(3)  # type: ignore[arg-type]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


_DELETE = object()
_F = ("RegistrationFieldDefinitions", BRAND)
_S = ("RegistrationSectionDefinitions", BRAND)
_T = ("RegistrationTypeDefinitions", 0)
_RULE = (*_F, 2, "ConditionalBehavior", "Rules", 0)


def _append(path: tuple[Any, ...], item: Callable[[dict[str, Any]], Any]) -> Callable[..., None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path:
            target = target[key]
        target.append(item(doc))

    return change


BAD_CATALOGUES = [
    ("no format", _set(("Format",), _DELETE), "Format: expected 'registration-fsm catalog 1'"),
    ("another format", _set(("Format",), "registration-fsm catalog 2"), "Format: expected"),
    ("no source", _set(("Source",), _DELETE), "Source: required member is missing"),
    ("source not a string", _set(("Source",), 7), "Source: expected a string"),
    ("types not a list", _set(("RegistrationTypeDefinitions",), {}), "expected a list"),
    ("a type not an object", _set(_T, "x"), "RegistrationTypeDefinitions[0]: expected an object"),
    (
        "a bad type name",
        _set((*_T, "RegistrationType"), "US-BRAND"),
        "RegistrationTypeDefinitions[0].RegistrationType: expected 1-64 characters",
    ),
    (
        "a type twice",
        _append(("RegistrationTypeDefinitions",), lambda d: d["RegistrationTypeDefinitions"][0]),
        f"RegistrationTypeDefinitions: a type is defined twice (got '{BRAND}')",
    ),
    (
        "type hints missing",
        _set((*_T, "DisplayHints"), _DELETE),
        f"{BRAND} DisplayHints: required member is missing",
    ),
    (
        "type title missing",
        _set((*_T, "DisplayHints", "Title"), _DELETE),
        f"{BRAND} DisplayHints.Title: required member is missing",
    ),
    (
        "a hint of the wrong type",
        _set((*_T, "DisplayHints", "DocumentationLink"), 3),
        f"{BRAND} DisplayHints.DocumentationLink: expected a string",
    ),
    (
        "an unknown association behaviour",
        _set((*_T, "SupportedAssociations", 0, "AssociationBehavior"), "ASSOCIATE_WHENEVER"),
        f"{BRAND} SupportedAssociations[0].AssociationBehavior: expected one of",
    ),
    (
        "a bad country",
        _set((*_T, "SupportedAssociations", 0, "IsoCountryCode"), "usa"),
        f"{BRAND} SupportedAssociations[0].IsoCountryCode: expected two capital letters",
    ),
    (
        "sections of no type",
        _set(("RegistrationSectionDefinitions", "OTHER"), []),
        "RegistrationSectionDefinitions['OTHER']: names no registration type",
    ),
    (
        "no sections entry",
        _set(_S, _DELETE),
        f"RegistrationSectionDefinitions['{BRAND}']: required entry is missing",
    ),
    (
        "no fields map",
        _set(("RegistrationFieldDefinitions",), _DELETE),
        "RegistrationFieldDefinitions: required member is missing",
    ),
    (
        "a section twice",
        _append(_S, lambda d: d["RegistrationSectionDefinitions"][BRAND][0]),
        f"{BRAND} section companyInfo: the section is defined twice",
    ),
    (
        "section hints short",
        _set((*_S, 1, "DisplayHints", "ShortDescription"), _DELETE),
        f"{BRAND} section contactInfo DisplayHints.ShortDescription: required member is missing",
    ),
    (
        "a bad section path",
        _set((*_S, 0, "SectionPath"), "company info"),
        f"{BRAND} section company info SectionPath: expected 1-100 characters",
    ),
    (
        "a field twice",
        _append(_F, lambda d: d["RegistrationFieldDefinitions"][BRAND][0]),
        f"{BRAND} field companyInfo.companyName: the field is defined twice",
    ),
    (
        "a field in an unknown section",
        _set((*_F, 0, "SectionPath"), "nowhere"),
        f"{BRAND} field companyInfo.companyName SectionPath: names no section of {BRAND}",
    ),
    (
        "a bad field path",
        _set((*_F, 0, "FieldPath"), "company/name"),
        f"{BRAND} field company/name FieldPath: expected 1-100 characters of [A-Za-z0-9_.]",
    ),
    (
        "a field without a type",
        _set((*_F, 0, "FieldType"), _DELETE),
        f"{BRAND} field companyInfo.companyName FieldType: required member is missing",
    ),
    (
        "an unknown field type",
        _set((*_F, 0, "FieldType"), "DATE"),
        "companyInfo.companyName FieldType: expected one of SELECT, TEXT, ATTACHMENT",
    ),
    (
        "a field type of the wrong type",
        _set((*_F, 0, "FieldRequirement"), ["REQUIRED"]),
        f"{BRAND} field companyInfo.companyName FieldRequirement: expected one of",
    ),
    (
        "a SELECT without SelectValidation",
        _set((*_F, 1, "SelectValidation"), _DELETE),
        f"{BRAND} field companyInfo.businessType SelectValidation: a SELECT field requires",
    ),
    (
        "a TEXT without TextValidation",
        _set((*_F, 0, "TextValidation"), _DELETE),
        f"{BRAND} field companyInfo.companyName TextValidation: a TEXT field requires",
    ),
    (
        "a pattern that does not compile",
        _set((*_F, 0, "TextValidation", "Pattern"), "[a-z"),
        f"{BRAND} field companyInfo.companyName TextValidation.Pattern: not a regular expression",
    ),
    (
        "a missing pattern",
        _set((*_F, 0, "TextValidation", "Pattern"), _DELETE),
        f"{BRAND} field companyInfo.companyName TextValidation.Pattern: required member is missing",
    ),
    (
        "a length as text",
        _set((*_F, 0, "TextValidation", "MinLength"), "1"),
        f"{BRAND} field companyInfo.companyName TextValidation.MinLength: expected an integer",
    ),
    (
        "a boolean length",
        _set((*_F, 0, "TextValidation", "MaxLength"), True),
        "TextValidation.MaxLength: expected an integer",
    ),
    (
        "lengths crossed",
        _set((*_F, 0, "TextValidation", "MinLength"), 101),
        "TextValidation.MinLength: over MaxLength 100 (got 101)",
    ),
    (
        "a negative count",
        _set((*_F, 1, "SelectValidation", "MinChoices"), -1),
        f"{BRAND} field companyInfo.businessType SelectValidation.MinChoices: expected a non",
    ),
    (
        "options not a list",
        _set((*_F, 1, "SelectValidation", "Options"), "PUBLIC"),
        "SelectValidation.Options: expected a list of strings",
    ),
    (
        "an option not a string",
        _set((*_F, 1, "SelectValidation", "Options", 0), 1),
        "SelectValidation.Options[0]: expected a string",
    ),
    (
        "field hints missing",
        _set((*_F, 0, "DisplayHints"), _DELETE),
        f"{BRAND} field companyInfo.companyName DisplayHints: required member is missing",
    ),
    (
        "bad option descriptions",
        _set((*_F, 1, "DisplayHints", "SelectOptionDescriptions"), [{}]),
        "DisplayHints.SelectOptionDescriptions: expected a list of objects with an Option",
    ),
    (
        "no rules",
        _set((*_F, 2, "ConditionalBehavior", "Rules"), []),
        f"{BRAND} field companyInfo.stockSymbol ConditionalBehavior.Rules: expected 1-20 items",
    ),
    (
        "no default",
        _set((*_F, 2, "ConditionalBehavior", "DefaultBehavior"), _DELETE),
        "ConditionalBehavior.DefaultBehavior: required member is missing",
    ),
    (
        "a behaviour off the pattern",
        _set((*_RULE, "RuleBehavior"), "NOT ALLOWED"),
        "ConditionalBehavior.Rules[0].RuleBehavior: expected 1-64 characters of [A-Za-z0-9_]",
    ),
    (
        "six conditions",
        _set(
            (*_RULE, "Conditions"),
            [{"DependsOnFieldPath": "legacy.notes", "Operator": "HAS_VALUE"}] * 6,
        ),
        "ConditionalBehavior.Rules[0].Conditions: expected 1-5 items (got 6)",
    ),
    (
        "a condition on no field",
        _set((*_RULE, "Conditions", 0, "DependsOnFieldPath"), "x.y"),
        f"{BRAND} field companyInfo.stockSymbol ConditionalBehavior.Rules[0].Conditions[0]"
        f".DependsOnFieldPath: names no field of {BRAND} (got 'x.y')",
    ),
    (
        "EQUALS without values",
        _set((*_RULE, "Conditions", 0, "Values"), _DELETE),
        "Rules[0].Conditions[0].Values: EQUALS requires Values",
    ),
    (
        "a value not a string",
        _set((*_RULE, "Conditions", 0, "Values"), [1]),
        "Rules[0].Conditions[0].Values[0]: expected a string (got 1)",
    ),
    (
        "an operator off the pattern",
        _set((*_RULE, "Conditions", 0, "Operator"), "=="),
        "Rules[0].Conditions[0].Operator: expected 1-64 characters",
    ),
    (
        "a bad conditional pattern",
        _set((*_RULE, "ConditionalValidation", "Pattern"), "("),
        "Rules[0].ConditionalValidation.Pattern: not a regular expression",
    ),
    (
        "conditional lengths crossed",
        _set((*_RULE, "ConditionalValidation", "MinLength"), 9),
        "Rules[0].ConditionalValidation.MinLength: over MaxLength 5",
    ),
    (
        "allowed values not a list",
        _set((*_RULE, "ConditionalValidation", "AllowedValues"), "A"),
        "Rules[0].ConditionalValidation.AllowedValues: expected a list of strings",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in BAD_CATALOGUES], ids=[c[0] for c in BAD_CATALOGUES]
)
def test_every_bad_catalogue_is_one_typed_line_naming_where(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = _doc()
    change(doc)
    with pytest.raises(InvalidApiData) as raised:
        Catalog.from_json(copy.deepcopy(doc))
    assert message in str(raised.value), str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(InvalidApiData):  # the same through the JSON text
        Catalog.from_json(json.dumps(doc))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ("{", InvalidArgument, "the catalogue is not JSON"),
        ("[" * 100_000, InvalidArgument, "the catalogue is not JSON"),
        (b"\xff{}", InvalidArgument, "the catalogue is not UTF-8 (byte 0)"),
        ("[]", InvalidApiData, "catalogue: expected a JSON object"),
        ("null", InvalidApiData, "catalogue: expected a JSON object"),
        (3, InvalidArgumentType, "a catalogue is JSON text or a mapping"),
    ],
)
def test_text_that_is_no_catalogue(data: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)) as raised:
        Catalog.from_json(data)
    assert "\n" not in str(raised.value)


def test_load_reads_a_file_and_refuses_what_is_not_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "catalog.json"
    good.write_text(json.dumps(_doc()), encoding="utf-8")
    assert Catalog.load(good) == Catalog.load(str(good)) == Catalog.from_json(_doc())
    cases: list[tuple[Any, str]] = [
        (tmp_path, "is a directory, not a file"),
        (tmp_path / "missing.json", "cannot read catalogue .*: No such file or directory"),
    ]
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"Source": "café"}'.encode("latin-1"))
    cases.append((latin, r"latin\.json: the catalogue is not UTF-8"))
    broken = tmp_path / "broken.json"
    broken.write_text("{'Format': 1}")
    cases.append((broken, r"broken\.json: the catalogue is not JSON"))
    for path, message in cases:
        with pytest.raises(InvalidArgument, match=message) as raised:
            Catalog.load(path)
        assert "\n" not in str(raised.value)
    bad = _doc()
    bad["RegistrationFieldDefinitions"][BRAND][0]["FieldType"] = "DATE"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(bad))
    with pytest.raises(InvalidApiData, match=r"wrong\.json: US_TEST_BRAND field companyInfo"):
        Catalog.load(wrong)
    with pytest.raises(InvalidArgumentType):
        Catalog.load(3)  # type: ignore[arg-type]
    monkeypatch.setattr(forms.catalog, "MAX_CATALOG_BYTES", 100)
    with pytest.raises(InvalidArgument, match="is over 100 bytes"):
        Catalog.load(good)


def test_from_api_builds_what_capture_would_write() -> None:
    doc = _doc()
    pages = iter(doc["RegistrationTypeDefinitions"])  # any iterable, read once
    sections = {BRAND: iter(doc["RegistrationSectionDefinitions"][BRAND])}
    captured = Catalog.from_api(
        pages, sections, doc["RegistrationFieldDefinitions"], source="tests/test_forms.py"
    )
    assert captured == Catalog.from_json(doc)
    assert captured.to_json() == doc
    with pytest.raises(InvalidApiData, match="RegistrationFieldDefinitions\\['US_TEST_BRAND'\\]"):
        Catalog.from_api(doc["RegistrationTypeDefinitions"], sections, {}, source="x")
    with pytest.raises(InvalidArgumentType):
        Catalog.from_api(doc["RegistrationTypeDefinitions"], [], {}, source="x")  # type: ignore[arg-type]


def test_direct_construction_checks_the_same_rules() -> None:
    tv = TextValidation(1, 5, "[a-z]+")
    hints = {"Title": "t", "ShortDescription": "s"}
    with pytest.raises(
        InvalidArgument, match=re.escape("field a.b SelectValidation: a SELECT field requires")
    ):
        FieldDefinition(
            "a", "a.b", FieldType.SELECT, FieldRequirement.REQUIRED, display_hints=hints
        )
    with pytest.raises(InvalidArgument, match="TextValidation Pattern: not a regular expression"):
        TextValidation(1, 5, "(")
    with pytest.raises(InvalidArgumentType, match="TextValidation MinLength: expected an integer"):
        TextValidation("1", 5, "x")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentType, match=re.escape("field a.b TextValidation: expected a Text")
    ):
        FieldDefinition("a", "a.b", "TEXT", "OPTIONAL", "x", display_hints=hints)  # type: ignore[arg-type]
    field = FieldDefinition("a", "a.b", "TEXT", "OPTIONAL", tv, display_hints=hints)
    assert field.field_type is FieldType.TEXT  # strings convert to the enums
    with pytest.raises(
        InvalidArgument, match=re.escape("US_X field a.b SectionPath: names no section")
    ):
        RegistrationTypeDefinition(
            "US_X", {"Title": "x"}, (), (SectionDefinition("z", hints),), (field,)
        )
    with pytest.raises(InvalidArgumentType, match="US_X fields: expected a tuple of Field"):
        RegistrationTypeDefinition("US_X", {"Title": "x"}, fields=("a.b",))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="ConditionalRule Conditions: expected 1-5 items"):
        ConditionalRule((), "REQUIRED")
    with pytest.raises(InvalidArgument, match="Catalog types\\['A'\\]: keyed by another name"):
        Catalog({"A": RegistrationTypeDefinition("B", {"Title": "b"})}, "here")
    # Immutable all the way down.
    with pytest.raises(TypeError):
        field.display_hints["Title"] = "changed"  # type: ignore[index]


def test_definitions_pickle_copy_and_hash() -> None:
    catalog = Catalog.from_json(_doc())
    assert pickle.loads(pickle.dumps(catalog)) == catalog
    assert copy.deepcopy(catalog) == catalog
    brand = pickle.loads(pickle.dumps(catalog.type(BRAND)))
    assert brand.field("companyInfo.taxId") == catalog.type(BRAND).field("companyInfo.taxId")
    assert len({*catalog.type(BRAND).fields, *brand.fields}) == len(brand.fields)
    form = values(*COMPLETE_PRIVATE)
    assert pickle.loads(pickle.dumps(form)) == form


def test_the_builtin_catalogue_is_read_on_first_use_only() -> None:
    probe = (
        "import registration_fsm.domain.forms.catalog as f; print(f._builtin.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "0"
    shipped = Path(forms.__file__).parent.parent / "catalogs" / "aws.json"
    if not shipped.is_file():
        pytest.skip("registration_fsm/domain/catalogs/aws.json is not written yet (issue 10)")
    catalog = Catalog.builtin()
    assert catalog is Catalog.builtin()
    assert len(catalog.types) >= 3
    assert Catalog.from_json(catalog.to_json()) == catalog


def test_a_missing_builtin_catalogue_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms.catalog._builtin.cache_clear()
    monkeypatch.setattr("registration_fsm.domain.forms.catalog.resources.files", lambda _: tmp_path)
    try:
        with pytest.raises(
            InvalidArgument, match=re.escape("built-in catalogue catalogs/aws.json is not")
        ):
            Catalog.builtin()
    finally:
        forms.catalog._builtin.cache_clear()


# -- field values -----------------------------------------------------------------------------


def test_a_field_value_is_exactly_one_of_three() -> None:
    assert text("a.b", "x").to_api() == {"FieldPath": "a.b", "TextValue": "x"}
    assert choose("a.b").to_api() == {"FieldPath": "a.b", "SelectChoices": []}
    attachment = FieldValue("a.b", attachment_id="registration-attachment-1")
    assert attachment.to_api() == {
        "FieldPath": "a.b",
        "RegistrationAttachmentId": "registration-attachment-1",
    }
    assert FieldValue("a.b", select_choices=["A", "B"]).select_choices == ("A", "B")
    read = FieldValue.from_api(
        {"FieldPath": "a.b", "TextValue": "x", "DeniedReason": "typo", "Feedback": "ok"}
    )
    assert read == text("a.b", "x")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, InvalidArgument, "exactly one of SelectChoices, TextValue and Registration"),
        ({"text_value": "x", "attachment_id": "y"}, InvalidArgument, "exactly one of"),
        ({"text_value": ""}, InvalidArgument, "TextValue: expected 1-2048 characters"),
        ({"text_value": "x" * 2049}, InvalidArgument, "expected 1-2048 characters"),
        ({"text_value": "\ud800"}, InvalidArgument, "expected 1-2048 characters of text"),
        ({"text_value": 3}, InvalidArgumentType, "TextValue: expected a string"),
        ({"select_choices": [""]}, InvalidArgument, "a choice is 1-256 characters"),
        ({"select_choices": ["x"] * 101}, InvalidArgument, "at most 100 choices"),
        ({"select_choices": [1]}, InvalidArgumentType, r"SelectChoices\[0\]: expected a string"),
        ({"select_choices": "AB"}, InvalidArgumentType, "expected a list of strings"),
        ({"attachment_id": "a b"}, InvalidArgument, "RegistrationAttachmentId: expected 1-256"),
    ],
)
def test_bad_field_values(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as raised:
        FieldValue("a.b", **kwargs)
    assert "\n" not in str(raised.value)


def test_bad_field_paths_and_api_items() -> None:
    with pytest.raises(InvalidArgument, match=r"FieldValue FieldPath: expected 1-100 characters"):
        FieldValue("a b", text_value="x")
    with pytest.raises(InvalidArgumentType):
        FieldValue(None, text_value="x")  # type: ignore[arg-type]
    for item, message in [
        ("x", "RegistrationFieldValue: expected an object"),
        ({"TextValue": "x"}, "RegistrationFieldValue FieldPath: required member is missing"),
        ({"FieldPath": "a.b", "TextValue": 3}, "RegistrationFieldValue a.b TextValue: expected"),
        ({"FieldPath": "a.b"}, "RegistrationFieldValue a.b a.b: exactly one of"),
    ]:
        with pytest.raises(InvalidApiData, match=message):
            FieldValue.from_api(item)


def test_field_values_are_an_ordered_immutable_mapping() -> None:
    a, b = text("b.a", "1"), choose("a.z", "X")
    form = values(a, b)
    assert list(form) == ["a.z", "b.a"]
    assert form["b.a"] == a
    assert "a.z" in form
    assert len(form) == 2
    assert form == values(b, a)
    assert hash(form) == hash(values(b, a))
    assert form.with_value(text("b.a", "2"))["b.a"] == text("b.a", "2")
    assert form["b.a"] == a  # unchanged
    assert form.with_value(a) is form
    assert form.without("a.z") == values(a)
    assert form.without("nope") is form
    assert FieldValues.empty() == values()
    assert FieldValues.of(form) == form
    with pytest.raises(InvalidArgument, match=re.escape("field path 'b.a' is given twice")):
        values(a, text("b.a", "2"))
    with pytest.raises(InvalidArgumentType):
        FieldValues.of(["b.a"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentType):
        form.with_value("b.a")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        form["c.d"] = a  # type: ignore[index]


def test_field_values_json_round_trip_and_errors() -> None:
    form = values(*COMPLETE_PRIVATE)
    assert FieldValues.from_json(json.loads(json.dumps(form.to_json()))) == form
    with pytest.raises(InvalidApiData, match="RegistrationFieldValues: expected a list"):
        FieldValues.from_json({"a.b": "x"})
    twice = [{"FieldPath": "a.b", "TextValue": "x"}, {"FieldPath": "a.b", "TextValue": "y"}]
    with pytest.raises(InvalidApiData, match=re.escape("field path 'a.b' is given twice")):
        FieldValues.from_json(twice)


def test_the_digest_is_fixed_canonical_json() -> None:
    form = values(
        text("companyInfo.companyName", "Acme Café"),
        choose("companyInfo.businessType", "PUBLIC_PROFIT"),
        FieldValue("contactInfo.logo", attachment_id="registration-attachment-0123456789abcdef"),
    )
    # sha256 of the UTF-8 text below, checked with sha256sum when this test was written:
    # [{"FieldPath":"companyInfo.businessType","SelectChoices":["PUBLIC_PROFIT"]},
    #  {"FieldPath":"companyInfo.companyName","TextValue":"Acme Café"},
    #  {"FieldPath":"contactInfo.logo",
    #   "RegistrationAttachmentId":"registration-attachment-0123456789abcdef"}]
    # (one line, no spaces)
    assert form.digest() == (
        "sha256:216f2f2297ca6f985dd585ca0b8a9e771fb0b63808dce3d4deff32c8b86b7de1"
    )
    assert FieldValues.empty().digest() == (
        "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
    )
    # The same in a fresh process with another hash seed.
    code = (
        "from registration_fsm.domain.forms import FieldValue as V, FieldValues as F;"
        "print(F.of([V('contactInfo.logo',"
        " attachment_id='registration-attachment-0123456789abcdef'),"
        "V('companyInfo.businessType', select_choices=['PUBLIC_PROFIT']),"
        "V('companyInfo.companyName', text_value='Acme Caf\\u00e9')]).digest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert out.stdout.strip() == form.digest()


def test_diff_names_each_change_in_one_line() -> None:
    before = values(
        text("companyInfo.companyName", "Acme"),
        choose("companyInfo.verticals", "TECH"),
        text("contactInfo.email", "a@b.c"),
    )
    after = values(
        text("companyInfo.companyName", "Acme Inc."),
        choose("companyInfo.verticals", "TECH", "RETAIL"),
        FieldValue("contactInfo.logo", attachment_id="registration-attachment-9"),
    )
    changes = before.diff(after)
    assert [(c.field_path, c.kind) for c in changes] == [
        ("companyInfo.companyName", "changed"),
        ("companyInfo.verticals", "changed"),
        ("contactInfo.email", "removed"),
        ("contactInfo.logo", "added"),
    ]
    assert [c.describe() for c in changes] == [
        "companyInfo.companyName: 'Acme' -> 'Acme Inc.'",
        "companyInfo.verticals: ['TECH'] -> ['TECH', 'RETAIL']",
        "contactInfo.email: 'a@b.c' -> (no value)",
        "contactInfo.logo: (no value) -> attachment registration-attachment-9",
    ]
    assert before.diff(before) == ()
    assert "\n" not in text("a.b", "two\nlines").show()
    with pytest.raises(InvalidArgumentType):
        before.diff({})  # type: ignore[arg-type]


paths = st.from_regex(r"[a-c]\.[a-c]{1,2}", fullmatch=True)
field_values = st.one_of(
    st.builds(FieldValue, paths, text_value=st.text(min_size=1, max_size=12)),
    st.builds(
        FieldValue, paths, select_choices=st.lists(st.text(min_size=1, max_size=4), max_size=3)
    ),
    st.builds(
        FieldValue, paths, attachment_id=st.from_regex(r"[A-Za-z0-9_:/-]{1,20}", fullmatch=True)
    ),
)
forms_values = st.lists(field_values, max_size=6, unique_by=lambda v: v.field_path).map(
    FieldValues.of
)


@given(forms_values)
def test_field_values_round_trip_through_json(form: FieldValues) -> None:
    assert FieldValues.from_json(json.loads(json.dumps(form.to_json()))) == form
    for value in form.values():
        assert FieldValue.from_api(value.to_api()) == value


@given(forms_values, forms_values, st.randoms())
def test_digest_equal_iff_values_equal_whatever_the_order(
    a: FieldValues, b: FieldValues, random: Any
) -> None:
    assert (a.digest() == b.digest()) == (a == b)
    shuffled = list(a.values())
    random.shuffle(shuffled)
    assert FieldValues.of(shuffled).digest() == a.digest()


@given(forms_values, forms_values)
def test_a_diff_turns_before_into_after(a: FieldValues, b: FieldValues) -> None:
    result = a
    for change in a.diff(b):
        assert change.before != change.after
        result = (
            result.without(change.field_path)
            if change.after is None
            else result.with_value(change.after)
        )
    assert result == b
    assert len(a.diff(b)) == len(b.diff(a))


# -- the rules ------------------------------------------------------------------------------------


def test_missing_fields_follow_the_form(brand: RegistrationTypeDefinition) -> None:
    assert missing_fields(brand, values()) == (
        "companyInfo.companyName",
        "companyInfo.businessType",
        "contactInfo.supportPhone",  # NO_VALUE on the email: required while it is empty
        "legacy.notes",  # CONDITIONAL without rules: REQUIRED (strict)
    )
    form = values(*COMPLETE_PRIVATE)
    assert missing_fields(brand, form) == ()
    # A private company must give its tax id.
    assert missing_fields(brand, form.without("companyInfo.taxId")) == ("companyInfo.taxId",)
    # A public one its stock symbol too.
    public = form.with_value(choose("companyInfo.businessType", "PUBLIC_PROFIT"))
    assert missing_fields(brand, public) == ("companyInfo.stockSymbol",)
    # A non-profit matches the OPTIONAL rule first, before the IN rule that would require it.
    charity = form.with_value(choose("companyInfo.businessType", "NON_PROFIT"))
    assert missing_fields(brand, charity.without("companyInfo.taxId")) == ()
    # Without an email, a support phone is required.
    assert missing_fields(brand, form.without("contactInfo.email")) == ("contactInfo.supportPhone",)
    relaxed = Semantics(unruled_conditional="optional")
    assert "legacy.notes" not in missing_fields(brand, values(), semantics=relaxed)


def test_behavior_resolves_rules_in_order(brand: RegistrationTypeDefinition) -> None:
    tax = brand.field("companyInfo.taxId")
    symbol = brand.field("companyInfo.stockSymbol")
    public = values(choose("companyInfo.businessType", "PUBLIC_PROFIT"))
    charity = values(choose("companyInfo.businessType", "NON_PROFIT"))
    assert behavior(brand, tax, public) == "REQUIRED"
    assert behavior(brand, tax, charity) == "OPTIONAL"  # the first matching rule wins
    assert behavior(brand, tax, values()) == "OPTIONAL"  # the default
    assert behavior(brand, symbol, public) == "REQUIRED"
    assert behavior(brand, symbol, charity) == "DISALLOWED"
    assert behavior(brand, brand.field("companyInfo.companyName"), values()) == "REQUIRED"
    assert behavior(brand, brand.field("contactInfo.logo"), values()) == "OPTIONAL"
    assert behaviors(brand, symbol, charity) == {"DISALLOWED"}


def test_value_checks(brand: RegistrationTypeDefinition) -> None:
    def problems(value: FieldValue, **kwargs: Any) -> list[str]:
        return [p.message for p in check_value(brand, value, **kwargs)]

    assert problems(text("companyInfo.companyName", "Acme, Inc.")) == []
    assert problems(text("companyInfo.companyName", "Acme!")) == [
        "must match the pattern [A-Za-z0-9 .,&'-]+"
    ]
    assert problems(text("companyInfo.companyName", "A" * 101)) == [
        "must be 1-100 characters, got 101"
    ]
    # The pattern must match the whole value, not a part of it.
    assert problems(text("companyInfo.taxId", "12345678x")) == ["must match the pattern [0-9]+"]
    assert problems(choose("companyInfo.businessType", "PUBLIC_PROFIT")) == []
    assert problems(choose("companyInfo.businessType", "SHELL")) == [
        "'SHELL' is not an option; the options: PRIVATE_PROFIT, PUBLIC_PROFIT, NON_PROFIT, "
        "GOVERNMENT"
    ]
    assert problems(choose("companyInfo.businessType")) == ["takes 1-1 choices, got 0"]
    assert problems(choose("companyInfo.verticals", "TECH", "HEALTH", "ENERGY", "RETAIL")) == [
        "takes 1-3 choices, got 4"
    ]
    # Wrong shapes: one problem naming the member the field takes.
    assert problems(text("companyInfo.businessType", "PUBLIC_PROFIT")) == [
        "a SELECT field takes SelectChoices, not TextValue"
    ]
    assert problems(choose("companyInfo.companyName", "Acme")) == [
        "a TEXT field takes TextValue, not SelectChoices"
    ]
    assert problems(FieldValue("companyInfo.companyName", attachment_id="a-1")) == [
        "a TEXT field takes TextValue, not RegistrationAttachmentId"
    ]
    assert problems(text("contactInfo.logo", "logo.png")) == [
        "an ATTACHMENT field takes RegistrationAttachmentId, not TextValue"
    ]
    logo = FieldValue("contactInfo.logo", attachment_id="registration-attachment-1")
    assert problems(logo) == []
    assert problems(logo, attachment_ok=lambda i: i == "registration-attachment-1") == []
    assert problems(logo, attachment_ok=lambda i: False) == [
        "attachment registration-attachment-1 is not usable"
    ]
    # A field the type does not have: the caller answers UNKNOWN_REGISTRATION_FIELD.
    assert problems(text("companyInfo.nope", "x")) == []
    problem = check_value(brand, text("companyInfo.companyName", "Acme!"))[0]
    assert problem.to_api() == {
        "Name": "companyInfo.companyName",
        "Message": "must match the pattern [A-Za-z0-9 .,&'-]+",
    }
    assert str(problem) == "companyInfo.companyName: must match the pattern [A-Za-z0-9 .,&'-]+"
    with pytest.raises(InvalidArgumentType):
        check_value(brand, {"FieldPath": "a.b"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType):
        check_value(brand, logo, values={})  # type: ignore[arg-type]


def test_a_rule_that_fires_applies_its_validation_and_disallowed_refuses(
    brand: RegistrationTypeDefinition,
) -> None:
    public = values(choose("companyInfo.businessType", "PUBLIC_PROFIT"))
    private = values(choose("companyInfo.businessType", "PRIVATE_PROFIT"))
    symbol = text("companyInfo.stockSymbol", "ACMEX.")

    def problems(form: FieldValues, value: FieldValue) -> list[str]:
        return [p.message for p in check_value(brand, value, values=form)]

    # The rule's MaxLength 5 and pattern [A-Z]+ override the field's 10 and [A-Z.]+.
    assert problems(public, symbol) == [
        "must be 1-5 characters, got 6",
        "must match the pattern [A-Z]+",
    ]
    assert problems(public, text("companyInfo.stockSymbol", "ACME")) == []
    # Without the rule, the field's own validation, and DISALLOWED refuses any value.
    assert problems(private, symbol) == ["must not be given: the form disallows it"]
    assert problems(values(), text("companyInfo.stockSymbol", "AC ME")) == [
        "must not be given: the form disallows it",
        "must match the pattern [A-Z.]+",
    ]
    # At submit, every value against the form as it now stands.
    form = values(*COMPLETE_PRIVATE, text("companyInfo.stockSymbol", "ACME"))
    assert [str(p) for p in check_form(brand, form)] == [
        "companyInfo.stockSymbol: must not be given: the form disallows it"
    ]
    assert check_form(brand, values(*COMPLETE_PRIVATE)) == []


# A small form for the operators: the dependency, and a field REQUIRED when the rule holds.
DEP_OPTIONS = ("A", "B", "C")


def _form(
    condition: FieldCondition,
    rules_after: tuple[ConditionalRule, ...] = (),
    default: str = "OPTIONAL",
) -> RegistrationTypeDefinition:
    hints = {"Title": "t", "ShortDescription": "s"}
    rule = ConditionalRule((condition,), "REQUIRED")
    fields = (
        FieldDefinition(
            "s",
            "s.pick",
            FieldType.SELECT,
            FieldRequirement.OPTIONAL,
            select_validation=SelectValidation(0, 3, DEP_OPTIONS),
            display_hints=hints,
        ),
        FieldDefinition(
            "s",
            "s.text",
            FieldType.TEXT,
            FieldRequirement.OPTIONAL,
            TextValidation(1, 9, ".+"),
            display_hints=hints,
        ),
        FieldDefinition(
            "s", "s.file", FieldType.ATTACHMENT, FieldRequirement.OPTIONAL, display_hints=hints
        ),
        FieldDefinition(
            "s",
            "s.target",
            FieldType.TEXT,
            FieldRequirement.CONDITIONAL,
            TextValidation(1, 9, ".+"),
            conditional=ConditionalBehavior((rule, *rules_after), default),
            display_hints=hints,
        ),
    )
    return RegistrationTypeDefinition(
        "US_OPS", {"Title": "t"}, (), (SectionDefinition("s", hints),), fields
    )


YES, NO, OPEN = {"REQUIRED"}, {"OPTIONAL"}, {"REQUIRED", "OPTIONAL"}
PICK, TEXT_, FILE = "s.pick", "s.text", "s.file"
OPERATOR_CASES = [
    # (operator, Values, the dependency's value or None, behaviours under STRICT)
    ("EQUALS", ("A",), choose(PICK, "A"), YES),
    ("EQUALS", ("A",), choose(PICK, "B"), NO),
    ("EQUALS", ("A",), None, NO),
    ("EQUALS", ("A",), text(TEXT_, "A"), YES),
    ("EQUALS", ("a",), text(TEXT_, "A"), NO),  # exact, case-sensitive
    ("EQUALS", ("f-1",), FieldValue(FILE, attachment_id="f-1"), YES),
    ("EQUALS", ("A",), choose(PICK, "A", "B"), OPEN),  # is A chosen, or only A?
    ("EQUALS", ("A", "B"), choose(PICK, "A"), OPEN),  # several Values
    ("EQUALS", ("A", "B"), choose(PICK, "B", "A"), YES),
    ("NOT_EQUALS", ("A",), choose(PICK, "B"), YES),
    ("NOT_EQUALS", ("A",), choose(PICK, "A"), NO),
    ("NOT_EQUALS", ("A",), None, OPEN),  # no value: unequal, or nothing to compare?
    ("IN", ("A", "B"), choose(PICK, "B"), YES),
    ("IN", ("A", "B"), choose(PICK, "C"), NO),
    ("IN", ("A", "B"), None, NO),
    ("IN", ("A", "B"), choose(PICK, "A", "B"), YES),
    ("IN", ("A",), choose(PICK, "A", "C"), OPEN),  # some, or all, within Values?
    ("IN", ("A",), choose(PICK, "B", "C"), NO),
    ("NOT_IN", ("A", "B"), choose(PICK, "C"), YES),
    ("NOT_IN", ("A", "B"), choose(PICK, "A"), NO),
    ("NOT_IN", ("A", "B"), None, OPEN),
    ("NOT_IN", ("A",), choose(PICK, "A", "C"), OPEN),
    ("HAS_VALUE", (), None, NO),
    ("HAS_VALUE", (), choose(PICK, "A"), YES),
    ("HAS_VALUE", (), text(TEXT_, "x"), YES),
    ("HAS_VALUE", (), FieldValue(FILE, attachment_id="f-1"), YES),
    ("HAS_VALUE", (), choose(PICK), OPEN),  # is an empty selection a value?
    ("NO_VALUE", (), None, YES),
    ("NO_VALUE", (), text(TEXT_, "x"), NO),
    ("NO_VALUE", (), choose(PICK), OPEN),
    ("NO_VALUE", ("ignored",), choose(PICK, "A"), NO),
    ("MATCHES_REGEX", ("A.*",), choose(PICK, "A"), OPEN),  # unknown to this library
]


@pytest.mark.parametrize(("operator", "wanted", "dependency", "expected"), OPERATOR_CASES)
def test_each_operator_under_strict_semantics(
    operator: str, wanted: tuple[str, ...], dependency: FieldValue | None, expected: set[str]
) -> None:
    form = _form(FieldCondition(dependency.field_path if dependency else PICK, operator, wanted))
    given_values = values(dependency) if dependency else values()
    target = form.field("s.target")
    assert behaviors(form, target, given_values) == expected
    assert behavior(form, target, given_values) == (
        "REQUIRED" if "REQUIRED" in expected else "OPTIONAL"
    )
    required = "s.target" in missing_fields(form, given_values)
    assert required == ("REQUIRED" in expected)


@pytest.mark.parametrize(
    ("semantics", "operator", "wanted", "dependency", "expected"),
    [
        (Semantics(absent_negation="true"), "NOT_EQUALS", ("A",), None, YES),
        (Semantics(absent_negation="false"), "NOT_EQUALS", ("A",), None, NO),
        (Semantics(absent_negation="false"), "NOT_IN", ("A",), None, NO),
        (Semantics(comparison="exact"), "EQUALS", ("A",), choose(PICK, "A", "B"), NO),
        (Semantics(comparison="any"), "EQUALS", ("A",), choose(PICK, "A", "B"), YES),
        (Semantics(comparison="exact"), "IN", ("A",), choose(PICK, "A", "C"), NO),
        (Semantics(comparison="any"), "IN", ("A",), choose(PICK, "A", "C"), YES),
        (Semantics(comparison="any"), "NOT_IN", ("A",), choose(PICK, "A", "C"), NO),
        (Semantics(empty_selection="value"), "HAS_VALUE", (), choose(PICK), YES),
        (Semantics(empty_selection="no_value"), "HAS_VALUE", (), choose(PICK), NO),
        (Semantics(unknown_operator="skip"), "MATCHES_REGEX", ("A.*",), choose(PICK, "A"), NO),
    ],
)
def test_each_open_reading_can_be_chosen(
    semantics: Semantics,
    operator: str,
    wanted: tuple[str, ...],
    dependency: FieldValue | None,
    expected: set[str],
) -> None:
    form = _form(FieldCondition(PICK, operator, wanted))
    given_values = values(dependency) if dependency else values()
    assert behaviors(form, form.field("s.target"), given_values, semantics=semantics) == expected


def test_an_unknown_operator_never_makes_the_form_more_forgiving() -> None:
    unknown = FieldCondition(PICK, "MATCHES_REGEX", ("A.*",))
    # As a REQUIRED rule: the field is required (the rule may hold).
    form = _form(unknown)
    assert missing_fields(form, values()) == ("s.target",)
    # As a DISALLOWED rule: a value is refused (the rule may hold); no value is fine.
    hints = {"Title": "t", "ShortDescription": "s"}
    disallowed = ConditionalBehavior((ConditionalRule((unknown,), "DISALLOWED"),), "OPTIONAL")
    target = FieldDefinition(
        "s",
        "s.target",
        FieldType.TEXT,
        FieldRequirement.CONDITIONAL,
        TextValidation(1, 9, ".+"),
        conditional=disallowed,
        display_hints=hints,
    )
    form = RegistrationTypeDefinition(
        "US_OPS", {"Title": "t"}, (), form.sections, (*form.fields[:3], target)
    )
    assert missing_fields(form, values()) == ()
    assert [p.message for p in check_value(form, text("s.target", "x"))] == [
        "must not be given: the form disallows it"
    ]
    # AWS's documented SDK reading (false) lets the value through; "error" refuses to guess.
    assert (
        check_value(form, text("s.target", "x"), semantics=Semantics(unknown_operator="skip")) == []
    )
    with pytest.raises(
        InvalidArgument, match=re.escape("US_OPS field s.target: unknown condition operator")
    ):
        missing_fields(form, values(), semantics=Semantics(unknown_operator="error"))


def test_an_unknown_behaviour_is_both_required_and_disallowed_unless_switched() -> None:
    form = _form(FieldCondition(PICK, "HAS_VALUE"), default="HIDDEN_FOR_NOW")
    target = form.field("s.target")
    assert behaviors(form, target, values()) == {"HIDDEN_FOR_NOW"}
    assert behavior(form, target, values()) == "HIDDEN_FOR_NOW"
    assert missing_fields(form, values()) == ("s.target",)
    assert [p.message for p in check_value(form, text("s.target", "x"))] == [
        "must not be given: behaviour 'HIDDEN_FOR_NOW' is unknown to this library and may "
        "forbid a value (Semantics.unknown_behavior)"
    ]
    optional = Semantics(unknown_behavior="optional")
    assert behavior(form, target, values(), semantics=optional) == "OPTIONAL"
    assert missing_fields(form, values(), semantics=optional) == ()
    assert check_value(form, text("s.target", "x"), semantics=optional) == []
    with pytest.raises(InvalidArgument, match="unknown field behaviour 'HIDDEN_FOR_NOW'"):
        missing_fields(form, values(), semantics=Semantics(unknown_behavior="error"))


def test_open_conditions_apply_every_possible_validation() -> None:
    limited = ConditionalValidation(max_length=2)
    hints = {"Title": "t", "ShortDescription": "s"}
    # NOT_EQUALS on an empty dependency may hold: its MaxLength 2 may apply, so it does.
    rule = ConditionalRule((FieldCondition(PICK, "NOT_EQUALS", ("A",)),), "OPTIONAL", limited)
    target = FieldDefinition(
        "s",
        "s.target",
        FieldType.TEXT,
        FieldRequirement.CONDITIONAL,
        TextValidation(1, 9, ".+"),
        conditional=ConditionalBehavior((rule,), "OPTIONAL"),
        display_hints=hints,
    )
    base = _form(FieldCondition(PICK, "HAS_VALUE"))
    form = RegistrationTypeDefinition(
        "US_OPS", {"Title": "t"}, (), base.sections, (*base.fields[:3], target)
    )
    assert [p.message for p in check_value(form, text("s.target", "abc"))] == [
        "must be 1-2 characters, got 3"
    ]
    lenient = Semantics(absent_negation="false")
    assert check_value(form, text("s.target", "abc"), semantics=lenient) == []


def test_allowed_values_narrow_a_select_and_bind_a_text() -> None:
    hints = {"Title": "t", "ShortDescription": "s"}
    only_a = ConditionalValidation(allowed_values=("A",))
    rule = ConditionalRule((FieldCondition(TEXT_, "HAS_VALUE"),), "OPTIONAL", only_a)
    fields = (
        FieldDefinition(
            "s",
            "s.text",
            FieldType.TEXT,
            FieldRequirement.OPTIONAL,
            TextValidation(1, 9, ".+"),
            display_hints=hints,
        ),
        FieldDefinition(
            "s",
            "s.pick",
            FieldType.SELECT,
            FieldRequirement.CONDITIONAL,
            select_validation=SelectValidation(0, 3, DEP_OPTIONS),
            conditional=ConditionalBehavior((rule,), "OPTIONAL"),
            display_hints=hints,
        ),
        FieldDefinition(
            "s",
            "s.word",
            FieldType.TEXT,
            FieldRequirement.CONDITIONAL,
            TextValidation(1, 9, ".+"),
            conditional=ConditionalBehavior((rule,), "OPTIONAL"),
            display_hints=hints,
        ),
    )
    form = RegistrationTypeDefinition(
        "US_OPS", {"Title": "t"}, (), (SectionDefinition("s", hints),), fields
    )
    filled = values(text(TEXT_, "x"))
    assert [p.message for p in check_value(form, choose(PICK, "A", "B"), values=filled)] == [
        "'B' is not an option; the options: A"
    ]
    assert check_value(form, choose(PICK, "A", "B")) == []  # the rule does not fire
    assert [p.message for p in check_value(form, text("s.word", "B"), values=filled)] == [
        "must be one of A"
    ]


def test_semantics_refuse_unknown_choices() -> None:
    assert Semantics() == STRICT
    with pytest.raises(
        InvalidArgument, match=re.escape("Semantics.unknown_operator must be one of strict")
    ):
        Semantics(unknown_operator="lenient")  # type: ignore[arg-type]


# -- hypothesis: any well-formed catalogue round-trips ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)
extras = st.dictionaries(st.sampled_from(["Future", "Later"]), json_values, max_size=1)
words = st.text(alphabet="ABCXYZ_", min_size=1, max_size=4)


@st.composite
def type_definitions(draw: st.DrawFn, name: str) -> RegistrationTypeDefinition:
    hints = {"Title": draw(st.text(max_size=5)), "ShortDescription": "s"}
    sections = tuple(
        SectionDefinition(f"s{i}", hints, extra=draw(extras))
        for i in range(draw(st.integers(1, 3)))
    )
    fields: list[FieldDefinition] = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(FieldType))
        low = draw(st.integers(0, 3))
        requirement = draw(st.sampled_from(FieldRequirement))
        conditional = None
        if fields and requirement is FieldRequirement.CONDITIONAL and draw(st.booleans()):
            operator = draw(st.sampled_from([*ConditionOperator, "FUTURE_OP"]))
            condition = FieldCondition(
                draw(st.sampled_from(fields)).field_path,
                operator,
                draw(st.lists(words, min_size=1, max_size=3)),
                extra=draw(extras),
            )
            validation = draw(
                st.none()
                | st.builds(
                    ConditionalValidation,
                    min_length=st.none() | st.just(0),
                    pattern=st.none() | st.just("[A-Z]*"),
                    allowed_values=st.none() | st.lists(words, max_size=2),
                )
            )
            rule = ConditionalRule((condition,), draw(st.sampled_from(FieldBehavior)), validation)
            conditional = ConditionalBehavior((rule,), draw(words), extra=draw(extras))
        fields.append(
            FieldDefinition(
                draw(st.sampled_from(sections)).section_path,
                f"s.f{i}",
                kind,
                requirement,
                TextValidation(low, low + 5, draw(st.sampled_from([".*", "[a-z]+", r"\d{3}"])))
                if kind is FieldType.TEXT
                else None,
                SelectValidation(low, low + 2, tuple(draw(st.lists(words, max_size=3))))
                if kind is FieldType.SELECT
                else None,
                conditional,
                display_hints={**hints, "SelectOptionDescriptions": [{"Option": "A"}]},
                extra=draw(extras),
            )
        )
    associations = draw(
        st.lists(
            st.builds(
                SupportedAssociation,
                st.sampled_from(["PHONE_NUMBER", "SENDER_ID"]),
                st.none() | st.just("US"),
                st.sampled_from(forms.ASSOCIATION_BEHAVIORS),
                st.sampled_from(forms.DISASSOCIATION_BEHAVIORS),
            ),
            max_size=2,
        )
    )
    return RegistrationTypeDefinition(
        name, {"Title": name}, associations, sections, fields, extra=draw(extras)
    )


catalogues = st.builds(
    lambda types, source, extra: Catalog(
        {t.registration_type: t for t in types}, source, extra=extra
    ),
    st.tuples(type_definitions("US_A"), type_definitions("CA_B")),
    st.text(max_size=10),
    extras,
)


@given(catalogues)
def test_any_catalogue_round_trips_through_its_file_format(catalog: Catalog) -> None:
    text_form = json.dumps(catalog.to_json())
    assert Catalog.from_json(text_form) == catalog
    for definition in catalog.types.values():
        for field in definition.fields:
            assert FieldDefinition.from_api(field.to_api()) == field
        again = RegistrationTypeDefinition.from_api(
            definition.to_api(),
            [s.to_api() for s in definition.sections],
            [f.to_api() for f in definition.fields],
        )
        assert again == definition
