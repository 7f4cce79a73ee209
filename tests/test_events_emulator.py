"""The emulator emits an EventBridge "Registration Status Change" event per status change.

In process (a callback sink), over HTTP (a JSON Lines file, an HTTP POST) and from
``registration-fsm emulator --events-file``. The envelope is EventBridge's; the
detail's fields are the emulator's inference (``registration_fsm.emulator.events``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    EmulatedRegistrationApi,
    EmulatorClient,
    EmulatorServer,
    MemoryStore,
    Synchronizer,
    serve,
)
from registration_fsm.emulator.events import HttpPostSink, JsonLinesSink
from registration_fsm.errors import (
    ConflictError,
    InvalidArgument,
    InvalidArgumentType,
    ThrottledError,
)
from registration_fsm.sync.events import parse_event

HANG = 120.0
ENVELOPE_KEYS = {
    "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail",
}  # fmt: skip


def lifecycle(api: EmulatedRegistrationApi) -> str:
    """Create, submit, review, approve, make and approve v2 (archiving v1), then delete."""
    reg_id: str = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    api.advance(reg_id, "approve")
    api.create_registration_version(reg_id)
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    api.advance(reg_id, "approve")
    api.delete_registration(reg_id)
    return reg_id


def changes(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(version, previous, current, registration status) of each event."""
    return [
        (
            e["detail"]["versionNumber"],
            e["detail"]["previousVersionStatus"],
            e["detail"]["versionStatus"],
            e["detail"]["registrationStatus"],
        )
        for e in events
    ]


def test_every_status_change_emits_one_event_in_order() -> None:
    got: list[dict[str, Any]] = []
    api = EmulatedRegistrationApi(seed=1, event_sinks=[got.append])
    lifecycle(api)
    assert changes(got) == [
        (1, None, "DRAFT", "CREATED"),
        (1, "DRAFT", "SUBMITTED", "SUBMITTED"),
        (1, "SUBMITTED", "REVIEWING", "REVIEWING"),
        (1, "REVIEWING", "APPROVED", "COMPLETE"),
        (2, None, "DRAFT", "COMPLETE"),
        (2, "DRAFT", "SUBMITTED", "SUBMITTED"),
        (2, "SUBMITTED", "REVIEWING", "REVIEWING"),
        (2, "REVIEWING", "APPROVED", "COMPLETE"),
        (1, "APPROVED", "ARCHIVED", "COMPLETE"),  # the approval's second change, after it
        (None, None, None, "DELETED"),
    ]
    assert [e["detail"]["previousRegistrationStatus"] for e in got] == [
        None, "CREATED", "SUBMITTED", "REVIEWING", "COMPLETE", "COMPLETE", "SUBMITTED",
        "REVIEWING", "COMPLETE", "COMPLETE",
    ]  # fmt: skip
    assert len({e["id"] for e in got}) == len(got)


