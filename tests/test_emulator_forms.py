"""The emulator's registration forms, three ways: a real boto3 client over HTTP, the
boto3 adapter (``Boto3RegistrationApi``) over the same HTTP, and the emulator's own
methods in process.

Every answer the emulator gives is checked against botocore's model as it leaves
``handle`` (:class:`CheckedEmulator`): a response against the operation's output shape
(types, required and unknown members, enums, lengths, patterns); an error against the
errors the operation declares and their shapes (the ``Reason`` enums).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator
from helpers import TickingClock
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.domain.forms import (
    Catalog,
    FieldDefinition,
    FieldType,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    check_value,
    missing_fields,
)
from registration_fsm.emulator import EmulatedRegistrationApi, serve
from registration_fsm.emulator.forms import (
    ATTACHMENT_MAX_BYTES,
    ENV_CATALOG,
    FORM_OPERATIONS,
    MISSING_FIELD,
    AccountLimits,
    FormRules,
    resolve_catalog,
)
from registration_fsm.emulator.wire import error_response
from registration_fsm.errors import (
    ApiError,
    ApiValidationError,
    ConflictError,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    ThrottledError,
)
from registration_fsm.quotas import DEFAULT_QUOTAS, FROM_ENVIRONMENT

BRAND = "US_TEN_DLC_BRAND_REGISTRATION"
CAMPAIGN = "US_TEN_DLC_CAMPAIGN_REGISTRATION"
TOLL_FREE = "US_TOLL_FREE_REGISTRATION"
SENDER_ID = "ID_SENDER_ID_REGISTRATION"
TYPES = (BRAND, CAMPAIGN, TOLL_FREE, SENDER_ID)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0" + bytes(24)
GIF = b"GIF89a" + bytes(24)


@functools.cache
def model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")


@functools.cache
def session() -> boto3.session.Session:
    """One session for every client (it caches the service model)."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def catalog() -> Catalog:
    return Catalog.builtin()


def definition(reg_type: str) -> RegistrationTypeDefinition:
    return catalog().type(reg_type)


# -- every answer checked against the model ---------------------------------------------------


def shape_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """What botocore's ParamValidator does not check: enums, maximum lengths, patterns."""
    out: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if value.get(name) is not None:
                out += shape_problems(member, value[name], f"{path}.{name}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            out += shape_problems(shape.member, item, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        for key, item in value.items():
            out += shape_problems(shape.value, item, f"{path}[{key!r}]")
    elif isinstance(shape, StringShape) and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of the {shape.name} enum")
        high, pattern = shape.metadata.get("max"), shape.metadata.get("pattern")
        if high is not None and len(value) > high:
            out.append(f"{path}: {len(value)} characters, over {high}")
        if pattern is not None and not re.fullmatch(pattern, value):
            out.append(f"{path}: {value!r} does not match {pattern}")
    return out


def fits(shape: Shape, value: Mapping[str, Any], what: str) -> list[str]:
    report = ParamValidator().validate(dict(value), shape)
    out = [f"{what}: {report.generate_report()}"] if report.has_errors() else []
    return out + [f"{what}{p}" for p in shape_problems(shape, value, "")]


class CheckedEmulator(EmulatedRegistrationApi):
    """The emulator, recording in :attr:`model_breaks` every answer the model does not allow."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.model_breaks: list[str] = []

    def handle(
        self, operation: str, params: Mapping[str, Any], *, paced: bool = False
    ) -> dict[str, Any]:
        op = model().operation_model(operation)
        try:
            result = super().handle(operation, params, paced=paced)
        except Exception as err:
            _, body = error_response(err)
            declared = {e.name: e for e in op.error_shapes}
            code = body["__type"]
            if code not in declared:
                self.model_breaks.append(f"{operation} answered {code}, which it does not declare")
            else:
                members = {k: v for k, v in body.items() if k not in ("__type", "message")}
                self.model_breaks += fits(declared[code], members, f"{operation} {code}")
            raise
        assert op.output_shape is not None
        self.model_breaks += fits(op.output_shape, result, operation)
        return result


# -- a world: an emulator with registrations, served, and three ways to it ---------------------


@dataclass
class World:
    emu: CheckedEmulator
    sms: PinpointSMSVoiceV2Client
    adapter: Boto3RegistrationApi
    clock: TickingClock
    ids: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> str:
        try:
            return self.ids[name]
        except KeyError:
            raise AttributeError(name) from None


@contextmanager
def world_of(**options: Any) -> Iterator[World]:
    """A fresh emulator with the shipped catalogue (unless ``options`` say otherwise): a
    brand, a campaign, a toll-free and a sender ID registration (all DRAFT), a toll-free
    number, a 10DLC number, an Indonesian sender ID and a PDF attachment."""
    clock = options.pop("clock", None) or TickingClock()
    options.setdefault("catalog", catalog())
    emu = CheckedEmulator(clock=clock, seed=7, **options)
    ids: dict[str, str] = {}
    if emu.forms.catalog is not None:
        for name, reg_type in (
            ("brand", BRAND),
            ("campaign", CAMPAIGN),
            ("toll_free", TOLL_FREE),
            ("sender_id", SENDER_ID),
        ):
            ids[name] = emu.create_registration(reg_type)["RegistrationId"]
    ids["tfn"] = emu.add_origination_identity(phone_number="+18005550100")["ResourceId"]
    ids["ten_dlc"] = emu.add_origination_identity(
        phone_number="+12065550100", number_type="TEN_DLC"
    )["ResourceId"]
    ids["sender"] = emu.add_origination_identity("sender-id", iso_country_code="ID")["ResourceId"]
    limits = emu.forms.limits
    if limits.attachments != 0 and limits.attachments_per_day != 0:
        ids["pdf"] = emu.create_registration_attachment(attachment_body=PDF)[
            "RegistrationAttachmentId"
        ]
    with serve(emu) as url:
        sms: PinpointSMSVoiceV2Client = session().client(
            "pinpoint-sms-voice-v2",
            endpoint_url=url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        try:
            yield World(emu, sms, Boto3RegistrationApi(sms), clock, ids)
        finally:
            sms.close()
    assert emu.model_breaks == []


@pytest.fixture
def new_world() -> Iterator[Callable[..., World]]:
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(world_of(**options))


@pytest.fixture
def world(new_world: Callable[..., World]) -> World:
    return new_world()


def state(emu: EmulatedRegistrationApi) -> Any:
    """Everything a refusal must leave as it was: registrations, versions, every version's
    field values, associations, attachments, and the day's creation counts."""
    out = []
    for reg in emu.describe_registrations():
        reg_id = reg["RegistrationId"]
        versions = list(emu.describe_registration_versions(reg_id))
        values = {
            v["VersionNumber"]: list(
                emu.describe_registration_field_values(reg_id, version_number=v["VersionNumber"])
            )
            for v in versions
        }
        out.append((reg, versions, values, list(emu.list_registration_associations(reg_id))))
    return out, list(emu.describe_registration_attachments()), dict(emu.forms._created)


# -- one call, three ways ------------------------------------------------------------------------


def raw_call(sms: PinpointSMSVoiceV2Client, operation: str, params: Mapping[str, Any]) -> Any:
    """One request through boto3 as is (one page of a listing)."""
    method = getattr(sms, botocore.xform_name(operation))
    return method(**params)


def port_call(port: Any, operation: str, p: Mapping[str, Any]) -> Any:
    """The same request through a RegistrationApi/FormsApi (a listing: every item)."""
    tags = {t["Key"]: t["Value"] for t in p["Tags"]} if "Tags" in p else None
    match operation:
        case "CreateRegistration":
            return port.create_registration(
                p["RegistrationType"], client_token=p.get("ClientToken"), tags=tags
            )
        case "CreateRegistrationVersion":
            return port.create_registration_version(p["RegistrationId"])
        case "SubmitRegistrationVersion":
            return port.submit_registration_version(p["RegistrationId"])
        case "DeleteRegistration":
            return port.delete_registration(p["RegistrationId"])
        case "DescribeRegistrationTypeDefinitions":
            return list(
                port.describe_registration_type_definitions(
                    registration_types=p.get("RegistrationTypes", ()),
                    filters=p.get("Filters", ()),
                )
            )
        case "DescribeRegistrationSectionDefinitions":
            return list(
                port.describe_registration_section_definitions(
                    p["RegistrationType"], section_paths=p.get("SectionPaths", ())
                )
            )
        case "DescribeRegistrationFieldDefinitions":
            return list(
                port.describe_registration_field_definitions(
                    p["RegistrationType"],
                    section_path=p.get("SectionPath"),
                    field_paths=p.get("FieldPaths", ()),
                )
            )
        case "PutRegistrationFieldValue":
            return port.put_registration_field_value(
                p["RegistrationId"],
                p["FieldPath"],
                select_choices=p.get("SelectChoices"),
                text_value=p.get("TextValue"),
                attachment_id=p.get("RegistrationAttachmentId"),
            )
        case "DeleteRegistrationFieldValue":
            return port.delete_registration_field_value(p["RegistrationId"], p["FieldPath"])
        case "DescribeRegistrationFieldValues":
            return list(
                port.describe_registration_field_values(
                    p["RegistrationId"],
                    version_number=p.get("VersionNumber"),
                    section_path=p.get("SectionPath"),
                    field_paths=p.get("FieldPaths", ()),
                )
            )
        case "CreateRegistrationAttachment":
            return port.create_registration_attachment(
                attachment_body=p.get("AttachmentBody"),
                attachment_url=p.get("AttachmentUrl"),
                tags=tags,
                client_token=p.get("ClientToken"),
            )
        case "DeleteRegistrationAttachment":
            return port.delete_registration_attachment(p["RegistrationAttachmentId"])
        case "DescribeRegistrationAttachments":
            return list(
                port.describe_registration_attachments(
                    attachment_ids=p.get("RegistrationAttachmentIds", ()),
                    filters=p.get("Filters", ()),
                )
            )
        case "CreateRegistrationAssociation":
            return port.create_registration_association(p["RegistrationId"], p["ResourceId"])
        case "ListRegistrationAssociations":
            return list(
                port.list_registration_associations(
                    p["RegistrationId"], filters=p.get("Filters", ())
                )
            )
    raise AssertionError(f"no port call for {operation}")


#: (exception code, Reason, the names in Fields).
Answer = tuple[str, str | None, list[str]]


def answer(err: Exception) -> Answer:
    """(exception code, Reason, the Fields' names) as boto3 or the library reports them."""
    if isinstance(err, ClientError):
        response: Any = err.response
        fields = [f["Name"] for f in response.get("Fields") or ()]
        return response["Error"]["Code"], response.get("Reason"), fields
    assert isinstance(err, ApiError), f"{type(err).__name__}: {err}"
    fields = [name for name, _ in getattr(err, "fields", ())]
    return err.code, getattr(err, "reason", None), fields


def refused_three_ways(
    w: World,
    operation: str,
    params: Mapping[str, Any],
    expected: Answer,
    *,
    ports: bool = True,
) -> None:
    """``operation`` is refused with ``expected`` by boto3 (and the adapter and the emulator's
    own methods, when ``ports``), and after each refusal the state is as it was."""
    before = state(w.emu)
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("boto3", lambda: raw_call(w.sms, operation, params))
    ]
    if ports:
        calls += [
            ("adapter", lambda: port_call(w.adapter, operation, params)),
            ("emulator", lambda: port_call(w.emu, operation, params)),
        ]
    for name, call in calls:
        with pytest.raises((ClientError, ApiError)) as info:
            call()
        assert answer(info.value) == expected, name
        assert state(w.emu) == before, f"{name}: the refusal changed the state"


