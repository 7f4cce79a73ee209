"""Pulling: read registrations from the API and save each with the events that explain it.

:meth:`Puller.sync` lists summaries (DescribeRegistrations), describes the
versions of each registration whose summary changed (DescribeRegistrationVersions,
several at once), and records each registration in its own unit of work:
:meth:`Puller.record` diffs the stored state against the API's (reconcile) and
saves both in one store transaction.

Requests are what a sync costs against AWS's quotas (1 request per second for
these operations by default), so it makes only those that can show a change:

- one DescribeRegistrations page per 100 registrations (5 ids a request for a
  sync of given ids), which every sync needs to see what changed;
- one DescribeRegistrationVersions per registration whose summary changed, whose
  summary cannot show its next change (:func:`summary_blind`), or that a full
  sync has not pulled yet — nothing for one whose stored state already is what
  the summary says, even when a command (not a sync) saved it;
- a full sync that was interrupted resumes: what it saved is not described again
  (see :meth:`Puller.sync` for the rule).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any

import attrs

from registration_fsm.domain.events import Origin, Subscriber, TransitionEvent, deliver
from registration_fsm.domain.forms import FieldValues
from registration_fsm.domain.lifecycle import LIFECYCLE
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import DELETE, Registration
from registration_fsm.domain.shard import UNKNOWN, Shard
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
    StoreError,
    shown,
)
from registration_fsm.pacing import Pacer
from registration_fsm.ports import FormsApi, RegistrationApi
from registration_fsm.store.base import (
    Intent,
    IntentStore,
    ResumableStore,
    ShardedStore,
    Store,
    StoredIntent,
    StoredRegistration,
)
from registration_fsm.store.memory import MemoryStore
from registration_fsm.sync.forms import read_field_values
from registration_fsm.sync.reconcile import Difference, registration_difference
from registration_fsm.sync.report import Interruption, SyncReport
from registration_fsm.sync.unit_of_work import UnitOfWork

_log = logging.getLogger(__name__)

#: ``progress(done, total)``: registrations handled so far, of those the sync looks at.
Progress = Callable[[int, int], None]

#: The operation that pulls one registration's versions (one request each, up to
#: ``page_size`` versions).
DESCRIBE_VERSIONS = "DescribeRegistrationVersions"
#: Seconds' worth of DescribeRegistrationVersions (at the rate the API is paced at)
#: a sync keeps in flight at most: enough to hide each request's latency, and all a
#: Ctrl-C waits for.
IN_FLIGHT_SECONDS = 2.0


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

    @classmethod
    def of(cls, intent: Intent) -> Attribution:
        """The attribution a recorded intent makes."""
        return cls(
            intent.trigger, intent.version_number, intent.actor, intent.reason, intent.metadata
        )


def attribute_intents(
    events: Sequence[TransitionEvent], intents: Sequence[StoredIntent]
) -> tuple[tuple[TransitionEvent, ...], list[int]]:
    """``events`` with each change a pending intent claims told as that command's (its
    actor, reason and metadata), and the intents so resolved. A change the API made
    after a command whose final save failed gets its who and why back this way."""
    out, resolved = [], []
    for event in events:
        told = event
        if event.origin is Origin.REMOTE and event.actor is None:
            for stored in intents:
                attribution = Attribution.of(stored.intent)
                if stored.id not in resolved and attribution.claims(event):
                    told = attribution.apply(event)
                    resolved.append(stored.id)
                    break
        out.append(told)
    return tuple(out), resolved


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
        field_values: when a sync reads a version's field values
            (DescribeRegistrationFieldValues, one request a version), kept as the
            evidence of what was submitted, their digest on the event that tells the
            submit. ``"submitted"`` (default): once, when the sync sees the version
            leave DRAFT — the store had it as a DRAFT, or it is a registration's
            current version, new to the store (older versions a first sync finds
            closed are not read); ``"all"``: also every other version that has left
            DRAFT whose values the store lacks (a backfill, one request each);
            ``"drafts"``: as ``"submitted"``, and the current DRAFT's every time its
            registration is described; ``"off"``: never. An API that serves no forms
            (no FormsApi) is never asked.
        shard: the account and region synced (default: the API's ``shard``, which
            the emulator and a Boto3RegistrationApi given ``account`` have). With
            one, a :class:`~registration_fsm.store.ShardedStore` is used through its
            view of that shard, so other accounts' registrations are never touched.
            Without one, a full sync refuses a store that holds several.
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
        field_values: str = "submitted",
        shard: Shard | None = None,
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
        if field_values not in FIELD_VALUE_MODES:
            raise InvalidArgument(
                f"field_values must be one of {', '.join(FIELD_VALUE_MODES)}, "
                f"got {shown(field_values)}"
            )
        self.field_values = field_values
        self.api = api
        self.store: Store = store if store is not None else MemoryStore()
        #: The account and region synced: given, or the API's (None: unknown).
        self.shard = _shard(api, shard)
        if self.shard is not None and isinstance(self.store, ShardedStore):
            self.store = self.store.for_shard(self.shard)
        self.uow = UnitOfWork(self.store, retries=retries_on_stale)
        self.concurrency = concurrency
        self.page_size = page_size
        self.clock = clock
        #: What the last sync stopped by a KeyboardInterrupt (Ctrl-C) had saved and
        #: had left, for the one line a program prints then (None: none was stopped).
        self.last_interruption: Interruption | None = None
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
        resume: bool = True,
    ) -> SyncReport:
        """Pull registrations (all, or ``registration_ids``) and reconcile them.

        Registrations whose DescribeRegistrations summary is unchanged are not
        described again unless ``full`` — except those whose current version can
        move without changing the summary (REVIEWING can become
        REQUIRES_OFFLINE_REVIEW; see :func:`summary_blind`). Ids the API does not
        know are reported in ``not_found`` (tracked ones it no longer lists in
        ``deleted``). ``progress(done, total)`` is called as registrations are handled.

        **Resuming.** Each registration's save is one store transaction, so an
        interrupted sync (killed, Ctrl-C, a crash) loses at most the registrations in
        flight. An *incremental* sync needs nothing more: what the interrupted one
        saved has a current summary, so the next one skips it. A *full* sync keeps
        a checkpoint in the store (when the store is a
        :class:`~registration_fsm.store.ResumableStore`, as both of this package's
        are), its scope being the full sync of everything, or of exactly this set of
        ids (``sync([a, b], full=True)`` and ``sync([b, a], full=True)`` share one;
        ``sync([a], full=True)`` has its own). The checkpoint is begun by the scope's
        first run and ended by the first one that completes with nothing failed; a
        run that ends with failures keeps it, so the next retries just those.

        A run of a scope whose checkpoint exists does not describe a registration
        again when all of these hold: it was pulled (saved with its summary, by
        this scope's runs or by any other sync) since the checkpoint began; its
        summary now is the one saved; and that summary can show its next change (it
        is not :func:`summary_blind`). So resuming never hides a change the API
        shows: a registration that changed since it was saved is described again,
        and so is one whose change the summary could not show. Those not described
        are reported in ``resumed``. ``resume=False`` begins the scope afresh.

        A ``KeyboardInterrupt`` (Ctrl-C) during the sync lets the requests in flight
        finish and their registrations be saved, keeps what was done and what was
        left in :attr:`last_interruption`, and raises it again.
        """
        ids = None if registration_ids is None else _id_list(registration_ids)
        if not isinstance(resume, bool):
            raise InvalidArgumentType(f"resume must be True or False, got {shown(resume)}")
        scope = sync_scope(ids) if full and isinstance(self.store, ResumableStore) else None
        return self._sync(ids, full, progress, parallel=True, scope=scope, restart=not resume)

    def requests_for(self, registrations: int) -> dict[str, int]:
        """The requests pulling ``registrations`` more registrations makes, by operation:
        one DescribeRegistrationVersions each (a registration with more than
        ``page_size`` versions takes more pages). With a pacer's
        :meth:`~registration_fsm.pacing.Pacer.seconds_for`, how long the rest of a
        sync takes."""
        return {DESCRIBE_VERSIONS: registrations} if registrations > 0 else {}

    def _sync(
        self,
        ids: list[str] | None,
        full: bool,
        progress: Progress | None,
        *,
        parallel: bool,
        scope: str | None = None,
        restart: bool = False,
    ) -> SyncReport:
        """:meth:`sync`; ``parallel=False`` pulls in the calling thread, which must be
        used while holding a registration's lock (a pool thread would wait for it).
        ``scope``: the checkpoint to resume from and keep (None: none)."""
        before = dict(self.api.calls)
        tally = _Tally(SyncReport(), progress)
        report = tally.report
        try:
            done: frozenset[str] = frozenset()
            if scope is not None and isinstance(self.store, ResumableStore):
                if restart:
                    self.store.end_sync(scope)
                done = self.store.begin_sync(scope).done
            summaries, gone = self._summaries(ids)
            for registration_id in gone:
                if self.store.get(registration_id) is None:
                    report.not_found.append(registration_id)
                else:
                    self._mark_deleted(registration_id, report)
            todo: list[dict[str, Any]] = []
            for summary in summaries:
                registration_id = summary["RegistrationId"]
                if not _current(self.store.get(registration_id), summary):
                    todo.append(summary)
                elif not full:
                    report.unchanged.append(registration_id)
                elif registration_id in done:
                    report.resumed.append(registration_id)
                else:
                    todo.append(summary)
            tally.start(len(report.unchanged) + len(report.resumed), len(todo))
            if parallel and len(todo) > 1:
                self._pull_in_pool(todo, tally)
            else:
                for summary in todo:
                    tally.add(summary, self._pull_one(summary))
            report.api_calls = _delta(before, self.api.calls)
            if scope is not None and not report.failed and isinstance(self.store, ResumableStore):
                self.store.end_sync(scope)  # interrupted here: the next run resumes all
        except KeyboardInterrupt:
            report.api_calls = _delta(before, self.api.calls)
            self.last_interruption = Interruption(report, tally.left)
            # Saved: subscribers hear of them all the same (a subscriber's error is
            # logged by deliver; the interruption is the news).
            with contextlib.suppress(Exception):
                self._publish(report.events)
            raise
        self._publish(report.events)
        return report

    def workers(self) -> int:
        """Pulls a sync runs at once: ``concurrency``, but when the API paces its requests
        (:attr:`Boto3RegistrationApi.pacer <registration_fsm.Boto3RegistrationApi.pacer>`),
        no more than :data:`IN_FLIGHT_SECONDS` worth of DescribeRegistrationVersions
        at its rate: more would only wait for the pacer's slots (at AWS's default
        1 request per second, two are in flight), and a Ctrl-C waits for those in flight.
        """
        pacer = getattr(self.api, "pacer", None)
        rate = pacer.rate(DESCRIBE_VERSIONS) if isinstance(pacer, Pacer) else math.inf
        if not math.isfinite(rate):
            return self.concurrency
        return max(1, min(self.concurrency, math.ceil(rate * IN_FLIGHT_SECONDS)))

    def _pull_in_pool(self, todo: list[dict[str, Any]], tally: _Tally) -> None:
        """Pull ``todo`` with up to :meth:`workers` at once, tallied in order.

        On a KeyboardInterrupt (or any error) the pulls not begun are cancelled and
        those in flight finish (each saves, or fails, whole) before it propagates.
        """
        pool = ThreadPoolExecutor(max_workers=self.workers())
        futures: list[Future[Difference | Exception]] = [
            pool.submit(self._pull_one, summary) for summary in todo
        ]
        counted = 0
        try:
            for summary, future in zip(todo, futures, strict=True):
                outcome = future.result()
                counted += 1  # before add: its progress call may be where Ctrl-C lands
                tally.add(summary, outcome)
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            for summary, future in zip(todo[counted:], futures[counted:], strict=True):
                if future.done() and not future.cancelled() and future.exception() is None:
                    tally.add(summary, future.result(), report_progress=False)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _summaries(self, ids: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """Summaries to consider, and ids the API does not have (tracked ones included)."""
        if ids is None:
            summaries = list(self.api.describe_registrations(page_size=self.page_size))
            self._check_one_shard(summaries)
            listed = {s["RegistrationId"] for s in summaries}
            gone = [i for i in self.store.ids() if i not in listed]
            if not summaries and len(gone) > 1 and not getattr(self.api, "shard_is_exact", False):
                # Credentials for another account (a wrong profile) list nothing too:
                # never take a store's registrations for deleted on an empty listing,
                # unless the API is exactly its shard (the emulator is).
                raise InvalidArgument(
                    f"the API lists no registration, but the store holds {len(gone)} of "
                    f"{self.shard or 'this account'}: if the credentials reach the right "
                    "account and they were all deleted, sync them by id to record it"
                )
            return summaries, gone
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
                return self.record(*self.describe(summary))
        except (ApiError, InvalidApiData, StaleWrite) as err:
            _log.warning("sync of %s failed: %s", registration_id, err)
            return err

    def describe(self, summary: Mapping[str, Any]) -> tuple[Registration, Mapping[str, Any]]:
        """The registration as the API shows it now: ``summary`` and its versions.

        The summary and the versions are two requests, and the registration can move
        between them: a summary that contradicts the versions (a version number it
        claims, or a status the status rules do not give) is read again (each retry costs
        two requests), with the
        versions, at most :data:`TORN_READ_RETRIES` times; then taken as it is.
        """
        registration_id = summary["RegistrationId"]
        for attempt in range(TORN_READ_RETRIES + 1):
            if attempt:
                (summary,) = self.api.describe_registrations(registration_ids=[registration_id])
            versions = list(
                self.api.describe_registration_versions(registration_id, page_size=self.page_size)
            )
            remote = Registration.from_api(summary, versions)
            if not _torn(remote):
                break
        return remote, summary

    def describe_again(self, registration_id: str) -> tuple[Registration, Mapping[str, Any]]:
        """The registration and its summary, both read afresh from the API."""
        (summary,) = self.api.describe_registrations(registration_ids=[registration_id])
        return self.describe(summary)

    def record(
        self,
        remote: Registration,
        summary: Mapping[str, Any] | None,
        attribution: Attribution | None = None,
        resolves: Sequence[int] = (),
    ) -> Difference:
        """Save the API's ``remote`` with the events that explain it; hold its lock.

        Each attempt diffs the state stored when it began. If another writer (another
        process) saved first, ``remote`` may be older than what it saved: the next
        attempt reads the API again too. ``attribution`` tells the command's own
        event as local, with its actor, reason and metadata, and ``resolves`` names the
        command's intent; without it, a pending intent (an :class:`IntentStore`'s) that
        claims a change gives it its who and why (:func:`attribute_intents`).
        """
        for tx in self.uow.attempts(remote.id):
            with tx:
                if tx.attempt:
                    remote, summary = self.describe_again(remote.id)
                read = self._field_values(tx.registration, remote)
                diff = registration_difference(
                    tx.registration, remote, observed_at=read_clock(self.clock)
                )
                events = _with_digests(diff.events, read)
                done = list(resolves)
                if attribution is not None:
                    events = tuple(attribution.apply(e) for e in events)
                elif isinstance(self.store, IntentStore) and events:
                    events, claimed = attribute_intents(events, self.store.intents(remote.id))
                    done.extend(claimed)
                tx.save(remote, events, summary=summary, resolves=done)
                self.resolve_intents(tx.unresolved)
                return Difference(events, diff.anomalies)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def resolve_intents(self, intents: Sequence[int]) -> None:
        """Remove intents whose change is saved (a failure is logged: such an intent can
        claim no other change, see :class:`IntentStore`)."""
        if not intents or not isinstance(self.store, IntentStore):
            return
        for intent in intents:
            try:
                self.store.resolve_intent(intent)
            except StoreError as err:
                _log.warning("could not remove intent %s after its save: %s", intent, err)

    def _field_values(
        self, local: Registration | None, remote: Registration
    ) -> dict[int, FieldValues]:
        """Give ``remote`` the field values ``local`` knows, and those read now (returned),
        as :attr:`field_values` says."""
        known = {} if local is None else local.field_values_known()
        read: dict[int, FieldValues] = {}
        api, mode = self.api, self.field_values
        if mode != "off" and isinstance(api, FormsApi):
            before = {} if local is None else local.versions
            current = remote.current_version_number
            for number, version in remote.versions.items():
                draft = version.status is VersionStatus.DRAFT
                was = before.get(number)
                seen_leaving = not draft and (
                    (was is not None and was.status is VersionStatus.DRAFT)
                    or (was is None and number == current)
                )
                backfill = mode == "all" and not draft and number not in known
                if seen_leaving or backfill or (draft and mode == "drafts"):
                    read[number] = read_field_values(api, remote.id, number)
        for number, values in {**known, **read}.items():
            if number in remote.versions:
                remote.keep_field_values(number, values)
        return read

    def _check_one_shard(self, summaries: list[dict[str, Any]]) -> None:
        """Refuse a listing of another account than the one synced, and a full sync of
        an unknown account into a store of others: either would take the store's
        registrations, missing from the listing, for deleted."""
        listed = {Shard.of_arn(str(s.get("RegistrationArn", ""))) for s in summaries}
        if self.shard is not None:
            others = sorted(str(s) for s in listed - {self.shard, UNKNOWN})
            if others:
                raise InvalidArgument(
                    f"this sync is of {self.shard}, but the API lists registrations of "
                    f"{', '.join(others)}: the account given (--account, shard=) is not the "
                    "one the credentials reach"
                )
            return
        if not isinstance(self.store, ShardedStore):
            return
        stored = set(self.store.shards())
        if len(stored) > 1 or (stored and listed and stored != listed):
            places = ", ".join(sorted(str(s) for s in stored | listed))
            raise InvalidArgument(
                f"the store and the API hold registrations of several accounts/regions "
                f"({places}): name the one to sync (shard=Shard.of(account, region), "
                "or --account and --region)"
            )

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
                    claimed: list[int] = []
                    if isinstance(self.store, IntentStore):
                        intents = self.store.intents(registration_id)
                        (event,), claimed = attribute_intents([event], intents)
                    tx.save(local, [event], resolves=claimed)
                    self.resolve_intents(tx.unresolved)
                    report.deleted.append(registration_id)
                    report.events.append(event)


class _Tally:
    """A sync's report as its pulls come in, and the progress it reports."""

    def __init__(self, report: SyncReport, progress: Progress | None) -> None:
        self.report = report
        self.progress = progress
        self.done = 0
        #: Registrations to look at (None until they are listed).
        self.total: int | None = None

    @property
    def left(self) -> int | None:
        """Registrations still to pull (None: not listed yet)."""
        return None if self.total is None else self.total - self.done

    def start(self, skipped: int, todo: int) -> None:
        self.done, self.total = skipped, skipped + todo
        if self.progress is not None:
            self.progress(self.done, self.total)

    def add(
        self,
        summary: Mapping[str, Any],
        outcome: Difference | Exception,
        *,
        report_progress: bool = True,
    ) -> None:
        registration_id = summary["RegistrationId"]
        self.done += 1
        if isinstance(outcome, Exception):
            self.report.failed[registration_id] = f"{type(outcome).__name__}: {outcome}"
        else:
            self.report.changed.append(registration_id)
            self.report.events.extend(outcome.events)
            self.report.anomalies.extend(outcome.anomalies)
        if report_progress and self.progress is not None and self.total is not None:
            self.progress(self.done, self.total)


