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

Given the registration forms the target serves (``catalog``), it also drives the forms:
every submit first fills the form in (and makes the association the type needs before
submit), and form rules put valid and invalid values, delete values, upload files and
put them in ATTACHMENT fields, associate origination identities, and submit with fields
or the association missing. It keeps each version's expected field values, checks them
against DescribeRegistrationFieldValues after every step (a version's values never
change once it has left DRAFT), and counts the form actions taken beside the edges.

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
from typing import Any, ClassVar, NamedTuple, TypeVar, cast

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
from registration_fsm.domain.forms import (
    STRICT,
    Catalog,
    FieldType,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    Semantics,
    SupportedAssociation,
    check_form,
    check_value,
    missing_fields,
)
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
from registration_fsm.errors import (
    ApiValidationError,
    CommandRefused,
    ConflictError,
    CoverageError,
    InvalidArgument,
    NotFoundError,
)
from registration_fsm.ports import FormsApi, RegistrationApi
from registration_fsm.sync import Synchronizer, SyncReport
from registration_fsm.sync.forms import FormApi, read_field_values
from registration_fsm.testing.conformance import ConformanceTarget
from registration_fsm.testing.coverage import (
    CoveragePolicy,
    CoverageReport,
    LifecycleCoverage,
    LifecycleCoverageWarning,
    check_policy,
    check_required_edges,
)
from registration_fsm.testing.forms import attachment_bodies, field_values, forms

__all__ = [
    "FORM_ACTIONS",
    "REQUIRED_FORM_ACTIONS",
    "LifecycleTestCase",
    "MachineClock",
    "RegistrationLifecycleMachine",
]

#: The customer's commands the machine sends through the synchronizer (by trigger).
COMMANDS: tuple[str, ...] = ("submit", CREATE, "discard")

#: What the form rules do, as the coverage report counts them (with a catalogue).
FORM_ACTIONS: tuple[str, ...] = (
    "put_value",  # PutRegistrationFieldValue of a TEXT or SELECT value accepted on a DRAFT
    "put_refused",  # refused: FIELD_VALIDATION_FAILED naming the field
    "put_not_draft",  # refused: the version is not a DRAFT (or the registration ended)
    "delete_value",  # DeleteRegistrationFieldValue accepted
    "delete_refused",  # refused: no value there, or not a DRAFT
    "attach",  # an uploaded file put in an ATTACHMENT field (accepted)
    "attachment_refused",  # CreateRegistrationAttachment refused a file (its type, its size)
    "associate",  # CreateRegistrationAssociation accepted
    "associate_refused",  # refused: already associated, under review, ended, not complete
    "submit_incomplete",  # SubmitRegistrationVersion refused naming every missing field
    "submit_unassociated",  # refused: the association the type needs first is missing
    "submit_complete",  # a filled-in form submitted (every submit the lifecycle takes)
    "delete_registration_refused",  # DeleteRegistration refused: resources still associated
)
#: The form actions a run with a catalogue must take unless ``required_form_actions`` says
#: otherwise: those any form with a required field leads to.
REQUIRED_FORM_ACTIONS: frozenset[str] = frozenset(
    {
        "put_value",
        "put_refused",
        "put_not_draft",
        "delete_value",
        "delete_refused",
        "submit_incomplete",
        "submit_complete",
    }
)
#: Version statuses under review: "you can't make changes to the registration or its
#: associated resources" (https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-status.html).
_UNDER_REVIEW = frozenset(
    {
        VersionStatus.SUBMITTED,
        VersionStatus.AWS_REVIEWING,
        VersionStatus.REVIEWING,
        VersionStatus.REQUIRES_AUTHENTICATION,
        VersionStatus.REQUIRES_OFFLINE_REVIEW,
    }
)
_ENDED = frozenset({RegistrationStatus.CLOSED, RegistrationStatus.DELETED})
#: The identities SupportedAssociations name other than phone numbers (by NumberType).
_IDENTITY_KINDS = {"SENDER_ID": "sender-id", "POOL": "pool"}
_Refusal = TypeVar("_Refusal", ApiValidationError, ConflictError)


