"""The emulator over HTTP, driven by a real boto3 client and by raw requests on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from helpers import REG_TYPE, TickingClock
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

from registration_fsm.emulator import EmulatedRegistrationApi, Faults, serve
from registration_fsm.emulator import http as emulator_http
from registration_fsm.errors import InvalidArgument

JSON_TYPE = "application/x-amz-json-1.0"
#: Seconds a child process or a raw socket may take; only a hang reaches it.
PATIENCE = 120.0


@pytest.fixture
def api(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=2)


@pytest.fixture
def faults(request: pytest.FixtureRequest) -> Faults | None:
    """None; a test serves with faults by parametrizing this fixture (indirectly) with
    the ``Faults`` settings, so each run gets fresh counters."""
    settings: dict[str, Any] | None = getattr(request, "param", None)
    return None if settings is None else Faults(**settings)


@pytest.fixture
def registration_emulator(api: EmulatedRegistrationApi) -> EmulatedRegistrationApi:
    """The plugin's fixtures serve this module's emulator..."""
    return api


@pytest.fixture
def registration_emulator_url(api: EmulatedRegistrationApi, faults: Faults | None) -> Iterator[str]:
    """...with the test's ``faults``."""
    with serve(api, faults=faults) as endpoint:
        yield endpoint


@pytest.fixture
def url(registration_emulator_url: str) -> str:
    return registration_emulator_url


