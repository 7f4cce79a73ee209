"""The EventFollower and the JSON Lines path: ``registration-fsm follow --events FILE|-``.

The follower re-syncs exactly the registration each event names, moves poison
aside without touching the store, retries a failure until ``max_attempts``, and
keeps going. The SQS path, end to end against moto: ``test_events_sqs.py``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import REG_ARN, REG_ID, REG_TYPE
from helpers.apis import DelegatingApi

from registration_fsm import (
    EmulatedRegistrationApi,
    MemoryStore,
    SQLiteStore,
    Synchronizer,
    serve,
)
from registration_fsm.cli import cli
from registration_fsm.errors import ApiUnavailable, InvalidArgument, InvalidEvent
from registration_fsm.ports import Filter
from registration_fsm.sync.events import (
    MAX_EVENT_BYTES,
    EventFollower,
    JsonLinesSource,
    Message,
    parse_event,
)


def event(**changes: Any) -> dict[str, Any]:
    """A well-formed event naming :data:`REG_ID`, with ``changes`` laid over it."""
    base: dict[str, Any] = {
        "version": "0",
        "id": "0d6f3d54-5b48-4a5b-8f56-0d1b1c7a7a01",
        "detail-type": "Registration Status Change",
        "source": "aws.sms-voice",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [REG_ARN],
        "detail": {"registrationId": REG_ID},
    }
    return base | changes


POISON = {
    "not JSON": ("{'source': 'aws.sms-voice'", "not JSON"),
    "a JSON list": ("[1, 2]", "not an EventBridge event"),
    "another service": (json.dumps(event(source="aws.s3")), "not an event of this service"),
    "no source": (json.dumps(event(source=None)), "not an event of this service"),
    "a message event": (
        json.dumps(event(**{"detail-type": "Text Message Delivery Status Updated"})),
        "not a registration event",
    ),
    "no registration": (json.dumps(event(resources=[], detail={})), "names no registration"),
    "two registrations": (
        json.dumps(event(detail={"registrationId": "registration-other"})),
        "several registrations",
    ),
    "a malformed id": (
        json.dumps(event(resources=[], detail={"registrationId": "bad id!"})),
        "malformed",
    ),
    "too big": (json.dumps(event(padding="x" * MAX_EVENT_BYTES)), "bytes, over"),
}


@pytest.mark.parametrize("case", POISON, ids=str)
def test_poison_is_told_apart_with_a_reason(case: str) -> None:
    body, said = POISON[case]
    with pytest.raises(InvalidEvent, match=said):
        parse_event(body)


def test_an_event_of_this_service_names_its_registration() -> None:
    assert parse_event(json.dumps(event()).encode()) == (event(), REG_ID)
    only_detail = event(resources=[])
    assert parse_event(json.dumps(only_detail))[1] == REG_ID


# -- a follower over an in-memory emulator -----------------------------------------------


class ListSource:
    """Batches given in advance; released messages come back in a later batch."""

    def __init__(self, batches: Sequence[Sequence[str]]) -> None:
        self.batches = [[Item(self, body) for body in batch] for batch in batches]
        self.acked: list[str] = []
        self.dead: list[tuple[str, str]] = []

    def receive(self, limit: int | None = None) -> Sequence[Message] | None:
        if not self.batches:
            return None
        batch = self.batches[0]
        taken, self.batches[0] = batch[:limit], batch[len(batch) if limit is None else limit :]
        if not self.batches[0]:
            self.batches.pop(0)
        return taken


class Item:
    def __init__(self, source: ListSource, body: str, attempt: int = 1) -> None:
        self.source, self.body, self.attempt = source, body, attempt
        self.message_id = f"m{id(self)}"

    def ack(self) -> None:
        self.source.acked.append(self.body)

    def release(self) -> None:
        self.source.batches.append([Item(self.source, self.body, self.attempt + 1)])

    def dead_letter(self, reason: str) -> str:
        self.source.dead.append((self.body, reason))
        return "set aside"


@pytest.fixture
def emulator() -> tuple[EmulatedRegistrationApi, list[dict[str, Any]]]:
    """An emulator (no quotas) and the list its events go to."""
    got: list[dict[str, Any]] = []
    return EmulatedRegistrationApi(seed=11, quotas=None, event_sinks=[got.append]), got


def test_poison_is_set_aside_and_the_follower_keeps_going(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, got = emulator
    syncer = Synchronizer(api, MemoryStore())
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    syncer.sync([reg_id])
    revision = syncer.store.get(reg_id)
    api.submit_registration_version(reg_id)
    poison = [body for body, _ in POISON.values()]
    # Poison naming the tracked registration, but not an event of this service.
    poison.append(json.dumps(got[-1] | {"source": "aws.s3"}))
    source = ListSource([poison, [json.dumps(got[-1])]])
    calls = sum(api.calls.values())
    follower = EventFollower(syncer)
    with caplog.at_level(logging.WARNING, logger="registration_fsm.sync.events"):
        stats = follower.run(source)
    assert (stats.poison, stats.handled, stats.changed) == (len(poison), 1, 1)
    # The poison cost nothing; the submit event: the summary, the versions and (v1 has
    # left DRAFT) its field values, read once.
    assert sum(api.calls.values()) - calls == 3
    assert [body for body, _ in source.dead] == poison
    lines = [r.getMessage() for r in caplog.records if r.name == "registration_fsm.sync.events"]
    assert len(lines) == len(poison)  # one line each
    assert all(line.startswith("poison message m") and "set aside" in line for line in lines)
    assert revision is not None
    assert syncer.get(reg_id).status == "SUBMITTED"


def test_an_event_of_another_region_or_account_never_marks_a_registration_deleted(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    """The API would not know the registration there: a sync would record it deleted."""
    api, got = emulator
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    syncer = Synchronizer(api, MemoryStore())
    syncer.sync([reg_id])
    mine = got[0]
    other_region = mine | {"region": "eu-west-1"}
    other_account = mine | {"account": "999999999999"}
    source = ListSource([[json.dumps(other_region), json.dumps(other_account)]])
    stats = EventFollower(syncer).run(source)
    assert stats.poison == 2
    assert "region 'eu-west-1', but this follower's API is in 'us-east-1'" in source.dead[0][1]
    assert "account" in source.dead[1][1]
    assert syncer.get(reg_id).status == "CREATED"


def test_a_failing_subscriber_does_not_make_a_saved_event_come_back(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, got = emulator
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    syncer = Synchronizer(api, MemoryStore())

    def broken(event: object) -> None:
        raise RuntimeError("the mailer is down")

    syncer.subscribe(broken)
    source = ListSource([[json.dumps(got[0])]])
    stats = EventFollower(syncer).run(source)
    assert (stats.handled, stats.changed, stats.retried) == (1, 1, 0)
    assert source.acked == [json.dumps(got[0])]
    assert syncer.get(reg_id).status == "CREATED"


class Flaky(DelegatingApi):
    """DescribeRegistrations fails ``failures`` times (no answer), then works."""

    def __init__(self, inner: EmulatedRegistrationApi, failures: int) -> None:
        super().__init__(inner)
        self.failures = failures

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        if self.failures:
            self.failures -= 1
            raise ApiUnavailable("connection refused")
        return super().describe_registrations(
            registration_ids=registration_ids, filters=filters, page_size=page_size
        )


@pytest.mark.parametrize(("failures", "settled"), [(2, "handled"), (3, "poison")])
def test_a_failure_comes_back_until_max_attempts(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]], failures: int, settled: str
) -> None:
    api, got = emulator
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    syncer = Synchronizer(Flaky(api, failures), MemoryStore())
    source = ListSource([[json.dumps(got[0])]])
    stats = EventFollower(syncer, max_attempts=3).run(source)
    assert stats.retried == min(failures, 2)
    if settled == "handled":
        assert (stats.handled, stats.poison) == (1, 0)
        assert syncer.get(reg_id).status == "CREATED"
    else:
        assert (stats.handled, stats.poison) == (0, 1)
        assert "failed 3 times; last: ApiUnavailable: connection refused" in source.dead[0][1]
        assert syncer.store.get(reg_id) is None


def test_events_of_one_registration_in_a_batch_share_one_sync(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, got = emulator
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    api.submit_registration_version(reg_id)
    api.advance(reg_id, "begin_review")
    syncer = Synchronizer(api, MemoryStore())
    calls = dict(api.calls)
    stats = EventFollower(syncer).run(ListSource([[json.dumps(e) for e in got]]))
    assert (stats.handled, stats.changed) == (3, 1)
    assert {k: v - calls.get(k, 0) for k, v in api.calls.items() if v != calls.get(k, 0)} == {
        "DescribeRegistrations": 1,
        "DescribeRegistrationVersions": 1,
        "DescribeRegistrationFieldValues": 1,  # v1 left DRAFT: its values, once
    }
    assert syncer.get(reg_id).status == "REVIEWING"


def test_a_duplicate_delivery_costs_no_request(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, got = emulator
    api.create_registration(REG_TYPE)
    body = json.dumps(got[0])
    syncer = Synchronizer(api, MemoryStore())
    stats = EventFollower(syncer).run(ListSource([[body]]))
    calls = sum(api.calls.values())
    follower = EventFollower(syncer)
    follower.run(ListSource([[body], [body]]))
    assert (follower.stats.handled, follower.stats.duplicates) == (1, 1)
    assert sum(api.calls.values()) - calls == 2
    assert stats.handled == 1


def test_max_messages_receives_no_more_than_it_settles(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, got = emulator
    for _ in range(5):
        api.create_registration(REG_TYPE)
    source = ListSource([[json.dumps(e) for e in got]])
    stats = EventFollower(Synchronizer(api, MemoryStore())).run(source, max_messages=2)
    assert (stats.received, stats.handled) == (2, 2)
    assert len(source.batches[0]) == 3  # left in the source, to come back


def test_an_event_for_a_registration_the_api_never_had_is_acknowledged(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, _ = emulator
    syncer = Synchronizer(api, MemoryStore())
    source = ListSource([[json.dumps(event())]])
    stats = EventFollower(syncer).run(source)
    assert (stats.handled, stats.changed, stats.poison) == (1, 0, 0)
    assert source.acked == [json.dumps(event())]
    assert syncer.store.ids() == []


class Unreachable:
    """A source that fails ``failures`` times, then ends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def receive(self, limit: int | None = None) -> Sequence[Message] | None:
        assert limit is None
        if self.failures:
            self.failures -= 1
            raise ApiUnavailable("could not connect to the endpoint URL")
        return None


