"""Signed checkpoints and the replay: the attacks of issue 11, each made for real.

Every attack below is one a writer of the store can make with the library's own
``record_hash``: the chain alone (``verify_path``) still says intact, and the
checkpoint — or, for the tables, the replay — finds it, naming the first bad point
on one line with exit 1. What is not an audit trail is a usage error (exit 2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import Registration
from registration_fsm.audit import (
    GENESIS,
    AuditVerdict,
    append_checkpoint,
    export_jsonl,
    generate_keypair,
    key_id,
    load_public_key,
    read_checkpoints,
    record_hash,
    verify_audit,
    verify_path,
    verify_with_checkpoints,
)
from registration_fsm.cli import main
from registration_fsm.errors import CheckpointError, InvalidArgument
from registration_fsm.store import MemoryStore, SQLiteStore

OTHER_ID = "registration-fedcba9876543210fedcba9876543210"
OTHER_ARN = REG_ARN.replace(REG_ID, OTHER_ID)
#: Seconds a CLI process may take before the test calls it hung (a guard, not a measure).
HANG = 120


def _story(store: MemoryStore | SQLiteStore, clock: TickingClock) -> None:
    """Two registrations, interleaved: REG_ID denied then v2, OTHER_ID submitted."""
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    other = Registration.new(OTHER_ID, OTHER_ARN, REG_TYPE, clock=clock)
    store.save(reg, [reg.current_version.created_event(actor="alice")])
    store.save(other, [other.current_version.created_event(actor="carol")])
    store.save(reg, [reg.fire("submit", clock=clock, actor="alice")])
    store.save(other, [other.fire("submit", clock=clock, actor="carol")])
    for trigger in ("begin_review", "deny"):
        store.save(reg, [reg.fire(trigger, clock=clock)])
    store.save(reg, [reg.create_version(clock=clock, actor="bob", reason="wrong EIN")])


def _more(store: MemoryStore | SQLiteStore, clock: TickingClock) -> None:
    """Two more events after a checkpoint: REG_ID's v2 submitted, OTHER_ID reviewed."""
    reg = store.get(REG_ID)
    other = store.get(OTHER_ID)
    assert reg is not None
    assert other is not None
    store.save(reg.registration, [reg.registration.fire("submit", clock=clock, actor="bob")])
    store.save(other.registration, [other.registration.fire("begin_review", clock=clock)])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("keys")
    generate_keypair(where / "audit.key", where / "audit.pub")
    return where / "audit.key", where / "audit.pub"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        _story(store, TickingClock())
    return path


