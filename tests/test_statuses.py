"""Status enums: values, forward compatibility, and agreement with botocore's model."""

from __future__ import annotations

import pickle
from enum import StrEnum

import botocore.session
import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    LIFECYCLE,
    CommandRefused,
    Registration,
    RegistrationStatus,
    VersionStatus,
)


def _model_enum(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
    return list(model.shape_for(shape).metadata["enum"])


@pytest.mark.parametrize(
    ("shape", "ours"),
    [("RegistrationVersionStatus", VersionStatus), ("RegistrationStatus", RegistrationStatus)],
)
def test_enums_match_the_installed_botocore_model(shape: str, ours: type[StrEnum]) -> None:
    theirs = set(_model_enum(shape))
    mine = {m.value for m in ours}
    assert mine == theirs, (
        f"{shape}: only in botocore {sorted(theirs - mine)}, only in ours {sorted(mine - theirs)}"
    )


def test_counts_and_string_behaviour() -> None:
    assert len(VersionStatus) == 11
    assert len(RegistrationStatus) == 10
    assert VersionStatus("DRAFT") is VersionStatus.DRAFT
    assert str(VersionStatus.DRAFT) == "DRAFT"
    assert f"{RegistrationStatus.COMPLETE}" == "COMPLETE"
    assert not VersionStatus.DRAFT.is_unknown


def test_unknown_value_is_kept_raw_and_behaves_like_a_status() -> None:
    future = VersionStatus("REQUIRES_CARRIER_MAGIC")
    assert isinstance(future, VersionStatus)
    assert future.is_unknown
    assert future.to_api() == "REQUIRES_CARRIER_MAGIC"
    assert str(future) == "REQUIRES_CARRIER_MAGIC"
    assert future == VersionStatus("REQUIRES_CARRIER_MAGIC")
    assert future != VersionStatus.DRAFT
    lookup: dict[VersionStatus, int] = {future: 1}
    assert lookup[VersionStatus("REQUIRES_CARRIER_MAGIC")] == 1
    assert pickle.loads(pickle.dumps(future)) == future
    assert future not in list(VersionStatus), "iteration lists known members only"
    assert future.is_open, "an unknown status is treated as in progress"


@pytest.mark.parametrize("bad", ["", " DRAFT", "A" * 129, "x\ny", 3, None])
def test_unusable_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="is not a valid VersionStatus"):
        VersionStatus(bad)  # type: ignore[arg-type]


def test_unknown_status_refuses_local_triggers(clock: TickingClock) -> None:
    fresh = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    info = {
        "VersionNumber": 1,
        "RegistrationVersionStatus": "SOME_FUTURE_STATUS",
        "RegistrationVersionStatusHistory": {"DraftTimestamp": fresh.created},
    }
    reg = Registration.from_api(fresh.to_api(), [info])
    before = (reg.to_api(), reg.versions_to_api())
    assert reg.current_version.allowed_triggers() == ()
    assert LIFECYCLE.allowed(reg.current_version.status) == ()
    for trigger in ("submit", "discard", "begin_review", "approve"):
        with pytest.raises(CommandRefused, match="only a sync from the API") as err:
            reg.fire(trigger, clock=clock)
        assert [r.name for r in err.value.refusals] == ["lifecycle"]
        assert "SOME_FUTURE_STATUS" in err.value.refusals[0].message
    assert (reg.to_api(), reg.versions_to_api()) == before
    assert before[1][0]["RegistrationVersionStatus"] == "SOME_FUTURE_STATUS"
    fresh.submit(clock=clock)
    fresh.adopt_version(fresh.current_version.with_status(VersionStatus("SOME_FUTURE_STATUS")))
    assert fresh.status == RegistrationStatus.SUBMITTED, "an unknown version status keeps it"


def test_unknown_registration_status_round_trips(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, "T", clock=clock)
    info = reg.to_api() | {"RegistrationStatus": "PAUSED_BY_CARRIER"}
    again = Registration.from_api(info, reg.versions_to_api())
    assert again.status.is_unknown
    assert again.to_api()["RegistrationStatus"] == "PAUSED_BY_CARRIER"
