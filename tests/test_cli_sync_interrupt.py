"""Ctrl-C during ``registration-fsm sync``: what was saved stays saved, one line says what
is left, the exit status is 130, and the next sync resumes.

The script runs against an emulator served by this process, paced at a quota slow
enough to be interrupted (``--quota DescribeRegistrationVersions=5``); the test
sends SIGINT once the store shows a few registrations saved, so the signal lands
mid-sync by what the script did, not by timing. Nothing is timed: waits are
generous guards against a hang.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REG_TYPE
from helpers.resume_cli import (
    HANG,
    cli_env,
    revisions,
    run_sync,
    saved_since,
    start_sync,
    wait_for_saves,
)

from registration_fsm import EmulatedRegistrationApi, serve
from registration_fsm.store import SQLiteStore

REGISTRATIONS = 30
SLOW = ("--quota", "DescribeRegistrationVersions=5")
FAST = ("--quota", "DescribeRegistrationVersions=1000")
SUMMARY = re.compile(r"interrupted: (\d+) saved, (\d+) left; run sync again to resume")


@pytest.fixture
def api() -> EmulatedRegistrationApi:
    emulator = EmulatedRegistrationApi(seed=31)
    for _ in range(REGISTRATIONS):
        emulator.create_registration(REG_TYPE)
    return emulator


@pytest.fixture
def url(api: EmulatedRegistrationApi) -> Iterator[str]:
    with serve(api) as served:
        yield served


@pytest.mark.parametrize("full", [False, True], ids=["first-sync", "full"])
def test_ctrl_c_keeps_what_was_saved_says_so_in_one_line_and_the_next_sync_resumes(
    api: EmulatedRegistrationApi, url: str, tmp_path: Path, full: bool
) -> None:
    env, store = cli_env(tmp_path), tmp_path / "local.db"
    flags = ("--full",) if full else ()
    if full:  # a full sync describes what an incremental one would skip
        assert run_sync(env, url, store, *FAST).returncode == 0
    before = revisions(store)

    proc = start_sync(env, url, store, *SLOW, *flags)
    try:
        wait_for_saves(proc, store, before, 3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 130, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    found = SUMMARY.fullmatch(lines[0])
    assert found is not None, lines[0]
    saved = saved_since(before, revisions(store))
    assert int(found[1]) == len(saved) >= 3  # in-flight pulls finished and were counted
    assert int(found[2]) == REGISTRATIONS - len(saved)
    assert len(saved) < REGISTRATIONS, "interrupted mid-sync"

    calls = dict(api.calls)
    resumed = run_sync(env, url, store, *FAST, *flags, "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    described = api.calls["DescribeRegistrationVersions"] - calls["DescribeRegistrationVersions"]
    assert described == REGISTRATIONS - len(saved)  # only what was not saved yet
    assert set(report["resumed" if full else "unchanged"]) == saved
    with SQLiteStore(store) as local:
        assert local.ids() == sorted(s["RegistrationId"] for s in api.describe_registrations())
        for reg_id in local.ids():
            stored = local.get(reg_id)
            assert stored is not None
            assert stored.registration == api._resolve(reg_id).registration


def test_a_resumed_full_sync_says_so_and_restart_describes_everything(
    api: EmulatedRegistrationApi, url: str, tmp_path: Path
) -> None:
    env, store = cli_env(tmp_path), tmp_path / "local.db"

    def interrupted_full_sync_then_everything_pulled() -> None:
        with SQLiteStore(store) as local:
            local.begin_sync("full")  # a --full sync began and was interrupted...
        assert run_sync(env, url, store, *FAST).returncode == 0  # ...all was pulled since

    def describes(*args: str) -> tuple[int, list[str]]:
        before = api.calls["DescribeRegistrationVersions"]
        done = run_sync(env, url, store, *FAST, *args)
        assert done.returncode == 0, done.stderr
        return api.calls["DescribeRegistrationVersions"] - before, done.stdout.splitlines()

    interrupted_full_sync_then_everything_pulled()
    resumed, lines = describes("--full")
    assert resumed == 0
    assert lines[-2:] == [
        f"  resumed: {REGISTRATIONS} pulled since an interrupted --full sync began and "
        "unchanged since, not described again (--restart: describe them too)",
        "0 changed, 0 unchanged, 0 deleted, 0 not found, 0 failed; "
        "API calls: DescribeRegistrations 1",
    ]

    for summary in api.describe_registrations():  # everything moves, so is pulled again
        api.submit_registration_version(summary["RegistrationId"])
    interrupted_full_sync_then_everything_pulled()
    restarted, lines = describes("--full", "--restart")
    assert restarted == REGISTRATIONS
    assert not any(line.startswith("  resumed:") for line in lines)

    usage = run_sync(env, url, store, "--restart")
    assert usage.returncode == 2
    assert usage.stderr.splitlines()[-1] == "Error: --restart only applies to a --full sync"
