"""Request rates: the emulator's enforcement and the adapters' pacing.

- :class:`TokenBucket`: how the emulator enforces a quota, as AWS does: a request
  takes a token; tokens come back at the quota's rate, at most ``burst`` of them.
- :class:`Pacer`: how the adapters stay under the quotas: each operation's
  requests are spaced at its rate (a little under it, for the jitter between
  sending and arriving), one pacer per account and region shared by every thread
  and adapter (:func:`shared_pacer`). When AWS still throttles — someone else
  uses the account — the operation's rate halves, and it climbs back by a
  twentieth of the quota with each answer that is not throttled.

Written here rather than taken from a rate-limiting library: the ones looked at
(pyrate-limiter, limits) count requests in windows and either refuse or sleep
with ``time.sleep``; what is needed is a rate that adapts per operation, a
reservation that spaces concurrent callers, and a clock and sleep that tests can
replace with virtual ones (``docs/aws.md`` says more).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping

from registration_fsm.errors import InvalidArgument

#: The share of the quota the pacer leaves unused, for the jitter between sending a
#: request and its arrival (a strict bucket refuses one that arrives early).
MARGIN = 0.05
#: The lowest share of its quota an operation's rate falls to after throttling.
FLOOR = 1 / 32
#: What each answer that is not throttled adds back, as a share of the quota.
RECOVERY = 1 / 20


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` stored; not thread-safe (hold a lock)."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if not math.isfinite(rate) or rate <= 0 or not math.isfinite(burst) or burst < 1:
            raise InvalidArgument(f"a bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        if self._last is None or now > self._last:
            self._last = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: one is there now)."""
        self._refill(now)
        # A hair under 1 is float rounding of a refill that is due: count it whole.
        return 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self.rate

    def take(self, now: float) -> bool:
        """Take a token if there is one at ``now``."""
        if self.wait(now) > 0:
            return False
        self._tokens = max(0.0, self._tokens - 1)
        return True


class Pacer:
    """Spaces one account and region's requests per operation (see the module docstring).

    Args:
        rates: requests per second by operation (operations not named are not paced).
        clock: seconds, monotonic (default ``time.monotonic``).
        sleep: how to wait (default ``time.sleep``).
        margin: the share of each rate left unused (default :data:`MARGIN`).
    """

    def __init__(
        self,
        rates: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = MARGIN,
    ) -> None:
        if not 0 <= margin < 1:
            raise InvalidArgument(f"margin must be in [0, 1), got {margin!r}")
        self._lock = threading.Lock()
        self._quota = dict(rates)
        self._rate = dict(rates)
        self._next: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        #: Seconds spent waiting, and throttled answers seen, by operation.
        self.waited: dict[str, float] = {}
        self.throttled_answers: Counter[str] = Counter()

    def configure(self, rates: Mapping[str, float]) -> None:
        """New quotas (a quota increase): rates restart from them."""
        with self._lock:
            self._quota = dict(rates)
            self._rate = dict(rates)

    def rate(self, operation: str) -> float:
        """The rate ``operation`` is paced at now (inf: not paced)."""
        with self._lock:
            return self._rate.get(operation, math.inf)

    def quota(self, operation: str) -> float:
        """The quota ``operation`` is paced by (inf: not paced)."""
        return self._quota.get(operation, math.inf)

    def acquire(self, operation: str) -> float:
        """Wait for ``operation``'s next slot; return the seconds waited.

        Slots are reserved under a lock, so concurrent callers are spaced, not bunched.
        """
        with self._lock:
            rate = self._rate.get(operation)
            if rate is None:
                return 0.0
            now = self._clock()
            slot = max(now, self._next.get(operation, now))
            self._next[operation] = slot + 1 / (rate * (1 - self._margin))
        pause = slot - now
        if pause > 0:
            self.waited[operation] = self.waited.get(operation, 0.0) + pause
            self._sleep(pause)
        return max(pause, 0.0)

    def throttled(self, operation: str) -> None:
        """AWS throttled ``operation`` anyway: halve its rate and push its next slot back."""
        with self._lock:
            self.throttled_answers[operation] += 1
            rate, quota = self._rate.get(operation), self._quota.get(operation)
            if rate is None or quota is None:
                return
            self._rate[operation] = max(rate / 2, quota * FLOOR)
            later = self._clock() + 1 / self._rate[operation]
            self._next[operation] = max(self._next.get(operation, later), later)

    def answered(self, operation: str) -> None:
        """An answer that was not throttled: climb back toward the quota."""
        with self._lock:
            rate, quota = self._rate.get(operation), self._quota.get(operation)
            if rate is not None and quota is not None and rate < quota:
                self._rate[operation] = min(quota, rate + quota * RECOVERY)

    def seconds_for(self, requests: Mapping[str, int]) -> float:
        """How long these requests take at the current rates, operations in parallel."""
        with self._lock:
            return max(
                (n / self._rate[op] for op, n in requests.items() if op in self._rate and n),
                default=0.0,
            )


_SHARED: dict[Hashable, Pacer] = {}
_SHARED_LOCK = threading.Lock()


def shared_pacer(key: Hashable, rates: Mapping[str, float]) -> Pacer:
    """The process's one pacer for ``key`` (an account and region), made on first use.

    A later caller with other rates (a quota increase) reconfigures it.
    """
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            found = _SHARED[key] = Pacer(rates)
        elif dict(rates) != found._quota:
            found.configure(rates)
        return found


__all__ = ["FLOOR", "MARGIN", "RECOVERY", "Pacer", "TokenBucket", "shared_pacer"]
