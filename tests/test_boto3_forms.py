"""Boto3RegistrationApi's forms operations (FormsApi) against botocore's Stubber and loopback.

The Stubber checks every request against the installed service model and the
expected params exactly; the loopback peer shows what goes on the wire (the
emulator's validation accepts it) and that every request is paced.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from helpers import REG_ARN, REG_ID, REG_TYPE

from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.emulator.validation import validate_request
from registration_fsm.errors import (
    AccessDeniedError,
    ApiError,
    ApiValidationError,
    ConflictError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    NotFoundError,
    ServiceQuotaExceededError,
    ThrottledError,
)
from registration_fsm.ports import FormsApi, RegistrationApi
from registration_fsm.quotas import DEFAULT_QUOTAS, Quotas

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ATT_ID = "registration-attachment-0123456789abcdef0123456789abcdef"
ATT_ARN = f"arn:aws:sms-voice:us-east-1:123456789012:registration-attachment/{ATT_ID}"
PHONE_ID = "phone-0123456789abcdef0123456789abcdef"
PHONE_ARN = f"arn:aws:sms-voice:us-east-1:123456789012:phone-number/{PHONE_ID}"
PDF = b"%PDF-1.7 letter of authorization"

SESSION = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
)


@pytest.fixture
def client() -> Iterator[Any]:
    c = SESSION.client(
        "pinpoint-sms-voice-v2",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    yield c
    c.close()


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def api(client: Any, stubber: Stubber) -> Boto3RegistrationApi:
    return Boto3RegistrationApi(client)


# -- items and results in the API's shapes -------------------------------------------


def type_definition(i: int = 0) -> dict[str, Any]:
    return {
        "RegistrationType": f"TYPE_{i}",
        "SupportedAssociations": [
            {
                "ResourceType": "PHONE_NUMBER",
                "IsoCountryCode": "US",
                "AssociationBehavior": "ASSOCIATE_BEFORE_SUBMIT",
                "DisassociationBehavior": "DISASSOCIATE_ALL_CLOSES_REGISTRATION",
            }
        ],
        "DisplayHints": {"Title": f"Type {i}"},
    }


def section_definition(i: int = 0) -> dict[str, Any]:
    return {
        "SectionPath": f"section{i}",
        "DisplayHints": {"Title": f"Section {i}", "ShortDescription": "about it"},
    }


def field_definition(i: int = 0) -> dict[str, Any]:
    return {
        "SectionPath": "companyInfo",
        "FieldPath": f"companyInfo.field{i}",
        "FieldType": "SELECT",
        "FieldRequirement": "REQUIRED",
        "SelectValidation": {"MinChoices": 1, "MaxChoices": 1, "Options": ["A", "B"]},
        "DisplayHints": {"Title": f"Field {i}", "ShortDescription": "pick one"},
    }


def field_value(i: int = 0) -> dict[str, Any]:
    return {"FieldPath": f"companyInfo.field{i}", "TextValue": f"value {i}"}


def attachment(i: int = 0, status: str = "UPLOAD_COMPLETE") -> dict[str, Any]:
    att_id = ATT_ID[:-2] + f"{i:02x}"
    return {
        "RegistrationAttachmentArn": ATT_ARN.replace(ATT_ID, att_id),
        "RegistrationAttachmentId": att_id,
        "AttachmentStatus": status,
        "CreatedTimestamp": T0,
    }


def association(i: int = 0) -> dict[str, Any]:
    phone_id = PHONE_ID[:-2] + f"{i:02x}"
    return {
        "ResourceArn": PHONE_ARN.replace(PHONE_ID, phone_id),
        "ResourceId": phone_id,
        "ResourceType": "phone-number",
        "IsoCountryCode": "US",
        "PhoneNumber": f"+120655501{i:02d}",
    }


REG = {"RegistrationArn": REG_ARN, "RegistrationId": REG_ID}
FIELD = "companyInfo.companyName"
FIELD_RESULT = REG | {"VersionNumber": 1, "FieldPath": FIELD}
ASSOCIATION_RESULT = REG | {"RegistrationType": REG_TYPE} | association()


def test_implements_both_ports(api: Boto3RegistrationApi) -> None:
    assert isinstance(api, FormsApi)
    assert isinstance(api, RegistrationApi)


# -- single requests: exact params, clean results -----------------------------------------


@pytest.mark.parametrize(
    ("call", "method", "params", "response"),
    [
        (
            lambda a: a.put_registration_field_value(REG_ID, FIELD, text_value="Example Corp"),
            "put_registration_field_value",
            {"RegistrationId": REG_ID, "FieldPath": FIELD, "TextValue": "Example Corp"},
            FIELD_RESULT | {"TextValue": "Example Corp"},
        ),
        (
            lambda a: a.put_registration_field_value(
                REG_ARN, FIELD, select_choices=("B", "A", "B")
            ),
            "put_registration_field_value",
            {"RegistrationId": REG_ARN, "FieldPath": FIELD, "SelectChoices": ["B", "A", "B"]},
            FIELD_RESULT | {"SelectChoices": ["B", "A", "B"]},
        ),
        (
            lambda a: a.put_registration_field_value(REG_ID, FIELD, select_choices=[]),
            "put_registration_field_value",
            {"RegistrationId": REG_ID, "FieldPath": FIELD, "SelectChoices": []},
            FIELD_RESULT | {"SelectChoices": []},
        ),
        (
            lambda a: a.put_registration_field_value(REG_ID, FIELD, attachment_id=ATT_ARN),
            "put_registration_field_value",
            {"RegistrationId": REG_ID, "FieldPath": FIELD, "RegistrationAttachmentId": ATT_ARN},
            FIELD_RESULT | {"RegistrationAttachmentId": ATT_ID},
        ),
        (
            lambda a: a.delete_registration_field_value(REG_ID, FIELD),
            "delete_registration_field_value",
            {"RegistrationId": REG_ID, "FieldPath": FIELD},
            FIELD_RESULT | {"TextValue": "Example Corp"},
        ),
        (
            lambda a: a.create_registration_attachment(attachment_body=PDF),
            "create_registration_attachment",
            {"AttachmentBody": PDF},
            attachment(status="UPLOAD_IN_PROGRESS"),
        ),
        (
            lambda a: a.create_registration_attachment(attachment_body=bytearray(PDF)),
            "create_registration_attachment",
            {"AttachmentBody": PDF},
            attachment(),
        ),
        (
            lambda a: a.create_registration_attachment(
                attachment_url="s3://bucket/loa.pdf", tags={"team": "sms"}, client_token="tok-1"
            ),
            "create_registration_attachment",
            {
                "AttachmentUrl": "s3://bucket/loa.pdf",
                "Tags": [{"Key": "team", "Value": "sms"}],
                "ClientToken": "tok-1",
            },
            attachment() | {"Tags": [{"Key": "team", "Value": "sms"}]},
        ),
        (
            lambda a: a.delete_registration_attachment(ATT_ID),
            "delete_registration_attachment",
            {"RegistrationAttachmentId": ATT_ID},
            attachment(status="DELETED"),
        ),
        (
            lambda a: a.create_registration_association(REG_ID, PHONE_ARN),
            "create_registration_association",
            {"RegistrationId": REG_ID, "ResourceId": PHONE_ARN},
            ASSOCIATION_RESULT,
        ),
    ],
    ids=[
        "put-text",
        "put-select-as-given",
        "put-select-empty",
        "put-attachment",
        "delete-value",
        "attach-body",
        "attach-bytearray",
        "attach-url-tags-token",
        "delete-attachment",
        "associate",
    ],
)
def test_single_requests_send_exact_params_and_return_clean_results(
    api: Boto3RegistrationApi,
    stubber: Stubber,
    call: Callable[[Boto3RegistrationApi], dict[str, Any]],
    method: str,
    params: dict[str, Any],
    response: dict[str, Any],
) -> None:
    stubber.add_response(method, response, params)
    result = call(api)
    assert result == response
    operation = api.client.meta.method_to_api_mapping[method]
    assert api.calls == {operation: 1}


def test_timestamps_in_results_are_utc(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    stubber.add_response(
        "delete_registration_attachment",
        attachment() | {"CreatedTimestamp": T0.astimezone(timezone(timedelta(hours=-7)))},
    )
    stamp = api.delete_registration_attachment(ATT_ID)["CreatedTimestamp"]
    assert stamp == T0
    assert stamp.tzinfo is UTC


# -- pagination and batching ------------------------------------------------------------


@dataclass(frozen=True)
class Paged:
    """A paginated method: its call, its request params, and the items it pages through."""

    call: Callable[[Boto3RegistrationApi], Iterator[dict[str, Any]]]
    method: str
    base: dict[str, Any]
    key: str
    item: Callable[[int], dict[str, Any]]
    #: The list member sent 5 per request, and the values the call gives (repeats removed).
    member: str | None = None
    values: tuple[str, ...] = ()
    #: Members every page of the result carries beside the items.
    page: tuple[tuple[str, Any], ...] = ()


TYPES = tuple(f"TYPE_{i}" for i in range(7))
SECTIONS = tuple(f"section{i}" for i in range(6))
FIELDS = tuple(f"companyInfo.field{i}" for i in range(7))
ATTACHMENTS = tuple(attachment(i)["RegistrationAttachmentId"] for i in range(6))
TYPE_FILTER = [{"Name": "supported-association-iso-country-code", "Values": ["US"]}]
ATT_FILTER = [{"Name": "attachment-status", "Values": ["UPLOAD_COMPLETE", "UPLOAD_FAILED"]}]
ASSOC_FILTER = [{"Name": "resource-type", "Values": ["phone-number"]}]

PAGED = {
    "type-definitions": Paged(
        lambda a: a.describe_registration_type_definitions(
            registration_types=[*TYPES, TYPES[0]], filters=TYPE_FILTER, page_size=2
        ),
        "describe_registration_type_definitions",
        {"Filters": TYPE_FILTER, "MaxResults": 2},
        "RegistrationTypeDefinitions",
        type_definition,
        "RegistrationTypes",
        TYPES,
    ),
    "section-definitions": Paged(
        lambda a: a.describe_registration_section_definitions(
            REG_TYPE, section_paths=SECTIONS, page_size=1
        ),
        "describe_registration_section_definitions",
        {"RegistrationType": REG_TYPE, "MaxResults": 1},
        "RegistrationSectionDefinitions",
        section_definition,
        "SectionPaths",
        SECTIONS,
        (("RegistrationType", REG_TYPE),),
    ),
    "field-definitions": Paged(
        lambda a: a.describe_registration_field_definitions(
            REG_TYPE, section_path="companyInfo", field_paths=FIELDS + FIELDS[:3], page_size=100
        ),
        "describe_registration_field_definitions",
        {"RegistrationType": REG_TYPE, "SectionPath": "companyInfo", "MaxResults": 100},
        "RegistrationFieldDefinitions",
        field_definition,
        "FieldPaths",
        FIELDS,
        (("RegistrationType", REG_TYPE),),
    ),
    "field-definitions-all": Paged(
        lambda a: a.describe_registration_field_definitions(REG_TYPE),
        "describe_registration_field_definitions",
        {"RegistrationType": REG_TYPE},
        "RegistrationFieldDefinitions",
        field_definition,
        page=(("RegistrationType", REG_TYPE),),
    ),
    "field-values": Paged(
        lambda a: a.describe_registration_field_values(
            REG_ID, version_number=3, section_path="companyInfo", field_paths=FIELDS, page_size=5
        ),
        "describe_registration_field_values",
        {
            "RegistrationId": REG_ID,
            "VersionNumber": 3,
            "SectionPath": "companyInfo",
            "MaxResults": 5,
        },
        "RegistrationFieldValues",
        field_value,
        "FieldPaths",
        FIELDS,
        (*REG.items(), ("VersionNumber", 3)),
    ),
    "field-values-current": Paged(
        lambda a: a.describe_registration_field_values(REG_ID),
        "describe_registration_field_values",
        {"RegistrationId": REG_ID},
        "RegistrationFieldValues",
        field_value,
        page=(*REG.items(), ("VersionNumber", 1)),
    ),
    "attachments": Paged(
        lambda a: a.describe_registration_attachments(
            attachment_ids=ATTACHMENTS, filters=ATT_FILTER, page_size=3
        ),
        "describe_registration_attachments",
        {"Filters": ATT_FILTER, "MaxResults": 3},
        "RegistrationAttachments",
        attachment,
        "RegistrationAttachmentIds",
        ATTACHMENTS,
    ),
    "attachments-all": Paged(
        lambda a: a.describe_registration_attachments(),
        "describe_registration_attachments",
        {},
        "RegistrationAttachments",
        attachment,
    ),
    "associations": Paged(
        lambda a: a.list_registration_associations(REG_ARN, filters=ASSOC_FILTER, page_size=50),
        "list_registration_associations",
        {"RegistrationId": REG_ARN, "Filters": ASSOC_FILTER, "MaxResults": 50},
        "RegistrationAssociations",
        association,
        page=(*REG.items(), ("RegistrationType", REG_TYPE)),
    ),
}


@pytest.mark.parametrize("case", PAGED.values(), ids=PAGED.keys())
def test_describe_and_list_methods_batch_and_page_through_everything(
    api: Boto3RegistrationApi, stubber: Stubber, case: Paged
) -> None:
    batches = [list(case.values[i : i + 5]) for i in range(0, len(case.values), 5)] or [[]]
    expected: list[dict[str, Any]] = []
    for batch in batches:  # two pages per request
        params = case.base | ({case.member: batch} if case.member is not None and batch else {})
        first, second = case.item(len(expected)), case.item(len(expected) + 1)
        token = f"token-{len(expected)}"
        page = dict(case.page)
        stubber.add_response(case.method, page | {case.key: [first], "NextToken": token}, params)
        stubber.add_response(
            case.method, page | {case.key: [second]}, params | {"NextToken": token}
        )
        expected += [first, second]
    found = list(case.call(api))
    assert found == expected
    operation = api.client.meta.method_to_api_mapping[case.method]
    assert api.calls == {operation: 2 * len(batches)}


def test_an_error_on_a_later_page_is_typed_after_earlier_items(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    stubber.add_response(
        "describe_registration_attachments",
        {"RegistrationAttachments": [attachment()], "NextToken": "x"},
    )
    stubber.add_client_error(
        "describe_registration_attachments",
        "ValidationException",
        "bad token",
        modeled_fields={"Reason": "INVALID_NEXT_TOKEN"},
    )
    items = api.describe_registration_attachments()
    assert next(items)["RegistrationAttachmentId"] == ATT_ID[:-2] + "00"
    with pytest.raises(ApiValidationError) as err:
        next(items)
    assert (err.value.reason, err.value.operation) == (
        "INVALID_NEXT_TOKEN",
        "DescribeRegistrationAttachments",
    )


# -- typed errors -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """An API error answer to one call: the code, its modelled members, the typed error."""

    call: Callable[[Boto3RegistrationApi], Any]
    method: str
    code: str
    modeled: dict[str, Any]
    error: type[ApiError]
    #: (attribute, value) pairs the typed error carries.
    carries: tuple[tuple[str, Any], ...]


REFUSED = {
    "put-not-draft": Refused(
        lambda a: a.put_registration_field_value(REG_ID, FIELD, text_value="x"),
        "put_registration_field_value",
        "ConflictException",
        {"Reason": "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED", "ResourceType": "registration",
         "ResourceId": REG_ID},
        ConflictError,
        (("reason", "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED"),
         ("resource_type", "registration"), ("resource_id", REG_ID)),
    ),
    "put-unknown-field": Refused(
        lambda a: a.put_registration_field_value(REG_ID, "no.such", text_value="x"),
        "put_registration_field_value",
        "ValidationException",
        {"Reason": "UNKNOWN_REGISTRATION_FIELD",
         "Fields": [{"Name": "FieldPath", "Message": "no.such is not a field"}]},
        ApiValidationError,
        (("reason", "UNKNOWN_REGISTRATION_FIELD"),
         ("fields", (("FieldPath", "no.such is not a field"),))),
    ),
    "delete-value-cannot": Refused(
        lambda a: a.delete_registration_field_value(REG_ID, FIELD),
        "delete_registration_field_value",
        "ValidationException",
        {"Reason": "REGISTRATION_FIELD_CANNOT_BE_DELETED"},
        ApiValidationError,
        (("reason", "REGISTRATION_FIELD_CANNOT_BE_DELETED"), ("fields", ())),
    ),
    "field-values-no-registration": Refused(
        lambda a: list(a.describe_registration_field_values(REG_ID)),
        "describe_registration_field_values",
        "ResourceNotFoundException",
        {"ResourceType": "registration", "ResourceId": REG_ID},
        NotFoundError,
        (("resource_type", "registration"), ("resource_id", REG_ID)),
    ),
    "definitions-unknown-type": Refused(
        lambda a: list(a.describe_registration_field_definitions("NO_SUCH_TYPE")),
        "describe_registration_field_definitions",
        "ValidationException",
        {"Reason": "UNKNOWN_REGISTRATION_TYPE"},
        ApiValidationError,
        (("reason", "UNKNOWN_REGISTRATION_TYPE"),),
    ),
    "sections-denied": Refused(
        lambda a: list(a.describe_registration_section_definitions(REG_TYPE)),
        "describe_registration_section_definitions",
        "AccessDeniedException",
        {"Reason": "ACCOUNT_DISABLED"},
        AccessDeniedError,
        (("reason", "ACCOUNT_DISABLED"),),
    ),
    "types-throttled": Refused(
        lambda a: list(a.describe_registration_type_definitions()),
        "describe_registration_type_definitions",
        "ThrottlingException",
        {},
        ThrottledError,
        (),
    ),
    "attach-quota": Refused(
        lambda a: a.create_registration_attachment(attachment_body=PDF),
        "create_registration_attachment",
        "ServiceQuotaExceededException",
        {"Reason": "REGISTRATION_ATTACHMENTS_CREATED_PER_DAY"},
        ServiceQuotaExceededError,
        (("reason", "REGISTRATION_ATTACHMENTS_CREATED_PER_DAY"),),
    ),
    "attach-type-not-supported": Refused(
        lambda a: a.create_registration_attachment(attachment_url="s3://b/k.pdf"),
        "create_registration_attachment",
        "ValidationException",
        {"Reason": "ATTACHMENT_TYPE_NOT_SUPPORTED"},
        ApiValidationError,
        (("reason", "ATTACHMENT_TYPE_NOT_SUPPORTED"),),
    ),
    "delete-attachment-in-use": Refused(
        lambda a: a.delete_registration_attachment(ATT_ID),
        "delete_registration_attachment",
        "ConflictException",
        {"Reason": "RESOURCE_DELETION_NOT_ALLOWED", "ResourceType": "registration-attachment",
         "ResourceId": ATT_ID},
        ConflictError,
        (("reason", "RESOURCE_DELETION_NOT_ALLOWED"),
         ("resource_type", "registration-attachment"), ("resource_id", ATT_ID)),
    ),
    "delete-attachment-gone": Refused(
        lambda a: a.delete_registration_attachment(ATT_ID),
        "delete_registration_attachment",
        "ResourceNotFoundException",
        {"ResourceType": "registration-attachment", "ResourceId": ATT_ID},
        NotFoundError,
        (("resource_type", "registration-attachment"), ("resource_id", ATT_ID)),
    ),
    "attachments-gone": Refused(
        lambda a: list(a.describe_registration_attachments(attachment_ids=[ATT_ID])),
        "describe_registration_attachments",
        "ResourceNotFoundException",
        {"ResourceType": "registration-attachment", "ResourceId": ATT_ID},
        NotFoundError,
        (("resource_type", "registration-attachment"), ("resource_id", ATT_ID)),
    ),
    "associate-twice": Refused(
        lambda a: a.create_registration_association(REG_ID, PHONE_ID),
        "create_registration_association",
        "ConflictException",
        {"Reason": "RESOURCE_ALREADY_ASSOCIATED", "ResourceType": "phone-number",
         "ResourceId": PHONE_ID},
        ConflictError,
        (("reason", "RESOURCE_ALREADY_ASSOCIATED"), ("resource_type", "phone-number")),
    ),
    "associate-quota": Refused(
        lambda a: a.create_registration_association(REG_ID, PHONE_ID),
        "create_registration_association",
        "ServiceQuotaExceededException",
        {"Reason": "ASSOCIATIONS_PER_REGISTRATION"},
        ServiceQuotaExceededError,
        (("reason", "ASSOCIATIONS_PER_REGISTRATION"),),
    ),
    "associations-no-registration": Refused(
        lambda a: list(a.list_registration_associations(REG_ID)),
        "list_registration_associations",
        "ResourceNotFoundException",
        {"ResourceType": "registration", "ResourceId": REG_ID},
        NotFoundError,
        (("resource_type", "registration"),),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_api_errors_become_typed_errors_with_their_reason(
    api: Boto3RegistrationApi, stubber: Stubber, case: Refused
) -> None:
    stubber.add_client_error(
        case.method,
        service_error_code=case.code,
        service_message="the service said no",
        modeled_fields=case.modeled or None,
        response_meta={"RequestId": "req-7"},
    )
    with pytest.raises(ApiError) as info:
        case.call(api)
    err = info.value
    operation = api.client.meta.method_to_api_mapping[case.method]
    assert type(err) is case.error
    assert (err.code, err.message, err.request_id) == (case.code, "the service said no", "req-7")
    assert err.operation == operation
    for name, value in case.carries:
        assert getattr(err, name) == value, name
    assert api.calls == {operation: 1}


# -- refused locally, before any request ---------------------------------------------------

# With the Stubber active and nothing queued, any request would fail the test with
# UnStubbedResponseError: each refusal below is made before a request.


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({}, "none"),
        ({"text_value": "x", "select_choices": ["A"]}, "select_choices and text_value"),
        ({"text_value": "x", "attachment_id": ATT_ID}, "text_value and attachment_id"),
        (
            {"select_choices": [], "text_value": "x", "attachment_id": ATT_ID},
            "select_choices and text_value and attachment_id",
        ),
    ],
)
def test_a_field_value_takes_exactly_one_kind_of_value(
    api: Boto3RegistrationApi, kwargs: dict[str, Any], found: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"exactly one of .*; got {found}$"):
        api.put_registration_field_value(REG_ID, FIELD, **kwargs)
    assert api.calls == {}


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [({}, "neither"), ({"attachment_body": PDF, "attachment_url": "s3://b/k.pdf"}, "both")],
)
def test_an_attachment_takes_a_body_or_a_url(
    api: Boto3RegistrationApi, kwargs: dict[str, Any], found: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"attachment_body and attachment_url; got {found}"):
        api.create_registration_attachment(**kwargs)
    assert api.calls == {}


def test_an_attachment_body_is_bytes_within_the_model_limits(api: Boto3RegistrationApi) -> None:
    with pytest.raises(InvalidArgumentType, match="attachment_body must be bytes, got str"):
        api.create_registration_attachment(attachment_body="%PDF")  # type: ignore[arg-type]
    for size in (0, 6_990_509):
        with pytest.raises(ApiValidationError) as err:
            api.create_registration_attachment(attachment_body=bytes(size))
        assert err.value.reason == "INVALID_PARAMETER"
        assert [name for name, _ in err.value.fields] == ["AttachmentBody"]
        assert f"has {size} bytes; expected 1..6990508" in err.value.message
    assert api.calls == {}


BAD_IDS = ["", "has space", "x" * 257, "emoji-\u2603", 42, [ATT_ID]]


@pytest.mark.parametrize("bad", BAD_IDS, ids=lambda v: repr(v)[:12])
@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a, i: a.delete_registration_attachment(i), "RegistrationAttachmentId"),
        (
            lambda a, i: a.put_registration_field_value(REG_ID, FIELD, attachment_id=i),
            "RegistrationAttachmentId",
        ),
        (
            lambda a, i: a.describe_registration_attachments(attachment_ids=[ATT_ID, i]),
            "RegistrationAttachmentIds",
        ),
        (lambda a, i: a.create_registration_association(REG_ID, i), "ResourceId"),
    ],
    ids=["delete-attachment", "put-attachment", "describe-attachments", "associate"],
)
def test_malformed_attachment_and_resource_ids_fail_before_any_call(
    api: Boto3RegistrationApi,
    call: Callable[[Boto3RegistrationApi, Any], Any],
    field: str,
    bad: Any,
) -> None:
    if isinstance(bad, str):
        with pytest.raises(InvalidArgument, match=f"^{field} .* must be 1-256 characters") as err:
            call(api, bad)
        assert not isinstance(err.value, InvalidRegistrationId)
    else:
        with pytest.raises(InvalidArgumentType, match=r"must (be a string|hold strings)"):
            call(api, bad)
    assert api.calls == {}


@pytest.mark.parametrize("bad", BAD_IDS[:4], ids=lambda v: repr(v)[:12])
@pytest.mark.parametrize(
    "call",
    [
        lambda a, i: a.put_registration_field_value(i, FIELD, text_value="x"),
        lambda a, i: a.delete_registration_field_value(i, FIELD),
        lambda a, i: a.describe_registration_field_values(i),
        lambda a, i: a.create_registration_association(i, PHONE_ID),
        lambda a, i: a.list_registration_associations(i),
    ],
    ids=["put", "delete-value", "values", "associate", "associations"],
)
def test_malformed_registration_ids_fail_before_any_call(
    api: Boto3RegistrationApi, call: Callable[[Boto3RegistrationApi, Any], Any], bad: str
) -> None:
    # Describe and List methods check eagerly: the error comes from the call.
    with pytest.raises(InvalidRegistrationId) as err:
        call(api, bad)
    assert (err.value.value, err.value.field) == (bad, "RegistrationId")
    assert api.calls == {}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda a: a.describe_registration_type_definitions(registration_types=REG_TYPE),
         InvalidArgumentType),
        (lambda a: a.describe_registration_type_definitions(registration_types=[1]),
         InvalidArgumentType),
        (lambda a: a.describe_registration_section_definitions(REG_TYPE, section_paths="s"),
         InvalidArgumentType),
        (lambda a: a.describe_registration_field_definitions(REG_TYPE, field_paths=FIELD),
         InvalidArgumentType),
        (lambda a: a.describe_registration_field_values(REG_ID, field_paths=FIELD),
         InvalidArgumentType),
        (lambda a: a.put_registration_field_value(REG_ID, FIELD, select_choices="A"),
         InvalidArgumentType),
        (lambda a: a.describe_registration_attachments(attachment_ids=ATT_ID),
         InvalidArgumentType),
        (lambda a: a.describe_registration_field_values(REG_ID, version_number=0),
         ApiValidationError),
        (lambda a: a.describe_registration_field_values(REG_ID, version_number=True),
         ApiValidationError),
        (lambda a: a.describe_registration_type_definitions(page_size=0), ApiValidationError),
        (lambda a: a.describe_registration_section_definitions(REG_TYPE, page_size=101),
         ApiValidationError),
        (lambda a: a.list_registration_associations(REG_ID, page_size="5"), ApiValidationError),
        (lambda a: a.list_registration_associations(REG_ID, filters={"Name": "x"}),
         InvalidArgument),
        (lambda a: a.create_registration_attachment(attachment_url="s3://b/k", tags=[("a", "b")]),
         InvalidArgument),
    ],
)  # fmt: skip
def test_bad_arguments_fail_before_any_call(
    api: Boto3RegistrationApi, call: Callable[[Boto3RegistrationApi], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(api)
    assert api.calls == {}


# -- over HTTP: what goes on the wire, and pacing -------------------------------------------

#: A valid wire answer (timestamps as epoch seconds) for each operation.
WIRE_ANSWERS: dict[str, dict[str, Any]] = {
    "DescribeRegistrationTypeDefinitions": {"RegistrationTypeDefinitions": [type_definition()]},
    "DescribeRegistrationSectionDefinitions": {
        "RegistrationType": REG_TYPE,
        "RegistrationSectionDefinitions": [section_definition()],
    },
    "DescribeRegistrationFieldDefinitions": {
        "RegistrationType": REG_TYPE,
        "RegistrationFieldDefinitions": [field_definition()],
    },
    "PutRegistrationFieldValue": FIELD_RESULT,
    "DeleteRegistrationFieldValue": FIELD_RESULT,
    "DescribeRegistrationFieldValues": REG
    | {"VersionNumber": 1, "RegistrationFieldValues": [field_value()]},
    "CreateRegistrationAttachment": attachment() | {"CreatedTimestamp": T0.timestamp()},
    "DeleteRegistrationAttachment": attachment() | {"CreatedTimestamp": T0.timestamp()},
    "DescribeRegistrationAttachments": {
        "RegistrationAttachments": [attachment() | {"CreatedTimestamp": T0.timestamp()}]
    },
    "CreateRegistrationAssociation": ASSOCIATION_RESULT,
    "ListRegistrationAssociations": REG
    | {"RegistrationType": REG_TYPE, "RegistrationAssociations": [association()]},
}

#: Every FormsApi method, called once with every argument it takes.
EVERY_METHOD: list[Callable[[Boto3RegistrationApi], Any]] = [
    lambda a: list(a.describe_registration_type_definitions(
        registration_types=[REG_TYPE], filters=TYPE_FILTER, page_size=10)),
    lambda a: list(a.describe_registration_section_definitions(
        REG_TYPE, section_paths=["companyInfo"], page_size=10)),
    lambda a: list(a.describe_registration_field_definitions(
        REG_TYPE, section_path="companyInfo", field_paths=[FIELD], page_size=10)),
    lambda a: a.put_registration_field_value(REG_ID, FIELD, select_choices=["A", "B"]),
    lambda a: a.put_registration_field_value(REG_ID, FIELD, text_value="Example Corp"),
    lambda a: a.put_registration_field_value(REG_ID, FIELD, attachment_id=ATT_ID),
    lambda a: a.delete_registration_field_value(REG_ID, FIELD),
    lambda a: list(a.describe_registration_field_values(
        REG_ID, version_number=1, section_path="companyInfo", field_paths=[FIELD], page_size=10)),
    lambda a: a.create_registration_attachment(
        attachment_body=PDF, tags={"team": "sms"}, client_token="tok-1"),
    lambda a: a.create_registration_attachment(attachment_url="s3://bucket/loa.pdf"),
    lambda a: a.delete_registration_attachment(ATT_ARN),
    lambda a: list(a.describe_registration_attachments(
        attachment_ids=[ATT_ID], filters=ATT_FILTER, page_size=10)),
    lambda a: a.create_registration_association(REG_ID, PHONE_ID),
    lambda a: list(a.list_registration_associations(REG_ID, filters=ASSOC_FILTER, page_size=10)),
]  # fmt: skip


class Loopback:
    """A loopback AWS JSON 1.0 peer: records each request, answers from WIRE_ANSWERS."""

    def __init__(self, pages: int = 1) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                operation = self.headers["X-Amz-Target"].split(".", 1)[1]
                with lock:
                    outer.requests.append((operation, body))
                    served = sum(1 for op, _ in outer.requests if op == operation)
                answer = dict(WIRE_ANSWERS[operation])
                if served < pages:
                    answer["NextToken"] = f"page-{served}"
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def loopback() -> Iterator[Callable[..., Loopback]]:
    started: list[Loopback] = []

    def start(pages: int = 1) -> Loopback:
        started.append(Loopback(pages))
        return started[-1]

    yield start
    for peer in started:
        peer.close()


def paced_api(
    url: str, account: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Boto3RegistrationApi, Counter[str]]:
    """An adapter at 1000x AWS's quotas whose pacer records every slot it hands out."""
    api = Boto3RegistrationApi.from_config(
        session=SESSION,
        region="us-east-1",
        endpoint_url=url,
        max_attempts=1,
        quotas=Quotas.of({}).scaled(1000),
        account=account,
    )
    pacer = api.pacer
    assert pacer is not None
    slots: Counter[str] = Counter()
    acquire = pacer.acquire

    def counted(operation: str) -> float:
        slots[operation] += 1
        return acquire(operation)

    monkeypatch.setattr(pacer, "acquire", counted)
    return api, slots