def test_a_source_that_fails_is_asked_again_after_a_growing_pause(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    pauses: list[float] = []
    follower = EventFollower(Synchronizer(emulator[0], MemoryStore()), sleep=pauses.append)
    with caplog.at_level(logging.WARNING, logger="registration_fsm.sync.events"):
        follower.run(Unreachable(3))
    assert pauses == [1.0, 2.0, 4.0]
    lines = [r.getMessage() for r in caplog.records if r.name == "registration_fsm.sync.events"]
    assert len(lines) == 3
    assert lines[0].startswith("could not receive events (ApiUnavailable")


def test_follower_arguments_are_checked(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    syncer = Synchronizer(emulator[0], MemoryStore())
    with pytest.raises(InvalidArgument, match="max_attempts"):
        EventFollower(syncer, max_attempts=0)
    with pytest.raises(TypeError, match="Synchronizer"):
        EventFollower(emulator[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_messages"):
        EventFollower(syncer).run(ListSource([]), max_messages=0)
    with pytest.raises(InvalidArgument, match="batch_size"):
        JsonLinesSource(io.StringIO(), batch_size=0)


def test_json_lines_skip_blanks_and_write_poison_aside(
    emulator: tuple[EmulatedRegistrationApi, list[dict[str, Any]]],
) -> None:
    api, got = emulator
    reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
    text = f"\n{json.dumps(got[0])}\n\nnot json\n{json.dumps(got[0])}\n"
    dead = io.StringIO()
    syncer = Synchronizer(api, MemoryStore())
    stats = EventFollower(syncer).run(JsonLinesSource(io.StringIO(text), dead_letter=dead))
    assert (stats.received, stats.handled, stats.poison) == (3, 2, 1)
    (record,) = [json.loads(line) for line in dead.getvalue().splitlines()]
    assert (record["line"], record["body"]) == (4, "not json")
    assert record["reason"].startswith("not JSON")
    assert syncer.get(reg_id).status == "CREATED"


# -- registration-fsm follow --events ----------------------------------------------------


@pytest.fixture
def dummy_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", raising=False)


@pytest.mark.usefixtures("dummy_aws")
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_follow_events_keeps_the_store_current(tmp_path: Path, via: str) -> None:
    """The emulator's --events-file, read back by ``follow --events``: the store follows."""
    events_file = tmp_path / "events.jsonl"
    store = tmp_path / "store.db"
    api = EmulatedRegistrationApi(seed=12)
    with serve(api, events_file=events_file) as url:
        ids = [api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)]
        api.submit_registration_version(ids[0])
        api.advance(ids[0], "begin_review")
        api.advance(ids[0], "approve")
        api.delete_registration(ids[2])
        with events_file.open("a") as f:
            f.write("this line is poison\n")
        calls = dict(api.calls)
        args = ["follow", "--endpoint-url", url, "--store", str(store), "--events"]
        result = CliRunner().invoke(
            cli,
            [*args, str(events_file) if via == "file" else "-"],
            input=events_file.read_text() if via == "stdin" else None,
        )
        made = {k: v - calls.get(k, 0) for k, v in api.calls.items() if v != calls.get(k, 0)}
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("7 handled ("), result.stdout
    assert ", 1 poison, 0 retried; API calls: " in result.stdout
    assert len(result.stdout.splitlines()) == 1
    describes = {"DescribeRegistrations", "DescribeRegistrationVersions"}
    assert set(made) <= describes | {"DescribeRegistrationFieldValues"}
    # Two requests an event, and one more for each version that left DRAFT.
    assert sum(made.values()) <= 2 * 7 + made.get("DescribeRegistrationFieldValues", 0)
    with SQLiteStore(store) as saved:
        assert saved.ids() == sorted(ids[:2])  # ids[2] was gone before it was followed
        stored = saved.get(ids[0])
        assert stored is not None
        assert stored.registration.status == "COMPLETE"


@pytest.mark.usefixtures("dummy_aws")
def test_follow_prints_json_counts(tmp_path: Path) -> None:
    events_file = tmp_path / "events.jsonl"
    api = EmulatedRegistrationApi(seed=13)
    with serve(api, events_file=events_file) as url:
        api.create_registration(REG_TYPE)
        result = CliRunner().invoke(
            cli,
            ["follow", "--endpoint-url", url, "--store", str(tmp_path / "s.db"),
             "--events", str(events_file), "--json"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert (counts["handled"], counts["changed"], counts["poison"]) == (1, 1, 0)
    assert counts["api_calls"] == {"DescribeRegistrationVersions": 1, "DescribeRegistrations": 1}


@pytest.mark.usefixtures("dummy_aws")
def test_follow_writes_poison_lines_to_the_dead_letter_file(tmp_path: Path) -> None:
    events_file, dead = tmp_path / "events.jsonl", tmp_path / "dead.jsonl"
    events_file.write_text('{"source": "aws.s3"}\n')
    api = EmulatedRegistrationApi(seed=14)
    with serve(api) as url:
        result = CliRunner().invoke(
            cli,
            ["follow", "--endpoint-url", url, "--store", str(tmp_path / "s.db"),
             "--events", str(events_file), "--dead-letter-file", str(dead)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "0 handled (0 changed), 0 duplicates, 1 poison" in result.stdout
    (record,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert record["line"] == 1
    assert record["body"] == '{"source": "aws.s3"}'
    assert record["reason"].startswith("not an event of this service")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "exactly one of"),
        (["--events", "-", "--sqs-queue-url", "http://q"], "exactly one of"),
        (["--events", "-", "--dead-letter-queue-url", "http://q"], "only go with --sqs-queue-url"),
        (["--sqs-queue-url", "http://q", "--dead-letter-file", "dead"], "only goes with --events"),
    ],
)
def test_follow_needs_one_event_source(
    args: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["follow", "--store", "s.db", *args])
    assert not (tmp_path / "dead").exists()
    assert result.exit_code == 2
    assert said in result.output
