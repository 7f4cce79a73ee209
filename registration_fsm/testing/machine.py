"""RegistrationLifecycleMachine: a hypothesis state machine over any RegistrationApi.

It drives an API (default: a fresh in-memory emulator per example) through every
customer command and AWS-side event, keeps a :class:`~registration_fsm.sync.Synchronizer`
in step, and after every step checks that each local registration equals what
the API describes (``Registration.from_api``) and that every invariant holds.
Rules apply only where the local model says they are legal; other rules try
illegal commands and expect the typed refusal (a local refusal must cost no
request). It counts the lifecycle edges the synchronizer's events took across
every example of a run, and at the end fails (or warns) if a required edge was
never exercised.

::

    from hypothesis import settings
    from registration_fsm.testing import RegistrationLifecycleMachine

    class Lifecycle(RegistrationLifecycleMachine):
        pass

    Lifecycle.TestCase.settings = settings(max_examples=40, stateful_step_count=40)
    TestLifecycle = Lifecycle.TestCase        # collected by pytest or unittest

    # or, in a plain test function:
    report = Lifecycle.run(settings=settings(max_examples=40, stateful_step_count=40))

See ``docs/testing.md`` for plugging in another adapter and adding rules,
guards and invariants.
"""

from __future__ import annotations

import functools
import unittest
import warnings
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.lifecycle import (
    LIFECYCLE,
    LifecyclePolicy,
    Move,
    RegistrationEdge,
)
from registration_fsm.domain.registration import Guard, GuardContext, Registration, guard_name
from registration_fsm.domain.statuses import (
    RegistrationStatus,
    VersionStatus,
)
from registration_fsm.domain.version import CREATE
from registration_fsm.domain.walk import NEW_REGISTRATION, RegistrationState
from registration_fsm.errors import CommandRefused, ConflictError, CoverageError, NotFoundError
from registration_fsm.ports import RegistrationApi
from registration_fsm.sync import Synchronizer, SyncReport
from registration_fsm.testing.conformance import ConformanceTarget
from registration_fsm.testing.coverage import (
    CoveragePolicy,
    CoverageReport,
    LifecycleCoverage,
    LifecycleCoverageWarning,
    check_policy,
    check_required_edges,
)

__all__ = ["LifecycleTestCase", "MachineClock", "RegistrationLifecycleMachine"]

#: The customer's commands the machine sends through the synchronizer (by trigger).
COMMANDS: tuple[str, ...] = ("submit", CREATE, "discard")

_DENIED_REASONS = [
    {"Reason": "INVALID_BRAND", "ShortDescription": "The brand could not be verified."}
]


