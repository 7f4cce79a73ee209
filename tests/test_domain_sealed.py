"""The aggregate is sealed: read-only versions, immutable values, and ``adopt_version`` as the
one way the API's data comes in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    InvalidArgument,
    InvalidArgumentType,
    Registration,
    RegistrationStatus,
    RegistrationVersion,
    StatusHistory,
    VersionStatus,
)

V, R = VersionStatus, RegistrationStatus
OTHER_ID = "registration-ffffffffffffffffffffffffffffffff"


def _new(clock: TickingClock) -> Registration:
    return Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)


def _status(reg: Registration) -> RegistrationStatus:
    """The status now (a call, so a type checker does not narrow it across commands)."""
    return reg.status


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api(), reg.status)


def test_versions_are_a_read_only_mapping(clock: TickingClock) -> None:
    reg = _new(clock)
    extra = RegistrationVersion.new(REG_ID, REG_ARN, 2, clock=clock)
    before = _snapshot(reg)
    with pytest.raises(TypeError):
        reg.versions[2] = extra  # type: ignore[index]
    with pytest.raises(TypeError):
        del reg.versions[1]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        reg.versions.clear()  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        reg.additional_attributes["BRAND"] = "x"  # type: ignore[index]
    assert _snapshot(reg) == before
    view = reg.versions
    reg.submit(clock=clock)
    assert view[1].status == V.SUBMITTED, "the mapping reads the registration as it is now"


@pytest.mark.parametrize(
    "name", ["status", "versions", "id", "arn", "type", "created", "current_version"]
)
def test_fields_cannot_be_assigned(name: str, clock: TickingClock) -> None:
    reg = _new(clock)
    before = _snapshot(reg)
    with pytest.raises(AttributeError):
        setattr(reg, name, R.DELETED)
    assert _snapshot(reg) == before


def test_versions_and_histories_are_immutable(clock: TickingClock) -> None:
    reg = _new(clock)
    reg.submit(clock=clock)
    version = reg.current_version
    with pytest.raises(AttributeError):
        version.status = V.DRAFT  # type: ignore[misc]
    with pytest.raises(AttributeError):
        version.history = StatusHistory(draft=clock())  # type: ignore[misc]
    assert not hasattr(version.history, "set")
    assert not hasattr(version.history, "raw_items")
    later = version.history.with_stamp("ReviewingTimestamp", clock())
    assert version.history.reviewing is None
    assert later.reviewing is not None
    assert reg.current_version.status == V.SUBMITTED


def test_adopt_version_replaces_and_derives_the_status(clock: TickingClock) -> None:
    reg = _new(clock)
    reported = reg.current_version.moved(V.REVIEWING, clock(), {})
    reg.adopt_version(reported)
    assert reg.current_version is reported
    assert _status(reg) == R.REVIEWING
    approved = reported.moved(V.APPROVED, clock(), {})
    reg.adopt_version(approved)
    assert _status(reg) == R.COMPLETE
    assert reg.invariant_violations() == []


def test_adopt_version_appends_the_next_version(clock: TickingClock) -> None:
    reg = _new(clock)
    reg.adopt_version(reg.current_version.moved(V.DENIED, clock(), {}))
    assert _status(reg) == R.REQUIRES_UPDATES
    newer = RegistrationVersion.new(REG_ID, REG_ARN, 2, clock=clock)
    reg.adopt_version(newer)
    assert sorted(reg.versions) == [1, 2]
    assert reg.current_version is newer
    assert _status(reg) == R.REQUIRES_UPDATES, "a new draft after a denial"
    reg.adopt_version(newer.moved(V.SUBMITTED, clock(), {}))
    assert _status(reg) == R.SUBMITTED


def test_adopt_version_refuses_a_gap_or_a_foreign_version(clock: TickingClock) -> None:
    reg = _new(clock)
    before = _snapshot(reg)
    with pytest.raises(InvalidArgument, match="v3 would leave a gap after v1"):
        reg.adopt_version(RegistrationVersion.new(REG_ID, REG_ARN, 3, clock=clock))
    foreign = RegistrationVersion.new(OTHER_ID, REG_ARN, 1, clock=clock)
    with pytest.raises(InvalidArgument, match=f"v1 belongs to {OTHER_ID}"):
        reg.adopt_version(foreign)
    with pytest.raises(InvalidArgumentType, match="expected a RegistrationVersion"):
        reg.adopt_version(reg.current_version.to_api())  # type: ignore[arg-type]
    assert _snapshot(reg) == before


def test_adopt_version_keeps_an_ended_registration_ended(clock: TickingClock) -> None:
    reg = _new(clock)
    reg.delete(clock=clock)
    reg.adopt_version(reg.current_version.moved(V.SUBMITTED, clock(), {}))
    assert reg.status == R.DELETED
    assert reg.current_version.status == V.SUBMITTED


def test_a_copy_through_the_api_shape_is_independent(clock: TickingClock) -> None:
    reg = _new(clock)
    copy = Registration.from_api(reg.to_api(), reg.versions_to_api())
    assert copy == reg
    copy.submit(clock=lambda: clock.now + timedelta(minutes=5))
    assert reg.current_version.status == V.DRAFT
    assert copy != reg
