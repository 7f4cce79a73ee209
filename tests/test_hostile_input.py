"""Hostile input: ``from_api``, the emulator's HTTP front and the CLI, fuzzed with hypothesis.

- ``RegistrationVersion.from_api`` / ``Registration.from_api``: valid API dicts with
  members replaced by anything JSON (or a datetime) can hold, removed, or added;
  only the library's typed errors come out, and what parses is usable.
- The HTTP front (``registration_fsm.emulator.serve``), over raw HTTP on 127.0.0.1:
  any target, any body (JSON objects close to valid requests, other JSON, bytes,
  malformed or nested JSON), raw bytes on the socket, huge bodies, idle
  connections, tampered NextTokens. Every request gets a success or an AWS-shaped
  error (JSON with ``__type``, 4xx; never a 500, which would mean the emulator
  itself failed), a refused request changes nothing, and the server stays up.
- The CLI (``registration_fsm.cli.main``, in process, and a few real processes):
  hostile arguments, files and ids; it exits 0, 1 or 2 with a one-line error,
  never a traceback.

The fuzzers are marked ``slow`` (CI runs them; ``-m "not slow"`` skips them).

The bugs these tests found are fixed; the "regressions" section keeps a test for
each (out-of-range timestamps, unreadable highlight files, unwritable outputs, a
malformed endpoint URL, a NaN timeout, line breaks echoed in errors).
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import socket
import sqlite3
import string
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import TickingClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registration_fsm import (
    LIFECYCLE,
    EmulatedRegistrationApi,
    Registration,
    RegistrationError,
    RegistrationVersion,
    SQLiteStore,
    Synchronizer,
    serve,
)
from registration_fsm.audit import export_jsonl
from registration_fsm.cli import main
from registration_fsm.domain.history import STATUS_OF_STAMP
from registration_fsm.emulator import MAX_BODY_BYTES, OPERATIONS
from registration_fsm.testing import strategies as rs

REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
TIMEOUT = 120.0  # seconds a request may take; only a hung server reaches it
#: Each fuzzer draws the same examples every run (not flaky); RFSM_FUZZ_RANDOM=1 draws new
#: ones, and RFSM_FUZZ_SCALE multiplies the example counts (for a longer hunt).
RANDOM = os.environ.get("RFSM_FUZZ_RANDOM") == "1"
SCALE = float(os.environ.get("RFSM_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not RANDOM,
        database=None,
    )


# -- values ------------------------------------------------------------------------

#: Wide integers and datetimes; the range edges have their own regression test.
small_ints = st.integers(-(2**63), 2**63)
zones: st.SearchStrategy[Any] = (
    st.none() | st.sampled_from([UTC, timezone(timedelta(hours=14))]) | st.timezones()
)
datetimes = st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=zones)
scalars = (
    st.none()
    | st.booleans()
    | small_ints
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["DRAFT", "APPROVED", "registration-x", "", " DRAFT", "Ⅸ", "a" * 300])
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)


json_values = st.recursive(scalars, containers, max_leaves=12)
api_values = st.recursive(scalars | datetimes, containers, max_leaves=12)

VERSION_KEYS = [
    "RegistrationId",
    "RegistrationArn",
    "VersionNumber",
    "RegistrationVersionStatus",
    "RegistrationVersionStatusHistory",
    "DeniedReasons",
    "Feedback",
    "AwsReview",
]
INFO_KEYS = [
    "RegistrationId",
    "RegistrationArn",
    "RegistrationType",
    "RegistrationStatus",
    "CurrentVersionNumber",
    "ApprovedVersionNumber",
    "LatestDeniedVersionNumber",
    "AdditionalAttributes",
    "CreatedTimestamp",
]
STAMPS = list(STATUS_OF_STAMP)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``base`` with 1-4 members (or history stamps, or denied reasons) changed."""
    data = dict(base)
    for _ in range(draw(st.integers(1, 4))):
        target = data
        where = draw(st.sampled_from(["top", "top", "history", "denied"]))
        if where == "history" and isinstance(data.get("RegistrationVersionStatusHistory"), dict):
            target = data["RegistrationVersionStatusHistory"] = dict(
                data["RegistrationVersionStatusHistory"]
            )
            key = draw(st.sampled_from(STAMPS) | st.text(max_size=8))
        elif where == "denied":
            reason = draw(st.dictionaries(st.sampled_from(["Reason", "ShortDescription",
                                                           "LongDescription", "X"]),
                                          api_values, max_size=3))  # fmt: skip
            data["DeniedReasons"] = draw(st.sampled_from([[reason], reason, [reason, 1]]))
            continue
        else:
            key = draw(st.sampled_from(keys + list(target)) | st.text(max_size=8))
        if key in target and draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(api_values)
    return data


