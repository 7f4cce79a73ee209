"""Synchronizer: local registrations that follow an API — pulling, commands, following.

The jobs live in their own modules: :mod:`.pull` (pull and reconcile),
:mod:`.commands` (the customer's commands, each in a :mod:`.unit_of_work`),
:mod:`.follow` (what ``wait_for`` waits for; which registration an event names).
This class puts them together and adds the two following methods.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LifecyclePolicy
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import Shard
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.version import Clock
from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    StatusUnreachable,
    WaitTimeout,
    shown,
)
from registration_fsm.ports import RegistrationApi
from registration_fsm.store.base import Store
from registration_fsm.sync.commands import Commands
from registration_fsm.sync.follow import Wanted, check_seconds, registration_id_of
from registration_fsm.sync.report import SyncReport


class Synchronizer(Commands):
    """Local registrations that follow an API, and the commands sent to it.

    Args:
        api: any :class:`~registration_fsm.ports.RegistrationApi` (boto3, the emulator...).
        store: where local state lives (default: a new :class:`~registration_fsm.MemoryStore`).
        concurrency: DescribeRegistrationVersions requests in flight at once (1..64).
        page_size: MaxResults for the describe calls (1..100).
        retries_on_stale: how often a save that lost to another writer is redone.
        policy: the :class:`~registration_fsm.LifecyclePolicy` of the local checks.
        clock: the time changes the API does not date are seen at (default: now).
        field_values: when field values are read: ``"submitted"`` (once, when a sync
            sees a version leave DRAFT: the evidence of what was submitted), ``"all"``
            (also older closed versions whose values the store lacks: a backfill),
            ``"drafts"`` (also the current DRAFT's on every pull of it) or ``"off"``;
            see :class:`.pull.Puller`.
        shard: the account and region synced (default: the API's); the store is
            then used through its view of that shard (see :class:`.pull.Puller`).

    Reading: :meth:`get`, :meth:`registrations`, :meth:`subscribe`. Pulling:
    :meth:`sync`. Commands: :meth:`create`, :meth:`submit`, :meth:`create_version`,
    :meth:`discard`, :meth:`delete`. Following: :meth:`wait_for`, :meth:`handle_event`.
    """

    def __init__(
        self,
        api: RegistrationApi,
        store: Store | None = None,
        *,
        concurrency: int = 8,
        page_size: int = 100,
        retries_on_stale: int = 3,
        policy: LifecyclePolicy = DEFAULT_POLICY,
        clock: Clock | None = None,
        field_values: str = "submitted",
        shard: Shard | None = None,
    ) -> None:
        super().__init__(
            api,
            store,
            concurrency=concurrency,
            page_size=page_size,
            retries_on_stale=retries_on_stale,
            clock=clock,
            field_values=field_values,
            shard=shard,
        )
        if not isinstance(policy, LifecyclePolicy):
            raise InvalidArgumentType(f"policy must be a LifecyclePolicy, got {shown(policy)}")
        self.policy = policy

    def wait_for(
        self,
        registration_id: str,
        statuses: Collection[RegistrationStatus | VersionStatus | str],
        *,
        timeout: float = 600.0,
        poll: float = 5.0,
        backoff: float = 1.5,
        max_poll: float = 60.0,
        jitter: float = 0.1,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Registration:
        """Sync ``registration_id`` until it reaches one of ``statuses``; return it.

        A RegistrationStatus matches the registration's status, a VersionStatus the
        current version's, a plain string either. Polls start at ``poll`` seconds and
        grow by ``backoff`` up to ``max_poll``, each varied by ±``jitter``. Every poll
        is a sync of that registration, so its events are applied and saved: one
        DescribeRegistrations, and DescribeRegistrationVersions only when the summary
        changed or cannot show the change awaited (a REVIEWING version's, say).

        Raises at once :class:`NotFoundError` when the API does not know the id and
        :class:`StatusUnreachable` when the current version can no longer reach any
        status wanted (a DISCARDED version will never be APPROVED); after
        ``timeout``, :class:`WaitTimeout` naming the last status seen.
        """
        reg_id = check_registration_id(registration_id)
        wanted = Wanted.of(statuses)
        check_seconds(timeout=timeout, poll=poll, max_poll=max_poll)
        if not isinstance(backoff, int | float) or isinstance(backoff, bool) or backoff < 1:
            raise InvalidArgument(f"backoff must be a number >= 1, got {shown(backoff)}")
        if not isinstance(jitter, int | float) or isinstance(jitter, bool) or not 0 <= jitter < 1:
            raise InvalidArgument(f"jitter must be in [0, 1), got {shown(jitter)}")
        rng = random.Random(seed)
        start, delay = clock(), float(poll)
        last: Registration | None = None
        while True:
            # Incremental: a poll of an unchanged registration costs one request, not
            # two. A failed pull keeps the last state.
            report = self._sync([reg_id], False, None, parallel=False)
            if report.not_found:
                raise NotFoundError(f"registration {reg_id} does not exist", resource_id=reg_id)
            if self.store.get(reg_id) is not None:
                last = self.get(reg_id)
                if wanted.matched_by(last):
                    return last
                if not wanted.reachable_from(last):
                    raise StatusUnreachable(
                        reg_id, wanted.names, f"{last.status} (v{last.current_version_number} "
                        f"{last.current_version.status})",
                    )  # fmt: skip
            waited = clock() - start
            if waited >= timeout:
                raise WaitTimeout(
                    reg_id,
                    wanted.names,
                    waited,
                    None if last is None else str(last.status),
                    None if last is None else str(last.current_version.status),
                )
            pause = min(delay, max_poll) * (1 + rng.uniform(-jitter, jitter))
            sleep(max(0.0, min(pause, timeout - waited)))
            delay = min(delay * backoff, max_poll)

    def handle_event(self, event: Mapping[str, Any]) -> SyncReport:
        """Re-sync just the registration an EventBridge event names; return the report.

        The id comes from ``resources`` (a registration ARN) or ``detail``. An event
        naming no registration raises :class:`InvalidEvent` — never a full sync.
        Described whatever its summary says (the event says it changed), and with no
        checkpoint: each event reads the API afresh.
        """
        return self._sync([registration_id_of(event)], True, None, parallel=False)
