"""Boto3RegistrationApi against botocore's Stubber and a loopback HTTP peer.

The Stubber validates every request and response against the installed service
model; the loopback server exercises botocore's real wire path (retries,
timeouts, error parsing) without credentials or network.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from helpers import REG_ARN, REG_ID, REG_TYPE

from registration_fsm import ConflictError, Registration, RegistrationError, RegistrationVersion
from registration_fsm.adapters import Boto3RegistrationApi as LazyBoto3RegistrationApi
from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.errors import (
    AccessDeniedError,
    ApiError,
    ApiUnavailable,
    ApiValidationError,
    InternalServerError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    MissingDependency,
    NotFoundError,
    ServiceQuotaExceededError,
    ThrottledError,
)
from registration_fsm.ports import RegistrationApi

PLUS5 = timezone(timedelta(hours=5))
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OTHER_ID = "registration-fedcba9876543210fedcba9876543210"


#: One session for the module: it caches the loaded service model (clients are
#: created from it one at a time; sessions are not thread-safe).
SESSION = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
)


def make_client(**config: Any) -> Any:
    return SESSION.client("pinpoint-sms-voice-v2", config=Config(**config))


def info(reg_id: str = REG_ID, status: str = "CREATED", **extra: Any) -> dict[str, Any]:
    return {
        "RegistrationArn": REG_ARN.replace(REG_ID, reg_id),
        "RegistrationId": reg_id,
        "RegistrationType": REG_TYPE,
        "RegistrationStatus": status,
        "CurrentVersionNumber": 1,
        "CreatedTimestamp": T0.astimezone(PLUS5),
        **extra,
    }


def version_info(number: int = 1, status: str = "DRAFT", **history: datetime) -> dict[str, Any]:
    return {
        "VersionNumber": number,
        "RegistrationVersionStatus": status,
        "RegistrationVersionStatusHistory": {"DraftTimestamp": T0.astimezone(PLUS5), **history},
    }


def version_result(number: int = 1, status: str = "DRAFT", **history: datetime) -> dict[str, Any]:
    return {"RegistrationArn": REG_ARN, "RegistrationId": REG_ID} | version_info(
        number, status, **history
    )


@pytest.fixture
def client() -> Iterator[Any]:
    c = make_client(retries={"mode": "standard", "total_max_attempts": 1})
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


# -- construction and configuration -------------------------------------


def test_implements_the_port_and_is_exposed_lazily(api: Boto3RegistrationApi) -> None:
    assert isinstance(api, RegistrationApi)
    assert LazyBoto3RegistrationApi is Boto3RegistrationApi


def test_importing_the_library_does_not_import_boto3() -> None:
    code = (
        "import sys, registration_fsm, registration_fsm.adapters, "
        "registration_fsm.adapters.boto3_api, registration_fsm.adapters.boto3_errors\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_boto3_names_the_aws_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` fail
    with pytest.raises(MissingDependency, match=r"registration-fsm\[aws\]") as info:
        Boto3RegistrationApi.from_config(region="us-east-1")
    assert isinstance(info.value, RegistrationError)
    assert isinstance(info.value, ImportError)


def test_rejects_a_client_of_another_service() -> None:
    s3 = SESSION.client("s3")
    try:
        with pytest.raises(InvalidArgument, match="pinpoint-sms-voice-v2"):
            Boto3RegistrationApi(s3)
    finally:
        s3.close()
    with pytest.raises(InvalidArgument):
        Boto3RegistrationApi(object())  # type: ignore[arg-type]


def test_from_config_sets_botocore_retries_and_timeouts() -> None:
    api = Boto3RegistrationApi.from_config(
        session=SESSION,
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        retry_mode="adaptive",
        max_attempts=4,
        connect_timeout=1.5,
        read_timeout=2.5,
    )
    try:
        assert (api.retry_mode, api.max_attempts) == ("adaptive", 4)
        config: Any = api.client.meta.config
        assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
        assert (config.connect_timeout, config.read_timeout) == (1.5, 2.5)
        assert api.client.meta.region_name == "eu-west-1"
        assert api.client.meta.endpoint_url == "http://127.0.0.1:9"
    finally:
        api.client.close()


def test_from_config_defaults_to_standard_retries_with_three_attempts() -> None:
    api = Boto3RegistrationApi.from_config(region="us-east-1")
    try:
        assert (api.retry_mode, api.max_attempts) == ("standard", 3)
    finally:
        api.client.close()


def test_retry_settings_are_read_from_a_wrapped_client() -> None:
    # botocore's `max_attempts` counts retries: 2 retries = 3 attempts.
    client = make_client(retries={"mode": "legacy", "max_attempts": 2})
    try:
        api = Boto3RegistrationApi(client)
        assert (api.retry_mode, api.max_attempts) == ("legacy", 3)
    finally:
        client.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retry_mode": "eager"},
        {"max_attempts": 0},
        {"max_attempts": True},
        {"connect_timeout": 0},
        {"read_timeout": -1.0},
        {"session": SESSION, "profile": "x"},
        {"profile": "registration-fsm-no-such-profile"},
        {"endpoint_url": "not a url"},
    ],
)
def test_from_config_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        Boto3RegistrationApi.from_config(region="us-east-1", **kwargs)


def test_from_config_without_region_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(InvalidArgument, match="region"):
        Boto3RegistrationApi.from_config()


# -- requests ------------------------------------------------------------


def test_create_registration_sends_type_token_and_tags(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    response = {k: v for k, v in info().items() if k not in ("CreatedTimestamp",)}
    response |= {"CreatedTimestamp": T0, "Tags": [{"Key": "team", "Value": "sms"}]}
    stubber.add_response(
        "create_registration",
        response,
        {
            "RegistrationType": REG_TYPE,
            "ClientToken": "token-1",
            "Tags": [{"Key": "team", "Value": "sms"}],
        },
    )
    result = api.create_registration(REG_TYPE, client_token="token-1", tags={"team": "sms"})
    assert result == response
    assert Registration.from_api(result, [version_info()]).id == REG_ID


def test_create_registration_without_options_sends_only_the_type(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    stubber.add_response("create_registration", info(), {"RegistrationType": REG_TYPE})
    assert api.create_registration(REG_TYPE)["RegistrationStatus"] == "CREATED"


@pytest.mark.parametrize(
    ("call", "method", "params", "response"),
    [
        (
            lambda a: a.create_registration_version(REG_ID),
            "create_registration_version",
            {"RegistrationId": REG_ID},
            version_result(2, "DRAFT"),
        ),
        (
            lambda a: a.submit_registration_version(REG_ID),
            "submit_registration_version",
            {"RegistrationId": REG_ID},
            version_result(1, "SUBMITTED", SubmittedTimestamp=T0) | {"AwsReview": False},
        ),
        (
            lambda a: a.submit_registration_version(REG_ID, aws_review=True),
            "submit_registration_version",
            {"RegistrationId": REG_ID, "AwsReview": True},
            version_result(1, "AWS_REVIEWING", AwsReviewingTimestamp=T0) | {"AwsReview": True},
        ),
        (
            lambda a: a.discard_registration_version(REG_ARN),
            "discard_registration_version",
            {"RegistrationId": REG_ARN},
            version_result(1, "DISCARDED", SubmittedTimestamp=T0, DiscardedTimestamp=T0),
        ),
        (
            lambda a: a.delete_registration(REG_ID),
            "delete_registration",
            {"RegistrationId": REG_ID},
            info(status="DELETED"),
        ),
    ],
    ids=["create-version", "submit", "submit-aws-review", "discard-by-arn", "delete"],
)
def test_operation_requests_and_results(
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
    if "VersionNumber" in result:
        assert RegistrationVersion.from_api(result).number == response["VersionNumber"]
    else:
        assert Registration.from_api(result, [version_info()]).status.to_api() == "DELETED"


# -- pagination and batching ----------------------------------------------


def test_describe_registrations_batches_ids_by_five_and_pages(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    ids = [f"registration-{i:032x}" for i in range(7)]
    filters = [{"Name": "registration-status", "Values": ["CREATED"]}]
    first, second = ids[:5], ids[5:]
    base = {"Filters": filters, "MaxResults": 3}
    stubber.add_response(
        "describe_registrations",
        {"Registrations": [info(i) for i in first[:3]], "NextToken": "page-2"},
        base | {"RegistrationIds": first},
    )
    stubber.add_response(
        "describe_registrations",
        {"Registrations": [info(i) for i in first[3:]]},
        base | {"RegistrationIds": first, "NextToken": "page-2"},
    )
    stubber.add_response(
        "describe_registrations",
        {"Registrations": [info(i) for i in second]},
        base | {"RegistrationIds": second},
    )
    found = list(
        api.describe_registrations(registration_ids=ids + ids[:2], filters=filters, page_size=3)
    )
    assert [r["RegistrationId"] for r in found] == ids
    assert api.calls == {"DescribeRegistrations": 3}


def test_describe_registrations_without_arguments_pages_everything(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    stubber.add_response(
        "describe_registrations", {"Registrations": [info()], "NextToken": "t1"}, {}
    )
    stubber.add_response(
        "describe_registrations", {"Registrations": [info(OTHER_ID)]}, {"NextToken": "t1"}
    )
    found = list(api.describe_registrations())
    assert [r["RegistrationId"] for r in found] == [REG_ID, OTHER_ID]
    for item in found:
        assert Registration.from_api(item, [version_info()]).anomalies == ()


def test_describe_registration_versions_batches_numbers_and_pages(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    filters = [{"Name": "registration-version-status", "Values": ["DRAFT", "APPROVED"]}]
    base = {"RegistrationId": REG_ID, "Filters": filters, "MaxResults": 1}
    page = {"RegistrationArn": REG_ARN, "RegistrationId": REG_ID}
    stubber.add_response(
        "describe_registration_versions",
        page | {"RegistrationVersions": [version_info(1)], "NextToken": "n"},
        base | {"VersionNumbers": [1, 2, 3, 4, 5]},
    )
    stubber.add_response(
        "describe_registration_versions",
        page | {"RegistrationVersions": [version_info(5)]},
        base | {"VersionNumbers": [1, 2, 3, 4, 5], "NextToken": "n"},
    )
    stubber.add_response(
        "describe_registration_versions",
        page | {"RegistrationVersions": [version_info(6)]},
        base | {"VersionNumbers": [6]},
    )
    found = list(
        api.describe_registration_versions(
            REG_ID, version_numbers=[1, 2, 3, 4, 5, 6], filters=filters, page_size=1
        )
    )
    assert [v["VersionNumber"] for v in found] == [1, 5, 6]
    parsed = [
        RegistrationVersion.from_api(v, registration_id=REG_ID, registration_arn=REG_ARN)
        for v in found
    ]
    assert [v.history.draft for v in parsed] == [T0, T0, T0]
    assert api.calls == {"DescribeRegistrationVersions": 3}


def test_an_error_on_a_later_page_is_typed_after_earlier_items(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    stubber.add_response("describe_registrations", {"Registrations": [info()], "NextToken": "x"})
    stubber.add_client_error(
        "describe_registrations",
        "ValidationException",
        "bad token",
        modeled_fields={"Reason": "INVALID_NEXT_TOKEN"},
    )
    items = api.describe_registrations()
    assert next(items)["RegistrationId"] == REG_ID
    with pytest.raises(ApiValidationError) as err:
        next(items)
    assert err.value.reason == "INVALID_NEXT_TOKEN"
    assert err.value.operation == "DescribeRegistrations"


# -- error translation ---------------------------------------------------


def raise_from(
    api: Boto3RegistrationApi,
    stubber: Stubber,
    code: str,
    status: int = 400,
    message: str = "the service said no",
    **modeled: Any,
) -> ApiError | ConflictError:
    stubber.add_client_error(
        "submit_registration_version",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        modeled_fields=modeled or None,
        response_meta={"RequestId": "req-123"},
        expected_params={"RegistrationId": REG_ID},
    )
    with pytest.raises((ApiError, ConflictError)) as info:
        api.submit_registration_version(REG_ID)
    err = info.value
    assert isinstance(err, ApiError | ConflictError)
    assert err.message == message
    assert err.request_id == "req-123"
    assert api.calls == {"SubmitRegistrationVersion": 1}
    return err


def test_conflict_becomes_conflict_error_with_reason_and_resource(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    err = raise_from(
        api,
        stubber,
        "ConflictException",
        Reason="SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
        ResourceType="registration",
        ResourceId=REG_ID,
    )
    assert isinstance(err, ConflictError)
    assert err.reason == "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    assert (err.resource_type, err.resource_id) == ("registration", REG_ID)
    assert getattr(err, "operation", None) == "SubmitRegistrationVersion"


def test_not_found_becomes_not_found_error(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    err = raise_from(
        api, stubber, "ResourceNotFoundException", ResourceType="registration", ResourceId=REG_ID
    )
    assert isinstance(err, NotFoundError)
    assert (err.resource_type, err.resource_id) == ("registration", REG_ID)
    assert (err.code, err.operation) == ("ResourceNotFoundException", "SubmitRegistrationVersion")


def test_validation_keeps_reason_and_fields(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    err = raise_from(
        api,
        stubber,
        "ValidationException",
        Reason="INVALID_PARAMETER",
        Fields=[{"Name": "RegistrationId", "Message": "bad"}, {"Name": "X", "Message": "worse"}],
    )
    assert isinstance(err, ApiValidationError)
    assert err.reason == "INVALID_PARAMETER"
    assert err.fields == (("RegistrationId", "bad"), ("X", "worse"))


def test_access_denied_keeps_reason(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    err = raise_from(api, stubber, "AccessDeniedException", Reason="ACCOUNT_DISABLED")
    assert isinstance(err, AccessDeniedError)
    assert err.reason == "ACCOUNT_DISABLED"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, ThrottledError),
        ("TooManyRequestsException", 429, ThrottledError),
        ("InternalServerException", 500, InternalServerError),
        ("InternalServerException", 400, InternalServerError),
        ("ServiceUnavailable", 503, InternalServerError),
    ],
)
def test_throttling_and_server_failures(
    api: Boto3RegistrationApi, stubber: Stubber, code: str, status: int, expected: type
) -> None:
    err = raise_from(api, stubber, code, status)
    assert type(err) is expected
    assert isinstance(err, ApiError)
    assert err.code == code


def test_quota_errors_keep_their_reason(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    err = raise_from(
        api, stubber, "ServiceQuotaExceededException", Reason="REGISTRATIONS_PER_ACCOUNT"
    )
    assert isinstance(err, ServiceQuotaExceededError)
    assert err.reason == "REGISTRATIONS_PER_ACCOUNT"
    assert (err.code, err.operation) == (
        "ServiceQuotaExceededException",
        "SubmitRegistrationVersion",
    )


def test_unknown_codes_keep_their_code(api: Boto3RegistrationApi, stubber: Stubber) -> None:
    err = raise_from(api, stubber, "SomeFutureException")
    assert type(err) is ApiError
    assert err.code == "SomeFutureException"
    assert err.operation == "SubmitRegistrationVersion"
    assert err.request_id == "req-123"


def test_param_validation_error_is_a_validation_error_without_a_request(http_api: Any) -> None:
    # Nothing listens on the endpoint: a request would raise ApiUnavailable.
    api = http_api(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ApiValidationError) as err:
        api.create_registration("")
    assert err.value.reason == "INVALID_PARAMETER"
    assert [name for name, _ in err.value.fields] == ["RegistrationType"]
    assert err.value.operation == "CreateRegistration"
    with pytest.raises(ApiValidationError) as err:
        api.create_registration(REG_TYPE, tags={"team": 5})
    assert [name for name, _ in err.value.fields] == ["Tags[0].Value"]
    assert api.calls == {}


BAD_IDS = ["", "has space", "x" * 257, "emoji-\u2603", None, 42]


@pytest.mark.parametrize("bad", BAD_IDS, ids=lambda v: repr(v)[:12])
@pytest.mark.parametrize(
    "call",
    [
        lambda a, i: a.create_registration_version(i),
        lambda a, i: a.submit_registration_version(i, aws_review=True),
        lambda a, i: a.discard_registration_version(i),
        lambda a, i: a.delete_registration(i),
        lambda a, i: a.describe_registration_versions(i),
        lambda a, i: a.describe_registrations(registration_ids=[REG_ID, i]),
    ],
    ids=["create-version", "submit", "discard", "delete", "versions", "registrations"],
)
def test_malformed_ids_fail_before_any_call(
    api: Boto3RegistrationApi, call: Callable[[Boto3RegistrationApi, Any], Any], bad: Any
) -> None:
    # Describe methods check eagerly: the error comes from the call, not iteration.
    if isinstance(bad, str):
        with pytest.raises(InvalidRegistrationId) as err:
            call(api, bad)
        assert err.value.value == bad
        assert err.value.field in ("RegistrationId", "RegistrationIds")
    else:
        with pytest.raises(InvalidArgumentType, match="must be a string"):
            call(api, bad)
    assert api.calls == {}


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.describe_registrations(page_size=0),
        lambda a: a.describe_registrations(page_size=101),
        lambda a: a.describe_registration_versions(REG_ID, page_size=True),
        lambda a: a.describe_registration_versions(REG_ID, version_numbers=[0]),
        lambda a: a.describe_registration_versions(REG_ID, version_numbers=["1"]),
    ],
)
def test_bad_paging_arguments_fail_before_any_call(
    api: Boto3RegistrationApi, call: Callable[[Boto3RegistrationApi], Any]
) -> None:
    with pytest.raises(ApiValidationError):
        call(api)
    assert api.calls == {}


def test_a_single_string_is_not_a_list_of_ids(api: Boto3RegistrationApi) -> None:
    with pytest.raises(InvalidArgumentType, match="not a single string"):
        api.describe_registrations(registration_ids=REG_ID)
    assert api.calls == {}


# -- calls, timestamps ----------------------------------------------------


def test_calls_counts_logical_calls_by_operation(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    stubber.add_response("delete_registration", info(status="DELETED"))
    stubber.add_client_error("delete_registration", "ResourceNotFoundException")
    stubber.add_response("create_registration_version", version_result(2))
    before = api.calls
    api.delete_registration(REG_ID)
    with pytest.raises(NotFoundError):
        api.delete_registration(REG_ID)
    api.create_registration_version(REG_ID)
    assert before == {}
    assert api.calls == {"DeleteRegistration": 2, "CreateRegistrationVersion": 1}


def test_two_adapters_on_one_client_both_count(client: Any, stubber: Stubber) -> None:
    first, second = Boto3RegistrationApi(client), Boto3RegistrationApi(client)
    stubber.add_response("delete_registration", info(status="DELETED"))
    first.delete_registration(REG_ID)
    assert first.calls == second.calls == {"DeleteRegistration": 1}


def test_timestamps_become_utc_and_the_response_is_not_mutated(
    api: Boto3RegistrationApi, stubber: Stubber
) -> None:
    response = version_result(1, "SUBMITTED", SubmittedTimestamp=T0.astimezone(PLUS5))
    response["AwsReview"] = False
    stubber.add_response("submit_registration_version", response)
    result = api.submit_registration_version(REG_ID)
    history = result["RegistrationVersionStatusHistory"]
    for stamp in history.values():
        assert stamp == T0
        assert stamp.tzinfo is UTC
    assert response["RegistrationVersionStatusHistory"]["DraftTimestamp"].tzinfo is PLUS5


# -- over HTTP on loopback -------------------------------------------------


Reply = tuple[int, dict[str, Any]]


class LoopbackService:
    """A loopback HTTP peer answering AWS JSON 1.0 requests with scripted replies."""

    def __init__(self, reply: Callable[[str, dict[str, Any]], Reply]) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                target = self.headers["X-Amz-Target"].split(".", 1)[1]
                with lock:
                    outer.requests.append((target, body))
                status, payload = reply(target, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", f"req-{len(outer.requests)}")
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


def wire_info(reg_id: str = REG_ID, status: str = "CREATED") -> dict[str, Any]:
    return info(reg_id, status) | {"CreatedTimestamp": T0.timestamp()}


@pytest.fixture
def loopback() -> Iterator[Callable[[Callable[[str, dict[str, Any]], Reply]], LoopbackService]]:
    started: list[LoopbackService] = []

    def start(reply: Callable[[str, dict[str, Any]], Reply]) -> LoopbackService:
        started.append(LoopbackService(reply))
        return started[-1]

    yield start
    for service in started:
        service.close()


@pytest.fixture
def http_api() -> Iterator[Callable[..., Boto3RegistrationApi]]:
    made: list[Boto3RegistrationApi] = []

    def make(url: str, **kwargs: Any) -> Boto3RegistrationApi:
        kwargs.setdefault("max_attempts", 1)
        api = Boto3RegistrationApi.from_config(
            session=SESSION,
            region="us-east-1",
            endpoint_url=url,
            **kwargs,
        )
        made.append(api)
        return api

    yield make
    for api in made:
        api.client.close()


def test_over_http_requests_are_aws_json_and_results_are_clean(
    loopback: Any, http_api: Any
) -> None:
    service = loopback(lambda target, body: (200, wire_info(status="DELETED")))
    api = http_api(service.url)
    result = api.delete_registration(REG_ID)
    assert service.requests == [("DeleteRegistration", {"RegistrationId": REG_ID})]
    assert "ResponseMetadata" not in result
    assert result["CreatedTimestamp"] == T0
    assert result["CreatedTimestamp"].tzinfo is UTC


def test_over_http_create_registration_gets_an_idempotency_token(
    loopback: Any, http_api: Any
) -> None:
    service = loopback(lambda target, body: (200, wire_info()))
    http_api(service.url).create_registration(REG_TYPE)
    [(target, body)] = service.requests
    assert target == "CreateRegistration"
    assert body["RegistrationType"] == REG_TYPE
    assert body["ClientToken"]  # botocore fills the idempotency token


def test_over_http_a_modelled_error_is_parsed(loopback: Any, http_api: Any) -> None:
    error = {
        "__type": "com.amazonaws.pinpointsmsvoicev2#ConflictException",
        "message": "version 1 is not SUBMITTED",
        "Reason": "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED",
        "ResourceType": "registration",
        "ResourceId": REG_ID,
    }
    service = loopback(lambda target, body: (400, error))
    api = http_api(service.url, max_attempts=3)
    with pytest.raises(ConflictError) as err:
        api.discard_registration_version(REG_ID)
    assert err.value.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    assert err.value.message == "version 1 is not SUBMITTED"
    assert err.value.request_id == "req-1"
    assert len(service.requests) == 1  # conflicts are never retried


@pytest.mark.parametrize("attempts", [1, 2])
def test_over_http_server_errors_are_retried_by_botocore_only(
    loopback: Any, http_api: Any, attempts: int
) -> None:
    error = {"__type": "InternalServerException", "message": "boom", "RequestId": "x"}
    service = loopback(lambda target, body: (500, error))
    api = http_api(service.url, max_attempts=attempts)
    with pytest.raises(InternalServerError) as err:
        api.delete_registration(REG_ID)
    assert len(service.requests) == attempts
    assert api.calls == {"DeleteRegistration": 1}
    assert err.value.request_id == f"req-{attempts}"
    assert err.value.operation == "DeleteRegistration"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_closed_port_is_api_unavailable(http_api: Any) -> None:
    api = http_api(f"http://127.0.0.1:{free_port()}", connect_timeout=1)
    with pytest.raises(ApiUnavailable) as err:
        api.delete_registration(REG_ID)
    assert err.value.operation == "DeleteRegistration"
    assert err.value.code == "EndpointUnavailable"
    with pytest.raises(ApiUnavailable):
        next(api.describe_registrations())
    assert api.calls == {"DeleteRegistration": 1, "DescribeRegistrations": 1}


def test_other_botocore_failures_are_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    api = Boto3RegistrationApi.from_config(
        region="us-east-1", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1
    )
    try:
        with pytest.raises(ApiError) as err:
            api.delete_registration(REG_ID)
    finally:
        api.client.close()
    assert type(err.value) is ApiError
    assert err.value.code == "NoCredentialsError"
    assert err.value.operation == "DeleteRegistration"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A loopback TCP server whose connection handling is given by the test."""
    listeners: list[tuple[socket.socket, threading.Thread]] = []
    stop = threading.Event()

    def start(handle: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.1)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    handle(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        listeners.append((listener, thread))
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    for listener, thread in listeners:
        thread.join()
        listener.close()


def test_a_dropped_connection_is_api_unavailable(raw_server: Any, http_api: Any) -> None:
    def drop(conn: socket.socket) -> None:
        conn.recv(65536)

    api = http_api(raw_server(drop))
    with pytest.raises(ApiUnavailable):
        api.create_registration_version(REG_ID)


def test_a_read_timeout_is_api_unavailable(raw_server: Any, http_api: Any) -> None:
    def stall(conn: socket.socket) -> None:
        conn.settimeout(120)  # a bound on a hang only: the client gives up after 0.2 s
        with contextlib.suppress(OSError):
            while conn.recv(65536):  # read, never answer, until the client gives up
                pass

    api = http_api(raw_server(stall), read_timeout=0.2)
    with pytest.raises(ApiUnavailable) as err:
        api.delete_registration(REG_ID)
    assert "timeout" in err.value.message.lower()


@pytest.mark.slow
def test_one_adapter_is_safe_to_share_between_threads(loopback: Any, http_api: Any) -> None:
    def reply(target: str, body: dict[str, Any]) -> Reply:
        reg_id = body["RegistrationId"]
        return 200, wire_info(reg_id, "DELETED")

    service = loopback(reply)
    api = http_api(service.url)
    ids = [f"registration-{i:032x}" for i in range(80)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(api.delete_registration, ids))
    assert [r["RegistrationId"] for r in results] == ids
    assert api.calls == {"DeleteRegistration": 80}
    assert len(service.requests) == 80