def usable(value: RegistrationVersion | Registration) -> None:
    """What parsed can be used: read back, checked, described."""
    value.to_api()
    _ = value.anomalies
    if isinstance(value, Registration):
        value.versions_to_api()
        value.invariant_violations()


# -- from_api ------------------------------------------------------------------------


@pytest.mark.slow
@fuzz(400)
@given(
    st.one_of(
        rs.version_api_dicts(shape="result").flatmap(lambda d: mutated(d, VERSION_KEYS)),
        rs.version_api_dicts().flatmap(lambda d: mutated(d, VERSION_KEYS)),
        api_values,
    ),
    st.sampled_from([None, "registration-0123", "bad id!", ""]),
)
def test_version_from_api_raises_only_typed_errors(data: Any, registration_id: str | None) -> None:
    try:
        version = RegistrationVersion.from_api(
            data, registration_id=registration_id, registration_arn="arn:x"
        )
    except RegistrationError:
        return
    usable(version)


@st.composite
def registration_inputs(draw: st.DrawFn) -> tuple[Any, Any]:
    info, good = draw(rs.registration_api_dicts(include_unknown=True))
    versions: Any = good
    if draw(st.booleans()):
        info = draw(mutated(info, INFO_KEYS))
    choice = draw(st.integers(0, 3))
    if choice == 0 and versions:
        i = draw(st.integers(0, len(versions) - 1))
        versions[i] = draw(mutated(versions[i], VERSION_KEYS))
    elif choice == 1:
        versions = draw(api_values)
    elif choice == 2:
        versions = [*versions, draw(api_values)]
    return info, versions


@pytest.mark.slow
@fuzz(300)
@given(registration_inputs() | st.tuples(api_values, api_values))
def test_registration_from_api_raises_only_typed_errors(case: tuple[Any, Any]) -> None:
    info, versions = case
    try:
        registration = Registration.from_api(info, versions)
    except RegistrationError:
        return
    usable(registration)


@pytest.mark.parametrize(
    "stamp",
    [
        10**400,
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    ],
    ids=["huge-epoch", "year-9999-minus-5h", "year-1-plus-5h"],
)
def test_from_api_out_of_range_timestamps_are_typed_errors(stamp: Any) -> None:
    version = {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "DRAFT",
        "RegistrationVersionStatusHistory": {"DraftTimestamp": stamp},
    }
    info = {
        "RegistrationId": "registration-1",
        "RegistrationArn": "arn:x",
        "RegistrationType": REG_TYPE,
        "RegistrationStatus": "CREATED",
        "CurrentVersionNumber": 1,
        "CreatedTimestamp": 0,
    }
    with pytest.raises(RegistrationError):
        Registration.from_api(info, [version])


# -- the HTTP front ------------------------------------------------------------------


def make_emulator(seed: int) -> EmulatedRegistrationApi:
    """An emulator with six registrations in various states."""
    clock = TickingClock()
    lock = threading.Lock()

    def locked() -> datetime:
        with lock:
            return clock()

    api = EmulatedRegistrationApi(seed=seed, clock=locked, keep_deleted=True)
    ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(6)]
    for rid in ids[1:]:
        api.submit_registration_version(rid)
    for rid in ids[2:]:
        api.advance(rid, "begin_review")
    api.advance(ids[3], "approve")
    api.advance(ids[4], "deny")
    api.create_registration_version(ids[4])
    api.advance(ids[5], "deny")  # under review it could not be deleted
    api.delete_registration(ids[5])
    return api


def emulator_state(api: EmulatedRegistrationApi) -> list[Any]:
    """Everything the emulator holds, as its API shows it."""
    out = []
    for summary in api.describe_registrations():
        versions = list(api.describe_registration_versions(summary["RegistrationId"]))
        out.append((summary, versions, api.tags_for(summary["RegistrationId"])))
    return out


