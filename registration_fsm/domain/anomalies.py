"""Semantic oddities in API data: accepted (the API is the authority), never hidden."""

from __future__ import annotations

from functools import lru_cache

import attrs

from registration_fsm.domain.history import RANK, STAMP_OF, STATUS_OF_STAMP, StatusHistory
from registration_fsm.domain.lifecycle import LIFECYCLE
from registration_fsm.domain.statuses import VersionStatus


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
    stamped = sorted((when, RANK[api], api) for api, when in history.items())
    return _check(status, tuple(api for _when, _rank, api in stamped))


@lru_cache(maxsize=4096)
def _check(status: VersionStatus, order: tuple[str, ...]) -> tuple[Anomaly, ...]:
    """Anomalies of a status whose history fields were stamped in ``order``."""
    found: list[Anomaly] = []
    own = STAMP_OF[status]
    if own is not None and own not in order:
        found.append(Anomaly(own, f"status is {status} but {own} is missing"))
    status_of = STATUS_OF_STAMP
    previous = VersionStatus.DRAFT
    for api_field in order:
        reached = status_of[api_field]
        if reached not in LIFECYCLE.reachable(previous):
            found.append(
                Anomaly(api_field, f"{reached} is not reachable from {previous}: out of order")
            )
        previous = reached
    if status not in LIFECYCLE.reachable(previous):
        found.append(
            Anomaly(
                "RegistrationVersionStatus",
                f"{status} is not reachable from the last recorded status {previous}",
            )
        )
    return tuple(found)
