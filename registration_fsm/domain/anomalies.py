"""Semantic oddities in API data: accepted (the API is the authority), never hidden."""

from __future__ import annotations

import attrs

from registration_fsm.domain.history import HISTORY_FIELDS, StatusHistory
from registration_fsm.domain.lifecycle import RULES
from registration_fsm.domain.statuses import VersionStatus

_RANK = {api: i for i, (api, _attr) in enumerate(HISTORY_FIELDS)}


@attrs.frozen
class Anomaly:
    """Something in the data that the lifecycle does not explain."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def history_anomalies(status: VersionStatus, history: StatusHistory) -> tuple[Anomaly, ...]:
    """Check a history against its status and the lifecycle; () when consistent."""
    if status.is_unknown:
        return ()
    found: list[Anomaly] = []
    own = RULES.stamp_of[status]
    if own is not None and history.get(own) is None:
        found.append(Anomaly(own, f"status is {status} but {own} is missing"))
    stamped = sorted(history.items(), key=lambda item: (item[1], _RANK[item[0]]))
    status_of = RULES.status_of_stamp
    previous = VersionStatus.DRAFT
    for api_field, _when in stamped:
        reached = status_of[api_field]
        if reached not in RULES.reachable(previous):
            found.append(
                Anomaly(api_field, f"{reached} is not reachable from {previous}: out of order")
            )
        previous = reached
    if status not in RULES.reachable(previous):
        found.append(
            Anomaly(
                "RegistrationVersionStatus",
                f"{status} is not reachable from the last recorded status {previous}",
            )
        )
    return tuple(found)