class MachineClock:
    """A deterministic clock: ``start`` (2020-01-01 UTC) plus one second per reading.

    It starts in the past on purpose: recorded times must not be in the future of
    the clocks that read them.
    """

    def __init__(self, start: datetime = datetime(2020, 1, 1, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


TargetSource = ConformanceTarget | AbstractContextManager[ConformanceTarget]

_COVERAGE: weakref.WeakKeyDictionary[type[Any], LifecycleCoverage] = weakref.WeakKeyDictionary()


def machine_refusal(ctx: GuardContext) -> str | None:
    """The guard the machine adds to check that a guard's refusal costs no request."""
    return f"the machine refuses to discard v{ctx.version.number}"


class LifecycleTestCase(unittest.TestCase):
    """The base of every ``Machine.TestCase``: ``runTest`` is ``Machine.run(settings=...)``,
    so the run's lifecycle coverage is checked once, after the run."""

    machine: ClassVar[type[RegistrationLifecycleMachine]]
    settings: ClassVar[Settings] = Settings(deadline=None, suppress_health_check=list(HealthCheck))

    def runTest(self) -> None:
        self.machine.run(settings=self.settings)


class RegistrationLifecycleMachine(RuleBasedStateMachine):
    """Drive a RegistrationApi through the lifecycle; check local == remote after every step.

    Class attributes to override in a subclass:

    - ``coverage_policy``: ``"fail"`` (default), ``"warn"`` or ``"off"``: what the
      end of a run does when a required edge was never exercised;
    - ``required_edges``: the edges a run must reach (None: every version edge the
      ``policy`` allows and every registration edge a registration can reach under
      it, a disabled trigger's included);
    - ``policy``: the :class:`LifecyclePolicy` of the local checks, the predictions
      and the default emulator (default ``LifecyclePolicy.permissive()``, so every
      optional edge is reachable; ``.with_provisioning(type)`` drives PROVISIONING
      and ``complete_provisioning`` too); edges it leaves off are never driven nor
      required;
    - ``discard_guards``: your own guards, run on every discard;
    - ``disabled_triggers``: lifecycle triggers never fired (``"create"`` stops
      new versions, not new registrations);
    - ``max_registrations``: live registrations at once (default 3);
    - ``max_versions``: versions per registration (default 5): keeps steps cheap;
    - ``full_sync``: pull with ``full=True`` (default). The API's registration
      summary does not change on REVIEWING -> REQUIRES_OFFLINE_REVIEW, so an
      incremental sync cannot see that step;
    - ``sync_after_commands``: pull after each command before comparing (for APIs
      whose registration status moves on its own, such as PROVISIONING);
    - ``actor``: the actor named on commands.

    Methods to override: :meth:`make_target` (the API and its ``advance`` hook),
    :meth:`make_synchronizer`.
    """

    coverage_policy: ClassVar[CoveragePolicy] = "fail"
    required_edges: ClassVar[frozenset[Move] | None] = None
    policy: ClassVar[LifecyclePolicy] = LifecyclePolicy.permissive()
    discard_guards: ClassVar[tuple[Guard, ...]] = ()
    disabled_triggers: ClassVar[frozenset[str]] = frozenset()
    max_registrations: ClassVar[int] = 3
    max_versions: ClassVar[int] = 5
    full_sync: ClassVar[bool] = True
    sync_after_commands: ClassVar[bool] = False
    actor: ClassVar[str] = "machine"

    #: A unittest.TestCase running this machine (made for every subclass).
    TestCase: type[LifecycleTestCase]  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TestCase = _test_case(cls)

    #: Ids of the live (not deleted) registrations.
    registrations = Bundle("registrations")

    def __init__(self) -> None:
        super().__init__()
        self._exit = ExitStack()
        try:
            self.target: ConformanceTarget = self._exit.enter_context(_enter(self.make_target()))
            self.api: RegistrationApi = self.target.api
            self.synchronizer = self.make_synchronizer(self.api)
        except BaseException:
            self._exit.close()
            raise
        self.coverage = type(self).lifecycle_coverage()
        self.coverage.start_example()
        self.synchronizer.subscribe(self._observe)
        #: Live registration ids, oldest first; and deleted ones.
        self.live: list[str] = []
        self.deleted: list[str] = []
        self._local: dict[str, Registration] = {}
        self._moves: dict[str, tuple[Move, ...]] = {}
        self._refused: dict[str, tuple[str, ...]] = {}
        self._unexplained: list[TransitionEvent] = []

    # -- hooks ------------------------------------------------------------

    def make_target(self) -> TargetSource:
        """The API under test and its ``advance`` hook (a context manager is entered, then
        exited at teardown). Default: a fresh seeded emulator with a :class:`MachineClock`."""
        from registration_fsm.emulator import EmulatedRegistrationApi

        emulator = EmulatedRegistrationApi(seed=0, clock=MachineClock(), policy=self.policy)
        return ConformanceTarget(api=emulator, advance=emulator.advance, name="emulator")

    def make_synchronizer(self, api: RegistrationApi) -> Synchronizer:
        """The synchronizer under test (default: in memory, one request at a time)."""
        return Synchronizer(api, concurrency=1, policy=self.policy)

    def teardown(self) -> None:
        """Exit the target's context (a served emulator stops here)."""
        self._exit.close()

    # -- coverage (class level, across every example of a run) -------------

    @classmethod
    def lifecycle_coverage(cls) -> LifecycleCoverage:
        """This class's accumulator: every example of a run adds to it."""
        found = _COVERAGE.get(cls)
        if found is None:
            found = _COVERAGE[cls] = LifecycleCoverage()
        return found

    @classmethod
    def reset_coverage(cls) -> None:
        """Forget what earlier runs reached (:meth:`run` does this first)."""
        cls.lifecycle_coverage().reset()

    @classmethod
    def coverage_report(cls) -> CoverageReport:
        """What the examples so far reached, against ``required_edges``."""
        return cls.lifecycle_coverage().report(cls._required())

    @classmethod
    def _required(cls) -> frozenset[Move]:
        """``required_edges``, else every version edge the ``policy`` allows and every
        registration edge a new registration reaches under it.

        A disabled trigger's edges stay required: a suite that stops firing one
        fails its coverage check rather than passing silently.
        """
        if cls.required_edges is not None:
            return frozenset(cls.required_edges)
        own = LIFECYCLE.reachable_registration_edges(
            provisions=cls.policy.provisioning_choices, usable=cls.policy.allows
        )
        return frozenset((*(e for e in LIFECYCLE if cls.policy.allows(e)), *own))

    @classmethod
    def check_coverage(cls, policy: CoveragePolicy | None = None) -> CoverageReport:
        """Apply ``policy`` (default ``coverage_policy``) to the coverage so far.

        ``"fail"`` raises :class:`CoverageError` (an AssertionError) naming every
        required edge never exercised; ``"warn"`` emits a
        :class:`LifecycleCoverageWarning`; ``"off"`` only returns the report.
        """
        chosen = check_policy(cls.coverage_policy if policy is None else policy)
        report = cls.coverage_report()
        if not report.ok and chosen == "fail":
            raise CoverageError(report)
        if not report.ok and chosen == "warn":
            warnings.warn(str(report), LifecycleCoverageWarning, stacklevel=2)
        return report

    @classmethod
    def run(cls, *, settings: Settings | None = None) -> CoverageReport:
        """Run the machine as a test, then check the run's coverage; returns the report.

        ``settings`` default to ``cls.TestCase.settings``. Coverage is reset first
        and accumulated over every example; it is checked once, after the run.
        """
        check_policy(cls.coverage_policy)
        check_required_edges(cls._required())
        cls.reset_coverage()
        run_state_machine_as_test(
            cls, settings=settings if settings is not None else cls.TestCase.settings
        )
        return cls.check_coverage()

    def _observe(self, event: TransitionEvent) -> None:
        if event.anomaly is not None:  # failed by the next check, not inside the sync
            self._unexplained.append(event)
        self.coverage.record(event)

    # -- reading the local model -------------------------------------------

    def local(self, registration_id: str) -> Registration:
        """The local registration as of the last check (a copy: changing it changes nothing)."""
        return self._local[registration_id]

    def moves(self, registration_id: str) -> tuple[Move, ...]:
        """The edges a live registration can take now, as of the last check."""
        return self._moves[registration_id]

    def legal_moves(self, registration: Registration) -> tuple[Move, ...]:
        """Every edge the local model allows now (the versions', then the registration's
        own): customer commands, then AWS's side."""
        out: list[Move] = []
        off = self.disabled_triggers
        current = registration.current_version
        for edge in LIFECYCLE:
            if edge.trigger in off or not self._usable(edge):
                continue
            if edge.source is None:
                room = len(registration.versions) < self.max_versions
                if room and not registration.refusals(CREATE, policy=self.policy):
                    out.append(edge)
                continue
            target = current if edge.trigger in LIFECYCLE.allowed(current.status) else None
            if edge.trigger in ("revoke", "archive"):
                target = _approved(registration)
            if target is None or target.status != edge.source:
                continue
            if not registration.refusals(edge.trigger, policy=self.policy, **_details(edge)):
                out.append(edge)
        for own in LIFECYCLE.registration_edges_from(registration.status):
            alone = own.trigger in LIFECYCLE.registration_allowed(registration.status)
            usable = alone and own.trigger not in off and self._usable(own)
            if usable and not registration.refusals(own.trigger, policy=self.policy):
                out.append(own)
        return tuple(sorted(out, key=_command_first))

    def _usable(self, edge: Move) -> bool:
        return edge.trigger not in self.disabled_triggers and self.policy.allows(edge)

    def _drivable_edges(self) -> list[Move]:
        return _drivable_edges(self.disabled_triggers, self.policy)

    def plan(self, registration: Registration, edge: Move) -> list[Move] | None:
        """Moves that take ``registration`` through ``edge``, or None.

        The shortest chain of moves (version edges, new versions, the registration's
        own edges: :meth:`Lifecycle.registration_plan`); for ``provision``, the approval
        it comes with. None for an edge the ``policy`` leaves off, whose trigger is
        disabled, or that needs more than ``max_versions`` versions.
        """
        if not self._usable(edge):
            return None
        provisions = self.policy.provisions(registration.type)
        found = _plan(_state(registration), edge, provisions, self.disabled_triggers, self.policy)
        if found is None:
            return None
        opened = sum(1 for move in found if move == LIFECYCLE.initial)
        return None if len(registration.versions) + opened > self.max_versions else list(found)

    def _with_moves(self, kind: str) -> list[str]:
        return [i for i in self.live if any(_kind(m) == kind for m in self._moves.get(i, ()))]

    def refused_commands(self, registration: Registration) -> tuple[str, ...]:
        """The customer commands the lifecycle refuses now (whatever the caps and switches)."""
        out: list[str] = []
        if all(
            registration.refusals("submit", aws_review=r, policy=self.policy) for r in (False, True)
        ):
            out.append("submit")
        if registration.refusals(CREATE, policy=self.policy):
            out.append(CREATE)
        if registration.refusals("discard", policy=self.policy):
            out.append("discard")
        return tuple(out)

    def _refusable(self) -> list[tuple[str, str]]:
        return [(i, c) for i in self.live for c in self._refused.get(i, ())]

    def _refusable_aws(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        every = (*LIFECYCLE.aws_triggers, *LIFECYCLE.registration_aws_triggers)
        for reg_id in self.live:
            legal = {m.trigger for m in self._moves.get(reg_id, ()) if _kind(m) == "aws"}
            out.extend(
                (reg_id, t) for t in every if t not in legal and t not in self.disabled_triggers
            )
        return out

    # -- checks -------------------------------------------------------------

    def pull(self, registration_id: str) -> SyncReport:
        """Sync one registration (``full=full_sync``); the sync must be clean."""
        report = self.synchronizer.sync([registration_id], full=self.full_sync)
        _assert_clean(report)
        return report

    def remote(self, registration_id: str) -> Registration:
        """The registration as the API describes it now."""
        (info,) = self.api.describe_registrations(registration_ids=[registration_id])
        versions = list(self.api.describe_registration_versions(registration_id))
        return Registration.from_api(info, versions)

    def check_registration(self, registration_id: str) -> Registration:
        """Local equals remote for one registration, every invariant holds; refreshes caches."""
        unexplained = [e.describe() for e in self._unexplained]
        assert not unexplained, f"the sync saved jumps no legal path explains: {unexplained}"
        remote = self.remote(registration_id)
        local = self.synchronizer.get(registration_id)
        _assert_same(local, remote)
        assert remote.anomalies == (), f"the API's data is inconsistent: {remote.anomalies}"
        assert local.invariant_violations() == [], local.invariant_violations()
        for version in local.versions.values():
            assert version.anomalies == (), f"v{version.number}: {version.anomalies}"
        self._local[registration_id] = local
        self._moves[registration_id] = self.legal_moves(local)
        self._refused[registration_id] = self.refused_commands(local)
        self.coverage.record_registration_status(local.status)
        return local

    @invariant()
    def local_matches_remote(self) -> None:
        """After every step: each live registration is the same locally and remotely."""
        for reg_id in self.live:
            self.check_registration(reg_id)

    # -- applying moves ---------------------------------------------------------

    def apply(self, data: st.DataObject, registration_id: str, edge: Move) -> bool:
        """Take a legal edge; check the outcome against the local model's prediction.

        Returns False when one of your ``discard_guards`` refused (nothing changed).
        """
        if _kind(edge) == "delete":
            self._delete(registration_id)
            return True
        before = self._local[registration_id]
        expected = _predict(before, edge, self.policy)
        if _kind(edge) == "aws":
            details: dict[str, Any] = {}
            if edge.trigger == "deny":
                details = data.draw(_DENY_DETAILS, label="deny details")
            try:
                self.target.advance(registration_id, edge.trigger, **details)
            except (CommandRefused, ConflictError) as refused:
                raise AssertionError(
                    f"the local policy allowed {edge}, the API refused it: {refused}"
                ) from refused
            self.pull(registration_id)
        elif self._command(data, registration_id, edge):
            if self.sync_after_commands:
                self.pull(registration_id)
        else:
            expected = _statuses(before)  # refused by one of your guards
        after = self.check_registration(registration_id)
        got = {n: v.status for n, v in after.versions.items()}
        assert got == expected, f"{edge} on {_statuses(before)}: expected {expected}, got {got}"
        return (after.status, got) != (before.status, _statuses(before))

    def _command(self, data: st.DataObject, registration_id: str, edge: Move) -> bool:
        """Send the command that takes ``edge`` through the synchronizer; False if a user
        guard refused it. The API refusing what the local model allowed fails, saying so."""
        sync, local = self.synchronizer, self._local[registration_id]
        try:
            if edge.trigger == "submit":
                review = edge.when == "aws_review"
                event = sync.submit(registration_id, aws_review=review, actor=self.actor)
                assert (event.trigger, event.dest) == ("submit", edge.dest), event
            elif edge.trigger == CREATE:
                event = sync.create_version(registration_id, actor=self.actor)
                assert event.version_number == local.current_version_number + 1, event
            else:
                reason = data.draw(st.sampled_from([None, "wrong EIN"]), label="reason")
                guards = self.discard_guards
                refusals = local.refusals(
                    "discard", actor=self.actor, reason=reason, guards=guards, policy=self.policy
                )
                if refusals:  # one of the user's guards refuses: no request may be sent
                    self._expect_local_refusal(
                        registration_id,
                        lambda: sync.discard(registration_id, actor=self.actor, reason=reason,
                                             guards=guards, policy=self.policy),
                        "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED",
                        [f.name for f in refusals],
                    )  # fmt: skip
                    return False
                event = sync.discard(
                    registration_id, actor=self.actor, reason=reason, guards=guards,
                    policy=self.policy,
                )  # fmt: skip
                assert event.dest == VersionStatus.DISCARDED, event
        except ConflictError as refused:
            version = local.current_version
            raise AssertionError(
                f"the local policy allowed {edge.trigger} of v{version.number} "
                f"({version.status}), the API refused it: {refused}"
            ) from refused
        assert event.actor == self.actor, event
        return True

    def _expect_local_refusal(
        self,
        registration_id: str,
        call: Callable[[], object],
        reason: str | None,
        guards: Sequence[str] | None = None,
    ) -> CommandRefused:
        """``call`` must raise :class:`CommandRefused` with ``reason`` and send no request."""
        calls = dict(self.api.calls)
        stored = self.synchronizer.get(registration_id)
        refusal = _refusal(call)
        assert isinstance(refusal, CommandRefused), (
            f"a command the local model refuses was not refused locally: {refusal!r}"
        )
        assert refusal.reason == reason, f"expected reason {reason}, got {refusal!r}"
        if guards is not None:
            assert [g.name for g in refusal.refusals] == list(guards), refusal
        assert dict(self.api.calls) == calls, (
            f"a local refusal made requests: {calls} -> {dict(self.api.calls)}"
        )
        assert self.synchronizer.get(registration_id) == stored, "a refusal changed local state"
        return refusal

    # -- rules ------------------------------------------------------------------

    def _create(self, registration_type: str) -> str:
        registration = self.synchronizer.create(registration_type)
        assert registration.status == RegistrationStatus.CREATED, registration.status
        assert _statuses(registration) == {1: VersionStatus.DRAFT}, _statuses(registration)
        self.live.append(registration.id)
        self.check_registration(registration.id)
        return registration.id

    @initialize(target=registrations)
    def first_registration(self) -> str:
        """Every run starts with one registration."""
        return self._create(self.target.registration_type)

    @precondition(lambda self: len(self.live) < self.max_registrations)
    @rule(target=registrations, which=st.sampled_from([0, 1]))
    def create_registration(self, which: int) -> str:
        """CreateRegistration (of one of the target's two registration types)."""
        return self._create(self.target.registration_types[which])

    @precondition(lambda self: bool(self._with_moves("submit")))
    @rule(data=st.data(), aws_review=st.booleans())
    def submit(self, data: st.DataObject, aws_review: bool) -> None:
        """SubmitRegistrationVersion on a DRAFT, with or without AWS review."""
        reg_id = data.draw(st.sampled_from(self._with_moves("submit")), label="registration")
        when = "aws_review" if aws_review else None
        edges = [m for m in self._moves[reg_id] if m.trigger == "submit" and m.when == when]
        if edges:
            self.apply(data, reg_id, edges[0])

    @precondition(lambda self: bool(self._with_moves(CREATE)))
    @rule(data=st.data())
    def create_version(self, data: st.DataObject) -> None:
        """CreateRegistrationVersion over a closed current version."""
        reg_id = data.draw(st.sampled_from(self._with_moves(CREATE)), label="registration")
        self.apply(data, reg_id, LIFECYCLE.initial)

    @precondition(lambda self: bool(self._with_moves("discard")))
    @rule(data=st.data())
    def discard(self, data: st.DataObject) -> None:
        """DiscardRegistrationVersion where the built-in guards allow it (yours may refuse)."""
        reg_id = data.draw(st.sampled_from(self._with_moves("discard")), label="registration")
        (edge,) = (m for m in self._moves[reg_id] if m.trigger == "discard")
        self.apply(data, reg_id, edge)

    @precondition(lambda self: bool(self._with_moves("aws")))
    @rule(data=st.data())
    def aws_event(self, data: st.DataObject) -> None:
        """One AWS-side event the lifecycle allows (review, authentication, outcomes)."""
        reg_id = data.draw(st.sampled_from(self._with_moves("aws")), label="registration")
        moves = [m for m in self._moves[reg_id] if _kind(m) == "aws"]
        self.apply(data, reg_id, data.draw(st.sampled_from(moves), label="event"))

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data(), steps=st.integers(1, 8))
    def walk(self, data: st.DataObject, steps: int) -> None:
        """Bias toward deep states: up to ``steps`` legal moves of one registration at once."""
        reg_id = data.draw(st.sampled_from(self.live), label="registration")
        for _ in range(steps):
            moves = self._moves.get(reg_id, ())  # none once deleted
            if not moves or not self.apply(data, reg_id, data.draw(st.sampled_from(moves))):
                return

    @rule(target=registrations, data=st.data())
    def drive(self, data: st.DataObject) -> MultipleResults[str]:
        """Bias toward deep states and every edge, in one step: draw some lifecycle edges and
        take registrations along legal paths through each (in lifecycle order), opening new
        versions, or a new registration when none can take an edge."""
        every = self._drivable_edges()
        order = data.draw(st.permutations(every), label="edges")
        count = data.draw(st.integers(1, len(every)), label="how many")
        created: list[str] = []
        for edge in sorted(order[:count], key=_depth):
            plans = {i: p for i in self.live if (p := self.plan(self._local[i], edge))}
            if not plans and len(self.live) < self.max_registrations:
                created.append(self._create(self._type_for(edge)))
                plans = {created[-1]: self.plan(self._local[created[-1]], edge) or []}
            if not plans:
                continue
            reg_id = min(plans, key=lambda i: (len(plans[i]), self.live.index(i)))
            for move in plans[reg_id]:
                assert move in self._moves[reg_id], (
                    f"the lifecycle table allows {move} from {_statuses(self._local[reg_id])}, "
                    f"the registration does not (it allows {[str(m) for m in self._moves[reg_id]]})"
                )
                if not self.apply(data, reg_id, move):
                    break
        return multiple(*created)

    @precondition(lambda self: bool(self._refusable()))
    @rule(data=st.data(), through=st.sampled_from(["synchronizer", "api"]))
    def refused_command(self, data: st.DataObject, through: str) -> None:
        """A command the lifecycle forbids now: refused locally (no request) or by the API."""
        reg_id, command = data.draw(st.sampled_from(self._refusable()), label="command")
        reason = LIFECYCLE.trigger(command).conflict_reason
        if through == "synchronizer":
            calls: dict[str, Callable[[], object]] = {
                "submit": lambda: self.synchronizer.submit(reg_id, actor=self.actor),
                CREATE: lambda: self.synchronizer.create_version(reg_id),
                "discard": lambda: self.synchronizer.discard(reg_id, policy=self.policy),
            }
            self._expect_local_refusal(reg_id, calls[command], reason)
            return
        api_calls: dict[str, Callable[[], object]] = {
            "submit": lambda: self.api.submit_registration_version(reg_id),
            CREATE: lambda: self.api.create_registration_version(reg_id),
            "discard": lambda: self.api.discard_registration_version(reg_id),
        }
        refusal = _refusal(api_calls[command])
        assert refusal is not None, (
            f"the API accepted {command} on {_statuses(self._local[reg_id])}"
        )
        assert refusal.reason == reason, f"{command}: expected reason {reason}, got {refusal!r}"

    @precondition(lambda self: bool(self._refusable_aws()))
    @rule(data=st.data())
    def refused_aws_event(self, data: st.DataObject) -> None:
        """An AWS-side event the lifecycle forbids now: ``advance`` refuses, nothing changes."""
        reg_id, trigger = data.draw(st.sampled_from(self._refusable_aws()), label="event")
        try:
            self.target.advance(reg_id, trigger)
        except (CommandRefused, ConflictError):
            pass
        else:
            raise AssertionError(f"advance accepted {trigger} on {_statuses(self._local[reg_id])}")
        assert not self.pull(reg_id).events, "a refused AWS-side event changed the registration"

    @precondition(lambda self: bool(self._with_moves("discard")))
    @rule(data=st.data())
    def discard_refused_by_guard(self, data: st.DataObject) -> None:
        """A discard the lifecycle allows but a user guard refuses: no request is sent."""
        reg_id = data.draw(st.sampled_from(self._with_moves("discard")), label="registration")
        guards = (*self.discard_guards, machine_refusal)
        local = self._local[reg_id]
        expected = [
            f.name
            for f in local.refusals(
                "discard", actor=self.actor, reason="refused", guards=guards, policy=self.policy
            )
        ]
        assert expected[-1:] == [guard_name(machine_refusal)], expected
        self._expect_local_refusal(
            reg_id,
            lambda: self.synchronizer.discard(
                reg_id,
                actor=self.actor,
                reason="refused",
                guards=guards,
                policy=self.policy,
            ),
            "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED",
            expected,
        )

    @rule(reg_id=consumes(registrations))
    def delete(self, reg_id: str) -> None:
        """DeleteRegistration: DELETED locally; gone (or DELETED) remotely."""
        if reg_id in self.live:  # else ``drive`` deleted it already
            self._delete(reg_id)

    def _type_for(self, edge: Move) -> str:
        """The target's first registration type a new registration can take ``edge`` in."""
        for reg_type in self.target.registration_types:
            provisions = self.policy.provisions(reg_type)
            if _plan(NEW_REGISTRATION, edge, provisions, self.disabled_triggers, self.policy):
                return reg_type
        return self.target.registration_type

    def _delete(self, reg_id: str) -> None:
        event = self.synchronizer.delete(reg_id, actor=self.actor)
        assert (event.trigger, event.dest, event.actor) == (
            "delete",
            RegistrationStatus.DELETED,
            self.actor,
        ), event
        assert self.synchronizer.get(reg_id).status == RegistrationStatus.DELETED
        self._assert_gone(reg_id)
        self.live.remove(reg_id)
        self.deleted.append(reg_id)
        self._local.pop(reg_id, None)
        self._moves.pop(reg_id, None)
        self._refused.pop(reg_id, None)

    @precondition(lambda self: bool(self.deleted))
    @rule(
        data=st.data(),
        command=st.sampled_from([*COMMANDS, "delete"]),
        through=st.sampled_from(["synchronizer", "api"]),
    )
    def command_on_deleted(self, data: st.DataObject, command: str, through: str) -> None:
        """Any command on a deleted registration: refused locally at no cost, or by the API."""
        reg_id = data.draw(st.sampled_from(self.deleted), label="deleted registration")
        if through == "synchronizer":
            sync = self.synchronizer
            calls: dict[str, Callable[[], object]] = {
                "submit": lambda: sync.submit(reg_id),
                CREATE: lambda: sync.create_version(reg_id),
                "discard": lambda: sync.discard(reg_id, policy=self.policy),
                "delete": lambda: sync.delete(reg_id),
            }
            reason = LIFECYCLE.trigger(command).conflict_reason
            self._expect_local_refusal(reg_id, calls[command], reason)
            return
        api_calls: dict[str, Callable[[], object]] = {
            "submit": lambda: self.api.submit_registration_version(reg_id),
            CREATE: lambda: self.api.create_registration_version(reg_id),
            "discard": lambda: self.api.discard_registration_version(reg_id),
            "delete": lambda: self.api.delete_registration(reg_id),
        }
        try:
            api_calls[command]()
        except (NotFoundError, ConflictError):
            pass
        else:
            raise AssertionError(f"the API accepted {command} on deleted {reg_id}")
        self._assert_gone(reg_id)

    @rule()
    def sync_everything(self) -> None:
        """A sync of every registration changes nothing: each step was already pulled."""
        report = self.synchronizer.sync(full=self.full_sync)
        _assert_clean(report)
        assert not report.events, [e.describe() for e in report.events]

    def _assert_gone(self, reg_id: str) -> None:
        try:
            found = list(self.api.describe_registrations(registration_ids=[reg_id]))
        except NotFoundError:
            return
        statuses = [r.get("RegistrationStatus") for r in found]
        assert statuses == ["DELETED"], f"deleted {reg_id} is described as {statuses}"


# -- helpers ------------------------------------------------------------------------

_DENY_DETAILS: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {},
        {"denied_reasons": _DENIED_REASONS},
        {"feedback": "Add a privacy policy URL."},
        {"denied_reasons": _DENIED_REASONS, "feedback": "Add a privacy policy URL."},
    ]
)