# -- filling a form ----------------------------------------------------------------------------


def text_candidates(f: FieldDefinition) -> Iterator[str]:
    example = f.display_hints.get("ExampleTextValue")
    if example:
        yield example
    assert f.text_validation is not None
    low, high = max(f.text_validation.min_length, 1), f.text_validation.max_length
    yield ("Example text for the registration form. " * 120)[: max(low, 60)][:high].strip()
    yield "A" * low


def valid_value(
    d: RegistrationTypeDefinition, f: FieldDefinition, values: FieldValues, attachment: str
) -> FieldValue:
    """A value ``f`` takes beside ``values`` (its example where that validates)."""
    if f.field_type is FieldType.ATTACHMENT:
        candidates = [FieldValue(f.field_path, attachment_id=attachment)]
    elif f.field_type is FieldType.SELECT:
        assert f.select_validation is not None
        low = max(f.select_validation.min_choices, 1)
        candidates = [FieldValue(f.field_path, select_choices=f.select_validation.options[:low])]
    else:
        candidates = [FieldValue(f.field_path, text_value=t) for t in text_candidates(f)]
    for value in candidates:
        if not check_value(d, value, values=values, attachment_ok=lambda _: True):
            return value
    raise AssertionError(f"no valid value found for {f.field_path}")


def complete_form(
    d: RegistrationTypeDefinition,
    attachment: str,
    chosen: Mapping[str, FieldValue] = {},
) -> FieldValues:
    """Values for every field that must have one (REQUIRED, and CONDITIONAL made required by
    the others), starting from ``chosen``."""
    values = FieldValues.of(chosen.values())
    while missing := missing_fields(d, values):
        f = d.field(missing[0])
        values = values.with_value(valid_value(d, f, values, attachment))
    return values


def put_raw(w: World, reg_id: str, value: FieldValue) -> dict[str, Any]:
    params: dict[str, Any] = {"RegistrationId": reg_id, **value.to_api()}
    return dict(w.sms.put_registration_field_value(**params))


def associate_before_submit(w: World, reg_type: str, reg_id: str) -> None:
    if reg_type == TOLL_FREE:
        w.sms.create_registration_association(RegistrationId=reg_id, ResourceId=w.tfn)
    elif reg_type == CAMPAIGN:
        w.sms.create_registration_association(RegistrationId=reg_id, ResourceId=approved_brand(w))


def approved_brand(w: World) -> str:
    """The world's brand, made COMPLETE first if it is not: a campaign is associated
    with its brand once the brand is registered (ConflictException otherwise)."""
    (info,) = w.emu.describe_registrations(registration_ids=[w.brand])
    if info["RegistrationStatus"] == "CREATED":
        fill(w, BRAND, w.brand)
        w.sms.submit_registration_version(RegistrationId=w.brand)
        for trigger in ("begin_review", "approve"):
            w.emu.advance(w.brand, trigger)
    return w.brand


def fill(w: World, reg_type: str, reg_id: str, **chosen: FieldValue) -> FieldValues:
    values = complete_form(definition(reg_type), w.pdf, chosen)
    for value in values.values():
        put_raw(w, reg_id, value)
    return values


def fields_of(w: World, reg_id: str, version: int | None = None) -> dict[str, FieldValue]:
    params: dict[str, Any] = {"RegistrationId": reg_id}
    if version is not None:
        params["VersionNumber"] = version
    pages = w.sms.get_paginator("describe_registration_field_values").paginate(**params)
    return {
        item["FieldPath"]: FieldValue.from_api(item)
        for page in pages
        for item in page["RegistrationFieldValues"]
    }


def client_error(call: Callable[[], Any]) -> Answer:
    with pytest.raises(ClientError) as info:
        call()
    return answer(info.value)


def text(path: str, value: str) -> FieldValue:
    return FieldValue(path, text_value=value)


def select(path: str, *choices: str) -> FieldValue:
    return FieldValue(path, select_choices=choices)


# -- every operation's happy path ----------------------------------------------------------------

ATTACHMENT_ID_RE = re.compile(r"attachment-[0-9a-f]{32}")
ARN_PREFIX = "arn:aws:sms-voice:us-east-1:123456789012:"


def test_every_form_operation_through_boto3_over_http(world: World) -> None:
    w, sms = world, world.sms
    types = sms.describe_registration_type_definitions()["RegistrationTypeDefinitions"]
    assert types == [catalog().type(t).to_api() for t in sorted(TYPES)]
    sections = sms.describe_registration_section_definitions(RegistrationType=BRAND)
    assert sections["RegistrationType"] == BRAND
    assert [s["SectionPath"] for s in sections["RegistrationSectionDefinitions"]] == [
        "companyInfo",
        "contactInfo",
    ]
    fields = sms.describe_registration_field_definitions(
        RegistrationType=BRAND, SectionPath="contactInfo"
    )["RegistrationFieldDefinitions"]
    assert fields == [
        f.to_api() for f in definition(BRAND).fields if f.section_path == "contactInfo"
    ]

    put = sms.put_registration_field_value(
        RegistrationId=w.brand, FieldPath="companyInfo.companyName", TextValue="Example Corp"
    )
    assert {k: v for k, v in put.items() if k != "ResponseMetadata"} == {
        "RegistrationArn": f"{ARN_PREFIX}registration/{w.brand}",
        "RegistrationId": w.brand,
        "VersionNumber": 1,
        "FieldPath": "companyInfo.companyName",
        "TextValue": "Example Corp",
    }
    sms.put_registration_field_value(
        RegistrationId=w.brand, FieldPath="companyInfo.legalType", SelectChoices=["NON_PROFIT"]
    )
    by_arn = sms.put_registration_field_value(
        RegistrationId=f"{ARN_PREFIX}registration/{w.campaign}",
        FieldPath="campaignInfo.optInScreenshot",
        RegistrationAttachmentId=f"{ARN_PREFIX}registration-attachment/{w.pdf}",
    )
    assert by_arn["RegistrationAttachmentId"] == w.pdf  # an ARN is kept as the id
    values = sms.describe_registration_field_values(RegistrationId=w.brand)
    assert values["VersionNumber"] == 1
    assert values["RegistrationFieldValues"] == [  # in the form's order
        {"FieldPath": "companyInfo.companyName", "TextValue": "Example Corp"},
        {"FieldPath": "companyInfo.legalType", "SelectChoices": ["NON_PROFIT"]},
    ]
    deleted = sms.delete_registration_field_value(
        RegistrationId=w.brand, FieldPath="companyInfo.legalType"
    )
    assert deleted["SelectChoices"] == ["NON_PROFIT"]
    assert list(fields_of(w, w.brand)) == ["companyInfo.companyName"]

    made = sms.create_registration_attachment(
        AttachmentUrl="s3://example-bucket/loa.pdf", Tags=[{"Key": "team", "Value": "sms"}]
    )
    att_id = made["RegistrationAttachmentId"]
    assert ATTACHMENT_ID_RE.fullmatch(att_id)
    assert made["RegistrationAttachmentArn"] == f"{ARN_PREFIX}registration-attachment/{att_id}"
    assert made["AttachmentStatus"] == "UPLOAD_COMPLETE"
    assert made["Tags"] == [{"Key": "team", "Value": "sms"}]
    assert made["CreatedTimestamp"] == w.clock.now
    listed = sms.describe_registration_attachments(RegistrationAttachmentIds=[att_id])
    (info,) = listed["RegistrationAttachments"]
    assert info["AttachmentUrl"] == "s3://example-bucket/loa.pdf"
    gone = sms.delete_registration_attachment(RegistrationAttachmentId=att_id)
    assert (gone["RegistrationAttachmentId"], gone["AttachmentStatus"]) == (att_id, "DELETED")

    tied = sms.create_registration_association(RegistrationId=w.toll_free, ResourceId=w.tfn)
    assert tied["RegistrationType"] == TOLL_FREE
    assert tied["ResourceType"] == "TOLL_FREE"
    assert tied["ResourceArn"] == f"{ARN_PREFIX}phone-number/{w.tfn}"
    assert (tied["IsoCountryCode"], tied["PhoneNumber"]) == ("US", "+18005550100")
    associations = sms.list_registration_associations(RegistrationId=w.toll_free)
    assert associations["RegistrationType"] == TOLL_FREE
    assert associations["RegistrationAssociations"] == [
        {k: tied[k] for k in ("ResourceArn", "ResourceId", "ResourceType", "IsoCountryCode",
                              "PhoneNumber")}
    ]  # fmt: skip


@pytest.mark.parametrize("front", ["adapter", "emulator"])
def test_every_form_operation_through_the_port(world: World, front: str) -> None:
    w = world
    port: Any = w.adapter if front == "adapter" else w.emu
    types = list(port.describe_registration_type_definitions(registration_types=[TOLL_FREE]))
    assert types == [definition(TOLL_FREE).to_api()]
    sections = list(port.describe_registration_section_definitions(CAMPAIGN, page_size=2))
    assert sections == [s.to_api() for s in definition(CAMPAIGN).sections]
    paths = [f.field_path for f in definition(CAMPAIGN).fields]
    fields = list(port.describe_registration_field_definitions(CAMPAIGN, field_paths=paths))
    assert [f["FieldPath"] for f in fields] == paths  # 34 paths: 7 requests of 5
    put = port.put_registration_field_value(
        w.brand, "contactInfo.vertical", select_choices=["EDUCATION"]
    )
    assert put["SelectChoices"] == ["EDUCATION"]
    port.put_registration_field_value(
        w.brand, "contactInfo.website", text_value="https://a.example"
    )
    port.put_registration_field_value(
        w.sender_id, "idSidSpecificInfo.letterOfAuthorization3", attachment_id=w.pdf
    )
    website = port.describe_registration_field_values(w.brand, field_paths=["contactInfo.website"])
    assert list(website) == [{"FieldPath": "contactInfo.website", "TextValue": "https://a.example"}]
    assert [v["FieldPath"] for v in port.describe_registration_field_values(w.brand)] == [
        "contactInfo.vertical",
        "contactInfo.website",
    ]
    removed = port.delete_registration_field_value(w.brand, "contactInfo.website")
    assert removed["TextValue"] == "https://a.example"
    made = port.create_registration_attachment(attachment_body=PNG, client_token="png-1")
    assert made["AttachmentStatus"] == "UPLOAD_COMPLETE"
    assert [a["RegistrationAttachmentId"] for a in port.describe_registration_attachments()] == [
        w.pdf,
        made["RegistrationAttachmentId"],
    ]
    gone = port.delete_registration_attachment(made["RegistrationAttachmentArn"])
    assert gone["AttachmentStatus"] == "DELETED"
    tied = port.create_registration_association(w.sender_id, w.sender)
    assert (tied["ResourceType"], tied["IsoCountryCode"]) == ("SENDER_ID", "ID")
    assert "PhoneNumber" not in tied
    assert [a["ResourceId"] for a in port.list_registration_associations(w.sender_id)] == [w.sender]


# -- pagination -------------------------------------------------------------------------------


