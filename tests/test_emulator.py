"""The in-memory emulator, called directly and through the wire layer (no network)."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator
from helpers import REG_TYPE, TickingClock
from hypothesis import given
from hypothesis import strategies as st

from registration_fsm.domain.lifecycle import LIFECYCLE, LifecyclePolicy
from registration_fsm.emulator import (
    EmulatedRegistrationApi,
    decode_json,
    dispatch,
    dispatch_control,
    encode_json,
    error_response,
)
from registration_fsm.emulator.validation import (
    INPUT_SHAPES,
    OPERATIONS,
    SHAPES,
    validate_request,
)
from registration_fsm.emulator.wire import ERROR_STATUS
from registration_fsm.errors import (
    ApiValidationError,
    CommandRefused,
    ConflictError,
    InternalServerError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    NotFoundError,
    RegistrationError,
    RequestSerializationError,
    ThrottledError,
    UnknownDetail,
    UnknownOperationError,
    UnknownTrigger,
)
from registration_fsm.ports import RegistrationApi

ID_RE = re.compile(r"registration-[0-9a-f]{32}")


@pytest.fixture(scope="module")
def model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")


@pytest.fixture
def api(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=1)


def assert_output(model: ServiceModel, operation: str, result: Mapping[str, Any]) -> None:
    """``result`` fits the operation's output shape (required, types, no unknown keys)."""
    output = model.operation_model(operation).output_shape
    assert output is not None
    report = ParamValidator().validate(dict(result), output)
    assert not report.has_errors(), report.generate_report()


def status_of(api: EmulatedRegistrationApi, reg_id: str) -> str:
    return str(api.describe_registrations_page([reg_id])["Registrations"][0]["RegistrationStatus"])


def versions(api: EmulatedRegistrationApi, reg_id: str) -> list[tuple[int, str]]:
    return [
        (v["VersionNumber"], v["RegistrationVersionStatus"])
        for v in api.describe_registration_versions(reg_id)
    ]


def snapshot(api: EmulatedRegistrationApi) -> list[Any]:
    regs = list(api.describe_registrations())
    return [(r, list(api.describe_registration_versions(r["RegistrationId"]))) for r in regs]


# -- creation, ids, ARNs ----------------------------------------------------


def test_create_makes_version_1_draft_with_aws_shaped_ids(
    api: EmulatedRegistrationApi, model: ServiceModel, clock: TickingClock
) -> None:
    result = api.create_registration(REG_TYPE)
    assert_output(model, "CreateRegistration", result)
    reg_id = result["RegistrationId"]
    assert ID_RE.fullmatch(reg_id)
    assert (
        result["RegistrationArn"]
        == f"arn:aws:sms-voice:us-east-1:123456789012:registration/{reg_id}"
    )
    assert result["RegistrationStatus"] == "CREATED"
    assert result["CurrentVersionNumber"] == 1
    created = clock.now  # every request reads the clock once (for its quota)
    assert result["CreatedTimestamp"] == created
    assert result["CreatedTimestamp"].tzinfo is UTC
    page = api.describe_registration_versions_page(reg_id)
    assert_output(model, "DescribeRegistrationVersions", page)
    (v1,) = page["RegistrationVersions"]
    assert v1["RegistrationVersionStatus"] == "DRAFT"
    assert v1["RegistrationVersionStatusHistory"] == {"DraftTimestamp": created}


def test_region_and_account_shape_the_arn() -> None:
    api = EmulatedRegistrationApi(region="eu-west-2", account="000011112222")
    arn = api.create_registration(REG_TYPE)["RegistrationArn"]
    assert arn.startswith("arn:aws:sms-voice:eu-west-2:000011112222:registration/registration-")
    with pytest.raises(InvalidArgument):
        EmulatedRegistrationApi(account="12")
    with pytest.raises(InvalidArgument):
        EmulatedRegistrationApi(region="Mars")


def test_seeded_ids_are_reproducible() -> None:
    def ids(seed: int) -> list[str]:
        api = EmulatedRegistrationApi(seed=seed)
        return [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)]

    assert ids(5) == ids(5)
    assert ids(5) != ids(6)
    assert len(set(ids(5))) == 3


def test_arn_is_accepted_wherever_an_id_is(api: EmulatedRegistrationApi) -> None:
    created = api.create_registration(REG_TYPE)
    arn, reg_id = created["RegistrationArn"], created["RegistrationId"]
    assert api.submit_registration_version(arn)["RegistrationId"] == reg_id
    page = api.describe_registration_versions_page(arn)
    assert (page["RegistrationId"], page["RegistrationArn"]) == (reg_id, arn)
    assert [r["RegistrationId"] for r in api.describe_registrations(registration_ids=[arn])] == [
        reg_id
    ]
    foreign = arn.replace("123456789012", "999999999999")
    with pytest.raises(NotFoundError):
        api.discard_registration_version(foreign)


def test_implements_the_port(api: EmulatedRegistrationApi) -> None:
    assert isinstance(api, RegistrationApi)