class Front:
    """The served emulator and raw HTTP against it."""

    def __init__(self, api: EmulatedRegistrationApi, url: str) -> None:
        self.api = api
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.ids = [s["RegistrationId"] for s in api.describe_registrations()]
        self.requests = 0

    def post(
        self, target: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            sent = {"Content-Type": "application/x-amz-json-1.0", **(headers or {})}
            if target is not None:
                sent["X-Amz-Target"] = target
            conn.request("POST", "/", body=body, headers=sent)
            response = conn.getresponse()
            self.requests += 1
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def raw(self, data: bytes, *, half_close: bool = True) -> bytes:
        """Send bytes on a fresh connection; everything the server answers until it closes."""
        with socket.create_connection((self.host, self.port), timeout=TIMEOUT) as sock:
            self.requests += 1
            try:
                sock.sendall(data)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server may close first (e.g. after a 413): that is fine
                pass
            chunks = []
            try:
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except ConnectionResetError:
                pass
            return b"".join(chunks)

    def works(self) -> None:
        """A normal request succeeds."""
        status, _headers, body = self.post(
            "PinpointSMSVoiceV2.DescribeRegistrations", b'{"MaxResults": 2}'
        )
        assert status == 200, body
        assert len(json.loads(body)["Registrations"]) == 2


@pytest.fixture(scope="module")
def front() -> Iterator[Front]:
    api = make_emulator(seed=11)
    with serve(api) as url:
        yield Front(api, url)


def check_answer(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A success, or an AWS-shaped error that is the request's fault (never a 500)."""
    assert headers.get("x-amzn-RequestId"), headers
    data = json.loads(body)
    assert isinstance(data, dict), data
    if status != 200:
        assert 400 <= status < 500, (status, data)
        assert isinstance(data.get("__type"), str), data
        assert isinstance(data.get("message"), str), data
        assert headers.get("x-amzn-ErrorType") == data["__type"], headers
    return data


def check_raw_answer(answer: bytes) -> None:
    """Nothing (the server closed), or HTTP responses whose bodies are AWS-shaped errors
    (several when the bytes held several requests: the server keeps connections alive).

    A request line http.server cannot parse is answered the HTTP/0.9 way, with the
    JSON error body alone (no status line).
    """
    rest = answer
    while rest:
        if rest.startswith(b"{"):
            assert isinstance(json.loads(rest).get("__type"), str), rest[:200]
            return
        head, sep, tail = rest.partition(b"\r\n\r\n")
        assert sep, rest[:200]
        lines = head.split(b"\r\n")
        status_line = lines[0]
        assert status_line.startswith(b"HTTP/1."), status_line
        status = int(status_line.split()[1])
        if 100 <= status < 200:  # an interim answer (100 Continue) has no body
            rest = tail
            continue
        lengths = [
            int(line.split(b":", 1)[1]) for line in lines[1:]
            if line.lower().startswith(b"content-length:")
        ]  # fmt: skip
        assert len(lengths) == 1, head
        body, rest = tail[: lengths[0]], tail[lengths[0] :]
        data = json.loads(body)
        assert isinstance(data, dict)
        if status != 200:
            assert isinstance(data.get("__type"), str), data
        assert status < 500 or status in (501, 505), status_line  # not implemented / bad version


header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
targets = st.one_of(
    st.sampled_from(sorted(OPERATIONS)).map(lambda op: f"PinpointSMSVoiceV2.{op}"),
    st.sampled_from(
        [
            "RegistrationFsmEmulator.Advance",
            "RegistrationFsmEmulator.Calls",
            "RegistrationFsmEmulator.Nope",
            "PinpointSMSVoiceV2.SendTextMessage",
            "PinpointSMSVoiceV2.",
            "PinpointSMSVoiceV2",
            "PinpointSMSVoiceV2.createRegistration",
            "",
            ".",
        ]
    ),
    header_text,
    st.none(),
)


def members(front: Front) -> dict[str, st.SearchStrategy[Any]]:
    ids = st.one_of(
        st.sampled_from(front.ids),
        st.sampled_from(front.ids).map(lambda i: front.api.arn_prefix + i),
        st.sampled_from(front.ids).map(
            lambda i: f"arn:aws:sms-voice:eu-west-1:000000000000:registration/{i}"
        ),
        rs.registration_ids(),
        st.text(max_size=300),
        json_values,
    )
    filters = st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "Name": st.sampled_from(
                    ["registration-status", "registration-type", "registration-version-status"]
                )
                | json_values,
                "Values": st.lists(
                    st.sampled_from(["CREATED", "DRAFT", "REVIEWING", REG_TYPE, "X"])
                    | st.text(max_size=130),
                    max_size=22,
                )
                | json_values,
            },
        )
        | json_values,
        max_size=22,
    )
    return {
        "RegistrationId": ids,
        "RegistrationIds": st.lists(ids, max_size=7) | json_values,
        "RegistrationType": st.sampled_from([REG_TYPE, "X" * 65, "bad type"]) | json_values,
        "Tags": st.lists(
            st.fixed_dictionaries({"Key": st.text(max_size=130), "Value": st.text(max_size=260)})
            | json_values,
            max_size=3,
        )
        | json_values,
        "ClientToken": st.text(max_size=70) | json_values,
        "MaxResults": st.integers(-3, 120) | json_values,
        "NextToken": st.text(max_size=1100) | json_values,
        "Filters": filters | json_values,
        "VersionNumbers": st.lists(st.integers(-1, 100_001) | json_values, max_size=7)
        | json_values,
        "AwsReview": st.booleans() | json_values,
        "Trigger": st.sampled_from([*LIFECYCLE.aws_triggers, "submit", "nope"]) | json_values,
        "Details": st.dictionaries(
            st.sampled_from(["denied_reasons", "feedback", "clock", "version"]), json_values
        )
        | json_values,
    }