def test_paginators_cross_pages_with_small_page_sizes(world: World) -> None:
    w, sms = world, world.sms
    fill_paths = fill(w, BRAND, w.brand)  # 14 values
    for _ in range(4):
        sms.create_registration_attachment(AttachmentBody=JPEG)
    for i in range(5):
        number = w.emu.add_origination_identity(phone_number=f"+1800555010{i + 1}")
        sms.create_registration_association(
            RegistrationId=w.toll_free, ResourceId=number["ResourceId"]
        )
    cases: list[tuple[str, dict[str, Any], str, list[Any] | int]] = [
        ("describe_registration_type_definitions", {}, "RegistrationTypeDefinitions",
         sorted(TYPES)),
        ("describe_registration_section_definitions", {"RegistrationType": CAMPAIGN},
         "RegistrationSectionDefinitions", [s.section_path for s in definition(CAMPAIGN).sections]),
        ("describe_registration_field_definitions", {"RegistrationType": BRAND},
         "RegistrationFieldDefinitions", [f.field_path for f in definition(BRAND).fields]),
        ("describe_registration_field_values", {"RegistrationId": w.brand},
         "RegistrationFieldValues",
         [p for p in definition(BRAND).field_paths if p in fill_paths]),
        ("describe_registration_attachments", {}, "RegistrationAttachments", 5),
        ("list_registration_associations", {"RegistrationId": w.toll_free},
         "RegistrationAssociations", 5),
    ]  # fmt: skip
    key_of = {
        "RegistrationTypeDefinitions": "RegistrationType",
        "RegistrationSectionDefinitions": "SectionPath",
        "RegistrationFieldDefinitions": "FieldPath",
        "RegistrationFieldValues": "FieldPath",
        "RegistrationAttachments": "RegistrationAttachmentId",
        "RegistrationAssociations": "ResourceId",
    }
    for method, params, key, expected in cases:
        paginator = sms.get_paginator(method)  # type: ignore[call-overload]
        pages = list(paginator.paginate(**params, PaginationConfig={"PageSize": 2}))
        items = [item[key_of[key]] for page in pages for item in page[key]]
        everything = [
            item[key_of[key]] for item in getattr(sms, method)(**params, MaxResults=100)[key]
        ]
        assert items == everything, method
        if isinstance(expected, int):
            assert len(items) == expected, method
        else:
            assert items == expected, method
        assert len(pages) == (len(items) + 1) // 2, method
        assert all(len(page[key]) <= 2 for page in pages)
        assert "NextToken" not in pages[-1]


def test_a_next_token_is_refused_with_another_query(world: World) -> None:
    w, sms = world, world.sms
    fill(w, BRAND, w.brand)
    sms.create_registration_attachment(AttachmentBody=PNG)
    sms.create_registration_association(RegistrationId=w.toll_free, ResourceId=w.tfn)
    sms.create_registration_association(
        RegistrationId=w.toll_free,
        ResourceId=w.emu.add_origination_identity(phone_number="+18005550111")["ResourceId"],
    )
    invalid: Answer = ("ValidationException", "INVALID_NEXT_TOKEN", ["NextToken"])
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("describe_registration_type_definitions", {},
         {"Filters": [{"Name": "supported-association-iso-country-code", "Values": ["US"]}]}),
        ("describe_registration_section_definitions", {"RegistrationType": CAMPAIGN},
         {"RegistrationType": TOLL_FREE}),
        ("describe_registration_field_definitions", {"RegistrationType": BRAND},
         {"RegistrationType": BRAND, "SectionPath": "companyInfo"}),
        ("describe_registration_field_values", {"RegistrationId": w.brand},
         {"RegistrationId": w.brand, "FieldPaths": ["companyInfo.taxId"]}),
        ("describe_registration_attachments", {},
         {"Filters": [{"Name": "attachment-status", "Values": ["UPLOAD_COMPLETE"]}]}),
        ("list_registration_associations", {"RegistrationId": w.toll_free},
         {"RegistrationId": w.toll_free,
          "Filters": [{"Name": "iso-country-code", "Values": ["US"]}]}),
    ]  # fmt: skip
    for method, first, other in cases:
        call = getattr(sms, method)
        token = call(**first, MaxResults=1)["NextToken"]
        assert call(**first, MaxResults=1, NextToken=token)  # the same query resumes
        before = state(w.emu)
        replayed = functools.partial(call, **other, MaxResults=1, NextToken=token)
        assert client_error(replayed) == invalid
        assert state(w.emu) == before
    # A token of one operation means nothing to another.
    token = sms.describe_registration_attachments(MaxResults=1)["NextToken"]
    elsewhere = functools.partial(sms.describe_registration_type_definitions, NextToken=token)
    assert client_error(elsewhere) == invalid


# -- every refusal, as boto3 sees it, state unchanged ------------------------------------------

V, C, NF, Q = (
    "ValidationException",
    "ConflictException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
)


