"""Replaying the event log against the stored registrations and versions.

The store writes a registration, its versions and the events that explain the
change in one transaction, so the events must lead to exactly what is stored:

- each version's events start with ``create`` (from nothing), each leaves from
  where the previous one arrived, and the last arrives at the version's stored
  status; a stored version with no events is an inconsistency;
- the registration's status follows its events as the aggregate derives it
  (:func:`~registration_fsm.domain.statuses.derive_registration_status` after
  each version event; the registration's own events — ``provision``,
  ``complete_provisioning``, ``close``, ``delete``, or a ``remote_change`` — set
  it), and must equal the stored one;
- no event belongs to a registration or version that is not stored.

A status this library does not know (one AWS added later) cannot be derived: a
registration whose stored status, or whose events, hold one is replayed for its
versions only. A store written by registration-fsm before 0.4 recorded no
registration-level events, so its registrations' statuses may not replay.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import UNKNOWN, Shard
from registration_fsm.domain.statuses import (
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)
from registration_fsm.errors import RegistrationError
from registration_fsm.store.chain import AuditRecord
from registration_fsm.store.codec import SHARD


@attrs.frozen
class Replay:
    """What :func:`replay` found: how much it compared, and every inconsistency.

    ``problems`` name the registration (and version) first; ``unchecked`` lists the
    registrations whose status could not be derived (a status the library does not
    know), whose versions were still compared.
    """

    registrations: int
    versions: int
    problems: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the events lead exactly to what is stored."""
        return not self.problems

    def __str__(self) -> str:
        if self.problems:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return f"INCONSISTENT: {self.problems[0]}{more}"
        regs = _plural(self.registrations, "registration")
        return f"{regs} and {_plural(self.versions, 'version')} replay to the stored state"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def replay(records: Iterable[AuditRecord], registrations: Iterable[Registration]) -> Replay:
    """Compare the events in ``records`` (a verified trail, in ``seq`` order) with the
    stored ``registrations``."""
    problems: list[str] = []
    # Keyed by (shard, id): two accounts may hold the same id. Events stored before
    # schema 5 name no shard (None); then the id alone was the key.
    logs: dict[tuple[str | None, str], list[tuple[int, TransitionEvent]]] = defaultdict(list)
    for record in records:
        event, problem = _event(record)
        if problem is not None:
            problems.append(problem)
        elif event is not None:
            shard = record.event.get(SHARD) if isinstance(record.event, dict) else None
            if not isinstance(shard, str):  # stored before schema 5: the store's column
                shard = record.shard
            key = (shard, record.registration_id)
            logs[key].append((record.seq, event))
    count = versions = 0
    unchecked: list[str] = []
    for registration in registrations:
        count += 1
        versions += len(registration.versions)
        shard = Shard.of_arn(registration.arn)
        found_log = logs.pop((None, registration.id), [])
        if shard != UNKNOWN:
            found_log += logs.pop((str(shard), registration.id), [])
        log = [event for _seq, event in sorted(found_log, key=lambda pair: pair[0])]
        found, derived = _replay_one(registration, log)
        problems.extend(found)
        if not derived:
            unchecked.append(registration.id)
    for (shard_text, registration_id), entries in logs.items():
        where = registration_id if shard_text is None else f"{registration_id} of {shard_text}"
        problems.append(
            f"registration {where}: {_plural(len(entries), 'event')} "
            "for a registration that is not stored"
        )
    return Replay(count, versions, tuple(problems), tuple(unchecked))


def _event(record: AuditRecord) -> tuple[TransitionEvent | None, str | None]:
    where = f"record {record.seq}"
    if not isinstance(record.event, dict):
        return None, f"{where}: the event is not a JSON object"
    try:
        event = TransitionEvent.from_dict(record.event)
    except (RegistrationError, ValueError, TypeError, KeyError, AttributeError) as err:
        return None, f"{where}: the event cannot be read ({err!r})"
    if event.registration_id != record.registration_id:
        return None, (
            f"{where}: the event names registration {event.registration_id}, "
            f"the record {record.registration_id}"
        )
    return event, None


def _replay_one(registration: Registration, log: list[TransitionEvent]) -> tuple[list[str], bool]:
    """Problems of one registration, and whether its status could be derived."""
    reg_id = registration.id
    problems: list[str] = []
    by_version: dict[int, list[TransitionEvent]] = defaultdict(list)
    status = RegistrationStatus.CREATED
    reached: dict[int, VersionStatus] = {}
    derivable = not registration.status.is_unknown
    for event in log:
        number = event.version_number
        if number is None:
            if not isinstance(event.dest, RegistrationStatus) or event.dest.is_unknown:
                derivable = False
            else:
                status = event.dest
            continue
        by_version[number].append(event)
        if not isinstance(event.dest, VersionStatus):
            continue
        reached[number] = event.dest
        if event.dest.is_unknown or (event.source is not None and event.source.is_unknown):
            derivable = False
        current = max(reached)
        status = derive_registration_status(
            status, reached[current], current, VersionStatus.APPROVED in reached.values()
        )
    for number, version in sorted(registration.versions.items()):
        where = f"registration {reg_id} v{number}"
        events = by_version.pop(number, [])
        if not events:
            problems.append(f"{where}: stored with no events")
            continue
        first = events[0]
        if (first.trigger, first.source) != ("create", None):
            problems.append(f"{where}: its events start with {first.describe()}, not create")
        for before, after in itertools.pairwise(events):
            if after.source != before.dest:
                problems.append(
                    f"{where}: {after.describe()} follows {before.describe()} (an event is missing)"
                )
                break
        if events[-1].dest != version.status:
            problems.append(
                f"{where}: the events lead to {events[-1].dest}, the store holds {version.status}"
            )
    for number, events in sorted(by_version.items()):
        problems.append(
            f"registration {reg_id} v{number}: {_plural(len(events), 'event')} "
            "for a version that is not stored"
        )
    if derivable and status != registration.status:
        problems.append(
            f"registration {reg_id}: the events lead to {status}, "
            f"the store holds {registration.status}"
        )
    return problems, derivable
