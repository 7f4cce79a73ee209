"""Exact API round-trip: every version shape in, the boto3 output shape out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import InvalidApiData, Registration, RegistrationVersion, VersionStatus

MODEL = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
LOCAL = timezone(timedelta(hours=-7))


def assert_valid(data: dict[str, Any], shape: str) -> None:
    report = ParamValidator().validate(data, MODEL.shape_for(shape))
    assert not report.has_errors(), report.generate_report()


def _lived(clock: TickingClock) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock, additional_attributes={"a": "b"})
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    reg.approve(clock=clock)
    reg.create_version(clock=clock)
    reg.submit(clock=clock, aws_review=True)
    reg.deny(clock=clock, denied_reasons=[{"Reason": "R", "ShortDescription": "s"}],
             feedback="fix it")  # fmt: skip
    reg.create_version(clock=clock)
    return reg


def test_to_api_matches_the_botocore_output_shapes(clock: TickingClock) -> None:
    reg = _lived(clock)
    assert_valid(reg.to_api(), "RegistrationInformation")
    for version in reg.versions_to_api():
        assert_valid(version, "RegistrationVersionInformation")
    assert_valid(
        {"RegistrationArn": REG_ARN, "RegistrationId": REG_ID,
         "RegistrationVersions": reg.versions_to_api()},
        "DescribeRegistrationVersionsResult",
    )  # fmt: skip
    v = reg.current_version
    assert_valid(v.to_result(), "CreateRegistrationVersionResult")
    assert_valid(v.to_result(), "DiscardRegistrationVersionResult")
    assert_valid(v.to_result(aws_review=False), "SubmitRegistrationVersionResult")
    enum = set(MODEL.shape_for("RegistrationVersionStatus").metadata["enum"])
    assert {x["RegistrationVersionStatus"] for x in reg.versions_to_api()} <= enum


def test_round_trip_equality(clock: TickingClock) -> None:
    reg = _lived(clock)
    again = Registration.from_api(reg.to_api(), reg.versions_to_api())
    assert again == reg
    assert again.anomalies == ()
    for version in reg.versions.values():
        assert (
            RegistrationVersion.from_api(
                version.to_api(), registration_id=REG_ID, registration_arn=REG_ARN
            )
            == version
        )
        if not version.denied_reasons and version.feedback is None:  # results carry neither
            assert RegistrationVersion.from_api(version.to_result()) == version


def _boto3_shape(data: Any) -> Any:
    """What boto3 hands back: local-zone datetimes."""
    if isinstance(data, datetime):
        return data.astimezone(LOCAL)
    if isinstance(data, dict):
        return {k: _boto3_shape(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_boto3_shape(v) for v in data]
    return data


def _json_shape(data: Any) -> Any:
    """What the raw JSON protocol carries: epoch seconds."""
    if isinstance(data, datetime):
        return data.timestamp()
    if isinstance(data, dict):
        return {k: _json_shape(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_shape(v) for v in data]
    return data


@pytest.mark.parametrize("shape", [_boto3_shape, _json_shape])
def test_local_zone_datetimes_and_epoch_numbers_parse_to_utc(
    shape: Any, clock: TickingClock
) -> None:
    reg = _lived(clock)
    again = Registration.from_api(shape(reg.to_api()), shape(reg.versions_to_api()))
    assert again == reg
    assert again.created.tzinfo is UTC
    assert again.current_version.history.draft.tzinfo is UTC


def test_submit_result_with_aws_review_parses(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    reg.submit(clock=clock, aws_review=True)
    version = reg.current_version
    parsed = RegistrationVersion.from_api(_boto3_shape(version.to_result(aws_review=True)))
    assert parsed == version
    assert parsed.status == VersionStatus.AWS_REVIEWING


def _info(clock: TickingClock) -> dict[str, Any]:
    return {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "SUBMITTED",
        "RegistrationVersionStatusHistory": {
            "DraftTimestamp": clock(), "SubmittedTimestamp": clock()
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("VersionNumber"), "VersionNumber"),
        (lambda d: d.update(VersionNumber="1"), "VersionNumber"),
        (lambda d: d.update(VersionNumber=True), "VersionNumber"),
        (lambda d: d.update(VersionNumber=100_001), "VersionNumber"),
        (lambda d: d.update(VersionNumber=0), "VersionNumber"),
        (lambda d: d.update(RegistrationVersionStatus=7), "RegistrationVersionStatus"),
        (lambda d: d.update(RegistrationVersionStatus=""), "RegistrationVersionStatus"),
        (lambda d: d.pop("RegistrationVersionStatusHistory"), "RegistrationVersionStatusHistory"),
        (
            lambda d: d["RegistrationVersionStatusHistory"].pop("DraftTimestamp"),
            "RegistrationVersionStatusHistory.DraftTimestamp",
        ),
        (
            lambda d: d["RegistrationVersionStatusHistory"].update(SubmittedTimestamp="yesterday"),
            "RegistrationVersionStatusHistory.SubmittedTimestamp",
        ),
        (
            lambda d: d["RegistrationVersionStatusHistory"].update(SubmittedTimestamp=1e300),
            "RegistrationVersionStatusHistory.SubmittedTimestamp",
        ),
        (
            lambda d: d["RegistrationVersionStatusHistory"].update(
                SubmittedTimestamp=datetime(2026, 1, 1)
            ),
            "RegistrationVersionStatusHistory.SubmittedTimestamp",
        ),
        (
            lambda d: d["RegistrationVersionStatusHistory"].update(BogusTimestamp=1),
            "RegistrationVersionStatusHistory.BogusTimestamp",
        ),
        (lambda d: d.update(DeniedReasons=[{"Reason": "x"}]), "DeniedReasons[0].ShortDescription"),
        (lambda d: d.update(Feedback=3), "Feedback"),
        (lambda d: d.update(RegistrationId="has space"), "RegistrationId"),
        (lambda d: d.update(RegistrationId="x" * 257), "RegistrationId"),
    ],
)
def test_structural_errors_name_the_field(mutate: Any, field: str, clock: TickingClock) -> None:
    data = _info(clock)
    mutate(data)
    with pytest.raises(InvalidApiData) as err:
        RegistrationVersion.from_api(data, registration_id=REG_ID, registration_arn=REG_ARN)
    assert err.value.field == field
    assert field in str(err.value)


def test_missing_registration_id_for_version_information(clock: TickingClock) -> None:
    with pytest.raises(InvalidApiData, match="RegistrationId"):
        RegistrationVersion.from_api(_info(clock))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda i, v: i.pop("CreatedTimestamp"), "CreatedTimestamp"),
        (lambda i, v: i.update(RegistrationType="no spaces allowed"), "RegistrationType"),
        (lambda i, v: i.update(AdditionalAttributes={"k": 1}), "AdditionalAttributes.k"),
        (lambda i, v: i.update(ApprovedVersionNumber=-1), "ApprovedVersionNumber"),
        (lambda i, v: v.clear(), "RegistrationVersions"),
        (lambda i, v: v.append(dict(v[0])), "RegistrationVersions[1].VersionNumber"),
        (lambda i, v: v[0].pop("VersionNumber"), "RegistrationVersions[0].VersionNumber"),
        (
            lambda i, v: v[0].update(RegistrationId="registration-other"),
            "RegistrationVersions[0].RegistrationId",
        ),
    ],
)
def test_registration_structural_errors(mutate: Any, field: str, clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    info, versions = reg.to_api(), reg.versions_to_api()
    mutate(info, versions)
    with pytest.raises(InvalidApiData) as err:
        Registration.from_api(info, versions)
    assert err.value.field == field


def test_semantic_oddities_are_accepted_and_reported(clock: TickingClock) -> None:
    approved_without_stamp = {
        "VersionNumber": 2,
        "RegistrationVersionStatus": "APPROVED",
        "RegistrationVersionStatusHistory": {"DraftTimestamp": clock()},
    }
    out_of_order = {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "DENIED",
        "RegistrationVersionStatusHistory": {
            "DraftTimestamp": clock.now - timedelta(days=2),
            "DeniedTimestamp": clock.now - timedelta(days=1),
            "SubmittedTimestamp": clock.now,
        },
    }
    info = {
        "RegistrationArn": REG_ARN, "RegistrationId": REG_ID, "RegistrationType": REG_TYPE,
        "RegistrationStatus": "COMPLETE", "CurrentVersionNumber": 3,
        "CreatedTimestamp": clock.now - timedelta(days=3),
    }  # fmt: skip
    reg = Registration.from_api(info, [approved_without_stamp, out_of_order])
    assert reg.current_version.status == VersionStatus.APPROVED
    messages = [str(a) for a in reg.anomalies]
    assert any("v2.ApprovedTimestamp" in m and "missing" in m for m in messages), messages
    assert any("v1.SubmittedTimestamp" in m and "out of order" in m for m in messages), messages
    assert any("CurrentVersionNumber: API says 3" in m for m in messages), messages
    assert any("ApprovedVersionNumber: API says None" in m for m in messages), messages


def test_unknown_version_status_keeps_its_history(clock: TickingClock) -> None:
    data = _info(clock) | {"RegistrationVersionStatus": "CARRIER_PENDING"}
    version = RegistrationVersion.from_api(data, registration_id=REG_ID, registration_arn=REG_ARN)
    assert version.status.is_unknown
    assert version.anomalies == ()
    assert version.to_api() == data