@dataclass(frozen=True)
class Refusal:
    """``operation`` with ``params(world)``, after ``setup(world)``, on an emulator made
    with ``options``, answers (code, reason, fields). ``ports``: the adapter and the
    emulator's methods send it too (False: they refuse it before sending, see
    test_the_ports_refuse_what_they_cannot_send)."""

    name: str
    operation: str
    params: Callable[[World], dict[str, Any]]
    code: str
    reason: str | None
    fields: tuple[str, ...] = ()
    setup: Callable[[World], Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    ports: bool = True


def _submitted(w: World, *, then_discard: bool = False) -> None:
    fill(w, BRAND, w.brand)
    w.sms.submit_registration_version(RegistrationId=w.brand)
    if then_discard:
        w.sms.discard_registration_version(RegistrationId=w.brand)


def _in_review(w: World) -> None:
    _submitted(w)
    w.emu.advance(w.brand, "begin_review")


def _used_pdf(w: World) -> None:
    w.sms.put_registration_field_value(
        RegistrationId=w.campaign, FieldPath="campaignInfo.optInScreenshot",
        RegistrationAttachmentId=w.pdf,
    )  # fmt: skip


def _failed_upload(w: World) -> None:
    made = w.sms.create_registration_attachment(AttachmentUrl="s3://example-bucket/loa.pdf")
    assert made["AttachmentStatus"] == "UPLOAD_FAILED"
    w.ids["failed"] = made["RegistrationAttachmentId"]


def _campaign_with_number(w: World) -> None:
    _campaign_complete(w)
    w.sms.create_registration_association(RegistrationId=w.campaign, ResourceId=w.ten_dlc)


def _campaign_complete(w: World) -> None:
    fill(w, CAMPAIGN, w.campaign)
    w.sms.create_registration_association(RegistrationId=w.campaign, ResourceId=approved_brand(w))
    w.sms.submit_registration_version(RegistrationId=w.campaign)
    w.emu.advance(w.campaign, "begin_review")
    w.emu.advance(w.campaign, "approve")


def _sender_id_submitted(w: World) -> None:
    fill(w, SENDER_ID, w.sender_id)
    w.sms.submit_registration_version(RegistrationId=w.sender_id)


def _deleted_brand(w: World) -> None:
    w.sms.delete_registration(RegistrationId=w.brand)


def _token_used(w: World) -> None:
    w.sms.create_registration_attachment(AttachmentBody=PDF, ClientToken="tok-1")


def _tfn_taken(w: World, *, then_another: bool = False) -> None:
    w.sms.create_registration_association(RegistrationId=w.toll_free, ResourceId=w.tfn)
    if then_another:  # the test's toll_free is now a second one
        w.ids["toll_free"] = w.sms.create_registration(RegistrationType=TOLL_FREE)["RegistrationId"]


def _brand_taken(w: World) -> None:
    w.sms.create_registration_association(RegistrationId=w.campaign, ResourceId=approved_brand(w))


def _brand_value(w: World) -> None:
    put_raw(w, w.brand, text("companyInfo.companyName", "Example Corp"))


def _put(reg: str, **value: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"RegistrationId": getattr(w, reg), **value}


COMPANY = "companyInfo.companyName"
BIG = bytes(ATTACHMENT_MAX_BYTES - 4)

REFUSALS = [
    # CreateRegistration
    Refusal("unknown type", "CreateRegistration",
            lambda w: {"RegistrationType": "NO_SUCH_TYPE_AT_ALL"},
            V, "UNKNOWN_REGISTRATION_TYPE", ("RegistrationType",)),
    # Describe*Definitions
    Refusal("unknown type in a list", "DescribeRegistrationTypeDefinitions",
            lambda w: {"RegistrationTypes": [BRAND, "NO_SUCH_TYPE"]},
            V, "UNKNOWN_REGISTRATION_TYPE", ("RegistrationTypes[1]",)),
    Refusal("sections of an unknown type", "DescribeRegistrationSectionDefinitions",
            lambda w: {"RegistrationType": "NO_SUCH_TYPE"},
            V, "UNKNOWN_REGISTRATION_TYPE", ("RegistrationType",)),
    Refusal("unknown section", "DescribeRegistrationSectionDefinitions",
            lambda w: {"RegistrationType": BRAND, "SectionPaths": ["companyInfo", "nope"]},
            V, "UNKNOWN_REGISTRATION_SECTION", ("SectionPaths[1]",)),
    Refusal("fields of an unknown type", "DescribeRegistrationFieldDefinitions",
            lambda w: {"RegistrationType": "NO_SUCH_TYPE"},
            V, "UNKNOWN_REGISTRATION_TYPE", ("RegistrationType",)),
    Refusal("fields of an unknown section", "DescribeRegistrationFieldDefinitions",
            lambda w: {"RegistrationType": BRAND, "SectionPath": "messageSamples"},
            V, "UNKNOWN_REGISTRATION_SECTION", ("SectionPath",)),
    Refusal("unknown field definition", "DescribeRegistrationFieldDefinitions",
            lambda w: {"RegistrationType": BRAND, "FieldPaths": ["companyInfo.nope"]},
            V, "UNKNOWN_REGISTRATION_FIELD", ("FieldPaths[0]",)),
    Refusal("forged NextToken", "DescribeRegistrationFieldDefinitions",
            lambda w: {"RegistrationType": BRAND, "NextToken": "eyJjIjoxfQ.AAAA"},
            V, "INVALID_NEXT_TOKEN", ("NextToken",), ports=False),
    # PutRegistrationFieldValue
    Refusal("no value", "PutRegistrationFieldValue", _put("brand", FieldPath=COMPANY),
            V, "MISSING_PARAMETER", ("FieldPath",), ports=False),
    Refusal("two values", "PutRegistrationFieldValue",
            _put("brand", FieldPath=COMPANY, TextValue="A", SelectChoices=["A"]),
            V, "PARAMETERS_CANNOT_BE_USED_TOGETHER", ("TextValue",), ports=False),
    Refusal("unknown field", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.nope", TextValue="A"),
            V, "UNKNOWN_REGISTRATION_FIELD", ("FieldPath",)),
    Refusal("unknown registration", "PutRegistrationFieldValue",
            lambda w: {"RegistrationId": "registration-" + "0" * 32, "FieldPath": COMPANY,
                       "TextValue": "A"},
            NF, None),
    Refusal("text too long and off the pattern", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.taxIdIssuingCountry", TextValue="usa"),
            V, "FIELD_VALIDATION_FAILED",
            ("companyInfo.taxIdIssuingCountry", "companyInfo.taxIdIssuingCountry")),
    Refusal("text too short", "PutRegistrationFieldValue",
            _put("campaign", FieldPath="messageSamples.messageSample1", TextValue="Hi"),
            V, "FIELD_VALIDATION_FAILED", ("messageSamples.messageSample1",)),
    Refusal("a choice not offered", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.legalType", SelectChoices=["LLC"]),
            V, "FIELD_VALIDATION_FAILED", ("companyInfo.legalType",)),
    Refusal("too many choices", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.legalType",
                 SelectChoices=["NON_PROFIT", "GOVERNMENT"]),
            V, "FIELD_VALIDATION_FAILED", ("companyInfo.legalType",)),
    Refusal("no choice", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.legalType", SelectChoices=[]),
            V, "FIELD_VALIDATION_FAILED", ("companyInfo.legalType",)),
    Refusal("text for a SELECT", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.legalType", TextValue="NON_PROFIT"),
            V, "FIELD_VALIDATION_FAILED", ("companyInfo.legalType",)),
    Refusal("choices for a TEXT", "PutRegistrationFieldValue",
            _put("brand", FieldPath=COMPANY, SelectChoices=["Example Corp"]),
            V, "FIELD_VALIDATION_FAILED", (COMPANY,)),
    Refusal("an attachment for a TEXT", "PutRegistrationFieldValue",
            lambda w: {"RegistrationId": w.brand, "FieldPath": COMPANY,
                       "RegistrationAttachmentId": w.pdf},
            V, "FIELD_VALIDATION_FAILED", (COMPANY,)),
    Refusal("an unknown attachment", "PutRegistrationFieldValue",
            _put("campaign", FieldPath="campaignInfo.optInScreenshot",
                 RegistrationAttachmentId="attachment-" + "0" * 32),
            V, "FIELD_VALIDATION_FAILED", ("campaignInfo.optInScreenshot",)),
    Refusal("a failed upload", "PutRegistrationFieldValue",
            lambda w: {"RegistrationId": w.campaign, "FieldPath": "campaignInfo.optInScreenshot",
                       "RegistrationAttachmentId": w.failed},
            V, "FIELD_VALIDATION_FAILED", ("campaignInfo.optInScreenshot",),
            setup=_failed_upload, options={"form_rules": FormRules(url_upload="failed")}),
    Refusal("put after submit", "PutRegistrationFieldValue",
            _put("brand", FieldPath=COMPANY, TextValue="Other Corp"),
            C, "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED", setup=_submitted),
    Refusal("a bad value after submit: validation first", "PutRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.legalType", SelectChoices=["LLC"]),
            V, "FIELD_VALIDATION_FAILED", ("companyInfo.legalType",), setup=_submitted),
    Refusal("put on a deleted registration", "PutRegistrationFieldValue",
            _put("brand", FieldPath=COMPANY, TextValue="Example Corp"),
            C, "RESOURCE_NOT_ACTIVE", setup=_deleted_brand, options={"keep_deleted": True}),
    # DeleteRegistrationFieldValue
    Refusal("delete after submit", "DeleteRegistrationFieldValue",
            _put("brand", FieldPath=COMPANY),
            C, "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED", setup=_submitted),
    Refusal("delete a value never put", "DeleteRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.taxId"),
            V, "REGISTRATION_FIELD_CANNOT_BE_DELETED", ("FieldPath",), setup=_brand_value),
    Refusal("delete an unknown field", "DeleteRegistrationFieldValue",
            _put("brand", FieldPath="companyInfo.nope"),
            V, "UNKNOWN_REGISTRATION_FIELD", ("FieldPath",)),
    # DescribeRegistrationFieldValues
    Refusal("values of an unknown version", "DescribeRegistrationFieldValues",
            _put("brand", VersionNumber=2), V, "UNKNOWN_REGISTRATION_VERSION", ("VersionNumber",)),
    Refusal("values of an unknown section", "DescribeRegistrationFieldValues",
            _put("brand", SectionPath="nope"), V, "UNKNOWN_REGISTRATION_SECTION", ("SectionPath",)),
    Refusal("values of an unknown field", "DescribeRegistrationFieldValues",
            _put("brand", FieldPaths=[COMPANY, "nope.nope"]),
            V, "UNKNOWN_REGISTRATION_FIELD", ("FieldPaths[1]",)),
    # SubmitRegistrationVersion
    Refusal("submit an empty form", "SubmitRegistrationVersion", _put("brand"),
            V, "FIELD_VALIDATION_FAILED",
            tuple(f.field_path for f in Catalog.builtin().type(BRAND).fields
                  if f.requirement == "REQUIRED")),
    Refusal("submit before the association", "SubmitRegistrationVersion", _put("toll_free"),
            C, "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
            setup=lambda w: fill(w, TOLL_FREE, w.toll_free)),
    # CreateRegistrationAttachment
    Refusal("neither body nor URL", "CreateRegistrationAttachment", lambda w: {},
            V, "MISSING_PARAMETER", ("AttachmentBody",), ports=False),
    Refusal("body and URL", "CreateRegistrationAttachment",
            lambda w: {"AttachmentBody": PDF, "AttachmentUrl": "s3://example-bucket/a.pdf"},
            V, "PARAMETERS_CANNOT_BE_USED_TOGETHER", ("AttachmentUrl",), ports=False),
    Refusal("a body over the size limit", "CreateRegistrationAttachment",
            lambda w: {"AttachmentBody": PDF[:5] + BIG},
            V, "MAXIMUM_SIZE_EXCEEDED", ("AttachmentBody",)),
    Refusal("a GIF", "CreateRegistrationAttachment", lambda w: {"AttachmentBody": GIF},
            V, "ATTACHMENT_TYPE_NOT_SUPPORTED", ("AttachmentBody",)),
    Refusal("an https URL", "CreateRegistrationAttachment",
            lambda w: {"AttachmentUrl": "https://example.com/loa.pdf"},
            V, "INVALID_PARAMETER", ("AttachmentUrl",)),
    Refusal("a .docx URL", "CreateRegistrationAttachment",
            lambda w: {"AttachmentUrl": "s3://example-bucket/loa.docx"},
            V, "ATTACHMENT_TYPE_NOT_SUPPORTED", ("AttachmentUrl",)),
    Refusal("a ClientToken reused for another file", "CreateRegistrationAttachment",
            lambda w: {"AttachmentBody": PNG, "ClientToken": "tok-1"},
            C, "RESOURCE_ALREADY_EXISTS", setup=_token_used),
    # DeleteRegistrationAttachment / DescribeRegistrationAttachments
    Refusal("delete an attachment a field uses", "DeleteRegistrationAttachment",
            lambda w: {"RegistrationAttachmentId": w.pdf},
            C, "RESOURCE_DELETION_NOT_ALLOWED", setup=_used_pdf),
    Refusal("delete an attachment a submitted version uses", "DeleteRegistrationAttachment",
            lambda w: {"RegistrationAttachmentId": w.pdf},
            C, "RESOURCE_DELETION_NOT_ALLOWED",
            setup=_sender_id_submitted),
    Refusal("delete an unknown attachment", "DeleteRegistrationAttachment",
            lambda w: {"RegistrationAttachmentId": "attachment-" + "0" * 32}, NF, None),
    Refusal("describe an unknown attachment", "DescribeRegistrationAttachments",
            lambda w: {"RegistrationAttachmentIds": [w.pdf, "attachment-" + "0" * 32]}, NF, None),
    Refusal("an unknown attachment status", "DescribeRegistrationAttachments",
            lambda w: {"Filters": [{"Name": "attachment-status", "Values": ["UPLOADED"]}]},
            V, "INVALID_FILTER_VALUES", ("Filters[0].Values",)),
    # CreateRegistrationAssociation
    Refusal("an unknown resource", "CreateRegistrationAssociation",
            _put("toll_free", ResourceId="phone-" + "0" * 32), NF, None),
    Refusal("a number another registration has", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.toll_free, "ResourceId": w.tfn},
            C, "RESOURCE_ALREADY_ASSOCIATED",
            setup=lambda w: _tfn_taken(w, then_another=True)),
    Refusal("the same brand twice", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.campaign, "ResourceId": w.brand},
            C, "RESOURCE_ALREADY_ASSOCIATED", setup=_brand_taken),
    Refusal("associate a deleted registration", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.brand, "ResourceId": w.tfn},
            C, "RESOURCE_NOT_ACTIVE", setup=_deleted_brand, options={"keep_deleted": True}),
    Refusal("associate under review", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.brand, "ResourceId": w.sender},
            C, "RESOURCE_MODIFICATION_NOT_ALLOWED", setup=_in_review),
    Refusal("a type that takes no such resource", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.toll_free, "ResourceId": w.ten_dlc},
            V, "INVALID_REGISTRATION_ASSOCIATION", ("ResourceId",)),
    Refusal("a resource of another country", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.toll_free, "ResourceId": w.emu.add_origination_identity(
                phone_number="+448005550100", iso_country_code="GB")["ResourceId"]},
            V, "INVALID_REGISTRATION_ASSOCIATION", ("ResourceId",)),
    Refusal("a registration with itself", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.campaign, "ResourceId": w.campaign},
            V, "INVALID_REGISTRATION_ASSOCIATION", ("ResourceId",)),
    Refusal("a 10DLC number before the campaign is complete", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.campaign, "ResourceId": w.ten_dlc},
            C, "REGISTRATION_NOT_COMPLETE"),
    Refusal("list the associations of an unknown registration", "ListRegistrationAssociations",
            lambda w: {"RegistrationId": "registration-" + "0" * 32}, NF, None),
    # DeleteRegistration
    Refusal("delete a campaign that still has numbers", "DeleteRegistration",
            _put("campaign"), C, "RESOURCE_DELETION_NOT_ALLOWED", setup=_campaign_with_number),
    Refusal("delete a toll-free registration that still has its number", "DeleteRegistration",
            _put("toll_free"), C, "RESOURCE_DELETION_NOT_ALLOWED", setup=_tfn_taken),
    Refusal("delete a brand its campaign holds", "DeleteRegistration",
            _put("brand"), C, "RESOURCE_DELETION_NOT_ALLOWED", setup=_brand_taken),
    # account limits
    Refusal("registrations per account", "CreateRegistration",
            lambda w: {"RegistrationType": BRAND}, Q, "REGISTRATIONS_PER_ACCOUNT",
            options={"limits": AccountLimits(registrations=4)}),
    Refusal("registration versions per day", "CreateRegistrationVersion", _put("brand"),
            Q, "REGISTRATION_VERSIONS_CREATED_PER_DAY",
            setup=lambda w: _submitted(w, then_discard=True),
            options={"limits": AccountLimits(versions_per_day=0)}),
    Refusal("attachments per account", "CreateRegistrationAttachment",
            lambda w: {"AttachmentBody": PNG}, Q, "REGISTRATION_ATTACHMENTS_PER_ACCOUNT",
            options={"limits": AccountLimits(attachments=1)}),
    Refusal("attachments per day", "CreateRegistrationAttachment",
            lambda w: {"AttachmentUrl": "s3://example-bucket/a.png"},
            Q, "REGISTRATION_ATTACHMENTS_CREATED_PER_DAY",
            setup=lambda w: w.emu.delete_registration_attachment(w.pdf),
            options={"limits": AccountLimits(attachments_per_day=1)}),
    Refusal("associations per registration", "CreateRegistrationAssociation",
            lambda w: {"RegistrationId": w.sender_id, "ResourceId": w.sender},
            Q, "ASSOCIATIONS_PER_REGISTRATION",
            options={"limits": AccountLimits(associations_per_registration=0)}),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=[r.name for r in REFUSALS])
def test_every_refusal_as_boto3_sees_it_leaves_the_state_unchanged(
    new_world: Callable[..., World], case: Refusal
) -> None:
    w = new_world(**case.options)
    if case.setup is not None:
        case.setup(w)
    expected = (case.code, case.reason, list(case.fields))
    refused_three_ways(w, case.operation, case.params(w), expected, ports=case.ports)


