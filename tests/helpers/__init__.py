"""What the tests share: constants, a clock, and programs the reliability tests run.

- :data:`REG_ID`, :data:`REG_ARN`, :data:`REG_TYPE` and :class:`TickingClock`;
- :mod:`helpers.apis`: a ``RegistrationApi`` that delegates to another, with hooks;
- :mod:`helpers.world`: a deterministic remote world (an emulator moved in seeded rounds);
- :mod:`helpers.sync_child`: the child the durability test SIGKILLs mid-sync;
- :mod:`helpers.racer`: a child synchronizer whose saves wait for the parent's go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

REG_ID = "registration-0123456789abcdef0123456789abcdef"
REG_ARN = f"arn:aws:sms-voice:us-east-1:123456789012:registration/{REG_ID}"
REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"


class TickingClock:
    """A clock that advances one minute per reading, from a fixed start."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(minutes=1)):
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now
