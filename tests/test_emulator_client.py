"""EmulatorClient: AWS's part and the request counters of a served emulator, over HTTP.

The pytest plugin serves ``registration_emulator`` (``registration_emulator_url``);
the client talks to it as another process would.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from helpers import REG_TYPE

from registration_fsm import (
    ApiError,
    ApiUnavailable,
    ApiValidationError,
    ConflictError,
    EmulatedRegistrationApi,
    EmulatorClient,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    Origin,
    TransitionEvent,
    VersionStatus,
)

V = VersionStatus
DENIAL = {"Reason": "BRAND_MISMATCH", "ShortDescription": "The name does not match the EIN"}


@pytest.fixture
def aws(registration_emulator_url: str) -> EmulatorClient:
    return EmulatorClient(registration_emulator_url)


@pytest.fixture
def submitted(registration_emulator: EmulatedRegistrationApi) -> str:
    reg_id: str = registration_emulator.create_registration(REG_TYPE)["RegistrationId"]
    registration_emulator.submit_registration_version(reg_id)
    return reg_id


def statuses(emu: EmulatedRegistrationApi, reg_id: str) -> list[tuple[int, str]]:
    return [
        (v["VersionNumber"], v["RegistrationVersionStatus"])
        for v in emu.describe_registration_versions(reg_id)
    ]


def test_advance_returns_the_events_applied(
    aws: EmulatorClient, registration_emulator: EmulatedRegistrationApi, submitted: str
) -> None:
    (event,) = aws.advance(submitted, "begin_review")

    assert isinstance(event, TransitionEvent)
    assert (event.registration_id, event.version_number, event.trigger) == (
        submitted,
        1,
        "begin_review",
    )
    assert (event.source, event.dest, event.origin) == (V.SUBMITTED, V.REVIEWING, Origin.LOCAL)
    assert event.timestamp.utcoffset() is not None
    assert statuses(registration_emulator, submitted) == [(1, "REVIEWING")]


def test_an_approval_returns_the_archive_it_caused(
    aws: EmulatorClient, registration_emulator: EmulatedRegistrationApi, submitted: str
) -> None:
    emu = registration_emulator
    aws.advance(submitted, "begin_review")
    aws.advance(submitted, "approve")
    emu.create_registration_version(submitted)
    emu.submit_registration_version(submitted)
    aws.advance(submitted, "begin_review")

    events = aws.advance(submitted, "approve")

    assert [(e.version_number, e.trigger, e.source, e.dest) for e in events] == [
        (2, "approve", V.REVIEWING, V.APPROVED),
        (1, "archive", V.APPROVED, V.ARCHIVED),
    ]


def test_deny_details_travel_with_the_request(
    aws: EmulatorClient, registration_emulator: EmulatedRegistrationApi, submitted: str
) -> None:
    aws.advance(submitted, "begin_review")
    (event,) = aws.advance(submitted, "deny", denied_reasons=[DENIAL], feedback="fix it")
    assert dict(event.details) == {"denied_reasons": [DENIAL], "feedback": "fix it"}
    (version,) = registration_emulator.describe_registration_versions(submitted)
    assert (version["DeniedReasons"], version["Feedback"]) == ([DENIAL], "fix it")


def test_calls_are_the_emulators_counters(
    aws: EmulatorClient, registration_emulator: EmulatedRegistrationApi, submitted: str
) -> None:
    list(registration_emulator.describe_registrations())
    counted = aws.calls()
    assert counted == dict(registration_emulator.calls)
    assert counted == {
        "CreateRegistration": 1,
        "SubmitRegistrationVersion": 1,
        "DescribeRegistrations": 1,
    }
    aws.advance(submitted, "begin_review")
    assert aws.calls() == counted  # control requests are not API requests


def test_a_refused_advance_is_a_conflict_and_changes_nothing(
    aws: EmulatorClient, registration_emulator: EmulatedRegistrationApi, submitted: str
) -> None:
    with pytest.raises(ConflictError) as err:
        aws.advance(submitted, "approve")  # SUBMITTED: the review has not begun
    assert isinstance(err.value, ApiError)
    assert err.value.operation == "Advance"
    assert err.value.resource_id == submitted
    assert "approve" in str(err.value)
    assert statuses(registration_emulator, submitted) == [(1, "SUBMITTED")]


@pytest.mark.parametrize(
    ("trigger", "details", "match"),
    [
        ("launch", {}, "unknown trigger"),  # no such trigger
        ("submit", {}, "SubmitRegistrationVersion"),  # the customer's: send the API request
        ("approve", {"feedback": "x"}, "does not take"),  # a detail approve does not take
        ("begin_review", {"version": 1}, "does not take"),  # nor a parameter of the model
    ],
)
def test_an_advance_the_emulator_cannot_apply_is_a_validation_error(
    aws: EmulatorClient,
    registration_emulator: EmulatedRegistrationApi,
    submitted: str,
    trigger: str,
    details: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(ApiValidationError, match=match) as err:
        aws.advance(submitted, trigger, **details)
    assert err.value.operation == "Advance"
    assert statuses(registration_emulator, submitted) == [(1, "SUBMITTED")]


def test_an_unknown_registration_is_not_found(aws: EmulatorClient) -> None:
    unknown = "registration-" + "0" * 32
    with pytest.raises(NotFoundError) as err:
        aws.advance(unknown, "begin_review")
    assert err.value.resource_id == unknown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_emulator_is_api_unavailable() -> None:
    aws = EmulatorClient(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(ApiUnavailable, match="cannot reach the emulator") as err:
        aws.calls()
    assert err.value.operation == "Calls"
    with pytest.raises(ApiUnavailable):
        aws.advance("registration-" + "0" * 32, "begin_review")


@pytest.mark.parametrize(
    ("url", "kwargs", "error"),
    [
        (42, {}, InvalidArgumentType),
        ("localhost:8080", {}, InvalidArgument),
        ("ftp://127.0.0.1:21", {}, InvalidArgument),
        ("http://127.0.0.1:1", {"timeout": 0}, InvalidArgument),
        ("http://127.0.0.1:1", {"timeout": "5"}, InvalidArgumentType),
    ],
)
def test_bad_settings_are_refused(url: Any, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        EmulatorClient(url, **kwargs)
