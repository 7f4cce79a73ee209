"""The stateful machine: every lifecycle edge is reached through the API and the sync,
local equals remote after every step, and the coverage check catches what is never reached."""

from __future__ import annotations

import unittest
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import MultipleResults, invariant, precondition, rule

from registration_fsm import (
    DEFAULT_POLICY,
    LIFECYCLE,
    Boto3RegistrationApi,
    ConflictError,
    Edge,
    EmulatedRegistrationApi,
    GuardContext,
    InvalidArgument,
    LifecyclePolicy,
    Registration,
    RegistrationStatus,
    VersionStatus,
    require_reason,
    serve,
)
from registration_fsm.domain.forms import Catalog, SupportedAssociation
from registration_fsm.domain.lifecycle import Move
from registration_fsm.emulator.forms import FormRules
from registration_fsm.errors import CoverageError
from registration_fsm.testing import (
    ConformanceTarget,
    LifecycleCoverageWarning,
    MachineClock,
    RegistrationLifecycleMachine,
)
from registration_fsm.testing.machine import FORM_ACTIONS, REQUIRED_FORM_ACTIONS

V = VersionStatus
REVOKE = Edge(V.APPROVED, "revoke", V.REVOKED)
DRAFT_DISCARD = Edge(V.DRAFT, "discard", V.DISCARDED)

#: The budget a run gets: enough for every edge, reliably (measured: 0 incomplete runs in
#: 80 with 12 examples; the run below has 15). Budgets are counted in examples and steps,
#: never in seconds.
FAST = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
#: For runs that only need a few steps.
TINY = settings(FAST, max_examples=3, stateful_step_count=10, phases=[Phase.generate])


class Lifecycle(RegistrationLifecycleMachine):
    """The machine as shipped: every LIFECYCLE edge must be exercised."""


def test_full_edge_coverage_is_reached_within_the_example_budget() -> None:
    report = Lifecycle.run(settings=FAST)
    assert report.ok, str(report)
    assert set(report.edges) == set(LIFECYCLE.edges)
    assert report.unreached_statuses == ()
    assert set(report.registration_statuses) >= {
        RegistrationStatus.CREATED,
        RegistrationStatus.SUBMITTED,
        RegistrationStatus.AWS_REVIEWING,
        RegistrationStatus.REVIEWING,
        RegistrationStatus.REQUIRES_AUTHENTICATION,
        RegistrationStatus.COMPLETE,
        RegistrationStatus.REQUIRES_UPDATES,
    }
    assert report.examples > 1, "coverage is accumulated across the examples of the run"


# -- a user's subclass: an extra guard, rule and invariant, run as Machine.TestCase ----------

GUARD_REFUSALS: list[str] = []


def reason_required(ctx: GuardContext) -> str | None:
    """The user's guard: discards need a reason (counts its refusals)."""
    verdict = require_reason(ctx)
    if verdict is not None:
        GUARD_REFUSALS.append(ctx.registration.id)
    return verdict


class Audited(RegistrationLifecycleMachine):
    """Discards need a reason; approved means COMPLETE (until CLOSED); ARNs work wherever
    ids do."""

    discard_guards = (reason_required,)

    @invariant()
    def approved_current_version_means_complete(self) -> None:
        for reg_id in self.live:
            registration = self.local(reg_id)
            if registration.current_version.status == V.APPROVED:
                ended = (RegistrationStatus.COMPLETE, RegistrationStatus.CLOSED)
                assert registration.status in ended

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def describe_by_arn(self, data: st.DataObject) -> None:
        reg_id = data.draw(st.sampled_from(self.live))
        (found,) = self.api.describe_registrations(registration_ids=[self.local(reg_id).arn])
        assert found["RegistrationId"] == reg_id


class TestAudited(Audited.TestCase):  # type: ignore[misc,valid-type]
    """``Machine.TestCase`` under pytest: its runTest checks coverage after the whole run."""

    settings = FAST

    def runTest(self) -> None:
        GUARD_REFUSALS.clear()
        super().runTest()
        assert GUARD_REFUSALS, "the user's guard never refused a discard"
        assert Audited.coverage_report().ok