def test_tags_are_kept_and_returned(api: EmulatedRegistrationApi) -> None:
    result = api.create_registration(REG_TYPE, tags={"team": "sms", "env": "test"})
    assert result["Tags"] == [{"Key": "team", "Value": "sms"}, {"Key": "env", "Value": "test"}]
    assert api.tags_for(result["RegistrationId"]) == {"team": "sms", "env": "test"}
    assert "Tags" not in api.create_registration(REG_TYPE)
    dup = [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]
    with pytest.raises(ApiValidationError) as err:
        dispatch(api, "CreateRegistration", {"RegistrationType": REG_TYPE, "Tags": dup})
    assert err.value.fields[0][0] == "Tags"


def test_registration_types_can_be_restricted() -> None:
    api = EmulatedRegistrationApi(registration_types={REG_TYPE})
    api.create_registration(REG_TYPE)
    with pytest.raises(ApiValidationError) as err:
        api.create_registration("NOT_A_TYPE")
    assert err.value.reason == "UNKNOWN_REGISTRATION_TYPE"


# -- idempotency -------------------------------------------------------------


def test_client_token_replays_the_same_result(api: EmulatedRegistrationApi) -> None:
    first = api.create_registration(REG_TYPE, client_token="tok-1", tags={"a": "1", "b": "2"})
    api.submit_registration_version(first["RegistrationId"])
    again = api.create_registration(REG_TYPE, client_token="tok-1", tags={"b": "2", "a": "1"})
    assert again == first
    assert len(list(api.describe_registrations())) == 1
    other = api.create_registration(REG_TYPE, client_token="tok-2")
    assert other["RegistrationId"] != first["RegistrationId"]
    assert api.create_registration(REG_TYPE) != api.create_registration(REG_TYPE)


def test_client_token_with_other_parameters_is_a_conflict(api: EmulatedRegistrationApi) -> None:
    first = api.create_registration(REG_TYPE, client_token="tok")
    before = snapshot(api)
    with pytest.raises(ConflictError) as err:
        api.create_registration("OTHER_TYPE", client_token="tok")
    assert err.value.reason == "RESOURCE_ALREADY_EXISTS"
    assert err.value.resource_id == first["RegistrationId"]
    with pytest.raises(ConflictError):
        api.create_registration(REG_TYPE, client_token="tok", tags={"k": "v"})
    assert snapshot(api) == before


# -- pagination --------------------------------------------------------------


def test_pages_cover_every_registration_once_oldest_first(api: EmulatedRegistrationApi) -> None:
    created = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(7)]
    seen: list[list[str]] = []
    token: str | None = None
    while True:
        page = api.describe_registrations_page(max_results=3, next_token=token)
        seen.append([r["RegistrationId"] for r in page["Registrations"]])
        token = page.get("NextToken")
        if token is None:
            break
    assert [len(p) for p in seen] == [3, 3, 1]
    assert [i for p in seen for i in p] == created
    assert api.calls["DescribeRegistrations"] == 3


def test_deleting_between_pages_skips_nothing(api: EmulatedRegistrationApi) -> None:
    ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(6)]
    first = api.describe_registrations_page(max_results=3)
    api.delete_registration(ids[0])
    rest = api.describe_registrations_page(max_results=3, next_token=first["NextToken"])
    assert [r["RegistrationId"] for r in rest["Registrations"]] == ids[3:]
    assert "NextToken" not in rest


