"""Shared fixtures and the hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from helpers import TickingClock
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
