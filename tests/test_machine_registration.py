"""The stateful machine drives the registration's own lifecycle: approvals through
PROVISIONING, ``complete_provisioning``, ``close`` and ``delete``, with their edges in
its coverage."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from registration_fsm import (
    LIFECYCLE,
    LifecyclePolicy,
    Registration,
    RegistrationStatus,
    TransitionEvent,
)
from registration_fsm.domain.lifecycle import RegistrationEdge
from registration_fsm.testing import RegistrationLifecycleMachine
from registration_fsm.testing.strategies import registrations, transition_events

R = RegistrationStatus
TOLL_FREE = "US_TOLL_FREE_REGISTRATION"
FAST = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Provisioning(RegistrationLifecycleMachine):
    """Toll-free approvals pass through PROVISIONING; brand approvals do not."""

    policy = LifecyclePolicy.permissive().with_provisioning(TOLL_FREE)


def test_every_edge_of_both_tables_is_reached() -> None:
    report = Provisioning.run(settings=FAST)
    assert report.ok, str(report)
    assert report.required == {*LIFECYCLE.edges, *LIFECYCLE.registration_edges}
    assert set(report.registration_edges) == set(LIFECYCLE.registration_edges)
    assert {R.PROVISIONING, R.CLOSED, R.DELETED} <= set(report.registration_statuses)


def test_the_machine_plans_every_registration_edge() -> None:
    machine = Provisioning()
    try:
        arn = "arn:aws:sms-voice:us-east-1:1:registration/registration-1"
        toll_free = Registration.new("registration-1", arn, TOLL_FREE)
        brand = Registration.new("registration-1", arn, "US_TEN_DLC_BRAND_REGISTRATION")
        for edge in LIFECYCLE.registration_edges:
            plan = machine.plan(toll_free, edge)
            assert plan, edge
            if edge.trigger == "provision":
                assert plan[-1].trigger == "approve"
                assert machine.plan(brand, edge) is None, "brand approvals do not provision"
            else:
                assert plan[-1] == edge
        closing = machine.plan(brand, RegistrationEdge(R.CLOSED, "delete", R.DELETED))
        assert [m.trigger for m in closing or ()] == [
            "submit", "begin_review", "approve", "close", "delete",
        ]  # fmt: skip
    finally:
        machine.teardown()


def test_the_default_machine_requires_what_it_can_reach() -> None:
    required = RegistrationLifecycleMachine.coverage_report().required
    own = {e for e in required if isinstance(e, RegistrationEdge)}
    assert own == LIFECYCLE.reachable_registration_edges(provisions=(False,))
    assert {e.trigger for e in own} == {"close", "delete"}


# -- the strategies --------------------------------------------------------------------------


@given(registrations(max_versions=2, registration_steps=True))
@settings(max_examples=60, deadline=None, database=None)
def test_registrations_may_take_their_own_steps(registration: Registration) -> None:
    assert registration.invariant_violations() == []
    again = Registration.from_api(registration.to_api(), registration.versions_to_api())
    assert again == registration
    assert again.anomalies == ()


def test_registration_steps_reach_every_registration_level_status() -> None:
    for status in (R.PROVISIONING, R.CLOSED, R.DELETED):
        found = find(
            registrations(max_versions=1, registration_steps=True),
            lambda r, status=status: r.status == status,  # type: ignore[misc]
            settings=settings(database=None, max_examples=3000),
        )
        assert found.status == status


@given(st.sampled_from(LIFECYCLE.registration_triggers).flatmap(
    lambda t: st.tuples(st.just(t), transition_events(trigger=t))
))  # fmt: skip
@settings(max_examples=40, deadline=None, database=None)
def test_transition_events_of_the_registrations_own_triggers(drawn: tuple[str, Any]) -> None:
    trigger, event = drawn
    assert (event.trigger, event.version_number) == (trigger, None)
    assert isinstance(event.source, RegistrationStatus)
    assert LIFECYCLE.registration_edge_taken(event.source, trigger, event.dest) is not None
    assert TransitionEvent.from_dict(event.to_dict()) == event