def test_machine_test_case_is_a_cached_unittest_case() -> None:
    case = Lifecycle.TestCase
    assert case is Lifecycle.TestCase
    assert issubclass(case, unittest.TestCase)
    assert case.__name__ == "Lifecycle.TestCase"
    assert Audited.TestCase is not case

    @settings(max_examples=2)
    class Decorated(RegistrationLifecycleMachine):
        pass

    assert Decorated.TestCase.settings.max_examples == 2


def test_the_local_model_plans_every_edge_from_a_new_registration() -> None:
    """``plan`` finds a legal path through every edge (the ``drive`` rule's bias)."""
    machine = Lifecycle()
    try:
        reg = Registration.new(
            "registration-1", "arn:aws:sms-voice:us-east-1:1:registration/registration-1", "T"
        )
        for edge in LIFECYCLE.edges:
            plan = machine.plan(reg, edge)
            assert plan, edge
            assert plan[-1].trigger == edge.trigger
    finally:
        machine.teardown()


# -- the coverage check ------------------------------------------------------------------------


class NoRevoke(RegistrationLifecycleMachine):
    """A suite that silently stopped revoking."""

    disabled_triggers = frozenset({"revoke"})


def test_coverage_fails_when_a_required_edge_is_never_exercised() -> None:
    with pytest.raises(CoverageError) as err:
        NoRevoke.run(settings=settings(FAST, max_examples=4, phases=[Phase.generate]))
    report = err.value.report
    assert REVOKE in report.missing
    assert REVOKE not in report.edges
    assert V.REVOKED in report.unreached_statuses
    assert "APPROVED --revoke--> REVOKED" in str(err.value)


class WithoutAwsRules(RegistrationLifecycleMachine):
    """A subclass that disables the rules playing AWS's part: a plain method is no rule."""

    def aws_event(self, *_: object) -> None:
        raise AssertionError("not a rule any more")

    def walk(self, *_: object) -> None:
        raise AssertionError("not a rule any more")

    def drive(self, *_: object) -> MultipleResults[str]:
        raise AssertionError("not a rule any more")

    required_edges = frozenset({Edge(V.SUBMITTED, "begin_review", V.REVIEWING)})


def test_coverage_fails_when_a_subclass_disables_the_rules_that_reach_an_edge() -> None:
    with pytest.raises(CoverageError) as err:
        WithoutAwsRules.run(settings=TINY)
    assert err.value.report.missing == (Edge(V.SUBMITTED, "begin_review", V.REVIEWING),)


class WarnOnly(NoRevoke):
    coverage_policy = "warn"
    required_edges = frozenset({REVOKE})


class CoverageOff(NoRevoke):
    coverage_policy = "off"
    required_edges = frozenset({REVOKE})


def test_warn_policy_warns_and_off_policy_only_reports() -> None:
    with pytest.warns(LifecycleCoverageWarning, match="never exercised"):
        report = WarnOnly.run(settings=TINY)
    assert report.missing == (REVOKE,)
    report = CoverageOff.run(settings=TINY)  # filterwarnings=error: no warning either
    assert report.missing == (REVOKE,)
    with pytest.raises(CoverageError):
        CoverageOff.check_coverage("fail")


def test_bad_coverage_settings_are_refused() -> None:
    class Typo(RegistrationLifecycleMachine):
        required_edges = frozenset({Edge(V.DRAFT, "approve", V.APPROVED)})

    class Sometimes(RegistrationLifecycleMachine):
        coverage_policy = "sometimes"  # type: ignore[assignment]

    with pytest.raises(InvalidArgument, match="not in the lifecycle"):
        Typo.run(settings=TINY)
    with pytest.raises(InvalidArgument, match="coverage_policy"):
        Sometimes.run(settings=TINY)


# -- another adapter: the real boto3 adapter over HTTP ---------------------------------------