def _enter(source: TargetSource) -> AbstractContextManager[ConformanceTarget]:
    if isinstance(source, ConformanceTarget):
        return nullcontext(source)
    if isinstance(source, AbstractContextManager):
        return source
    raise TypeError(
        f"make_target() must return a ConformanceTarget or a context manager, got {source!r}"
    )


def _kind(edge: Move) -> str:
    """The rule that takes ``edge``: its trigger for a customer command (or ``delete``),
    else "aws"."""
    return edge.trigger if edge.trigger in (*COMMANDS, "delete") else "aws"


def _command_first(edge: Move) -> int:
    return 0 if _kind(edge) != "aws" else 1


def _state(registration: Registration) -> RegistrationState:
    """What the registration status of ``registration`` depends on."""
    current = registration.current_version
    older = registration.approved_version_number not in (None, current.number)
    return RegistrationState(registration.status, current.status, current.number == 1, older)


def _details(edge: Move) -> dict[str, Any]:
    """The details that select ``edge`` among its trigger's edges."""
    return {} if edge.when is None else {edge.when: True}


def _approved(registration: Registration) -> Any:
    number = registration.approved_version_number
    return None if number is None else registration.versions[number]


def _test_case(cls: type[RegistrationLifecycleMachine]) -> type[LifecycleTestCase]:
    case = type(f"{cls.__name__}.TestCase", (LifecycleTestCase,), {"machine": cls})
    case.__qualname__ = f"{cls.__qualname__}.TestCase"
    case.__module__ = cls.__module__
    return case


def _depth(edge: Move) -> tuple[int, str, str]:
    """Lifecycle order: how far the edge's source is from a new version (the
    registration's own edges last)."""
    if isinstance(edge, RegistrationEdge):
        return (len(VersionStatus) + 1, edge.trigger, str(edge.dest))
    if edge.source is None:
        return (-1, edge.trigger, str(edge.dest))
    distance = LIFECYCLE.distance(VersionStatus.DRAFT, edge.source)
    return (0 if distance is None else distance, edge.trigger, str(edge.dest))


@functools.lru_cache(maxsize=65536)
def _plan(
    state: RegistrationState,
    goal: Move,
    provisions: bool,
    disabled: frozenset[str],
    policy: LifecyclePolicy,
) -> tuple[Move, ...] | None:
    """:meth:`Lifecycle.registration_plan`, remembered: plans depend on nothing else."""

    def usable(e: Move) -> bool:
        return e.trigger not in disabled and policy.allows(e)

    return LIFECYCLE.registration_plan(state, goal, provisions=provisions, usable=usable)


_DRIVABLE: dict[tuple[frozenset[str], LifecyclePolicy], list[Move]] = {}


def _drivable_edges(disabled: frozenset[str], policy: LifecyclePolicy) -> list[Move]:
    """Edges (the versions', then the registration's own a registration can reach) no
    disabled trigger or the policy rules out, in a stable order."""
    key = (disabled, policy)
    found = _DRIVABLE.get(key)
    if found is None:

        def usable(e: Move) -> bool:
            return e.trigger not in disabled and policy.allows(e)

        own = LIFECYCLE.reachable_registration_edges(
            provisions=policy.provisioning_choices, usable=usable
        )
        found = _DRIVABLE[key] = sorted(
            (*(e for e in LIFECYCLE if usable(e)), *own),
            key=lambda e: (
                isinstance(e, RegistrationEdge),
                "" if e.source is None else str(e.source),
                e.trigger,
                str(e.dest),
            ),
        )
    return found


def _refusal(call: Callable[[], object]) -> CommandRefused | ConflictError | None:
    """The refusal ``call`` raises (local or the API's), or None if it succeeds."""
    try:
        call()
    except (CommandRefused, ConflictError) as err:
        return err
    return None


def _statuses(registration: Registration) -> dict[int, VersionStatus]:
    return {n: v.status for n, v in registration.versions.items()}


def _predict(
    registration: Registration, edge: Move, policy: LifecyclePolicy
) -> dict[int, VersionStatus]:
    """The version statuses the local model predicts after taking ``edge`` under ``policy``."""
    copy = Registration.from_api(registration.to_api(), registration.versions_to_api())
    latest = copy.latest_time
    copy.fire(edge.trigger, clock=lambda: latest, policy=policy, **_details(edge))
    return _statuses(copy)


def _assert_clean(report: SyncReport) -> None:
    assert not report.failed, f"sync failed: {report.failed}"
    assert not report.anomalies, f"sync anomalies: {[str(a) for a in report.anomalies]}"


def _assert_same(local: Registration, remote: Registration) -> None:
    if local == remote:
        return
    lines = [f"local != remote for {remote.id}"]
    for key, value in remote.to_api().items():
        mine = local.to_api().get(key)
        if mine != value:
            lines.append(f"  {key}: local {mine!r}, remote {value!r}")
    for number in sorted(set(local.versions) | set(remote.versions)):
        a, b = local.versions.get(number), remote.versions.get(number)
        if a != b:
            lines.append(
                f"  v{number}: local {None if a is None else a.to_api()!r}, "
                f"remote {None if b is None else b.to_api()!r}"
            )
    raise AssertionError("\n".join(lines))
