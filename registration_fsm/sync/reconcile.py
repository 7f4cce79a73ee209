"""Reconcile: explain the difference between a local and a remote registration as events.

The API is authoritative: the remote state is adopted as it is. What changed is
told as TransitionEvents along legal lifecycle paths — the versions' with the remote
history's timestamps, then the registration's own (``provision``,
``complete_provisioning``, ``close``, ``delete``) — optional edges included, whatever
the local policy allows; a change no legal path explains becomes one
``remote_change`` event carrying an anomaly. Nothing is ever dropped silently.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.history import RANK, STATUS_OF_STAMP
from registration_fsm.domain.lifecycle import LIFECYCLE, Edge, RegistrationEdge
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import (
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)
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

    The registration status is followed through the version events by the status
    rules; a change they do not explain is told as the registration's own events
    along :data:`~registration_fsm.domain.lifecycle.REGISTRATION_EDGES`
    (``provision`` with the approval it came with, ``complete_provisioning``,
    ``close``, ``delete``), whatever the local policy allows. The API records no time
    for them: they are stamped with the version event they came with, else at
    ``observed_at`` (never before the registration's latest time).
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
    at = max(observed_at, remote.latest_time)
    told, odd = _registration_events(local, remote, events, at, origin)
    anomalies.extend(odd)
    return Difference(tuple(told), tuple(anomalies))


def _registration_events(
    local: Registration | None,
    remote: Registration,
    version_events: list[TransitionEvent],
    at: datetime,
    origin: Origin,
) -> tuple[list[TransitionEvent], list[SyncAnomaly]]:
    """``version_events`` with the registration's own events that explain ``remote.status``.

    Tried in order: the version events alone; then the registration's own edges after
    them; then before them (PROVISIONING completed, then a new version). Else one
    ``remote_change`` event carrying an anomaly.
    """
    start = RegistrationStatus.CREATED if local is None else local.status
    goal = remote.status
    told, end = _replay(start, local, remote, version_events, origin)
    if end == goal or end.is_unknown or goal.is_unknown:
        # A status the library does not know has no edges: taken as the API says, as a
        # version's unknown status is (whose own event already tells the jump).
        return told, []
    path = LIFECYCLE.registration_path(end, goal)
    if path is not None:
        return told + _own_events(remote.id, end, path, at, origin), []
    first = version_events[0].timestamp if version_events else at
    for status in RegistrationStatus:
        prefix = LIFECYCLE.registration_path(start, status)
        if not prefix or start.is_unknown:
            continue
        told, end = _replay(status, local, remote, version_events, origin)
        if end == goal:
            return _own_events(remote.id, start, prefix, first, origin) + told, []
    told, end = _replay(start, local, remote, version_events, origin)
    message = f"no legal path from {end} to {goal}; applied as the API says"
    jump = TransitionEvent(
        remote.id, None, REMOTE_CHANGE, end, goal, at, origin, anomaly=message
    )  # fmt: skip
    return [*told, jump], [SyncAnomaly(remote.id, None, f"registration: {message}")]


def _replay(
    start: RegistrationStatus,
    local: Registration | None,
    remote: Registration,
    version_events: list[TransitionEvent],
    origin: Origin,
) -> tuple[list[TransitionEvent], RegistrationStatus]:
    """Follow the registration status from ``start`` through the version events (as the
    aggregate derives it); a ``provision`` event joins the approval of the API's approved
    version when the API says PROVISIONING. Returns the events and the status reached."""
    statuses = {} if local is None else {n: v.status for n, v in local.versions.items()}
    status = start
    out: list[TransitionEvent] = []
    for event in version_events:
        out.append(event)
        if event.version_number is None or not isinstance(event.dest, VersionStatus):
            continue
        statuses[event.version_number] = event.dest
        number = max(statuses)
        provisioning = (
            event.trigger == "approve"
            and remote.status == RegistrationStatus.PROVISIONING
            and event.version_number == remote.approved_version_number
        )
        has_approved = VersionStatus.APPROVED in statuses.values()
        before = status
        status = derive_registration_status(
            status, statuses[number], number, has_approved, provisioning=provisioning
        )
        if provisioning and status != before and status == RegistrationStatus.PROVISIONING:
            edge = LIFECYCLE.registration_destination(before, "provision")
            if edge is None:  # no legal way: left to the remote_change above
                status = before
                continue
            out.append(_own_event(remote.id, before, edge, event.timestamp, origin))
    # The registration's own events come after the archive an approval causes.
    out.sort(key=lambda e: (e.timestamp, _AFTER.get(e.trigger, 0)))
    return out, status


#: Where same-time events go: an approval, then the archive it causes, then ``provision``.
_AFTER = {"archive": 1, "provision": 2}


def _own_events(
    registration_id: str,
    start: RegistrationStatus,
    path: tuple[RegistrationEdge, ...],
    at: datetime,
    origin: Origin,
) -> list[TransitionEvent]:
    out, status = [], start
    for edge in path:
        out.append(_own_event(registration_id, status, edge, at, origin))
        status = edge.dest
    return out


def _own_event(
    registration_id: str,
    source: RegistrationStatus,
    edge: RegistrationEdge,
    at: datetime,
    origin: Origin,
) -> TransitionEvent:
    return TransitionEvent(registration_id, None, edge.trigger, source, edge.dest, at, origin)


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