def test_the_refusals_cover_every_form_operation() -> None:
    assert set(FORM_OPERATIONS) <= {r.operation for r in REFUSALS}


# -- a whole real form ---------------------------------------------------------------------------


@pytest.mark.parametrize("reg_type", TYPES)
def test_a_whole_real_form_filled_through_boto3_submits(world: World, reg_type: str) -> None:
    w = world
    reg_id = getattr(w, {BRAND: "brand", CAMPAIGN: "campaign", TOLL_FREE: "toll_free",
                         SENDER_ID: "sender_id"}[reg_type])  # fmt: skip
    d = definition(reg_type)
    values = fill(w, reg_type, reg_id)
    required = {f.field_path for f in d.fields if f.requirement == "REQUIRED"}
    assert required <= set(values)
    examples = [
        f.field_path for f in d.fields
        if f.display_hints.get("ExampleTextValue") and f.field_path in values
    ]  # fmt: skip
    for path in examples:  # every example the catalogue gives validates
        assert values[path].text_value == d.field(path).display_hints["ExampleTextValue"]
    associate_before_submit(w, reg_type, reg_id)
    assert fields_of(w, reg_id) == dict(values)
    submitted = w.sms.submit_registration_version(RegistrationId=reg_id)
    assert submitted["RegistrationVersionStatus"] == "SUBMITTED"
    assert fields_of(w, reg_id, 1) == dict(values)


@pytest.mark.parametrize("reg_type", TYPES)
def test_submit_without_one_required_field_names_exactly_that_field(
    world: World, reg_type: str
) -> None:
    w = world
    reg_id = w.sms.create_registration(RegistrationType=reg_type)["RegistrationId"]
    values = fill(w, reg_type, reg_id)
    associate_before_submit(w, reg_type, reg_id)
    for path, value in values.items():
        w.sms.delete_registration_field_value(RegistrationId=reg_id, FieldPath=path)
        before = state(w.emu)
        with pytest.raises(ClientError) as info:
            w.sms.submit_registration_version(RegistrationId=reg_id)
        assert answer(info.value) == ("ValidationException", "FIELD_VALIDATION_FAILED", [path])
        response: Any = info.value.response
        assert response["Fields"] == [{"Name": path, "Message": MISSING_FIELD}]
        assert state(w.emu) == before
        put_raw(w, reg_id, value)
    assert w.sms.submit_registration_version(RegistrationId=reg_id)["VersionNumber"] == 1


CONDITIONS = [
    (BRAND, select("companyInfo.legalType", "PUBLIC_PROFIT"),
     select("companyInfo.legalType", "PRIVATE_PROFIT"),
     ["companyInfo.stockSymbol", "companyInfo.stockExchange",
      "companyInfo.businessContactEmail"]),
    (CAMPAIGN, select("campaignUseCase.useCase", "MIXED"),
     select("campaignUseCase.useCase", "CUSTOMER_CARE"), ["campaignUseCase.subUseCases"]),
    (CAMPAIGN, select("campaignUseCase.embeddedLink", "Yes"),
     select("campaignUseCase.embeddedLink", "No"), ["campaignUseCase.embeddedLinkSample"]),
    (TOLL_FREE, select("companyInfo.businessType", "PRIVATE_PROFIT"),
     select("companyInfo.businessType", "SOLE_PROPRIETOR"),
     ["companyInfo.companyIdNumber", "companyInfo.companyIdType", "companyInfo.companyIdCountry"]),
    (SENDER_ID, text("companyAddress.isoCountryCode", "ID"),
     text("companyAddress.isoCountryCode", "SG"),
     ["idSidSpecificInfo.letterOfAuthorization1", "idSidSpecificInfo.letterOfAuthorization2",
      "idSidSpecificInfo.letterOfAuthorization4", "idSidSpecificInfo.nomorPokokWajibPajakDocument",
      "idSidSpecificInfo.nomorIndukBerusahaDocument"]),
]  # fmt: skip


@pytest.mark.parametrize(("reg_type", "trigger", "other", "conditional"), CONDITIONS)
def test_a_conditional_field_a_condition_makes_required_is_named_when_missing(
    world: World, reg_type: str, trigger: FieldValue, other: FieldValue, conditional: list[str]
) -> None:
    w = world
    d = definition(reg_type)
    reg_id = w.sms.create_registration(RegistrationType=reg_type)["RegistrationId"]
    associate_before_submit(w, reg_type, reg_id)
    required = complete_form(d, w.pdf, {trigger.field_path: trigger})
    assert set(conditional) <= set(required)
    for value in required.values():
        if value.field_path not in conditional:
            put_raw(w, reg_id, value)
    before = state(w.emu)
    assert client_error(lambda: w.sms.submit_registration_version(RegistrationId=reg_id)) == (
        "ValidationException",
        "FIELD_VALIDATION_FAILED",
        conditional,
    )
    assert state(w.emu) == before
    put_raw(w, reg_id, other)  # the condition no longer holds: the fields are optional
    assert w.sms.submit_registration_version(RegistrationId=reg_id)["VersionNumber"] == 1


def test_a_disallowed_conditional_field_refuses_a_value_and_a_form_that_kept_one(
    new_world: Callable[..., World],
) -> None:
    raw = catalog().to_json()
    fields = raw["RegistrationFieldDefinitions"][BRAND]
    symbol = next(f for f in fields if f["FieldPath"] == "companyInfo.stockSymbol")
    symbol["ConditionalBehavior"]["DefaultBehavior"] = "DISALLOWED"
    w = new_world(catalog=Catalog.from_json(raw))
    put_raw(w, w.brand, select("companyInfo.legalType", "PUBLIC_PROFIT"))
    put_raw(w, w.brand, text("companyInfo.stockSymbol", "EXMPL"))  # required now: accepted
    private = select("companyInfo.legalType", "PRIVATE_PROFIT")
    fill(w, BRAND, w.brand, **{private.field_path: private})
    expected = ("ValidationException", "FIELD_VALIDATION_FAILED", ["companyInfo.stockSymbol"])
    before = state(w.emu)
    # The value put while it was required is refused by the form as it now stands...
    assert client_error(lambda: w.sms.submit_registration_version(RegistrationId=w.brand)) == (
        expected
    )
    assert state(w.emu) == before
    # ...and a new one is refused outright.
    refused_three_ways(
        w,
        "PutRegistrationFieldValue",
        {"RegistrationId": w.brand, "FieldPath": "companyInfo.stockSymbol", "TextValue": "X"},
        expected,
    )
    w.sms.delete_registration_field_value(
        RegistrationId=w.brand, FieldPath="companyInfo.stockSymbol"
    )
    assert w.sms.submit_registration_version(RegistrationId=w.brand)["VersionNumber"] == 1


# -- versions: frozen after submit, a new version starts empty (or carries) ----------------------


def _deny(w: World, reg_id: str) -> None:
    w.emu.advance(reg_id, "begin_review")
    w.emu.advance(
        reg_id, "deny", denied_reasons=[{"Reason": "Missing required field",
                                         "ShortDescription": "tax id"}]
    )  # fmt: skip


def test_values_freeze_at_submit_stay_readable_and_a_new_version_starts_empty(
    world: World,
) -> None:
    w = world
    values = fill(w, BRAND, w.brand)
    w.sms.submit_registration_version(RegistrationId=w.brand)
    frozen: Answer = ("ConflictException", "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED", [])
    for put in (
        lambda: put_raw(w, w.brand, text(COMPANY, "Other Corp")),
        lambda: w.sms.delete_registration_field_value(RegistrationId=w.brand, FieldPath=COMPANY),
    ):
        assert client_error(put) == frozen
    for port in (w.adapter, w.emu):
        with pytest.raises(ConflictError) as info:
            port.put_registration_field_value(w.brand, COMPANY, text_value="Other Corp")
        assert info.value.reason == "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED"
        assert info.value.resource_id == w.brand
    assert fields_of(w, w.brand) == fields_of(w, w.brand, 1) == dict(values)
    _deny(w, w.brand)
    assert client_error(lambda: put_raw(w, w.brand, text(COMPANY, "Other Corp"))) == frozen
    created = w.sms.create_registration_version(RegistrationId=w.brand)
    assert created["VersionNumber"] == 2
    assert fields_of(w, w.brand) == {}  # the new DRAFT starts empty...
    assert fields_of(w, w.brand, 1) == dict(values)  # ...the denied version keeps its values
    put_raw(w, w.brand, text(COMPANY, "Example Corp Two"))
    assert fields_of(w, w.brand, 2) == {COMPANY: text(COMPANY, "Example Corp Two")}
    assert fields_of(w, w.brand, 1)[COMPANY] == values[COMPANY]
    assert client_error(lambda: w.sms.submit_registration_version(RegistrationId=w.brand))[1] == (
        "FIELD_VALIDATION_FAILED"
    )


def test_form_rules_can_carry_the_values_into_a_new_version(
    new_world: Callable[..., World],
) -> None:
    w = new_world(form_rules=FormRules(carry_field_values=True))
    values = fill(w, BRAND, w.brand)
    w.sms.submit_registration_version(RegistrationId=w.brand)
    _deny(w, w.brand)
    w.sms.create_registration_version(RegistrationId=w.brand)
    assert fields_of(w, w.brand, 2) == fields_of(w, w.brand, 1) == dict(values)
    put_raw(w, w.brand, text(COMPANY, "Example Corp Two"))  # the copy is the new version's own
    assert fields_of(w, w.brand, 1)[COMPANY] == values[COMPANY]
    assert w.sms.submit_registration_version(RegistrationId=w.brand)["VersionNumber"] == 2


def test_a_submitted_version_still_using_an_attachment_keeps_it_from_deletion(
    world: World,
) -> None:
    w = world
    fill(w, SENDER_ID, w.sender_id)
    w.sms.submit_registration_version(RegistrationId=w.sender_id)
    _deny(w, w.sender_id)
    w.sms.create_registration_version(RegistrationId=w.sender_id)  # empty
    conflict: Answer = ("ConflictException", "RESOURCE_DELETION_NOT_ALLOWED", [])
    assert (
        client_error(lambda: w.sms.delete_registration_attachment(RegistrationAttachmentId=w.pdf))
        == conflict
    )  # version 1, denied, still names it


# -- attachments -------------------------------------------------------------------------------


def test_attachment_bodies_are_sniffed_and_sized(new_world: Callable[..., World]) -> None:
    w = new_world()
    for body in (PDF, PNG, JPEG):
        made = w.sms.create_registration_attachment(AttachmentBody=body)
        assert made["AttachmentStatus"] == "UPLOAD_COMPLETE"
    at_limit = PDF[:5] + bytes(ATTACHMENT_MAX_BYTES - 5)
    assert w.sms.create_registration_attachment(AttachmentBody=at_limit)["AttachmentStatus"] == (
        "UPLOAD_COMPLETE"
    )
    over: Answer = ("ValidationException", "MAXIMUM_SIZE_EXCEEDED", ["AttachmentBody"])
    assert (
        client_error(lambda: w.sms.create_registration_attachment(AttachmentBody=at_limit + b"\0"))
        == over
    )
    small = new_world(form_rules=FormRules(attachment_max_bytes=len(PDF)))
    small.sms.create_registration_attachment(AttachmentBody=PDF)
    assert (
        client_error(lambda: small.sms.create_registration_attachment(AttachmentBody=PDF + b"\n"))
        == over
    )
    for body in (GIF, b"%PD", b"hello", b"\x89PNG"):
        upload = functools.partial(w.sms.create_registration_attachment, AttachmentBody=body)
        assert client_error(upload) == (
            "ValidationException",
            "ATTACHMENT_TYPE_NOT_SUPPORTED",
            ["AttachmentBody"],
        )
    for url in ("s3://bucket-1/loa.PDF", "s3://bucket-1/a/b/scan.jpeg", "s3://b.u.c/x.jpg",
                "s3://bucket-1/x.png"):  # fmt: skip
        assert w.sms.create_registration_attachment(AttachmentUrl=url)["AttachmentStatus"] == (
            "UPLOAD_COMPLETE"
        )
    for url in ("s3://bucket-1/", "s3://bucket-1", "s3://UPPER/x.pdf", "s3://a/x.pdf",
                "file:///x.pdf", "s3:/bucket-1/x.pdf"):  # fmt: skip
        upload = functools.partial(w.sms.create_registration_attachment, AttachmentUrl=url)
        assert client_error(upload) == (
            "ValidationException",
            "INVALID_PARAMETER",
            ["AttachmentUrl"],
        )