def sync_scope(registration_ids: Sequence[str] | None) -> str:
    """The checkpoint scope of a full sync: ``"full"`` for every registration, else
    one per set of ids (order and repeats aside)."""
    if registration_ids is None:
        return "full"
    unique = sorted(set(registration_ids))
    digest = hashlib.sha256("\n".join(unique).encode()).hexdigest()[:32]
    return f"full of {len(unique)} ids {digest}"


def _current(stored: StoredRegistration | None, summary: Mapping[str, Any]) -> bool:
    """Whether the stored registration is what the API's ``summary`` says, as far as a
    summary can tell: the summary saved with it is this one, or (saved by a command,
    without a summary) its own summary is; and its next change would show in it."""
    if stored is None or _summary_blind(stored.registration):
        return False
    if stored.summary is not None:
        return stored.summary == summary
    return stored.registration.to_api() == summary


#: The choices of :class:`Puller`'s ``field_values``.
FIELD_VALUE_MODES = ("submitted", "all", "drafts", "off")


def _with_digests(
    events: Sequence[TransitionEvent], read: Mapping[int, FieldValues]
) -> tuple[TransitionEvent, ...]:
    """``events`` with the digest of the values read for a version that left DRAFT on the
    event that tells it (a submit, or a change no legal path explains)."""
    out = []
    for event in events:
        values = None if event.version_number is None else read.get(event.version_number)
        if values is not None and event.source is VersionStatus.DRAFT:
            digest = values.digest()
            out.append(event._replace(details={**event.details, "fields_digest": digest}))
        else:
            out.append(event)
    return tuple(out)


#: How many times :meth:`Puller.describe` reads a registration again whose summary
#: contradicts its versions (read a moment later) before taking it as it is.
TORN_READ_RETRIES = 2


def _torn(remote: Registration) -> bool:
    """The summary contradicts the versions: read apart while the registration moved."""
    if any(a.field == "CurrentVersionNumber" for a in remote.anomalies):
        return True
    current = remote.current_version
    derived = derive_registration_status(
        remote.status,
        current.status,
        current.number,
        remote.approved_version_number is not None,
    )
    return derived != remote.status


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


__all__ = [
    "DESCRIBE_VERSIONS",
    "IN_FLIGHT_SECONDS",
    "Attribution",
    "Progress",
    "Puller",
    "summary_blind",
    "sync_scope",
]


def _shard(api: RegistrationApi, shard: Shard | None) -> Shard | None:
    if shard is not None:
        if not isinstance(shard, Shard):
            raise InvalidArgumentType(f"shard must be a Shard or None, got {shown(shard)}")
        return shard
    found = getattr(api, "shard", None)
    return found if isinstance(found, Shard) else None
