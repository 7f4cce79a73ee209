"""``registration-fsm worker``: the installed script syncing a fleet of two emulated
accounts into PostgreSQL and into an SQLite file.

Each account is an emulator served by this process (the same seed: their ids
collide); the fleet file names both. ``--once`` syncs every registration of both
accounts and exits; the audit chain verifies; ``--json`` prints one object per pass
with the keys scripts (the fleet benchmark) read. SIGTERM (exit 0) or Ctrl-C (exit
130) to a running worker stops its pass and releases its lease. A fleet file that
cannot be used is a one-line usage error that creates no store.

Real processes; waits wait for an event (a lease taken), with generous deadlines.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers import REG_TYPE
from helpers.resume_cli import HANG, cli_env, script

from registration_fsm import EmulatedRegistrationApi, PostgresStore, SQLiteStore, serve
from registration_fsm.cli import main
from registration_fsm.cli.worker import PASS_KEYS
from registration_fsm.errors import StoreError

ACCOUNTS = ("111122223333", "444455556666")
REGION = "us-east-1"
SHARDS = {f"{account}/{REGION}" for account in ACCOUNTS}


@attrs.frozen
class Emulated:
    """Two accounts' emulators, served; what each holds."""

    apis: tuple[EmulatedRegistrationApi, ...]
    urls: tuple[str, ...]

    def statuses(self, index: int) -> dict[str, str]:
        """Each registration of account ``index`` and its status, as the API has them."""
        return {
            r["RegistrationId"]: r["RegistrationStatus"]
            for r in self.apis[index].describe_registrations()
        }

    def fleet(self, tmp: Path, **defaults: float) -> Path:
        """A fleet file naming both accounts (``sync_interval`` an hour: one pass each)."""
        settings = {"sync_interval": 3600, "lease_seconds": 30} | defaults
        lines = ["[defaults]", *(f"{k} = {v}" for k, v in settings.items())]
        for account, url in zip(ACCOUNTS, self.urls, strict=True):
            lines += ["[[shard]]", f'account = "{account}"', f'region = "{REGION}"',
                      f'endpoint_url = "{url}"']  # fmt: skip
        path = tmp / "fleet.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def emulated(registrations: int) -> Iterator[Emulated]:
    apis = tuple(EmulatedRegistrationApi(seed=9, account=a, region=REGION) for a in ACCOUNTS)
    for api in apis:
        for _ in range(registrations):
            api.create_registration(REG_TYPE)
    first = next(apis[0].describe_registrations())["RegistrationId"]
    apis[0].submit_registration_version(first)  # the two accounts differ in one
    with serve(apis[0]) as url_a, serve(apis[1]) as url_b:
        yield Emulated(apis, (url_a, url_b))


@pytest.fixture
def accounts() -> Iterator[Emulated]:
    yield from emulated(6)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials; the suite's quota scale (the emulators enforce it too)."""
    return cli_env(tmp_path) | {
        "REGISTRATION_FSM_QUOTA_SCALE": os.environ.get("REGISTRATION_FSM_QUOTA_SCALE", "1000"),
        "REGISTRATION_FSM_CATALOG": "none",
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script(), *args], env=env, capture_output=True, text=True, timeout=HANG, check=False
    )


def passes(stdout: str) -> list[dict[str, Any]]:
    """The ``--json`` lines: one object per line, with exactly the documented keys."""
    out = []
    for line in stdout.splitlines():
        item = json.loads(line)
        assert set(item) == set(PASS_KEYS), line
        out.append(item)
    return out


def check_stored(store: Any, accounts: Emulated) -> None:
    """Every registration of both accounts stored under its account, as the API has it."""
    for index, account in enumerate(ACCOUNTS):
        view = store.where(account=account, region=REGION)
        remote = accounts.statuses(index)
        assert view.ids() == sorted(remote)
        assert {r.id: str(r.status) for r in view.registrations()} == remote


def test_once_syncs_both_accounts_into_postgres(
    env: dict[str, str], accounts: Emulated, postgres_url: str, tmp_path: Path
) -> None:
    fleet = accounts.fleet(tmp_path)
    done = run(env, "worker", "--fleet", str(fleet), "--store", postgres_url, "--once", "--json",
               "--slots", "2", "--owner", "test-worker")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    found = passes(done.stdout)
    assert {p["shard"] for p in found} == SHARDS
    assert len(found) == 2
    for item in found:
        assert (item["owner"], item["error"], item["failed"], item["events"]) == (
            "test-worker", None, 0, 0
        )  # fmt: skip
        assert item["registrations"] == item["changed"] == 6
        assert item["api_calls"]["DescribeRegistrations"] >= 1
        started = datetime.fromisoformat(item["started"])
        ended = datetime.fromisoformat(item["ended"])
        assert started.utcoffset() == ended.utcoffset() == UTC.utcoffset(None)
        assert started <= ended
        assert item["seconds"] >= 0
    with PostgresStore(postgres_url) as store:
        check_stored(store, accounts)
        assert store.leases() == []
    verdict = run(env, "audit", "verify", postgres_url)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert " intact: 13 records" in verdict.stdout  # 12 creates, 1 submit
    # Both shards were synced within their sync_interval: --once has nothing to do.
    again = run(env, "worker", "--fleet", str(fleet), "--store", postgres_url, "--once", "--json")
    assert (again.returncode, again.stdout) == (0, ""), again.stderr