def test_a_client_token_makes_attachment_creation_idempotent(
    new_world: Callable[..., World],
) -> None:
    w = new_world(limits=AccountLimits(attachments_per_day=3))  # the world's PDF is one
    first = w.sms.create_registration_attachment(
        AttachmentBody=PNG, ClientToken="tok", Tags=[{"Key": "a", "Value": "b"}]
    )
    for port in (None, w.adapter, w.emu):
        again: Mapping[str, Any] = (
            w.sms.create_registration_attachment(
                AttachmentBody=PNG, ClientToken="tok", Tags=[{"Key": "a", "Value": "b"}]
            )
            if port is None
            else port.create_registration_attachment(
                attachment_body=PNG, client_token="tok", tags={"a": "b"}
            )
        )
        assert {k: again[k] for k in first if k != "ResponseMetadata"} == {
            k: v for k, v in first.items() if k != "ResponseMetadata"
        }
    assert len(list(w.emu.describe_registration_attachments())) == 2
    w.sms.create_registration_attachment(AttachmentBody=PNG)  # the day's third: not counted twice
    assert client_error(lambda: w.sms.create_registration_attachment(AttachmentBody=PNG)) == (
        "ServiceQuotaExceededException",
        "REGISTRATION_ATTACHMENTS_CREATED_PER_DAY",
        [],
    )
    with pytest.raises(ClientError) as info:
        w.sms.create_registration_attachment(AttachmentBody=JPEG, ClientToken="tok")
    assert answer(info.value) == ("ConflictException", "RESOURCE_ALREADY_EXISTS", [])
    response: Any = info.value.response
    assert (response["ResourceType"], response["ResourceId"]) == (
        "registration-attachment",
        first["RegistrationAttachmentId"],
    )


def test_attachments_in_use_stay_and_deleted_ones_vanish(world: World) -> None:
    w = world
    _used_pdf(w)
    conflict: Answer = ("ConflictException", "RESOURCE_DELETION_NOT_ALLOWED", [])
    assert (
        client_error(lambda: w.sms.delete_registration_attachment(RegistrationAttachmentId=w.pdf))
        == conflict
    )
    w.sms.delete_registration_field_value(
        RegistrationId=w.campaign, FieldPath="campaignInfo.optInScreenshot"
    )
    deleted = w.sms.delete_registration_attachment(
        RegistrationAttachmentId=f"{ARN_PREFIX}registration-attachment/{w.pdf}"
    )
    assert deleted["AttachmentStatus"] == "DELETED"
    assert "AttachmentUrl" not in deleted
    assert w.sms.describe_registration_attachments()["RegistrationAttachments"] == []
    missing: Answer = ("ResourceNotFoundException", None, [])
    for call in (
        lambda: w.sms.describe_registration_attachments(RegistrationAttachmentIds=[w.pdf]),
        lambda: w.sms.delete_registration_attachment(RegistrationAttachmentId=w.pdf),
    ):
        assert client_error(call) == missing
    gone_value = FieldValue("campaignInfo.optInScreenshot", attachment_id=w.pdf)
    assert client_error(lambda: put_raw(w, w.campaign, gone_value))[1] == "FIELD_VALIDATION_FAILED"


def test_attachments_filter_by_status(new_world: Callable[..., World]) -> None:
    w = new_world(form_rules=FormRules(url_upload="failed"))
    failed = w.sms.create_registration_attachment(AttachmentUrl="s3://example-bucket/loa.pdf")
    assert failed["AttachmentStatus"] == "UPLOAD_FAILED"
    (info,) = w.sms.describe_registration_attachments(
        RegistrationAttachmentIds=[failed["RegistrationAttachmentId"]]
    )["RegistrationAttachments"]
    assert info["AttachmentUploadErrorReason"] == "INTERNAL_ERROR"

    def by_status(*statuses: str) -> list[str]:
        filters = [{"Name": "attachment-status", "Values": list(statuses)}]
        return [
            a["RegistrationAttachmentId"]
            for a in w.emu.describe_registration_attachments(filters=filters)
        ]

    assert by_status("UPLOAD_COMPLETE") == [w.pdf]
    assert by_status("UPLOAD_FAILED") == [failed["RegistrationAttachmentId"]]
    assert by_status("UPLOAD_COMPLETE", "UPLOAD_FAILED") == [
        w.pdf,
        failed["RegistrationAttachmentId"],
    ]
    assert by_status("UPLOAD_IN_PROGRESS", "DELETED") == []


# -- associations ------------------------------------------------------------------------------


def test_associate_before_submit_a_toll_free_number(world: World) -> None:
    w = world
    fill(w, TOLL_FREE, w.toll_free)
    refused: Answer = ("ConflictException", "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED", [])
    assert client_error(lambda: w.sms.submit_registration_version(RegistrationId=w.toll_free)) == (
        refused
    )
    # An identity of the wrong kind, associated elsewhere, does not count.
    w.sms.create_registration_association(RegistrationId=w.sender_id, ResourceId=w.sender)
    assert client_error(lambda: w.sms.submit_registration_version(RegistrationId=w.toll_free)) == (
        refused
    )
    w.sms.create_registration_association(
        RegistrationId=w.toll_free, ResourceId=f"{ARN_PREFIX}phone-number/{w.tfn}"
    )
    assert w.sms.submit_registration_version(RegistrationId=w.toll_free)["VersionNumber"] == 1
    # Nothing about it can change while it is reviewed.
    other = w.emu.add_origination_identity(phone_number="+18005550199")["ResourceId"]
    another = functools.partial(
        w.sms.create_registration_association, RegistrationId=w.toll_free, ResourceId=other
    )
    assert client_error(another) == ("ConflictException", "RESOURCE_MODIFICATION_NOT_ALLOWED", [])
    w.emu.advance(w.toll_free, "begin_review")
    w.emu.advance(w.toll_free, "approve")
    w.sms.create_registration_association(RegistrationId=w.toll_free, ResourceId=other)
    listed = w.sms.list_registration_associations(RegistrationId=w.toll_free)
    assert [a["ResourceId"] for a in listed["RegistrationAssociations"]] == [w.tfn, other]


def test_associate_after_complete_10dlc_numbers_and_a_brand_before_submit(world: World) -> None:
    w = world
    fill(w, CAMPAIGN, w.campaign)
    not_complete: Answer = ("ConflictException", "REGISTRATION_NOT_COMPLETE", [])
    assert client_error(lambda: w.sms.create_registration_association(
        RegistrationId=w.campaign, ResourceId=w.ten_dlc)) == not_complete  # fmt: skip
    # The brand must be registered (COMPLETE) first, as AWS documents.
    assert client_error(lambda: w.sms.create_registration_association(
        RegistrationId=w.campaign, ResourceId=w.brand)) == not_complete  # fmt: skip
    tied = w.sms.create_registration_association(
        RegistrationId=w.campaign, ResourceId=approved_brand(w)
    )
    assert (tied["ResourceType"], tied["ResourceArn"]) == (
        BRAND,
        f"{ARN_PREFIX}registration/{w.brand}",
    )
    assert "IsoCountryCode" not in tied
    # One brand serves many campaigns.
    other = w.sms.create_registration(RegistrationType=CAMPAIGN)["RegistrationId"]
    w.sms.create_registration_association(RegistrationId=other, ResourceId=w.brand)
    w.sms.submit_registration_version(RegistrationId=w.campaign)
    w.emu.advance(w.campaign, "begin_review")
    number_now = functools.partial(
        w.sms.create_registration_association, RegistrationId=w.campaign, ResourceId=w.ten_dlc
    )
    assert client_error(number_now)[1] == "RESOURCE_MODIFICATION_NOT_ALLOWED"
    w.emu.advance(w.campaign, "approve")
    assert (
        w.emu.describe_registrations_page([w.campaign])["Registrations"][0]["RegistrationStatus"]
        == "COMPLETE"
    )
    numbers = [w.ten_dlc] + [
        w.emu.add_origination_identity(phone_number=f"+1206555011{i}", number_type="TEN_DLC")[
            "ResourceId"
        ]
        for i in range(2)
    ]
    for number in numbers:
        w.sms.create_registration_association(RegistrationId=w.campaign, ResourceId=number)
    listed = list(w.adapter.list_registration_associations(w.campaign, page_size=1))
    assert [a["ResourceId"] for a in listed] == [w.brand, *numbers]

    def of(**filters: list[str]) -> list[str]:
        chosen = [{"Name": k.replace("_", "-"), "Values": v} for k, v in filters.items()]
        return [a["ResourceId"] for a in w.emu.list_registration_associations(
            w.campaign, filters=chosen)]  # fmt: skip

    assert of(resource_type=["TEN_DLC"]) == numbers
    assert of(resource_type=[BRAND]) == [w.brand]
    assert of(iso_country_code=["US"]) == numbers
    assert of(resource_type=["TOLL_FREE"]) == []
    # Numbers first, then the campaign (DISASSOCIATE_ALL_ALLOWS_DELETE_REGISTRATION).
    assert client_error(lambda: w.sms.delete_registration(RegistrationId=w.campaign)) == (
        "ConflictException",
        "RESOURCE_DELETION_NOT_ALLOWED",
        [],
    )
    released = [w.emu.forms.release_identity(number) for number in numbers]
    assert released == [None, None, w.campaign]  # its last identity (a brand is none)
    # The brand goes with the campaign (DELETE_REGISTRATION_DISASSOCIATES)...
    assert w.sms.delete_registration(RegistrationId=w.campaign)["RegistrationStatus"] == "DELETED"
    # ...and the brand is free of it, but still held by the other campaign.
    assert client_error(lambda: w.sms.delete_registration(RegistrationId=w.brand))[1] == (
        "RESOURCE_DELETION_NOT_ALLOWED"
    )
    w.sms.delete_registration(RegistrationId=other)
    assert w.sms.delete_registration(RegistrationId=w.brand)["RegistrationStatus"] == "DELETED"


def test_a_sender_id_is_associated_on_approval_and_closes_its_registration(world: World) -> None:
    w = world
    fill(w, SENDER_ID, w.sender_id)
    assert w.sms.submit_registration_version(RegistrationId=w.sender_id)["VersionNumber"] == 1
    w.emu.advance(w.sender_id, "begin_review")
    w.emu.advance(w.sender_id, "approve")
    w.sms.create_registration_association(RegistrationId=w.sender_id, ResourceId=w.sender)
    assert w.emu.forms.closes_when_released(SENDER_ID)
    assert not w.emu.forms.closes_when_released(CAMPAIGN)
    assert w.emu.forms.release_identity(w.sender) == w.sender_id  # its last identity
    assert (
        w.sms.list_registration_associations(RegistrationId=w.sender_id)["RegistrationAssociations"]
        == []
    )
    with pytest.raises(NotFoundError):
        w.emu.forms.release_identity(w.sender)


