"""The ``registration-fsm`` command line.

``--help`` and ``demo`` run in process through click's CliRunner. The rest runs the
installed ``registration-fsm`` script in subprocesses: ``registration-fsm emulator``
serves on a free port, and ``sync``, ``show``, ``discard`` and ``emulator advance``
talk to it with dummy credentials and a store in a temporary directory. The other
customer commands, ``wait`` and the timeouts: ``test_cli_commands.py``.

No test here times anything: subprocess timeouts are generous guards against a
hang (a busy machine is slow, not wrong), and waits wait for an event.
"""

from __future__ import annotations

import json
import os
import pty
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import click
import pytest
from botocore.config import Config
from click.testing import CliRunner
from helpers import REG_TYPE
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

from registration_fsm import EmulatorClient
from registration_fsm.cli import cli

EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
#: Seconds a subprocess may take before the test calls it hung (never reached when it works).
HANG = 120.0


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command of the CLI, as the words that invoke it."""
    yield prefix
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(command_paths(cli))


def test_every_documented_command_exists() -> None:
    assert {
        (),
        ("demo",),
        ("emulator",),
        ("emulator", "advance"),
        ("sync",),
        ("show",),
        ("wait",),
        ("create",),
        ("submit",),
        ("create-version",),
        ("discard",),
        ("delete",),
        ("diagram",),
        ("audit", "verify"),
        ("audit", "export"),
    } <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "registration-fsm")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_everywhere(path: tuple[str, ...], flag: str) -> None:
    result = CliRunner().invoke(cli, [*path, flag], prog_name="registration-fsm")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: registration-fsm {' '.join(path)}".rstrip())
    assert "Options:" in result.output


@pytest.mark.parametrize(
    "group", [(), ("emulator",), ("audit",)], ids=lambda p: " ".join(p) or "registration-fsm"
)
def test_command_lists_show_each_summary_whole(group: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listed = result.output.partition("Commands:\n")[2].splitlines()
    assert listed, result.output
    for line in listed:
        name, summary = line.split(maxsplit=1)
        assert not summary.endswith("..."), f"{name}: {summary!r} is cut"


@pytest.mark.parametrize(
    "path",
    [("sync",), ("show",), ("wait",), ("create",), ("submit",), ("create-version",),
     ("discard",), ("delete",), ("demo",), ("audit", "verify")],
    ids=" ".join,
)  # fmt: skip
def test_json_is_offered_where_it_makes_sense(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert "--json" in result.output


# -- demo ----------------------------------------------------------------------------

#: The story, in order: each pattern must match a later line than the one before.
STORY = [
    r"The account has toll-free number phone-[0-9a-f]{32}",
    r"CreateRegistration US_TOLL_FREE_REGISTRATION",
    r"v1 +\(new\) -> DRAFT +create +alice",
    r"attached the opt-in screenshot: attachment-[0-9a-f]{32}",
    r"form of v1: 21 fields put \(messageSamples\.messageSample1 left out\)",
    r"associated phone-[0-9a-f]{32} \(this type: before submit\)",
    r"submit refused \(FIELD_VALIDATION_FAILED\), nothing changed: messageSamples\.messageSample1$",
    r"v1 +DRAFT -> SUBMITTED +submit +alice",
    r"v1 +SUBMITTED -> REVIEWING +begin_review +aws",
    r"v1 +REVIEWING -> DENIED +deny +aws",
    r"v2 +\(new\) -> DRAFT +create +alice",
    r"v2 +DRAFT -> SUBMITTED +submit +alice",
    r"discard by alice refused \(DISCARD_REGISTRATION_VERSION_NOT_ALLOWED\)",
    r"- four_eyes: alice may not discard alone",
    r'v2 +SUBMITTED -> DISCARDED +discard +carol +"opt-in not fixed"',
    r"v3 +\(new\) -> DRAFT +create +alice",
    r"v3 +DRAFT -> SUBMITTED +submit +alice",
    r"v3 +SUBMITTED -> REVIEWING +begin_review",
    r"v3 +REVIEWING -> APPROVED +approve",
    r"reg +REVIEWING -> PROVISIONING +provision",
    r"reg +PROVISIONING -> COMPLETE +complete_provisioning",
    r"US_TOLL_FREE_REGISTRATION  COMPLETE$",  # the final table
    r"v1 +DENIED +Draft",
    r"v3 +APPROVED +Draft",
    r"Fields changed from the denied v1 to the approved v3:",
    r"changed messagingUseCase\.optInDescription: 'Customers tick .* -> 'At checkout ",
    r"API calls made through boto3: CreateRegistration 1, ",
]


def test_demo_tells_the_whole_story_in_order() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = 0
    for pattern in STORY:
        found = next((i for i in range(at, len(lines)) if re.search(pattern, lines[i])), None)
        assert found is not None, f"{pattern!r} not found after line {at}:\n{result.stdout}"
        at = found + 1
    assert "anomaly" not in result.stdout


def test_demo_json_prints_one_event_per_line() -> None:
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["version_number"], e["trigger"]) for e in events] == [
        (1, "create"), (1, "submit"), (1, "begin_review"), (1, "deny"),
        (2, "create"), (2, "submit"), (2, "discard"),
        (3, "create"), (3, "submit"), (3, "begin_review"), (3, "approve"),
        (None, "provision"), (None, "complete_provisioning"),
    ]  # fmt: skip
    discard = events[6]
    assert (discard["actor"], discard["reason"], discard["origin"], discard["metadata"]) == (
        "carol",
        "opt-in not fixed",
        "local",
        {"approved_by": "carol"},
    )
    digests = [e["details"]["fields_digest"] for e in events if e["trigger"] == "submit"]
    assert all(d.startswith("sha256:") for d in digests)
    assert digests[0] == digests[1] != digests[2]  # v2 repeated v1's form; v3 fixed it
    assert events[0]["metadata"] == {"ticket": "CMP-101"}
    assert events[3]["details"]["denied_reasons"][0]["Reason"] == "OPT_IN_INCOMPLETE"
    assert {e["origin"] for e in events if e["trigger"] in ("begin_review", "approve")} == {
        "remote"
    }
    assert len({e["registration_id"] for e in events}) == 1


# -- against a served emulator -----------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials and nothing from the caller's AWS setup."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRATION_FSM"))}
    out |= {
        # The suite's quotas (conftest): enforced, fast enough for a customer's bursts.
        "REGISTRATION_FSM_QUOTA_SCALE": os.environ["REGISTRATION_FSM_QUOTA_SCALE"],
        # The suite's emulators serve no forms (conftest): these flows submit empty forms.
        "REGISTRATION_FSM_CATALOG": os.environ["REGISTRATION_FSM_CATALOG"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    return out


def run(env: dict[str, str], *args: str, timeout: float = HANG) -> subprocess.CompletedProcess[str]:
    assert EXE is not None, "registration-fsm is not installed next to this Python"
    return subprocess.run(
        [EXE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed: exactly one line on stderr, nothing on stdout."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def first_line(proc: subprocess.Popen[str]) -> str:
    """The first line ``proc`` prints; fails if it prints none within :data:`HANG` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=HANG):
            pytest.fail(f"{proc.args!r} printed nothing in {HANG:.0f} s")
    return proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate ``proc`` and wait for it to go."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@pytest.fixture