def test_once_syncs_both_accounts_into_sqlite(
    env: dict[str, str], accounts: Emulated, tmp_path: Path
) -> None:
    store = tmp_path / "fleet.db"
    done = run(env, "worker", "--fleet", str(accounts.fleet(tmp_path)), "--store", str(store),
               "--once")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.splitlines())
    pattern = r"(\d{12})/us-east-1: 6 registrations, 6 changed, 0 failed, \d+\.\d s"
    assert [re.fullmatch(pattern, line) is not None for line in lines] == [True, True], lines
    assert [line.split("/")[0] for line in lines] == list(ACCOUNTS)
    with SQLiteStore(store, read_only=True) as opened:
        check_stored(opened, accounts)
    verdict = run(env, "audit", "verify", str(store))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert verdict.stdout.startswith(f"{store}: intact: 13 records")


@pytest.fixture
def slow_accounts() -> Iterator[Emulated]:
    """Accounts whose pass takes a while at AWS's real quotas (20 describes at 1/s)."""
    yield from emulated(20)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])  # fmt: skip
def test_a_signal_stops_the_pass_and_releases_the_lease(
    env: dict[str, str], slow_accounts: Emulated, postgres_url: str, tmp_path: Path,
    signum: int, code: int,
) -> None:  # fmt: skip
    fleet = slow_accounts.fleet(tmp_path)
    real_quotas = {k: v for k, v in env.items() if k != "REGISTRATION_FSM_QUOTA_SCALE"}
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:  # a child would inherit SIG_IGN and never see Ctrl-C (see helpers.resume_cli)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [script(), "worker", "--fleet", str(fleet), "--store", postgres_url],
            env=real_quotas, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        held = wait_for_a_lease(proc, postgres_url)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert f"{held}: ended early: the worker is stopping" in out.splitlines()
    assert "its leases released" in err.splitlines()[-1]
    with PostgresStore(postgres_url) as store:
        assert store.leases() == []


def wait_for_a_lease(proc: subprocess.Popen[str], url: str) -> str:
    """The shard the running worker leased (waited for: its first pass has begun)."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the worker ended (status {proc.returncode}): {out} {err}")
        try:
            with PostgresStore(url, read_only=True) as store:
                leases = store.leases()
        except StoreError:  # the worker has not made the schema yet
            leases = []
        if leases:
            return str(leases[0].shard)
        time.sleep(0.05)
    raise AssertionError(f"the worker took no lease in {HANG} s")


# -- refusals ------------------------------------------------------------------------------

#: A fleet file that cannot be used, and what its one error line says.
BAD_FLEETS = {
    "missing": (None, "cannot read it"),
    "not TOML": ("[[shard]\n", "not TOML"),
    "unknown key": ('[[shard]]\naccount = "111122223333"\nregion = "us-east-1"\nprofil = "x"\n',
                    "profil"),
    "no shard": ("[defaults]\nlease_seconds = 30\n", "no [[shard]] tables"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FLEETS))
def test_a_fleet_file_that_cannot_be_used_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, says = BAD_FLEETS[case]
    fleet = tmp_path / "fleet.toml"
    if text is not None:
        fleet.write_text(text, encoding="utf-8")
    store = tmp_path / "store.db"
    assert main(["worker", "--fleet", str(fleet), "--store", str(store), "--once"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"Error: Invalid value for --fleet: {fleet}: "), err
    assert says in err[-1]
    assert not store.exists()


def test_an_owner_that_cannot_name_a_lease_is_a_usage_error(
    accounts: Emulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.db"
    fleet = accounts.fleet(tmp_path)
    code = main(["worker", "--fleet", str(fleet), "--store", str(store), "--owner", "a\tb"])
    assert code == 2
    assert "a lease owner is 1..200 printable characters" in capsys.readouterr().err
    assert not store.exists()


def test_once_tries_an_unreachable_shard_once_and_exits_1(
    env: dict[str, str], tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        "[defaults]\nmax_attempts = 1\nconnect_timeout = 5\n"
        '[[shard]]\naccount = "111122223333"\nregion = "us-east-1"\n'
        'endpoint_url = "http://127.0.0.1:9"\n'  # the discard port: nothing listens
    )
    done = run(env, "worker", "--fleet", str(fleet), "--store", str(tmp_path / "s.db"),
               "--once", "--poll", "0.1")  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("111122223333/us-east-1: ended early: ") == 1, done.stdout
    assert done.stderr.splitlines()[-1] == (
        "Error: --once: the pass of 111122223333/us-east-1 failed (tried once)"
    )