def test_the_envelope_is_eventbridges() -> None:
    got: list[dict[str, Any]] = []
    clock = TickingClock()
    api = EmulatedRegistrationApi(
        seed=2, account="111122223333", region="eu-west-1", clock=clock, event_sinks=[got.append]
    )
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    event = got[-1]
    assert set(event) == ENVELOPE_KEYS
    assert event["version"] == "0"
    assert event["detail-type"] == "Registration Status Change"
    assert event["source"] == "aws.sms-voice"
    assert (event["account"], event["region"]) == ("111122223333", "eu-west-1")
    assert event["resources"] == [f"arn:aws:sms-voice:eu-west-1:111122223333:registration/{reg_id}"]
    assert event["time"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")  # the change's own time
    assert event["detail"]["eventTimestamp"] == int(clock.now.timestamp() * 1000)
    assert event["detail"]["registrationId"] == reg_id
    assert event["detail"]["registrationType"] == REG_TYPE
    assert json.loads(json.dumps(event)) == event  # JSON-ready as it is
    assert parse_event(json.dumps(event)) == (event, reg_id)  # the follower takes it


def test_the_same_seed_gives_the_same_event_ids() -> None:
    runs = []
    for _ in range(2):
        got: list[dict[str, Any]] = []
        lifecycle(EmulatedRegistrationApi(seed=7, clock=TickingClock(), event_sinks=[got.append]))
        runs.append([e["id"] for e in got])
    assert runs[0] == runs[1]


def test_a_refused_throttled_or_replayed_request_emits_nothing() -> None:
    got: list[dict[str, Any]] = []
    api = EmulatedRegistrationApi(seed=3, event_sinks=[got.append], quotas=None)
    request = {"RegistrationType": REG_TYPE, "ClientToken": "t"}
    reg_id = api.handle("CreateRegistration", request)["RegistrationId"]
    assert len(got) == 1
    assert api.handle("CreateRegistration", request)["RegistrationId"] == reg_id  # a replay
    with pytest.raises(ConflictError):
        api.discard_registration_version(reg_id)  # a DRAFT may not be discarded
    throttled = EmulatedRegistrationApi(
        seed=3, event_sinks=[got.append], quotas={"CreateRegistration": 1}
    )
    throttled.handle("CreateRegistration", {"RegistrationType": REG_TYPE})
    with pytest.raises(ThrottledError):
        throttled.handle("CreateRegistration", {"RegistrationType": REG_TYPE})  # over the quota
    assert len(got) == 2


def test_a_failing_sink_is_logged_and_the_request_still_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[dict[str, Any]] = []

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("the bus is down")

    api = EmulatedRegistrationApi(seed=4, event_sinks=[broken, got.append])
    with caplog.at_level(logging.WARNING, logger="registration_fsm.emulator.events"):
        reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
        answer = api.submit_registration_version(reg_id)
    assert answer["RegistrationVersionStatus"] == "SUBMITTED"
    assert len(got) == 2  # the sink after the broken one still got every event
    failures = [
        r.getMessage() for r in caplog.records if r.name == "registration_fsm.emulator.events"
    ]
    assert len(failures) == 2
    assert all("the bus is down" in line and reg_id in line for line in failures)


def test_sinks_are_added_and_removed() -> None:
    api = EmulatedRegistrationApi(seed=5)
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]  # no sink: nothing kept
    got: list[dict[str, Any]] = []
    remove = api.add_event_sink(got.append)
    api.submit_registration_version(reg_id)
    remove()
    api.advance(reg_id, "begin_review")
    assert changes(got) == [(1, "DRAFT", "SUBMITTED", "SUBMITTED")]
    assert got[0]["detail"]["previousRegistrationStatus"] == "CREATED"  # known all along
    with pytest.raises(InvalidArgumentType):
        api.add_event_sink("events.jsonl")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType):
        EmulatedRegistrationApi(event_sinks=got.append)  # type: ignore[arg-type]


def test_a_deleted_registration_kept_visible_emits_its_deletion() -> None:
    got: list[dict[str, Any]] = []
    api = EmulatedRegistrationApi(seed=6, keep_deleted=True, event_sinks=[got.append])
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.delete_registration(reg_id)
    assert got[-1]["detail"] | {"eventTimestamp": 0} == {
        "eventVersion": "1.0",
        "eventTimestamp": 0,
        "registrationId": reg_id,
        "registrationType": REG_TYPE,
        "registrationStatus": "DELETED",
        "previousRegistrationStatus": "CREATED",
        "versionNumber": None,
        "versionStatus": None,
        "previousVersionStatus": None,
    }


