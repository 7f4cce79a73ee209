"""The store port's contract, run against MemoryStore and SQLiteStore, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from registration_fsm import (
    InvalidArgument,
    InvalidArgumentType,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.audit import verify
from registration_fsm.errors import StaleWrite, StoreError
from registration_fsm.store import (
    UNCHECKED,
    MemoryStore,
    ResumableStore,
    SQLiteStore,
    Store,
    StoredEvent,
    codec,
)
from registration_fsm.store.chain import GENESIS
from registration_fsm.store.postgres import PostgresStore
from registration_fsm.store.sqlite import APPLICATION_ID, SCHEMA_VERSION

ARN = "arn:aws:sms-voice:us-east-1:111122223333:registration/"
TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

StoreFactory = Callable[[], Store]


class Ticks:
    """A clock that moves 1.000001 s per call, so every timestamp has microseconds."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1, microseconds=1)
        return self.now


def denied_registration(reg_id: str) -> tuple[Registration, list[TransitionEvent]]:
    """v1 DENIED with a reason, v2 DRAFT; and the events that got it there."""
    clock = Ticks()
    reg = Registration.new(
        reg_id, ARN + reg_id, TYPE, clock=clock, additional_attributes={"k": "v"}
    )
    events: list[TransitionEvent] = []
    reg.subscribe(events.append)
    reg.fire("submit", clock=clock, actor="alice")
    reg.fire("begin_review", clock=clock)
    reg.fire(
        "deny", clock=clock, denied_reasons=[{"Reason": "R", "ShortDescription": "s"}], feedback="f"
    )
    reg.create_version(clock=clock)
    return reg, events


def unknown_status_registration(reg_id: str) -> Registration:
    """From the API with statuses this library does not know, and a claim the versions deny."""
    info = {
        "RegistrationArn": ARN + reg_id,
        "RegistrationId": reg_id,
        "RegistrationType": TYPE,
        "RegistrationStatus": "SOME_NEW_STATUS",
        "CurrentVersionNumber": 1,
        "ApprovedVersionNumber": 1,
        "CreatedTimestamp": T0,
    }
    version = {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "SOME_NEW_STATUS",
        "RegistrationVersionStatusHistory": {"DraftTimestamp": T0.timestamp()},
    }
    return Registration.from_api(info, [version])