@st.composite
def bodies(draw: st.DrawFn, front: Front) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind <= 1:  # an object close to a valid request
        chosen = draw(st.fixed_dictionaries({}, optional=members(front)))
        chosen.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2)))
        return json.dumps(chosen).encode()
    if kind == 2:  # any JSON (not always an object; NaN and Infinity included)
        return json.dumps(draw(json_values)).encode()
    if kind == 3:
        return draw(st.binary(max_size=300))
    return draw(
        st.sampled_from(
            [
                b"{",
                b'{"RegistrationId": ',
                b"[" * 100_000,
                b'{"a":' * 5000 + b"1" + b"}" * 5000,
                b'{"MaxResults": 1e999}',
                b'{"MaxResults": ' + b"9" * 5000 + b"}",
                b"\xef\xbb\xbf{}",
                b'{"RegistrationType": "\\ud800"}',
                '{"RegistrationType": "\u00e9"}'.encode("latin-1"),
                b"null",
                b"   ",
            ]
        )
    )


@st.composite
def valid_requests(draw: st.DrawFn, front: Front) -> tuple[str, bytes]:
    """A well-formed request (it may still be refused: a conflict, an unknown id)."""
    rid = draw(st.sampled_from(front.ids))
    op, params = draw(
        st.sampled_from(
            [
                ("PinpointSMSVoiceV2.DescribeRegistrations", {"MaxResults": 3}),
                ("PinpointSMSVoiceV2.DescribeRegistrationVersions", {"RegistrationId": rid}),
                ("PinpointSMSVoiceV2.CreateRegistration", {"RegistrationType": REG_TYPE}),
                ("PinpointSMSVoiceV2.CreateRegistrationVersion", {"RegistrationId": rid}),
                ("PinpointSMSVoiceV2.SubmitRegistrationVersion", {"RegistrationId": rid}),
                ("PinpointSMSVoiceV2.DiscardRegistrationVersion", {"RegistrationId": rid}),
                ("PinpointSMSVoiceV2.DeleteRegistration", {"RegistrationId": rid}),
                ("RegistrationFsmEmulator.Advance", {"RegistrationId": rid}),
            ]
        )
    )
    if op.endswith("Advance"):
        params["Trigger"] = draw(st.sampled_from(LIFECYCLE.aws_triggers))
    return op, json.dumps(params).encode()


@pytest.fixture(scope="module")
def http_figures() -> Iterator[dict[str, int]]:
    figures = {"requests": 0, "refused": 0, "succeeded": 0}
    yield figures
    print(f"HTTP fuzz: {figures}")


@pytest.mark.slow
@fuzz(250)
@given(data=st.data())
def test_http_front_answers_every_request_and_refusals_change_nothing(
    front: Front, http_figures: dict[str, int], data: st.DataObject
) -> None:
    target, body = data.draw(
        st.tuples(targets, bodies(front)) | valid_requests(front), label="request"
    )
    before = emulator_state(front.api)
    status, headers, answer = front.post(target, body)
    check_answer(status, headers, answer)
    http_figures["requests"] += 1
    if status != 200:
        http_figures["refused"] += 1
        assert emulator_state(front.api) == before, "a refused request changed the emulator"
    else:
        http_figures["succeeded"] += 1


@pytest.mark.slow
@fuzz(150)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.tuples(
            st.sampled_from([b"POST / HTTP/1.1\r\n", b"POST / HTTP/1.0\r\n", b"GET / HTTP/1.1\r\n",
                             b"POST /x HTTP/9.9\r\n", b"POST\r\n", b"BREW / HTTP/1.1\r\n"]),
            st.lists(st.sampled_from([b"Content-Length: 5", b"Content-Length: -1",
                                      b"Content-Length: 99999999999999999999",
                                      b"Content-Length: 1e3", b"Transfer-Encoding: chunked",
                                      b"X-Amz-Target: PinpointSMSVoiceV2.DescribeRegistrations",
                                      b"X-Amz-Target: \xff\xfe", b"no colon here", b": empty",
                                      b"Expect: 100-continue"]),
                     max_size=5),
            st.binary(max_size=100),
        ).map(lambda t: t[0] + b"".join(h + b"\r\n" for h in t[1]) + b"\r\n" + t[2]),
    )
)  # fmt: skip
def test_http_front_survives_raw_bytes(front: Front, data: bytes) -> None:
    check_raw_answer(front.raw(data))


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"",
        b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n"
        b"X-Amz-Target: PinpointSMSVoiceV2.CreateRegistration\r\n\r\n{}",
        b"POST / HTTP/1.1\r\n" + b"X-Pad: a\r\n" * 150 + b"\r\n",
        b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello
    ],
    ids=[
        "empty",
        "blank lines",
        "GET",
        "short body",
        "150 headers",
        "long path",
        "long header",
        "chunked",
        "TLS",
    ],
)
def test_http_front_malformed_requests(front: Front, request_bytes: bytes) -> None:
    before = emulator_state(front.api)
    check_raw_answer(front.raw(request_bytes))
    assert emulator_state(front.api) == before
    front.works()


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 8 * MAX_BODY_BYTES, 10**12])
def test_http_front_huge_bodies_are_refused_and_change_nothing(front: Front, size: int) -> None:
    before = emulator_state(front.api)
    head = (
        b"POST / HTTP/1.1\r\nX-Amz-Target: PinpointSMSVoiceV2.CreateRegistration\r\n"
        b"Content-Length: " + str(size).encode() + b"\r\n\r\n"
    )
    # Up to 8 MiB the body is sent (the server reads it and discards it); for a
    # larger declared length nothing is, or the unread bytes would reset the connection.
    body = b'{"RegistrationType": "' + b"A" * (size - 24) + b'"}' if size <= 8 << 20 else b""
    answer = front.raw(head + body)
    assert answer.startswith((b"HTTP/1.0 413 ", b"HTTP/1.1 413 ")), answer[:100]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["__type"] == (
        "RequestEntityTooLargeException"
    )
    assert emulator_state(front.api) == before
    front.works()


