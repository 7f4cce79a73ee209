"""End to end: the emulator's events into moto's SQS, a follower keeps an SQLite store current.

Real parts only: moto's SQS server on 127.0.0.1 (a free port, one per module), real
boto3 SQS clients, the registration emulator served over HTTP whose event sink
sends each event to the queue (SendMessage), as an EventBridge rule targeting SQS
would, and the follower (in process, or ``registration-fsm follow`` in a
subprocess) over the boto3 adapter and an SQLite store. Dummy credentials; no
network beyond 127.0.0.1.

No test times anything: waits wait for a condition, with generous limits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest
from helpers import REG_TYPE
from moto.server import ThreadedMotoServer
from mypy_boto3_sqs import SQSClient
from mypy_boto3_sqs.literals import QueueAttributeNameType

from registration_fsm import (
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    EmulatorClient,
    Faults,
    MemoryStore,
    SQLiteStore,
    Synchronizer,
    serve,
)
from registration_fsm.adapters.sqs import REASON_ATTRIBUTE, SqsEventSource
from registration_fsm.errors import ApiError, InvalidArgument
from registration_fsm.sync.events import EventFollower

#: Seconds a subprocess or a wait may take before the test calls it hung.
HANG = 120.0
TESTS = Path(__file__).parent
DESCRIBES = {"DescribeRegistrations", "DescribeRegistrationVersions"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server (SQS) on a free local port, for this module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy credentials, here and for children; nothing from the caller's AWS setup."""
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, "PYTHONPATH": str(TESTS)}


@pytest.fixture
def sqs(moto_url: str, aws_env: dict[str, str]) -> SQSClient:
    client: SQSClient = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    return client


@attrs.frozen
class Queues:
    url: str
    dlq: str


def make_queues(sqs: SQSClient, *, visibility: int = 30, redrive: int | None = None) -> Queues:
    """A fresh queue and a dead-letter queue (as the queue's redrive target if ``redrive``)."""
    name = uuid.uuid4().hex[:12]
    dlq = sqs.create_queue(QueueName=f"dead-{name}")["QueueUrl"]
    attributes: dict[QueueAttributeNameType, str] = {"VisibilityTimeout": str(visibility)}
    if redrive is not None:
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": str(redrive)}
        )
    url = sqs.create_queue(QueueName=f"events-{name}", Attributes=attributes)["QueueUrl"]
    return Queues(url, dlq)


def waiting(sqs: SQSClient, queue_url: str) -> int:
    """Messages in the queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def drain(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    """Every message now visible in ``queue_url`` (read, not deleted)."""
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
            VisibilityTimeout=60, WaitTimeSeconds=0,
        ).get("Messages", [])  # fmt: skip
        if not got:
            return out
        out.extend(dict(m) for m in got)


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait until ``check()`` holds (a guard against a hang, not a timing)."""
    deadline = time.monotonic() + HANG
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


@attrs.define
class World:
    """The emulator served over HTTP, its events sent to ``queues.url`` (``sent``: bodies)."""

    api: EmulatedRegistrationApi
    url: str
    queues: Queues
    sent: list[str]
    moto_url: str

    def create(self) -> str:
        return str(self.api.create_registration(REG_TYPE)["RegistrationId"])

    def advance(self, registration_id: str, trigger: str) -> None:
        EmulatorClient(self.url).advance(registration_id, trigger)  # AWS's part, over HTTP

    def source(self, **options: Any) -> SqsEventSource:
        defaults: dict[str, Any] = {"wait_seconds": 1, "dead_letter_queue_url": self.queues.dlq}
        options = defaults | options
        return SqsEventSource(
            self.queues.url, endpoint_url=self.moto_url, region="us-east-1", **options
        )

    def synchronizer(self, store: Path | None = None, **options: Any) -> Synchronizer:
        """A Synchronizer through boto3 over HTTP (``options`` for ``from_config``)."""
        api = Boto3RegistrationApi.from_config(endpoint_url=self.url, region="us-east-1", **options)
        return Synchronizer(api, SQLiteStore(store) if store is not None else MemoryStore())


