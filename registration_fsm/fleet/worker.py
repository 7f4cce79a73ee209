"""A fleet worker: leases shards from the store, syncs each, gives it back.

Start as many workers as wanted, on one host or many, all on one store (a
:class:`~registration_fsm.store.PostgresStore`; an SQLite file serves the workers of
one host). Each worker runs ``slots`` loops; a loop:

1. leases a shard of the fleet that no one holds and whose last pass ended
   ``sync_interval`` seconds ago or more (``SELECT ... FOR UPDATE SKIP LOCKED``;
   the longest-waiting first), or waits ``poll`` seconds and asks again;
2. renews the lease every third of ``lease_seconds`` while it syncs the shard (an
   incremental sync through the store's view of that shard, paced by the shard's
   quotas; then, if the shard has an SQS queue, the events waiting in it);
3. releases the lease, marking the pass done.

A lease lost (not renewed in time: the database was unreachable, the worker
stalled) stops the pass at the next registration; a killed worker's shard is
taken by another once its lease expires, and that worker's incremental sync skips
what the killed one saved. A stop (:meth:`Worker.stop`, SIGTERM in the CLI) ends
every pass at the next registration and releases the leases without marking them
done. Errors of the store or the API end the pass (logged) and release the shard
with a back-off (``poll`` seconds, doubling with each failure in a row, at most
:data:`MAX_BACKOFF`) during which no worker takes it; the loops go on, so workers
outlive a database restart.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from registration_fsm.domain.shard import Shard
from registration_fsm.errors import (
    ApiError,
    InvalidArgument,
    InvalidArgumentType,
    LeaseLost,
    RegistrationError,
    StoreError,
    shown,
)
from registration_fsm.fleet.config import FleetConfig, ShardConfig, connect, shard_session
from registration_fsm.quotas import Quotas
from registration_fsm.store.base import Lease, LeaseStore, ShardedStore
from registration_fsm.sync import Synchronizer, SyncReport

log = logging.getLogger(__name__)

#: Opens a store for one of a worker's loops (each loop has its own connection).
StoreOpener = Callable[[], Any]


class _Stopped(Exception):
    """A pass ended early: the worker stops, or its lease was lost."""


@attrs.frozen
class ShardPass:
    """What one pass of one shard did: the sync's report (None if it failed before
    it finished), the events taken from the shard's queue, and why it ended early."""

    shard: Shard
    owner: str
    report: SyncReport | None
    events: int = 0
    error: str | None = None
    #: When the lease was taken and given back (UTC), and the seconds between.
    started: datetime | None = None
    ended: datetime | None = None
    seconds: float = 0.0


