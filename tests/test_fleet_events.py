"""The fleet fed by events: a worker holding a shard drains that shard's SQS queue.

Real parts: each account an emulator served over HTTP whose events an "EventBridge
rule" sends to the account's queue in moto's SQS server; the worker reaches both
through the fleet file (endpoint_url, events_queue_url, sqs_endpoint_url).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import REG_TYPE
from moto.server import ThreadedMotoServer

from registration_fsm import EmulatedRegistrationApi, serve
from registration_fsm.fleet import FleetConfig, ShardPass, Worker
from registration_fsm.store import SQLiteStore

ACCOUNTS = ("111122223333", "444455556666")


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_a_worker_drains_each_shards_queue_after_its_sync(moto_url: str, tmp_path: Path) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    emus: dict[str, EmulatedRegistrationApi] = {}
    shards: list[dict[str, Any]] = []
    with ExitStack() as stack:
        for account in ACCOUNTS:
            emu = EmulatedRegistrationApi(account=account, region="us-east-1", seed=4)
            dead = sqs.create_queue(QueueName=f"dead-{account}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
            redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": "5"}
            queue = sqs.create_queue(  # as docs/aws.md sets one up: poison goes aside
                QueueName=f"events-{account}", Attributes={"RedrivePolicy": json.dumps(redrive)}
            )["QueueUrl"]

            def to_queue(event: Mapping[str, Any], queue: str = queue) -> None:
                sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))

            emu.add_event_sink(to_queue)
            emus[account] = emu
            url = stack.enter_context(serve(emu))
            shards.append(
                {
                    "account": account, "region": "us-east-1", "endpoint_url": url,
                    "events_queue_url": queue, "sqs_endpoint_url": moto_url,
                }
            )  # fmt: skip
        config = FleetConfig.from_mapping(
            {"defaults": {"sync_interval": 0.01, "lease_seconds": 30}, "shard": shards}
        )
        ids = {a: [e.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)]
               for a, e in emus.items()}  # fmt: skip
        store_path = tmp_path / "fleet.db"

        def run_once() -> list[ShardPass]:
            worker = Worker(config, lambda: SQLiteStore(store_path), once=True, poll=0.05)
            worker.run()
            return worker.passes

        first = run_once()  # syncs both shards, then drains what their creation queued
        assert sorted(str(p.shard) for p in first) == [f"{a}/us-east-1" for a in ACCOUNTS]
        assert all(p.error is None for p in first), [p.error for p in first]
        # Between passes AWS moves one registration per account: events are queued.
        for account, emu in emus.items():
            emu.submit_registration_version(ids[account][0])
            emu.advance(ids[account][0], "begin_review")
        second = run_once()
        assert all(p.error is None for p in second), [p.error for p in second]
        assert sum(p.events for p in second) >= 4  # two status changes in each account
        with SQLiteStore(store_path) as store:
            for account in ACCOUNTS:
                stored = store.where(account=account).get(ids[account][0])
                assert stored is not None
                assert str(stored.registration.current_version.status) == "REVIEWING"
        for shard in shards:  # every message handled and deleted
            left = sqs.get_queue_attributes(
                QueueUrl=shard["events_queue_url"],
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
            assert left["ApproximateNumberOfMessages"] == "0"