@contextmanager
def world_of(
    sqs: SQSClient, moto_url: str, api: EmulatedRegistrationApi, queues: Queues
) -> Iterator[World]:
    sent: list[str] = []

    def to_sqs(event: Mapping[str, Any]) -> None:  # an EventBridge rule targeting the queue
        body = json.dumps(event)
        sqs.send_message(QueueUrl=queues.url, MessageBody=body)
        sent.append(body)

    api.add_event_sink(to_sqs)
    with serve(api) as url:
        yield World(api, url, queues, sent, moto_url)


@pytest.fixture
def world(sqs: SQSClient, moto_url: str) -> Iterator[World]:
    with world_of(sqs, moto_url, EmulatedRegistrationApi(seed=21), make_queues(sqs)) as world:
        yield world


def as_polled(api: EmulatedRegistrationApi) -> dict[str, Any]:
    """Every registration as a full sync sees it now."""
    syncer = Synchronizer(api, MemoryStore())
    syncer.sync()
    return {r.id: r for r in syncer.registrations()}


# -- the store follows the queue -------------------------------------------------------


def test_the_follower_keeps_an_sqlite_store_current(
    world: World, sqs: SQSClient, tmp_path: Path
) -> None:
    syncer = world.synchronizer(tmp_path / "store.db")
    follower = EventFollower(syncer)
    ids = [world.create() for _ in range(3)]
    world.api.submit_registration_version(ids[0])
    world.advance(ids[0], "begin_review")
    world.advance(ids[0], "approve")
    world.api.submit_registration_version(ids[1])
    follower.run(world.source(), max_messages=len(world.sent))
    world.advance(ids[1], "begin_review")
    world.advance(ids[1], "deny")
    world.api.create_registration_version(ids[1])
    world.api.delete_registration(ids[2])
    stats = follower.run(world.source(), max_messages=len(world.sent))
    assert (stats.handled, stats.poison, stats.retried) == (len(world.sent), 0, 0)
    polled = as_polled(world.api)
    with syncer.store:
        assert {i: syncer.get(i) for i in ids[:2]} == polled
        assert syncer.get(ids[2]).status == "DELETED"
    assert waiting(sqs, world.queues.url) == 0  # every message deleted
    assert waiting(sqs, world.queues.dlq) == 0


def test_each_event_costs_at_most_two_requests(world: World) -> None:
    """One message at a time: DescribeRegistrations + DescribeRegistrationVersions at most,
    and DescribeRegistrationFieldValues once for a version that left DRAFT."""
    ids = [world.create() for _ in range(2)]
    for reg_id in ids:
        world.api.submit_registration_version(reg_id)
        world.advance(reg_id, "begin_review")
    world.advance(ids[0], "approve")
    world.api.create_registration_version(ids[0])
    world.advance(ids[1], "deny")  # under review it could not be deleted
    world.api.delete_registration(ids[1])
    follower = EventFollower(world.synchronizer())
    source = world.source(batch_size=1)
    costs: list[dict[str, int]] = []
    while follower.stats.settled < len(world.sent):
        before = dict(world.api.calls)
        follower.process(source.receive())
        after = world.api.calls
        costs.append({k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)})
    assert follower.stats.handled == len(world.sent) == 10
    values = "DescribeRegistrationFieldValues"
    assert all(
        set(cost) <= DESCRIBES | {values} and sum(cost.values()) - cost.get(values, 0) <= 2
        for cost in costs
    ), costs
    # No values read: the follower first sees ids[0] with v1 closed behind a DRAFT v2 (an
    # older version first seen closed is not read), and ids[1] deleted.
    assert sum(cost.get(values, 0) for cost in costs) == 0
    assert max(sum(cost.values()) for cost in costs) == 2
    assert sum(follower.stats.api_calls.values()) == sum(sum(c.values()) for c in costs)


