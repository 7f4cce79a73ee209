"""The audit trail: hash-chained in the store, exported as JSON Lines, verified.

Each of the four tamperings — a record changed, removed, reordered or inserted —
is detected in an export and in an SQLite store, naming the first bad record.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import Registration, TransitionEvent
from registration_fsm.audit import GENESIS, export_jsonl, verify, verify_path
from registration_fsm.store import MemoryStore, PostgresStore, SQLiteStore

CLI = [sys.executable, "-m", "registration_fsm.cli"]
#: Seconds a CLI process may take before the test calls it hung (a guard, not a measure).
HANG = 120


def _fill(store: MemoryStore | SQLiteStore) -> list[TransitionEvent]:
    clock = TickingClock()
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    events = [reg.current_version.created_event(actor="alice")]
    store.save(reg, events[:1])
    for trigger in ("submit", "begin_review", "deny"):
        event = reg.fire(trigger, clock=clock, actor="alice" if trigger == "submit" else None)
        store.save(reg, [event])
        events.append(event)
    events.append(reg.create_version(clock=clock, actor="bob"))
    store.save(reg, events[-1:])
    return events


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore | SQLiteStore]:
    made: MemoryStore | SQLiteStore | PostgresStore
    if request.param == "postgres":
        made = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    with made:
        yield made  # type: ignore[misc]  # the tests name the two; all three behave alike


def test_every_saved_event_is_chained(store: MemoryStore | SQLiteStore) -> None:
    assert store.audit_head().seq == 0
    assert store.audit_head().hash == GENESIS
    events = _fill(store)
    records = list(store.audit_records())
    assert [r.seq for r in records] == list(range(1, len(events) + 1))
    assert [TransitionEvent.from_dict(r.event) for r in records] == events
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    verdict = verify(records, store.audit_head())
    assert verdict.ok, verdict
    assert verdict.records == len(events)


def _export(store: MemoryStore | SQLiteStore, path: Path) -> list[str]:
    with path.open("w") as out:
        export_jsonl(store, out)
    return path.read_text().splitlines()


def _changed(lines: list[str]) -> list[str]:
    record = json.loads(lines[2])
    record["event"]["actor"] = "mallory"
    return [*lines[:2], json.dumps(record), *lines[3:]]


TAMPERINGS: dict[str, tuple[Callable[[list[str]], list[str]], int | None]] = {
    "changed": (_changed, 3),
    "removed": (lambda lines: lines[:1] + lines[2:], 3),
    "reordered": (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], 3),
    "inserted": (lambda lines: [lines[0], lines[0].replace('"seq": 1', '"seq": 2'), *lines[1:]], 2),
    "truncated": (lambda lines: lines[:-2], None),
}


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_export_tampering_is_detected(how: str, tmp_path: Path) -> None:
    store = MemoryStore()
    _fill(store)
    lines = _export(store, tmp_path / "audit.jsonl")
    assert verify_path(tmp_path / "audit.jsonl").ok
    tamper, first_bad = TAMPERINGS[how]
    (tmp_path / "bad.jsonl").write_text("\n".join(tamper(lines)) + "\n")
    verdict = verify_path(tmp_path / "bad.jsonl")
    assert not verdict.ok
    assert verdict.first_bad == first_bad, verdict
    assert verdict.problem


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


SQL_TAMPERINGS = {
    "changed": (
        ["UPDATE events SET event = replace(event, 'alice', 'mallory') WHERE seq = 2"], 2),
    "removed": (["DELETE FROM events WHERE seq = 3"], 4),
    "reordered": ([
        "UPDATE events SET seq = 100 WHERE seq = 2",
        "UPDATE events SET seq = 2 WHERE seq = 3",
        "UPDATE events SET seq = 3 WHERE seq = 100",
    ], 2),
    "inserted": ([
        "INSERT INTO events (seq, registration_id, event, prev_hash, hash) "
        "SELECT 6, registration_id, event, hash, hash FROM events WHERE seq = 5",
    ], 6),
    "removed at the end": (["DELETE FROM events WHERE seq = 5"], 5),
}  # fmt: skip


@pytest.mark.parametrize("how", list(SQL_TAMPERINGS))
def test_store_tampering_is_detected(how: str, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        _fill(store)
    assert verify_path(path).ok
    statements, first_bad = SQL_TAMPERINGS[how]
    _sql(path, *statements)
    verdict = verify_path(path)
    assert not verdict.ok
    assert verdict.first_bad == first_bad, verdict


def test_cli_verify_exit_codes_and_export(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        _fill(store)
    ok = subprocess.run(
        [*CLI, "audit", "verify", str(path)], capture_output=True, text=True, timeout=HANG,
        check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "intact: 5 records" in ok.stdout
    exported = tmp_path / "audit.jsonl"
    out = subprocess.run(
        [*CLI, "audit", "export", "--store", str(path), "--output", str(exported)],
        capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    verified = subprocess.run(
        [*CLI, "audit", "verify", str(exported)], capture_output=True, timeout=HANG, check=False
    )
    assert verified.returncode == 0
    lines = exported.read_text().splitlines()
    exported.write_text("\n".join(_changed(lines)) + "\n")
    bad = subprocess.run(
        [*CLI, "audit", "verify", "--json", str(exported)],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad"] == 3


def test_demo_writes_a_verifiable_trail_and_leaks_no_secret(tmp_path: Path) -> None:
    secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY", "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0000",
           "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}  # fmt: skip
    log = tmp_path / "audit.jsonl"
    run = subprocess.run(
        [*CLI, "demo", "--audit-log", str(log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert verify_path(log).ok
    for text in (log.read_text(), run.stdout, run.stderr):
        for leaked in (secret, token, "AKIAEXAMPLEKEYID0000", "Signature=", "Authorization"):
            assert leaked not in text


def test_who_why_and_metadata_of_every_command_are_chained(tmp_path: Path) -> None:
    """Create, submit, discard, create-version and delete: each event is in the chain, with
    its actor, reason and metadata, and changing any of them is detected."""
    from registration_fsm import EmulatedRegistrationApi, Synchronizer

    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        syncer = Synchronizer(EmulatedRegistrationApi(seed=3), store)
        actor, reason, metadata = "alice", "onboarding", {"ticket": "CMP-7"}
        rid = syncer.create(REG_TYPE, actor=actor, reason=reason, metadata=metadata).id
        syncer.submit(rid, actor=actor, reason=reason, metadata=metadata)
        syncer.discard(rid, actor=actor, reason=reason, metadata=metadata)
        syncer.create_version(rid, actor=actor, reason=reason, metadata=metadata)
        deleted = syncer.delete(rid, actor=actor, reason=reason, metadata=metadata)
        assert deleted.version_number is None
        records = list(store.audit_records())
    told = [(r.event["trigger"], r.event["version_number"]) for r in records]
    assert told == [("create", 1), ("submit", 1), ("discard", 1), ("create", 2), ("delete", None)]
    assert {(r.event["actor"], r.event["reason"]) for r in records} == {("alice", "onboarding")}
    assert all(r.event["metadata"] == {"ticket": "CMP-7"} for r in records)
    assert verify_path(path).ok
    _sql(path, "UPDATE events SET event = replace(event, 'CMP-7', 'CMP-8') WHERE seq = 5")
    verdict = verify_path(path)
    assert (verdict.ok, verdict.first_bad) == (False, 5)


def test_export_to_a_stream_counts_records() -> None:
    store = MemoryStore()
    _fill(store)
    out = io.StringIO()
    assert export_jsonl(store, out) == 5
    assert json.loads(out.getvalue().splitlines()[-1])["head"]["seq"] == 5


def test_a_sync_signed_with_credentials_leaks_them_nowhere(tmp_path: Path) -> None:
    from registration_fsm import EmulatedRegistrationApi, serve

    secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY", "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
    key_id = "AKIAEXAMPLEKEYID0001"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_SESSION_TOKEN": token, "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    api = EmulatedRegistrationApi(seed=9)
    reg_id = api.create_registration("US_TEN_DLC_BRAND_REGISTRATION")["RegistrationId"]
    api.submit_registration_version(reg_id)
    store, log = tmp_path / "s.db", tmp_path / "audit.jsonl"
    outputs = []
    with serve(api) as url:
        for argv in (
            ["sync", "--endpoint-url", url, "--store", str(store), "--json"],
            ["discard", "--endpoint-url", url, "--store", str(store),
             "--registration-id", reg_id, "--reason", "typo", "--actor", "alice"],
            ["show", "--store", str(store), "--events", "--json"],
            ["audit", "export", "--store", str(store), "--output", str(log)],
        ):  # fmt: skip
            run = subprocess.run(
                [*CLI, *argv], capture_output=True, text=True, env=env, timeout=HANG, check=False
            )
            assert run.returncode == 0, run.stderr
            outputs += [run.stdout, run.stderr]
    assert api.calls.get("DiscardRegistrationVersion") == 1, "the signed requests reached it"
    assert verify_path(log).ok
    files = [p for p in tmp_path.iterdir() if p.name.startswith("s.db")]  # with -wal, -shm
    texts = [*outputs, log.read_text(), *(p.read_bytes().decode("utf-8", "replace") for p in files)]
    for text in texts:
        for leaked in (secret, token, key_id, "Signature=", "Authorization", "X-Amz-Security"):
            assert leaked not in text
