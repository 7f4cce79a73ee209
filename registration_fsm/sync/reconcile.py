"""Reconcile: explain the difference between a local and a remote registration as events.

The API is authoritative: the remote state is adopted as it is. What changed is
told as TransitionEvents along legal lifecycle paths, with the remote history's
timestamps; a change no legal path explains becomes one ``remote_change`` event
carrying an anomaly. Nothing is ever dropped silently.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.history import RANK, STATUS_OF_STAMP
from registration_fsm.domain.lifecycle import LIFECYCLE, Edge
from registration_fsm.domain.registration import DELETE, Registration
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.version import RegistrationVersion

#: The trigger of an event that applies a remote change no legal path explains.
REMOTE_CHANGE = "remote_change"


@attrs.frozen
class SyncAnomaly:
    """Something a sync applied or saw that the lifecycle does not explain."""

    registration_id: str
    version_number: int | None
    message: str

    def __str__(self) -> str:
        where = f" v{self.version_number}" if self.version_number is not None else ""
        return f"{self.registration_id}{where}: {self.message}"


@attrs.frozen
class Difference:
    """The events and anomalies that take ``local`` to ``remote``."""

    events: tuple[TransitionEvent, ...] = ()
    anomalies: tuple[SyncAnomaly, ...] = ()


def registration_difference(
    local: Registration | None,
    remote: Registration,
    *,
    observed_at: datetime,
    origin: Origin = Origin.REMOTE,
) -> Difference:
    """Events (version by version, oldest first) and anomalies from ``local`` to ``remote``.

    A registration the API reports DELETED gets a ``delete`` event of its own, at
    ``observed_at`` (the API records no time for it).
    """
    events: list[TransitionEvent] = []
    anomalies = [SyncAnomaly(remote.id, None, f"API data: {a}") for a in remote.anomalies]
    for number in sorted(remote.versions):
        before = local.versions.get(number) if local is not None else None
        diff = version_difference(before, remote.versions[number], origin=origin)
        events.extend(diff.events)
        anomalies.extend(diff.anomalies)
    if local is not None:
        for number in sorted(set(local.versions) - set(remote.versions)):
            anomalies.append(
                SyncAnomaly(remote.id, number, "version is gone from the API; dropped locally")
            )
    # Time order across versions; an archive follows the approval that caused it.
    events.sort(key=lambda e: (e.timestamp, e.trigger == "archive"))
    deleted = RegistrationStatus.DELETED
    if remote.status == deleted and (local is None or local.status != deleted):
        before_status = None if local is None else local.status
        at = max(observed_at, remote.latest_time)
        events.append(TransitionEvent(remote.id, None, DELETE, before_status, deleted, at, origin))
    return Difference(tuple(events), tuple(anomalies))


def version_difference(
    local: RegistrationVersion | None,
    remote: RegistrationVersion,
    *,
    origin: Origin = Origin.REMOTE,
) -> Difference:
    """The transitions that take ``local`` (None: not known yet) to ``remote``."""
    reg_id, number = remote.registration_id, remote.number
    events: list[TransitionEvent] = []
    anomalies: list[SyncAnomaly] = []
    if local is None:
        events.append(remote.created_event(origin=origin))
        current, known = VersionStatus.DRAFT, {"DraftTimestamp": remote.history.draft}
    else:
        if local.status == remote.status and local.history == remote.history:
            return Difference()
        current, known = local.status, dict(local.history.items())
    remote_stamps = dict(remote.history.items())
    for api in sorted(set(known) - set(remote_stamps), key=RANK.__getitem__):
        anomalies.append(SyncAnomaly(reg_id, number, f"{api} vanished from the API's history"))
    at = max(known.values())
    for waypoint, seen in _waypoints(known, remote):
        when = at if seen is None or seen < at else seen
        if waypoint == current:
            if waypoint != remote.status or when != at:
                anomalies.append(
                    SyncAnomaly(reg_id, number, f"{waypoint} was entered again with no path")
                )
            at = when
            continue
        path = None
        if not current.is_unknown and not waypoint.is_unknown:
            path = LIFECYCLE.shortest_path(current, waypoint)
        if path is None:
            message = f"no legal path from {current} to {waypoint}; applied as the API says"
            anomalies.append(SyncAnomaly(reg_id, number, message))
            events.append(
                TransitionEvent(
                    reg_id, number, REMOTE_CHANGE, current, waypoint, when, origin,
                    anomaly=message,
                )
            )  # fmt: skip
        else:
            for step in path:
                events.append(
                    TransitionEvent(
                        reg_id, number, step.trigger, current, step.dest, when, origin,
                        details=_details(step, remote),
                    )
                )  # fmt: skip
                current = step.dest
        current, at = waypoint, when
    return Difference(tuple(events), tuple(anomalies))


def _waypoints(
    known: dict[str, datetime], remote: RegistrationVersion
) -> list[tuple[VersionStatus, datetime | None]]:
    """Statuses the remote history shows were entered since ``known``, in time order,
    ending with the remote status."""
    fresh = sorted(
        (when, RANK[api], api) for api, when in remote.history.items() if known.get(api) != when
    )
    points: list[tuple[VersionStatus, datetime | None]] = [
        (STATUS_OF_STAMP[api], when) for when, _rank, api in fresh
    ]
    if not points or points[-1][0] != remote.status:
        points.append((remote.status, None))
    return points


def _details(step: Edge, remote: RegistrationVersion) -> dict[str, object]:
    if step.when is not None:
        return {step.when: True}
    if step.trigger == "deny" and (remote.denied_reasons or remote.feedback):
        out: dict[str, object] = {}
        if remote.denied_reasons:
            out["denied_reasons"] = [r.to_api() for r in remote.denied_reasons]
        if remote.feedback is not None:
            out["feedback"] = remote.feedback
        return out
    return {}