def test_http_front_idle_connections_do_not_block_others(front: Front) -> None:
    idle = [socket.create_connection((front.host, front.port), timeout=TIMEOUT) for _ in range(8)]
    try:
        idle[0].sendall(b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")  # a body never sent
        front.works()
    finally:
        for sock in idle:
            sock.close()
    front.works()


# NextToken tampering -----------------------------------------------------------------


@pytest.fixture(scope="module")
def paged() -> Iterator[tuple[Front, str, dict[str, Any]]]:
    """A served emulator, a genuine NextToken (MaxResults 2), and the page it gives."""
    api = make_emulator(seed=12)
    with serve(api) as url:
        front = Front(api, url)
        first = front.api.describe_registrations_page(max_results=2)
        token = first["NextToken"]
        page = front.api.describe_registrations_page(max_results=2, next_token=token)
        yield front, token, json.loads(json.dumps(page, default=lambda d: d.timestamp()))


B64 = string.ascii_letters + string.digits + "-_=.+/ "


@st.composite
def tampered(draw: st.DrawFn, token: str) -> str:
    how = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "swap", "any"]))
    i = draw(st.integers(0, len(token) - 1))
    char = draw(st.sampled_from(B64) | st.characters(codec="utf-8"))
    if how == "replace":
        return token[:i] + char + token[i + 1 :]
    if how == "delete":
        return token[:i] + token[i + 1 :]
    if how == "insert":
        return token[:i] + char + token[i:]
    if how == "truncate":
        return token[:i]
    if how == "swap":
        head, _dot, tail = token.partition(".")
        return f"{tail}.{head}"
    return draw(st.text(max_size=1100))


@pytest.mark.slow
@fuzz(200)
@given(data=st.data())
def test_tampered_next_tokens_are_refused_or_mean_exactly_the_genuine_one(
    paged: tuple[Front, str, dict[str, Any]], data: st.DataObject
) -> None:
    front, token, genuine_page = paged
    forged = data.draw(tampered(token), label="token")
    status, headers, body = front.post(
        "PinpointSMSVoiceV2.DescribeRegistrations",
        json.dumps({"MaxResults": 2, "NextToken": forged}).encode(),
    )
    answer = check_answer(status, headers, body)
    if status == 200:
        # Only a token that decodes to the genuine one (base64 padding bits) is accepted.
        assert answer == genuine_page
    else:
        assert answer["__type"] == "ValidationException"
        assert {f["Name"] for f in answer["Fields"]} == {"NextToken"}


@pytest.mark.parametrize("misuse", ["other filters", "other operation", "other emulator"])
def test_a_genuine_token_used_elsewhere_is_refused(
    paged: tuple[Front, str, dict[str, Any]], misuse: str
) -> None:
    front, token, _page = paged
    target = "PinpointSMSVoiceV2.DescribeRegistrations"
    request: dict[str, Any] = {"NextToken": token}
    if misuse == "other filters":
        request["Filters"] = [{"Name": "registration-status", "Values": ["REVIEWING"]}]
    elif misuse == "other operation":
        target = "PinpointSMSVoiceV2.DescribeRegistrationVersions"
        request["RegistrationId"] = front.ids[0]
    else:
        request["NextToken"] = make_emulator(seed=13).describe_registrations_page(max_results=2)[
            "NextToken"
        ]
    status, headers, body = front.post(target, json.dumps(request).encode())
    answer = check_answer(status, headers, body)
    assert (status, answer["__type"], answer["Reason"]) == (
        400,
        "ValidationException",
        "INVALID_NEXT_TOKEN",
    )


