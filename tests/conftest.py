"""Shared fixtures and the hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from helpers import TickingClock
from helpers.postgres import PostgresCluster, PostgresError
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# The suite runs AWS's quotas x1000: the emulator still enforces them (a burst past a
# second's worth is throttled) and everything still paces itself, in milliseconds.
# Tests about the quotas themselves give their rates explicitly. Child processes
# (the CLI, the emulator) inherit it.
os.environ.setdefault("REGISTRATION_FSM_QUOTA_SCALE", "1000")

# The suite's emulators serve no forms unless a test gives them a catalogue: most tests
# are about the lifecycle, sync and the CLI, and submit without filling a form in.
# Tests about forms, the docs' examples and the demo use the shipped catalogue, as a
# user's emulator does by default. Child processes inherit it.
os.environ.setdefault("REGISTRATION_FSM_CATALOG", "none")


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def make_clock() -> Callable[[], TickingClock]:
    return TickingClock


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the session (see helpers.postgres).

    Where none can be started the tests using it skip, saying how to get one; with
    REGISTRATION_FSM_REQUIRE_TOOLS set (CI) they fail instead.
    """
    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresError as e:
        message = f"no PostgreSQL server could be started: {e}"
        if os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0"):
            pytest.fail(f"REGISTRATION_FSM_REQUIRE_TOOLS is set but {message}")
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server; dropped afterwards."""
    if not postgres_cluster.running:  # an earlier test killed it and did not start it again
        postgres_cluster.start_again()
    url = postgres_cluster.create_database()
    yield url
    if not postgres_cluster.running:
        postgres_cluster.start_again()
    postgres_cluster.drop_database(url.rsplit("/", 1)[1])
