"""Synchronizer: keep local registrations in step with an API, and send commands to it.

Reads: :meth:`sync` pulls summaries (DescribeRegistrations), then the versions of
each registration whose summary changed (DescribeRegistrationVersions, several at
once), and saves each registration with the events that explain the change in one
store transaction. Commands check local guards first (a refusal costs no request),
call the API, then apply its answer. A conflict from the API re-pulls the
registration and raises the conflict carrying the fresh state.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import attrs

from registration_fsm.adapters.ids import check_registration_id
from registration_fsm.domain.events import EventCause, TransitionEvent, deliver
from registration_fsm.domain.guards import DEFAULT_DISCARD_POLICY, DiscardPolicy, Guard
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.registration_status import summary_blind
from registration_fsm.domain.statuses import RegistrationStatus
from registration_fsm.domain.version import RegistrationVersion
from registration_fsm.errors import (
    ApiError,
    ConflictError,
    DiscardNotAllowed,
    InvalidApiData,
    InvalidArgument,
    NotFoundError,
    NotTracked,
    StaleWrite,
)
from registration_fsm.ports import RegistrationApi
from registration_fsm.store.base import Store, StoredRegistration
from registration_fsm.store.memory import MemoryStore
from registration_fsm.sync.follow import Following
from registration_fsm.sync.reconcile import (
    Difference,
    registration_difference,
    version_difference,
)
from registration_fsm.sync.report import SyncReport

_log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Synchronizer(Following):
    """Local registrations that follow an API (see the module docstring).

    Args:
        api: any :class:`RegistrationApi` (the emulator, boto3...).
        store: where local state lives (default: a new :class:`MemoryStore`).
        concurrency: DescribeRegistrationVersions requests in flight at once.
        page_size: MaxResults for the describe calls.
        retries_on_stale: how often a save that lost to another writer is redone.
    """

    def __init__(
        self,
        api: RegistrationApi,
        store: Store | None = None,
        *,
        concurrency: int = 8,
        page_size: int = 100,
        retries_on_stale: int = 3,
    ) -> None:
        if type(concurrency) is not int or not 1 <= concurrency <= 64:
            raise InvalidArgument(f"concurrency must be 1..64, got {concurrency!r}")
        if type(page_size) is not int or not 1 <= page_size <= 100:
            raise InvalidArgument(f"page_size must be 1..100, got {page_size!r}")
        self.api = api
        self.store: Store = store if store is not None else MemoryStore()
        self.concurrency = concurrency
        self.page_size = page_size
        self.retries_on_stale = retries_on_stale
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._subscribers: list[Callable[[TransitionEvent], object]] = []

    # -- reading --------------------------------------------------------

    def get(self, registration_id: str) -> Registration:
        """The local registration; :class:`NotTracked` if it was never synced."""
        stored = self.store.get(registration_id)
        if stored is None:
            raise NotTracked(registration_id)
        return stored.registration

    def registrations(self) -> Iterator[Registration]:
        """Every local registration."""
        return self.store.registrations()

    def subscribe(self, subscriber: Callable[[TransitionEvent], object]) -> Callable[[], None]:
        """Deliver every event saved (remote and local) to ``subscriber``; returns an unsubscribe.

        Delivered after the save; a subscriber that raises does not undo it (see
        :class:`SubscriberError`).
        """
        if not callable(subscriber):
            raise InvalidArgument(f"subscriber must be callable, got {subscriber!r}")
        self._subscribers.append(subscriber)
        return lambda: (
            self._subscribers.remove(subscriber) if subscriber in self._subscribers else None
        )

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
        described again unless ``full`` — except those whose current version is in
        a status it can leave without changing the summary (REVIEWING, which can
        become REQUIRES_OFFLINE_REVIEW; see ``summary_blind``).
        ``progress(done, total)`` is called as registrations are handled.
        """
        ids = (
            None
            if registration_ids is None
            else list(dict.fromkeys(check_registration_id(i) for i in registration_ids))
        )
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
        done = len(report.unchanged)
        total = done + len(todo)
        if progress is not None:
            progress(done, total)
        with ExitStack() as stack:
            if parallel and len(todo) > 1:
                pool = stack.enter_context(ThreadPoolExecutor(max_workers=self.concurrency))
                outcomes: Iterator[Difference | Exception] = pool.map(self._pull_one, todo)
            else:
                outcomes = map(self._pull_one, todo)
            for registration_id, outcome in zip(
                (s["RegistrationId"] for s in todo), outcomes, strict=True
            ):
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
        """Summaries to consider, and tracked ids the API no longer has."""
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
                for one in batch:  # find which of the batch is gone
                    try:
                        summaries.extend(self.api.describe_registrations(registration_ids=[one]))
                    except NotFoundError:
                        gone.append(one)
        return summaries, [i for i in gone if self.store.get(i) is not None]

    def _pull_one(self, summary: dict[str, Any]) -> Difference | Exception:
        registration_id = summary["RegistrationId"]
        try:
            # Under the registration's lock, and the stored state read before the API:
            # a command saved meanwhile can neither slip between the read and the save
            # nor be overwritten by this older snapshot.
            with self._lock_for(registration_id):
                stored = self.store.get(registration_id)
                return self._save_remote(
                    self._describe(summary),
                    summary,
                    stored=stored,
                    refresh=lambda: self._describe(summary),
                )
        except (ApiError, InvalidApiData, StaleWrite) as err:
            _log.warning("sync of %s failed: %s", registration_id, err)
            return err

    def _describe(self, summary: Mapping[str, Any]) -> Registration:
        """The registration as the API shows it now: ``summary`` and its versions."""
        registration_id = summary["RegistrationId"]
        versions = list(
            self.api.describe_registration_versions(registration_id, page_size=self.page_size)
        )
        return Registration.from_api(summary, versions)

    def _describe_again(self, registration_id: str) -> Registration:
        """The registration read afresh from the API (its summary too)."""
        summaries = self.api.describe_registrations(registration_ids=[registration_id])
        return self._describe(next(iter(summaries)))

    def _save_remote(
        self,
        remote: Registration,
        summary: Mapping[str, Any] | None,
        *,
        stored: StoredRegistration | None,
        refresh: Callable[[], Registration],
        cause: EventCause = EventCause.REMOTE,
        annotate: Callable[[TransitionEvent], TransitionEvent] | None = None,
    ) -> Difference:
        """Adopt ``remote`` and save it with the events from ``stored``, the state
        read before ``remote`` was (call with the registration's lock held).

        The save expects ``stored``'s revision. If another writer (another process)
        saved since, ``remote`` may be older than what it saved: the stored state and
        the API are both read again (``refresh``) rather than adopting ``remote``.
        """
        for attempt in range(self.retries_on_stale + 1):
            local = stored.registration if stored is not None else None
            diff = registration_difference(local, remote, cause=cause)
            events = diff.events
            if annotate is not None:
                events = tuple(annotate(e) for e in events)
            try:
                self.store.save(
                    remote,
                    events,
                    summary=summary,
                    expected_revision=stored.revision if stored is not None else None,
                )
            except StaleWrite:
                if attempt == self.retries_on_stale:
                    raise
                stored = self.store.get(remote.id)
                remote = refresh()
                continue
            return Difference(events, diff.anomalies)
        raise AssertionError("unreachable")  # pragma: no cover

    def _mark_deleted(self, registration_id: str, report: SyncReport) -> None:
        with self._lock_for(registration_id):
            stored = self.store.get(registration_id)
            if stored is None or stored.registration.status == RegistrationStatus.DELETED:
                return
            registration = stored.registration
            registration.status = RegistrationStatus.DELETED
            self.store.save(registration, (), summary=None, expected_revision=stored.revision)
            report.deleted.append(registration_id)

    # -- commands -------------------------------------------------------

    def create(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Registration:
        """CreateRegistration, then pull the new registration; returns it."""
        result = self.api.create_registration(
            registration_type, client_token=client_token, tags=tags
        )
        report = self.sync([result["RegistrationId"]], full=True)
        if report.failed:
            raise next(iter(self._failures(report)))
        return self.get(result["RegistrationId"])

    def submit(
        self, registration_id: str, *, aws_review: bool = False, actor: str | None = None
    ) -> TransitionEvent:
        """SubmitRegistrationVersion on the current DRAFT version."""

        def check(reg: Registration) -> None:
            reg.check("submit", aws_review=aws_review)

        return self._command(
            registration_id,
            "submit",
            check,
            lambda: self.api.submit_registration_version(registration_id, aws_review=aws_review),
            actor=actor,
        )

    def create_version(self, registration_id: str, *, actor: str | None = None) -> TransitionEvent:
        """CreateRegistrationVersion: a new DRAFT on a closed current version."""

        return self._command(
            registration_id,
            "create",
            Registration.check_create_version,
            lambda: self.api.create_registration_version(registration_id),
            actor=actor,
        )

    def discard(
        self,
        registration_id: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        guards: Sequence[Guard] = (),
        policy: DiscardPolicy = DEFAULT_DISCARD_POLICY,
    ) -> TransitionEvent:
        """DiscardRegistrationVersion, if every local guard allows it (else DiscardNotAllowed)."""

        def check(reg: Registration) -> None:
            failed = reg.discard_refusals(actor=actor, reason=reason, guards=guards, policy=policy)
            if failed:
                raise DiscardNotAllowed(failed, resource_id=reg.id)

        return self._command(
            registration_id,
            "discard",
            check,
            lambda: self.api.discard_registration_version(registration_id),
            actor=actor,
            reason=reason,
        )

    def delete(self, registration_id: str, *, actor: str | None = None) -> Registration:
        """DeleteRegistration; the local registration is kept with status DELETED."""
        check_registration_id(registration_id)
        with self._lock_for(registration_id):
            stored = self._stored_or_pull(registration_id)
            if stored.registration.status == RegistrationStatus.DELETED:
                raise ConflictError(
                    f"registration {registration_id} is already deleted",
                    reason="RESOURCE_DELETION_NOT_ALLOWED",
                    resource_id=registration_id,
                )
            result = self._call_or_repull(
                registration_id, lambda: self.api.delete_registration(registration_id)
            )
            registration = stored.registration
            registration.status = RegistrationStatus(result["RegistrationStatus"])
            self.store.save(registration, (), summary=None, expected_revision=stored.revision)
            _log.info("registration %s deleted by %s", registration_id, actor or "unknown actor")
            return registration

    def _command(
        self,
        registration_id: str,
        trigger: str,
        check: Callable[[Registration], None],
        call: Callable[[], dict[str, Any]],
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> TransitionEvent:
        check_registration_id(registration_id)
        with self._lock_for(registration_id):
            stored = self._stored_or_pull(registration_id)
            check(stored.registration)
            result = self._call_or_repull(registration_id, call)
            version = RegistrationVersion.from_api(result)
            # A new object: ``stored`` stays the state the change is told from.
            registration = attrs.evolve(
                stored.registration,
                versions={**stored.registration.versions, version.number: version},
            )
            registration.refresh_status()

            def annotate(event: TransitionEvent) -> TransitionEvent:
                if event.version_number != version.number or event.trigger != trigger:
                    return event
                return event._replace(cause=EventCause.LOCAL, actor=actor, reason=reason)

            diff = self._save_remote(
                registration,
                None,
                stored=stored,
                refresh=lambda: self._describe_again(registration_id),
                annotate=annotate,
            )
        self._publish(diff.events)
        mine = [
            e for e in diff.events if e.trigger == trigger and e.version_number == version.number
        ]
        if not mine:  # another process's sync saved the change first (as a remote event)
            before = stored.registration.versions.get(version.number)
            told = version_difference(before, version, cause=EventCause.REMOTE).events
            mine = [annotate(e) for e in told if e.trigger == trigger]
        if not mine:
            raise ConflictError(
                f"the API answered {trigger!r} with version {version.number} in {version.status}",
                resource_id=registration_id,
            )
        return mine[-1]

    def _stored_or_pull(self, registration_id: str) -> StoredRegistration:
        stored = self.store.get(registration_id)
        if stored is None:
            report = self._sync([registration_id], True, None, parallel=False)
            if report.failed:
                raise next(iter(self._failures(report)))
            stored = self.store.get(registration_id)
            if stored is None:
                raise NotTracked(registration_id)
        return stored

    def _call_or_repull(
        self, registration_id: str, call: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            return call()
        except ConflictError as conflict:
            try:
                report = self._sync([registration_id], True, None, parallel=False)
                if report.failed:  # the local state is not fresh: do not pass it off as such
                    raise next(iter(self._failures(report)))
                conflict.registration = self.get(registration_id)
            except Exception as err:  # the conflict is the news; a failed re-pull is logged
                _log.warning("re-pull of %s after a conflict failed: %s", registration_id, err)
            raise

    def _failures(self, report: SyncReport) -> Iterator[ApiError]:
        for registration_id, message in report.failed.items():
            yield ApiError(f"pull of {registration_id} failed: {message}")

    def _lock_for(self, registration_id: str) -> threading.RLock:
        with self._locks_guard:
            lock = self._locks.get(registration_id)
            if lock is None:
                lock = self._locks[registration_id] = threading.RLock()
            return lock

    def _publish(self, events: Sequence[TransitionEvent]) -> None:
        deliver(self._subscribers, events)


def _summary_blind(registration: Registration) -> bool:
    current = registration.current_version
    has_approved = registration.approved_version_number is not None
    return summary_blind(current.status, current.number, has_approved)


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    out = Counter(dict(after))
    out.subtract(before)
    return {k: v for k, v in sorted(out.items()) if v}
