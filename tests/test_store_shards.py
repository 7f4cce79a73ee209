"""Stores keyed by account, region and id; their views; leases; schema 5 and its upgrade.

The contract runs over the memory, SQLite and PostgreSQL stores (leases: the two SQL
stores); the upgrade from schema 4 is SQLite's (PostgreSQL stores begin at 5).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from registration_fsm import Registration, TransitionEvent, VersionStatus
from registration_fsm.audit import verify, verify_audit
from registration_fsm.domain.shard import UNKNOWN, Shard
from registration_fsm.errors import (
    AmbiguousRegistrationId,
    InvalidArgument,
    InvalidArgumentType,
    LeaseLost,
    StoreError,
)
from registration_fsm.store import (
    Intent,
    LeaseStore,
    MemoryStore,
    PostgresStore,
    ShardedStore,
    SQLiteStore,
    codec,
    open_store,
)
from registration_fsm.store.chain import GENESIS
from registration_fsm.store.postgres import SCHEMA_VERSION as PG_SCHEMA
from registration_fsm.store.sqlite import _SCHEMA_V2, _UPGRADES, APPLICATION_ID

A = Shard("111122223333", "us-east-1")
B = Shard("444455556666", "us-east-1")
A_WEST = Shard("111122223333", "eu-west-1")
REG = "registration-00000000000000000000000000000001"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

Factory = Callable[[], Any]


def registration(shard: Shard, reg_id: str = REG) -> Registration:
    arn = f"arn:aws:sms-voice:{shard.region}:{shard.account}:registration/{reg_id}"
    return Registration.new(reg_id, arn, "US_TEN_DLC_BRAND_REGISTRATION", clock=lambda: T0)


def submitted(shard: Shard, reg_id: str = REG) -> tuple[Registration, list[TransitionEvent]]:
    """A registration whose first version was submitted, and its events from creation."""
    reg = registration(shard, reg_id)
    created = TransitionEvent(reg_id, 1, "create", None, VersionStatus.DRAFT, T0)
    return reg, [created, reg.submit(clock=lambda: T0)]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Opens stores of one kind sharing one place; closes them afterwards."""
    opened: list[Any] = []
    memory = MemoryStore()
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    def factory() -> Any:
        store: Any
        if request.param == "memory":
            store = memory
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / "s.db")
        else:
            store = PostgresStore(url)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def make_sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Opens stores that keep leases, sharing one place."""
    opened: list[Any] = []
    target = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else str(tmp_path / "s.db")
    )

    def factory() -> Any:
        store = open_store(target)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


class TestKeys:
    def test_two_accounts_keep_the_same_id_apart(self, make: Factory) -> None:
        store = make()
        assert isinstance(store, ShardedStore)
        reg_a, events_a = submitted(A)
        reg_b = registration(B)
        store.save(reg_a, events_a)
        store.save(reg_b)
        assert store.ids() == [REG]  # one id, stored twice
        assert store.shards() == [A, B]
        assert [r.arn for r in store.registrations()] == [reg_a.arn, reg_b.arn]
        with pytest.raises(AmbiguousRegistrationId, match=f"{A}, {B}") as caught:
            store.get(REG)
        assert "\n" not in str(caught.value)
        one, other = store.for_shard(A).get(REG), store.for_shard(B).get(REG)
        assert one is not None
        assert other is not None
        assert one.registration.current_version.status is VersionStatus.SUBMITTED
        assert other.registration.current_version.status is VersionStatus.DRAFT
        assert (one.revision, other.revision) == (1, 1)
        assert list(store.for_shard(A).events()) == events_a
        assert list(store.for_shard(B).events()) == []

    def test_each_shard_has_its_own_revisions(self, make: Factory) -> None:
        store = make()
        store.save(registration(A), expected_revision=None)
        store.save(registration(B), expected_revision=None)  # not "already stored"
        assert store.for_shard(A).save(registration(A), expected_revision=1) == 2
        stored = store.for_shard(B).get(REG)
        assert stored is not None
        assert stored.revision == 1

    def test_a_view_writes_only_its_shard(self, make: Factory) -> None:
        store = make()
        view = store.for_shard(A)
        with pytest.raises(InvalidArgument, match=f"belongs to {B}, outside this store view"):
            view.save(registration(B))
        assert store.ids() == []
        assert list(store.audit_records()) == []

    def test_where_selects_by_account_or_region(self, make: Factory) -> None:
        store = make()
        for shard, reg_id in ((A, REG), (A_WEST, "registration-w"), (B, "registration-b")):
            store.save(registration(shard, reg_id))
        assert store.where(account=A.account).ids() == [REG, "registration-w"]
        assert store.where(region="eu-west-1").ids() == ["registration-w"]
        assert store.where(account=B.account, region="eu-west-1").ids() == []
        assert store.where(account=A.account).shards() == [A_WEST, A]
        assert store.where().ids() == store.ids()
        assert store.for_shard(A).selection.shard == A

    def test_checkpoints_are_each_views_own(self, make: Factory) -> None:
        store = make()
        a, b = store.for_shard(A), store.for_shard(B)
        assert not a.begin_sync("full").resumed
        assert not b.begin_sync("full").resumed
        b.save(registration(B), summary={"v": 1})
        a.save(registration(A), summary={"v": 1})
        assert a.begin_sync("full").done == {REG}
        assert b.begin_sync("full").done == {REG}
        a.end_sync("full")
        assert not a.begin_sync("full").resumed
        assert b.begin_sync("full").resumed  # ending one view's scope left the other's

    def test_intents_are_each_views_own(self, make: Factory) -> None:
        store = make()
        store.save(registration(A))
        store.save(registration(B))
        intent = Intent(REG, "discard", "DiscardRegistrationVersion", 1, "carol", None, {}, T0)
        made = store.for_shard(A).record_intent(intent)
        assert [s.id for s in store.for_shard(A).intents(REG)] == [made]
        assert store.for_shard(B).intents(REG) == []
        assert [s.id for s in store.intents()] == [made]

    def test_an_unknown_arn_is_kept_under_no_shard(self, make: Factory) -> None:
        store = make()
        odd = Registration.new(REG, "not-an-arn", "T", clock=lambda: T0)
        store.save(odd, [odd.submit(clock=lambda: T0)])
        assert store.shards() == [UNKNOWN]
        stored = store.for_shard(UNKNOWN).get(REG)
        assert stored is not None
        assert "shard" not in next(iter(store.audit_records())).event


def test_the_chain_vouches_for_each_events_shard(tmp_path: Path) -> None:
    """The shard is in the hashed content: moving an event to another account breaks it."""
    with SQLiteStore(tmp_path / "s.db") as store:
        reg, events = submitted(A)
        store.save(reg, events)
        records = list(store.audit_records())
        assert [r.event[codec.SHARD] for r in records] == [str(A), str(A)]
        assert verify(*store.audit_trail()).ok
    conn = sqlite3.connect(tmp_path / "s.db")
    conn.execute("UPDATE events SET event = replace(event, ?, ?) WHERE seq = 2", (str(A), str(B)))
    conn.commit()
    conn.close()
    with SQLiteStore(tmp_path / "s.db") as store:
        verdict = verify(*store.audit_trail())
    assert not verdict.ok
    assert verdict.first_bad == 2


class TestLeases:
    def test_one_holder_at_a_time_until_released(self, make_sql: Factory) -> None:
        store = make_sql()
        assert isinstance(store, LeaseStore)
        lease = store.acquire_lease("w1", [A], 60)
        assert lease is not None
        assert (lease.shard, lease.owner, lease.token, lease.synced) == (A, "w1", 1, None)
        assert store.acquire_lease("w2", [A], 60) is None
        other = store.acquire_lease("w2", [A, B], 60)
        assert other is not None
        assert other.shard == B
        assert [x.owner for x in store.leases()] == ["w1", "w2"]
        renewed = store.renew_lease(lease, 120)
        assert renewed.expires > lease.expires
        store.release_lease(renewed, synced=True)
        assert [x.shard for x in store.leases()] == [B]
        again = store.acquire_lease("w3", [A], 60)
        assert again is not None
        assert again.token == 2  # a new holder: the fencing token grew
        assert again.synced is not None

    def test_an_expired_lease_is_taken_over_and_its_holder_learns_it(
        self, make_sql: Factory
    ) -> None:
        store = make_sql()
        old = store.acquire_lease("w1", [A], 0.05)
        assert old is not None
        deadline = time.monotonic() + 60
        new = None
        while new is None and time.monotonic() < deadline:  # the store's clock decides
            new = store.acquire_lease("w2", [A], 60)
        assert new is not None
        assert new.token == old.token + 1
        with pytest.raises(LeaseLost, match="w1"):
            store.renew_lease(old, 60)
        store.release_lease(old)  # a lost lease's release changes nothing
        assert [x.owner for x in store.leases()] == ["w2"]

    def test_a_shard_whose_pass_just_ended_is_not_due(self, make_sql: Factory) -> None:
        store = make_sql()
        assert store.due([A, B], 3600) == [A, B]  # never synced
        lease = store.acquire_lease("w1", [A], 60, idle=3600)
        assert lease is not None
        store.release_lease(lease, synced=True)
        assert store.due([A, B], 3600) == [B]
        assert store.acquire_lease("w1", [A], 60, idle=3600) is None
        assert store.acquire_lease("w1", [A], 60, idle=0) is not None

    def test_racing_workers_get_one_lease(self, make_sql: Factory) -> None:
        stores = [make_sql() for _ in range(6)]
        for round_ in range(10):
            shard = Shard(f"{round_:012d}", "us-east-1")
            barrier = threading.Barrier(len(stores))
            won: list[str] = []
            threads = [
                threading.Thread(target=_race, args=(s, f"w{i}", shard, barrier, won))
                for i, s in enumerate(stores)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(won) == 1, (round_, won)

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (("", [A], 60), InvalidArgument),
            (("w", [A], 0), InvalidArgument),
            (("w", [A], float("nan")), InvalidArgument),
            (("w", [A], True), InvalidArgumentType),
            (("w", A, 60), InvalidArgumentType),
            (("w", ["111122223333/us-east-1"], 60), InvalidArgumentType),
        ],
    )
    def test_bad_arguments_are_refused_and_change_nothing(
        self, make_sql: Factory, args: tuple[Any, ...], error: type[Exception]
    ) -> None:
        store = make_sql()
        with pytest.raises(error):
            store.acquire_lease(*args)
        assert store.leases() == []
        assert store.due([A], 0) == [A]


def _race(store: Any, name: str, shard: Shard, barrier: threading.Barrier, won: list[str]) -> None:
    barrier.wait()
    if store.acquire_lease(name, [shard], 60) is not None:
        won.append(name)


# -- schema 4 -> 5 (SQLite) ------------------------------------------------------


def version_4_store(path: Path, saves: list[tuple[Registration, list[TransitionEvent]]]) -> None:
    """A store as registration-fsm 0.4 wrote it: keyed by id, events without a shard."""
    conn = sqlite3.connect(path)
    try:
        for script in (_SCHEMA_V2, _UPGRADES[2], _UPGRADES[3]):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 4")
        seq, prev = 0, GENESIS
        for saved, (reg, events) in enumerate(saves, start=1):
            enc = codec.encode_save(reg, events, reg.to_api())
            conn.execute(
                "INSERT INTO registrations (id, revision, info, summary, saved) "
                "VALUES (?, 1, ?, ?, ?)",
                (enc.registration_id, enc.info, enc.summary, saved),
            )
            conn.executemany(
                "INSERT INTO versions (registration_id, number, info) VALUES (?, ?, ?)",
                [(enc.registration_id, n, text) for n, text in enc.versions],
            )
            texts = [_without_shard(text) for text in enc.events]
            records = codec.chain(enc.registration_id, texts, seq, prev)
            conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", records)
            if records:
                seq, prev = records[-1][0], records[-1][4]
        conn.execute("INSERT INTO audit_head VALUES (1, ?, ?)", (seq, prev))
        intent = Intent(REG, "discard", "DiscardRegistrationVersion", 1, "carol", "why", {}, T0)
        conn.execute(
            "INSERT INTO intents (registration_id, intent) VALUES (?, ?)",
            (REG, codec.encode_intent(intent)),
        )
        conn.commit()
    finally:
        conn.close()


def _without_shard(text: str) -> str:
    data = json.loads(text)
    data.pop(codec.SHARD, None)
    return json.dumps(data, separators=(",", ":"))


class TestUpgrade:
    def test_a_version_4_store_is_keyed_by_its_arns_shards(self, tmp_path: Path) -> None:
        path = tmp_path / "v4.db"
        one, one_events = submitted(A)
        two, two_events = submitted(B, "registration-two")
        version_4_store(path, [(one, one_events), (two, two_events)])
        with pytest.raises(StoreError, match=r"older than this library's .* open it writable"):
            SQLiteStore(path, read_only=True)  # refused, with how to upgrade; file unchanged

        with SQLiteStore(path) as store:
            assert store.shards() == [A, B]
            assert store.for_shard(A).ids() == [REG]
            stored = store.for_shard(B).get("registration-two")
            assert stored is not None
            assert stored.registration == two
            assert list(store.for_shard(A).events()) == one_events
            assert [s.intent.actor for s in store.for_shard(A).intents(REG)] == ["carol"]
            assert store.for_shard(B).intents() == []
            verdict = verify_audit(store)
            assert verdict.ok, verdict
            # what schema 5 adds works at once, and a new event names its shard
            store.save(one, [one.begin_review(clock=lambda: T0)], expected_revision=1)
            assert next(store.for_shard(A).events_with_seq(after=2)).seq == 5
            assert verify_audit(store).ok
            assert list(store.audit_records())[-1].event[codec.SHARD] == str(A)
        assert verify_audit(path).ok  # and read-only, once upgraded
        with SQLiteStore(path) as store:  # another account's registration of the same id
            twin, twin_events = submitted(Shard("000000000001", "us-east-1"))
            store.save(twin, twin_events)
            verdict = verify_audit(store)
            assert verdict.ok, verdict  # the old events stay the first account's
        new = tmp_path / "new.db"
        SQLiteStore(new).close()
        assert _schema(path) == _schema(new)


#: A store registration-fsm 0.4.0 wrote (tests/data/store-0.4.txt says how).
STORE_0_4 = Path(__file__).parent / "data" / "store-0.4.db"
APPROVED_0_4 = "registration-8623121de0bbf37a94594d8b75673fca"
DISCARDED_0_4 = "registration-aa2078e5484d14663ecb55e90827174a"
PENDING_0_4 = "registration-34d24c28aa10cae2a318d8b3f637f221"


def test_a_store_written_by_0_4_opens_upgraded_with_its_trail_intact(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(STORE_0_4.read_bytes())
    with pytest.raises(StoreError, match="schema version 4 is older"):
        SQLiteStore(path, read_only=True)
    assert path.read_bytes() == STORE_0_4.read_bytes()  # the refused open changed nothing

    shard = Shard("111122223333", "us-east-1")
    with SQLiteStore(path) as store:
        assert store.shards() == [shard]
        view = store.for_shard(shard)
        approved, discarded = view.get(APPROVED_0_4), view.get(DISCARDED_0_4)
        assert approved is not None
        assert discarded is not None
        assert approved.registration.current_version.status is VersionStatus.APPROVED
        assert discarded.registration.current_version.status is VersionStatus.DISCARDED
        discard = [e for e in view.events(DISCARDED_0_4) if e.trigger == "discard"]
        assert [(e.actor, e.reason) for e in discard] == [("carol", "wrong EIN")]
        assert [i.intent.actor for i in view.intents(PENDING_0_4)] == ["dave"]
        verdict = verify_audit(store)
        assert verdict.ok, verdict
        assert verdict.records == 8
    assert _schema(path) == _schema(_new_store(tmp_path / "new.db"))


def _new_store(path: Path) -> Path:
    SQLiteStore(path).close()
    return path


def _schema(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


# -- PostgreSQL's schema -----------------------------------------------------------


class TestPostgresSchema:
    def test_a_newer_schema_is_refused_in_one_line(self, postgres_url: str) -> None:
        PostgresStore(postgres_url).close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("UPDATE schema_info SET version = %s", (PG_SCHEMA + 1,))
        with pytest.raises(StoreError, match=f"schema version {PG_SCHEMA + 1} is newer") as c:
            PostgresStore(postgres_url)
        assert "\n" not in str(c.value)

    def test_a_database_with_other_tables_is_refused(self, postgres_url: str) -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE payroll (x integer)")
        with pytest.raises(StoreError, match="not a registration store"):
            PostgresStore(postgres_url)
        with pytest.raises(StoreError, match="not a registration store"):
            PostgresStore(postgres_url, read_only=True)
        with psycopg.connect(postgres_url) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        assert tables == [("payroll",)]  # nothing created

    def test_a_read_only_open_creates_nothing(self, postgres_url: str) -> None:
        with pytest.raises(StoreError, match="not a registration store"):
            PostgresStore(postgres_url, read_only=True)
        with PostgresStore(postgres_url) as store:
            store.save(registration(A))
        with PostgresStore(postgres_url, read_only=True) as reader:
            assert reader.ids() == [REG]
            with pytest.raises(StoreError, match="read-only"):
                reader.save(registration(B))

    def test_first_opens_racing_create_the_schema_once(self, postgres_url: str) -> None:
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def open_one() -> None:
            barrier.wait()
            try:
                PostgresStore(postgres_url).close()
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with PostgresStore(postgres_url) as store:
            assert store.ids() == []

    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://postgres:s3cret-pw@127.0.0.1:{port}/no_such_db",
            "postgresql://127.0.0.1:{port}/no_such_db?user=postgres&password=s3cret-pw",
            "postgresql://postgres:s3cret-pw@[::1:{port}/no_such_db",  # libpq quotes it whole
        ],
    )
    def test_errors_never_show_the_password(self, postgres_cluster: Any, url: str) -> None:
        url = url.format(port=postgres_cluster.port)
        with pytest.raises(StoreError) as caught:
            PostgresStore(url)
        message = str(caught.value)
        assert "s3cret-pw" not in message
        assert "no_such_db" in message
        assert "\n" not in message


def test_a_shard_released_with_a_back_off_is_not_taken_before_it(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        lease = store.acquire_lease("w1", [A], 60)
        assert lease is not None
        store.release_lease(lease, retry_after=3600)
        assert store.acquire_lease("w2", [A], 60) is None
        assert store.leases() == []  # released: held by no one
        assert store.due([A], 0) == [A]  # still due: it was not synced
        with pytest.raises(InvalidArgument, match="retry_after"):
            store.release_lease(lease, retry_after=-1)


def test_a_save_resolves_intents_in_its_own_transaction(make: Factory) -> None:
    """The intent log is written with the save: both or neither (issue 12, point 1)."""
    store = make()
    reg, events = submitted(A)
    store.save(reg)
    intent = Intent(REG, "submit", "SubmitRegistrationVersion", 1, "carol", None, {}, T0)
    first, second = store.record_intent(intent), store.record_intent(intent)
    with pytest.raises(InvalidArgument):  # refused: nothing is written, nothing resolved
        store.save(reg, events, resolves=[first, 0])
    assert [s.id for s in store.intents()] == [first, second]
    assert list(store.events()) == []
    store.save(reg, events, resolves=[first])
    assert [s.id for s in store.intents()] == [second]
    assert list(store.events()) == events


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"url": "mysql://u:s3cret@h/db"}, InvalidArgument, "postgresql:// URL"),
        ({"idle_timeout": 0}, InvalidArgument, "idle_timeout must be in"),
        ({"idle_timeout": "10"}, InvalidArgumentType, "idle_timeout must be seconds"),
        ({"connect_timeout": -1}, InvalidArgument, "connect_timeout must be in"),
    ],
)
def test_a_postgres_store_refuses_bad_arguments_before_connecting(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    options = {"url": "postgresql://nobody@127.0.0.1:1/none", **kwargs}
    with pytest.raises(error, match=match) as caught:
        PostgresStore(**options)
    assert "s3cret" not in str(caught.value)
