"""The fleet file (registration_fsm.fleet.config): parsing, its refusals, quotas by
place, and connect() — to an endpoint, with a profile, and with a role assumed through
moto's STS (its server on 127.0.0.1, in process).

Requests go to the emulator served on 127.0.0.1; credentials are dummies and the AWS
config files are temporary ones. Nothing reaches AWS or the internet.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import botocore.session
import pytest
from moto.server import ThreadedMotoServer

from registration_fsm import Boto3RegistrationApi, serve
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import InvalidArgument, InvalidArgumentType
from registration_fsm.fleet import (
    MAX_FLEET_FILE_BYTES,
    FleetConfig,
    FleetDefaults,
    ShardConfig,
    connect,
    shard_session,
)
from registration_fsm.quotas import TABLE, Quotas

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fleet.toml"
ROLE = "arn:aws:iam::111122223333:role/RegistrationSync"
#: AWS's default table, as read from the quotas module's rows.
TABLE_RATES = {row.operation: row.rps for row in TABLE}
#: The account the credential tests use (pacers are per account and region, per process).
ROLE_ACCOUNT = "111122223333"
SHARD_A = """
[[shard]]
account = "111122223333"
region = "us-east-1"
"""


def write(tmp_path: Path, text: str, name: str = "fleet.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(InvalidArgument) as caught:
        FleetConfig.from_toml(path)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


# -- parsing ------------------------------------------------------------------------


def test_the_example_file_parses_and_its_defaults_are_the_defaults() -> None:
    fleet = FleetConfig.from_toml(EXAMPLE)
    assert fleet.defaults == FleetDefaults()  # the example says its values are the defaults
    assert [str(s.shard) for s in fleet.shards] == [
        "111122223333/us-east-1",
        "111122223333/eu-west-1",
        "444455556666/us-east-1",
        "777788889999/us-gov-west-1",
    ]
    profiled, chain, assumed, gov = fleet.shards
    assert profiled.profile == "customer-a"
    assert profiled.role_arn is None
    assert chain == ShardConfig(Shard.of("111122223333", "eu-west-1"))
    assert assumed.role_arn == "arn:aws:iam::444455556666:role/RegistrationSync"
    assert assumed.external_id == "customer-b-7c1f"
    assert assumed.duration_seconds == 3600
    assert assumed.events_queue_url == (
        "https://sqs.us-east-1.amazonaws.com/444455556666/registration-events"
    )
    assert dict(assumed.quotas) == {
        "DescribeRegistrations": 5.0,
        "DescribeRegistrationVersions": 5.0,
    }
    assert gov.role_arn == "arn:aws-us-gov:iam::777788889999:role/ops/RegistrationSync"
    assert gov.profile == "gov-source"


def test_the_examples_commented_emulator_shard_parses_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    head, marker, tail = text.partition("# An emulated account")
    assert marker
    setting = re.compile(r"^# (\[\[shard\]\]|\w+ = .*)$")
    lines = [line[2:] if setting.match(line) else line for line in tail.splitlines()]
    fleet = FleetConfig.from_toml(write(tmp_path, head + marker + "\n".join(lines) + "\n"))
    local = fleet.find("000000000001/us-east-1")
    assert local.endpoint_url == "http://127.0.0.1:4566"
    assert local.sts_endpoint_url == local.sqs_endpoint_url == "http://127.0.0.1:5000"
    assert local.events_queue_url == "http://127.0.0.1:5000/000000000001/registration-events"


def test_a_file_and_the_same_mapping_give_the_same_fleet(tmp_path: Path) -> None:
    text = """
[defaults]
retry_mode = "adaptive"
max_attempts = 5
connect_timeout = 2.5
read_timeout = 7
lease_seconds = 9
sync_interval = 0.5
field_values = "off"

