"""Quotas enforced by the emulator, and every request paced by the adapters."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from helpers import REG_TYPE

from registration_fsm import (
    DEFAULT_QUOTAS,
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    EmulatorClient,
    InvalidArgument,
    MemoryStore,
    Quotas,
    Synchronizer,
    ThrottledError,
    serve,
)
from registration_fsm.pacing import FLOOR, MARGIN, RECOVERY, Pacer, TokenBucket
from registration_fsm.testing import VirtualClock

# -- the pieces -------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock and a sleep that advances it, recording each pause."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.pauses.append(seconds)


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(2.0, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5)
    assert not bucket.take(0.5)
    assert [bucket.take(10.0) for _ in range(4)] == [True, True, True, False]  # capped
    with pytest.raises(InvalidArgument):
        TokenBucket(0.0)
    with pytest.raises(InvalidArgument):
        TokenBucket(1.0, burst=0.5)


def test_the_pacer_spaces_each_operation_at_its_rate_less_the_margin() -> None:
    time = FakeTime()
    pacer = Pacer({"A": 2.0, "B": 1.0}, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        pacer.acquire("A")
    pacer.acquire("B")
    pacer.acquire("B")
    pacer.acquire("Unpaced")
    gap_a, gap_b = 1 / (2 * (1 - MARGIN)), 1 / (1 - MARGIN)
    # Concurrent callers reserve successive slots: nobody is bunched with another.
    assert time.pauses == pytest.approx([gap_a, 2 * gap_a, gap_b])
    assert pacer.waited["A"] == pytest.approx(3 * gap_a)
    assert pacer.seconds_for({"A": 10, "B": 3}) == pytest.approx(5.0)


def test_threads_share_one_pacer_and_get_distinct_slots() -> None:
    time = FakeTime()
    pacer = Pacer({"A": 10.0}, clock=time.clock, sleep=time.sleep, margin=0.0)
    threads = [threading.Thread(target=pacer.acquire, args=("A",)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(time.pauses) == pytest.approx([n / 10 for n in range(1, 20)])


def test_the_pacer_backs_off_on_throttling_and_climbs_back() -> None:
    time = FakeTime()
    pacer = Pacer({"A": 4.0}, clock=time.clock, sleep=time.sleep)
    pacer.throttled("A")
    assert pacer.rate("A") == 2.0
    for _ in range(10):
        pacer.throttled("A")
    assert pacer.rate("A") == pytest.approx(4.0 * FLOOR)  # never below the floor
    steps = 0
    while pacer.rate("A") < 4.0:
        pacer.answered("A")
        steps += 1
    assert steps == pytest.approx((1 - FLOOR) / RECOVERY, abs=1)
    assert pacer.rate("A") == 4.0  # never above the quota
    assert pacer.throttled_answers["A"] == 11


# -- the emulator enforces them -------------------------------------------------------------


def test_a_burst_of_raw_requests_is_throttled_per_operation() -> None:
    emulator = EmulatedRegistrationApi(clock=VirtualClock(), quotas=DEFAULT_QUOTAS)
    emulator.handle("CreateRegistration", {"RegistrationType": REG_TYPE})
    with pytest.raises(ThrottledError, match="Rate exceeded") as caught:
        emulator.handle("CreateRegistration", {"RegistrationType": REG_TYPE})
    assert caught.value.operation == "CreateRegistration"
    # Another operation has its own quota; a throttled request changed nothing.
    assert len(emulator.handle("DescribeRegistrations", {})["Registrations"]) == 1
    assert emulator.throttled == {"CreateRegistration": 1}
    assert emulator.calls["CreateRegistration"] == 2  # a throttled request is a request


def test_paced_calls_on_a_virtual_clock_run_at_once_and_take_what_aws_would() -> None:
    clock = VirtualClock()
    emulator = EmulatedRegistrationApi(clock=clock, quotas=DEFAULT_QUOTAS, seed=1)
    for _ in range(20):
        emulator.create_registration(REG_TYPE)
    assert clock.elapsed == 19  # 20 creates at 1 per second, the first at once
    before = clock.elapsed
    report = Synchronizer(emulator, MemoryStore()).sync()
    assert len(report.changed) == 20
    assert not report.failed
    assert emulator.throttled == {}
    # 20 DescribeRegistrationVersions at 1 per second (the listing runs beside them).
    assert clock.elapsed - before == 19


def test_quotas_can_be_raised_or_turned_off() -> None:
    clock = VirtualClock()
    raised = EmulatedRegistrationApi(clock=clock, quotas={"CreateRegistration": 10})
    for _ in range(21):
        raised.create_registration(REG_TYPE)
    # A second's worth (10) at once (the bucket's burst), then 10 a second.
    assert clock.elapsed == pytest.approx(1.1, abs=1e-4)
    off = EmulatedRegistrationApi(clock=VirtualClock(), quotas=None)
    for _ in range(50):
        off.handle("DescribeRegistrations", {})
    assert off.throttled == {}


def test_a_clock_that_never_moves_cannot_refill_and_says_so() -> None:
    frozen = VirtualClock()
    api = EmulatedRegistrationApi(clock=frozen, quotas=DEFAULT_QUOTAS, sleep=lambda _: None)
    api.create_registration(REG_TYPE)
    with pytest.raises(ThrottledError, match="does not move"):
        api.create_registration(REG_TYPE)


@pytest.fixture
def strict() -> Iterator[tuple[EmulatedRegistrationApi, str]]:
    """An emulator enforcing AWS's default quotas over HTTP, on real time."""
    emulator = EmulatedRegistrationApi(seed=3, quotas=DEFAULT_QUOTAS)
    with serve(emulator) as url:
        yield emulator, url