def test_a_batch_naming_one_registration_costs_two_requests(world: World) -> None:
    reg_id = world.create()
    world.api.submit_registration_version(reg_id)
    world.advance(reg_id, "begin_review")
    world.advance(reg_id, "approve")
    follower = EventFollower(world.synchronizer())
    before = sum(world.api.calls[k] for k in DESCRIBES if k in world.api.calls)
    follower.process(world.source().receive())  # all four in one receive
    assert follower.stats.handled == 4
    assert sum(world.api.calls[k] for k in DESCRIBES) - before == 2


# -- poison ----------------------------------------------------------------------------


POISON = [
    "not json at all",
    json.dumps({"source": "aws.s3", "detail-type": "Object Created", "resources": []}),
    json.dumps({"source": "aws.sms-voice", "detail-type": "Text Message Delivery Status Updated"}),
    json.dumps({"source": "aws.sms-voice", "detail-type": "Registration Status Change"}),
]


def test_poison_goes_to_the_dead_letter_queue_and_the_follower_keeps_going(
    world: World, sqs: SQSClient
) -> None:
    reg_id = world.create()
    syncer = world.synchronizer()
    syncer.sync([reg_id])
    # A service's event naming the tracked registration, but no registration event.
    voice = json.dumps(
        {"source": "aws.sms-voice", "detail-type": "Voice Message Delivery Status Updated",
         "resources": [world.api.arn_prefix + reg_id]}
    )  # fmt: skip
    for body in [*POISON, voice]:
        sqs.send_message(QueueUrl=world.queues.url, MessageBody=body)
    world.api.submit_registration_version(reg_id)  # and a good event after them
    follower = EventFollower(syncer)
    stats = follower.run(
        world.source(dead_letter_queue_url=world.queues.dlq), max_messages=len(POISON) + 3
    )
    assert (stats.poison, stats.handled) == (len(POISON) + 1, 2)
    moved = drain(sqs, world.queues.dlq)
    assert sorted(m["Body"] for m in moved) == sorted([*POISON, voice])
    reasons = {m["Body"]: m["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] for m in moved}
    assert reasons[POISON[0]].startswith("not JSON")
    assert "not an event of this service" in reasons[POISON[1]]
    assert "not a registration event" in reasons[POISON[2]]
    assert "names no registration" in reasons[POISON[3]]
    assert "not a registration event" in reasons[voice]
    assert waiting(sqs, world.queues.url) == 0
    assert [e.trigger for e in syncer.store.events(reg_id)] == ["create", "submit"]
    assert syncer.get(reg_id).status == "SUBMITTED"


def test_poison_that_cannot_be_moved_aside_stays_in_the_queue(
    world: World, sqs: SQSClient, caplog: pytest.LogCaptureFixture
) -> None:
    source = world.source()
    sqs.delete_queue(QueueUrl=world.queues.dlq)  # the dead-letter queue is gone
    sqs.send_message(QueueUrl=world.queues.url, MessageBody="poison")
    follower = EventFollower(world.synchronizer())
    with caplog.at_level(logging.WARNING, logger="registration_fsm.sync.events"):
        stats = follower.run(source, once=True)
    assert (stats.received, stats.poison) == (1, 0)
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("registration_fsm")]
    assert line.startswith("poison message ")
    assert "could not be moved aside" in line
    assert waiting(sqs, world.queues.url) == 1  # not deleted: it comes back


def test_the_queues_redrive_policy_is_the_default_dead_letter_path(
    sqs: SQSClient, moto_url: str
) -> None:
    queues = make_queues(sqs, redrive=4)
    source = SqsEventSource(queues.url, endpoint_url=moto_url, region="us-east-1", wait_seconds=1)
    assert (source.dead_letter_queue_url, source.max_receive_count) == (queues.dlq, 4)
    sqs.send_message(QueueUrl=queues.url, MessageBody="{}")
    api = EmulatedRegistrationApi(seed=22)
    stats = EventFollower(Synchronizer(api, MemoryStore())).run(source, max_messages=1)
    assert stats.poison == 1
    assert [m["Body"] for m in drain(sqs, queues.dlq)] == ["{}"]


def test_a_queue_without_a_dead_letter_path_is_refused_at_start(
    sqs: SQSClient, moto_url: str
) -> None:
    plain = sqs.create_queue(QueueName=f"plain-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    with pytest.raises(InvalidArgument, match="no dead-letter path"):
        SqsEventSource(plain, endpoint_url=moto_url, region="us-east-1")
    with pytest.raises(InvalidArgument, match="must not be the queue followed"):
        SqsEventSource(plain, endpoint_url=moto_url, region="us-east-1",
                       dead_letter_queue_url=plain)  # fmt: skip
    with pytest.raises(ApiError):
        SqsEventSource(plain + "-gone", endpoint_url=moto_url, region="us-east-1",
                       dead_letter_queue_url=plain)  # fmt: skip


def test_a_message_failing_max_attempts_times_is_moved_aside(sqs: SQSClient, moto_url: str) -> None:
    """The API always fails (HTTP 500): the message comes back once, then goes aside."""
    api = EmulatedRegistrationApi(seed=23)
    queues = make_queues(sqs, visibility=1)
    with world_of(sqs, moto_url, api, queues) as world:
        world.create()
        with serve(api, faults=Faults(error_rate=1.0)) as broken:
            syncer = Synchronizer(
                Boto3RegistrationApi.from_config(
                    endpoint_url=broken, region="us-east-1", max_attempts=1
                ),
                MemoryStore(),
            )
            stats = EventFollower(syncer, max_attempts=2).run(
                world.source(dead_letter_queue_url=queues.dlq), max_messages=1
            )
    assert (stats.received, stats.retried, stats.poison, stats.handled) == (2, 1, 1, 0)
    (moved,) = drain(sqs, queues.dlq)
    reason = moved["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
    assert reason.startswith("failed 2 times; last: InternalServerError")
    assert syncer.store.ids() == []  # never touched


def test_a_duplicate_delivery_is_acknowledged_without_a_request(
    world: World, sqs: SQSClient
) -> None:
    world.create()
    follower = EventFollower(world.synchronizer())
    follower.run(world.source(), max_messages=1)
    sqs.send_message(QueueUrl=world.queues.url, MessageBody=world.sent[0])  # delivered again
    calls = dict(world.api.calls)
    follower.run(world.source(), max_messages=2)
    assert (follower.stats.handled, follower.stats.duplicates) == (1, 1)
    assert dict(world.api.calls) == calls
    assert waiting(sqs, world.queues.url) == 0


# -- registration-fsm follow --sqs-queue-url ------------------------------------------------


def follow_command(world: World, store: Path, *extra: str) -> list[str]:
    """``registration-fsm follow`` on the world's queue, into ``store``."""
    return [
        sys.executable, "-m", "registration_fsm.cli", "follow",
        "--sqs-queue-url", world.queues.url, "--sqs-endpoint-url", world.moto_url,
        "--endpoint-url", world.url, "--region", "us-east-1", "--store", str(store),
        "--wait-seconds", "1", "--dead-letter-queue-url", world.queues.dlq, *extra,
    ]  # fmt: skip


def stored(store: Path, registration_id: str) -> Any:
    with SQLiteStore(store) as saved:
        found = saved.get(registration_id)
        return None if found is None else found.registration


def test_ctrl_c_stops_the_follower_with_a_one_line_summary(
    world: World, sqs: SQSClient, aws_env: dict[str, str], tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    reg_id = world.create()
    proc = subprocess.Popen(
        follow_command(world, store), env=aws_env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        eventually(lambda: waiting(sqs, world.queues.url) == 0, "the follower deleted the event")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert out.splitlines() == [
        "stopped: 1 handled (1 changed), 0 duplicates, 0 poison, 0 retried; "
        "API calls: DescribeRegistrationVersions 1, DescribeRegistrations 1"
    ]
    assert "Traceback" not in err
    assert stored(store, reg_id).status == "CREATED"


def test_the_follow_command_says_at_start_what_is_wrong(
    world: World, aws_env: dict[str, str], tmp_path: Path, sqs: SQSClient
) -> None:
    plain = sqs.create_queue(QueueName=f"plain-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    command = follow_command(world, tmp_path / "s.db")
    command[command.index(world.queues.url)] = plain
    at = command.index("--dead-letter-queue-url")
    del command[at : at + 2]
    result = subprocess.run(
        command, env=aws_env, capture_output=True, text=True, timeout=HANG, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: InvalidArgument: SQS queue {plain} has no dead-letter path: give a dead-letter "
        "queue URL or set a redrive policy on the queue (else poison messages come back forever)"
    ]


# -- killed mid-message --------------------------------------------------------------------


class GatedApi(EmulatedRegistrationApi):
    """While ``armed``, DescribeRegistrationVersions waits for ``go`` (after ``entered``)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.armed, self.entered, self.go = threading.Event(), threading.Event(), threading.Event()

    def handle(
        self, operation: str, params: Mapping[str, Any], *, paced: bool = False
    ) -> dict[str, Any]:
        if operation == "DescribeRegistrationVersions" and self.armed.is_set():
            self.entered.set()
            self.go.wait(HANG)
        return super().handle(operation, params, paced=paced)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["before the save", "after the save"])
def test_a_follower_killed_mid_message_loses_nothing(
    sqs: SQSClient, moto_url: str, aws_env: dict[str, str], tmp_path: Path, moment: str
) -> None:
    """SIGKILL with the message received but not deleted: it comes back (after the
    queue's 2 s visibility timeout) and the restarted follower handles it once."""
    api = GatedApi(seed=24)
    store = tmp_path / "store.db"
    with world_of(sqs, moto_url, api, make_queues(sqs, visibility=2)) as world:
        reg_id = world.create()
        api.submit_registration_version(reg_id)
        try:
            kill_mid_message(world, api, store, aws_env, moment)
        finally:
            api.armed.clear()
            api.go.set()  # the killed follower's request may go on now
        saved = stored(store, reg_id) if store.exists() else None
        assert (saved is None) == (moment == "before the save")
        assert waiting(sqs, world.queues.url) == 2  # neither message was deleted
        rerun = subprocess.run(
            follow_command(world, store, "--max-messages", "2"),
            env=aws_env, capture_output=True, text=True, timeout=HANG, check=False,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr
        changed = 1 if moment == "before the save" else 0
        assert rerun.stdout.startswith(f"2 handled ({changed} changed), 0 duplicates, 0 poison")
        assert waiting(sqs, world.queues.url) == 0
        assert waiting(sqs, world.queues.dlq) == 0
    with SQLiteStore(store) as saved_store:
        events = [(e.version_number, e.trigger) for e in saved_store.events(reg_id)]
    assert events == [(1, "create"), (1, "submit")]  # each change saved exactly once
    assert stored(store, reg_id).status == "SUBMITTED"


def kill_mid_message(
    world: World, api: GatedApi, store: Path, env: dict[str, str], moment: str
) -> None:
    """Start a follower and SIGKILL it with both messages received, neither deleted:
    in DescribeRegistrationVersions (before the save), or once the save committed."""
    if moment == "before the save":
        api.armed.set()
        command = follow_command(world, store)
    else:
        command = [sys.executable, "-m", "helpers.events_follower", world.queues.url,
                   world.queues.dlq, world.moto_url, world.url, str(store)]  # fmt: skip
    with subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    ) as child:  # fmt: skip
        try:
            if moment == "before the save":
                assert api.entered.wait(HANG), "the follower never described the registration"
            else:
                assert child.stdout is not None
                assert child.stdout.readline().startswith("committed"), "it never saved"
        finally:
            child.kill()
