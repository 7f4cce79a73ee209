"""``--quota OPERATION=RPS``, ``--quota-file`` and ``--account`` on every command that
calls AWS: they reach the boto3 adapter's pacer, and a bad one is a one-line usage
error before any request.

The adapter is built by ``make_synchronizer``; here its ``from_config`` is
replaced by one that records what it was given and stops the command, so no
request is made.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import REG_ID, REG_TYPE
from helpers.resume_cli import HANG, cli_env, script

from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.cli import cli
from registration_fsm.errors import ApiUnavailable
from registration_fsm.quotas import (
    DEFAULT_QUOTAS,
    ENV_QUOTA_FILE,
    ENV_QUOTA_SCALE,
    ENV_QUOTAS,
    Quotas,
)

ACCOUNT = "123456789012"
#: The commands that call AWS, with the arguments each needs besides the API options.
AWS_COMMANDS: dict[str, list[str]] = {
    "sync": [],
    "wait": ["--registration-id", REG_ID, "--status", "APPROVED"],
    "create": [REG_TYPE],
    "submit": ["--registration-id", REG_ID],
    "create-version": ["--registration-id", REG_ID],
    "discard": ["--registration-id", REG_ID, "--reason", "typo"],
    "delete": ["--registration-id", REG_ID, "--reason", "duplicate"],
}


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each ``Boto3RegistrationApi.from_config`` call was given (the call then fails
    as an unreachable endpoint would, before any request)."""
    calls: list[dict[str, Any]] = []

    def from_config(_cls: type[Boto3RegistrationApi], /, **kwargs: Any) -> Boto3RegistrationApi:
        calls.append(kwargs)
        raise ApiUnavailable("not reached: the test stops here")

    monkeypatch.setattr(Boto3RegistrationApi, "from_config", classmethod(from_config))
    for name in (ENV_QUOTA_SCALE, ENV_QUOTAS, ENV_QUOTA_FILE):
        monkeypatch.delenv(name, raising=False)
    return calls


def invoke(command: str, *options: str, tmp_path: Path) -> None:
    """Run ``command`` in process until it builds the adapter (where ``built`` stops it)."""
    args = [command, "--store", str(tmp_path / "s.db"), *options, *AWS_COMMANDS[command]]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, ApiUnavailable), result.output


@pytest.mark.parametrize("command", sorted(AWS_COMMANDS))
def test_every_command_that_calls_aws_paces_at_the_quotas_it_is_given(
    command: str, built: list[dict[str, Any]], tmp_path: Path
) -> None:
    quota_file = tmp_path / "quotas.toml"
    quota_file.write_text(
        f'[quotas."{ACCOUNT}/eu-west-1"]\nCreateRegistration = 3\n', encoding="utf-8"
    )

    invoke(
        command, "--quota", "SubmitRegistrationVersion=7", "--quota", "DeleteRegistration=0.5",
        "--quota-file", str(quota_file), "--account", ACCOUNT, "--region", "eu-west-1",
        tmp_path=tmp_path,
    )  # fmt: skip

    (given,) = built
    assert given["account"] == ACCOUNT
    quotas = given["quotas"]
    assert isinstance(quotas, Quotas)
    rates = quotas.rates(ACCOUNT, "eu-west-1")
    assert rates["SubmitRegistrationVersion"] == 7
    assert rates["DeleteRegistration"] == 0.5
    assert rates["CreateRegistration"] == 3  # the file's, for this account and region
    assert rates["DescribeRegistrations"] == DEFAULT_QUOTAS["DescribeRegistrations"]
    assert quotas.rates(ACCOUNT, "us-east-1")["CreateRegistration"] == 1  # elsewhere: AWS's


@pytest.mark.parametrize("command", sorted(AWS_COMMANDS))
def test_without_quota_options_a_command_paces_at_aws_defaults(
    command: str, built: list[dict[str, Any]], tmp_path: Path
) -> None:
    invoke(command, tmp_path=tmp_path)
    (given,) = built
    assert given["account"] is None
    assert given["quotas"].rates() == dict(DEFAULT_QUOTAS)


BAD: dict[str, tuple[list[str], str]] = {
    "unknown operation": (["--quota", "Bogus=1"], "Error: --quota: unknown operation 'Bogus'"),
    "zero": (["--quota", "DescribeRegistrations=0"], "positive number"),
    "not a number": (["--quota", "DescribeRegistrations=fast"], "is not a number"),
    "no equals": (["--quota", "DescribeRegistrations"], "is not OPERATION=RPS"),
    "bad file": (["--quota-file", "{bad}"], "Invalid value for '--quota-file'"),
    "bad account": (["--account", "12345"], "is not an AWS account id (12 digits)"),
}


@pytest.mark.parametrize("command", sorted(AWS_COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_quota_is_a_one_line_usage_error_before_any_request(
    command: str, case: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[quotas]\nDescribeRegistrations = -1\n", encoding="utf-8")
    options, expected = BAD[case]
    args = [o.format(bad=bad) for o in options]
    store = tmp_path / "s.db"

    done = subprocess.run(
        [script(), command, "--endpoint-url", "http://127.0.0.1:9", "--store", str(store),
         *args, *AWS_COMMANDS[command]],
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"Usage: registration-fsm {command} ")
    errors = [line for line in lines if line.startswith("Error:")]
    assert errors == lines[-1:], done.stderr
    assert expected in errors[0]
    assert not store.exists()  # nothing opened, nothing sent


def test_every_command_that_calls_aws_documents_the_quota_options() -> None:
    for command in AWS_COMMANDS:
        shown = CliRunner().invoke(cli, [command, "--help"]).output
        for option in ("--quota OPERATION=RPS", "--quota-file", "--account ACCOUNT_ID"):
            assert option in shown, (command, option)