def plain_event(reg_id: str, **details: Any) -> TransitionEvent:
    return TransitionEvent(
        reg_id, 1, "submit", VersionStatus.DRAFT, VersionStatus.SUBMITTED, T0, details=details
    )


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores of one kind; SQL ones share one database. All are closed afterwards."""
    opened: list[Store] = []
    memory = MemoryStore()
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    def make() -> Store:
        store: Store
        if request.param == "memory":
            store = memory
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / "s.db")
        else:
            store = PostgresStore(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()


class TestStoreContract:
    def test_is_a_store_and_starts_empty(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert store.get("registration-x") is None
        assert store.ids() == []
        assert list(store.registrations()) == []
        assert list(store.events()) == []

    def test_round_trip_of_a_domain_registration(self, store: Store) -> None:
        reg, events = denied_registration("registration-a")
        summary = {**reg.to_api(), "Nested": {"$datetime": "literal", "at": [T0, None, 1.5]}}
        assert store.save(reg, events, summary=summary) == 1
        stored = store.get("registration-a")
        assert stored is not None
        assert stored.registration == reg
        assert stored.registration.versions_to_api() == reg.versions_to_api()
        assert stored.registration.status == RegistrationStatus.REQUIRES_UPDATES
        assert stored.registration.versions[1].denied_reasons == reg.versions[1].denied_reasons
        assert stored.registration.created.tzinfo is UTC
        assert stored.registration.created.microsecond == reg.created.microsecond != 0
        assert stored.summary == summary
        assert stored.revision == 1
        assert list(store.events()) == events
        assert store.ids() == ["registration-a"]

    def test_unknown_statuses_stay_raw_and_anomalies_are_recomputed(self, store: Store) -> None:
        reg = unknown_status_registration("registration-u")
        assert reg.anomalies  # the claimed approved version
        store.save(reg, [])
        stored = store.get("registration-u")
        assert stored is not None
        got = stored.registration
        assert got == reg
        assert got.status.is_unknown
        assert got.status.to_api() == "SOME_NEW_STATUS"
        assert got.current_version.status.to_api() == "SOME_NEW_STATUS"
        # to_api derives ApprovedVersionNumber from the versions, so the claim is gone.
        assert got.anomalies == Registration.from_api(reg.to_api(), reg.versions_to_api()).anomalies

    def test_reads_and_writes_are_independent_copies(self, store: Store) -> None:
        reg, events = denied_registration("registration-c")
        summary: dict[str, Any] = {"list": [1]}
        store.save(reg, events, summary=summary)
        saved_events = list(events)
        expected = Registration.from_api(reg.to_api(), reg.versions_to_api())
        reg.fire("submit")
        summary["list"].append(2)
        first = store.get("registration-c")
        assert first is not None
        assert first.summary is not None
        first.registration.fire("submit")
        first.summary["list"].append(3)
        next(store.events()).details["x"] = 1  # type: ignore[index]
        second = store.get("registration-c")
        assert second is not None
        assert second.registration == expected
        assert second.registration is not first.registration
        assert second.summary == {"list": [1]}
        assert list(store.events()) == saved_events

    def test_revisions_count_saves(self, store: Store) -> None:
        reg, _ = denied_registration("registration-r")
        assert [store.save(reg, []) for _ in range(3)] == [1, 2, 3]
        stored = store.get("registration-r")
        assert stored is not None
        assert stored.revision == 3
        assert store.save(reg, [], expected_revision=3) == 4

    def test_expected_none_means_new(self, store: Store) -> None:
        reg, _ = denied_registration("registration-n")
        assert store.save(reg, [], expected_revision=None) == 1
        with pytest.raises(StaleWrite) as caught:
            store.save(reg, [], expected_revision=None)
        assert (caught.value.registration_id, caught.value.expected, caught.value.found) == (
            "registration-n",
            None,
            1,
        )
        assert store.save(reg, [], expected_revision=UNCHECKED) == 2

    def test_stale_write_changes_nothing(self, store: Store) -> None:
        reg, events = denied_registration("registration-s")
        store.save(reg, events, summary={"v": 1})
        store.save(reg, [], summary={"v": 2})
        before = store.get("registration-s")
        log = list(store.events_with_seq())
        reg.fire("submit")
        for expected in (1, 3, None):
            with pytest.raises(StaleWrite) as caught:
                store.save(reg, [plain_event(reg.id)], summary={"v": 3}, expected_revision=expected)
            assert caught.value.expected == expected
            assert caught.value.found == 2
        assert store.get("registration-s") == before
        assert list(store.events_with_seq()) == log
        assert store.save(reg, [], expected_revision=2) == 3

    def test_a_missing_registration_is_stale_for_a_revision(self, store: Store) -> None:
        reg, _ = denied_registration("registration-m")
        with pytest.raises(StaleWrite) as caught:
            store.save(reg, [], expected_revision=1)
        assert caught.value.found is None
        assert store.get("registration-m") is None

    def test_summary_is_replaced_and_none_clears_it(self, store: Store) -> None:
        reg, _ = denied_registration("registration-y")
        store.save(reg, [], summary={"a": 1})
        store.save(reg, [], summary={"b": 2})
        stored = store.get("registration-y")
        assert stored is not None
        assert stored.summary == {"b": 2}
        store.save(reg, [])
        stored = store.get("registration-y")
        assert stored is not None
        assert stored.summary is None

    def test_events_keep_append_order_and_filter(self, store: Store) -> None:
        a, a_events = denied_registration("registration-a")
        b, b_events = denied_registration("registration-b")
        store.save(b, b_events[:2])
        store.save(a, a_events)
        store.save(b, b_events[2:])
        assert list(store.events()) == b_events[:2] + a_events + b_events[2:]
        assert list(store.events("registration-a")) == a_events
        assert list(store.events("registration-b")) == b_events
        assert list(store.events("registration-z")) == []
        seqs = [e.seq for e in store.events_with_seq()]
        assert seqs == sorted(set(seqs))
        assert len(seqs) == len(a_events) + len(b_events)
        tail = list(store.events_with_seq(after=seqs[1]))
        assert [e.seq for e in tail] == seqs[2:]
        b_tail = list(store.events_with_seq("registration-b", after=seqs[1]))
        assert [e.event for e in b_tail] == b_events[2:]
        assert all(isinstance(e, StoredEvent) for e in tail)
        assert [r.id for r in store.registrations()] == ["registration-a", "registration-b"]
        assert list(store.registrations()) == [a, b]

    def test_unusable_arguments_write_nothing(self, store: Store) -> None:
        reg, events = denied_registration("registration-i")
        with pytest.raises(InvalidArgument, match="belongs to registration registration-o"):
            store.save(reg, [*events, plain_event("registration-o")])
        with pytest.raises(InvalidArgument, match=r"summary\.bad"):
            store.save(reg, events, summary={"bad": object()})
        with pytest.raises(InvalidArgument, match=r"events\[0\]\.details\.x"):
            store.save(reg, [plain_event(reg.id, x={1: 2})])
        for bad_value in (0, -1):  # a revision is >= 1
            with pytest.raises(InvalidArgument, match="expected_revision"):
                store.save(reg, events, expected_revision=bad_value)
        for bad_type in (True, "1", 1.0):  # a revision is an int
            with pytest.raises(InvalidArgumentType, match="expected_revision"):
                store.save(reg, events, expected_revision=bad_type)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentType, match="Registration"):
            store.save(reg.to_api(), [])  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentType, match="events must be a list"):
            store.save(reg, events[0])  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="after"):
            store.events_with_seq(after=-1)
        assert store.get(reg.id) is None
        assert list(store.events()) == []

    def test_closed_store_refuses_everything(self, store: Store) -> None:
        reg, _ = denied_registration("registration-q")
        with store as same:
            assert same is store
            store.save(reg, [])
        store.close()  # idempotent
        for call in (
            lambda: store.get(reg.id),
            lambda: store.save(reg, []),
            store.ids,
            store.registrations,
            store.events,
        ):
            with pytest.raises(StoreError, match="closed"):
                call()

    def test_a_checkpoint_holds_what_was_pulled_since_it_began(self, store: Store) -> None:
        assert isinstance(store, ResumableStore)
        before, _ = denied_registration("registration-before")
        pulled, _ = denied_registration("registration-pulled")
        commanded, _ = denied_registration("registration-commanded")
        store.save(before, [], summary={"n": 1})  # pulled before the sync began
        store.save(commanded, [], summary={"n": 1})

        begun = store.begin_sync("full")
        assert (begun.scope, begun.resumed, begun.done) == ("full", False, frozenset())
        assert begun.started.tzinfo is UTC
        store.save(pulled, [], summary={"n": 2})  # a sync's save: with the API's summary
        store.save(commanded, [])  # a command's save: no summary, so not a pull

        resumed = store.begin_sync("full")
        assert (resumed.resumed, resumed.started) == (True, begun.started)
        assert resumed.done == {pulled.id}
        other = store.begin_sync("full of 1 ids 0123")  # another scope begins now
        assert (other.resumed, other.done) == (False, frozenset())
        store.save(pulled, [])  # a command changed it since: no longer counts as pulled
        assert store.begin_sync("full").done == frozenset()

        store.end_sync("full")
        store.end_sync("full")  # nothing to end: nothing happens
        fresh = store.begin_sync("full")
        assert (fresh.resumed, fresh.done) == (False, frozenset())
        assert store.begin_sync("full of 1 ids 0123").resumed  # untouched by "full" ending

    @pytest.mark.parametrize(
        ("scope", "error"),
        [
            ("", InvalidArgument),
            ("x" * 201, InvalidArgument),
            ("full\nscope", InvalidArgument),
            (3, InvalidArgumentType),
            (None, InvalidArgumentType),
        ],
    )
    def test_a_scope_that_cannot_name_a_sync_is_refused(
        self, store: Store, scope: Any, error: type[Exception]
    ) -> None:
        assert isinstance(store, ResumableStore)
        with pytest.raises(error, match="scope"):
            store.begin_sync(scope)
        with pytest.raises(error, match="scope"):
            store.end_sync(scope)

    def test_checkpoints_close_with_the_store(self, store: Store) -> None:
        assert isinstance(store, ResumableStore)
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.begin_sync("full")
        with pytest.raises(StoreError, match="closed"):
            store.end_sync("full")

    def test_concurrent_saves_from_threads(self, make_store: StoreFactory) -> None:
        stores = [make_store() for _ in range(2)]  # SQLite: two connections, one file
        shared, _ = denied_registration("registration-shared")
        stores[0].save(shared, [])
        workers, rounds = 8, 10
        retries = [0] * workers
        failures: list[BaseException] = []

        def work(w: int) -> None:
            try:
                store = stores[w % 2]
                own, own_events = denied_registration(f"registration-w{w}")
                store.save(own, own_events, expected_revision=None)
                for n in range(rounds):
                    while True:
                        current = store.get("registration-shared")
                        assert current is not None
                        event = plain_event("registration-shared", worker=w, n=n)
                        try:
                            store.save(
                                current.registration, [event], expected_revision=current.revision
                            )
                            break
                        except StaleWrite:
                            retries[w] += 1
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        final = stores[1].get("registration-shared")
        assert final is not None
        assert final.revision == 1 + workers * rounds
        shared_events = list(stores[1].events("registration-shared"))
        assert sorted((e.details["worker"], e.details["n"]) for e in shared_events) == [
            (w, n) for w in range(workers) for n in range(rounds)
        ]
        per_worker = [
            [e.details["n"] for e in shared_events if e.details["worker"] == w]
            for w in range(workers)
        ]
        assert per_worker == [list(range(rounds))] * workers
        assert len(stores[0].ids()) == workers + 1


class TestSQLiteStore:
    def test_reopen_restores_everything_exactly(self, tmp_path: Path) -> None:
        path = tmp_path / "store.db"
        a, a_events = denied_registration("registration-a")
        u = unknown_status_registration("registration-u")
        summary = {**a.to_api(), "When": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)}
        with SQLiteStore(path) as store:
            store.save(a, a_events[:1], summary=summary)
            store.save(u, [plain_event(u.id, note="x")])
            store.save(a, a_events[1:], summary=summary)
            before = {i: store.get(i) for i in store.ids()}
            log = list(store.events_with_seq())
        with SQLiteStore(path) as store:
            after = {i: store.get(i) for i in store.ids()}
            assert after == before
            assert list(store.events_with_seq()) == log
            stored_a = after["registration-a"]
            assert stored_a is not None
            assert stored_a.registration == a
            assert stored_a.summary == summary
            assert stored_a.revision == 2
            stored_u = after["registration-u"]
            assert stored_u is not None
            assert stored_u.registration.status.to_api() == "SOME_NEW_STATUS"
            before_u = before["registration-u"]
            assert before_u is not None
            assert stored_u.registration.anomalies == before_u.registration.anomalies
            for event in store.events():
                assert event.timestamp.tzinfo is UTC
            assert [e.event for e in log if e.event.registration_id == a.id] == a_events
            assert store.save(a, [plain_event(a.id)]) == 3
            assert list(store.events_with_seq())[-1].seq == log[-1].seq + 1

    def test_a_checkpoint_outlives_the_process_and_is_shared_by_connections(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "s.db"
        reg, _ = denied_registration("registration-c")
        with SQLiteStore(path) as one:
            begun = one.begin_sync("full")
            with SQLiteStore(path) as two:  # another process's connection
                two.save(reg, [], summary={"n": 1})
        with SQLiteStore(path) as reopened:
            found = reopened.begin_sync("full")
            assert (found.resumed, found.started) == (True, begun.started)
            assert found.done == {reg.id}

    def test_file_is_wal_with_schema_version(self, tmp_path: Path) -> None:
        path = tmp_path / "store.db"
        SQLiteStore(path).close()
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
        finally:
            conn.close()

    def test_two_instances_on_one_file_detect_a_stale_write(self, tmp_path: Path) -> None:
        reg, _ = denied_registration("registration-2")
        with SQLiteStore(tmp_path / "s.db") as one, SQLiteStore(tmp_path / "s.db") as two:
            one.save(reg, [])
            seen_one, seen_two = one.get(reg.id), two.get(reg.id)
            assert seen_one is not None
            assert seen_two is not None
            assert one.save(reg, [plain_event(reg.id)], expected_revision=seen_one.revision) == 2
            with pytest.raises(StaleWrite) as caught:
                two.save(reg, [plain_event(reg.id)], expected_revision=seen_two.revision)
            assert (caught.value.expected, caught.value.found) == (1, 2)
            with pytest.raises(StaleWrite):
                two.save(reg, [], expected_revision=None)
            assert len(list(two.events())) == 1

    def test_a_failed_save_rolls_back_entirely(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        reg, events = denied_registration("registration-f")
        with SQLiteStore(path) as store:
            store.save(reg, events[:1], summary={"v": 1})
            before = store.get(reg.id)
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON events "
            "WHEN (SELECT count(*) FROM events) >= 2 BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        conn.commit()
        conn.close()
        reg.fire("submit")
        with SQLiteStore(path) as store:
            with pytest.raises(StoreError, match="boom"):
                store.save(reg, events[1:], summary={"v": 2})  # the 2nd event insert aborts
            assert store.get(reg.id) == before
            assert list(store.events()) == events[:1]
            assert store.save(reg, []) == 2  # the connection is usable afterwards

    @pytest.mark.slow
    def test_processes_share_one_file(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        reg, _ = denied_registration("registration-p")
        with SQLiteStore(path) as store:
            store.save(reg, [])
        script = textwrap.dedent(
            """
            import sys
            from registration_fsm.errors import StaleWrite
            from registration_fsm.store import SQLiteStore
            with SQLiteStore(sys.argv[1]) as store:
                for _ in range(10):
                    while True:
                        s = store.get("registration-p")
                        try:
                            store.save(s.registration, [], expected_revision=s.revision)
                            break
                        except StaleWrite:
                            pass
            """
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE)
            for _ in range(3)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
        with SQLiteStore(path) as store:
            stored = store.get("registration-p")
            assert stored is not None
            assert stored.revision == 31

    def test_a_version_2_store_is_upgraded_in_place_on_open(self, tmp_path: Path) -> None:
        path = tmp_path / "v2.db"
        reg, events = denied_registration("registration-old")
        summary = {**reg.to_api(), "Seen": T0}
        version_2_store(path, reg, events, summary)

        with SQLiteStore(path) as store:
            stored = store.get(reg.id)
            assert stored is not None
            assert (stored.registration, stored.summary, stored.revision) == (reg, summary, 1)
            assert list(store.events()) == events
            assert verify(*store.audit_trail()).ok
            begun = store.begin_sync("full")  # what version 3 adds works at once
            assert (begun.resumed, begun.done) == (False, frozenset())
            assert store.save(reg, [], summary=summary, expected_revision=1) == 2
            assert store.begin_sync("full").done == {reg.id}
        assert pragmas(path) == (SCHEMA_VERSION, APPLICATION_ID)
        assert schema_of(path) == schema_of_new_store(tmp_path / "new.db")
        with SQLiteStore(path) as again:  # upgraded once: opens as it is
            assert again.ids() == [reg.id]

    def test_a_failed_upgrade_leaves_the_version_2_store_as_it_was(self, tmp_path: Path) -> None:
        path = tmp_path / "v2.db"
        reg, events = denied_registration("registration-old")
        version_2_store(path, reg, events, None)
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE sync_checkpoints (x)")  # the upgrade's last step will fail
        conn.commit()
        conn.close()
        before = schema_of(path)

        with pytest.raises(StoreError, match="sync_checkpoints already exists") as caught:
            SQLiteStore(path)

        assert "\n" not in str(caught.value)
        assert pragmas(path) == (2, APPLICATION_ID)
        assert schema_of(path) == before  # the column and index added first were rolled back

    @pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1])
    def test_a_schema_it_cannot_upgrade_is_refused_in_one_line(
        self, tmp_path: Path, version: int
    ) -> None:
        path = tmp_path / "s.db"
        SQLiteStore(path).close()
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()
        with pytest.raises(StoreError) as caught:
            SQLiteStore(path)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: schema version {version} ")
        assert ("is newer than" in message) == (version > SCHEMA_VERSION)
        assert pragmas(path) == (version, APPLICATION_ID)  # left alone

    def test_garbage_file_is_a_store_error(self, tmp_path: Path) -> None:
        path = tmp_path / "garbage.db"
        path.write_bytes(b"this is not a database, just some text\n" * 100)
        with pytest.raises(StoreError, match="not a database"):
            SQLiteStore(path)
        with pytest.raises(StoreError, match="cannot open"):
            SQLiteStore(tmp_path)  # a directory

    def test_foreign_database_is_refused(self, tmp_path: Path) -> None:
        other, newer = tmp_path / "other.db", tmp_path / "newer.db"
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        with pytest.raises(StoreError, match="not a registration store"):
            SQLiteStore(other)
        SQLiteStore(newer).close()
        conn = sqlite3.connect(newer)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
        with pytest.raises(StoreError, match="schema version 99"):
            SQLiteStore(newer)

    @pytest.mark.parametrize(
        ("sql", "call", "match"),
        [
            ("UPDATE registrations SET info = '{'", "get", "registration 'registration-k' info"),
            ("UPDATE registrations SET info = '[]'", "get", "unusable"),
            ("UPDATE registrations SET revision = 'x'", "get", "revision"),
            ("UPDATE registrations SET summary = '3'", "get", "summary"),
            ("UPDATE versions SET info = '{\"VersionNumber\": 0}'", "registrations", "unusable"),
            ("DELETE FROM versions", "get", "at least one version"),
            ("UPDATE events SET event = 'nope'", "events", "event 1"),
            ("UPDATE events SET event = '{\"dest\": 1}'", "events", "event 1: stored event"),
        ],
    )
    def test_corrupt_rows_are_store_errors(
        self, tmp_path: Path, sql: str, call: str, match: str
    ) -> None:
        path = tmp_path / "s.db"
        reg, events = denied_registration("registration-k")
        with SQLiteStore(path) as store:
            store.save(reg, events, summary={"a": 1})
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql)
        conn.commit()
        conn.close()
        with SQLiteStore(path) as store:
            read = store.get if call == "get" else lambda _id: list(getattr(store, call)())
            with pytest.raises(StoreError, match=match):
                read(reg.id)


#: The schema of registration-fsm 0.2 (``PRAGMA user_version`` 2), as it shipped.
VERSION_2_DDL = """
CREATE TABLE registrations (
    id TEXT PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    info TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE versions (
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    number INTEGER NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (registration_id, number)
) WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    event TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_registration ON events (registration_id, seq);
"""


def version_2_store(
    path: Path,
    registration: Registration,
    events: list[TransitionEvent],
    summary: dict[str, Any] | None,
) -> None:
    """A store as registration-fsm 0.2 wrote it: its DDL, one registration saved once."""
    enc = codec.encode_save(registration, events, summary)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(VERSION_2_DDL)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO registrations (id, revision, info, summary) VALUES (?, 1, ?, ?)",
            (enc.registration_id, enc.info, enc.summary),
        )
        conn.executemany(
            "INSERT INTO versions (registration_id, number, info) VALUES (?, ?, ?)",
            [(enc.registration_id, n, text) for n, text in enc.versions],
        )
        records = codec.chain(enc.registration_id, enc.events, 0, GENESIS)
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", records)
        conn.execute("INSERT INTO audit_head VALUES (1, ?, ?)", (records[-1][0], records[-1][4]))
        conn.commit()
    finally:
        conn.close()


def pragmas(path: Path) -> tuple[int, int]:
    """The file's (user_version, application_id)."""
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    finally:
        conn.close()
    return version, app_id


def schema_of(path: Path) -> list[tuple[str, str]]:
    """Every table's and index's definition in the file, sorted."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    finally:
        conn.close()
    return [(name, sql) for name, sql in rows]


def schema_of_new_store(path: Path) -> list[tuple[str, str]]:
    SQLiteStore(path).close()
    return schema_of(path)
