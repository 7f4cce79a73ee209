"""VirtualClock: time that passes only when something waits, for quota-bound tests.

::

    from registration_fsm import EmulatedRegistrationApi, Synchronizer
    from registration_fsm.testing import VirtualClock

    clock = VirtualClock()
    emulator = EmulatedRegistrationApi(clock=clock)     # AWS's quotas, on virtual time
    Synchronizer(emulator).sync()                       # paces itself: instant
    clock.elapsed                                       # the seconds AWS would have taken

The emulator reads it for its timestamps and its quotas, and its RegistrationApi
methods wait for a quota with its :meth:`~VirtualClock.advance_to`, which moves it
on to the moment the quota refills (several threads waiting for the same moment
move it there once, as real time would).
A burst of raw requests (``emulator.handle(...)``) is throttled, as on AWS.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

from registration_fsm.errors import InvalidArgument


class VirtualClock:
    """A clock (a callable giving aware UTC datetimes) with a ``sleep`` that advances it.

    Thread-safe. ``elapsed`` is the virtual seconds slept so far.
    """

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        if start.tzinfo is None:
            raise InvalidArgument(f"start must be timezone-aware, got {start.isoformat()}")
        self._lock = threading.Lock()
        self._start = start
        self._now = start

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (no real waiting)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidArgument(f"cannot sleep {seconds!r} seconds")
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        """Move the clock on to ``moment`` (never back): a wait until then.

        Concurrent waiters for the same moment move it there once, as real time does.
        """
        with self._lock:
            self._now = max(self._now, moment)

    def monotonic(self) -> float:
        """Seconds since the start (for pacers that take a monotonic clock)."""
        return self.elapsed

    @property
    def elapsed(self) -> float:
        """Virtual seconds passed since the start."""
        with self._lock:
            return (self._now - self._start).total_seconds()

    def __repr__(self) -> str:
        return f"VirtualClock({self().isoformat()}, elapsed={self.elapsed:.3f} s)"


__all__ = ["VirtualClock"]