def test_the_events_alone_keep_a_store_current() -> None:
    """Each event re-syncs the registration it names: the store ends as a full sync's."""
    got: list[dict[str, Any]] = []
    api = EmulatedRegistrationApi(seed=8, quotas=None, event_sinks=[got.append])
    by_events = Synchronizer(api, MemoryStore())

    def follow() -> None:
        while got:
            by_events.handle_event(got.pop(0))

    ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)]
    follow()
    for reg_id in ids[:2]:
        api.submit_registration_version(reg_id)
        api.advance(reg_id, "begin_review")
    follow()
    api.advance(ids[0], "deny", feedback="no")
    api.create_registration_version(ids[0])
    api.delete_registration(ids[2])
    follow()
    by_polling = Synchronizer(api, MemoryStore())
    by_polling.sync()
    assert {r.id: r for r in by_events.registrations() if r.id != ids[2]} == {
        r.id: r for r in by_polling.registrations()
    }
    assert by_events.get(ids[2]).status == "DELETED"


# -- the sinks over HTTP ------------------------------------------------------------


@pytest.fixture
def collector() -> Iterator[tuple[str, list[Any]]]:
    """An HTTP server on a free port that keeps every POSTed body (with its content type)."""
    bodies: list[Any] = []

    class Collect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            bodies.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", bodies
    server.shutdown()
    server.server_close()
    thread.join()


def sms_client(url: str) -> Any:
    return boto3.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def test_the_http_emulator_writes_json_lines_and_posts_each_event(
    tmp_path: Path, collector: tuple[str, list[Any]]
) -> None:
    url_to_post, posted = collector
    path = tmp_path / "events.jsonl"
    api = EmulatedRegistrationApi(seed=9)
    with serve(api, events_file=path, events_url=url_to_post) as url:
        sms = sms_client(url)
        reg_id = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
        sms.submit_registration_version(RegistrationId=reg_id)
        EmulatorClient(url).advance(reg_id, "begin_review")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert changes(lines) == [
        (1, None, "DRAFT", "CREATED"),
        (1, "DRAFT", "SUBMITTED", "SUBMITTED"),
        (1, "SUBMITTED", "REVIEWING", "REVIEWING"),
    ]
    assert posted == [("application/json", event) for event in lines]
    api.create_registration(REG_TYPE)  # served no more: the server's sinks are gone
    assert len(path.read_text().splitlines()) == 3


def test_an_unreachable_events_url_does_not_break_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        api = EmulatedRegistrationApi(seed=10)
        with serve(api, events_url=f"http://127.0.0.1:{closed_port()}/") as url:
            answer = sms_client(url).create_registration(RegistrationType=REG_TYPE)
    assert answer["RegistrationStatus"] == "CREATED"
    (failure,) = [r.getMessage() for r in caplog.records if r.name.endswith("emulator.events")]
    assert failure.startswith("event sink HttpPostSink('http://127.0.0.1:")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_port_in_use_is_the_error_even_with_an_events_file(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            EmulatorServer(port=port, events_file=tmp_path / "events.jsonl")


def test_bad_sink_settings_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="http"):
        HttpPostSink("ftp://example.com/x")
    with pytest.raises(InvalidArgument, match="timeout"):
        HttpPostSink("http://127.0.0.1:1/", timeout=0)
    with pytest.raises(InvalidArgument, match="cannot write events"):
        JsonLinesSink(tmp_path)  # a directory


# -- registration-fsm emulator --events-file --------------------------------------------


def test_the_emulator_command_writes_its_events_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "registration_fsm.cli", "emulator", "--port", "0", "--seed", "1",
         "--events-file", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        sms = sms_client(url)
        reg_id = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
        sms.delete_registration(RegistrationId=reg_id)
    finally:
        proc.terminate()
        proc.communicate(timeout=HANG)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert changes(events) == [(1, None, "DRAFT", "CREATED"), (None, None, None, "DELETED")]


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--events-url", "file:///tmp/x", "http"),
        ("--events-file", "no/such/dir/events.jsonl", "which is not a directory"),
    ],
)
def test_the_emulator_command_refuses_a_bad_sink(
    flag: str, value: str, said: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registration_fsm.cli", "emulator", "--port", "0", flag, value],
        capture_output=True, text=True, timeout=HANG, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr
