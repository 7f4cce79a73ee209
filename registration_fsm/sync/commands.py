"""Commands: ask the local model first, then the API, then record its answer with who and why.

Each command runs in its registration's unit of work::

    with uow.lock(id):                          # this process's writers wait
        stored = tracked(id)                    # pulled first if the store has none
        refusals = stored.registration.refusals(...)   # CommandRefused: no request sent
        answer = send(...)                      # the one API request
        record(answer, attribution)             # diff + save, retried on a lost race

A ConflictError from the API re-pulls the registration and carries it
(``err.registration``), so the caller sees why the API said no.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from registration_fsm.domain.events import Origin, TransitionEvent, check_metadata
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LIFECYCLE, LifecyclePolicy
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import DELETE, Guard, Registration
from registration_fsm.domain.statuses import RegistrationStatus
from registration_fsm.domain.version import CREATE, RegistrationVersion, read_clock
from registration_fsm.errors import (
    ApiError,
    ApiUnavailable,
    CommandRefused,
    ConflictError,
    InternalServerError,
    NotFoundError,
    StoreError,
    UnsavedChange,
)
from registration_fsm.store.base import Intent, IntentStore, StoredRegistration
from registration_fsm.sync.pull import Attribution, Puller, _not_before
from registration_fsm.sync.reconcile import version_difference

_log = logging.getLogger(__name__)


class Commands(Puller):
    """A :class:`Puller` that also sends the customer's commands (see the module docstring)."""

    #: The lifecycle policy local checks use (``discard`` may name its own).
    policy: LifecyclePolicy = DEFAULT_POLICY

    def create(
        self,
        registration_type: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Registration:
        """CreateRegistration, then pull the new registration and return it.

        Its ``create`` event (version 1) carries ``actor``, ``reason`` and ``metadata``.
        """
        meta = check_metadata(metadata)
        result = self.api.create_registration(
            registration_type, client_token=client_token, tags=tags
        )
        registration_id = check_registration_id(result["RegistrationId"])
        attribution = Attribution(CREATE, 1, actor, reason, meta)
        with self.uow.lock(registration_id):
            remote, summary = self.describe_again(registration_id)
            diff = self.record(remote, summary, attribution)
        self._publish(diff.events)
        return self.get(registration_id)

    def submit(
        self,
        registration_id: str,
        *,
        aws_review: bool = False,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
    ) -> TransitionEvent:
        """SubmitRegistrationVersion on the current DRAFT (AWS_REVIEWING with ``aws_review``)."""
        return self._run(
            "submit", registration_id, actor, reason, metadata, guards, self.policy,
            aws_review=aws_review,
        )  # fmt: skip

    def create_version(
        self,
        registration_id: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
    ) -> TransitionEvent:
        """CreateRegistrationVersion: a new DRAFT on a closed current version."""
        return self._run(CREATE, registration_id, actor, reason, metadata, guards, self.policy)

    def discard(
        self,
        registration_id: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
        policy: LifecyclePolicy | None = None,
    ) -> TransitionEvent:
        """DiscardRegistrationVersion on the current version, if every check allows it."""
        chosen = self.policy if policy is None else policy
        return self._run("discard", registration_id, actor, reason, metadata, guards, chosen)

    def delete(
        self,
        registration_id: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        guards: Sequence[Guard] = (),
    ) -> TransitionEvent:
        """DeleteRegistration; the local registration is kept, DELETED, and the event says so."""
        return self._run(DELETE, registration_id, actor, reason, metadata, guards, self.policy)

    # -- one command --------------------------------------------------------

    def _run(
        self,
        trigger: str,
        registration_id: str,
        actor: str | None,
        reason: str | None,
        metadata: Mapping[str, str] | None,
        guards: Sequence[Guard],
        policy: LifecyclePolicy,
        **details: Any,
    ) -> TransitionEvent:
        reg_id = check_registration_id(registration_id)
        with self.uow.lock(reg_id):
            stored = self._tracked(reg_id)
            local = stored.registration
            refused = local.refusals(
                trigger, actor=actor, reason=reason, metadata=metadata, guards=guards,
                policy=policy, **details,
            )  # fmt: skip
            if refused:
                found = LIFECYCLE.trigger(trigger)
                raise CommandRefused(
                    trigger, refused, reason=found.conflict_reason, resource_id=reg_id
                )
            meta = check_metadata(metadata)
            intent = self._record_intent(trigger, local, actor, reason, meta)  # before any request
            try:
                answer = self._send(trigger, reg_id, details, intent)
            except (ApiUnavailable, InternalServerError):
                raise  # it may have happened: the intent stays for the next sync to find
            except ApiError:
                self._drop_intent(intent)  # refused: nothing happened
                raise
            resolves = () if intent is None else (intent,)
            try:
                if trigger == DELETE:
                    attribution = Attribution(DELETE, None, actor, reason, meta)
                    return self._record_delete(reg_id, attribution, resolves)
                version = RegistrationVersion.from_api(answer)
                attribution = Attribution(trigger, version.number, actor, reason, meta)
                if version.number <= local.current_version_number + 1:
                    local.adopt_version(version)  # our copy: the unit of work diffs the stored
                    diff = self.record(local, None, attribution, resolves)
                else:  # other writers made versions meanwhile: take the API's whole view
                    remote, summary = self.describe_again(reg_id)
                    diff = self.record(remote, summary, attribution, resolves)
            except StoreError as err:
                raise _unsaved(trigger, reg_id, answer, actor, reason, intent, err) from err
        self._publish(diff.events)
        return self._own_event(diff.events, attribution, stored, version)

    def _record_intent(
        self,
        trigger: str,
        local: Registration,
        actor: str | None,
        reason: str | None,
        metadata: Mapping[str, str],
    ) -> int | None:
        """Keep the command's intent before its request (None: the store keeps none). A
        store that cannot be written raises here, so nothing is sent."""
        if not isinstance(self.store, IntentStore):
            return None
        number: int | None = local.current_version_number
        if trigger == CREATE:
            number = local.current_version_number + 1
        elif trigger == DELETE:
            number = None
        operation = LIFECYCLE.trigger(trigger).operation or trigger
        at = read_clock(self.clock)
        intent = Intent(local.id, trigger, operation, number, actor, reason, metadata, at)
        return self.store.record_intent(intent)

    def _drop_intent(self, intent: int | None) -> None:
        """The API refused the command: its intent claims nothing."""
        self.resolve_intents(() if intent is None else (intent,))

    def _tracked(self, registration_id: str) -> StoredRegistration:
        """The stored registration, pulled from the API first if the store has none."""
        stored = self.store.get(registration_id)
        if stored is not None:
            return stored
        report = self._sync([registration_id], True, None, parallel=False)
        if report.not_found:
            raise NotFoundError(
                f"registration {registration_id} does not exist on the API",
                resource_id=registration_id,
            )
        for failed, message in report.failed.items():
            raise ApiError(f"pull of {failed} failed: {message}")
        stored = self.store.get(registration_id)
        assert stored is not None  # pulled just now
        return stored

    def _send(
        self,
        trigger: str,
        registration_id: str,
        details: Mapping[str, Any],
        intent: int | None = None,
    ) -> dict[str, Any]:
        """The API request that fires ``trigger``. A ConflictError drops ``intent`` (the
        change did not happen: the re-pull must not claim another's change for it),
        re-pulls the registration and is raised again carrying it (``registration``;
        None if the re-pull failed)."""
        try:
            if trigger == "submit":
                return self.api.submit_registration_version(
                    registration_id, aws_review=bool(details.get("aws_review"))
                )
            if trigger == CREATE:
                return self.api.create_registration_version(registration_id)
            if trigger == "discard":
                return self.api.discard_registration_version(registration_id)
            if trigger == DELETE:
                return self.api.delete_registration(registration_id)
        except ConflictError as conflict:
            self._drop_intent(intent)
            raise ConflictError(
                conflict.message,
                reason=conflict.reason,
                resource_type=conflict.resource_type,
                resource_id=conflict.resource_id,
                request_id=conflict.request_id,
                operation=conflict.operation,
                registration=self._repull(registration_id),
            ) from conflict
        raise AssertionError(f"no API operation fires {trigger!r}")  # pragma: no cover

    def _repull(self, registration_id: str) -> Registration | None:
        """The registration pulled afresh after a conflict, or None (logged) if that failed."""
        try:
            report = self._sync([registration_id], True, None, parallel=False)
            if report.ok:
                return self.get(registration_id)
            _log.warning("re-pull of %s after a conflict failed: %s", registration_id, report)
        except Exception as err:  # the conflict is the news; a failed re-pull is logged
            _log.warning("re-pull of %s after a conflict failed: %s", registration_id, err)
        return None

    def _record_delete(
        self, registration_id: str, attribution: Attribution, resolves: Sequence[int] = ()
    ) -> TransitionEvent:
        for tx in self.uow.attempts(registration_id):
            with tx:
                local = tx.registration
                if local is None or local.status == RegistrationStatus.DELETED:
                    # Another writer (a sync elsewhere) recorded it first, as a remote event.
                    return attribution.apply(self._recorded_delete(registration_id))
                event = local.fire(
                    DELETE,
                    actor=attribution.actor,
                    reason=attribution.reason,
                    metadata=attribution.metadata,
                    clock=_not_before(self.clock, local),
                )
                tx.save(local, [event], resolves=resolves)
                unresolved = tx.unresolved
        self.resolve_intents(unresolved)
        self._publish([event])
        return event

    def _recorded_delete(self, registration_id: str) -> TransitionEvent:
        """The delete event another writer (a sync in another process) saved first.

        Like :meth:`_own_event`, the caller gets it told as its own command's."""
        told: list[TransitionEvent] = list(self.store.events(registration_id))
        for event in told[::-1]:
            if event.trigger == DELETE and event.version_number is None:
                return event
        raise ApiError(f"registration {registration_id} was deleted, but no event records it")

    def _own_event(
        self,
        events: Sequence[TransitionEvent],
        attribution: Attribution,
        stored: StoredRegistration,
        version: RegistrationVersion,
    ) -> TransitionEvent:
        mine = [e for e in events if attribution.claims(e)]
        if not mine:  # another process's sync saved the change first (as a remote event)
            before = stored.registration.versions.get(version.number)
            told = version_difference(before, version, origin=Origin.REMOTE).events
            mine = [attribution.apply(e) for e in told if attribution.claims(e)]
        if not mine:
            raise ApiError(
                f"the API answered {attribution.trigger!r} with v{version.number} "
                f"in {version.status}, which no {attribution.trigger} explains",
                operation=LIFECYCLE.trigger(attribution.trigger).operation,
            )
        return mine[-1]


def _unsaved(
    trigger: str,
    registration_id: str,
    answer: Mapping[str, Any],
    actor: str | None,
    reason: str | None,
    intent: int | None,
    err: StoreError,
) -> UnsavedChange:
    """The error of a command the API carried out and the store did not record."""
    operation = LIFECYCLE.trigger(trigger).operation or trigger
    if trigger == DELETE:
        remote = f"registration {registration_id} is {answer.get('RegistrationStatus')}"
    else:
        remote = (
            f"registration {registration_id} v{answer.get('VersionNumber')} is "
            f"{answer.get('RegistrationVersionStatus')}"
        )
    who = f"actor {actor or '-'}, reason {reason or '-'}"
    kept = (
        f"its intent ({who}) is kept: the next sync records the change with it"
        if intent is not None
        else "the next sync records the change, without who and why"
    )
    return UnsavedChange(
        f"{operation} succeeded on the API ({remote}), but saving it locally failed: {err}; {kept}",
        operation=operation,
        intent_id=intent,
    )