class _Link(NamedTuple):
    """One association the machine made: the resource, what the type names it by, its
    country (None for a registration), and whether it is an origination identity."""

    resource_id: str
    association_type: str
    iso_country_code: str | None
    identity: bool


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
    - ``actor``: the actor named on commands;
    - ``catalog``: the registration forms the target serves (default None: none; the
      default emulator serves this catalogue). With one, every submit fills the form in
      first and the form rules run (see the module docstring);
    - ``required_form_actions``: the :data:`FORM_ACTIONS` a run must take (None:
      :data:`REQUIRED_FORM_ACTIONS` with a catalogue, none without); every action taken
      is counted in the coverage report;
    - ``carry_field_values``: whether a new version starts with the previous version's
      values (default False: AWS documents a blank version; the default emulator is set
      to match);
    - ``semantics``: how the predictions read the conditions AWS leaves open
      (:class:`~registration_fsm.domain.forms.Semantics`; default the emulator's, STRICT).

    Methods to override: :meth:`make_target` (the API and its ``advance`` hook),
    :meth:`make_synchronizer`, :meth:`add_identity` and :meth:`release_identity` (the
    account's origination identities, for associations and for ``close``; default: the
    emulator's ``add_origination_identity`` and ``release_origination_identity``).
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
    catalog: ClassVar[Catalog | None] = None
    required_form_actions: ClassVar[frozenset[str] | None] = None
    carry_field_values: ClassVar[bool] = False
    semantics: ClassVar[Semantics] = STRICT

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
            if self.catalog is not None and not isinstance(self.api, FormsApi):
                raise InvalidArgument(
                    f"{type(self).__name__}.catalog is set, but the target's API serves no forms"
                )
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
        #: The form model (with a catalogue): each version's expected field values, each
        #: registration's associations by resource id, the attachments uploaded.
        self._values: dict[tuple[str, int], FieldValues] = {}
        self._links: dict[str, dict[str, _Link]] = {}
        self._attachments: list[str] = []

    # -- hooks ------------------------------------------------------------

    def make_target(self) -> TargetSource:
        """The API under test and its ``advance`` hook (a context manager is entered, then
        exited at teardown). Default: a fresh seeded emulator with a :class:`MachineClock`,
        serving ``catalog`` (None: no forms, whatever the environment says)."""
        from registration_fsm.emulator import EmulatedRegistrationApi
        from registration_fsm.emulator.forms import FormRules

        emulator = EmulatedRegistrationApi(
            seed=0,
            clock=MachineClock(),
            policy=self.policy,
            catalog=self.catalog,
            form_rules=FormRules(
                carry_field_values=self.carry_field_values, semantics=self.semantics
            ),
        )
        target = ConformanceTarget(api=emulator, advance=emulator.advance, name="emulator")
        types = target.registration_types
        if self.catalog is not None and not set(types) <= set(self.catalog.types):
            known = sorted(self.catalog.types)
            target = ConformanceTarget(
                api=emulator,
                advance=emulator.advance,
                registration_types=(known[0], known[1 % len(known)]),
                name="emulator",
            )
        return target

    def add_identity(self, association: SupportedAssociation) -> str | None:
        """A new origination identity of the account that ``association`` takes (its
        ResourceId), or None when the target cannot make one: then no association is
        tried, and a type that must be associated before submit cannot be submitted.

        Default: the API's ``add_origination_identity`` (the emulator's): a phone number
        of the NumberType the association names, a sender ID or a pool.
        """
        add = getattr(self.api, "add_origination_identity", None)
        if add is None:
            return None
        kind = _IDENTITY_KINDS.get(association.resource_type, "phone-number")
        made = add(
            kind,
            iso_country_code=association.iso_country_code or "US",
            number_type=association.resource_type if kind == "phone-number" else None,
        )
        return str(made["ResourceId"])

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
        """What the examples so far reached, against ``required_edges`` (and the form
        actions taken, against ``required_form_actions``)."""
        return cls.lifecycle_coverage().report(cls._required(), cls._required_actions())

    @classmethod
    def _required_actions(cls) -> frozenset[str]:
        """``required_form_actions``, else :data:`REQUIRED_FORM_ACTIONS` with a catalogue."""
        wanted = cls.required_form_actions
        if wanted is None:
            return REQUIRED_FORM_ACTIONS if cls.catalog is not None else frozenset()
        unknown = sorted(set(wanted) - set(FORM_ACTIONS))
        if unknown:
            raise InvalidArgument(
                f"required_form_actions names unknown actions: {', '.join(unknown)}; "
                f"known: {', '.join(FORM_ACTIONS)}"
            )
        if wanted and cls.catalog is None:
            raise InvalidArgument("required_form_actions need a catalog: no form rule runs without")
        return frozenset(wanted)

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
        cls._required_actions()
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
        if self.delete_refusal(registration.id) is not None:  # resources still associated
            out = [m for m in out if _kind(m) != "delete"]
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
        if _kind(edge) == "delete" and self.delete_refusal(registration.id) is not None:
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

        Returns False when one of your ``discard_guards`` refused, or a delete was refused
        for the resources still associated (nothing changed).
        """
        if _kind(edge) == "delete":
            return self._delete(registration_id)
        before = self._local[registration_id]
        expected = _predict(before, edge, self.policy)
        if _kind(edge) == "aws":
            details: dict[str, Any] = {}
            if edge.trigger == "deny":
                details = data.draw(_DENY_DETAILS, label="deny details")
            try:
                if not self._close_by_release(registration_id, edge):
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
        if edge.trigger == "submit" and self.catalog is not None:
            self._prepare_submit(data, registration_id)
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
        if edge.trigger == "submit" and self.catalog is not None:
            self._tally("submit_complete")
            after = data.draw(st.sampled_from(["nothing", "put", "delete"]), label="then")
            if after != "nothing":
                self._edit_after_submit(data, registration_id, after)
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
                if _kind(move) == "delete" and self.delete_refusal(reg_id) is not None:
                    break  # a submit on the way associated resources (the delete rule checks it)
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
        """The target's first registration type a new registration can take ``edge`` in (with
        a catalogue, of those, the one fewest live registrations have: forms differ by type)."""
        suitable = [
            reg_type
            for reg_type in self.target.registration_types
            if _plan(
                NEW_REGISTRATION,
                edge,
                self.policy.provisions(reg_type),
                self.disabled_triggers,
                self.policy,
            )
        ]
        if not suitable:
            return self.target.registration_type
        if self.catalog is None:
            return suitable[0]
        return min(suitable, key=lambda t: sum(self._local[i].type == t for i in self.live))

    def _delete(self, reg_id: str) -> bool:
        """DeleteRegistration; False when it is refused, nothing changing: locally (no
        request) and by the API where the lifecycle forbids it (a REVIEWING registration),
        by the API for the resources still associated (RESOURCE_DELETION_NOT_ALLOWED)."""
        if self.synchronizer.get(reg_id).refusals("delete", policy=self.policy):
            reason = LIFECYCLE.trigger("delete").conflict_reason
            self._expect_local_refusal(
                reg_id, lambda: self.synchronizer.delete(reg_id, actor=self.actor), reason
            )
            refusal = _refusal(lambda: self.api.delete_registration(reg_id))
            assert refusal is not None, f"the API deleted {_statuses(self._local[reg_id])}"
            assert refusal.reason == reason, f"delete: expected reason {reason}, got {refusal!r}"
            assert not self.pull(reg_id).events, "a refused delete changed the registration"
            return False
        if self.delete_refusal(reg_id) is not None:
            stored = self.synchronizer.get(reg_id)
            self._expect_refused(
                lambda: self.synchronizer.delete(reg_id, actor=self.actor),
                ConflictError,
                "RESOURCE_DELETION_NOT_ALLOWED",
            )
            assert self.synchronizer.get(reg_id) == stored, "a refused delete changed it"
            self._tally("delete_registration_refused")
            return False
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
        self._links.pop(reg_id, None)  # its associations end, and those it was the resource of
        for links in self._links.values():
            links.pop(reg_id, None)
        for key in [k for k in self._values if k[0] == reg_id]:
            del self._values[key]
        self._refresh_moves()
        return True

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

    # -- forms (with a catalogue) -----------------------------------------------------

    @property
    def forms_api(self) -> FormApi:
        """The API under test as a forms API (checked at construction, with a catalogue)."""
        return cast(FormApi, self.api)

    def definition(self, registration_id: str) -> RegistrationTypeDefinition:
        """The form of a live registration's type, from ``catalog``."""
        assert self.catalog is not None
        return self.catalog.types[self._local[registration_id].type]

    def expected_values(self, registration_id: str, number: int | None = None) -> FieldValues:
        """The field values the machine expects version ``number`` (default: the current
        one) to hold: a new version starts blank (or, with ``carry_field_values``, with
        the previous version's), then only the machine's accepted puts and deletes of its
        DRAFT change them."""
        if number is None:
            number = self._local[registration_id].current_version_number
        key = (registration_id, number)
        found = self._values.get(key)
        if found is None:
            carried = self.carry_field_values and number > 1
            found = self.expected_values(registration_id, number - 1) if carried else None
            found = self._values[key] = found or FieldValues.empty()
        return found

    def delete_refusal(self, registration_id: str) -> str | None:
        """Why the API refuses to delete the registration for its associations, or None:
        another live registration has it as its resource (a brand its campaigns), or it
        holds a resource its type does not disassociate on delete (the other behaviours
        say the resources go first: DISASSOCIATE_ALL_...)."""
        if self.catalog is None or registration_id not in self._local:
            return None
        holders = sorted(
            other
            for other, links in self._links.items()
            if other != registration_id and other in self.live and registration_id in links
        )
        if holders:
            return f"it is the resource of {', '.join(holders)}"
        definition = self.definition(registration_id)
        for link in self._links.get(registration_id, {}).values():
            supporting = _supporting(definition, link.association_type, link.iso_country_code)
            if not any(
                a.disassociation_behavior == "DELETE_REGISTRATION_DISASSOCIATES" for a in supporting
            ):
                return f"it still has {link.resource_id}"
        return None

    def release_identity(self, resource_id: str) -> bool:
        """Delete an origination identity of the account (release the number); False when
        the target cannot. Default: the API's ``release_origination_identity`` (the
        emulator's)."""
        release = getattr(self.api, "release_origination_identity", None)
        if release is None:
            return False
        release(resource_id)
        return True

    def _close_by_release(self, registration_id: str, edge: Move) -> bool:
        """Take ``close`` the way AWS documents it, with a catalogue: CLOSED is "the phone
        number or sender ID has been deleted", so release the registration's identities
        (:meth:`release_identity`) when its type closes once they are gone. False when
        ``advance`` plays the part instead (no identity, another type, no way to release)."""
        if self.catalog is None or edge.trigger != "close":
            return False
        closes = any(
            a.disassociation_behavior == "DISASSOCIATE_ALL_CLOSES_REGISTRATION"
            for a in self.definition(registration_id).supported_associations
        )
        held = self._links.get(registration_id, {})
        identities = [link.resource_id for link in held.values() if link.identity]
        if not closes or not identities:
            return False
        for resource in identities:
            if not self.release_identity(resource):
                assert resource == identities[0], "the target released some identities only"
                return False
            del held[resource]
        self._refresh_moves()
        return True

    def _refresh_moves(self) -> None:
        """Associations changed: which registrations may be deleted changed with them."""
        if self.catalog is None:
            return
        for reg_id in self.live:
            if reg_id in self._local:
                self._moves[reg_id] = self.legal_moves(self._local[reg_id])

    def _tally(self, action: str) -> None:
        self.coverage.record_action(action)

    def _uploaded(self, attachment_id: str) -> bool:
        return attachment_id in self._attachments

    def _expect_refused(
        self, call: Callable[[], object], kind: type[_Refusal], reason: str
    ) -> _Refusal:
        """``call`` must raise ``kind`` with ``reason``."""
        try:
            call()
        except kind as refused:
            found = refused
        except (ApiValidationError, ConflictError, CommandRefused) as other:
            raise AssertionError(f"expected {kind.__name__} {reason}, got {other!r}") from other
        else:
            raise AssertionError(f"the API accepted what it should refuse with {reason}")
        assert found.reason == reason, f"expected reason {reason}, got {found!r}"
        return found

    def _draw_for_form(self, data: st.DataObject) -> str:
        """A live registration: one whose form can change (a DRAFT) or one whose cannot,
        evenly while there are both."""
        drafts = [i for i in self.live if _edit_refusal(self._local[i]) is None]
        others = [i for i in self.live if i not in drafts]
        pool = drafts or others
        if bool(drafts) and bool(others) and data.draw(st.booleans(), label="not a DRAFT"):
            pool = others
        return data.draw(st.sampled_from(pool), label="registration")

    def _put(self, registration_id: str, value: FieldValue) -> str:
        """PutRegistrationFieldValue, against the model's prediction: FIELD_VALIDATION_FAILED
        naming the field for a value the form refuses (checked first), a conflict off a
        DRAFT, else accepted. Returns the action it was (an accepted attachment: attach)."""
        local = self._local[registration_id]
        current = self.expected_values(registration_id)
        problems = check_value(
            self.definition(registration_id),
            value,
            values=current,
            attachment_ok=self._uploaded,
            semantics=self.semantics,
        )

        def put() -> dict[str, Any]:
            return self.forms_api.put_registration_field_value(
                registration_id,
                value.field_path,
                select_choices=value.select_choices,
                text_value=value.text_value,
                attachment_id=value.attachment_id,
            )

        if problems:
            refused = self._expect_refused(put, ApiValidationError, "FIELD_VALIDATION_FAILED")
            named = {name for name, _ in refused.fields}
            assert named == {p.field_path for p in problems}, (named, problems)
            return "put_refused"
        not_editable = _edit_refusal(local)
        if not_editable is not None:
            self._expect_refused(put, ConflictError, not_editable)
            return "put_not_draft"
        answer = put()
        assert answer["VersionNumber"] == local.current_version_number, answer
        assert FieldValue.from_api(answer) == value, answer
        self._values[(registration_id, local.current_version_number)] = current.with_value(value)
        return "put_value" if value.attachment_id is None else "attach"

    def _delete_value(self, registration_id: str, path: str) -> str:
        """DeleteRegistrationFieldValue, against the model's prediction: a conflict off a
        DRAFT, REGISTRATION_FIELD_CANNOT_BE_DELETED where there is no value, else accepted."""
        local = self._local[registration_id]
        current = self.expected_values(registration_id)

        def delete() -> dict[str, Any]:
            return self.forms_api.delete_registration_field_value(registration_id, path)

        not_editable = _edit_refusal(local)
        if not_editable is not None:
            self._expect_refused(delete, ConflictError, not_editable)
            return "delete_refused"
        if path not in current:
            self._expect_refused(delete, ApiValidationError, "REGISTRATION_FIELD_CANNOT_BE_DELETED")
            return "delete_refused"
        assert FieldValue.from_api(delete()) == current[path]
        self._values[(registration_id, local.current_version_number)] = current.without(path)
        return "delete_value"

    def _upload(self, data: st.DataObject) -> str:
        """CreateRegistrationAttachment of a PDF, PNG or JPEG: UPLOAD_COMPLETE."""
        body = data.draw(attachment_bodies(), label="file")
        created = self.forms_api.create_registration_attachment(attachment_body=body)
        assert created["AttachmentStatus"] == "UPLOAD_COMPLETE", created
        self._attachments.append(created["RegistrationAttachmentId"])
        return str(created["RegistrationAttachmentId"])

    def _upload_refused(self, data: st.DataObject) -> None:
        """CreateRegistrationAttachment of a file of no accepted type, or too big: refused
        (ATTACHMENT_TYPE_NOT_SUPPORTED, MAXIMUM_SIZE_EXCEEDED); no attachment is made."""
        from registration_fsm.emulator.forms import ATTACHMENT_MAX_BYTES

        body = data.draw(attachment_bodies(valid=False), label="file")
        too_big = len(body) > ATTACHMENT_MAX_BYTES
        self._expect_refused(
            lambda: self.forms_api.create_registration_attachment(attachment_body=body),
            ApiValidationError,
            "MAXIMUM_SIZE_EXCEEDED" if too_big else "ATTACHMENT_TYPE_NOT_SUPPORTED",
        )
        held = sorted(
            a["RegistrationAttachmentId"]
            for a in self.forms_api.describe_registration_attachments()
        )
        assert held == sorted(self._attachments), (held, self._attachments)
        self._tally("attachment_refused")

    def _associate(
        self, registration_id: str, resource: str, link: _Link, *, twice: bool = False
    ) -> str:
        """CreateRegistrationAssociation, against the model's prediction: RESOURCE_NOT_ACTIVE
        once the registration ended, RESOURCE_MODIFICATION_NOT_ALLOWED under review,
        REGISTRATION_NOT_COMPLETE for a resource associated only after COMPLETE. ``twice``:
        once accepted, sent again (RESOURCE_ALREADY_ASSOCIATED, counted)."""
        local = self._local[registration_id]
        supported = _supporting(
            self.definition(registration_id), link.association_type, link.iso_country_code
        )
        assert supported, f"{local.type} takes no {link.association_type}"
        refusal = None
        if local.status in _ENDED:
            refusal = "RESOURCE_NOT_ACTIVE"
        elif local.current_version.status in _UNDER_REVIEW:
            refusal = "RESOURCE_MODIFICATION_NOT_ALLOWED"
        elif local.status is not RegistrationStatus.COMPLETE and all(
            a.association_behavior == "ASSOCIATE_AFTER_COMPLETE" for a in supported
        ):
            refusal = "REGISTRATION_NOT_COMPLETE"

        def associate() -> dict[str, Any]:
            return self.forms_api.create_registration_association(registration_id, resource)

        if refusal is not None:
            self._expect_refused(associate, ConflictError, refusal)
            return "associate_refused"
        assert associate()["ResourceId"] == resource
        self._links.setdefault(registration_id, {})[resource] = link
        self._refresh_moves()
        if twice:
            self._expect_refused(associate, ConflictError, "RESOURCE_ALREADY_ASSOCIATED")
            self._tally("associate_refused")
        return "associate"

    def _identity_associations(self, registration_id: str) -> list[SupportedAssociation]:
        """The type's supported associations with an origination identity (not with
        another registration)."""
        assert self.catalog is not None
        return [
            a
            for a in self.definition(registration_id).supported_associations
            if a.resource_type not in self.catalog.types
        ]

    def _associated_for_submit(self, registration_id: str) -> bool:
        """Whether the registration holds what its type's ASSOCIATE_BEFORE_SUBMIT asks for
        (True when it asks for nothing)."""
        definition = self.definition(registration_id)
        before = [
            a
            for a in definition.supported_associations
            if a.association_behavior == "ASSOCIATE_BEFORE_SUBMIT"
        ]
        return not before or any(
            a.association_behavior == "ASSOCIATE_BEFORE_SUBMIT"
            for link in self._links.get(registration_id, {}).values()
            for a in _supporting(definition, link.association_type, link.iso_country_code)
        )

    def _fill_form(self, data: st.DataObject, registration_id: str) -> None:
        """Put (and delete) values until the current DRAFT's form is complete: a drawn
        form built on what it holds (a file is uploaded first if the type has ATTACHMENT
        fields and none is); now and then a value the form refuses is tried first."""
        definition = self.definition(registration_id)
        has_files = any(f.field_type is FieldType.ATTACHMENT for f in definition.fields)
        if has_files and data.draw(st.booleans(), label="a file refused first"):
            self._upload_refused(data)
        if has_files and not self._attachments:
            self._upload(data)
        if data.draw(st.booleans(), label="a value refused first"):
            refused = field_values(
                definition,
                valid=False,
                values=self.expected_values(registration_id),
                attachment_ids=self._attachments,
                semantics=self.semantics,
            )
            action = self._put(registration_id, data.draw(refused, label="refused value"))
            assert action == "put_refused", action
            self._tally(action)
        current = self.expected_values(registration_id)
        wanted = data.draw(
            forms(
                definition,
                start=current,
                attachment_ids=self._attachments,
                semantics=self.semantics,
            ),
            label="form",
        )
        for path in current:
            if path not in wanted:
                self._tally(self._delete_value(registration_id, path))
        for value in _dependencies_first(definition, wanted):
            if current.get(value.field_path) != value:
                self._tally(self._put(registration_id, value))
        now = self.expected_values(registration_id)
        assert now == wanted, f"the machine could not fill the form of {registration_id} in"

    def _associate_before_submit(self, data: st.DataObject, registration_id: str) -> None:
        """Make the association the type's ASSOCIATE_BEFORE_SUBMIT asks for: a new identity
        (:meth:`add_identity`), or a COMPLETE registration of the type it names (a brand
        for a 10DLC campaign: :meth:`_complete_registration`)."""
        if self._associated_for_submit(registration_id):
            return
        assert self.catalog is not None
        local = self._local[registration_id]
        before = [
            a
            for a in self.definition(registration_id).supported_associations
            if a.association_behavior == "ASSOCIATE_BEFORE_SUBMIT"
        ]
        association = data.draw(st.sampled_from(before), label="association")
        kind = association.resource_type
        if kind in self.catalog.types:  # another registration: a campaign's brand
            resource = self._complete_registration(data, kind, registration_id)
            link = _Link(resource, kind, None, identity=False)
        else:
            made = self.add_identity(association)
            assert made is not None, (
                f"{local.type} must be associated with a {kind} before it is submitted: "
                "override add_identity to make one"
            )
            resource = made
            link = _Link(resource, kind, association.iso_country_code or "US", identity=True)
        action = self._associate(registration_id, resource, link, twice=True)
        assert action == "associate", f"{registration_id} could not be associated with {resource}"
        self._tally(action)
        if self.delete_refusal(registration_id) is not None:  # it holds what it must keep
            assert not self._delete(registration_id)

    def _complete_registration(self, data: st.DataObject, kind: str, other_than: str) -> str:
        """A live COMPLETE registration of type ``kind``: one there is, else a new one taken
        there along the lifecycle (it may take the machine past ``max_registrations``)."""
        ready = [
            i
            for i in self.live
            if i != other_than
            and self._local[i].type == kind
            and self._local[i].status is RegistrationStatus.COMPLETE
        ]
        if ready:
            return data.draw(st.sampled_from(ready), label="complete registration")
        new = self._create(kind)
        approve = LIFECYCLE.edge(VersionStatus.REVIEWING, "approve", VersionStatus.APPROVED)
        finish = [e for e in LIFECYCLE.registration_edges if e.trigger == "complete_provisioning"]
        goal = finish[0] if self.policy.provisions(kind) and finish else approve
        assert goal is not None
        for move in self.plan(self._local[new], goal) or ():
            self.apply(data, new, move)
        status = self._local[new].status
        assert status is RegistrationStatus.COMPLETE, f"{kind} {new} went {status}, not COMPLETE"
        return new

    def _form_live(self) -> bool:
        return self.catalog is not None and bool(self.live)

    def _associable(self) -> list[str]:
        if self.catalog is None:
            return []
        return [i for i in self.live if self._identity_associations(i)]

    def _prepare_submit(self, data: st.DataObject, registration_id: str) -> None:
        """Before a submit the lifecycle takes: now and then a submit refused for fields
        missing (before or after the form is filled in), then the form filled in; for a
        type that must be associated first, a submit refused for that, then the
        association."""
        first = data.draw(
            st.sampled_from(["submit", "missing", "filled, then missing"]), label="first"
        )
        through = data.draw(st.sampled_from(["api", "synchronizer"]), label="refused through")
        if first == "filled, then missing":
            self._fill_form(data, registration_id)
        if first != "submit":
            self._submit_missing(data, registration_id, through)
        self._fill_form(data, registration_id)
        if not self._associated_for_submit(registration_id):
            self._refused_submit(
                registration_id, through, ConflictError, "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
            )
            self._tally("submit_unassociated")
        self._associate_before_submit(data, registration_id)

    def _edit_after_submit(self, data: st.DataObject, registration_id: str, edit: str) -> None:
        """A valid value put on a version just submitted, or a value deleted: refused, its
        values kept."""
        self.check_registration(registration_id)
        if edit == "delete":
            paths = self.definition(registration_id).field_paths
            path = data.draw(st.sampled_from(paths), label="field after the submit")
            action = self._delete_value(registration_id, path)
            assert action == "delete_refused", action
            self._tally(action)
            return
        try:
            value = field_values(
                self.definition(registration_id),
                values=self.expected_values(registration_id),
                attachment_ids=self._attachments,
                semantics=self.semantics,
            )
        except InvalidArgument:  # no field can take a valid value
            return
        action = self._put(registration_id, data.draw(value, label="value after the submit"))
        assert action == "put_not_draft", action
        self._tally(action)

    def _submit_missing(self, data: st.DataObject, registration_id: str, through: str) -> None:
        """A submit with required fields missing (some taken out first if the form is
        complete): FIELD_VALIDATION_FAILED naming every one, and any value the form refuses."""
        definition = self.definition(registration_id)
        current = self.expected_values(registration_id)
        if not missing_fields(definition, current, semantics=self.semantics):
            required = [
                p
                for p in current
                if p in missing_fields(definition, current.without(p), semantics=self.semantics)
            ]
            if not required:
                return
            gone = st.lists(st.sampled_from(required), unique=True, min_size=1, max_size=3)
            for path in data.draw(gone, label="taken out"):
                self._tally(self._delete_value(registration_id, path))
            current = self.expected_values(registration_id)
        missing = missing_fields(definition, current, semantics=self.semantics)
        problems = check_form(
            definition, current, attachment_ok=self._uploaded, semantics=self.semantics
        )
        refused = self._refused_submit(
            registration_id, through, ApiValidationError, "FIELD_VALIDATION_FAILED"
        )
        named = {name for name, _ in refused.fields}
        assert named == set(missing) | {p.field_path for p in problems}, (named, missing)
        self._tally("submit_incomplete")

    def _refused_submit(
        self, registration_id: str, through: str, kind: type[_Refusal], reason: str
    ) -> _Refusal:
        """A submit (through the synchronizer or the API) refused with ``reason``: nothing
        changes, locally or remotely."""
        stored = self.synchronizer.get(registration_id)
        calls: dict[str, Callable[[], object]] = {
            "synchronizer": lambda: self.synchronizer.submit(registration_id, actor=self.actor),
            "api": lambda: self.api.submit_registration_version(registration_id),
        }
        refused = self._expect_refused(calls[through], kind, reason)
        assert self.synchronizer.get(registration_id) == stored, "a refused submit changed it"
        assert not self.pull(registration_id).events, "a refused submit changed the registration"
        return refused

    @precondition(lambda self: self._form_live())
    @rule(data=st.data(), edit=st.sampled_from(["put valid", "put invalid", "delete"]))
    def edit_field(self, data: st.DataObject, edit: str) -> None:
        """PutRegistrationFieldValue of a value the form accepts or refuses (the strategies
        of :mod:`registration_fsm.testing.forms`), or DeleteRegistrationFieldValue of a
        DRAFT's value or of any field."""
        if edit == "delete":
            self._delete_field(data)
            return
        reg_id = self._draw_for_form(data)
        valid = edit == "put valid"
        try:
            values = field_values(
                self.definition(reg_id),
                valid=valid,
                values=self.expected_values(reg_id),
                attachment_ids=self._attachments,
                semantics=self.semantics,
            )
        except InvalidArgument:  # no field can take a valid value now
            return
        action = self._put(reg_id, data.draw(values, label="value"))
        assert (action == "put_refused") != valid, f"a {valid=} value was {action}"
        self._tally(action)

    def _delete_field(self, data: st.DataObject) -> None:
        filled = [
            i
            for i in self.live
            if _edit_refusal(self._local[i]) is None and self.expected_values(i)
        ]
        if bool(filled) and data.draw(st.booleans(), label="a value of a DRAFT"):
            reg_id = data.draw(st.sampled_from(filled), label="registration")
            paths: Sequence[str] = sorted(self.expected_values(reg_id))
        else:
            reg_id = self._draw_for_form(data)
            paths = self.definition(reg_id).field_paths
        self._tally(self._delete_value(reg_id, data.draw(st.sampled_from(paths), label="field")))

    @precondition(lambda self: self.catalog is not None)
    @rule(data=st.data(), valid=st.booleans())
    def upload(self, data: st.DataObject, valid: bool) -> None:
        """CreateRegistrationAttachment. A PDF, PNG or JPEG: uploaded, then put in an
        ATTACHMENT field of a DRAFT that has one. Another file, or one too big: refused
        (ATTACHMENT_TYPE_NOT_SUPPORTED, MAXIMUM_SIZE_EXCEEDED), no attachment made."""
        if valid:
            attachment_id = self._upload(data)
            spots = [
                (i, f.field_path)
                for i in self.live
                if _edit_refusal(self._local[i]) is None
                for f in self.definition(i).fields
                if f.field_type is FieldType.ATTACHMENT
            ]
            if spots:
                reg_id, path = data.draw(st.sampled_from(spots), label="field")
                self._tally(self._put(reg_id, FieldValue(path, attachment_id=attachment_id)))
            return
        self._upload_refused(data)

    @precondition(lambda self: bool(self._associable()))
    @rule(data=st.data(), again=st.booleans())
    def associate(self, data: st.DataObject, again: bool) -> None:
        """CreateRegistrationAssociation with a new origination identity the type takes
        (or, ``again``, with an identity it holds: RESOURCE_ALREADY_ASSOCIATED)."""
        holding = {
            i: sorted(r for r, link in self._links.get(i, {}).items() if link.identity)
            for i in self._associable()
        }
        holding = {i: held for i, held in holding.items() if held}
        if again and holding:
            reg_id = data.draw(st.sampled_from(sorted(holding)), label="registration")
            resource = data.draw(st.sampled_from(holding[reg_id]), label="resource")
            self._expect_refused(
                lambda: self.forms_api.create_registration_association(reg_id, resource),
                ConflictError,
                "RESOURCE_ALREADY_ASSOCIATED",
            )
            self._tally("associate_refused")
        else:
            reg_id = data.draw(st.sampled_from(self._associable()), label="registration")
            associations = self._identity_associations(reg_id)
            association = data.draw(st.sampled_from(associations), label="association")
            made = self.add_identity(association)
            if made is None:
                return
            country = association.iso_country_code or "US"
            link = _Link(made, association.resource_type, country, identity=True)
            self._tally(self._associate(reg_id, made, link))
        listed = sorted(
            a["ResourceId"] for a in self.forms_api.list_registration_associations(reg_id)
        )
        assert listed == sorted(self._links.get(reg_id, {})), listed

    @precondition(lambda self: self.catalog is not None and bool(self._with_moves("submit")))
    @rule(data=st.data(), through=st.sampled_from(["synchronizer", "api"]))
    def submit_incomplete(self, data: st.DataObject, through: str) -> None:
        """SubmitRegistrationVersion with required fields missing (the form filled in first,
        or not; some taken out if it is complete): FIELD_VALIDATION_FAILED naming every one;
        the version stays a DRAFT and nothing else changes."""
        reg_id = data.draw(st.sampled_from(self._with_moves("submit")), label="registration")
        if data.draw(st.booleans(), label="filled in first"):
            self._fill_form(data, reg_id)
        self._submit_missing(data, reg_id, through)

    @invariant()
    def version_values_match(self) -> None:
        """With a catalogue, after every step: every version of every live registration
        holds the values the machine expects, as DescribeRegistrationFieldValues reads
        them (so a version's values never change once it has left DRAFT) and as the sync
        kept them for a version that has left DRAFT."""
        if self.catalog is None:
            return
        for reg_id in self.live:
            local = self._local[reg_id]  # (invariants run by name: after local_matches_remote)
            for number, version in local.versions.items():
                expected = self.expected_values(reg_id, number)
                found = read_field_values(self.forms_api, reg_id, number)
                assert found == expected, (
                    f"{reg_id} v{number} ({version.status}): the API holds "
                    f"{[v.show() for v in found.values()]}, expected "
                    f"{[v.show() for v in expected.values()]}"
                )
                kept = local.field_values(number)
                if version.status is not VersionStatus.DRAFT and kept is not None:
                    assert kept == expected, f"{reg_id} v{number}: the sync kept other values"


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


def _edit_refusal(registration: Registration) -> str | None:
    """Why a field value of the registration cannot change now (the reason), or None."""
    if registration.status in _ENDED:
        return "RESOURCE_NOT_ACTIVE"
    if registration.current_version.status is not VersionStatus.DRAFT:
        return "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED"
    return None


def _supporting(
    definition: RegistrationTypeDefinition, association_type: str, country: str | None
) -> list[SupportedAssociation]:
    """The type's SupportedAssociations that take a resource of that type and country
    (a registration resource has no country: only its type counts)."""
    return [
        a
        for a in definition.supported_associations
        if a.resource_type == association_type
        and (a.iso_country_code is None or country is None or a.iso_country_code == country)
    ]


def _dependencies_first(
    definition: RegistrationTypeDefinition, values: FieldValues
) -> list[FieldValue]:
    """``values``, those other fields' conditions depend on first (so each put is judged
    with what it depends on already there)."""
    depended = {
        c.depends_on
        for f in definition.fields
        if f.conditional is not None
        for r in f.conditional.rules
        for c in r.conditions
    }
    return sorted(values.values(), key=lambda v: v.field_path not in depended)


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