def test_the_fuzzed_server_still_serves_boto3(front: Front) -> None:
    import boto3

    client = boto3.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=f"http://{front.host}:{front.port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    created = client.create_registration(RegistrationType=REG_TYPE)
    listed = client.describe_registrations(RegistrationIds=[created["RegistrationId"]])
    assert listed["Registrations"][0]["RegistrationStatus"] == "CREATED"


# -- the CLI ----------------------------------------------------------------------------


#: argv can hold any character but NUL (the kernel cannot pass it).
argv_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
#: The same without line breaks, whose echo in an error message breaks it over lines
#: (see test_cli_errors_stay_on_one_line_when_input_has_line_breaks).
line_text = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Zl", "Zp", "Cc"), exclude_characters="\x00"
    ),
    max_size=40,
)


class Workspace:
    """Files for the CLI to chew on, and an emulator for the commands that call the API."""

    def __init__(self, root: Path, url: str, ids: list[str]) -> None:
        self.root, self.url, self.ids = root, url, ids
        self.store = root / "store.db"
        self.paths = {
            "store": str(self.store),
            "missing": str(root / "missing.db"),
            "in a missing dir": str(root / "no" / "such" / "dir.db"),
            "directory": str(root),
            "garbage": str(root / "garbage.db"),
            "foreign": str(root / "foreign.db"),
            "empty": str(root / "empty.db"),
            "export": str(root / "export.jsonl"),
            "input": str(root / "input.bin"),
            "output": str(root / "output.jsonl"),
        }
        (root / "garbage.db").write_bytes(b"SQLite format 3\x00" + os.urandom(2000))
        (root / "empty.db").write_bytes(b"")
        conn = sqlite3.connect(root / "foreign.db")
        conn.execute("CREATE TABLE t (x)")
        conn.close()
        with (root / "export.jsonl").open("w") as out, SQLiteStore(self.store) as store:
            export_jsonl(store, out)
        self.env = {
            "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(root / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PROFILE": None,
            "REGISTRATION_FSM_STORE": str(self.store),
        }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("cli")
    api = make_emulator(seed=14)
    ids = [s["RegistrationId"] for s in api.describe_registrations()]
    with SQLiteStore(root / "store.db") as store:
        Synchronizer(api, store).sync()
    with serve(api) as url:
        old = Path.cwd()
        os.chdir(root)  # a relative --store lands in the workspace, never in the repository
        try:
            yield Workspace(root, url, ids)
        finally:
            os.chdir(old)


def run_cli(workspace: Workspace, argv: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    """``main(argv)`` in process, as the console script runs it: exit code, stdout, stderr."""
    runner = CliRunner()
    with runner.isolation(input=stdin, env=workspace.env) as (out, err, _mixed):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except Exception as exc:
            pytest.fail(f"{argv!r} raised {type(exc).__name__}: {exc} (a traceback)")
    return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")


def check_exit(code: int, out: str, err: str) -> None:
    """Exit 0, 1 or 2; a failure says so in one line (after click's usage lines)."""
    assert code in (0, 1, 2), (code, out, err)
    assert "Traceback" not in out + err
    if code == 0:
        return
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 2 and lines[:1] and lines[0].startswith("Usage:") and "Commands:" in lines:
        return  # a group named without a command shows its help
    if not lines:  # `audit verify` reports a broken chain on stdout: a line, or --json
        if out.startswith("{"):
            assert json.loads(out)["ok"] is False, out
        else:
            assert out.count("\n") == 1, out
            assert "TAMPERED" in out, out
        return
    usage = [line for line in lines[:-1] if not line.startswith(("Usage:", "Try '"))]
    assert usage == [], err
    assert lines[-1].startswith(("Error:", "error:")), err


COMMAND_WORDS = [
    "show", "sync", "discard", "wait", "audit", "verify", "export", "diagram", "--help",
    "--version", "--store", "--json", "--events", "--full", "--id", "--output", "--format",
    "--highlight", "-o", "--", "-", "--registration-id", "--reason", "create", "submit",
    "create-version", "delete", "--actor", "--meta", "k=v", "=", "--read-timeout",
    "--connect-timeout", "0", "nan",
]  # fmt: skip


@st.composite
def offline_argv(draw: st.DrawFn, workspace: Workspace) -> list[str]:
    known = st.sampled_from(sorted(workspace.paths.values()))
    path = st.integers(0, 3).flatmap(lambda n: known if n else line_text)  # mostly real files
    ids = st.sampled_from(workspace.ids) | rs.registration_ids() | line_text
    flags = st.lists(st.sampled_from(["--json", "--events"]), max_size=2, unique=True)
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return ["show", "--store", draw(path), *draw(flags), *draw(st.lists(ids, max_size=3))]
    if kind == 1:
        return ["audit", "verify", draw(path), *draw(st.lists(st.just("--json"), max_size=1))]
    if kind == 2:
        outputs = st.sampled_from(
            [workspace.paths[k] for k in ("output", "in a missing dir", "directory")]
        )
        output = [["--output", out] for out in draw(st.lists(outputs | line_text, max_size=1))]
        return ["audit", "export", "--store", draw(path), *itertools.chain(*output)]
    if kind == 3:
        fmt = draw(st.sampled_from(["mermaid", "dot", "svg", "nope"]))
        return [
            "diagram",
            "--highlight",
            draw(st.sampled_from([workspace.paths["input"], workspace.paths["store"], "-"])),
            "--format",
            fmt,
            *draw(st.lists(st.sampled_from(["--show-guards", "--show-initiator"]), max_size=2)),
        ]
    return draw(st.lists(st.sampled_from(COMMAND_WORDS) | line_text, max_size=6))


@st.composite
def input_files(draw: st.DrawFn, workspace: Workspace) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:  # a registration as `show --json` prints it, changed
        info, versions = draw(rs.registration_api_dicts())
        doc = {"Registration": info, "RegistrationVersions": versions}
        doc = draw(st.sampled_from([doc, [doc], {"RegistrationVersions": versions}, versions[0]]))
        return json.dumps(doc, default=lambda d: d.isoformat()).encode()
    if kind == 2:  # the audit export, a line changed or dropped
        lines = Path(workspace.paths["export"]).read_text().splitlines()
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from(["", "{}", lines[i][:-3], json.dumps(draw(json_values))]))
        return "\n".join(lines).encode()
    return json.dumps(draw(json_values)).encode()


