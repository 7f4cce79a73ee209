"""Property-based tests of your own workflow, built on the testing kit.

The workflow: a discard needs a reason and the approval of someone other than
the person discarding (a four-eyes guard); every change goes to an audit log.
``test_four_eyes`` checks the guard on registrations the kit's strategies draw;
``TestAuditedWorkflow`` lets the kit's state machine drive the emulator through
every command and AWS-side event with the workflow's guards and an approval rule
plugged in, checking the workflow's invariants after every step.

Run it with ``python examples/property_based_workflow.py`` (prints the lifecycle
coverage reached), or collect it with ``pytest examples/property_based_workflow.py``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from registration_fsm import (
    GuardContext,
    Registration,
    RegistrationApi,
    Synchronizer,
    TransitionEvent,
    require_reason,
)
from registration_fsm.testing import RegistrationLifecycleMachine
from registration_fsm.testing.strategies import registrations

APPROVALS: set[str] = set()  # who has approved discarding (the app would keep this per version)


def four_eyes(ctx: GuardContext) -> str | None:
    """Someone other than the actor must have approved."""
    return None if APPROVALS - {ctx.actor} else f"{ctx.actor} may not discard alone"


@given(registrations(), st.sets(st.sampled_from(["alice", "bob"])))
def test_four_eyes(registration: Registration, approvals: set[str]) -> None:
    APPROVALS.clear()
    APPROVALS.update(approvals)
    builtin = registration.refusals("discard", actor="alice", reason="r")
    refusals = registration.refusals("discard", actor="alice", reason="r", guards=[four_eyes])
    expected = [r.name for r in builtin] + ([] if "bob" in approvals else ["four_eyes"])
    assert [r.name for r in refusals] == expected


class AuditedWorkflow(RegistrationLifecycleMachine):
    discard_guards = (require_reason, four_eyes)

    def make_synchronizer(self, api: RegistrationApi) -> Synchronizer:
        APPROVALS.clear()
        self.audit: list[tuple[TransitionEvent, frozenset[str]]] = []
        synchronizer = super().make_synchronizer(api)
        synchronizer.subscribe(lambda event: self.audit.append((event, frozenset(APPROVALS))))
        return synchronizer

    @rule(approver=st.sampled_from(["machine", "carol"]))
    def approve(self, approver: str) -> None:
        APPROVALS.add(approver)

    @invariant()
    def every_discard_had_a_reason_and_a_second_approver(self) -> None:
        for event, approvals in self.audit:
            if event.trigger == "discard":
                assert event.reason, event
                assert approvals - {event.actor}, f"{event.describe()} with only {approvals}"

    @invariant()
    def the_audit_log_tells_the_current_state(self) -> None:
        last = {(e.registration_id, e.version_number): e.dest for e, _ in self.audit}
        for rid in self.live:
            for number, version in self.synchronizer.get(rid).versions.items():
                assert last[(rid, number)] == version.status, (rid, number)


AuditedWorkflow.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None, derandomize=True
)
TestAuditedWorkflow = AuditedWorkflow.TestCase

if __name__ == "__main__":
    test_four_eyes()
    print("test_four_eyes: passed")
    print(f"TestAuditedWorkflow: passed\n{AuditedWorkflow.run()}")