def test_version_pages_are_newest_first(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    for _ in range(4):
        api.submit_registration_version(reg_id)
        api.discard_registration_version(reg_id)
        api.create_registration_version(reg_id)
    first = api.describe_registration_versions_page(reg_id, max_results=2)
    assert [v["VersionNumber"] for v in first["RegistrationVersions"]] == [5, 4]
    second = api.describe_registration_versions_page(
        reg_id, max_results=2, next_token=first["NextToken"]
    )
    assert [v["VersionNumber"] for v in second["RegistrationVersions"]] == [3, 2]
    assert [n for n, _ in versions(api, reg_id)] == [5, 4, 3, 2, 1]
    assert list(api.describe_registration_versions(reg_id, page_size=1)) == list(
        api.describe_registration_versions(reg_id)
    )


def _flip(token: str, index: int) -> str:
    char = "A" if token[index] != "A" else "B"
    return token[:index] + char + token[index + 1 :]


def test_tampered_or_foreign_tokens_are_invalid(api: EmulatedRegistrationApi) -> None:
    for _ in range(3):
        api.create_registration(REG_TYPE)
    token = api.describe_registrations_page(max_results=1)["NextToken"]
    other = EmulatedRegistrationApi()
    for _ in range(3):
        other.create_registration(REG_TYPE)
    foreign = other.describe_registrations_page(max_results=1)["NextToken"]
    filtered = [{"Name": "registration-type", "Values": [REG_TYPE]}]
    bad_calls: list[Callable[[], object]] = [
        lambda: api.describe_registrations_page(next_token=_flip(token, 2)),
        lambda: api.describe_registrations_page(next_token=_flip(token, len(token) - 2)),
        lambda: api.describe_registrations_page(next_token="not-a-token"),
        lambda: api.describe_registrations_page(next_token=foreign),
        lambda: api.describe_registrations_page(filters=filtered, next_token=token),
    ]
    for call in bad_calls:
        with pytest.raises(ApiValidationError) as err:
            call()
        assert err.value.reason == "INVALID_NEXT_TOKEN"
        assert err.value.fields[0][0] == "NextToken"
    reg_id = next(api.describe_registrations())["RegistrationId"]
    with pytest.raises(ApiValidationError, match="NextToken"):
        api.describe_registration_versions_page(reg_id, next_token=token)
    assert api.describe_registrations_page(next_token=token)["Registrations"]


@pytest.mark.parametrize("size", [0, 101, -1])
def test_max_results_must_be_1_to_100(api: EmulatedRegistrationApi, size: int) -> None:
    with pytest.raises(ApiValidationError) as err:
        api.describe_registrations_page(max_results=size)
    assert (err.value.reason, err.value.fields[0][0]) == ("INVALID_PARAMETER", "MaxResults")


def test_default_page_size_is_configurable() -> None:
    api = EmulatedRegistrationApi(default_page_size=2)
    for _ in range(3):
        api.create_registration(REG_TYPE)
    assert len(api.describe_registrations_page()["Registrations"]) == 2
    assert len(list(api.describe_registrations())) == 3
    with pytest.raises(InvalidArgument):
        EmulatedRegistrationApi(default_page_size=101)


# -- filters and ids --------------------------------------------------------------


def _status_filter(*values: str) -> list[dict[str, Any]]:
    return [{"Name": "registration-status", "Values": list(values)}]


def test_filters_narrow_and_combine(api: EmulatedRegistrationApi) -> None:
    a = api.create_registration(REG_TYPE)["RegistrationId"]
    b = api.create_registration("OTHER_TYPE")["RegistrationId"]
    c = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(c)

    def ids(filters: list[dict[str, Any]]) -> list[str]:
        return [r["RegistrationId"] for r in api.describe_registrations(filters=filters)]

    assert ids(_status_filter("CREATED")) == [a, b]
    assert ids(_status_filter("CREATED", "SUBMITTED")) == [a, b, c]
    by_type = [{"Name": "registration-type", "Values": [REG_TYPE]}]
    assert ids(by_type) == [a, c]
    assert ids(by_type + _status_filter("SUBMITTED")) == [c]
    assert ids(_status_filter("COMPLETE")) == []


def test_version_status_filter(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    api.discard_registration_version(reg_id)
    api.create_registration_version(reg_id)
    drafts = [{"Name": "registration-version-status", "Values": ["DRAFT"]}]
    found = list(api.describe_registration_versions(reg_id, filters=drafts))
    assert [v["VersionNumber"] for v in found] == [2]
    assert [
        v["VersionNumber"] for v in api.describe_registration_versions(reg_id, version_numbers=[1])
    ] == [1]
    with pytest.raises(ApiValidationError) as err:
        api.describe_registration_versions_page(reg_id, version_numbers=[9])
    assert err.value.reason == "UNKNOWN_REGISTRATION_VERSION"


def test_bad_filters_are_refused(api: EmulatedRegistrationApi) -> None:
    with pytest.raises(ApiValidationError) as err:
        api.describe_registrations_page(filters=_status_filter("NOT_A_STATUS"))
    assert err.value.reason == "INVALID_FILTER_VALUES"
    with pytest.raises(ApiValidationError) as err:
        api.describe_registrations_page(
            filters=[{"Name": "registration-version-status", "Values": ["DRAFT"]}]
        )
    assert err.value.fields[0][0] == "Filters[0].Name"
    with pytest.raises(ApiValidationError) as err:
        api.describe_registrations_page(filters=[{"Name": "registration-status", "Values": []}])
    assert err.value.fields[0][0] == "Filters[0].Values"


def test_registration_ids_at_most_5_per_request(api: EmulatedRegistrationApi) -> None:
    ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(7)]
    with pytest.raises(ApiValidationError) as err:
        api.describe_registrations_page(registration_ids=ids[:6])
    assert err.value.fields[0][0] == "RegistrationIds"
    before = api.calls["DescribeRegistrations"]
    found = [r["RegistrationId"] for r in api.describe_registrations(registration_ids=ids[::-1])]
    assert sorted(found) == sorted(ids)
    assert api.calls["DescribeRegistrations"] - before == 2


def test_unknown_id_is_not_found(api: EmulatedRegistrationApi) -> None:
    known = api.create_registration(REG_TYPE)["RegistrationId"]
    missing = "registration-" + "0" * 32
    calls: list[Callable[[], object]] = [
        lambda: api.describe_registrations_page([known, missing]),
        lambda: api.describe_registration_versions_page(missing),
        lambda: api.create_registration_version(missing),
        lambda: api.submit_registration_version(missing),
        lambda: api.discard_registration_version(missing),
        lambda: api.delete_registration(missing),
        lambda: api.advance(missing, "begin_review"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as err:
            call()
        assert (err.value.resource_type, err.value.resource_id) == ("registration", missing)


def test_malformed_ids_are_refused(api: EmulatedRegistrationApi) -> None:
    for bad in ["", "bad id!", "x" * 257]:
        # Through the port: refused before any request (none is counted).
        with pytest.raises(InvalidRegistrationId) as refused:
            api.submit_registration_version(bad)
        assert (refused.value.value, refused.value.field) == (bad, "RegistrationId")
        # On the wire: the request is answered with a ValidationException.
        with pytest.raises(ApiValidationError) as err:
            dispatch(api, "SubmitRegistrationVersion", {"RegistrationId": bad})
        assert err.value.fields[0][0] == "RegistrationId"
    with pytest.raises(InvalidArgumentType, match="for one id"):
        api.describe_registrations(registration_ids="registration-1")
    with pytest.raises(InvalidArgumentType):
        api.submit_registration_version(42)  # type: ignore[arg-type]
    assert dict(api.calls) == {"SubmitRegistrationVersion": 3}  # the wire requests only


# -- refusals ----------------------------------------------------------------


def test_submit_refused_unless_current_version_is_draft(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    before = snapshot(api)
    with pytest.raises(ConflictError) as err:
        api.submit_registration_version(reg_id)
    assert err.value.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    assert err.value.resource_id == reg_id
    assert snapshot(api) == before


def test_submit_with_aws_review(api: EmulatedRegistrationApi, model: ServiceModel) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    result = api.submit_registration_version(reg_id, aws_review=True)
    assert_output(model, "SubmitRegistrationVersion", result)
    assert (result["RegistrationVersionStatus"], result["AwsReview"]) == ("AWS_REVIEWING", True)
    assert "AwsReviewingTimestamp" in result["RegistrationVersionStatusHistory"]
    assert status_of(api, reg_id) == "AWS_REVIEWING"


def test_create_version_refused_while_current_is_open(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    for step in [None, "submit", "begin_review", "require_authentication"]:
        if step == "submit":
            api.submit_registration_version(reg_id)
        elif step is not None:
            api.advance(reg_id, step)
        with pytest.raises(ConflictError) as err:
            api.create_registration_version(reg_id)
        assert err.value.reason == "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"
    assert versions(api, reg_id) == [(1, "REQUIRES_AUTHENTICATION")]


def test_discard_refusals_follow_the_policy(clock: TickingClock, model: ServiceModel) -> None:
    api = EmulatedRegistrationApi(clock=clock)
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    with pytest.raises(ConflictError) as err:
        api.discard_registration_version(reg_id)
    assert err.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    with pytest.raises(ConflictError) as err:
        api.discard_registration_version(reg_id)
    assert err.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert versions(api, reg_id) == [(1, "REVIEWING")]

    lenient = EmulatedRegistrationApi(clock=clock, policy=LifecyclePolicy.allow_draft_discard())
    other = lenient.create_registration(REG_TYPE)["RegistrationId"]
    result = lenient.discard_registration_version(other)
    assert_output(model, "DiscardRegistrationVersion", result)
    assert result["RegistrationVersionStatus"] == "DISCARDED"


def test_discard_then_new_version(api: EmulatedRegistrationApi, model: ServiceModel) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    discarded = api.discard_registration_version(reg_id)
    assert discarded["RegistrationVersionStatus"] == "DISCARDED"
    assert "DiscardedTimestamp" in discarded["RegistrationVersionStatusHistory"]
    created = api.create_registration_version(reg_id)
    assert_output(model, "CreateRegistrationVersion", created)
    assert (created["VersionNumber"], created["RegistrationVersionStatus"]) == (2, "DRAFT")
    assert versions(api, reg_id) == [(2, "DRAFT"), (1, "DISCARDED")]


# -- AWS-side events ------------------------------------------------------------


def test_advance_accepts_only_aws_side_triggers(api: EmulatedRegistrationApi) -> None:
    assert LIFECYCLE.aws_triggers == (
        "begin_review",
        "require_authentication",
        "authenticate",
        "require_offline_review",
        "approve",
        "deny",
        "revoke",
        "archive",
    )
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    for customer in ["submit", "discard", "create"]:
        with pytest.raises(InvalidArgument) as err:
            api.advance(reg_id, customer)
        assert not isinstance(err.value, UnknownTrigger)
    with pytest.raises(UnknownTrigger):
        api.advance(reg_id, "launch")
    with pytest.raises(UnknownDetail, match="no details"):
        api.advance(reg_id, "approve", feedback="x")
    # Nor may a detail set one of the model's own parameters.
    for name in ("version", "clock", "policy", "actor", "origin", "trigger"):
        with pytest.raises(UnknownDetail):
            api.advance(reg_id, "begin_review", **{name: 1})
    with pytest.raises(CommandRefused):
        api.advance(reg_id, "approve")
    assert versions(api, reg_id) == [(1, "DRAFT")]


def test_advance_drives_the_lifecycle_and_approval_archives(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    (event,) = api.advance(reg_id, "begin_review")
    assert (event.source, event.dest, event.version_number) == ("SUBMITTED", "REVIEWING", 1)
    api.advance(reg_id, "approve")
    assert status_of(api, reg_id) == "COMPLETE"
    api.create_registration_version(reg_id)
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    events = api.advance(reg_id, "approve")
    assert [(e.version_number, e.trigger, e.dest) for e in events] == [
        (2, "approve", "APPROVED"),
        (1, "archive", "ARCHIVED"),
    ]
    info = api.describe_registrations_page([reg_id])["Registrations"][0]
    assert info["ApprovedVersionNumber"] == 2
    (revoked,) = api.advance(reg_id, "revoke")
    assert revoked.version_number == 2
    assert versions(api, reg_id) == [(2, "REVOKED"), (1, "ARCHIVED")]


def test_deny_records_reasons_and_feedback(
    api: EmulatedRegistrationApi, model: ServiceModel
) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id, aws_review=True)
    reasons = [{"Reason": "BRAND", "ShortDescription": "Brand name mismatch"}]
    api.advance(reg_id, "deny", denied_reasons=reasons, feedback="Use the legal name")
    page = api.describe_registration_versions_page(reg_id)
    assert_output(model, "DescribeRegistrationVersions", page)
    (v1,) = page["RegistrationVersions"]
    assert (v1["DeniedReasons"], v1["Feedback"]) == (reasons, "Use the legal name")
    info = api.describe_registrations_page([reg_id])["Registrations"][0]
    assert (info["RegistrationStatus"], info["LatestDeniedVersionNumber"]) == (
        "REQUIRES_UPDATES",
        1,
    )
    other = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(other)
    api.advance(other, "begin_review")
    with pytest.raises(InvalidArgumentType, match="ShortDescription"):
        api.advance(other, "deny", denied_reasons=[{"Reason": "no short description"}])
    assert versions(api, other) == [(1, "REVIEWING")]


# -- delete --------------------------------------------------------------------


def test_delete_removes_the_registration(api: EmulatedRegistrationApi, model: ServiceModel) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    keep = api.create_registration(REG_TYPE)["RegistrationId"]
    result = api.delete_registration(reg_id)
    assert_output(model, "DeleteRegistration", result)
    assert (result["RegistrationId"], result["RegistrationStatus"]) == (reg_id, "DELETED")
    with pytest.raises(NotFoundError):
        api.describe_registrations_page([reg_id])
    with pytest.raises(NotFoundError):
        api.delete_registration(reg_id)
    assert [r["RegistrationId"] for r in api.describe_registrations()] == [keep]


def test_delete_can_keep_registrations_visible(clock: TickingClock) -> None:
    api = EmulatedRegistrationApi(clock=clock, keep_deleted=True)
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.delete_registration(reg_id)
    assert status_of(api, reg_id) == "DELETED"
    deleted = list(api.describe_registrations(filters=_status_filter("DELETED")))
    assert [r["RegistrationId"] for r in deleted] == [reg_id]
    refusals = {
        "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED": api.submit_registration_version,
        "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED": api.discard_registration_version,
        "RESOURCE_DELETION_NOT_ALLOWED": api.delete_registration,
    }
    for reason, call in refusals.items():
        with pytest.raises(ConflictError) as err:
            call(reg_id)
        assert err.value.reason == reason
    assert versions(api, reg_id) == [(1, "DRAFT")]


# -- calls, clock, threads ----------------------------------------------------------


def test_calls_count_every_request_including_refused(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    with pytest.raises(ConflictError):
        api.discard_registration_version(reg_id)
    with pytest.raises(ApiValidationError):
        api.describe_registrations_page(max_results=0)
    with pytest.raises(ApiValidationError):
        dispatch(api, "DeleteRegistration", {"RegistrationId": "bad id"})
    assert dict(api.calls) == {
        "CreateRegistration": 1,
        "DiscardRegistrationVersion": 1,
        "DescribeRegistrations": 1,
        "DeleteRegistration": 1,
    }


def test_port_methods_refuse_malformed_arguments_before_sending(
    api: EmulatedRegistrationApi,
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: api.create_registration_version("bad id"),
        lambda: api.submit_registration_version("bad id"),
        lambda: api.discard_registration_version("bad id"),
        lambda: api.delete_registration("bad id"),
        lambda: api.describe_registration_versions("bad id"),
        lambda: api.describe_registrations(registration_ids=["bad id"]),
        lambda: api.describe_registrations(page_size=0),
    ]
    for call in calls[:-1]:
        with pytest.raises(InvalidRegistrationId):
            call()
    with pytest.raises(ApiValidationError):
        calls[-1]()
    assert dict(api.calls) == {}
    with pytest.raises(TypeError):
        api.calls["CreateRegistration"] = 0  # type: ignore[index]


def test_naive_clock_is_refused_and_changes_nothing() -> None:
    api = EmulatedRegistrationApi(clock=lambda: datetime(2026, 1, 1), quotas=None)
    with pytest.raises(InvalidArgument):
        api.create_registration(REG_TYPE)
    assert api.describe_registrations_page()["Registrations"] == []
    # With quotas, every request reads the clock (for the quota), and is refused.
    paced = EmulatedRegistrationApi(clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(InvalidArgument, match="timezone-aware"):
        paced.describe_registrations_page()


@pytest.mark.slow
def test_concurrent_requests_are_safe() -> None:
    api = EmulatedRegistrationApi(seed=9)
    created: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
                api.submit_registration_version(reg_id)
                api.advance(reg_id, "begin_review")
                created.append(reg_id)
                list(api.describe_registrations(page_size=7))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(created)) == 200
    assert api.calls["CreateRegistration"] == 200
    statuses = {r["RegistrationStatus"] for r in api.describe_registrations()}
    assert statuses == {"REVIEWING"}


# -- the constraint table against the botocore model -------------------------------


def _model_shapes(shape: Shape, out: dict[str, Shape]) -> None:
    if shape.name in out:
        return
    out[shape.name] = shape
    if isinstance(shape, StructureShape):
        for member in shape.members.values():
            _model_shapes(member, out)
    elif isinstance(shape, ListShape):
        _model_shapes(shape.member, out)


def test_constraint_table_matches_the_botocore_model(model: ServiceModel) -> None:
    registration_ops = {op for op in model.operation_names if "Registration" in op}
    assert set(INPUT_SHAPES) == registration_ops
    assert OPERATIONS.items() <= INPUT_SHAPES.items()
    found: dict[str, Shape] = {}
    for operation, input_name in INPUT_SHAPES.items():
        input_shape = model.operation_model(operation).input_shape
        assert input_shape is not None
        assert input_shape.name == input_name
        _model_shapes(input_shape, found)
    assert set(found) == set(SHAPES)
    for name, shape in found.items():
        ours = SHAPES[name]
        meta = shape.metadata
        assert ours.type == shape.type_name, name
        assert (ours.min, ours.max, ours.pattern) == (
            meta.get("min"),
            meta.get("max"),
            meta.get("pattern"),
        ), name
        assert ours.enum == tuple(meta.get("enum", ())), name
        if isinstance(shape, StructureShape):
            members = tuple((k, v.name) for k, v in shape.members.items())
            assert ours.members == members, name
            assert ours.required == tuple(shape.required_members), name
        if isinstance(shape, ListShape):
            assert ours.member == shape.member.name, name


ATTACHMENT_ID = "registration-attachment-0123456789abcdef0123456789abcdef"
PHONE_ID = "phone-0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("DescribeRegistrationTypeDefinitions", {}),
        (
            "DescribeRegistrationTypeDefinitions",
            {
                "RegistrationTypes": [REG_TYPE],
                "Filters": [{"Name": "supported-association-iso-country-code", "Values": ["US"]}],
                "MaxResults": 100,
            },
        ),
        ("DescribeRegistrationSectionDefinitions", {"RegistrationType": REG_TYPE}),
        (
            "DescribeRegistrationFieldDefinitions",
            {"RegistrationType": REG_TYPE, "SectionPath": "s", "FieldPaths": ["s.f"]},
        ),
        (
            "PutRegistrationFieldValue",
            {"RegistrationId": "r", "FieldPath": "s.f", "TextValue": "t"},
        ),
        (
            "PutRegistrationFieldValue",
            {"RegistrationId": "r", "FieldPath": "s.f", "SelectChoices": []},
        ),
        ("DeleteRegistrationFieldValue", {"RegistrationId": "r", "FieldPath": "s.f"}),
        ("DescribeRegistrationFieldValues", {"RegistrationId": "r", "VersionNumber": 100_000}),
        ("CreateRegistrationAttachment", {"AttachmentBody": "JVBERi0="}),
        ("CreateRegistrationAttachment", {"AttachmentUrl": "s3://bucket/loa.pdf"}),
        ("DeleteRegistrationAttachment", {"RegistrationAttachmentId": ATTACHMENT_ID}),
        (
            "DescribeRegistrationAttachments",
            {"Filters": [{"Name": "attachment-status", "Values": ["UPLOAD_COMPLETE"]}]},
        ),
        ("CreateRegistrationAssociation", {"RegistrationId": "r", "ResourceId": PHONE_ID}),
        (
            "ListRegistrationAssociations",
            {"RegistrationId": "r", "Filters": [{"Name": "resource-type", "Values": ["x"]}]},
        ),
    ],
)
def test_form_requests_within_the_model_pass(operation: str, params: dict[str, Any]) -> None:
    validate_request(operation, params)


@pytest.mark.parametrize(
    ("operation", "params", "field", "reason"),
    [
        ("DescribeRegistrationTypeDefinitions", {"RegistrationTypes": ["a"] * 6},
         "RegistrationTypes", "INVALID_PARAMETER"),
        ("DescribeRegistrationTypeDefinitions",
         {"Filters": [{"Name": "registration-type", "Values": ["x"]}]},
         "Filters[0].Name", "INVALID_PARAMETER"),
        ("DescribeRegistrationSectionDefinitions", {}, "RegistrationType", "MISSING_PARAMETER"),
        ("DescribeRegistrationSectionDefinitions",
         {"RegistrationType": REG_TYPE, "SectionPaths": ["a.b"]},
         "SectionPaths[0]", "INVALID_PARAMETER"),
        ("DescribeRegistrationFieldDefinitions",
         {"RegistrationType": REG_TYPE, "FieldPaths": ["has space"]},
         "FieldPaths[0]", "INVALID_PARAMETER"),
        ("PutRegistrationFieldValue", {"RegistrationId": "r"}, "FieldPath", "MISSING_PARAMETER"),
        ("PutRegistrationFieldValue",
         {"RegistrationId": "r", "FieldPath": "f", "TextValue": "x" * 2049},
         "TextValue", "INVALID_PARAMETER"),
        ("PutRegistrationFieldValue",
         {"RegistrationId": "r", "FieldPath": "f", "SelectChoices": [""]},
         "SelectChoices[0]", "INVALID_PARAMETER"),
        ("PutRegistrationFieldValue",
         {"RegistrationId": "r", "FieldPath": "f", "RegistrationAttachmentId": "a b"},
         "RegistrationAttachmentId", "INVALID_PARAMETER"),
        ("DeleteRegistrationFieldValue", {"FieldPath": "f"}, "RegistrationId", "MISSING_PARAMETER"),
        ("DescribeRegistrationFieldValues", {"RegistrationId": "r", "VersionNumber": 0},
         "VersionNumber", "INVALID_PARAMETER"),
        ("CreateRegistrationAttachment", {"AttachmentBody": ""}, "AttachmentBody",
         "INVALID_PARAMETER"),
        ("CreateRegistrationAttachment", {"AttachmentBody": "not base64!"}, "AttachmentBody",
         "INVALID_PARAMETER"),
        ("CreateRegistrationAttachment", {"AttachmentBody": "JVBERi0"}, "AttachmentBody",
         "INVALID_PARAMETER"),
        ("CreateRegistrationAttachment", {"AttachmentBody": [1, 2]}, "AttachmentBody",
         "INVALID_PARAMETER"),
        ("CreateRegistrationAttachment", {"AttachmentUrl": "has space"}, "AttachmentUrl",
         "INVALID_PARAMETER"),
        ("DeleteRegistrationAttachment", {}, "RegistrationAttachmentId", "MISSING_PARAMETER"),
        ("DescribeRegistrationAttachments", {"RegistrationAttachmentIds": ["ok", "n o"]},
         "RegistrationAttachmentIds[1]", "INVALID_PARAMETER"),
        ("DescribeRegistrationAttachments",
         {"Filters": [{"Name": "attachment-status", "Values": []}]},
         "Filters[0].Values", "INVALID_PARAMETER"),
        ("CreateRegistrationAssociation", {"RegistrationId": "r"}, "ResourceId",
         "MISSING_PARAMETER"),
        ("CreateRegistrationAssociation", {"RegistrationId": "r", "ResourceId": "x" * 257},
         "ResourceId", "INVALID_PARAMETER"),
        ("ListRegistrationAssociations",
         {"RegistrationId": "r", "Filters": [{"Name": "attachment-status", "Values": ["x"]}]},
         "Filters[0].Name", "INVALID_PARAMETER"),
        ("ListRegistrationAssociations", {"RegistrationId": "r", "MaxResults": 101},
         "MaxResults", "INVALID_PARAMETER"),
    ],
)  # fmt: skip
def test_form_requests_outside_the_model_are_validation_errors(
    operation: str, params: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ApiValidationError) as err:
        validate_request(operation, params)
    assert field in [name for name, _ in err.value.fields]
    assert err.value.reason == reason
    assert err.value.operation == operation


def test_an_attachment_body_is_sized_by_its_decoded_bytes() -> None:
    # The model's 6990508 limit counts decoded bytes; the base64 text is a third longer.
    limit = SHAPES["AttachmentBody"].max
    assert limit == 6_990_508
    at_limit = base64.b64encode(bytes(limit)).decode()
    assert len(at_limit) > limit
    validate_request("CreateRegistrationAttachment", {"AttachmentBody": at_limit})
    over = base64.b64encode(bytes(limit + 1)).decode()
    with pytest.raises(ApiValidationError, match="has 6990509 bytes"):
        validate_request("CreateRegistrationAttachment", {"AttachmentBody": over})
    for text in ("JVBER i0=", "JVBERi0=\n", "JVBERi0=\u00e9", "JVBE-i0="):
        with pytest.raises(ApiValidationError, match="not base64"):
            validate_request("CreateRegistrationAttachment", {"AttachmentBody": text})


def test_validate_request_knows_every_registration_operation_and_no_other() -> None:
    with pytest.raises(UnknownOperationError, match="SendTextMessage"):
        validate_request("SendTextMessage", {})


def test_error_statuses_match_the_botocore_model(model: ServiceModel) -> None:
    loader = botocore.session.get_session().get_component("data_loader")
    raw = loader.load_service_model("pinpoint-sms-voice-v2", "service-2")["shapes"]
    errors = {e.name for op in INPUT_SHAPES for e in model.operation_model(op).error_shapes}
    assert errors <= set(ERROR_STATUS)
    for name in errors:
        declared = model.shape_for(name).metadata.get("error", {}).get("httpStatusCode")
        expected = declared or (500 if raw[name].get("fault") else 400)
        assert ERROR_STATUS[name] == expected, name


# -- the wire layer ----------------------------------------------------------------


def test_dispatch_runs_operations_by_name(api: EmulatedRegistrationApi) -> None:
    created = dispatch(api, "CreateRegistration", {"RegistrationType": REG_TYPE})
    page = dispatch(api, "DescribeRegistrations", {"RegistrationIds": [created["RegistrationId"]]})
    assert page["Registrations"][0]["RegistrationId"] == created["RegistrationId"]
    with pytest.raises(UnknownOperationError):
        dispatch(api, "SendTextMessage", {})
    with pytest.raises(UnknownOperationError):
        dispatch(api, "describe_registrations", {})
    assert "SendTextMessage" not in api.calls


@pytest.mark.parametrize(
    ("operation", "params", "field"),
    [
        ("DescribeRegistrations", {"RegistrationIds": "registration-1"}, "RegistrationIds"),
        ("DescribeRegistrations", {"RegistrationIds": [1]}, "RegistrationIds[0]"),
        ("DescribeRegistrations", {"MaxResults": "5"}, "MaxResults"),
        ("DescribeRegistrations", {"MaxResults": True}, "MaxResults"),
        ("DescribeRegistrations", {"MaxResults": 5.0}, "MaxResults"),
        ("DescribeRegistrations", {"Filters": {"Name": "x"}}, "Filters"),
        (
            "DescribeRegistrations",
            {"Filters": [{"Name": "registration-status"}]},
            "Filters[0].Values",
        ),
        ("DescribeRegistrations", {"Filters": [["registration-status"]]}, "Filters[0]"),
        ("DescribeRegistrations", {"NextToken": ""}, "NextToken"),
        ("DescribeRegistrationVersions", {}, "RegistrationId"),
        (
            "DescribeRegistrationVersions",
            {"RegistrationId": "r", "VersionNumbers": [0]},
            "VersionNumbers[0]",
        ),
        ("CreateRegistration", {"RegistrationType": "has space"}, "RegistrationType"),
        ("CreateRegistration", {"RegistrationType": "T", "Tags": [{"Key": "a"}]}, "Tags[0].Value"),
        ("CreateRegistration", {"RegistrationType": "T", "ClientToken": "x" * 65}, "ClientToken"),
        ("SubmitRegistrationVersion", {"RegistrationId": "r", "AwsReview": "yes"}, "AwsReview"),
        ("DeleteRegistration", {"RegistrationId": None}, "RegistrationId"),
        ("DeleteRegistration", [], "(request)"),
    ],
)
def test_malformed_params_are_validation_errors(
    api: EmulatedRegistrationApi, operation: str, params: Any, field: str
) -> None:
    with pytest.raises(ApiValidationError) as err:
        dispatch(api, operation, params)
    assert field in [name for name, _ in err.value.fields]
    assert err.value.reason in {"INVALID_PARAMETER", "MISSING_PARAMETER"}
    assert list(api.describe_registrations()) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    operation=st.sampled_from(sorted(OPERATIONS)),
    params=st.dictionaries(
        st.sampled_from(
            ["RegistrationId", "RegistrationIds", "RegistrationType", "Filters", "MaxResults",
             "NextToken", "VersionNumbers", "Tags", "ClientToken", "AwsReview", "Other"]
        ),
        json_values,
        max_size=4,
    ),
)  # fmt: skip
def test_any_json_request_gives_a_library_error_or_a_result(
    operation: str, params: dict[str, Any]
) -> None:
    api = EmulatedRegistrationApi(seed=0)
    try:
        result = dispatch(api, operation, params)
    except RegistrationError as err:
        status, body = error_response(err)
        assert status == 400
        assert body["__type"] in {"ValidationException", "ResourceNotFoundException"}
    else:
        assert isinstance(result, dict)
        decode_json(encode_json(result))


def test_error_response_bodies() -> None:
    conflict = ConflictError(
        "no", reason="SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED", resource_id="r"
    )
    assert error_response(conflict) == (
        400,
        {
            "__type": "ConflictException",
            "message": "no",
            "Reason": "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
            "ResourceType": "registration",
            "ResourceId": "r",
        },
    )
    invalid = ApiValidationError("bad", reason="INVALID_NEXT_TOKEN", fields=[("NextToken", "bad")])
    assert error_response(invalid)[1]["Fields"] == [{"Name": "NextToken", "Message": "bad"}]
    missing = NotFoundError("gone", resource_id="r")
    assert error_response(missing)[1]["ResourceType"] == "registration"
    assert error_response(ThrottledError("slow"))[0] == 400
    assert error_response(InternalServerError("boom")) == (
        500,
        {"__type": "InternalServerException", "message": "boom"},
    )
    assert error_response(KeyError("secret")) == (
        500,
        {"__type": "InternalServerException", "message": "internal error (KeyError)"},
    )
    assert error_response(InvalidArgument("x"))[1]["__type"] == "ValidationException"
    assert error_response(UnknownOperationError("x"))[:1] == (400,)
    assert error_response(RequestSerializationError("x"))[1]["__type"] == "SerializationException"


def test_json_codec() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    assert decode_json(encode_json({"T": at})) == {"T": at.timestamp()}
    assert decode_json(b"") == {}
    for bad in [b"[1]", b"{", b"\xff", b'{"a": NaN}', b'{"a": 1e999}', b"[" * 100_000]:
        with pytest.raises(RequestSerializationError):
            decode_json(bad)


def test_control_advance_and_calls(api: EmulatedRegistrationApi) -> None:
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    out = dispatch_control(api, "Advance", {"RegistrationId": reg_id, "Trigger": "begin_review"})
    assert [(e["trigger"], e["dest"]) for e in out["Events"]] == [("begin_review", "REVIEWING")]
    assert dispatch_control(api, "Calls", {})["Calls"]["SubmitRegistrationVersion"] == 1
    details = {"trigger": "approve"}
    with pytest.raises(UnknownDetail):
        dispatch_control(
            api, "Advance", {"RegistrationId": reg_id, "Trigger": "deny", "Details": details}
        )
    assert error_response(UnknownDetail("deny", "trigger", ()))[:1] == (400,)
    with pytest.raises(ApiValidationError):
        dispatch_control(api, "Advance", {"RegistrationId": reg_id, "Trigger": 3})
    with pytest.raises(UnknownOperationError):
        dispatch_control(api, "Reset", {})
    assert versions(api, reg_id) == [(1, "REVIEWING")]