[[shard]]
account = "111122223333"
region = "us-east-1"
profile = "customer-a"
endpoint_url = "http://127.0.0.1:4566"
[shard.quotas]
DescribeRegistrations = 5
SubmitRegistrationVersion = 0.5
"""
    fleet = FleetConfig.from_toml(write(tmp_path, text))
    assert fleet.defaults == FleetDefaults("adaptive", 5, 2.5, 7, 9, 0.5, "off")
    assert fleet.defaults.renew_seconds == 3
    assert fleet.shards == (
        ShardConfig(
            Shard.of("111122223333", "us-east-1"),
            profile="customer-a",
            endpoint_url="http://127.0.0.1:4566",
            quotas={"DescribeRegistrations": 5, "SubmitRegistrationVersion": 0.5},
        ),
    )
    assert FleetConfig.from_mapping(tomllib.loads(text), "x") == fleet


def test_a_minimal_file_takes_every_default(tmp_path: Path) -> None:
    fleet = FleetConfig.from_toml(write(tmp_path, SHARD_A))
    assert fleet.defaults == FleetDefaults()
    (only,) = fleet.shards
    assert only == ShardConfig(Shard.parse("111122223333/us-east-1"))
    assert (only.profile, only.role_arn, only.endpoint_url, dict(only.quotas)) == (
        None,
        None,
        None,
        {},
    )


SHARD_LABEL = "[[shard]] #1 (111122223333/us-east-1): "
#: The role line of SHARD_A's account.
WITH_ROLE = f'role_arn = "{ROLE}"\n'
URL_PROBLEM = "must be an http:// or https:// URL"


def in_shard(text: str) -> str:
    """SHARD_A with ``text`` added to its table."""
    return SHARD_A + text


def in_defaults(text: str) -> str:
    """A [defaults] table of ``text``, then SHARD_A."""
    return "[defaults]\n" + text + SHARD_A


def problem(text: str) -> str:
    """The message's end for a problem in SHARD_A."""
    return SHARD_LABEL + text