def _checkpoint(db: Path, keys: tuple[Path, Path], checkpoints: Path) -> None:
    append_checkpoint(db, keys[0], checkpoints)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _verify_cli(
    path: Path, keys: tuple[Path, Path], checkpoints: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    argv = ["audit", "verify", str(path), "--public-key", str(keys[1])]
    return _cli([*argv, "--checkpoints", str(checkpoints)], capsys)


def _one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# -- the attacks on a store -----------------------------------------------------------------


def _rows(path: Path) -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT seq, registration_id, event FROM events ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def _rewrite(path: Path, rows: list[tuple[str, str]]) -> None:
    """Replace the whole events table and head with ``rows`` (registration id, event JSON),
    numbered from 1 and chained with the library's own ``record_hash``: a consistent
    rewrite, as whoever can write the store can make it."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM audit_head")
        prev = GENESIS
        for seq, (reg_id, text) in enumerate(rows, start=1):
            digest = record_hash(seq, reg_id, prev, json.loads(text))
            conn.execute(
                "INSERT INTO events (seq, registration_id, event, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?)",
                (seq, reg_id, text, prev, digest),
            )
            prev = digest
        if rows:
            conn.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", (seq, prev))
    conn.close()


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def truncate_tail(path: Path) -> None:
    """Drop the last two records and move the head back to match."""
    _rewrite(path, [(r, e) for _s, r, e in _rows(path)[:-2]])


def rewrite_reason(path: Path) -> None:
    """Edit "wrong EIN" into "routine cleanup" and recompute the whole chain."""
    rows = [(r, e.replace("wrong EIN", "routine cleanup")) for _s, r, e in _rows(path)]
    assert any("routine cleanup" in e for _r, e in rows)
    _rewrite(path, rows)


def delete_one_registration(path: Path) -> None:
    """Delete OTHER_ID's events, rows and versions, renumber and rechain the rest."""
    _rewrite(path, [(r, e) for _s, r, e in _rows(path) if r != OTHER_ID])
    _sql(
        path,
        f"DELETE FROM versions WHERE registration_id = '{OTHER_ID}'",
        f"DELETE FROM registrations WHERE id = '{OTHER_ID}'",
    )


def empty_everything(path: Path) -> None:
    """DELETE every event and the head row."""
    _sql(path, "DELETE FROM events", "DELETE FROM audit_head")


STORE_ATTACKS = {
    "tail truncation": (truncate_tail, "the trail ends at record 5, but checkpoint 1", 6),
    "consistent rewrite": (rewrite_reason, "a record among 1-7 was changed", 1),
    "rechained deletion": (delete_one_registration, "the trail ends at record 5", 6),
    "all events and the head deleted": (empty_everything, "the trail ends at record 0", 1),
}


@pytest.mark.parametrize("attack", list(STORE_ATTACKS))
def test_store_attacks_pass_the_chain_but_not_a_checkpoint(
    attack: str,
    db: Path,
    keys: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    _checkpoint(db, keys, checkpoints)
    code, out, _err = _verify_cli(db, keys, checkpoints, capsys)
    assert code == 0
    assert "intact, anchored: 7 records" in out
    tamper, named, first_bad = STORE_ATTACKS[attack]
    tamper(db)
    assert verify_path(db).ok, "the chain alone cannot see it: that is the point"
    verdict = verify_with_checkpoints(db, keys[1], checkpoints)
    assert (verdict.ok, verdict.failed, verdict.first_bad) == (False, "trail", first_bad)
    assert named in (verdict.problem or "")
    code, out, err = _verify_cli(db, keys, checkpoints, capsys)
    assert (code, err) == (1, "")
    line = _one_line(out)
    assert line.startswith(f"{db}: TAMPERED at record {first_bad}: ")
    assert "checkpoint 1 (" in line


def test_a_rewrite_is_narrowed_down_by_the_checkpoints_that_still_hold(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    path, checkpoints, clock = tmp_path / "store.db", tmp_path / "cp.jsonl", TickingClock()
    with SQLiteStore(path) as store:
        _story(store, clock)
        append_checkpoint(store, keys[0], checkpoints)  # covers 1-7
        _more(store, clock)
        append_checkpoint(store, keys[0], checkpoints)  # covers 1-9
    rows = _rows(path)
    rows[7] = (rows[7][0], rows[7][1], rows[7][2].replace('"bob"', '"mallory"'))
    _rewrite(path, [(r, e) for _s, r, e in rows])
    verdict = verify_with_checkpoints(path, keys[1], checkpoints)
    assert (verdict.ok, verdict.first_bad) == (False, 8)
    assert "a record among 8-9 was changed" in (verdict.problem or "")
    assert "checkpoint 2 (" in (verdict.problem or "")


# -- the attacks on an export -----------------------------------------------------------------


def _exported(db: Path, out: Path) -> list[dict[str, object]]:
    with SQLiteStore(db, read_only=True) as store, out.open("w") as text:
        export_jsonl(store, text)
    return [json.loads(line) for line in out.read_text().splitlines()]


def _write_chain(out: Path, records: list[dict[str, object]]) -> None:
    prev, lines = GENESIS, []
    for seq, record in enumerate(records, start=1):
        reg_id = str(record["registration_id"])
        digest = record_hash(seq, reg_id, prev, record["event"])
        lines.append(
            json.dumps({**record, "seq": seq, "prev_hash": prev, "hash": digest}, sort_keys=True)
        )
        prev = digest
    lines.append(json.dumps({"head": {"seq": len(records), "hash": prev}}))
    out.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("attack", ["truncated", "rewritten", "rechained deletion", "emptied"])
def test_export_attacks_are_found_once_a_checkpoint_covers_them(
    attack: str,
    db: Path,
    keys: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoints, export = tmp_path / "cp.jsonl", tmp_path / "audit.jsonl"
    _checkpoint(db, keys, checkpoints)
    lines = _exported(db, export)
    records = lines[:-1]
    assert verify_with_checkpoints(export, keys[1], checkpoints).anchored
    if attack == "truncated":
        records = records[:-3]
    elif attack == "rewritten":
        for record in records:
            event = record["event"]
            assert isinstance(event, dict)
            if event["reason"] == "wrong EIN":
                event["reason"] = "routine cleanup"
    elif attack == "rechained deletion":
        records = [r for r in records if r["registration_id"] != OTHER_ID]
    else:
        records = []
    _write_chain(export, records)
    assert verify_path(export).ok
    code, out, err = _verify_cli(export, keys, checkpoints, capsys)
    assert (code, err) == (1, "")
    assert "TAMPERED at record " in _one_line(out)
    verdict = verify_with_checkpoints(export, keys[1], checkpoints)
    assert verdict.failed == "trail"
    assert verdict.replay is None  # an export holds no registrations


def test_an_emptied_log_with_only_a_head_line(
    db: Path, keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints, export = tmp_path / "cp.jsonl", tmp_path / "audit.jsonl"
    _checkpoint(db, keys, checkpoints)
    export.write_text(json.dumps({"head": {"seq": 0, "hash": GENESIS}}) + "\n")
    code, out, _err = _cli(["audit", "verify", str(export)], capsys)
    assert code == 0
    assert "internal consistency only" in out
    code, out, _err = _verify_cli(export, keys, checkpoints, capsys)
    assert code == 1
    assert "TAMPERED at record 1: the trail ends at record 0, but checkpoint 1" in _one_line(out)


# -- the tables: the replay ---------------------------------------------------------------------


def _json_set(table: str, path: str, value: str, where: str) -> str:
    return f"UPDATE {table} SET info = json_set(info, '{path}', '{value}') WHERE {where}"


TABLE_ATTACKS = {
    "a version's status": (
        [_json_set("versions", "$.RegistrationVersionStatus", "SUBMITTED",
                   f"registration_id = '{OTHER_ID}' AND number = 1")],
        f"registration {OTHER_ID} v1: the events lead to REVIEWING, the store holds SUBMITTED",
    ),
    "a registration's status": (
        [_json_set("registrations", "$.RegistrationStatus", "COMPLETE", f"id = '{REG_ID}'")],
        f"registration {REG_ID}: the events lead to REQUIRES_UPDATES, the store holds COMPLETE",
    ),
    "a version added": (
        [f"INSERT INTO versions SELECT account, region, registration_id, 3, "
         f"replace(info, '\"VersionNumber\":2', '\"VersionNumber\":3') "
         f"FROM versions WHERE registration_id = '{REG_ID}' AND number = 2",
         f"UPDATE registrations SET info = json_set(info, '$.CurrentVersionNumber', 3) "
         f"WHERE id = '{REG_ID}'"],
        f"registration {REG_ID} v3: stored with no events",
    ),
    "a registration removed": (
        [f"DELETE FROM versions WHERE registration_id = '{OTHER_ID}'",
         f"DELETE FROM registrations WHERE id = '{OTHER_ID}'"],
        f"registration {OTHER_ID} of 123456789012/us-east-1: 2 events for a registration "
        "that is not stored",
    ),
}  # fmt: skip


@pytest.mark.parametrize("attack", list(TABLE_ATTACKS))
def test_editing_the_tables_is_found_by_the_replay(
    attack: str,
    db: Path,
    keys: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoints = tmp_path / "cp.jsonl"
    _checkpoint(db, keys, checkpoints)
    statements, named = TABLE_ATTACKS[attack]
    if attack == "a version's status":  # make OTHER_ID's v1 REVIEWING first, through events
        with SQLiteStore(db) as store:
            _more(store, TickingClock(datetime(2026, 2, 1, tzinfo=UTC)))
        _checkpoint(db, keys, checkpoints)
    _sql(db, *statements)
    assert verify_path(db).ok, "the chain is untouched"
    for given in ((), ("--public-key", str(keys[1]), "--checkpoints", str(checkpoints))):
        code, out, err = _cli(["audit", "verify", str(db), *given], capsys)
        assert (code, err) == (1, "")
        assert _one_line(out) == f"{db}: TAMPERED: {named}"
    verdict = verify_audit(db)
    assert (verdict.ok, verdict.failed) == (False, "replay")
    assert verdict.replay is not None
    assert verdict.replay.problems[0] == named


#: Walks that between them reach every registration status worth replaying.
SEEDS = (9, 10)


def _random_history(path: Path, seed: int, steps: int) -> set[str]:
    """A seeded walk against the emulator, synced into ``path``: commands through the
    synchronizer and straight to the API, AWS's steps, provisioning (odd seeds),
    closing by releasing the phone number, deletes, incremental and full syncs. The
    trail is verified along the way; returns the registration statuses stored."""
    from registration_fsm import (
        LIFECYCLE,
        EmulatedRegistrationApi,
        LifecyclePolicy,
        RegistrationError,
        Synchronizer,
        VersionStatus,
    )

    rng, clock = random.Random(seed), TickingClock()
    policy = LifecyclePolicy().with_provisioning(REG_TYPE) if seed % 2 else LifecyclePolicy()
    api = EmulatedRegistrationApi(seed=seed, clock=clock, quotas=None, policy=policy)
    ids: list[str] = []
    identities: dict[str, str] = {}
    with SQLiteStore(path) as store:
        syncer = Synchronizer(api, store, policy=policy, clock=clock)
        for step in range(steps):
            draw = rng.random()
            try:
                if draw < 0.08 or not ids:
                    local = rng.random() < 0.5
                    rid = (syncer.create(REG_TYPE, actor="a").id if local
                           else api.create_registration(REG_TYPE)["RegistrationId"])  # fmt: skip
                    ids.append(rid)
                    identities[rid] = api.add_origination_identity("phone-number")["ResourceId"]
                    api.create_registration_association(rid, identities[rid])
                    continue
                rid = rng.choice(ids)
                (info,) = api.describe_registrations(registration_ids=[rid])
                if draw < 0.5:
                    newest = next(iter(api.describe_registration_versions(rid)))
                    status = VersionStatus(newest["RegistrationVersionStatus"])
                    aws = [t for t in LIFECYCLE.allowed(status) if t in LIFECYCLE.aws_triggers]
                    trigger = rng.choice([*aws, "complete_provisioning", "approve"])
                    details = {"denied_reasons": [{"Reason": "X", "ShortDescription": "y"}]}
                    api.advance(rid, trigger, **(details if trigger == "deny" else {}))
                elif draw < 0.8:
                    command = rng.choice(["submit"] * 4 + ["discard", "create_version"] * 2
                                         + ["delete"] * (rng.random() < 0.1))  # fmt: skip
                    if rng.random() < 0.6:
                        getattr(syncer, command)(rid, actor="b", reason="r")
                    else:
                        remote = {"submit": api.submit_registration_version,
                                  "discard": api.discard_registration_version,
                                  "create_version": api.create_registration_version,
                                  "delete": api.delete_registration}  # fmt: skip
                        remote[command](rid)
                elif info["RegistrationStatus"] == "COMPLETE" and rid in identities:
                    api.release_origination_identity(identities.pop(rid))
                else:
                    syncer.sync(full=rng.random() < 0.5)
            except RegistrationError:
                pass  # refused, or not found: the walk goes on
            if step % 100 == 99:
                verdict = verify_audit(store)
                assert verdict.ok, verdict
        syncer.sync(full=True)
        verdict = verify_audit(store)
        assert verdict.ok, verdict
        assert verdict.replay is not None
        assert verdict.replay.problems == ()
        return {str(r.status) for r in store.registrations()}


def test_the_replay_raises_no_false_alarm_on_real_histories(tmp_path: Path) -> None:
    """Histories as syncs and commands really write them replay with no problem."""
    seen: set[str] = set()
    for seed in SEEDS:
        seen |= _random_history(tmp_path / f"{seed}.db", seed, 200)
        assert verify_audit(tmp_path / f"{seed}.db").ok
    assert {"PROVISIONING", "COMPLETE", "CLOSED", "DELETED", "REQUIRES_UPDATES"} <= seen, seen


# -- the checkpoint file ------------------------------------------------------------------------


def test_a_checkpoint_is_what_the_docs_say(
    db: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """The format, checked independently of the library: the signature over the other
    members' canonical JSON, prev the SHA-256 of the previous line, the key id."""
    from cryptography.hazmat.primitives import serialization

    checkpoints = tmp_path / "cp.jsonl"
    moment = datetime(2026, 5, 15, 10, 0, tzinfo=UTC)
    for _ in range(2):
        append_checkpoint(db, keys[0], checkpoints, clock=lambda: moment)
    raw_lines = checkpoints.read_bytes().split(b"\n")
    assert raw_lines[-1] == b""
    first, second = (json.loads(line) for line in raw_lines[:2])
    public = load_public_key(keys[1])
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert first["key_id"] == hashlib.sha256(raw).hexdigest()[:16] == key_id(public)
    assert first["prev"] == GENESIS
    assert second["prev"] == hashlib.sha256(raw_lines[0]).hexdigest()
    assert (second["checkpoint"], second["records"], second["time"]) == (
        2, 7, "2026-05-15T10:00:00Z"
    )  # fmt: skip
    with SQLiteStore(db, read_only=True) as store:
        head = store.audit_head()
    assert second["head"] == {"seq": head.seq, "hash": head.hash}
    for line in (first, second):
        signed = {k: v for k, v in line.items() if k != "signature"}
        message = (
            b"registration-fsm audit checkpoint v1\n"
            + json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
        public.verify(base64.b64decode(line["signature"]), message)  # raises if not


def _edit_line(path: Path, index: int, change: dict[str, object]) -> None:
    lines = path.read_text().splitlines()
    data = json.loads(lines[index])
    data.update(change)
    lines[index] = json.dumps(data, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


def _resigned(path: Path, index: int, key_path: Path) -> None:
    """Replace checkpoint ``index`` by one for head 0, signed with another key."""
    from registration_fsm.audit import load_private_key

    key = load_private_key(key_path)
    lines = path.read_text().splitlines()
    data = json.loads(lines[index])
    data.update(head={"seq": 0, "hash": GENESIS}, records=0, key_id=key_id(key.public_key()))
    del data["signature"]
    message = (
        b"registration-fsm audit checkpoint v1\n"
        + json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    data["signature"] = base64.b64encode(key.sign(message)).decode()
    lines[index] = json.dumps(data, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def three(db: Path, keys: tuple[Path, Path], tmp_path: Path) -> Path:
    checkpoints = tmp_path / "cp.jsonl"
    for _ in range(3):
        _checkpoint(db, keys, checkpoints)
    return checkpoints


@pytest.mark.parametrize(
    ("attack", "named"),
    [
        ("head edited", "line 2: the signature does not verify"),
        ("middle removed", "line 2: checkpoint 3 where 2 was expected"),
        ("renumbered after removal", "line 2: checkpoint 2 does not link to checkpoint 1"),
        ("re-signed with another key", "line 1: signed by key "),
        ("torn last line", "line 3 is torn"),
        ("first line garbled", "line 1: not JSON"),
    ],
)
def test_checkpoint_file_attacks(
    attack: str,
    named: str,
    db: Path,
    keys: tuple[Path, Path],
    three: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if attack == "head edited":
        _edit_line(three, 1, {"head": {"seq": 9, "hash": "a" * 64}, "records": 9})
    elif attack == "middle removed":
        lines = three.read_text().splitlines()
        three.write_text(f"{lines[0]}\n{lines[2]}\n")
    elif attack == "renumbered after removal":
        lines = three.read_text().splitlines()
        three.write_text(f"{lines[0]}\n{lines[2]}\n")
        _edit_line(three, 1, {"checkpoint": 2})
    elif attack == "re-signed with another key":
        generate_keypair(tmp_path / "mallory.key", tmp_path / "mallory.pub")
        _resigned(three, 0, tmp_path / "mallory.key")
    elif attack == "torn last line":
        data = three.read_bytes()
        three.write_bytes(data[: len(data) - 40])
    else:
        lines = three.read_text().splitlines()
        three.write_text("\n".join([lines[0][:60], *lines[1:]]) + "\n")
    code, out, err = _verify_cli(db, keys, three, capsys)
    assert (code, err) == (1, "")
    line = _one_line(out)
    assert line.startswith(f"{db}: CHECKPOINTS INVALID: {three} line")
    assert named in line
    code, out, err = _cli(
        ["audit", "checkpoint", "--store", str(db), "--key", str(keys[0]),
         "--checkpoints", str(three)], capsys,
    )  # fmt: skip
    assert code == 1
    assert "refusing to append" in _one_line(err)
    assert err.startswith("error: CheckpointError: ")


def test_verifying_with_another_public_key_proves_nothing(
    db: Path, keys: tuple[Path, Path], three: Path, tmp_path: Path
) -> None:
    generate_keypair(tmp_path / "other.key", tmp_path / "other.pub")
    verdict = verify_with_checkpoints(db, tmp_path / "other.pub", three)
    assert (verdict.ok, verdict.failed) == (False, "checkpoints")
    assert "not by the given key" in (verdict.problem or "")


def test_a_checkpoint_is_not_appended_over_a_changed_trail(
    db: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoints = tmp_path / "cp.jsonl"
    _checkpoint(db, keys, checkpoints)
    before = checkpoints.read_bytes()
    rewrite_reason(db)
    with pytest.raises(CheckpointError, match="no longer holds what checkpoint 1"):
        _checkpoint(db, keys, checkpoints)
    _sql(db, "UPDATE events SET event = replace(event, 'alice', 'mallory') WHERE seq = 1")
    with pytest.raises(CheckpointError, match=r"does not verify .*TAMPERED at record 1"):
        _checkpoint(db, keys, checkpoints)
    assert checkpoints.read_bytes() == before
    with pytest.raises(CheckpointError, match="does not verify"):
        _checkpoint(db, keys, tmp_path / "new.jsonl")
    assert not (tmp_path / "new.jsonl").exists()


def test_a_checkpoint_file_with_another_key_is_not_appended_to(
    db: Path, keys: tuple[Path, Path], three: Path, tmp_path: Path
) -> None:
    generate_keypair(tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(CheckpointError, match=r"line 1: signed by key \w+, not by the given"):
        append_checkpoint(db, tmp_path / "other.key", three)


def test_changes_after_the_latest_checkpoint_are_reported_not_covered(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, checkpoints, clock = tmp_path / "store.db", tmp_path / "cp.jsonl", TickingClock()
    with SQLiteStore(path) as store:
        _story(store, clock)
        append_checkpoint(store, keys[0], checkpoints)
        _more(store, clock)
    verdict = verify_with_checkpoints(path, keys[1], checkpoints)
    assert isinstance(verdict, AuditVerdict)
    assert (verdict.ok, verdict.anchored, verdict.records) == (True, True, 9)
    assert (verdict.covered_records, verdict.uncovered_records) == (7, 2)
    code, out, _err = _verify_cli(path, keys, checkpoints, capsys)
    assert code == 0
    line = _one_line(out)
    assert "intact, anchored: 9 records" in line
    assert "checkpoint 1 (" in line
    assert "covers records 1-7; 2 records after the latest checkpoint, not covered" in line
    code, out, _err = _cli(["audit", "verify", "--json", str(path), "--public-key",
                            str(keys[1]), "--checkpoints", str(checkpoints)], capsys)  # fmt: skip
    data = json.loads(out)
    assert (data["anchored"], data["covered_records"], data["uncovered_records"]) == (True, 7, 2)
    assert data["checkpoint"]["checkpoint"] == 1


def test_without_checkpoints_verify_says_it_proves_consistency_only(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = _cli(["audit", "verify", str(db)], capsys)
    assert code == 0
    line = _one_line(out)
    assert line.startswith(f"{db}: intact: 7 records, head ")
    assert "2 registrations and 3 versions replay to the stored state" in line
    assert "internal consistency only" in line
    verdict = verify_audit(db)
    assert (verdict.ok, verdict.anchored, verdict.covered_records) == (True, False, 0)


def test_memory_stores_are_checkpointed_and_verified_too(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    store = MemoryStore()
    checkpoints = tmp_path / "cp.jsonl"
    empty = append_checkpoint(store, keys[0], checkpoints)
    assert (empty.number, empty.records, empty.head.hash) == (1, 0, GENESIS)
    _story(store, TickingClock())
    made = append_checkpoint(store, keys[0], checkpoints)
    assert (made.number, made.records) == (2, 7)
    verdict = verify_audit(store, public_key=keys[1], checkpoints=checkpoints)
    assert (verdict.ok, verdict.anchored, verdict.covered_records) == (True, True, 7)
    log = read_checkpoints(checkpoints, load_public_key(keys[1]))
    assert [c.records for c in log.checkpoints] == [0, 7]
    assert log.problem is None


def test_concurrent_appends_are_serialised(
    db: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoints = tmp_path / "cp.jsonl"
    errors: list[BaseException] = []

    def append() -> None:
        try:
            for _ in range(3):
                _checkpoint(db, keys, checkpoints)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=append) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    log = read_checkpoints(checkpoints, load_public_key(keys[1]))
    assert [c.number for c in log.checkpoints] == list(range(1, 13))
    assert log.problem is None


def test_a_failed_write_leaves_the_checkpoint_file_as_it_was(
    db: Path, keys: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoints = tmp_path / "cp.jsonl"
    _checkpoint(db, keys, checkpoints)
    before = checkpoints.read_bytes()
    real_write = os.write

    def half(fd: int, data: bytes) -> int:
        if bytes(data).startswith(b'{"checkpoint":'):
            return real_write(fd, bytes(data)[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half)
    with pytest.raises(CheckpointError, match="bytes written"):
        _checkpoint(db, keys, checkpoints)

    def full(fd: int, data: bytes) -> int:
        if bytes(data).startswith(b'{"checkpoint":'):
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        _checkpoint(db, keys, checkpoints)
    monkeypatch.undo()
    assert checkpoints.read_bytes() == before
    assert read_checkpoints(checkpoints, load_public_key(keys[1])).problem is None


def test_the_checkpoint_file_is_kept_apart(
    db: Path, keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "target.jsonl")
    (tmp_path / "notes.txt").write_text("meeting notes\n")
    cases = {
        str(db): "is the store",
        f"{db}-wal": "is the store",
        str(keys[0]): "is the private key",
        str(tmp_path / "link.jsonl"): "is a symbolic link",
        str(tmp_path / "notes.txt"): "not a checkpoint file",
        str(tmp_path): "is a directory",
    }
    before = db.read_bytes()
    for target, named in cases.items():
        code, out, err = _cli(["audit", "checkpoint", "--store", str(db), "--key",
                               str(keys[0]), "--checkpoints", target], capsys)  # fmt: skip
        assert code == 2, (target, out, err)
        assert err.strip().splitlines()[-1].startswith("Error: "), (target, err)
        assert named in err.strip().splitlines()[-1], (target, err)
    assert not (tmp_path / "target.jsonl").exists()
    assert (tmp_path / "notes.txt").read_text() == "meeting notes\n"
    assert db.read_bytes() == before


# -- keys --------------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    code, out, _err = _cli(
        ["audit", "keygen", "--private-key", str(private), "--public-key", str(public)], capsys
    )
    assert code == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert _one_line(out).startswith(f"key {key_id(load_public_key(public))}: ")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    first = private.read_bytes()
    code, _out, err = _cli(
        ["audit", "keygen", "--private-key", str(private), "--public-key", str(tmp_path / "p2")],
        capsys,
    )
    assert code == 2
    assert "exists; refusing to overwrite it" in _one_line(err)
    assert private.read_bytes() == first
    assert not (tmp_path / "p2").exists(), "no half of a pair is left"
    code, _out, _err = _cli(["audit", "keygen", "--private-key", str(private),
                             "--public-key", str(public), "--force"], capsys)  # fmt: skip
    assert code == 0
    assert private.read_bytes() != first
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


@pytest.mark.parametrize("force", [False, True])
def test_keygen_refuses_a_symlink_even_with_force(tmp_path: Path, force: bool) -> None:
    (tmp_path / "elsewhere").write_text("keep me\n")
    (tmp_path / "k.pem").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidArgument, match="is a symbolic link"):
        generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub", force=force)
    with pytest.raises(InvalidArgument, match="two files"):
        generate_keypair(tmp_path / "same", tmp_path / "same", force=force)
    assert (tmp_path / "elsewhere").read_text() == "keep me\n"
    assert not (tmp_path / "k.pub").exists()


def test_keys_that_are_not_ed25519_keys_are_usage_errors(
    db: Path, keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    checkpoints = tmp_path / "cp.jsonl"
    for key, named in (
        (tmp_path / "ec.pem", "not an Ed25519 private key"),
        (keys[1], "not an unencrypted PEM private key"),
        (db, "not an unencrypted PEM private key"),
    ):
        code, _out, err = _cli(["audit", "checkpoint", "--store", str(db), "--key", str(key),
                                "--checkpoints", str(checkpoints)], capsys)  # fmt: skip
        assert code == 2
        assert named in _one_line(err)
    assert not checkpoints.exists()
    _checkpoint(db, keys, checkpoints)
    code, _out, err = _cli(["audit", "verify", str(db), "--public-key", str(keys[0]),
                            "--checkpoints", str(checkpoints)], capsys)  # fmt: skip
    assert code == 2
    assert "not a PEM public key" in _one_line(err)


# -- not an audit trail, and bounds -------------------------------------------------------------


@pytest.fixture
def not_trails(tmp_path: Path) -> dict[str, Path]:
    files = {
        "an SVG": ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>\n'),
        "an empty file": ("empty", b""),
        "a binary": ("blob.bin", bytes(range(256)) * 8),
        "a JSON object": ("other.json", b'{"name": "not a record"}\n'),
        "a truncated SQLite header": ("short.db", b"SQLite format 3\x00" + b"\x00" * 20),
    }
    out = {name: tmp_path / file for name, (file, _data) in files.items()}
    for file, data in files.values():
        (tmp_path / file).write_bytes(data)
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    out["another SQLite database"] = tmp_path / "other.db"
    return out


def test_what_is_not_an_audit_trail_is_a_usage_error(
    not_trails: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for name, path in not_trails.items():
        before = path.read_bytes()
        code, out, err = _cli(["audit", "verify", str(path)], capsys)
        assert (code, out) == (2, ""), name
        assert _one_line(err).startswith("Error: "), name
        assert "not an audit trail" in err, name
        assert path.read_bytes() == before, f"{name} was changed"
        with pytest.raises(InvalidArgument):
            verify_audit(path)


def test_reading_is_bounded(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["audit", "verify", "/dev/zero"], capsys)
    assert (code, out) == (2, "")
    assert "line 1 is longer than 1 MiB" in _one_line(err)
    export = tmp_path / "audit.jsonl"
    _exported(db, export)
    code, _out, err = _cli(["audit", "verify", "--max-bytes", "1000", str(export)], capsys)
    assert code == 2
    assert "larger than 1000 bytes" in _one_line(err)
    long = tmp_path / "long.jsonl"
    long.write_text(export.read_text().splitlines()[0] + "\n" + "x" * (1 << 20) + "\n")
    code, _out, err = _cli(["audit", "verify", str(long)], capsys)
    assert code == 2
    assert "line 2 is longer than 1 MiB" in _one_line(err)


def test_a_checkpoint_file_that_is_not_one(
    db: Path, keys: tuple[Path, Path], not_trails: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgument, match="not a checkpoint file"):
        verify_with_checkpoints(db, keys[1], not_trails["an SVG"])
    with pytest.raises(InvalidArgument, match="holds no checkpoint"):
        verify_with_checkpoints(db, keys[1], not_trails["an empty file"])
    zeros = tmp_path / "zeros"
    zeros.write_bytes(b"\x00" * (70 << 10))
    with pytest.raises(InvalidArgument, match="longer than 64 KiB"):
        verify_with_checkpoints(db, keys[1], zeros)


def test_verify_opens_the_store_read_only_and_creates_nothing(db: Path, tmp_path: Path) -> None:
    before = db.read_bytes()
    assert verify_audit(db).ok
    assert db.read_bytes() == before
    with pytest.raises(InvalidArgument, match="No such file"):
        verify_audit(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_cryptography_is_imported_only_when_keys_are_used(db: Path) -> None:
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "cryptography":
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import registration_fsm, registration_fsm.audit, registration_fsm.cli
from registration_fsm.audit import verify_audit, generate_keypair
from registration_fsm.errors import MissingDependency
assert verify_audit({str(db)!r}).ok
try:
    generate_keypair("a", "b")
except MissingDependency as err:
    print(err)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install cryptography" in done.stdout


def test_the_whole_story_as_a_user_runs_it(tmp_path: Path, db: Path) -> None:
    """keygen, checkpoint, verify, an attack, verify again: real processes."""

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "registration_fsm.cli", "audit", *argv],
            capture_output=True, text=True, timeout=HANG, check=False, cwd=tmp_path,
        )  # fmt: skip

    assert run("keygen", "--private-key", "k.pem", "--public-key", "k.pub").returncode == 0
    made = run("checkpoint", "--store", str(db), "--key", "k.pem", "--checkpoints", "cp.jsonl")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("checkpoint 1 appended to cp.jsonl: records 1-7, head ")
    anchored = ("--public-key", "k.pub", "--checkpoints", "cp.jsonl")
    ok = run("verify", str(db), *anchored)
    assert ok.returncode == 0, ok.stderr
    assert "intact, anchored: 7 records" in ok.stdout
    truncate_tail(db)
    bad = run("verify", str(db), *anchored)
    assert (bad.returncode, bad.stderr) == (1, "")
    assert "TAMPERED at record 6: the trail ends at record 5, but checkpoint 1" in bad.stdout


def test_times_are_utc_and_never_naive(db: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    east = datetime(2026, 5, 15, 12, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    made = append_checkpoint(db, keys[0], tmp_path / "cp.jsonl", clock=lambda: east)
    assert json.loads((tmp_path / "cp.jsonl").read_text())["time"] == "2026-05-15T12:00:00Z"
    assert made.time == east
    with pytest.raises(InvalidArgument, match="aware time"):
        append_checkpoint(db, keys[0], tmp_path / "cp2.jsonl", clock=lambda: datetime(2026, 1, 1))