def url(env: dict[str, str]) -> Iterator[str]:
    """``registration-fsm emulator`` on a free port, in a subprocess."""
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "emulator", "--port", "0", "--seed", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = first_line(proc)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line), line
        yield line
    finally:
        stop(proc)


def test_the_emulator_stops_cleanly_on_ctrl_c(env: dict[str, str]) -> None:
    # The CLI's main, with Ctrl-C's default Python handler restored: a shell that
    # starts a background job (as CI may) hands it SIGINT ignored.
    code = textwrap.dedent("""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from registration_fsm.cli import main
        sys.exit(main(["emulator", "--port", "0"]))
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        url = first_line(proc)
        assert EmulatorClient(url).calls() == {}  # it serves
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=HANG)
        assert (proc.returncode, err) == (0, "")
    finally:
        stop(proc)


@pytest.fixture
def sms(url: str) -> Iterator[PinpointSMSVoiceV2Client]:
    """The customer's own boto3 client, on the same emulator."""
    client = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(
        "pinpoint-sms-voice-v2",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )
    yield client
    client.close()


def new_registration(sms: PinpointSMSVoiceV2Client, *, submit: bool) -> str:
    reg_id = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
    if submit:
        sms.submit_registration_version(RegistrationId=reg_id)
    return reg_id


def calls(url: str) -> dict[str, int]:
    return EmulatorClient(url).calls()


def test_sync_show_advance_and_discard_against_a_served_emulator(
    url: str, sms: PinpointSMSVoiceV2Client, env: dict[str, str], tmp_path: Path
) -> None:
    store = str(tmp_path / "local.db")
    api = ["--endpoint-url", url, "--store", store]
    submitted = new_registration(sms, submit=True)
    draft = new_registration(sms, submit=False)

    synced = run(env, "sync", *api)
    assert synced.returncode == 0, synced.stderr
    out = synced.stdout
    assert re.search(r"v1 +\(new\) -> DRAFT +create +customer \(seen by sync\)", out)
    assert re.search(r"v1 +DRAFT -> SUBMITTED +submit +customer \(seen by sync\)", out)
    assert out.splitlines()[-1] == (
        "2 changed, 0 unchanged, 0 deleted, 0 not found, 0 failed; API calls: "
        "DescribeRegistrationFieldValues 1, DescribeRegistrationVersions 2, DescribeRegistrations 1"
    )

    again = run(env, "sync", *api, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["events"], report["api_calls"]) == ([], {"DescribeRegistrations": 1})
    assert report["unchanged"] == [submitted, draft]

    shown = run(env, "show", "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert f"{submitted}  {REG_TYPE}  SUBMITTED" in shown.stdout
    assert f"{draft}  {REG_TYPE}  CREATED" in shown.stdout

    advanced = run(env, "emulator", "advance", "--endpoint-url", url, submitted, "begin_review")
    assert advanced.returncode == 0, advanced.stderr
    (event,) = json.loads(advanced.stdout)["Events"]
    assert (event["trigger"], event["dest"]) == ("begin_review", "REVIEWING")
    seen = run(env, "sync", *api, "--id", submitted)
    assert re.search(r"v1 +SUBMITTED -> REVIEWING +begin_review +aws \(seen by sync\)", seen.stdout)

    # A discard the local guards refuse: one line, exit 1, and no request to discard.
    before = calls(url)
    refused = run(env, "discard", *api, "--registration-id", submitted, "--reason", "typo")
    assert one_line_error(refused).startswith(
        f"error: CommandRefused: discard refused on {submitted}: lifecycle: v1 is REVIEWING;"
    )
    assert calls(url) == before

    # A discard allowed, of a registration the store has never seen (pulled first).
    third = new_registration(sms, submit=True)
    discarded = run(
        env,
        "discard",
        *api,
        "--registration-id",
        third,
        "--reason",
        "wrong EIN",
        "--actor",
        "carol",
    )
    assert discarded.returncode == 0, discarded.stderr
    assert re.search(r'v1 +SUBMITTED -> DISCARDED +discard +carol +"wrong EIN"', discarded.stdout)
    assert calls(url)["DiscardRegistrationVersion"] == 1

    detail = run(env, "show", "--store", store, "--events", "--json", third)
    (item,) = json.loads(detail.stdout)
    assert item["Registration"]["RegistrationStatus"] == "REQUIRES_UPDATES"
    assert item["RegistrationVersions"][0]["RegistrationVersionStatus"] == "DISCARDED"
    last = item["Events"][-1]
    assert (last["trigger"], last["actor"], last["reason"], last["origin"]) == (
        "discard",
        "carol",
        "wrong EIN",
        "local",
    )
    assert sms.describe_registration_versions(RegistrationId=third)["RegistrationVersions"][0][
        "RegistrationVersionStatus"
    ] == ("DISCARDED")


def test_discard_json_prints_the_event(
    url: str, sms: PinpointSMSVoiceV2Client, env: dict[str, str], tmp_path: Path
) -> None:
    reg_id = new_registration(sms, submit=True)
    result = run(
        env, "discard", "--endpoint-url", url, "--store", str(tmp_path / "s.db"),
        "--registration-id", reg_id, "--reason", "duplicate", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert (event["trigger"], event["source"], event["dest"], event["reason"]) == (
        "discard",
        "SUBMITTED",
        "DISCARDED",
        "duplicate",
    )


def test_errors_print_one_line_and_exit_non_zero(
    url: str, sms: PinpointSMSVoiceV2Client, env: dict[str, str], tmp_path: Path
) -> None:
    store = str(tmp_path / "local.db")
    reg_id = new_registration(sms, submit=False)

    missing = run(env, "show", "--store", str(tmp_path / "nothing.db"))
    assert one_line_error(missing).startswith("Error: no store at")

    assert run(env, "sync", "--endpoint-url", url, "--store", store).returncode == 0
    unknown = run(env, "show", "--store", store, "registration-" + "0" * 32)
    assert "is not in" in one_line_error(unknown)

    trigger = run(env, "emulator", "advance", "--endpoint-url", url, reg_id, "teleport")
    assert "unknown trigger 'teleport'" in one_line_error(trigger)
    customer = run(env, "emulator", "advance", "--endpoint-url", url, reg_id, "approve")
    assert one_line_error(customer).startswith(
        f"error: ConflictError: approve refused on {reg_id}: lifecycle: v1 is DRAFT; "
        "approve is not allowed from it"
    )

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    unreachable = run(env, "sync", "--endpoint-url", closed, "--store", store)
    assert one_line_error(unreachable).startswith("error: ApiUnavailable:")
    down = run(env, "emulator", "advance", "--endpoint-url", closed, reg_id, "approve")
    assert "cannot reach the emulator" in one_line_error(down)

    before = calls(url)
    bad_id = run(env, "discard", "--endpoint-url", url, "--store", store,
                 "--registration-id", "not an id", "--reason", "x")  # fmt: skip
    assert one_line_error(bad_id).startswith("error: InvalidRegistrationId:")
    assert calls(url) == before  # refused before any request

    usage = run(env, "discard", "--registration-id", reg_id)  # no --reason
    assert usage.returncode == 1
    assert "require_reason: a reason is required" in one_line_error(usage)


def test_sync_draws_a_progress_bar_on_a_terminal_only(
    url: str, sms: PinpointSMSVoiceV2Client, env: dict[str, str], tmp_path: Path
) -> None:
    for _ in range(3):
        new_registration(sms, submit=False)
    assert EXE is not None
    main, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [EXE, "sync", "--endpoint-url", url, "--store", str(tmp_path / "s.db")],
            env=env | {"COLUMNS": "100"},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=HANG,
            check=False,
        )
        os.close(terminal)
        drawn = read_all(main)
    finally:
        os.close(main)
    assert result.returncode == 0
    assert "syncing" in drawn
    assert "100%" in drawn
    piped = run(env, "sync", "--endpoint-url", url, "--store", str(tmp_path / "s.db"))
    assert (piped.returncode, piped.stderr) == (0, "")


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_the_emulator_is_the_account_and_region_it_is_told(env: dict[str, str]) -> None:
    """A local fleet serves one emulator per account: its ARNs name that shard."""
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "emulator", "--port", "0", "--account", "444455556666", "--region", "eu-west-1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = boto3.client(
            "pinpoint-sms-voice-v2", endpoint_url=first_line(proc), region_name="eu-west-1",
            aws_access_key_id="k", aws_secret_access_key="s",
        )  # fmt: skip
        made = client.create_registration(RegistrationType=REG_TYPE)
    finally:
        stop(proc)
    assert made["RegistrationArn"].startswith("arn:aws:sms-voice:eu-west-1:444455556666:")
    refused = subprocess.run(
        [EXE, "emulator", "--port", "0", "--account", "12345"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "an AWS account id is 12 digits" in refused.stderr
