"""Pulling: read registrations from the API and save each with the events that explain it.

:meth:`Puller.sync` lists summaries (DescribeRegistrations), describes the
versions of each registration whose summary changed (DescribeRegistrationVersions,
several at once), and records each registration in its own unit of work:
:meth:`Puller.record` diffs the stored state against the API's (reconcile) and
saves both in one store transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import attrs

from registration_fsm.domain.events import Origin, Subscriber, TransitionEvent, deliver
from registration_fsm.domain.lifecycle import LIFECYCLE
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import DELETE, Registration
from registration_fsm.domain.statuses import (
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)
from registration_fsm.domain.version import Clock, read_clock
from registration_fsm.errors import (
    ApiError,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    NotTracked,
    StaleWrite,
    shown,
)
from registration_fsm.ports import RegistrationApi
from registration_fsm.store.base import Store
from registration_fsm.store.memory import MemoryStore
from registration_fsm.sync.reconcile import Difference, registration_difference
from registration_fsm.sync.report import SyncReport
from registration_fsm.sync.unit_of_work import UnitOfWork

_log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@attrs.frozen
class Attribution:
    """Who caused a command's change, and why: applied to the event that tells it."""

    trigger: str
    version_number: int | None
    actor: str | None
    reason: str | None
    metadata: Mapping[str, str]

    def claims(self, event: TransitionEvent) -> bool:
        """Whether ``event`` is the change this command made."""
        return event.trigger == self.trigger and event.version_number == self.version_number

    def apply(self, event: TransitionEvent) -> TransitionEvent:
        """``event`` told as this command's (origin local, with who and why), if it is."""
        if not self.claims(event):
            return event
        return event._replace(
            origin=Origin.LOCAL, actor=self.actor, reason=self.reason, metadata=self.metadata
        )