def test_over_http_an_excess_request_gets_the_throttling_body_aws_sends(
    strict: tuple[EmulatedRegistrationApi, str],
) -> None:
    _, url = strict
    answers = []
    for _ in range(2):
        request = urllib.request.Request(
            url,
            data=b"{}",
            headers={
                "X-Amz-Target": "PinpointSMSVoiceV2.DescribeRegistrations",
                "Content-Type": "application/x-amz-json-1.0",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as err:
            answers.append((err.code, json.loads(err.read())))
    assert answers[0][0] == 200
    assert answers[1] == (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    # The control target is never throttled.
    client = EmulatorClient(url)
    for _ in range(5):
        assert "DescribeRegistrations" in client.calls()


def test_a_raw_boto3_burst_fails_where_the_paced_adapter_does_not(
    strict: tuple[EmulatedRegistrationApi, str],
) -> None:
    emulator, url = strict
    session = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    paced = Boto3RegistrationApi.from_config(
        session=session, endpoint_url=url, quotas=DEFAULT_QUOTAS, account="123456789012"
    )
    for _ in range(3):
        list(paced.describe_registrations())
    assert paced.pacer is not None
    assert paced.pacer.waited["DescribeRegistrations"] > 1.5  # it waited for its slots
    assert emulator.throttled == {}  # and was never throttled
    raw = session.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    refused = 0
    for _ in range(3):
        try:
            raw.describe_registrations()
        except raw.exceptions.ThrottlingException:
            refused += 1
    assert refused >= 2


def test_one_pacer_per_account_and_region_shared_by_every_adapter() -> None:
    session = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    make = Boto3RegistrationApi.from_config
    a = make(session=session, endpoint_url="http://127.0.0.1:9", account="111111111111")
    b = make(session=session, endpoint_url="http://127.0.0.1:9", account="111111111111")
    c = make(session=session, endpoint_url="http://127.0.0.1:9", account="222222222222")
    d = make(session=session, endpoint_url="http://127.0.0.1:9", region="eu-west-1",
             account="111111111111")  # fmt: skip
    off = make(session=session, endpoint_url="http://127.0.0.1:9", quotas=None)
    assert a.pacer is b.pacer
    assert a.pacer is not c.pacer
    assert a.pacer is not d.pacer
    assert off.pacer is None


def test_the_pacer_adapts_when_someone_else_shares_the_account() -> None:
    """The adapter believes in 40 requests a second; the account has 10 left for it. The
    sync still completes with no failure, the pacer having slowed to what is left."""
    # Creating is not what is measured: its quota is set out of the way.
    quotas = Quotas.of({"CreateRegistration": 100_000}).scaled(10)
    emulator = EmulatedRegistrationApi(seed=4, quotas=quotas, account="333333333333")
    for _ in range(40):
        emulator.create_registration(REG_TYPE)
    with serve(emulator) as url:
        session = boto3.session.Session(
            aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
        )
        api = Boto3RegistrationApi.from_config(
            session=session,
            endpoint_url=url,
            quotas=Quotas.of({}).scaled(40),
            account="333333333333",
            max_attempts=3,
        )
        report = Synchronizer(api, MemoryStore()).sync()
    assert not report.failed, report.failed
    assert len(report.changed) == 40
    assert api.pacer is not None
    throttled = api.pacer.throttled_answers["DescribeRegistrationVersions"]
    assert 0 < throttled < 40 / 2  # it met the shortfall and slowed, not once per request