def test_over_http_every_request_is_paced_and_fits_the_emulators_validation(
    loopback: Callable[..., Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    peer = loopback()
    api, slots = paced_api(peer.url, "100000000010", monkeypatch)
    try:
        for call in EVERY_METHOD:
            call(api)
    finally:
        api.client.close()
    operations = [op for op, _ in peer.requests]
    assert set(operations) == set(WIRE_ANSWERS)
    assert slots == Counter(operations)  # one slot per request, by operation
    assert api.calls == dict(Counter(operations))
    assert api.pacer is not None
    for operation in WIRE_ANSWERS:
        assert api.pacer.quota(operation) == DEFAULT_QUOTAS[operation] * 1000
    for operation, body in peer.requests:
        validate_request(operation, body)  # the emulator accepts what botocore sends


def test_over_http_an_attachment_body_travels_as_base64(loopback: Callable[..., Loopback]) -> None:
    peer = loopback()
    api = Boto3RegistrationApi.from_config(
        session=SESSION, region="us-east-1", endpoint_url=peer.url, max_attempts=1, quotas=None
    )
    try:
        result = api.create_registration_attachment(attachment_body=PDF)
    finally:
        api.client.close()
    [(operation, body)] = peer.requests
    assert operation == "CreateRegistrationAttachment"
    assert base64.b64decode(body["AttachmentBody"], validate=True) == PDF
    assert body["ClientToken"]  # botocore fills the idempotency token
    assert result["CreatedTimestamp"] == T0
    assert result["CreatedTimestamp"].tzinfo is UTC


def test_over_http_each_page_is_paced(
    loopback: Callable[..., Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    peer = loopback(pages=3)
    api, slots = paced_api(peer.url, "100000000011", monkeypatch)
    try:
        found = list(api.list_registration_associations(REG_ID, page_size=1))
    finally:
        api.client.close()
    assert len(found) == 3
    assert [body.get("NextToken") for _, body in peer.requests] == [None, "page-1", "page-2"]
    assert slots == {"ListRegistrationAssociations": 3}
    assert api.calls == {"ListRegistrationAssociations": 3}