class Puller:
    """Local registrations kept in step with an API by pulling (see the module docstring).

    Args:
        api: any :class:`~registration_fsm.ports.RegistrationApi` (boto3, the emulator...).
        store: where local state lives (default: a new :class:`~registration_fsm.MemoryStore`).
        concurrency: DescribeRegistrationVersions requests in flight at once (1..64).
        page_size: MaxResults for the describe calls (1..100).
        retries_on_stale: how often a save that lost to another writer is redone.
        clock: the time a change is seen at, for changes the API does not date
            (a registration found deleted).
    """

    def __init__(
        self,
        api: RegistrationApi,
        store: Store | None = None,
        *,
        concurrency: int = 8,
        page_size: int = 100,
        retries_on_stale: int = 3,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(api, RegistrationApi):
            raise InvalidArgumentType(
                f"api must be a RegistrationApi (Boto3RegistrationApi, EmulatedRegistrationApi), "
                f"got {shown(api)}"
            )
        if store is not None and not isinstance(store, Store):
            raise InvalidArgumentType(
                "store must be a Store such as SQLiteStore(path) or MemoryStore(), "
                f"got {shown(store)}"
            )
        if type(concurrency) is not int or not 1 <= concurrency <= 64:
            raise InvalidArgument(f"concurrency must be 1..64, got {concurrency!r}")
        if type(page_size) is not int or not 1 <= page_size <= 100:
            raise InvalidArgument(f"page_size must be 1..100, got {page_size!r}")
        if clock is not None and not callable(clock):
            raise InvalidArgumentType(f"clock must be callable, got {shown(clock)}")
        self.api = api
        self.store: Store = store if store is not None else MemoryStore()
        self.uow = UnitOfWork(self.store, retries=retries_on_stale)
        self.concurrency = concurrency
        self.page_size = page_size
        self.clock = clock
        self._subscribers: list[Subscriber] = []

    # -- reading --------------------------------------------------------

    def get(self, registration_id: str) -> Registration:
        """The local registration; :class:`NotTracked` if the store has none."""
        stored = self.store.get(check_registration_id(registration_id))
        if stored is None:
            raise NotTracked(registration_id)
        return stored.registration

    def registrations(self) -> Iterator[Registration]:
        """Every local registration."""
        return self.store.registrations()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver every event saved (remote and local) to ``subscriber``; returns an unsubscribe.

        Delivered after the save; a subscriber that raises does not undo it (see
        :class:`~registration_fsm.errors.SubscriberError`).
        """
        if not callable(subscriber):
            raise InvalidArgumentType(f"subscriber must be callable, got {shown(subscriber)}")
        self._subscribers.append(subscriber)
        return lambda: (
            self._subscribers.remove(subscriber) if subscriber in self._subscribers else None
        )

    def _publish(self, events: Sequence[TransitionEvent]) -> None:
        deliver(self._subscribers, events)

    # -- sync -----------------------------------------------------------

    def sync(
        self,
        registration_ids: Sequence[str] | None = None,
        full: bool = False,
        *,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Pull registrations (all, or ``registration_ids``) and reconcile them.

        Registrations whose DescribeRegistrations summary is unchanged are not
        described again unless ``full`` — except those whose current version can
        move without changing the summary (REVIEWING can become
        REQUIRES_OFFLINE_REVIEW; see :func:`summary_blind`). Ids the API does not
        know are reported in ``not_found`` (tracked ones it no longer lists in
        ``deleted``). ``progress(done, total)`` is called as registrations are handled.
        """
        ids = None if registration_ids is None else _id_list(registration_ids)
        return self._sync(ids, full, progress, parallel=True)

    def _sync(
        self, ids: list[str] | None, full: bool, progress: Progress | None, *, parallel: bool
    ) -> SyncReport:
        """:meth:`sync`; ``parallel=False`` pulls in the calling thread, which must be
        used while holding a registration's lock (a pool thread would wait for it)."""
        before = dict(self.api.calls)
        report = SyncReport()
        summaries, gone = self._summaries(ids)
        for registration_id in gone:
            if self.store.get(registration_id) is None:
                report.not_found.append(registration_id)
            else:
                self._mark_deleted(registration_id, report)
        todo: list[dict[str, Any]] = []
        for summary in summaries:
            stored = self.store.get(summary["RegistrationId"])
            if (
                not full
                and stored is not None
                and stored.summary == summary
                and not _summary_blind(stored.registration)
            ):
                report.unchanged.append(summary["RegistrationId"])
            else:
                todo.append(summary)
        done, total = len(report.unchanged), len(report.unchanged) + len(todo)
        if progress is not None:
            progress(done, total)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            outcomes: Iterator[Difference | Exception] = (
                pool.map(self._pull_one, todo)
                if parallel and len(todo) > 1
                else map(self._pull_one, todo)
            )
            for summary, outcome in zip(todo, outcomes, strict=True):
                registration_id = summary["RegistrationId"]
                done += 1
                if isinstance(outcome, Exception):
                    report.failed[registration_id] = f"{type(outcome).__name__}: {outcome}"
                else:
                    report.changed.append(registration_id)
                    report.events.extend(outcome.events)
                    report.anomalies.extend(outcome.anomalies)
                if progress is not None:
                    progress(done, total)
        report.api_calls = _delta(before, self.api.calls)
        self._publish(report.events)
        return report

    def _summaries(self, ids: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """Summaries to consider, and ids the API does not have (tracked ones included)."""
        if ids is None:
            summaries = list(self.api.describe_registrations(page_size=self.page_size))
            listed = {s["RegistrationId"] for s in summaries}
            return summaries, [i for i in self.store.ids() if i not in listed]
        summaries, gone = [], []
        for start in range(0, len(ids), 5):
            batch = ids[start : start + 5]
            try:
                summaries.extend(self.api.describe_registrations(registration_ids=batch))
            except NotFoundError:
                if len(batch) == 1:
                    gone.extend(batch)
                    continue
                for one in batch:  # find which of the batch is gone
                    try:
                        summaries.extend(self.api.describe_registrations(registration_ids=[one]))
                    except NotFoundError:
                        gone.append(one)
        return summaries, gone

    def _pull_one(self, summary: dict[str, Any]) -> Difference | Exception:
        registration_id = summary["RegistrationId"]
        try:
            # Under the registration's lock, and the stored state read (by the unit of
            # work) before the API's is: a command saved meanwhile can neither slip
            # between the read and the save nor be overwritten by this older snapshot.
            with self.uow.lock(registration_id):
                return self.record(self.describe(summary), summary)
        except (ApiError, InvalidApiData, StaleWrite) as err:
            _log.warning("sync of %s failed: %s", registration_id, err)
            return err

    def describe(self, summary: Mapping[str, Any]) -> Registration:
        """The registration as the API shows it now: ``summary`` and its versions."""
        registration_id = summary["RegistrationId"]
        versions = list(
            self.api.describe_registration_versions(registration_id, page_size=self.page_size)
        )
        return Registration.from_api(summary, versions)

    def describe_again(self, registration_id: str) -> tuple[Registration, dict[str, Any]]:
        """The registration and its summary, both read afresh from the API."""
        (summary,) = self.api.describe_registrations(registration_ids=[registration_id])
        return self.describe(summary), summary

    def record(
        self,
        remote: Registration,
        summary: Mapping[str, Any] | None,
        attribution: Attribution | None = None,
    ) -> Difference:
        """Save the API's ``remote`` with the events that explain it; hold its lock.

        Each attempt diffs the state stored when it began. If another writer (another
        process) saved first, ``remote`` may be older than what it saved: the next
        attempt reads the API again too. ``attribution`` tells the command's own
        event as local, with its actor, reason and metadata.
        """
        for tx in self.uow.attempts(remote.id):
            with tx:
                if tx.attempt:
                    remote, summary = self.describe_again(remote.id)
                diff = registration_difference(
                    tx.registration, remote, observed_at=read_clock(self.clock)
                )
                events = diff.events
                if attribution is not None:
                    events = tuple(attribution.apply(e) for e in events)
                tx.save(remote, events, summary=summary)
                return Difference(events, diff.anomalies)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def _mark_deleted(self, registration_id: str, report: SyncReport) -> None:
        """The API no longer lists a tracked registration: record its deletion."""
        with self.uow.lock(registration_id):
            for tx in self.uow.attempts(registration_id):
                with tx:
                    local = tx.registration
                    if local is None or local.status == RegistrationStatus.DELETED:
                        return
                    event = local.fire(
                        DELETE, origin=Origin.REMOTE, clock=_not_before(self.clock, local)
                    )
                    tx.save(local, [event])
                    report.deleted.append(registration_id)
                    report.events.append(event)


def _not_before(clock: Clock | None, registration: Registration) -> Clock:
    """``clock``'s time, or the registration's latest if the clock is behind it."""
    at = max(read_clock(clock), registration.latest_time)
    return lambda: at


def _id_list(registration_ids: Sequence[str]) -> list[str]:
    if isinstance(registration_ids, str | bytes) or not isinstance(registration_ids, Sequence):
        raise InvalidArgumentType(
            f"registration_ids must be a sequence of ids (for one id: [id]), "
            f"got {shown(registration_ids)}"
        )
    return list(dict.fromkeys(check_registration_id(i) for i in registration_ids))


@cache
def summary_blind(current: VersionStatus, current_number: int, has_approved: bool) -> bool:
    """Whether the current version can leave ``current`` without the registration's
    status — so its DescribeRegistrations summary — changing (REVIEWING to
    REQUIRES_OFFLINE_REVIEW, say). An incremental sync must describe such a
    registration again even when its summary is unchanged."""
    if current.is_unknown:
        return True
    number = min(current_number, 2)  # the status function only tells 1 from the rest
    other_approved = has_approved and current is not VersionStatus.APPROVED
    before = derive_registration_status(RegistrationStatus.CREATED, current, number, has_approved)
    return any(
        derive_registration_status(
            RegistrationStatus.CREATED,
            after,
            number,
            other_approved or after is VersionStatus.APPROVED,
        )
        == before
        for after in LIFECYCLE.successors(current)
    )


def _summary_blind(registration: Registration) -> bool:
    current = registration.current_version
    has_approved = registration.approved_version_number is not None
    return summary_blind(current.status, current.number, has_approved)


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    out = Counter(dict(after))
    out.subtract(before)
    return {k: v for k, v in sorted(out.items()) if v}


__all__ = ["Attribution", "Progress", "Puller", "summary_blind"]