class OverHttp(RegistrationLifecycleMachine):
    """The boto3 adapter against a served emulator, fresh for every example."""

    coverage_policy = "off"

    def make_target(self) -> AbstractContextManager[ConformanceTarget]:
        @contextmanager
        def target() -> Iterator[ConformanceTarget]:
            emulator = EmulatedRegistrationApi(seed=0, clock=MachineClock(), policy=self.policy)
            with serve(emulator) as url:
                api = Boto3RegistrationApi.from_config(
                    region="us-east-1",
                    endpoint_url=url,
                    retry_mode="standard",
                    max_attempts=2,
                    connect_timeout=30,
                    read_timeout=120,
                )
                try:
                    yield ConformanceTarget(api=api, advance=emulator.advance, name="http")
                finally:
                    api.client.close()

        return target()


def test_the_machine_drives_the_boto3_adapter_over_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    report = OverHttp.run(settings=settings(FAST, max_examples=3, stateful_step_count=15))
    assert report.examples >= 1
    assert Edge(None, "create", V.DRAFT) in report.edges


# -- what the machine finds ----------------------------------------------------------------


class IncrementalSync(RegistrationLifecycleMachine):
    """Pull with ``full=False``, as ``Synchronizer.sync`` does by default."""

    full_sync = False
    coverage_policy = "off"


def test_incremental_sync_sees_every_step() -> None:
    """Even REVIEWING -> REQUIRES_OFFLINE_REVIEW, which changes no summary field."""
    IncrementalSync.run(
        settings=settings(
            FAST, max_examples=20, phases=[Phase.generate], report_multiple_bugs=False
        )
    )


# -- the machine's policy: predictions follow it, and a disagreement with the API says so ------


class DocumentedOnly(RegistrationLifecycleMachine):
    """A suite that keeps to the documented lifecycle: DRAFT is never discarded."""

    policy = DEFAULT_POLICY


def test_predictions_follow_the_machines_own_policy() -> None:
    documented_only = {e for e in LIFECYCLE.edges if not e.optional}
    own = LIFECYCLE.reachable_registration_edges(provisions=(False,))
    assert DocumentedOnly.coverage_report().required == documented_only | own
    report = DocumentedOnly.run(settings=FAST)
    assert report.ok, str(report)
    assert DRAFT_DISCARD not in report.edges, "the default policy never discards a DRAFT"
    assert set(report.edges) == documented_only
    assert set(report.registration_edges) == own
    machine = DocumentedOnly()
    try:
        draft = Registration.new(
            "registration-1", "arn:aws:sms-voice:us-east-1:1:registration/registration-1", "T"
        )
        assert DRAFT_DISCARD not in machine.legal_moves(draft)
        assert "discard" in machine.refused_commands(draft)
        assert machine.plan(draft, DRAFT_DISCARD) is None
    finally:
        machine.teardown()


class StricterApi(RegistrationLifecycleMachine):
    """The machine allows discarding a DRAFT; the API (emulator, default policy) refuses it."""

    policy = LifecyclePolicy.allow_draft_discard()
    coverage_policy = "off"

    def make_target(self) -> ConformanceTarget:
        emulator = EmulatedRegistrationApi(seed=0, clock=MachineClock(), policy=DEFAULT_POLICY)
        return ConformanceTarget(api=emulator, advance=emulator.advance, name="strict")


def test_the_api_refusing_what_the_local_policy_allowed_fails_the_run() -> None:
    with pytest.raises(AssertionError) as err:
        StricterApi.run(settings=settings(FAST, max_examples=50, report_multiple_bugs=False))
    message = str(err.value)
    assert "the local policy allowed discard of v" in message, message
    assert "(DRAFT), the API refused it" in message, message
    assert isinstance(err.value.__cause__, ConflictError), "the API's own refusal is the cause"
    assert err.value.__cause__.reason == "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"


# -- forms: with a catalogue the machine fills forms in and drives them ----------------------


class WithForms(RegistrationLifecycleMachine):
    """The shipped catalogue: every submit fills the form in, and every form action must be
    taken (the coverage check fails otherwise)."""

    catalog = Catalog.builtin()
    required_form_actions: ClassVar[frozenset[str] | None] = frozenset(FORM_ACTIONS)