@pytest.fixture
def sms(registration_boto3_client: PinpointSMSVoiceV2Client) -> PinpointSMSVoiceV2Client:
    """The plugin's boto3 client: standard retry mode, two attempts."""
    return registration_boto3_client


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """A raw POST; returns (status, headers, decoded JSON body)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), json.loads(err.read())


def target(operation: str, prefix: str = "PinpointSMSVoiceV2") -> dict[str, str]:
    return {"X-Amz-Target": f"{prefix}.{operation}", "Content-Type": JSON_TYPE}


def advance(url: str, reg_id: str, trigger: str, **details: Any) -> Any:
    body = {"RegistrationId": reg_id, "Trigger": trigger, "Details": details}
    status, _, out = post(
        url, json.dumps(body).encode(), target("Advance", "RegistrationFsmEmulator")
    )
    assert status == 200, out
    return out


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, Any]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response.get("Reason")


# -- every operation end to end ------------------------------------------------


def test_every_operation_through_boto3(
    sms: PinpointSMSVoiceV2Client, api: EmulatedRegistrationApi, clock: TickingClock
) -> None:
    created = sms.create_registration(
        RegistrationType=REG_TYPE, Tags=[{"Key": "team", "Value": "sms"}], ClientToken="tok"
    )
    reg_id = created["RegistrationId"]
    assert created["RegistrationStatus"] == "CREATED"
    assert created["CreatedTimestamp"] == clock.now
    assert created["Tags"] == [{"Key": "team", "Value": "sms"}]
    assert created["ResponseMetadata"]["RequestId"]
    again = sms.create_registration(
        RegistrationType=REG_TYPE, Tags=[{"Key": "team", "Value": "sms"}], ClientToken="tok"
    )
    assert again["RegistrationId"] == reg_id

    submitted = sms.submit_registration_version(RegistrationId=reg_id)
    assert (submitted["RegistrationVersionStatus"], submitted["AwsReview"]) == ("SUBMITTED", False)
    discarded = sms.discard_registration_version(RegistrationId=created["RegistrationArn"])
    assert discarded["RegistrationVersionStatus"] == "DISCARDED"
    new = sms.create_registration_version(RegistrationId=reg_id)
    assert (new["VersionNumber"], new["RegistrationVersionStatus"]) == (2, "DRAFT")
    reviewed = sms.submit_registration_version(RegistrationId=reg_id, AwsReview=True)
    assert reviewed["RegistrationVersionStatus"] == "AWS_REVIEWING"

    listed = sms.describe_registrations(RegistrationIds=[reg_id])["Registrations"]
    assert listed[0]["RegistrationStatus"] == "AWS_REVIEWING"
    assert listed[0]["CurrentVersionNumber"] == 2
    described = sms.describe_registration_versions(RegistrationId=reg_id)
    assert described["RegistrationArn"] == created["RegistrationArn"]
    history = described["RegistrationVersions"][1]["RegistrationVersionStatusHistory"]
    direct = api.describe_registration_versions_page(reg_id)["RegistrationVersions"][1]
    assert history == direct["RegistrationVersionStatusHistory"]
    assert all(isinstance(t, datetime) and t.utcoffset() is not None for t in history.values())

    deleted = sms.delete_registration(RegistrationId=reg_id)
    assert deleted["RegistrationStatus"] == "DELETED"
    with pytest.raises(ClientError) as err:
        sms.describe_registration_versions(RegistrationId=reg_id)
    assert error_of(err)[0] == "ResourceNotFoundException"
    assert err.value.response["ResourceId"] == reg_id  # type: ignore[typeddict-item]
    assert err.value.response["ResourceType"] == "registration"  # type: ignore[typeddict-item]
    assert api.calls["CreateRegistration"] == 2


def test_paginators(sms: PinpointSMSVoiceV2Client) -> None:
    ids = [sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"] for _ in range(5)]
    pages = list(
        sms.get_paginator("describe_registrations").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [len(p["Registrations"]) for p in pages] == [2, 2, 1]
    assert [r["RegistrationId"] for p in pages for r in p["Registrations"]] == ids
    reg_id = ids[0]
    for _ in range(2):
        sms.submit_registration_version(RegistrationId=reg_id)
        sms.discard_registration_version(RegistrationId=reg_id)
        sms.create_registration_version(RegistrationId=reg_id)
    paginator = sms.get_paginator("describe_registration_versions")
    result = paginator.paginate(RegistrationId=reg_id, PaginationConfig={"PageSize": 1})
    numbers = [v["VersionNumber"] for v in result.build_full_result()["RegistrationVersions"]]
    assert numbers == [3, 2, 1]


def test_filters_through_boto3(sms: PinpointSMSVoiceV2Client) -> None:
    a = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
    sms.create_registration(RegistrationType="OTHER")
    sms.submit_registration_version(RegistrationId=a)
    found = sms.describe_registrations(
        Filters=[
            {"Name": "registration-status", "Values": ["SUBMITTED"]},
            {"Name": "registration-type", "Values": [REG_TYPE]},
        ]
    )["Registrations"]
    assert [r["RegistrationId"] for r in found] == [a]
    versions = sms.describe_registration_versions(
        RegistrationId=a, Filters=[{"Name": "registration-version-status", "Values": ["DRAFT"]}]
    )["RegistrationVersions"]
    assert versions == []


# -- errors as botocore sees them -----------------------------------------------------


def test_conflicts_carry_their_reason(sms: PinpointSMSVoiceV2Client, url: str) -> None:
    reg_id = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
    with pytest.raises(ClientError) as err:
        sms.discard_registration_version(RegistrationId=reg_id)
    assert error_of(err) == ("ConflictException", "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        sms.create_registration_version(RegistrationId=reg_id)
    assert error_of(err) == ("ConflictException", "CREATE_REGISTRATION_VERSION_NOT_ALLOWED")
    sms.submit_registration_version(RegistrationId=reg_id)
    with pytest.raises(ClientError) as err:
        sms.submit_registration_version(RegistrationId=reg_id)
    assert error_of(err) == ("ConflictException", "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED")
    assert err.value.response["ResourceId"] == reg_id  # type: ignore[typeddict-item]
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    sms.create_registration(RegistrationType="OTHER", ClientToken="t")
    with pytest.raises(ClientError) as err:
        sms.create_registration(RegistrationType=REG_TYPE, ClientToken="t")
    assert error_of(err) == ("ConflictException", "RESOURCE_ALREADY_EXISTS")


def test_validation_errors_carry_reason_and_fields(sms: PinpointSMSVoiceV2Client) -> None:
    with pytest.raises(ClientError) as err:
        sms.describe_registrations(NextToken="forged")
    assert error_of(err) == ("ValidationException", "INVALID_NEXT_TOKEN")
    assert err.value.response["Fields"][0]["Name"] == "NextToken"  # type: ignore[typeddict-item]
    with pytest.raises(ClientError) as err:
        sms.describe_registrations(MaxResults=101)
    assert error_of(err) == ("ValidationException", "INVALID_PARAMETER")
    with pytest.raises(ClientError) as err:
        sms.describe_registrations(RegistrationIds=[f"registration-{i}" for i in range(6)])
    assert error_of(err) == ("ValidationException", "INVALID_PARAMETER")
    with pytest.raises(ClientError) as err:
        sms.describe_registrations(
            Filters=[{"Name": "registration-status", "Values": ["NOT_A_STATUS"]}]
        )
    assert error_of(err) == ("ValidationException", "INVALID_FILTER_VALUES")


def test_advance_over_http_drives_aws_side_events(sms: PinpointSMSVoiceV2Client, url: str) -> None:
    reg_id = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
    sms.submit_registration_version(RegistrationId=reg_id)
    out = advance(url, reg_id, "begin_review")
    assert [e["dest"] for e in out["Events"]] == ["REVIEWING"]
    reasons = [{"Reason": "BRAND", "ShortDescription": "Brand mismatch"}]
    advance(url, reg_id, "deny", denied_reasons=reasons, feedback="fix it")
    (version,) = sms.describe_registration_versions(RegistrationId=reg_id)["RegistrationVersions"]
    assert version["RegistrationVersionStatus"] == "DENIED"
    assert version["DeniedReasons"] == reasons
    body = json.dumps({"RegistrationId": reg_id, "Trigger": "submit"}).encode()
    status, _, error = post(url, body, target("Advance", "RegistrationFsmEmulator"))
    assert (status, error["__type"]) == (400, "ValidationException")
    body = json.dumps({"RegistrationId": reg_id, "Trigger": "approve"}).encode()
    status, _, error = post(url, body, target("Advance", "RegistrationFsmEmulator"))
    assert (status, error["__type"]) == (400, "ConflictException")


# -- raw HTTP: bad input never stops the server -------------------------------------------


def test_bad_requests_get_typed_errors_and_the_server_keeps_answering(
    url: str, sms: PinpointSMSVoiceV2Client
) -> None:
    describe = target("DescribeRegistrations")
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (b"{}", target("SendTextMessage"), 400, "UnknownOperationException"),
        (b"{}", {"Content-Type": JSON_TYPE}, 400, "UnknownOperationException"),
        (b"{}", target("Describe", "Nobody"), 400, "UnknownOperationException"),
        (b"{not json", describe, 400, "SerializationException"),
        (b"[1, 2]", describe, 400, "SerializationException"),
        (b"\xff\xfe", describe, 400, "SerializationException"),
        (b'{"MaxResults": "ten"}', describe, 400, "ValidationException"),
        (b'{"RegistrationIds": {"a": 1}}', describe, 400, "ValidationException"),
        (b'{"RegistrationId": 7}', target("DeleteRegistration"), 400, "ValidationException"),
        (b"x" * (2 << 20), describe, 413, "RequestEntityTooLargeException"),
    ]  # fmt: skip
    for body, headers, status, code in cases:
        got_status, got_headers, error = post(url, body, headers)
        assert (got_status, error["__type"]) == (status, code), body[:40]
        assert error["message"]
        assert got_headers["x-amzn-RequestId"]
    assert sms.describe_registrations()["Registrations"] == []


def test_garbage_on_the_socket_does_not_stop_the_server(
    url: str, sms: PinpointSMSVoiceV2Client
) -> None:
    host, port = url.removeprefix("http://").split(":")
    for junk in [b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b""]:
        with socket.create_connection((host, int(port)), timeout=PATIENCE) as raw:
            raw.sendall(junk)
            raw.shutdown(socket.SHUT_WR)
            raw.recv(4096)
    status, headers, body = post(
        url, b"{}", {"X-Amz-Target": "PinpointSMSVoiceV2.DescribeRegistrations"}
    )
    assert (status, body) == (200, {"Registrations": []})
    assert headers["Content-Type"] == JSON_TYPE
    assert sms.describe_registrations()["Registrations"] == []


def test_server_releases_its_port_on_exit() -> None:
    with serve() as url:
        assert post(url, b"{}", target("DescribeRegistrations"))[0] == 200
    host, port = url.removeprefix("http://").split(":")
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((host, int(port)), timeout=PATIENCE),
    ):
        pass


# -- faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("faults", [{"seed": 0, "throttle_rate": 1.0}], indirect=True)
def test_throttling_is_retried_then_surfaces(
    api: EmulatedRegistrationApi, sms: PinpointSMSVoiceV2Client, faults: Faults
) -> None:
    with pytest.raises(ClientError) as err:
        sms.describe_registrations()
    assert error_of(err)[0] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert faults.injected["throttle"] == 2
    assert dict(api.calls) == {}


@pytest.mark.parametrize("faults", [{"seed": 0, "error_rate": 1.0}], indirect=True)
def test_server_errors_are_retried_then_surface(
    api: EmulatedRegistrationApi, sms: PinpointSMSVoiceV2Client, faults: Faults
) -> None:
    with pytest.raises(ClientError) as err:
        sms.create_registration(RegistrationType=REG_TYPE)
    assert error_of(err)[0] == "InternalServerException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert faults.injected["error"] == 2
    assert api.describe_registrations_page()["Registrations"] == []


def one_fault_then_none(fault: str) -> dict[str, Any]:
    """Settings of Faults whose first request gets ``fault`` and whose second gets none."""
    rates = {f"{fault}_rate": 0.5}
    for seed in range(1000):
        probe = Faults(seed=seed, **rates)
        if (probe.decide().action, probe.decide().action) == (fault, None):
            return {"seed": seed, **rates}
    raise AssertionError("no such seed")


@pytest.mark.parametrize(
    ("fault", "faults"),
    [(fault, one_fault_then_none(fault)) for fault in ("throttle", "error", "drop")],
    ids=["throttle", "error", "drop"],
    indirect=["faults"],
)
def test_one_fault_then_success_is_invisible_to_the_caller(
    api: EmulatedRegistrationApi, sms: PinpointSMSVoiceV2Client, fault: str, faults: Faults
) -> None:
    result = sms.create_registration(RegistrationType=REG_TYPE)
    assert result["ResponseMetadata"]["RetryAttempts"] == 1
    assert faults.injected[fault] == 1
    assert api.calls["CreateRegistration"] == 1
    assert len(api.describe_registrations_page()["Registrations"]) == 1


@pytest.mark.parametrize("faults", [{"seed": 0, "drop_rate": 1.0}], indirect=True)
def test_dropped_connections_raise_connection_errors(
    api: EmulatedRegistrationApi, sms: PinpointSMSVoiceV2Client, faults: Faults
) -> None:
    with pytest.raises(ConnectionClosedError):
        sms.describe_registrations()
    assert faults.injected["drop"] == 2
    assert dict(api.calls) == {}


def test_faults_are_seeded_and_spare_control_requests(api: EmulatedRegistrationApi) -> None:
    def draws(seed: int) -> list[Any]:
        f = Faults(seed=seed, latency=(0.0, 0.01), throttle_rate=0.3, error_rate=0.2, drop_rate=0.1)
        return [f.decide() for _ in range(50)]

    assert draws(4) == draws(4)
    assert draws(4) != draws(5)
    assert {d.action for d in draws(4)} == {None, "throttle", "error", "drop"}
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    with serve(api, faults=Faults(seed=0, drop_rate=1.0)) as url:
        assert advance(url, reg_id, "begin_review")["Events"][0]["dest"] == "REVIEWING"


@pytest.mark.parametrize("faults", [{"latency": 0.2}], indirect=True)
def test_latency_is_added_before_the_operation(
    api: EmulatedRegistrationApi,
    sms: PinpointSMSVoiceV2Client,
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays: list[tuple[float, dict[str, int]]] = []  # (delay, the requests run by then)

    def sleep(seconds: float) -> None:
        delays.append((seconds, dict(api.calls)))

    monkeypatch.setattr(emulator_http, "time", SimpleNamespace(sleep=sleep))
    sms.describe_registrations()
    assert delays == [(0.2, {})]  # slept the latency, before the operation ran
    assert dict(api.calls) == {"DescribeRegistrations": 1}
    assert faults.injected["latency"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"throttle_rate": 1.5}, {"error_rate": -0.1}, {"latency": (2.0, 1.0)}, {"latency": -1.0},
     {"throttle_rate": 0.6, "drop_rate": 0.6}, {"seed": "x"}],
)  # fmt: skip
def test_bad_fault_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        Faults(**kwargs)


# -- standalone runner, and no boto3 in the emulator ------------------------------------------


def _python(code: str, **kwargs: Any) -> subprocess.Popen[str]:
    # A shell's background job starts with SIGINT ignored and children inherit that;
    # the child restores Python's handler so the interrupt test holds there too.
    prelude = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    script = prelude + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script], text=True, **kwargs)


def test_run_forever_prints_its_url_and_stops_on_interrupt() -> None:
    proc = _python(
        "from registration_fsm.emulator import run_forever; run_forever()",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert post(url, b"{}", target("DescribeRegistrations"))[0] == 200
        proc.send_signal(2)
        assert proc.wait(timeout=PATIENCE) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_the_emulator_runs_without_boto3() -> None:
    code = """
        import sys, json, urllib.request
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"boto3", "botocore"}:
                    raise ImportError(f"blocked {name}")
        sys.meta_path.insert(0, Block())
        from registration_fsm.emulator import serve
        with serve() as url:
            req = urllib.request.Request(url, data=b'{"RegistrationType": "T"}', headers={
                "X-Amz-Target": "PinpointSMSVoiceV2.CreateRegistration"})
            print(json.loads(urllib.request.urlopen(req).read())["RegistrationStatus"])
    """
    proc = _python(code, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=PATIENCE)
    assert proc.returncode == 0, err
    assert out.strip() == "CREATED"
