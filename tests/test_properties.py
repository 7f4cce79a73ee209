"""Properties: any sequence of commands keeps the invariants; refusals change nothing;
round trips are exact; malformed API data raises only InvalidApiData."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock
from hypothesis import given
from hypothesis import strategies as st

from registration_fsm import (
    LIFECYCLE,
    ClockError,
    CommandRefused,
    InvalidApiData,
    LifecyclePolicy,
    Registration,
    RegistrationError,
    RegistrationVersion,
    TransitionEvent,
)

ALLOW_DRAFT = LifecyclePolicy.allow_draft_discard()
COMMANDS = st.one_of(
    st.tuples(st.sampled_from(LIFECYCLE.moving_triggers), st.booleans()),
    st.tuples(st.just("create_version"), st.booleans()),
    st.tuples(st.just("discard_draft_ok"), st.booleans()),
    st.tuples(st.just("backwards"), st.booleans()),
    st.tuples(st.just("delete"), st.booleans()),
)


def _ask(reg: Registration, command: tuple[str, bool]) -> bool:
    """Whether ``refusals`` allows the command (what the command itself must agree with)."""
    name, flag = command
    if name == "create_version":
        return not reg.refusals("create")
    if name == "discard_draft_ok":
        return not reg.refusals("discard", policy=ALLOW_DRAFT)
    if name in ("backwards", "submit"):
        return not reg.refusals("submit", aws_review=flag and name == "submit")
    return not reg.refusals(name)


def _run(reg: Registration, command: tuple[str, bool], clock: TickingClock) -> None:
    name, flag = command
    if name == "create_version":
        reg.create_version(clock=clock)
    elif name == "discard_draft_ok":
        reg.discard(clock=clock, policy=ALLOW_DRAFT)
    elif name == "backwards":
        reg.submit(clock=lambda: datetime(2000, 1, 1, tzinfo=UTC))
    elif name == "submit":
        reg.submit(clock=clock, aws_review=flag)
    else:
        reg.fire(name, clock=clock)


@given(st.lists(COMMANDS, max_size=40))
def test_any_sequence_keeps_invariants_and_refusals_change_nothing(
    commands: list[tuple[str, bool]],
) -> None:
    clock = TickingClock()
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    delivered: list[TransitionEvent] = []
    reg.subscribe(delivered.append)
    for command in commands:
        before = (reg.to_api(), reg.versions_to_api())
        allowed = _ask(reg, command)
        seen = len(delivered)
        try:
            _run(reg, command, clock)
        except RegistrationError as err:
            assert (reg.to_api(), reg.versions_to_api()) == before, f"{command} -> {err!r}"
            assert len(delivered) == seen, "a refused command delivered an event"
            if isinstance(err, CommandRefused):
                assert not allowed, f"refusals() allowed {command}, the command refused: {err}"
            else:
                assert isinstance(err, ClockError), err
                assert command[0] == "backwards"
        else:
            assert allowed, f"refusals() refused {command}, the command ran"
            assert len(delivered) > seen, "a command that ran delivered no event"
        assert reg.invariant_violations() == []
        for version in reg.versions.values():
            assert version.anomalies == ()
            assert (
                RegistrationVersion.from_api(
                    version.to_api(), registration_id=REG_ID, registration_arn=REG_ARN
                ).anomalies
                == ()
            ), "every locally made history is consistent"
    again = Registration.from_api(reg.to_api(), reg.versions_to_api())
    assert again == reg
    assert again.anomalies == ()


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.datetimes(timezones=st.just(UTC) | st.none())
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)

VERSION_KEYS = [
    "VersionNumber", "RegistrationVersionStatus", "RegistrationVersionStatusHistory",
    "DeniedReasons", "Feedback", "RegistrationId", "RegistrationArn",
]  # fmt: skip
HISTORY_KEYS = ["DraftTimestamp", "SubmittedTimestamp", "ApprovedTimestamp", "Other"]


def _valid_version() -> dict[str, Any]:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "SUBMITTED",
        "RegistrationVersionStatusHistory": {
            "DraftTimestamp": t, "SubmittedTimestamp": t + timedelta(1)
        },
    }  # fmt: skip


@given(
    st.dictionaries(st.sampled_from(VERSION_KEYS), JSONISH, max_size=4),
    st.dictionaries(st.sampled_from(HISTORY_KEYS), JSONISH, max_size=3),
    st.sets(st.sampled_from(VERSION_KEYS), max_size=2),
)
def test_from_api_raises_only_invalid_api_data(
    overrides: dict[str, Any], history: dict[str, Any], removed: set[str]
) -> None:
    data: dict[str, Any] = _valid_version()
    data["RegistrationVersionStatusHistory"].update(history)
    data.update(overrides)
    for key in removed:
        data.pop(key, None)
    try:
        version = RegistrationVersion.from_api(
            data, registration_id=REG_ID, registration_arn=REG_ARN
        )
    except InvalidApiData as err:
        assert err.field.split(".")[0].split("[")[0] in (*VERSION_KEYS, "RegistrationVersion")
        return
    assert RegistrationVersion.from_api(
        version.to_api(), registration_id=version.registration_id,
        registration_arn=version.registration_arn,
    ) == version  # fmt: skip


INFO_KEYS = [
    "RegistrationArn", "RegistrationId", "RegistrationType", "RegistrationStatus",
    "CurrentVersionNumber", "ApprovedVersionNumber", "LatestDeniedVersionNumber",
    "AdditionalAttributes", "CreatedTimestamp",
]  # fmt: skip


@given(
    st.dictionaries(st.sampled_from(INFO_KEYS), JSONISH, max_size=3),
    st.sets(st.sampled_from(INFO_KEYS), max_size=2),
    st.lists(st.dictionaries(st.sampled_from(VERSION_KEYS), JSONISH, max_size=2), max_size=3),
)
def test_registration_from_api_raises_only_invalid_api_data(
    overrides: dict[str, Any], removed: set[str], version_overrides: list[dict[str, Any]]
) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=TickingClock())
    info = reg.to_api() | overrides
    for key in removed:
        info.pop(key, None)
    versions = [_valid_version() | o for o in version_overrides] or reg.versions_to_api()
    before = reg.to_api()
    try:
        parsed = Registration.from_api(info, versions)
    except InvalidApiData as err:
        assert err.field.split(".")[0].split("[")[0] in (*INFO_KEYS, *VERSION_KEYS,
                                                          "RegistrationVersions")  # fmt: skip
    else:
        assert Registration.from_api(parsed.to_api(), parsed.versions_to_api()) == parsed
    assert reg.to_api() == before