@pytest.fixture(scope="module")
def cli_figures() -> Iterator[dict[str, int]]:
    figures = {"runs": 0, "exit 0": 0, "exit 1": 0, "exit 2": 0}
    yield figures
    print(f"CLI fuzz (offline commands): {figures}")


@pytest.mark.slow
@fuzz(200)
@given(data=st.data())
def test_cli_offline_commands_never_trace_back(
    workspace: Workspace, cli_figures: dict[str, int], data: st.DataObject
) -> None:
    argv = data.draw(offline_argv(workspace), label="argv")
    content = data.draw(input_files(workspace), label="input file")
    Path(workspace.paths["input"]).write_bytes(content)
    code, out, err = run_cli(workspace, argv, stdin=content)
    check_exit(code, out, err)
    cli_figures["runs"] += 1
    cli_figures[f"exit {code}"] += 1


@pytest.mark.slow
@fuzz(25)
@given(data=st.data())
def test_cli_api_commands_never_trace_back(workspace: Workspace, data: st.DataObject) -> None:
    ids = st.sampled_from(workspace.ids) | rs.registration_ids() | line_text
    store = st.sampled_from([workspace.paths["store"], workspace.paths["garbage"],
                             workspace.paths["in a missing dir"]])  # fmt: skip
    kind = data.draw(st.integers(0, 3), label="command")
    who = ["--actor", data.draw(line_text), "--reason", data.draw(line_text)]
    for meta in data.draw(st.lists(line_text | st.just("ticket=CMP-1"), max_size=2)):
        who += ["--meta", meta]
    if kind == 0:
        argv = ["sync", "--store", data.draw(store)]
        for one in data.draw(st.lists(ids, max_size=3)):
            argv += ["--id", one]
        argv += data.draw(st.lists(st.sampled_from(["--full", "--json"]), max_size=2, unique=True))
    elif kind == 1:
        argv = ["discard", "--store", data.draw(store), "--registration-id", data.draw(ids), *who]
        argv += data.draw(
            st.lists(st.sampled_from(["--allow-draft", "--json"]), max_size=2, unique=True)
        )
    elif kind == 2:
        command = data.draw(st.sampled_from(["create", "submit", "create-version", "delete"]))
        target = [data.draw(line_text | st.just(REG_TYPE))] if command == "create" else [
            "--registration-id", data.draw(ids)
        ]  # fmt: skip
        argv = [command, "--store", data.draw(store), *target, *who]
        argv += data.draw(st.lists(st.sampled_from(["--json", "--aws-review"]), max_size=1))
    else:
        argv = ["wait", "--store", data.draw(store), "--registration-id", data.draw(ids),
                "--status", data.draw(st.sampled_from(["COMPLETE", "DRAFT", "bogus"]) | line_text),
                "--timeout", data.draw(st.sampled_from(["0.05", "0", "-1", "x", "1e-9"])),
                "--poll", "0.01"]  # fmt: skip
    code, out, err = run_cli(workspace, argv)
    check_exit(code, out, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "--store", "garbage.db"],
        ["show", "--store", "store.db", "registration-x", "--events"],
        ["audit", "verify", "garbage.db"],
        ["audit", "verify", "export.jsonl", "--json"],
        ["sync", "--store", "store.db", "--id", "bad id!"],
        ["discard", "--store", "store.db", "--registration-id", "registration-x", "--reason", ""],
        ["delete", "--store", "store.db", "--registration-id", "registration-x"],
        ["create", "--store", "store.db", "--meta", "no-equals-sign", REG_TYPE],
        ["submit", "--store", "store.db", "--registration-id", "x", "--read-timeout", "0"],
        ["nope"],
    ],
    ids=lambda argv: " ".join(argv[:2]) + (f" {argv[-2]}" if argv[0] != "nope" else ""),
)
def test_cli_in_a_real_process_exits_cleanly(workspace: Workspace, argv: list[str]) -> None:
    env = {**os.environ, **{k: v for k, v in workspace.env.items() if v is not None}}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "registration_fsm.cli", *argv],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    check_exit(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("where", ["export", "store"])
def test_cli_audit_verify_of_content_nested_too_deeply(workspace: Workspace, where: str) -> None:
    """Nesting past Python's recursion limit is a broken record, not a crash."""
    deep = "[" * 100_000 + "]" * 100_000
    path = workspace.root / f"deep-{where}"
    if where == "export":
        path.write_text(f'{{"seq": 1, "event": {deep}}}\n')
    else:
        path.write_bytes(Path(workspace.store).read_bytes())
        conn = sqlite3.connect(path)
        conn.execute("UPDATE events SET event = ? WHERE seq = 1", (deep,))
        conn.commit()
        conn.close()
    code, out, err = run_cli(workspace, ["audit", "verify", str(path)])
    check_exit(code, out, err)
    assert code == 1
    assert "TAMPERED at record 1" in out


def test_cli_errors_stay_on_one_line_when_input_has_line_breaks(workspace: Workspace) -> None:
    code, out, err = run_cli(workspace, ["show", "--store", "store.db", "registration\nx"])
    check_exit(code, out, err)


# -- regressions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not utf-8",
        b"[" * 100_000,
        b'{"RegistrationVersionStatus": "DRAFT", "RegistrationId": "r", "RegistrationArn": "a",'
        b' "VersionNumber": 1, "RegistrationVersionStatusHistory": {"DraftTimestamp": 1'
        + b"0" * 400
        + b"}}",
    ],
    ids=["not-utf8", "deep", "huge-epoch"],
)
def test_cli_diagram_hostile_highlight_files(workspace: Workspace, content: bytes) -> None:
    Path(workspace.paths["input"]).write_bytes(content)
    check_exit(*run_cli(workspace, ["diagram", "--highlight", workspace.paths["input"]]))