#: Measured: every edge and every form action in 16 runs of 16 (with 30 examples, 1 run
#: of 16 missed an edge: the form rules take steps from the lifecycle's).
FORMS = settings(FAST, max_examples=40)


def test_the_machine_drives_the_forms_and_still_reaches_every_edge() -> None:
    report = WithForms.run(settings=FORMS)
    assert report.ok, str(report)
    assert set(report.edges) == set(LIFECYCLE.edges)
    assert set(report.actions) == set(FORM_ACTIONS), report.actions
    assert report.required_actions == frozenset(FORM_ACTIONS)
    assert "actions taken: " in str(report)
    assert "submit_incomplete x" in str(report)


class NoForms(RegistrationLifecycleMachine):
    coverage_policy = "off"


def test_without_a_catalogue_no_form_rule_runs_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default emulator serves the machine's catalogue (None), not the environment's
    (unset: the shipped one, whose forms would refuse the machine's bare submits)."""
    monkeypatch.delenv("REGISTRATION_FSM_CATALOG", raising=False)
    report = NoForms.run(settings=settings(FAST, max_examples=5))
    assert report.actions == {}
    assert report.required_actions == frozenset()
    assert report.edges[Edge(V.DRAFT, "submit", V.SUBMITTED)] > 0
    assert WithForms.coverage_report().required_actions == frozenset(FORM_ACTIONS)
    assert NoForms.coverage_report().required_actions == frozenset()

    class Default(WithForms):
        required_form_actions = None

    assert Default.coverage_report().required_actions == REQUIRED_FORM_ACTIONS


class CarryingApi(WithForms):
    """The API starts a new version with the previous one's values; the machine expects a
    blank version (as AWS documents)."""

    coverage_policy = "off"
    required_form_actions = frozenset()

    def make_target(self) -> ConformanceTarget:
        emulator = EmulatedRegistrationApi(
            seed=0,
            clock=MachineClock(),
            policy=self.policy,
            catalog=self.catalog,
            form_rules=FormRules(carry_field_values=True),
        )
        return ConformanceTarget(api=emulator, advance=emulator.advance, name="carrying")


def test_field_values_the_machine_did_not_expect_fail_the_run() -> None:
    with pytest.raises(AssertionError) as err:
        CarryingApi.run(
            settings=settings(
                FAST, max_examples=50, phases=[Phase.generate], report_multiple_bugs=False
            )
        )
    message = str(err.value)  # the values read back, or a submit refusal that never came
    assert any(
        found in message for found in ("the API holds", "the API accepted what it should refuse")
    ), message


#: Versions after the first that started with values (carried from the one before).
CARRIED: list[int] = []


class Carrying(CarryingApi):
    """The same API, and a machine told new versions carry the values."""

    carry_field_values = True

    @invariant()
    def count_carried_values(self) -> None:
        for reg_id in self.live:
            for number in self.local(reg_id).versions:
                if number > 1 and self.expected_values(reg_id, number):
                    CARRIED.append(number)


def test_a_machine_told_versions_carry_their_values_agrees_with_such_an_api() -> None:
    CARRIED.clear()
    report = Carrying.run(settings=settings(FAST, max_examples=8))
    assert report.actions["submit_complete"] > 0
    assert CARRIED, "no version started with carried values"


#: Campaigns that left DRAFT (each associated with a COMPLETE brand first).
SUBMITTED_CAMPAIGNS: set[str] = set()


class Campaigns(WithForms):
    """10DLC brands and campaigns: a campaign is associated with a COMPLETE brand before
    it is submitted, and a brand a campaign holds cannot be deleted."""

    coverage_policy = "off"
    required_form_actions = frozenset()

    def make_target(self) -> ConformanceTarget:
        emulator = EmulatedRegistrationApi(
            seed=0, clock=MachineClock(), policy=self.policy, catalog=self.catalog
        )
        return ConformanceTarget(
            api=emulator,
            advance=emulator.advance,
            registration_types=(
                "US_TEN_DLC_BRAND_REGISTRATION",
                "US_TEN_DLC_CAMPAIGN_REGISTRATION",
            ),
            name="10DLC",
        )

    def apply(self, data: st.DataObject, registration_id: str, edge: Move) -> bool:
        campaign = self.local(registration_id).type == "US_TEN_DLC_CAMPAIGN_REGISTRATION"
        changed = super().apply(data, registration_id, edge)
        if changed and edge.trigger == "submit" and campaign:
            SUBMITTED_CAMPAIGNS.add(registration_id)
        return changed


def test_a_campaign_is_associated_with_a_complete_brand_before_it_is_submitted() -> None:
    SUBMITTED_CAMPAIGNS.clear()
    report = Campaigns.run(settings=settings(FAST, max_examples=10))
    assert SUBMITTED_CAMPAIGNS, "no campaign was submitted"
    assert report.actions["associate"] >= len(SUBMITTED_CAMPAIGNS)


class LifecycleOnly:
    """A RegistrationApi that serves no forms."""

    def __init__(self, api: EmulatedRegistrationApi) -> None:
        self.api = api
        self.calls = api.calls
        self.create_registration = api.create_registration
        self.describe_registrations = api.describe_registrations
        self.describe_registration_versions = api.describe_registration_versions
        self.create_registration_version = api.create_registration_version
        self.submit_registration_version = api.submit_registration_version
        self.discard_registration_version = api.discard_registration_version
        self.delete_registration = api.delete_registration


class FormsWithoutFormsApi(WithForms):
    def make_target(self) -> ConformanceTarget:
        emulator = EmulatedRegistrationApi(seed=0, clock=MachineClock(), catalog=self.catalog)
        return ConformanceTarget(
            api=LifecycleOnly(emulator),
            advance=emulator.advance,
            name="no forms",
        )


def test_bad_form_settings_are_refused() -> None:
    class Typo(WithForms):
        required_form_actions = frozenset({"put_values"})

    class NoCatalog(RegistrationLifecycleMachine):
        required_form_actions = frozenset({"put_value"})

    with pytest.raises(InvalidArgument, match="unknown actions: put_values"):
        Typo.run(settings=TINY)
    with pytest.raises(InvalidArgument, match="need a catalog"):
        NoCatalog.run(settings=TINY)
    with pytest.raises(InvalidArgument, match="serves no forms"):
        FormsWithoutFormsApi()


class FormsOverHttp(OverHttp):
    """The forms through the boto3 adapter over HTTP; the served emulator plays the
    account's phone numbers."""

    catalog = Catalog.builtin()
    required_form_actions = frozenset()

    def make_target(self) -> AbstractContextManager[ConformanceTarget]:
        @contextmanager
        def target() -> Iterator[ConformanceTarget]:
            emulator = EmulatedRegistrationApi(
                seed=0, clock=MachineClock(), policy=self.policy, catalog=self.catalog
            )
            self.emulator = emulator
            with serve(emulator) as url:
                api = Boto3RegistrationApi.from_config(
                    region="us-east-1",
                    endpoint_url=url,
                    retry_mode="standard",
                    max_attempts=2,
                    connect_timeout=30,
                    read_timeout=120,
                )
                try:
                    yield ConformanceTarget(api=api, advance=emulator.advance, name="http")
                finally:
                    api.client.close()

        return target()

    def add_identity(self, association: SupportedAssociation) -> str | None:
        made = self.emulator.add_origination_identity(
            "phone-number",
            number_type=association.resource_type,
            iso_country_code=association.iso_country_code or "US",
        )
        return str(made["ResourceId"])

    def release_identity(self, resource_id: str) -> bool:
        self.emulator.release_origination_identity(resource_id)
        return True


def test_the_machine_drives_the_forms_through_the_boto3_adapter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    report = FormsOverHttp.run(settings=settings(FAST, max_examples=6, stateful_step_count=15))
    for action in ("submit_complete", "submit_incomplete", "put_refused"):
        assert report.actions.get(action, 0) > 0, report.actions
