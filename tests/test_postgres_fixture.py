"""The throwaway PostgreSQL of the tests (helpers.postgres and the conftest fixtures).

Databases are fresh and separate; data outlives a clean restart and a crash; old
connections break and new ones work; without a server the fixtures skip, saying how
to get one, or fail when REGISTRATION_FSM_REQUIRE_TOOLS is set (CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from helpers.postgres import PostgresCluster, PostgresError, PostgresUnavailable

ROOT = Path(__file__).resolve().parent.parent
HOW = "apt-get install postgresql"


def user_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
    return [name for (name,) in rows]


def test_a_cluster_serves_the_session(postgres_cluster: PostgresCluster) -> None:
    assert postgres_cluster.running
    url = postgres_cluster.url()
    assert url == f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/postgres"
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_user, inet_server_addr()::text").fetchone()
        limit = conn.execute("SHOW max_connections").fetchone()
    assert row == ("postgres", "127.0.0.1/32")
    assert limit is not None
    assert int(limit[0]) >= 100


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_a_fresh_empty_database(
    postgres_cluster: PostgresCluster, postgres_url: str, turn: int
) -> None:
    # Both turns leave a table behind: the second would see the first's if shared.
    assert user_tables(postgres_url) == []
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE left_behind (turn int)")
        conn.execute("INSERT INTO left_behind VALUES (%s)", (turn,))
    other = postgres_cluster.create_database()
    assert other != postgres_url
    assert user_tables(other) == []
    assert user_tables(postgres_url) == ["left_behind"]


def test_data_survives_a_restart_and_old_connections_break(
    postgres_cluster: PostgresCluster, postgres_url: str
) -> None:
    before = psycopg.connect(postgres_url, autocommit=True)
    try:
        before.execute("CREATE TABLE kept (n int)")
        before.execute("INSERT INTO kept VALUES (1), (2)")
        port = postgres_cluster.port
        postgres_cluster.restart()
        assert postgres_cluster.port == port
        with pytest.raises(psycopg.OperationalError):
            before.execute("SELECT 1")
    finally:
        before.close()
    with psycopg.connect(postgres_url) as after:
        assert after.execute("SELECT n FROM kept ORDER BY n").fetchall() == [(1,), (2,)]


def test_committed_data_survives_a_crash(
    postgres_cluster: PostgresCluster, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        for n in range(50):  # one commit each, the last just before the kill
            conn.execute("INSERT INTO kept VALUES (%s)", (n,))
        backends = [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity").fetchall()]
        postgres_cluster.kill()
        assert not postgres_cluster.running
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    assert backends
    deadline = time.monotonic() + 60
    while (alive := [pid for pid in backends if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive == [], "kill() left server processes running"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_url, connect_timeout=5)
    postgres_cluster.start_again()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*), max(n) FROM kept").fetchone() == (50, 49)


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_server_that_cannot_start_says_why() -> None:
    cluster = PostgresCluster(max_connections=0)
    with pytest.raises(PostgresError, match="max_connections") as caught:
        cluster.start()
    assert "the end of its log" in str(caught.value)
    assert cluster.tmp_dir is None
    assert not cluster.running


def test_the_server_is_found_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PostgresCluster.find_bin()
    assert real is not None
    monkeypatch.setenv("REGISTRATION_FSM_PG_BIN", str(tmp_path))
    assert PostgresCluster.find_bin() is None
    why = PostgresCluster.why_unavailable()
    assert why is not None
    assert HOW in why
    assert "REGISTRATION_FSM_PG_BIN" in why
    with pytest.raises(PostgresUnavailable, match=HOW):
        PostgresCluster().start()
    monkeypatch.setenv("REGISTRATION_FSM_PG_BIN", str(real))
    assert PostgresCluster.find_bin() == real
    assert PostgresCluster.why_unavailable() is None


def test_without_a_server_the_fixture_skips_and_ci_fails(tmp_path: Path) -> None:
    """A pytest of its own, with REGISTRATION_FSM_PG_BIN naming an empty directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["REGISTRATION_FSM_PG_BIN"] = str(tmp_path)
    env.pop("REGISTRATION_FSM_REQUIRE_TOOLS", None)
    test = f"{Path(__file__).name}::test_a_cluster_serves_the_session"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsE", "-vv", test]
    runs = {
        required: subprocess.Popen(
            command,
            cwd=Path(__file__).parent,
            env=env | ({"REGISTRATION_FSM_REQUIRE_TOOLS": "1"} if required else {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for required in (False, True)
    }
    outputs = {required: proc.communicate(timeout=300)[0] for required, proc in runs.items()}
    relaxed, required = outputs[False], outputs[True]
    assert runs[False].returncode == 0, relaxed
    assert "1 skipped" in relaxed, relaxed
    assert HOW in relaxed, relaxed
    assert runs[True].returncode == 1, required
    assert "1 error" in required, required
    assert "REGISTRATION_FSM_REQUIRE_TOOLS is set but" in required, required
    assert HOW in required, required