REFUSALS: list[tuple[str, str]] = [
    # unknown keys, with a hint
    ('[default]\nretry_mode = "adaptive"\n' + SHARD_A, "unknown key 'default' (did you mean"),
    (in_defaults("lease_second = 5\n"), "[defaults]: unknown key 'lease_second' (did you mean"),
    (in_shard('profle = "a"\n'), problem("unknown key 'profle' (did you mean 'profile'?)")),
    (in_shard("zzz = 1\n"), problem("unknown key 'zzz' (known: account, region, profile,")),
    (
        SHARD_A + '[[shard]]\naccount = "111122223333"\nregion = "us-west-2"\nrole = "x"\n',
        "[[shard]] #2 (111122223333/us-west-2): unknown key 'role'",
    ),
    # the same shard twice
    (
        SHARD_A + SHARD_A,
        "[[shard]] #2 (111122223333/us-east-1): the same account and region as [[shard]] #1",
    ),
    # roles
    (
        in_shard('role_arn = "arn:aws:iam::444455556666:role/R"\n'),
        problem("role_arn names account 444455556666, not the shard's 111122223333"),
    ),
    (
        in_shard('role_arn = "arn:aws:iam::111122223333:user/R"\n'),
        problem("role_arn must be arn:PARTITION:iam::ACCOUNT:role/NAME"),
    ),
    (in_shard('role_arn = "arn:aws:iam::111122223333:role/a b"\n'), problem("role_arn must be")),
    (in_shard('role_arn = "arn:aws:s3:::111122223333:role/R"\n'), problem("role_arn must be")),
    (in_shard('external_id = "abc"\n'), problem("external_id is given without role_arn")),
    (
        in_shard('sts_endpoint_url = "http://127.0.0.1:5000"\n'),
        problem("sts_endpoint_url is given without role_arn"),
    ),
    (in_shard("duration_seconds = 900\n"), problem("duration_seconds is given without role_arn")),
    (
        in_shard(WITH_ROLE + 'external_id = "a b"\n'),
        problem("external_id must be 2-1224 characters"),
    ),
    (in_shard(WITH_ROLE + 'external_id = "x"\n'), problem("external_id must be 2-1224 characters")),
    (
        in_shard(WITH_ROLE + "duration_seconds = 60\n"),
        problem("duration_seconds must be in 900..43200, got 60"),
    ),
    (
        in_shard(WITH_ROLE + "duration_seconds = 3600.5\n"),
        problem("duration_seconds must be an integer"),
    ),
    # bad numbers and names in [defaults]
    (in_defaults("max_attempts = 0\n"), "[defaults]: max_attempts must be in 1..100, got 0"),
    (in_defaults("max_attempts = 2.5\n"), "[defaults]: max_attempts must be an integer, got 2.5"),
    (in_defaults("max_attempts = true\n"), "[defaults]: max_attempts must be an integer, got True"),
    (in_defaults("connect_timeout = -1\n"), "[defaults]: connect_timeout must be more than 0"),
    (
        in_defaults('read_timeout = "30"\n'),
        "[defaults]: read_timeout must be a number of seconds, got '30'",
    ),
    (
        in_defaults("lease_seconds = inf\n"),
        "[defaults]: lease_seconds must be more than 0 and at most 86400 seconds, got inf",
    ),
    (in_defaults("sync_interval = nan\n"), "[defaults]: sync_interval must be more than 0"),
    (in_defaults("sync_interval = 0\n"), "[defaults]: sync_interval must be more than 0"),
    (
        in_defaults('retry_mode = "fast"\n'),
        "[defaults]: retry_mode must be one of legacy, standard, adaptive, got 'fast'",
    ),
    (
        in_defaults('field_values = "some"\n'),
        "[defaults]: field_values must be one of submitted, all, drafts, off",
    ),
    ("defaults = 3\n" + SHARD_A, "defaults must be a table"),
    # quotas
    (
        in_shard("[shard.quotas]\nDescribeRegistration = 5\n"),
        problem("quotas: unknown operation 'DescribeRegistration'"),
    ),
    (
        in_shard("[shard.quotas]\nDescribeRegistrations = -5\n"),
        problem("quotas: DescribeRegistrations must be a positive number"),
    ),
    (
        in_shard("[shard.quotas]\nDescribeRegistrations = 0\n"),
        problem("quotas: DescribeRegistrations must be a positive number"),
    ),
    (
        in_shard('[shard.quotas]\nDescribeRegistrations = "5"\n'),
        problem("quotas: DescribeRegistrations must be a number, got '5'"),
    ),
    (in_shard("quotas = 5\n"), problem("quotas must be a table")),
    # the shard itself
    (
        '[[shard]]\naccount = 111122223333\nregion = "us-east-1"\n',
        "[[shard]] #1: account must be quoted text",
    ),
    (
        '[[shard]]\naccount = "1234"\nregion = "us-east-1"\n',
        "[[shard]] #1: an AWS account id is 12 digits, got '1234'",
    ),
    (
        '[[shard]]\naccount = "111122223333"\nregion = "useast1"\n',
        "[[shard]] #1: not an AWS region name",
    ),
    ('[[shard]]\naccount = "111122223333"\n', "[[shard]] #1: region missing"),
    ('[[shard]]\nprofile = "a"\n', "[[shard]] #1: account and region missing"),
    (in_shard('profile = ""\n'), problem("profile must be 1-256 printable characters")),
    (in_shard('profile = " a"\n'), problem("profile must be 1-256 printable characters")),
    (in_shard("profile = 3\n"), problem("profile must be text, got 3")),
    (in_shard('endpoint_url = "localhost:4566"\n'), problem("endpoint_url " + URL_PROBLEM)),
    (in_shard('endpoint_url = "ftp://127.0.0.1"\n'), problem("endpoint_url " + URL_PROBLEM)),
    (in_shard('endpoint_url = "http://127.0.0.1:x"\n'), problem("endpoint_url " + URL_PROBLEM)),
    (in_shard('events_queue_url = "https://"\n'), problem("events_queue_url " + URL_PROBLEM)),
    (
        in_shard('sqs_endpoint_url = "http://127.0.0.1:5000"\n'),
        problem("sqs_endpoint_url is given without events_queue_url"),
    ),
    # the shape of the file
    (
        '[shard]\naccount = "111122223333"\nregion = "us-east-1"\n',
        "shard must be an array of tables: write [[shard]]",
    ),
    ("shard = [1]\n", "[[shard]] #1: a shard is a table, got 1"),
    (
        "[defaults]\nmax_attempts = 3\n",
        "no [[shard]] tables: a fleet follows at least one account and region",
    ),
    ("", "no [[shard]] tables"),
    ("[[shard]\naccount = 1\n", "not TOML: "),
    (SHARD_A + SHARD_A.replace("[[shard]]", ""), "not TOML: "),
]


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_each_refusal_is_one_line_naming_the_file_the_shard_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    message = refusal(path)
    assert expected in message, message