def test_add_origination_identity_checks_its_arguments(world: World) -> None:
    emu = world.emu
    assert emu.add_origination_identity("pool")["ResourceType"] == "POOL"
    assert emu.add_origination_identity(number_type="LONG_CODE")["ResourceType"] == "LONG_CODE"
    for kwargs in (
        {"resource_type": "number"},
        {"resource_type": "phone-number", "iso_country_code": "usa"},
        {"resource_type": "phone-number", "phone_number": "555-0100"},
        {"resource_type": "phone-number", "number_type": "PREMIUM"},
        {"resource_type": "sender-id", "number_type": "TOLL_FREE"},
        {"resource_type": "sender-id", "phone_number": "+18005550100"},
    ):
        with pytest.raises(InvalidArgument):
            emu.add_origination_identity(**kwargs)


# -- no catalogue; the catalogue from the environment ----------------------------------------


def test_without_a_catalogue_any_type_and_any_field_is_accepted(
    new_world: Callable[..., World],
) -> None:
    w = new_world(catalog=None)
    sms = w.sms
    reg_id = sms.create_registration(RegistrationType="NO_SUCH_TYPE_AT_ALL")["RegistrationId"]
    assert sms.describe_registration_type_definitions()["RegistrationTypeDefinitions"] == []
    assert (
        sms.describe_registration_field_definitions(
            RegistrationType="NO_SUCH_TYPE_AT_ALL", FieldPaths=["any.thing"]
        )["RegistrationFieldDefinitions"]
        == []
    )
    put_raw(w, reg_id, text("any.thing", "x"))
    put_raw(w, reg_id, select("other.choice", "a", "b"))
    put_raw(w, reg_id, FieldValue("other.file", attachment_id=w.pdf))
    assert fields_of(w, reg_id) == {  # sorted by path without a form's order
        "any.thing": text("any.thing", "x"),
        "other.choice": select("other.choice", "a", "b"),
        "other.file": FieldValue("other.file", attachment_id=w.pdf),
    }
    assert [v["FieldPath"] for v in w.emu.describe_registration_field_values(
        reg_id, section_path="other")] == ["other.choice", "other.file"]  # fmt: skip
    # Still refused: an attachment that is not there, an edit after submit.
    nowhere = FieldValue("x.y", attachment_id="attachment-" + "0" * 32)
    assert client_error(lambda: put_raw(w, reg_id, nowhere)) == (
        "ValidationException",
        "FIELD_VALIDATION_FAILED",
        ["x.y"],
    )
    w.sms.create_registration_association(RegistrationId=reg_id, ResourceId=w.ten_dlc)
    assert sms.submit_registration_version(RegistrationId=reg_id)["VersionNumber"] == 1
    assert client_error(lambda: put_raw(w, reg_id, text("any.thing", "y")))[1] == (
        "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED"
    )
    empty = sms.create_registration(RegistrationType="ANOTHER")["RegistrationId"]
    assert sms.submit_registration_version(RegistrationId=empty)["VersionNumber"] == 1


def test_the_catalogue_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_brand = catalog().to_json()
    only_brand["RegistrationTypeDefinitions"] = [
        t for t in only_brand["RegistrationTypeDefinitions"] if t["RegistrationType"] == BRAND
    ]
    for key in ("RegistrationSectionDefinitions", "RegistrationFieldDefinitions"):
        only_brand[key] = {BRAND: only_brand[key][BRAND]}
    path = tmp_path / "catalog.json"
    path.write_text(__import__("json").dumps(only_brand))
    assert resolve_catalog(FROM_ENVIRONMENT, {}) is catalog()
    assert resolve_catalog(FROM_ENVIRONMENT, {ENV_CATALOG: "  "}) is catalog()
    assert resolve_catalog(FROM_ENVIRONMENT, {ENV_CATALOG: "none"}) is None
    assert resolve_catalog(FROM_ENVIRONMENT, {ENV_CATALOG: "None"}) is None
    for read in (
        resolve_catalog(FROM_ENVIRONMENT, {ENV_CATALOG: str(path)}),
        resolve_catalog(path),
    ):
        assert read is not None
        assert list(read.types) == [BRAND]

    monkeypatch.setenv(ENV_CATALOG, str(path))
    emu = EmulatedRegistrationApi(seed=1)
    emu.create_registration(BRAND)
    with pytest.raises(ApiValidationError) as info:
        emu.create_registration(TOLL_FREE)
    assert info.value.reason == "UNKNOWN_REGISTRATION_TYPE"
    monkeypatch.setenv(ENV_CATALOG, "none")
    EmulatedRegistrationApi(seed=1).create_registration("ANYTHING")
    monkeypatch.delenv(ENV_CATALOG)
    assert EmulatedRegistrationApi(seed=1).forms.catalog is catalog()

    broken = tmp_path / "broken.json"
    broken.write_text('{"Format": "registration-fsm catalog 1", "Source": "x",')
    wrong = tmp_path / "wrong.json"
    wrong.write_text(__import__("json").dumps({**only_brand, "RegistrationTypeDefinitions": [
        {"RegistrationType": BRAND}]}))  # fmt: skip
    for bad, error in (
        (tmp_path / "missing.json", InvalidArgument),
        (tmp_path, InvalidArgument),
        (broken, InvalidArgument),
        (wrong, InvalidApiData),
    ):
        monkeypatch.setenv(ENV_CATALOG, str(bad))
        with pytest.raises(error) as failure:
            EmulatedRegistrationApi()
        message = str(failure.value)
        assert str(bad) in message, message
        assert "\n" not in message, message


def test_bad_form_settings_are_typed_errors() -> None:
    rules: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"carry_field_values": 1}, InvalidArgumentType),
        ({"attachment_max_bytes": 0}, InvalidArgument),
        ({"attachment_max_bytes": 1.5}, InvalidArgumentType),
        ({"url_upload": "done"}, InvalidArgument),
        ({"semantics": "strict"}, InvalidArgumentType),
    ]
    for kwargs, error in rules:
        with pytest.raises(error):
            FormRules(**kwargs)
    limits: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"registrations": -1}, InvalidArgument),
        ({"attachments": "3"}, InvalidArgumentType),
        ({"versions_per_day": True}, InvalidArgumentType),
    ]
    for kwargs, error in limits:
        with pytest.raises(error):
            AccountLimits(**kwargs)
    emulators: list[dict[str, Any]] = [
        {"limits": {"registrations": 1}},
        {"form_rules": "carry"},
        {"catalog": 3},
    ]
    for kwargs in emulators:
        with pytest.raises(InvalidArgumentType):
            EmulatedRegistrationApi(**kwargs)


# -- quotas pace the form operations -------------------------------------------------------------


class StillClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.slept = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += timedelta(seconds=seconds)


def test_the_form_operations_are_throttled_at_aws_rates_and_the_methods_pace_themselves(
    new_world: Callable[..., World],
) -> None:
    clock = StillClock()
    w = new_world(clock=clock, quotas=DEFAULT_QUOTAS)
    assert {op: w.emu.quotas[op] for op in FORM_OPERATIONS} == {  # type: ignore[index]
        op: DEFAULT_QUOTAS[op] for op in FORM_OPERATIONS
    }
    jpeg = w.emu.create_registration_attachment(attachment_body=JPEG)["RegistrationAttachmentId"]
    clock.sleep(10)  # the world's setup used the buckets: refill them
    requests: dict[str, dict[str, Any]] = {
        "DescribeRegistrationTypeDefinitions": {},
        "DescribeRegistrationSectionDefinitions": {"RegistrationType": BRAND},
        "DescribeRegistrationFieldDefinitions": {"RegistrationType": BRAND},
        "PutRegistrationFieldValue": {"RegistrationId": w.brand, "FieldPath": COMPANY,
                                      "TextValue": "Example Corp"},
        "DeleteRegistrationFieldValue": {"RegistrationId": w.brand, "FieldPath": COMPANY},
        "DescribeRegistrationFieldValues": {"RegistrationId": w.brand},
        "CreateRegistrationAttachment": {"AttachmentUrl": "s3://example-bucket/a.png",
                                         "ClientToken": "same"},
        "DescribeRegistrationAttachments": {},
        "CreateRegistrationAssociation": {"RegistrationId": w.sender_id, "ResourceId": w.sender},
        "DeleteRegistrationAttachment": {"RegistrationAttachmentId": jpeg},
        "ListRegistrationAssociations": {"RegistrationId": w.sender_id},
    }  # fmt: skip
    assert set(requests) == set(FORM_OPERATIONS)
    for operation, params in requests.items():
        burst = int(max(1.0, w.emu.quotas[operation]))  # type: ignore[index]
        for _ in range(burst):
            w.emu.handle(operation, params)  # the bucket holds a second's worth...
        with pytest.raises(ThrottledError):  # ...and the next is throttled
            w.emu.handle(operation, params)
        if operation != "DeleteRegistrationAttachment":
            over_http = functools.partial(raw_call, w.sms, operation, params)
            assert client_error(over_http)[0] == "ThrottlingException"
    assert set(w.emu.throttled) == set(FORM_OPERATIONS)
    # The port's methods wait for their slot (here: on the clock) instead.
    slept = clock.slept
    for _ in range(3):
        w.emu.put_registration_field_value(w.brand, COMPANY, text_value="Example Corp")
        list(w.emu.describe_registration_field_values(w.brand))
    assert clock.slept > slept
    assert w.emu.throttled["PutRegistrationFieldValue"] == 2  # the raw burst's, not the methods'


# -- what the ports refuse before sending -----------------------------------------------------