def test_cli_audit_export_to_an_unwritable_place(workspace: Workspace) -> None:
    argv = ["audit", "export", "--store", "store.db", "--output", "no/such/dir/out.jsonl"]
    check_exit(*run_cli(workspace, argv))


def test_cli_demo_audit_log_to_an_unwritable_place(workspace: Workspace) -> None:
    check_exit(*run_cli(workspace, ["demo", "--audit-log", "no/such/dir/audit.jsonl"]))


@pytest.mark.parametrize("name", ["empty.db", "garbage.db", "foreign.db"])
def test_cli_reading_commands_leave_a_file_that_is_not_a_store_as_it_was(
    workspace: Workspace, name: str
) -> None:
    """``show --store empty.db`` once made the empty file a store (issue 11)."""
    path = workspace.root / name
    before = path.read_bytes()
    for argv in (["show", "--store", name], ["audit", "export", "--store", name]):
        code, out, err = run_cli(workspace, argv)
        check_exit(code, out, err)
        assert code == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("flag", ["--output", "--output-forced"])
def test_cli_audit_export_never_writes_over_the_store(workspace: Workspace, flag: str) -> None:
    """``audit export --store s.db --output s.db`` once truncated the store (issue 11)."""
    before = workspace.store.read_bytes()
    argv = ["audit", "export", "--store", "store.db", "--output", "store.db"]
    code, out, err = run_cli(workspace, argv + (["--force"] if flag.endswith("forced") else []))
    check_exit(code, out, err)
    assert code == 2
    assert workspace.store.read_bytes() == before


@pytest.mark.parametrize("url", ["not a url", "http://[::1", "ftp//x"])
def test_cli_emulator_advance_with_a_malformed_url(workspace: Workspace, url: str) -> None:
    argv = ["emulator", "advance", "--endpoint-url", url, workspace.ids[0], "approve"]
    check_exit(*run_cli(workspace, argv))


def test_wait_for_refuses_a_nan_timeout() -> None:
    api = make_emulator(seed=15)
    rid = next(iter(api.describe_registrations()))["RegistrationId"]
    polls = 0

    def sleep(_seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls > 100:
            raise AssertionError("wait_for(timeout=nan) is still polling after 100 polls")

    with pytest.raises(RegistrationError):
        Synchronizer(api).wait_for(rid, ["COMPLETE"], timeout=math.nan, sleep=sleep)
