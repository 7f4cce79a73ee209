"""The emulator's HTTP server is bounded: a deadline per whole request, a cap on
connections, no ambiguous framing; and a bind failure is one line.

Deadlines are set small through configuration (0.5 s); nothing here asserts a
speed: PATIENCE only guards against a hang.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

from registration_fsm.emulator import EmulatedRegistrationApi, EmulatorServer, serve
from registration_fsm.errors import BindError, InvalidArgument, RegistrationError

#: Seconds a socket, a child process or a wait may take; only a hang reaches it.
PATIENCE = 120.0
#: The deadline the tests configure.
DEADLINE = 0.5
EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
CREATE = b"X-Amz-Target: PinpointSMSVoiceV2.CreateRegistration\r\n"
BODY = b'{"RegistrationType": "T"}'


@pytest.fixture
def api() -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(seed=3)


def client(url: str) -> PinpointSMSVoiceV2Client:
    """A boto3 client of its own (its own connection pool), two attempts."""
    sms: PinpointSMSVoiceV2Client = boto3.session.Session().client(
        "pinpoint-sms-voice-v2", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "total_max_attempts": 2},
                      connect_timeout=PATIENCE, read_timeout=PATIENCE),
    )  # fmt: skip
    return sms


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def connect(url: str) -> socket.socket:
    return socket.create_connection(address(url), timeout=PATIENCE)


def response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """The next HTTP response on ``sock``: (status, headers, decoded JSON body)."""
    answer = HTTPResponse(sock, method="POST")
    try:
        answer.begin()
        return answer.status, dict(answer.getheaders()), json.loads(answer.read())
    finally:
        answer.close()


def drip(sock: socket.socket, every: float = 0.05) -> None:
    """Send one byte of a header at a time until the server answers or closes."""
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    start = time.monotonic()
    with sel:
        while not sel.select(timeout=every):
            if time.monotonic() - start > PATIENCE:
                pytest.fail("the server let a dripping request run on")
            try:
                sock.sendall(b"a")
            except OSError:  # closed by the server: its answer (if any) is there to read
                return


def thread_name(url: str) -> str:
    host, port = address(url)
    return f"registration-fsm emulator {host}:{port} connection"


# -- a deadline for the whole request ------------------------------------------------------


def test_headers_dripped_past_the_deadline_get_408(api: EmulatedRegistrationApi) -> None:
    with serve(api, request_deadline=DEADLINE) as url, connect(url) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + CREATE + b"X-Pad: ")
        drip(sock)  # each byte arrives well within any per-read timeout
        status, headers, body = response(sock)
        assert (status, body["__type"]) == (408, "RequestTimeoutException"), body
        assert headers["x-amzn-ErrorType"] == "RequestTimeoutException"
        assert headers["x-amzn-RequestId"]
        assert headers["Connection"] == "close"
        assert sock.recv(1) == b""
        assert client(url).describe_registrations()["Registrations"] == []
    assert dict(api.calls) == {"DescribeRegistrations": 1}


def test_a_body_dripped_past_the_deadline_gets_408_and_runs_nothing(
    api: EmulatedRegistrationApi,
) -> None:
    with serve(api, request_deadline=DEADLINE) as url, connect(url) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\n" + CREATE + b"Content-Length: 4000\r\n\r\n" + BODY[:-1])
        drip(sock)
        status, _, body = response(sock)
        assert (status, body["__type"]) == (408, "RequestTimeoutException")
    assert dict(api.calls) == {}
    assert api.describe_registrations_page()["Registrations"] == []


def test_an_idle_kept_alive_connection_is_closed_without_an_answer(
    api: EmulatedRegistrationApi,
) -> None:
    with serve(api, request_deadline=DEADLINE) as url, connect(url) as sock:
        head = b"POST / HTTP/1.1\r\n" + CREATE + b"Content-Length: %d\r\n\r\n" % len(BODY)
        sock.sendall(head + BODY)
        status, headers, body = response(sock)
        assert status == 200, body
        assert "Connection" not in headers  # kept alive...
        assert sock.recv(1) == b""  # ...until idle for the deadline: closed, no 408
    assert api.calls["CreateRegistration"] == 1


# -- a cap on connections ------------------------------------------------------------------


def test_many_slow_connections_use_at_most_the_cap_and_boto3_is_still_served(
    api: EmulatedRegistrationApi,
) -> None:
    cap, slow = 4, 20
    counts: list[tuple[int, int]] = []  # (this server's connection threads, all threads)
    baseline = threading.active_count()
    with serve(
        api, request_deadline=DEADLINE, max_connections=cap, connection_wait=PATIENCE
    ) as url:
        name = thread_name(url)
        socks = [connect(url) for _ in range(slow)]
        stop = threading.Event()

        def dripper() -> None:
            for sock in socks:
                sock.sendall(b"POST / HTTP/1.1\r\n" + CREATE + b"X-Pad: ")
            while not stop.wait(0.05):
                threads = threading.enumerate()
                counts.append((sum(t.name == name for t in threads), len(threads)))
                for sock in socks:
                    with contextlib.suppress(OSError):
                        sock.send(b"a", socket.MSG_DONTWAIT)

        thread = threading.Thread(target=dripper, daemon=True)
        thread.start()
        try:
            while not counts:  # the slow connections are all in, ahead of boto3's
                time.sleep(0.01)
            result = client(url).describe_registrations()
        finally:
            stop.set()
            thread.join(PATIENCE)
            for sock in socks:
                sock.close()
    assert result["Registrations"] == []
    assert result["ResponseMetadata"]["RetryAttempts"] == 0  # it waited for a slot
    assert counts
    assert max(mine for mine, _ in counts) <= cap, counts
    assert max(total for _, total in counts) <= baseline + cap + 2, (baseline, counts)


def test_a_connection_over_the_cap_is_refused_with_503(api: EmulatedRegistrationApi) -> None:
    with serve(api, max_connections=1, connection_wait=0, request_deadline=PATIENCE) as url:
        with connect(url) as holder:
            holder.sendall(b"POST / HTTP/1.1\r\n")  # holds the only slot
            with connect(url) as refused:
                status, headers, body = response(refused)
                assert refused.recv(1) == b""
        assert (status, body["__type"]) == (503, "ServiceUnavailable")
        assert body["message"]
        assert headers["x-amzn-ErrorType"] == "ServiceUnavailable"
        assert headers["x-amzn-RequestId"]
        assert headers["Content-Type"] == "application/x-amz-json-1.0"
        # The slot is free again once the holder has gone.
        assert client(url).describe_registrations()["Registrations"] == []


def test_a_connection_that_waited_too_long_is_refused(api: EmulatedRegistrationApi) -> None:
    with (
        serve(api, max_connections=1, connection_wait=DEADLINE, request_deadline=PATIENCE) as url,
        connect(url) as holder,
    ):
        holder.sendall(b"POST / HTTP/1.1\r\n")
        with connect(url) as waiting:
            status, _, body = response(waiting)
        assert (status, body["__type"]) == (503, "ServiceUnavailable")
    assert dict(api.calls) == {}


def test_idle_kept_alive_connections_make_room(api: EmulatedRegistrationApi) -> None:
    # Idle connections would hold the one slot for PATIENCE; a waiting one gives up
    # (503) long before that unless an idle connection is closed to make room.
    with serve(
        api, max_connections=1, request_deadline=PATIENCE, connection_wait=PATIENCE / 6
    ) as url:
        first, second = client(url), client(url)
        for sms in (first, second, first, second):
            assert sms.describe_registrations()["Registrations"] == []
    assert api.calls["DescribeRegistrations"] == 4


# -- framing: one Content-Length, no Transfer-Encoding --------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        [b"Content-Length: %d" % len(BODY), b"Content-Length: 2"],
        [b"Content-Length: %d" % len(BODY)] * 2,
        [b"Content-Length: %d, %d" % (len(BODY), len(BODY))],
        [b"Content-Length: abc"],
        [b"Content-Length: -1"],
        [b"Content-Length: +%d" % len(BODY)],
        [b"Transfer-Encoding: chunked", b"Content-Length: %d" % len(BODY)],
        [b"Transfer-Encoding: identity", b"Content-Length: %d" % len(BODY)],
    ],
    ids=["two lengths", "twice the same", "a list", "not a number", "negative", "signed",
         "chunked and length", "identity and length"],
)  # fmt: skip
def test_ambiguous_framing_is_refused_and_runs_nothing(
    api: EmulatedRegistrationApi, headers: list[bytes]
) -> None:
    with serve(api) as url:
        with connect(url) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\n" + CREATE + b"".join(h + b"\r\n" for h in headers))
            sock.sendall(b"\r\n" + BODY)
            status, answer_headers, body = response(sock)
            assert (status, body["__type"]) == (400, "SerializationException"), body
            assert answer_headers["Connection"] == "close"
        assert client(url).describe_registrations()["Registrations"] == []
    assert dict(api.calls) == {"DescribeRegistrations": 1}


# -- settings and bind errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [{"request_deadline": 0}, {"request_deadline": float("nan")}, {"request_deadline": "30"},
     {"max_connections": 0}, {"max_connections": True}, {"max_connections": 2.0},
     {"connection_wait": -1}, {"connection_wait": float("inf")}],
)  # fmt: skip
def test_bad_bounds_are_refused_before_anything_is_opened(
    bounds: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgument):
        EmulatorServer(events_file=tmp_path / "events.jsonl", **bounds)
    assert not (tmp_path / "events.jsonl").exists()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_busy_port_is_a_bind_error(busy_port: int) -> None:
    with pytest.raises(BindError) as caught:
        EmulatorServer(port=busy_port)
    err = caught.value
    assert isinstance(err, OSError)
    assert isinstance(err, RegistrationError)
    assert err.errno == errno.EADDRINUSE
    assert err.address == f"127.0.0.1:{busy_port}"
    assert str(err) == f"cannot listen on 127.0.0.1:{busy_port}: Address already in use"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    return subprocess.run(
        [EXE, "emulator", *args], check=False, capture_output=True, text=True, timeout=PATIENCE,
        env=os.environ.copy(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "Address already in use"), ("192.0.2.1", "Cannot assign requested address"),
     ("no-such-host.invalid", "")],
    ids=["busy port", "not this machine's address", "unknown host"],
)  # fmt: skip
def test_the_cli_says_why_it_cannot_listen_in_one_line(
    host: str, reason: str, busy_port: int
) -> None:
    done = run_cli("--host", host, "--port", str(busy_port))
    assert done.returncode == 1, done
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.endswith("\n")
    line = done.stderr.strip()
    assert line.startswith(f"error: BindError: cannot listen on {host}:{busy_port}: "), line
    assert reason in line
    assert line.removeprefix(f"error: BindError: cannot listen on {host}:{busy_port}: ")


def test_the_cli_refuses_an_empty_host_as_a_usage_error() -> None:
    done = run_cli("--host", " ", "--port", "0")
    assert done.returncode == 2, done
    assert "--host" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_serves_with_the_bounds_it_is_given() -> None:
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "emulator", "--port", "0", "--request-deadline", "3",
         "--max-connections", "2", "--connection-wait", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(timeout=PATIENCE), "the emulator printed nothing"
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        with connect(url) as one, connect(url) as two:
            one.sendall(b"POST / HTTP/1.1\r\n")
            two.sendall(b"POST / HTTP/1.1\r\n")
            # Both slots are taken (the 503 below shows it), then each times out.
            with connect(url) as third:
                assert response(third)[0] == 503
            drip(one)
            assert response(one)[0] == 408
    finally:
        proc.terminate()
        try:
            proc.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