def test_the_ports_refuse_what_they_cannot_send(world: World) -> None:
    """Both ports refuse the same bad arguments with the same exception; the emulator's
    methods before any request (the adapter leaves maximum lengths and patterns to the
    API, as botocore does)."""
    w = world
    bad: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
        ("put_registration_field_value", (w.brand, COMPANY), {}, InvalidArgument),
        ("put_registration_field_value", (w.brand, COMPANY),
         {"text_value": "A", "select_choices": ["A"]}, InvalidArgument),
        ("put_registration_field_value", (w.brand, "companyInfo.legalType"),
         {"select_choices": "NON_PROFIT"}, InvalidArgumentType),
        ("put_registration_field_value", (w.brand, "companyInfo.legalType"),
         {"select_choices": [1]}, InvalidArgumentType),
        ("put_registration_field_value", (w.brand, COMPANY), {"text_value": ""},
         ApiValidationError),
        ("put_registration_field_value", (w.brand, COMPANY), {"text_value": "x" * 2049},
         ApiValidationError),
        ("put_registration_field_value", (w.brand, "has space"), {"text_value": "A"},
         ApiValidationError),
        ("put_registration_field_value", (w.brand, COMPANY), {"attachment_id": "a b"},
         InvalidArgument),
        ("put_registration_field_value", ("not an id!", COMPANY), {"text_value": "A"},
         InvalidArgument),
        ("delete_registration_field_value", (w.brand, "x" * 101), {}, ApiValidationError),
        ("describe_registration_field_values", (w.brand,), {"version_number": 0},
         ApiValidationError),
        ("describe_registration_field_values", (w.brand,), {"field_paths": COMPANY},
         InvalidArgumentType),
        ("describe_registration_field_values", (w.brand,), {"page_size": 101},
         ApiValidationError),
        ("describe_registration_type_definitions", (), {"registration_types": BRAND},
         InvalidArgumentType),
        ("describe_registration_type_definitions", (),
         {"filters": {"Name": "supported-association-iso-country-code", "Values": ["US"]}},
         InvalidArgument),
        ("describe_registration_section_definitions", ("bad type!",), {}, ApiValidationError),
        ("describe_registration_field_definitions", (BRAND,), {"section_path": "a.b"},
         ApiValidationError),
        ("create_registration_attachment", (), {}, InvalidArgument),
        ("create_registration_attachment", (),
         {"attachment_body": PDF, "attachment_url": "s3://example-bucket/a.pdf"},
         InvalidArgument),
        ("create_registration_attachment", (), {"attachment_body": "%PDF-"},
         InvalidArgumentType),
        ("create_registration_attachment", (), {"attachment_body": b""}, ApiValidationError),
        ("create_registration_attachment", (), {"attachment_url": "s3://x y/a.pdf"},
         ApiValidationError),
        ("create_registration_attachment", (),
         {"attachment_body": PDF, "tags": [("team", "sms")]}, InvalidArgument),
        ("create_registration_attachment", (), {"attachment_body": PDF, "client_token": ""},
         ApiValidationError),
        ("delete_registration_attachment", ("a b",), {}, InvalidArgument),
        ("describe_registration_attachments", (), {"attachment_ids": ["ok", "n o"]},
         InvalidArgument),
        ("describe_registration_attachments", (), {"attachment_ids": w.pdf},
         InvalidArgumentType),
        ("create_registration_association", (w.brand, "a b"), {}, InvalidArgument),
        ("list_registration_associations", ("a b",), {}, InvalidArgument),
        ("list_registration_associations", (w.brand,), {"page_size": 0}, ApiValidationError),
    ]  # fmt: skip
    for method, args, kwargs, error in bad:
        for port in (w.adapter, w.emu):
            before = dict(w.emu.calls)
            with pytest.raises(error):
                _drain(getattr(port, method)(*args, **kwargs))
            if port is w.emu:
                assert dict(w.emu.calls) == before, f"{method}{args}{kwargs}"


def _drain(result: Any) -> None:
    """A listing fails as its items are read."""
    if isinstance(result, Iterator):
        list(result)


def test_null_members_count_as_absent(world: World) -> None:
    w = world
    put = {"RegistrationId": w.brand, "FieldPath": COMPANY}
    with pytest.raises(ApiValidationError) as info:
        w.emu.handle("PutRegistrationFieldValue", {**put, "TextValue": None, "SelectChoices": None})
    assert info.value.reason == "MISSING_PARAMETER"
    w.emu.handle("PutRegistrationFieldValue", {**put, "TextValue": "Acme", "SelectChoices": None})
    described = w.emu.handle(
        "DescribeRegistrationFieldValues", {"RegistrationId": w.brand, "VersionNumber": None}
    )
    assert described["VersionNumber"] == 1
    assert described["RegistrationFieldValues"] == [{"FieldPath": COMPANY, "TextValue": "Acme"}]


def test_text_that_is_not_unicode_is_a_validation_error_not_a_crash(world: World) -> None:
    w = world
    before = state(w.emu)
    with pytest.raises(ApiValidationError) as info:
        w.emu.put_registration_field_value(w.brand, COMPANY, text_value="Acme \ud800")
    assert (info.value.reason, [n for n, _ in info.value.fields]) == (
        "INVALID_PARAMETER",
        ["TextValue"],
    )
    assert state(w.emu) == before


# -- hypothesis ----------------------------------------------------------------------------------

PATHS = Catalog.builtin().type(BRAND).field_paths


def _pool(path: str) -> list[FieldValue]:
    """Values for ``path``: valid ones (from the form) and invalid ones."""
    d = definition(BRAND)
    f = d.field(path)
    if f.field_type is FieldType.SELECT:
        assert f.select_validation is not None
        return [select(path, o) for o in f.select_validation.options[:3]] + [
            select(path, "NOT_AN_OPTION"),
            select(path),
        ]
    return [text(path, t) for t in list(text_candidates(f))[:2]] + [text(path, "\n")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "delete"]),
            st.sampled_from(PATHS),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=25,
    )
)
def test_random_puts_and_deletes_on_a_draft_keep_the_values_a_model_predicts(
    steps: list[tuple[str, str, int]],
) -> None:
    emu = CheckedEmulator(catalog=catalog(), seed=3, clock=TickingClock())
    reg_id = emu.create_registration(BRAND)["RegistrationId"]
    d = definition(BRAND)
    model_values: dict[str, FieldValue] = {}
    for action, path, pick in steps:
        if action == "put":
            pool = _pool(path)
            value = pool[pick % len(pool)]
            ok = not check_value(d, value, values=FieldValues.of(model_values.values()))
            try:
                port_call(emu, "PutRegistrationFieldValue", {"RegistrationId": reg_id,
                                                             **value.to_api()})  # fmt: skip
            except ApiValidationError as err:
                event("a put refused")
                assert not ok
                assert err.reason == "FIELD_VALIDATION_FAILED"
            else:
                assert ok
                model_values[path] = value
        else:
            try:
                removed = emu.delete_registration_field_value(reg_id, path)
            except ApiValidationError as err:
                assert path not in model_values
                assert err.reason == "REGISTRATION_FIELD_CANNOT_BE_DELETED"
            else:
                assert FieldValue.from_api(removed) == model_values.pop(path)
        described = list(emu.describe_registration_field_values(reg_id, page_size=3))
        assert [FieldValue.from_api(v) for v in described] == [
            model_values[p] for p in d.field_paths if p in model_values
        ]
    assert emu.model_breaks == []


_FIELDS = [(t, f.field_path) for t in TYPES for f in Catalog.builtin().type(t).fields]
_ATTACHMENTS = ("ready", "failed", "unknown")


@st.composite
def field_values(draw: st.DrawFn) -> tuple[str, FieldValue]:
    reg_type, path = draw(st.sampled_from(_FIELDS))
    f = definition(reg_type).field(path)
    kind = draw(st.sampled_from([f.field_type, *FieldType]))  # mostly the field's own kind
    if kind is FieldType.TEXT:
        example = f.display_hints.get("ExampleTextValue") or "x"
        chars = st.characters(codec="utf-8", exclude_categories=["Cs"])
        value = draw(
            st.one_of(
                st.text(chars, min_size=1, max_size=60),
                st.text(st.sampled_from("aZ09 .@+-:/\t"), min_size=1, max_size=120),
                st.integers(1, 2048).map(lambda n: ("Example text " * 200)[:n]),
                st.just(example),
                st.builds(lambda s: example + s, st.text(chars, max_size=3)),
            ).filter(lambda t: 1 <= len(t) <= 2048)
        )
        return reg_type, text(path, value)
    if kind is FieldType.SELECT:
        options = list(f.select_validation.options) if f.select_validation else ["Yes"]
        choice = st.one_of(st.sampled_from(options), st.text(min_size=1, max_size=8))
        choices = draw(st.lists(choice, max_size=6))
        return reg_type, select(path, *choices)
    return reg_type, FieldValue(path, attachment_id=draw(st.sampled_from(_ATTACHMENTS)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_values(), st.booleans())
def test_a_value_is_accepted_exactly_when_check_value_says_so(
    drawn: tuple[str, FieldValue], conditioned: bool
) -> None:
    reg_type, value = drawn
    emu = CheckedEmulator(
        catalog=catalog(), seed=5, clock=TickingClock(),
        form_rules=FormRules(url_upload="failed"),
    )  # fmt: skip
    reg_id = emu.create_registration(reg_type)["RegistrationId"]
    ids = {
        "ready": emu.create_registration_attachment(attachment_body=PDF),
        "failed": emu.create_registration_attachment(attachment_url="s3://example-bucket/a.pdf"),
    }
    uploaded = {ids["ready"]["RegistrationAttachmentId"]}
    if value.attachment_id is not None:
        chosen = ids.get(
            value.attachment_id, {"RegistrationAttachmentId": "attachment-" + "0" * 32}
        )
        value = FieldValue(value.field_path, attachment_id=chosen["RegistrationAttachmentId"])
    d = definition(reg_type)
    if conditioned:  # the values that turn conditions on, where the value depends on one
        for trigger_type, trigger, _, _ in CONDITIONS:
            if trigger_type == reg_type and trigger.field_path != value.field_path:
                emu.put_registration_field_value(
                    reg_id, trigger.field_path, select_choices=trigger.select_choices,
                    text_value=trigger.text_value,
                )  # fmt: skip
    current = FieldValues.of(
        FieldValue.from_api(v) for v in emu.describe_registration_field_values(reg_id)
    )
    problems = check_value(d, value, values=current, attachment_ok=lambda a: a in uploaded)
    before = list(emu.describe_registration_field_values(reg_id))
    try:
        port_call(emu, "PutRegistrationFieldValue", {"RegistrationId": reg_id, **value.to_api()})
    except ApiValidationError as err:
        event("refused")
        assert problems, f"refused a value check_value accepts: {err}"
        assert err.reason == "FIELD_VALIDATION_FAILED"
        assert list(err.fields) == [(p.field_path, p.message) for p in problems]
        assert list(emu.describe_registration_field_values(reg_id)) == before
    else:
        event("accepted")
        assert not problems, f"accepted a value check_value refuses: {problems}"
        (stored,) = emu.describe_registration_field_values(reg_id, field_paths=[value.field_path])
        assert FieldValue.from_api(stored) == value
    assert emu.model_breaks == []


# -- account limits --------------------------------------------------------------------------------


def test_account_limits_count_what_the_account_holds_and_creates_each_day(
    new_world: Callable[..., World],
) -> None:
    clock = TickingClock(step=timedelta(minutes=1))
    w = new_world(
        catalog=None,
        clock=clock,
        limits=AccountLimits(registrations=2, versions_per_day=1, attachments=2),
    )
    quota = "ServiceQuotaExceededException"
    first, second = (
        w.sms.create_registration(RegistrationType="ANY")["RegistrationId"] for _ in range(2)
    )
    assert client_error(lambda: w.sms.create_registration(RegistrationType="ANY")) == (
        quota,
        "REGISTRATIONS_PER_ACCOUNT",
        [],
    )
    w.sms.delete_registration(RegistrationId=second)  # a deleted one no longer counts
    third = w.sms.create_registration(RegistrationType="ANY")["RegistrationId"]
    for reg_id in (first, third):
        w.sms.submit_registration_version(RegistrationId=reg_id)
        w.sms.discard_registration_version(RegistrationId=reg_id)
    w.sms.create_registration_version(RegistrationId=first)
    assert client_error(lambda: w.sms.create_registration_version(RegistrationId=third)) == (
        quota,
        "REGISTRATION_VERSIONS_CREATED_PER_DAY",
        [],
    )
    clock.now += timedelta(days=1)  # a new UTC day
    assert w.sms.create_registration_version(RegistrationId=third)["VersionNumber"] == 2
    made = w.sms.create_registration_attachment(AttachmentBody=PNG)  # the world's PDF is one
    assert client_error(lambda: w.sms.create_registration_attachment(AttachmentBody=PNG)) == (
        quota,
        "REGISTRATION_ATTACHMENTS_PER_ACCOUNT",
        [],
    )
    w.sms.delete_registration_attachment(RegistrationAttachmentId=made["RegistrationAttachmentId"])
    w.sms.create_registration_attachment(AttachmentBody=PNG)
