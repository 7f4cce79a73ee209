"""What a new user of the command line relies on, against a real emulator over HTTP.

The emulator is the library's ``serve()`` in this process, so a test can look at
what it was asked (``api.calls``) and play AWS's part (``api.advance``); the
commands run as the installed ``registration-fsm`` script with ``--endpoint-url``,
dummy credentials and a store in a temporary directory.

- ``create``, ``submit``, ``create-version``, ``discard`` and ``delete`` record
  ``--actor``, ``--reason`` and ``--meta KEY=VALUE`` in the event they print and
  in the one they store; a malformed ``--meta`` is a usage error; ``discard`` and
  ``delete`` without a reason are refused before any request;
- ``wait`` fails at once when the status wanted can no longer come, or the id
  does not exist;
- every command that calls AWS takes ``--connect-timeout`` and ``--read-timeout``,
  and an endpoint that never answers is a one-line error, not a hang;
- ``emulator advance`` drives a served emulator; text ``show`` prints denied
  reasons and feedback; ``sync --id`` names an id the API does not know.

Nothing here is timed: subprocess timeouts are generous guards against a hang,
and the one wait for a change waits for the change.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import REG_TYPE

from registration_fsm import EmulatedRegistrationApi, serve
from registration_fsm.cli import cli

EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
#: Seconds a command may take before the test calls it hung (never reached when it works).
HANG = 120.0
#: The commands that call the API, with the arguments each needs besides the API options.
API_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "sync": lambda rid: ["--id", rid],
    "wait": lambda rid: ["--registration-id", rid, "--status", "APPROVED"],
    "create": lambda _rid: [REG_TYPE],
    "submit": lambda rid: ["--registration-id", rid],
    "create-version": lambda rid: ["--registration-id", rid],
    "discard": lambda rid: ["--registration-id", rid, "--reason", "typo"],
    "delete": lambda rid: ["--registration-id", rid, "--reason", "duplicate"],
}
UNKNOWN_ID = "registration-0123456789abcdef0123456789abcdef"
DENIAL = "BRAND_MISMATCH:The name does not match the EIN"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials and nothing from the caller's AWS setup."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRATION_FSM"))}
    out |= {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return out


@pytest.fixture
def api() -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(seed=21)


@pytest.fixture
def url(api: EmulatedRegistrationApi) -> Iterator[str]:
    with serve(api) as served:
        yield served


class Cli:
    """The ``registration-fsm`` script against one emulator and one store."""

    def __init__(self, env: dict[str, str], url: str, store: Path) -> None:
        self.env, self.url, self.store = env, url, str(store)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``registration-fsm ARGS`` as typed (no options added)."""
        assert EXE is not None, "registration-fsm is not installed next to this Python"
        return subprocess.run(
            [EXE, *args], env=self.env, capture_output=True, text=True, timeout=HANG, check=False
        )

    def api(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """A command that calls the API, with this emulator and store."""
        return self.run(command, "--endpoint-url", self.url, "--store", self.store, *args)

    def ok(self, command: str, *args: str) -> str:
        """The output of an API command that must succeed."""
        done = self.api(command, *args)
        assert done.returncode == 0, f"{command} {args}: {done.stderr}"
        assert done.stderr == ""
        return done.stdout

    def stored_events(self, registration_id: str) -> list[dict[str, Any]]:
        """The events the store holds for a registration, as ``show --events --json`` prints."""
        done = self.run("show", "--store", self.store, "--events", "--json", registration_id)
        assert done.returncode == 0, done.stderr
        (item,) = json.loads(done.stdout)
        events: list[dict[str, Any]] = item["Events"]
        return events


@pytest.fixture
def run(env: dict[str, str], url: str, tmp_path: Path) -> Cli:
    return Cli(env, url, tmp_path / "local.db")


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed: exactly one line on stderr, exit status 1."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def usage_error(result: subprocess.CompletedProcess[str]) -> str:
    """A usage error: exit status 2, click's ``Usage:``/``Try`` lines, then one error line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: registration-fsm "), result.stderr
    assert [line for line in lines if line.startswith("Error:")] == lines[-1:], result.stderr
    return lines[-1]


def new_registration(api: EmulatedRegistrationApi, *steps: str) -> str:
    """A registration moved by ``steps``: ``submit``, ``discard`` or an AWS-side trigger."""
    rid: str = api.create_registration(REG_TYPE)["RegistrationId"]
    for step in steps:
        if step == "submit":
            api.submit_registration_version(rid)
        elif step == "discard":
            api.discard_registration_version(rid)
        elif step == "deny":
            api.advance(rid, "deny", denied_reasons=[{"Reason": "R", "ShortDescription": "S"}])
        else:
            api.advance(rid, step)
    return rid


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` (checked every few milliseconds); fail after :data:`HANG`."""
    deadline = time.monotonic() + HANG
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {HANG:.0f} s")
        time.sleep(0.01)


# -- who, why and metadata -----------------------------------------------------------------


def test_every_command_records_actor_reason_and_metadata(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    """Each command's printed event (--json) is the one stored, with its own who and why."""

    def who(n: int) -> list[str]:
        return ["--actor", f"actor-{n}", "--reason", f"reason {n}",
                "--meta", f"ticket=CMP-{n}", "--meta", f"approved by=second {n}"]  # fmt: skip

    created = json.loads(run.ok("create", *who(1), "--json", REG_TYPE))
    (item,) = created
    rid = item["Registration"]["RegistrationId"]
    assert item["Registration"]["RegistrationStatus"] == "CREATED"
    printed = [*item["Events"]]
    target = ["--registration-id", rid, "--json"]
    printed.append(json.loads(run.ok("submit", *who(2), *target)))
    printed.append(json.loads(run.ok("discard", *who(3), *target)))
    printed.append(json.loads(run.ok("create-version", *who(4), *target)))
    printed.append(json.loads(run.ok("delete", *who(5), *target)))

    told = [(e["trigger"], e["version_number"], e["source"], e["dest"]) for e in printed]
    assert told == [
        ("create", 1, None, "DRAFT"),
        ("submit", 1, "DRAFT", "SUBMITTED"),
        ("discard", 1, "SUBMITTED", "DISCARDED"),
        ("create", 2, None, "DRAFT"),
        ("delete", None, "REQUIRES_UPDATES", "DELETED"),
    ]
    for n, event in enumerate(printed, start=1):
        assert (event["actor"], event["reason"], event["origin"]) == (
            f"actor-{n}",
            f"reason {n}",
            "local",
        )
        assert event["metadata"] == {"ticket": f"CMP-{n}", "approved by": f"second {n}"}
    assert run.stored_events(rid) == printed
    assert api.calls["DeleteRegistration"] == 1


def test_the_text_timeline_shows_who_why_and_metadata(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    out = run.ok("create", "--actor", "alice", "--meta", "ticket=CMP-9", REG_TYPE)
    first, *rest = out.splitlines()
    rid = first.split()[0]
    assert first == f"{rid}  {REG_TYPE}  CREATED"  # the id a user needs next
    assert " ".join(rest[-1].split()[2:]) == "v1 (new) -> DRAFT create alice [ticket=CMP-9]"
    line = run.ok(
        "submit", "--registration-id", rid, "--actor", "bob", "--reason", "ready now",
        "--meta", "ticket=CMP-9", "--meta", "reviewer=carol",
    )  # fmt: skip
    assert line.rstrip().endswith('bob  "ready now"  [reviewer=carol, ticket=CMP-9]'), line
    assert "DRAFT -> SUBMITTED" in line


@pytest.mark.parametrize(
    "metas",
    [("no-equals-sign",), ("=value",), ("  =value",), ("tab\tkey=value",), ("k=1", "k=2")],
    ids=["no =", "no key", "blank key", "unprintable key", "a key twice"],
)
@pytest.mark.parametrize("command", ["create", "submit", "create-version", "discard", "delete"])
def test_a_malformed_meta_is_a_usage_error_and_sends_nothing(
    run: Cli, api: EmulatedRegistrationApi, command: str, metas: tuple[str, ...]
) -> None:
    rid = new_registration(api, "submit")
    before = dict(api.calls)
    options = [word for meta in metas for word in ("--meta", meta)]
    line = usage_error(run.api(command, *API_COMMANDS[command](rid), *options))
    assert line.startswith("Error: Invalid value for --meta: "), line
    assert dict(api.calls) == before


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["none", "empty", "blank"])
@pytest.mark.parametrize("command", ["discard", "delete"])
def test_discard_and_delete_without_a_reason_are_refused_before_any_request(
    run: Cli, api: EmulatedRegistrationApi, command: str, reason: str | None
) -> None:
    rid = new_registration(api, "submit")
    given = [] if reason is None else ["--reason", reason]
    for _ in ("not in the store yet", "in the store"):
        before = dict(api.calls)
        refused = run.api(command, "--registration-id", rid, "--actor", "alice", *given)
        assert one_line_error(refused) == (
            f"error: CommandRefused: {command} refused on {rid}: "
            "require_reason: a reason is required (--reason)"
        )
        assert refused.stdout == ""
        assert dict(api.calls) == before, "a request was made"
        run.ok("sync", "--id", rid)
    assert api.describe_registrations_page(registration_ids=[rid])["Registrations"]
    assert [e["trigger"] for e in run.stored_events(rid)] == ["create", "submit"]


# -- wait ------------------------------------------------------------------------------------


def test_wait_fails_at_once_when_the_status_can_no_longer_come(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = new_registration(api, "submit", "discard")
    before = api.calls.get("DescribeRegistrations", 0)
    # The default --timeout is 600 s and --poll 5 s: only an at-once failure ends early.
    line = one_line_error(run.api("wait", "--registration-id", rid, "--status", "APPROVED"))
    assert line == (
        f"error: StatusUnreachable: registration {rid} can no longer reach APPROVED: "
        "it is REQUIRES_UPDATES (v1 DISCARDED)"
    )
    assert api.calls["DescribeRegistrations"] == before + 1  # one look was enough


def test_wait_fails_at_once_for_an_id_the_api_does_not_know(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    run.api("sync", "--id", UNKNOWN_ID)
    one_look = dict(api.calls)  # what one pull of that id costs
    line = one_line_error(run.api("wait", "--registration-id", UNKNOWN_ID, "--status", "APPROVED"))
    assert line == f"error: NotFoundError: registration {UNKNOWN_ID} does not exist"
    assert dict(api.calls) == {op: 2 * n for op, n in one_look.items()}  # it looked once
    malformed = run.api("wait", "--registration-id", "bogus!", "--status", "APPROVED")
    assert one_line_error(malformed).startswith("error: InvalidRegistrationId: RegistrationId")
    assert dict(api.calls) == {op: 2 * n for op, n in one_look.items()}  # no request


def test_wait_returns_once_aws_moves_the_registration(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = new_registration(api, "submit", "begin_review")
    assert EXE is not None
    waiting = subprocess.Popen(
        [EXE, "wait", "--endpoint-url", run.url, "--store", run.store, "--registration-id", rid,
         "--status", "APPROVED", "--poll", "0.05", "--json"],
        env=run.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        until(lambda: api.calls.get("DescribeRegistrations", 0) >= 1, "the first poll")
        api.advance(rid, "approve")
        out, err = waiting.communicate(timeout=HANG)
    finally:
        waiting.kill()
        waiting.communicate()
    assert (waiting.returncode, err) == (0, "")
    shown = json.loads(out)
    # Only the version: the two describe requests of a poll are not one snapshot, so
    # a poll that straddles the approval may still carry the registration's old status.
    assert shown["RegistrationVersions"][0]["RegistrationVersionStatus"] == "APPROVED"


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(API_COMMANDS))
def test_every_command_that_calls_aws_takes_the_timeouts(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--connect-timeout" in result.output
    assert "--read-timeout" in result.output


@pytest.fixture
def hung() -> Iterator[str]:
    """An endpoint that takes connections and never answers.

    The kernel completes connections into the listen backlog; nothing ever
    accepts them, so each request waits for an answer that never comes.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_an_endpoint_that_never_answers_is_a_one_line_error_for_every_command(
    env: dict[str, str], hung: str, tmp_path: Path
) -> None:
    assert EXE is not None
    procs = {}
    for command, args in API_COMMANDS.items():  # all at once: each makes three attempts
        store = str(tmp_path / f"{command}.db")
        procs[command] = subprocess.Popen(
            [EXE, command, "--endpoint-url", hung, "--store", store, "--read-timeout", "1",
             *args(UNKNOWN_ID)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    try:
        for command, proc in procs.items():
            out, err = proc.communicate(timeout=HANG)
            result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            line = one_line_error(result)
            assert line.startswith("error: ApiUnavailable: Read timeout on endpoint URL"), (
                command,
                line,
            )
    finally:
        for proc in procs.values():
            proc.kill()
            proc.communicate()


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
def test_connect_timeout_bounds_a_connection_that_never_opens(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []  # fill the accept queue: later connections are never completed
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            done = Cli(env, f"http://127.0.0.1:{port}", tmp_path / "s.db").api(
                "sync", "--connect-timeout", "1", "--read-timeout", "3600"
            )
        finally:
            for filler in fillers:
                filler.close()
    assert one_line_error(done).startswith("error: ApiUnavailable: Connect timeout on endpoint URL")


# -- emulator advance, show, sync --id ---------------------------------------------------------


def test_emulator_advance_drives_a_served_emulator_and_show_prints_the_denial(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = new_registration(api, "submit")
    advance = ["emulator", "advance", "--endpoint-url", run.url, rid]
    begun = run.run(*advance, "begin_review")
    assert begun.returncode == 0, begun.stderr
    (event,) = json.loads(begun.stdout)["Events"]
    assert (event["trigger"], event["source"], event["dest"]) == (
        "begin_review",
        "SUBMITTED",
        "REVIEWING",
    )
    denied = run.run(*advance, "deny", "--denied-reason", DENIAL, "--feedback", "Fix the name")
    assert denied.returncode == 0, denied.stderr
    (event,) = json.loads(denied.stdout)["Events"]
    assert event["details"] == {
        "denied_reasons": [
            {"Reason": "BRAND_MISMATCH", "ShortDescription": "The name does not match the EIN"}
        ],
        "feedback": "Fix the name",
    }
    (version,) = api.describe_registration_versions(rid)
    assert (version["RegistrationVersionStatus"], version["Feedback"]) == ("DENIED", "Fix the name")

    before = api.describe_registration_versions_page(rid)
    refused = run.run(*advance, "approve")
    assert one_line_error(refused).startswith(
        f"error: ConflictError: approve refused on {rid}: lifecycle: v1 is DENIED"
    )
    assert refused.stdout == ""
    assert api.describe_registration_versions_page(rid) == before
    unknown = run.run("emulator", "advance", "--endpoint-url", run.url, UNKNOWN_ID, "approve")
    assert (
        one_line_error(unknown) == f"error: NotFoundError: registration {UNKNOWN_ID} does not exist"
    )

    assert "REVIEWING -> DENIED" in run.ok("sync")
    shown = run.run("show", "--store", run.store, rid)
    assert shown.returncode == 0, shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    assert "denied: BRAND_MISMATCH: The name does not match the EIN" in lines
    assert "feedback: Fix the name" in lines


def test_sync_names_an_id_the_api_does_not_know_and_saves_the_others(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = new_registration(api, "submit")
    done = run.api("sync", "--id", rid, "--id", UNKNOWN_ID)
    assert one_line_error(done) == f"Error: no such registration on the API: {UNKNOWN_ID}"
    assert f"not found {UNKNOWN_ID}" in done.stdout
    assert "1 changed, 0 unchanged, 0 deleted, 1 not found, 0 failed" in done.stdout
    assert [e["trigger"] for e in run.stored_events(rid)] == ["create", "submit"]
    as_json = run.api("sync", "--id", UNKNOWN_ID, "--json")
    assert one_line_error(as_json) == f"Error: no such registration on the API: {UNKNOWN_ID}"
    assert json.loads(as_json.stdout)["not_found"] == [UNKNOWN_ID]


def test_sync_refuses_a_malformed_id_before_any_request(
    run: Cli, api: EmulatedRegistrationApi
) -> None:
    line = one_line_error(run.api("sync", "--id", "bogus!"))
    assert line == (
        "error: InvalidRegistrationId: RegistrationId 'bogus!' must be 1-256 characters of "
        "[A-Za-z0-9_:/-]"
    )
    assert dict(api.calls) == {}
