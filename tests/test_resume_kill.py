"""A sync SIGKILLed again and again resumes each time where it stopped.

``registration-fsm sync`` runs against an emulator served by this process, paced
slowly enough to be killed mid-way (``--quota DescribeRegistrationVersions=20``).
Each run is SIGKILLed once it saved a seeded number of registrations (read from the
store, so the kill lands by what the run did, not by timing: between two saves or
inside one). Now and then the API changes a registration a killed run had saved.
Then a last run completes, and:

- each killed run left a store that opens and whose audit chain verifies;
- no run saved again what an earlier one had saved (each registration's revision
  grew once in the whole series, twice for one the API changed after its save):
  resuming does not describe again what was saved;
- the last run describes exactly what was not saved yet, plus what changed since
  (DescribeRegistrationVersions counted by the emulator), and every registration
  ends as the API has it.

Run for the first sync of an account (incremental, into an empty store: resumed
by the summaries saved) and for ``--full`` (resumed by the store's checkpoint).
``RFSM_RESUME_KILLS`` (default 12) sets the kills, ``RFSM_SEED`` the seed.
"""

from __future__ import annotations

import json
import os
import random
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
from registration_fsm.audit import verify
from registration_fsm.store import SQLiteStore

KILLS = int(os.environ.get("RFSM_RESUME_KILLS", "12"))
SEED = int(os.environ.get("RFSM_SEED", "20260515"))
#: Enough that every kill lands mid-sync (each run saves a few, and those in flight).
REGISTRATIONS = 20 + 8 * KILLS
SLOW = ("--quota", "DescribeRegistrationVersions=20,DescribeRegistrations=1000")
FAST = ("--quota", "DescribeRegistrationVersions=1000,DescribeRegistrations=1000")


@pytest.fixture
def api() -> EmulatedRegistrationApi:
    emulator = EmulatedRegistrationApi(seed=SEED)
    for _ in range(REGISTRATIONS):
        emulator.create_registration(REG_TYPE)
    return emulator


@pytest.fixture
def url(api: EmulatedRegistrationApi) -> Iterator[str]:
    with serve(api) as served:
        yield served


@pytest.mark.slow
@pytest.mark.parametrize("full", [False, True], ids=["first-sync", "full"])
def test_a_sync_killed_many_times_resumes_where_it_stopped(
    api: EmulatedRegistrationApi, url: str, tmp_path: Path, full: bool
) -> None:
    env, store = cli_env(tmp_path), tmp_path / "local.db"
    flags = ("--full",) if full else ()
    if full:  # every registration stored, its summary current: a full sync's work only
        assert run_sync(env, url, store, *FAST).returncode == 0
    rng = random.Random(SEED)
    start = revisions(store)
    saved: set[str] = set()  # saved by a killed run, unchanged since
    moved: set[str] = set()  # changed by the API after a killed run saved it

    for kill in range(KILLS):
        before = revisions(store)
        proc = start_sync(env, url, store, *SLOW, *flags)
        try:
            wait_for_saves(proc, store, before, rng.randint(1, 4))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        this_run = saved_since(before, revisions(store))
        assert not this_run & saved, f"kill {kill}: saved again what an earlier run had saved"
        saved |= this_run
        with SQLiteStore(store) as opened:
            assert verify(*opened.audit_trail()).ok, f"kill {kill}"
        if kill % 3 == 1:  # the API changes a registration the killed runs had saved
            changed = rng.choice(sorted(saved - moved))
            api.submit_registration_version(changed)
            saved.discard(changed)
            moved.add(changed)
    assert len(saved) < REGISTRATIONS - 5, "the kills came mid-sync"

    calls = dict(api.calls)
    last = run_sync(env, url, store, *FAST, *flags, "--json")

    assert last.returncode == 0, last.stderr
    report = json.loads(last.stdout)
    described = api.calls["DescribeRegistrationVersions"] - calls["DescribeRegistrationVersions"]
    assert described == REGISTRATIONS - len(saved)  # what was not saved yet, and what moved
    assert set(report["resumed" if full else "unchanged"]) == saved
    final = revisions(store)
    saves = {i: revision - start.get(i, 0) for i, revision in final.items()}
    assert saves == {i: 2 if i in moved else 1 for i in final}  # each saved once, over all runs
    with SQLiteStore(store) as local:
        assert verify(*local.audit_trail()).ok
        assert local.ids() == sorted(s["RegistrationId"] for s in api.describe_registrations())
        for reg_id in local.ids():
            stored = local.get(reg_id)
            assert stored is not None
            assert stored.registration == api._resolve(reg_id).registration