class Worker:
    """Syncs the fleet's shards it can lease until :meth:`stop` (see the module).

    Args:
        config: the fleet (its shards and defaults).
        open_store: makes a store for each loop: a :class:`ShardedStore` that is a
            :class:`LeaseStore` (``lambda: PostgresStore(url)``).
        slots: shards this worker syncs at once (one loop and two connections each:
            the sync's, and the lease renewals', so a renewal never waits on a save).
        quotas: the base quotas (default: AWS's defaults with the environment's
            overrides); each shard's ``[shard.quotas]`` are laid over them.
        owner: the name leases are taken under (default ``host:pid:random``).
        once: end each loop when no shard of the fleet is due any more (passes
            held by others included) instead of waiting for the next one; a shard
            whose pass fails is not tried again in the run (:attr:`failed_shards`).
        poll: seconds a loop waits when no shard can be leased (default: a third
            of ``lease_seconds``, at most 5).
        on_pass: called after every pass (from the loop's thread).
        api_factory: builds a shard's API (default :func:`~registration_fsm.fleet.connect`).
    """

    def __init__(
        self,
        config: FleetConfig,
        open_store: StoreOpener,
        *,
        slots: int = 1,
        quotas: Quotas | None = None,
        owner: str | None = None,
        once: bool = False,
        poll: float | None = None,
        on_pass: Callable[[ShardPass], None] | None = None,
        api_factory: Callable[[ShardConfig], Any] | None = None,
    ) -> None:
        if not isinstance(config, FleetConfig):
            raise InvalidArgumentType(f"config must be a FleetConfig, got {shown(config)}")
        if not callable(open_store):
            raise InvalidArgumentType(f"open_store must be callable, got {shown(open_store)}")
        if type(slots) is not int or not 1 <= slots <= 64:
            raise InvalidArgument(f"slots must be 1..64, got {slots!r}")
        lease = config.defaults.lease_seconds
        if poll is not None and (isinstance(poll, bool) or not isinstance(poll, int | float)):
            raise InvalidArgumentType(f"poll must be seconds, got {shown(poll)}")
        if poll is not None and not 0 < poll <= 3600:
            raise InvalidArgument(f"poll must be in (0, 3600] seconds, got {poll}")
        self.config = config
        self.slots = slots
        if owner is not None and (
            not isinstance(owner, str) or not 1 <= len(owner) <= 200 or not owner.isprintable()
        ):
            raise InvalidArgument(f"owner must be 1..200 printable characters, got {shown(owner)}")
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.once = once
        self.poll = float(poll) if poll is not None else min(5.0, lease / 3)
        self.quotas = config.quotas(quotas if quotas is not None else Quotas.from_environment())
        self._open_store = open_store
        self._on_pass = on_pass
        self._api_factory = api_factory or self._connect
        self._apis: dict[Shard, Any] = {}
        self._sources: dict[Shard, Any] = {}
        self._failures: dict[Shard, int] = {}  # passes failed in a row, by shard
        self._gave_up: set[Shard] = set()  # with once: shards whose pass failed this run
        self._began = time.monotonic()
        self._apis_lock = threading.Lock()
        self._stopping = threading.Event()
        self._shards = [s.shard for s in config.shards]
        #: Every pass finished so far, in order.
        self.passes: list[ShardPass] = []
        self._passes_lock = threading.Lock()

    def stop(self) -> None:
        """End every pass at its next registration, release the leases, return from run."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    def run(self) -> None:
        """Run the loops until :meth:`stop` (or, with ``once``, until no shard is due)."""
        self._began = time.monotonic()
        if self.slots == 1:
            self._loop()
            return
        threads = [
            threading.Thread(target=self._loop, name=f"{self.owner}/{i}", daemon=True)
            for i in range(self.slots)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- one loop ----------------------------------------------------------

    def _loop(self) -> None:
        # Two connections: the renewals' own, so a renewal never waits behind a save
        # (which may wait on another writer's lock) on a shared one.
        store: Any = None
        renewals: Any = None
        try:
            while not self._stopping.is_set():
                try:
                    if store is None:
                        store = _checked(self._open_store())
                    if renewals is None:
                        renewals = _checked(self._open_store())
                    candidates, idle = self._candidates(), self._idle()
                    lease = store.acquire_lease(
                        self.owner, candidates, self.config.defaults.lease_seconds, idle=idle
                    )
                    if lease is None:
                        if self.once and not store.due(candidates, idle):
                            return
                        self._stopping.wait(self.poll)
                        continue
                except StoreError as err:
                    log.warning("worker %s: %s; trying again in %gs", self.owner, err, self.poll)
                    self._stopping.wait(self.poll)
                    continue
                self._pass(store, renewals, lease)
        finally:
            for opened in (store, renewals):
                if opened is not None:
                    opened.close()

    def _idle(self) -> float:
        """How long ago a shard's last pass must have ended for it to be due: its
        ``sync_interval``; with ``once``, also before this run began (a shard is passed
        at most once in a run, however long the run takes)."""
        interval = self.config.defaults.sync_interval
        if not self.once:
            return interval
        return max(interval, time.monotonic() - self._began)

    def _candidates(self) -> list[Shard]:
        """The shards a loop may lease: all of them; with ``once``, not those whose
        pass failed in this run (each is tried once: a timer runs the job again)."""
        with self._apis_lock:
            return [s for s in self._shards if s not in self._gave_up]

    @property
    def failed_shards(self) -> list[Shard]:
        """With ``once``: the shards whose pass failed in this run (not tried again)."""
        with self._apis_lock:
            return sorted(self._gave_up)

    def _pass(self, store: Any, renewals: Any, lease: Lease) -> None:
        started, clock = datetime.now(UTC), time.monotonic()
        shard = lease.shard
        renewer = _Renewer(renewals, lease, self.config.defaults.lease_seconds)
        renewer.start()
        report: SyncReport | None = None
        events = 0
        error: str | None = None

        def check(_done: int = 0, _total: int = 0) -> None:
            if self._stopping.is_set():
                raise _Stopped("the worker is stopping")
            if renewer.lost is not None:
                raise _Stopped(str(renewer.lost))

        try:
            settings = self.config.find(shard)
            api = self._api(settings)
            synchronizer = Synchronizer(
                api,
                store.for_shard(shard),
                shard=shard,
                field_values=self.config.defaults.field_values,
            )
            report = synchronizer.sync(progress=check)
            check()
            if settings.events_queue_url is not None:
                events = self._drain(synchronizer, settings, check)
        except _Stopped as stopped:
            error = str(stopped)
        except (StoreError, ApiError, RegistrationError, OSError) as err:
            error = f"{type(err).__name__}: {err}"
        except Exception as err:  # a bug must not end a long-running loop: log it, back off
            log.exception("worker %s: pass of %s failed unexpectedly", self.owner, shard)
            error = f"{type(err).__name__}: {err}"
        finally:
            renewer.stop()
        done = error is None and renewer.lost is None
        failed = error is not None and not self._stopping.is_set() and renewer.lost is None
        with self._apis_lock:
            self._failures[shard] = self._failures.get(shard, 0) + 1 if failed else 0
            backoff = _backoff(self.poll, self._failures[shard])
            if failed and self.once:
                self._gave_up.add(shard)
        try:
            store.release_lease(renewer.lease, synced=done, retry_after=backoff)
        except StoreError as err:  # it expires on its own
            log.warning("worker %s: cannot release %s: %s", self.owner, shard, err)
        if error is not None:
            again = f"; no worker takes it for {backoff:g}s" if backoff else ""
            log.warning("worker %s: pass of %s ended: %s%s", self.owner, shard, error, again)
        result = ShardPass(
            shard, self.owner, report, events, error,
            started, datetime.now(UTC), time.monotonic() - clock,
        )  # fmt: skip
        with self._passes_lock:
            self.passes.append(result)
        if self._on_pass is not None:
            self._on_pass(result)

    def _drain(
        self, synchronizer: Synchronizer, settings: ShardConfig, check: Callable[[], None]
    ) -> int:
        """Handle the events waiting in the shard's queue (until a receive finds none)."""
        from registration_fsm.adapters.sqs import SqsEventSource
        from registration_fsm.sync.events import EventFollower

        assert settings.events_queue_url is not None
        with self._apis_lock:
            source = self._sources.get(settings.shard)
            if source is None:  # checks the queue once, not on every pass
                source = self._sources[settings.shard] = SqsEventSource(
                    settings.events_queue_url,
                    session=shard_session(settings),
                    region=settings.shard.region,
                    endpoint_url=settings.sqs_endpoint_url,
                    wait_seconds=0,
                )
        follower = EventFollower(
            synchronizer, account=settings.shard.account, region=settings.shard.region
        )
        while True:
            before = follower.stats.settled
            follower.run(source, once=True)
            check()
            if follower.stats.settled == before:
                return follower.stats.settled

    def _api(self, settings: ShardConfig) -> Any:
        with self._apis_lock:
            api = self._apis.get(settings.shard)
            if api is None:
                api = self._apis[settings.shard] = self._api_factory(settings)
            return api

    def _connect(self, settings: ShardConfig) -> Any:
        return connect(settings, self.config.defaults, quotas=self.quotas)


class _Renewer:
    """Renews a lease every third of its length in a thread; ``lost`` once it cannot."""

    def __init__(self, store: Any, lease: Lease, seconds: float) -> None:
        self.lease = lease
        self.lost: LeaseLost | None = None
        self._store = store
        self._seconds = seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"renew {lease.shard}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._seconds / 3):
            try:
                self.lease = self._store.renew_lease(self.lease, self._seconds)
            except LeaseLost as err:
                self.lost = err
                return
            except StoreError as err:  # unreachable for now: the lease may still be ours
                log.warning("cannot renew the lease on %s: %s", self.lease.shard, err)


#: The longest a failing shard is left alone between two tries, in seconds.
MAX_BACKOFF = 300.0


def _backoff(poll: float, failures: int) -> float:
    """Seconds before a shard whose last ``failures`` passes failed is tried again."""
    return 0.0 if failures == 0 else min(MAX_BACKOFF, poll * 2 ** (failures - 1))


def _checked(store: Any) -> Any:
    if not isinstance(store, ShardedStore) or not isinstance(store, LeaseStore):
        raise InvalidArgumentType(
            f"a worker's store must keep shards and leases (PostgresStore, SQLiteStore), "
            f"got {shown(store)}"
        )
    return store
