"""AWS's request quotas: the table, its overrides, and bad input."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from registration_fsm import DEFAULT_QUOTAS, InvalidArgument, InvalidArgumentType, Quotas
from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.emulator import OPERATIONS
from registration_fsm.ports import RegistrationApi
from registration_fsm.quotas import (
    ENV_QUOTA_FILE,
    ENV_QUOTA_SCALE,
    ENV_QUOTAS,
    READ_ON,
    SOURCE,
    TABLE,
    check_rates,
    parse_overrides,
    rates_for,
)


def test_the_table_covers_every_operation_the_library_calls() -> None:
    port_methods = {
        name for name in dir(RegistrationApi) if not name.startswith("_") and name != "calls"
    }
    adapter = {"".join(p.title() for p in name.split("_")) for name in port_methods}
    assert adapter <= set(DEFAULT_QUOTAS), adapter - set(DEFAULT_QUOTAS)
    assert set(OPERATIONS) <= set(DEFAULT_QUOTAS)
    assert all(hasattr(Boto3RegistrationApi, name) for name in port_methods)


def test_the_table_says_where_and_when_it_was_read_and_which_rows_are_assumed() -> None:
    assert SOURCE == "https://docs.aws.amazon.com/sms-voice/latest/userguide/quotas.html"
    assert READ_ON.startswith("2026-")
    assert {q.operation for q in TABLE} == set(DEFAULT_QUOTAS)
    # Every registration operation AWS lists is 1 request per second by default.
    assert set(DEFAULT_QUOTAS.values()) == {1}
    read = {q.operation for q in TABLE if q.read}
    assert {"CreateRegistration", "DescribeRegistrations", "DeleteRegistration"} <= read
    with pytest.raises(TypeError):
        DEFAULT_QUOTAS["DescribeRegistrations"] = 5  # type: ignore[index]


@pytest.mark.parametrize(
    ("rates", "error", "says"),
    [
        ({"DescribeRegistrations": -1}, InvalidArgument, "positive"),
        ({"DescribeRegistrations": 0}, InvalidArgument, "positive"),
        ({"DescribeRegistrations": math.nan}, InvalidArgument, "positive"),
        ({"DescribeRegistrations": math.inf}, InvalidArgument, "positive"),
        ({"DescribeRegistrations": True}, InvalidArgumentType, "number"),
        ({"DescribeRegistrations": "5"}, InvalidArgumentType, "number"),
        ({"DescribeEverything": 5}, InvalidArgument, "unknown operation"),
        (["DescribeRegistrations"], InvalidArgumentType, "mapping"),
    ],
)
def test_a_bad_quota_is_a_typed_one_line_error(rates: object, error: type, says: str) -> None:
    with pytest.raises(error, match=says) as caught:
        Quotas.of(rates)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_overrides_from_text() -> None:
    assert parse_overrides(["DescribeRegistrations=5", "SubmitRegistrationVersion=2.5"]) == {
        "DescribeRegistrations": 5.0,
        "SubmitRegistrationVersion": 2.5,
    }
    assert parse_overrides(["DescribeRegistrations=5,CreateRegistration=3"]) == {
        "DescribeRegistrations": 5.0,
        "CreateRegistration": 3.0,
    }
    for bad in ("DescribeRegistrations", "DescribeRegistrations=fast", "Nope=1"):
        with pytest.raises(InvalidArgument):
            parse_overrides([bad])


def test_overrides_apply_everywhere_then_per_account_and_region(tmp_path: Path) -> None:
    path = tmp_path / "quotas.toml"
    path.write_text(
        '[quotas]\nDescribeRegistrations = 2\n\n[quotas."123456789012/us-east-1"]\n'
        "DescribeRegistrationVersions = 10\n"
    )
    quotas = Quotas.from_toml(path)
    here = quotas.rates("123456789012", "us-east-1")
    elsewhere = quotas.rates("210987654321", "us-east-1")
    assert here["DescribeRegistrations"] == elsewhere["DescribeRegistrations"] == 2
    assert here["DescribeRegistrationVersions"] == 10
    assert elsewhere["DescribeRegistrationVersions"] == 1
    assert here["CreateRegistration"] == 1  # not overridden: AWS's default
    assert quotas.scaled(50).rates("123456789012", "us-east-1")["DescribeRegistrations"] == 100


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[quotas\n", "not TOML"),
        ("quotas = 3\n", "must be a table"),
        ('[quotas."us-east-1"]\nDescribeRegistrations = 1\n', "ACCOUNT/REGION"),
        ("[quotas]\nDescribeRegistrations = -2\n", "positive"),
    ],
)
def test_a_bad_quota_file_is_a_one_line_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "quotas.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=says) as caught:
        Quotas.from_toml(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(InvalidArgument, match="cannot read"):
        Quotas.from_toml(tmp_path / "missing.toml")


def test_the_environment_adds_a_file_overrides_and_a_scale(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text("[quotas]\nDescribeRegistrations = 3\n")
    env = {
        ENV_QUOTA_FILE: str(path),
        ENV_QUOTAS: "SubmitRegistrationVersion=4",
        ENV_QUOTA_SCALE: "10",
    }
    rates = Quotas.from_environment(env).rates()
    assert rates["DescribeRegistrations"] == 30
    assert rates["SubmitRegistrationVersion"] == 40
    assert rates["CreateRegistration"] == 10
    with pytest.raises(InvalidArgument, match=ENV_QUOTA_SCALE):
        Quotas.from_environment({ENV_QUOTA_SCALE: "fast"})
    with pytest.raises(InvalidArgument, match="positive"):
        Quotas.from_environment({ENV_QUOTA_SCALE: "0"})


def test_a_quota_setting_resolves_to_rates() -> None:
    assert rates_for(None, "123456789012", "us-east-1") is None
    assert rates_for({"DescribeRegistrations": 7}, None, None)["DescribeRegistrations"] == 7  # type: ignore[index]
    with pytest.raises(InvalidArgumentType):
        rates_for(7, None, None)  # type: ignore[arg-type]
    assert check_rates({}) == {}


@pytest.mark.parametrize(
    "args",
    [
        ["--quota", "DescribeRegistrations=-1"],
        ["--quota", "Nope=1"],
        ["--quota", "DescribeRegistrations"],
    ],
)
def test_the_cli_refuses_a_bad_quota_in_one_line(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registration_fsm.cli", "emulator", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "--quota" in errors[0]


def test_the_emulator_refuses_no_quotas_with_quotas() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registration_fsm.cli", "emulator", "--port", "0",
         "--no-quotas", "--quota", "DescribeRegistrations=5"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: --no-quotas contradicts --quota / --quota-file: give one"
    )
