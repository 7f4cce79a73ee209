"""The stateful machine: every lifecycle edge is reached through the API and the sync,
local equals remote after every step, and the coverage check catches what is never reached."""

from __future__ import annotations

import unittest
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

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
from registration_fsm.errors import CoverageError
from registration_fsm.testing import (
    ConformanceTarget,
    LifecycleCoverageWarning,
    MachineClock,
    RegistrationLifecycleMachine,
)

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
