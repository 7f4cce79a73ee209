"""A deterministic remote world: an emulator moved along legal paths in seeded rounds.

``World(seed)`` is round 0: :data:`SIZE` registrations, each walked a few seeded
steps. :meth:`World.advance` applies the next round: most registrations take a
step (AWS-side events through ``advance``, customer ones through the API), now
and then one is created or deleted. Two processes that build the same seed to the
same round hold the same registrations (ids, versions, timestamps): the clock
moves only when the world changes something, never when it is read, so the
syncs a process runs do not change the world it builds.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from registration_fsm import Registration, VersionStatus
from registration_fsm.emulator import EmulatedRegistrationApi

#: Registrations in round 0.
SIZE = 30
REGISTRATION_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
START = datetime(2026, 1, 1, tzinfo=UTC)
DENIAL = {"Reason": "BRAND_MISMATCH", "ShortDescription": "The name does not match the EIN"}

#: What a step may do, by the current version's status (repeats weigh a choice).
STEPS: Mapping[VersionStatus, tuple[str, ...]] = {
    VersionStatus.DRAFT: ("submit", "submit", "submit_aws_review"),
    VersionStatus.SUBMITTED: ("begin_review", "begin_review", "discard", "require_authentication"),
    VersionStatus.AWS_REVIEWING: ("begin_review", "deny"),
    VersionStatus.REVIEWING: (
        "approve",
        "approve",
        "deny",
        "require_authentication",
        "require_offline_review",
    ),
    VersionStatus.REQUIRES_AUTHENTICATION: ("authenticate", "approve", "deny"),
    VersionStatus.REQUIRES_OFFLINE_REVIEW: ("approve", "deny"),
    VersionStatus.APPROVED: ("create_version", "create_version", "revoke"),
    VersionStatus.DENIED: ("create_version",),
    VersionStatus.DISCARDED: ("create_version",),
    VersionStatus.REVOKED: ("create_version",),
    VersionStatus.ARCHIVED: ("create_version",),
}


class ManualClock:
    """The emulator's clock: it reads the time last set, and moves only on :meth:`tick`."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(minutes=1)


@attrs.frozen(eq=False)
class Remote:
    """One registration as the API shows it: the DescribeRegistrations summary and the model."""

    summary: dict[str, Any]
    registration: Registration


def step(api: EmulatedRegistrationApi, registration_id: str, choice: str) -> None:
    """Apply one named step to a registration (a customer operation or an AWS-side event)."""
    if choice == "submit":
        api.submit_registration_version(registration_id)
    elif choice == "submit_aws_review":
        api.submit_registration_version(registration_id, aws_review=True)
    elif choice == "discard":
        api.discard_registration_version(registration_id)
    elif choice == "create_version":
        api.create_registration_version(registration_id)
    elif choice == "deny":
        api.advance(registration_id, "deny", denied_reasons=[DENIAL], feedback="fix the EIN")
    else:
        api.advance(registration_id, choice)


def current_status(api: EmulatedRegistrationApi, registration_id: str) -> VersionStatus:
    """The current version's status, read through the API (reading moves no clock)."""
    newest = next(iter(api.describe_registration_versions(registration_id, page_size=1)))
    return VersionStatus(newest["RegistrationVersionStatus"])


class World:
    """The emulator at a round of the seeded story (see the module docstring)."""

    def __init__(self, seed: int, size: int = SIZE) -> None:
        self.seed = seed
        self.clock = ManualClock()
        self.api = EmulatedRegistrationApi(seed=seed, clock=self.clock)
        self.round = 0
        #: Registrations that exist, in creation order.
        self.ids: list[str] = []
        rng = self._rng()
        for _ in range(size):
            registration_id = self._create()
            for _ in range(rng.randint(0, 6)):
                self._step(registration_id, rng)

    @classmethod
    def at(cls, seed: int, round_number: int, size: int = SIZE) -> World:
        """The world of ``seed`` after ``round_number`` rounds."""
        world = cls(seed, size)
        while world.round < round_number:
            world.advance()
        return world

    def advance(self) -> None:
        """Apply the next round."""
        self.round += 1
        rng = self._rng()
        for registration_id in list(self.ids):
            draw = rng.random()
            if draw < 0.8:
                self._step(registration_id, rng)
            if draw < 0.15:
                self._step(registration_id, rng)
        if self.round % 7 == 0:
            self._create()
        if self.round % 11 == 0 and self.ids:
            gone = rng.choice(self.ids)
            self.clock.tick()
            (info,) = self.api.describe_registrations(registration_ids=[gone])
            if info["RegistrationStatus"] != "REVIEWING":  # AWS refuses it under review
                self.api.delete_registration(gone)
                self.ids.remove(gone)

    def snapshot(self) -> dict[str, Remote]:
        """Every registration as the API shows it now, by id."""
        out = {}
        for summary in self.api.describe_registrations():
            registration_id = summary["RegistrationId"]
            versions = list(self.api.describe_registration_versions(registration_id))
            out[registration_id] = Remote(summary, Registration.from_api(summary, versions))
        return out

    def _rng(self) -> random.Random:
        return random.Random(self.seed * 100_003 + self.round)

    def _create(self) -> str:
        self.clock.tick()
        registration_id: str = self.api.create_registration(REGISTRATION_TYPE)["RegistrationId"]
        self.ids.append(registration_id)
        return registration_id

    def _step(self, registration_id: str, rng: random.Random) -> None:
        choice = rng.choice(STEPS[current_status(self.api, registration_id)])
        self.clock.tick()
        step(self.api, registration_id, choice)
