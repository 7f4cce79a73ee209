"""The worker in process: passes over every shard, stops cleanly, backs off a failing shard.

The failure tests (killed workers, a restarted PostgreSQL, races) are in
tests/test_fleet_failures.py; the command in tests/test_cli_worker.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from helpers import REG_TYPE

from registration_fsm import EmulatedRegistrationApi
from registration_fsm.errors import AccessDeniedError
from registration_fsm.fleet import FleetConfig, ShardConfig, ShardPass, Worker
from registration_fsm.store import SQLiteStore

ACCOUNTS = ("111122223333", "444455556666")


def fleet(**defaults: Any) -> FleetConfig:
    return FleetConfig.from_mapping(
        {
            "defaults": {"sync_interval": 3600, "lease_seconds": 30, **defaults},
            "shard": [{"account": a, "region": "us-east-1"} for a in ACCOUNTS],
        }
    )


def emulators() -> dict[str, EmulatedRegistrationApi]:
    made = {}
    for account in ACCOUNTS:
        emu = EmulatedRegistrationApi(account=account, region="us-east-1", seed=2)
        for _ in range(4):
            emu.create_registration(REG_TYPE)
        made[account] = emu
    return made


def test_a_worker_once_syncs_every_shard_then_exits(tmp_path: Path) -> None:
    emus = emulators()
    seen: list[ShardPass] = []
    worker = Worker(
        fleet(),
        lambda: SQLiteStore(tmp_path / "s.db"),
        once=True,
        on_pass=seen.append,
        api_factory=lambda settings: emus[settings.shard.account],
    )
    worker.run()
    assert sorted(str(p.shard) for p in seen) == [f"{a}/us-east-1" for a in ACCOUNTS]
    assert all(p.error is None and p.report is not None for p in seen)
    with SQLiteStore(tmp_path / "s.db") as store:
        for account in ACCOUNTS:
            assert len(store.where(account=account).ids()) == 4
        assert store.leases() == []
        assert store.due([p.shard for p in seen], 3600) == []
    # Nothing is due any more: a second worker exits at once, without a pass.
    again = Worker(fleet(), lambda: SQLiteStore(tmp_path / "s.db"), once=True)
    again.run()
    assert again.passes == []


def test_once_passes_each_shard_once_however_long_the_run(tmp_path: Path) -> None:
    """A run longer than sync_interval does not start over (a timer job must end)."""
    emus = emulators()
    worker = Worker(
        fleet(sync_interval=0.001),
        lambda: SQLiteStore(tmp_path / "s.db"),
        once=True,
        api_factory=lambda settings: emus[settings.shard.account],
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive()
    assert sorted(str(p.shard) for p in worker.passes) == [f"{a}/us-east-1" for a in ACCOUNTS]


def test_stop_ends_the_worker_and_releases_its_leases(tmp_path: Path) -> None:
    emus = emulators()
    worker = Worker(
        fleet(sync_interval=0.1),  # passes go on until stopped
        lambda: SQLiteStore(tmp_path / "s.db"),
        slots=2,
        poll=0.05,
        api_factory=lambda settings: emus[settings.shard.account],
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 120
    while len(worker.passes) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    thread.join(120)
    assert not thread.is_alive()
    assert len(worker.passes) >= 4
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.leases() == []


def test_a_failing_shard_is_backed_off_not_retried_in_a_loop(tmp_path: Path) -> None:
    def refused(settings: ShardConfig) -> Any:
        raise AccessDeniedError("not authorized to perform: sts:AssumeRole")

    worker = Worker(fleet(), lambda: SQLiteStore(tmp_path / "s.db"), poll=0.5, api_factory=refused)
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 120
    while len(worker.passes) < 2 and time.monotonic() < deadline:  # each shard failed once
        time.sleep(0.05)
    time.sleep(2)  # without a back-off, thousands of passes would fail meanwhile
    worker.stop()
    thread.join(120)
    assert 2 <= len(worker.passes) <= 8, len(worker.passes)  # ~0.5 s, then 1 s, per shard
    assert all("AccessDenied" in (p.error or "") for p in worker.passes)
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.leases() == []
        assert len(store.due([p.shard for p in worker.passes], 3600)) == 2  # never synced