def test_a_file_that_is_not_utf8_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_bytes(b'[[shard]]\naccount = "\xff"\n')
    assert "not TOML: " in refusal(path)


def test_a_file_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert refusal(path) == f"{path}: not TOML: arrays or tables nested too deeply"


def test_a_file_too_large_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_bytes(SHARD_A.encode() + b"#" * MAX_FLEET_FILE_BYTES)
    assert refusal(path) == f"{path}: larger than {MAX_FLEET_FILE_BYTES} bytes"


def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert refusal(missing) == f"{missing}: cannot read it: No such file or directory"
    assert refusal(tmp_path) == f"{tmp_path}: cannot read it: Is a directory"


def test_from_mapping_refuses_what_is_not_a_table() -> None:
    with pytest.raises(InvalidArgument, match=r"^here: a fleet config is a table, got \[\]$"):
        FleetConfig.from_mapping([], "here")  # type: ignore[arg-type]


def test_python_construction_checks_too() -> None:
    shard = Shard.of("111122223333", "us-east-1")
    with pytest.raises(InvalidArgument, match="external_id is given without role_arn"):
        ShardConfig(shard, external_id="abcd")
    with pytest.raises(InvalidArgument, match="not the shard's 111122223333"):
        ShardConfig(shard, role_arn="arn:aws:iam::222233334444:role/R")
    with pytest.raises(InvalidArgumentType, match="shard must be a Shard"):
        ShardConfig("111122223333/us-east-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="12 digits"):
        ShardConfig(Shard("1", "us-east-1"))
    with pytest.raises(InvalidArgument, match="no shards"):
        FleetConfig(FleetDefaults(), ())
    with pytest.raises(InvalidArgument, match=r"shard #2 \(111122223333/us-east-1\) is the same"):
        FleetConfig(FleetDefaults(), (ShardConfig(shard), ShardConfig(shard)))
    with pytest.raises(InvalidArgumentType, match="shards must be a sequence"):
        FleetConfig(FleetDefaults(), "111122223333/us-east-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_attempts"):
        FleetDefaults(max_attempts=101)
    # Frozen all the way down, and hashable.
    config = ShardConfig(shard, quotas={"DescribeRegistrations": 2})
    with pytest.raises(TypeError):
        config.quotas["DescribeRegistrations"] = 9  # type: ignore[index]
    assert hash(config) == hash(ShardConfig(shard, quotas={"DescribeRegistrations": 3}))
    assert config != ShardConfig(shard, quotas={"DescribeRegistrations": 3})


def test_find_names_a_shard_by_shard_or_text() -> None:
    fleet = FleetConfig.from_toml(EXAMPLE)
    assert fleet.find("444455556666/us-east-1") is fleet.shards[2]
    assert fleet.find(Shard.of("111122223333", "eu-west-1")) is fleet.shards[1]
    with pytest.raises(InvalidArgument, match="999988887777/us-east-1 is not a shard of the fleet"):
        fleet.find("999988887777/us-east-1")


# -- quotas by place ------------------------------------------------------------------


def test_a_shards_quotas_apply_to_it_alone_over_the_base() -> None:
    fleet = FleetConfig.from_toml(EXAMPLE)
    base = Quotas(
        everywhere={"CreateRegistration": 2},
        by_place={
            "444455556666/us-east-1": {"DescribeRegistrations": 3, "DeleteRegistration": 4},
            "999988887777/us-east-1": {"DescribeRegistrations": 7},
        },
        scale=2,
    )
    merged = fleet.quotas(base)
    assert merged.scale == 2
    assert merged.everywhere == base.everywhere
    # The shard with overrides: its file wins over the base's for its place.
    assert merged.rates("444455556666", "us-east-1") == {
        op: 2 * rate
        for op, rate in {
            **TABLE_RATES,
            "CreateRegistration": 2,
            "DeleteRegistration": 4,
            "DescribeRegistrations": 5,
            "DescribeRegistrationVersions": 5,
        }.items()
    }
    # Shards without overrides, the same account in another region, and places the
    # base alone names: untouched.
    elsewhere = {op: 2 * rate for op, rate in {**TABLE_RATES, "CreateRegistration": 2}.items()}
    assert merged.rates("111122223333", "us-east-1") == elsewhere
    assert merged.rates("444455556666", "eu-west-1") == elsewhere
    assert merged.rates("999988887777", "us-east-1")["DescribeRegistrations"] == 14
    assert base.rates("444455556666", "us-east-1")["DescribeRegistrations"] == 6  # unchanged


def test_over_the_plain_defaults_other_shards_get_the_table() -> None:
    merged = FleetConfig.from_toml(EXAMPLE).quotas(Quotas())
    assert merged.rates("111122223333", "us-east-1") == TABLE_RATES
    assert merged.rates("444455556666", "us-east-1")["DescribeRegistrations"] == 5
    assert set(merged.by_place) == {"444455556666/us-east-1"}
    with pytest.raises(InvalidArgumentType, match="quotas must be Quotas"):
        FleetConfig.from_toml(EXAMPLE).quotas({"DescribeRegistrations": 1})  # type: ignore[arg-type]


# -- connect() --------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Dummy credentials and empty AWS config files; returns the config directory."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "aws"
    home.mkdir()
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


def add_profile(home: Path, name: str, key: str, region: str = "ap-south-1") -> None:
    with (home / "config").open("a") as file:
        file.write(f"[profile {name}]\nregion = {region}\n")
    with (home / "credentials").open("a") as file:
        file.write(f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = s3cret\n")


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture(scope="module")
def sts_url() -> Iterator[str]:
    """moto's server (STS here) on a free local port, for this module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


#: Fast pacing for the tests that send requests (the rates are not what they test).
FAST = Quotas(scale=1000)


def signing_keys(api: Boto3RegistrationApi) -> list[str]:
    """The access key id of each request the adapter's client sends, as signed."""
    keys: list[str] = []

    def record(request: Any, **_: Any) -> None:
        header = request.headers["Authorization"]
        text = header.decode() if isinstance(header, bytes) else header
        found = re.search(r"Credential=([A-Z0-9]+)/", text)
        assert found, text
        keys.append(found.group(1))

    api.client.meta.events.register("before-send.pinpoint-sms-voice-v2", record)
    return keys


class StsWatch:
    """A session factory that records every AssumeRole: its parameters, the key that
    signed it, and the access key id STS returned."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.signed_by: list[str] = []
        self.returned: list[str] = []

    def __call__(self, profile: str | None) -> botocore.session.Session:
        session = botocore.session.Session(profile=profile)
        session.register("before-send.sts.AssumeRole", self._sending)
        session.register("after-call.sts.AssumeRole", self._answered)
        return session

    def _sending(self, **kwargs: Any) -> None:
        request = kwargs["request"]
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.sent.append({k: v[0] for k, v in parse_qs(body).items()})
        header = request.headers["Authorization"]
        text = header.decode() if isinstance(header, bytes) else header
        self.signed_by.append(text.split("Credential=", 1)[1].split("/", 1)[0])

    def _answered(self, **kwargs: Any) -> None:
        self.returned.append(kwargs["parsed"]["Credentials"]["AccessKeyId"])


def role_shard(sts_url: str, emulator_url: str, **extra: Any) -> ShardConfig:
    return ShardConfig(
        Shard.of(ROLE_ACCOUNT, "eu-west-1"),
        role_arn=ROLE,
        sts_endpoint_url=sts_url,
        endpoint_url=emulator_url,
        **extra,
    )


def test_connect_to_an_endpoint_takes_the_region_endpoint_retries_and_rates(
    aws_env: Path,
) -> None:
    fleet = FleetConfig.from_mapping(
        {
            "defaults": {
                "retry_mode": "adaptive",
                "max_attempts": 5,
                "connect_timeout": 2,
                "read_timeout": 7.5,
            },
            "shard": [
                {
                    "account": "210987654321",
                    "region": "ap-southeast-2",
                    "endpoint_url": "http://127.0.0.1:4566",
                    "quotas": {"DescribeRegistrations": 4},
                },
            ],
        },
        "test",
    )
    (config,) = fleet.shards
    # The base quotas alone: connect() lays the shard's own over them.
    api = connect(config, fleet.defaults, quotas=Quotas(everywhere={"CreateRegistration": 3}))
    meta = api.client.meta
    assert meta.region_name == "ap-southeast-2"
    assert meta.endpoint_url == "http://127.0.0.1:4566"
    assert api.account == "210987654321"
    assert (api.retry_mode, api.max_attempts) == ("adaptive", 5)
    botocore_config: Any = meta.config
    assert (botocore_config.connect_timeout, botocore_config.read_timeout) == (2, 7.5)
    assert api.pacer is not None
    assert api.pacer.quota("DescribeRegistrations") == 4
    assert api.pacer.quota("CreateRegistration") == 3
    assert api.pacer.quota("SubmitRegistrationVersion") == TABLE_RATES["SubmitRegistrationVersion"]
    assert math.isinf(api.pacer.quota("SendTextMessage"))


def test_connect_with_a_profile_signs_with_the_profiles_key_in_the_shards_region(
    aws_env: Path, emulator_url: str
) -> None:
    add_profile(aws_env, "customer-a", "AKIAPROFILEA00000001")
    config = ShardConfig(
        Shard.of("210987654322", "us-west-2"), profile="customer-a", endpoint_url=emulator_url
    )
    api = connect(config, FleetDefaults(), quotas=FAST)
    keys = signing_keys(api)
    assert list(api.describe_registrations()) == []
    assert api.client.meta.region_name == "us-west-2"  # the shard's, not the profile's
    assert keys
    assert set(keys) == {"AKIAPROFILEA00000001"}  # not the environment's "test"


def test_connect_with_an_unknown_profile_names_the_shard(aws_env: Path) -> None:
    config = ShardConfig(Shard.of("210987654323", "us-east-1"), profile="nope")
    with pytest.raises(InvalidArgument) as caught:
        connect(config, FleetDefaults(), quotas=Quotas())
    assert str(caught.value) == (
        "210987654323/us-east-1: The config profile (nope) could not be found"
    )


def test_a_role_without_credentials_to_assume_it_with_is_refused(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = ShardConfig(Shard.of(ROLE_ACCOUNT, "us-east-1"), role_arn=ROLE)
    with pytest.raises(InvalidArgument) as caught:
        connect(config, FleetDefaults(), quotas=Quotas())
    assert str(caught.value) == (
        f"{ROLE_ACCOUNT}/us-east-1: no AWS credentials to assume {ROLE} with "
        "(the default chain has none)"
    )


def test_connect_with_a_role_signs_with_the_credentials_sts_returned(
    aws_env: Path, sts_url: str, emulator_url: str
) -> None:
    watch = StsWatch()
    config = role_shard(sts_url, emulator_url, external_id="fleet-7c1f")
    api = connect(config, FleetDefaults(), quotas=FAST, session_factory=watch)
    assert watch.sent == []  # assumed on first use, not at connect()
    keys = signing_keys(api)
    assert list(api.describe_registrations()) == []
    assert list(api.describe_registrations()) == []
    # One AssumeRole (its credentials last an hour), with the name and the external id.
    assert watch.sent == [
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": ROLE,
            "RoleSessionName": f"registration-fsm-{ROLE_ACCOUNT}",
            "ExternalId": "fleet-7c1f",
        }
    ]
    assert watch.signed_by == ["test"]  # the default chain's credentials called STS
    (assumed,) = watch.returned
    assert assumed.startswith("ASIA")
    assert keys
    assert set(keys) == {assumed}


def test_the_role_session_is_the_one_sts_knows(
    aws_env: Path, sts_url: str, emulator_url: str
) -> None:
    session = shard_session(role_shard(sts_url, emulator_url))
    identity = session.client(
        "sts", region_name="eu-west-1", endpoint_url=sts_url
    ).get_caller_identity()
    assert identity["Account"] == ROLE_ACCOUNT
    assert identity["Arn"] == (
        f"arn:aws:sts::{ROLE_ACCOUNT}:assumed-role/RegistrationSync/registration-fsm-{ROLE_ACCOUNT}"
    )
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "assume-role"


def test_role_credentials_are_refreshed_before_they_expire(
    aws_env: Path, sts_url: str, emulator_url: str
) -> None:
    # 900 seconds is within botocore's 15-minute refresh window from the start, so
    # every request finds them due and assumes the role again.
    watch = StsWatch()
    config = role_shard(sts_url, emulator_url, duration_seconds=900)
    api = connect(config, FleetDefaults(), quotas=FAST, session_factory=watch)
    keys = signing_keys(api)
    for _ in range(3):
        assert list(api.describe_registrations()) == []
    assert len(watch.returned) >= 2
    assert {call["DurationSeconds"] for call in watch.sent} == {"900"}
    assert len(set(keys)) >= 2
    assert set(keys) <= set(watch.returned)


def test_a_role_is_assumed_with_the_profiles_credentials(
    aws_env: Path, sts_url: str, emulator_url: str
) -> None:
    add_profile(aws_env, "source", "AKIASOURCE0000000001")
    watch = StsWatch()
    config = role_shard(sts_url, emulator_url, profile="source")
    api = connect(config, FleetDefaults(), quotas=FAST, session_factory=watch)
    keys = signing_keys(api)
    assert list(api.describe_registrations()) == []
    assert watch.signed_by == ["AKIASOURCE0000000001"]
    assert "ExternalId" not in watch.sent[0]
    assert set(keys) == set(watch.returned)


def test_another_session_factory_makes_every_session(aws_env: Path) -> None:
    made: list[str | None] = []

    def factory(profile: str | None) -> botocore.session.Session:
        made.append(profile)
        return botocore.session.Session(profile=profile)

    add_profile(aws_env, "customer-a", "AKIAPROFILEA00000001")
    plain = ShardConfig(Shard.of("210987654324", "us-east-1"), profile="customer-a")
    assumed = ShardConfig(Shard.of(ROLE_ACCOUNT, "us-east-1"), role_arn=ROLE)
    assert isinstance(shard_session(plain, session_factory=factory), boto3.session.Session)
    shard_session(assumed, session_factory=factory)
    assert made == ["customer-a", None, None]  # the role's: the target's and STS's
