"""A four-eyes rule for discards: refused until a second person approves.

The discard goes through a Synchronizer to the in-memory emulator, so the guards
run before any request is made: a refused discard costs no API call. The
emulator keeps AWS's request quotas on a virtual clock, so filling in the
registration's form (one request per field) runs at once. Run it with

    python examples/compliance_guard.py
"""

from __future__ import annotations

from registration_fsm import (
    CommandRefused,
    EmulatedRegistrationApi,
    Guard,
    GuardContext,
    Synchronizer,
    TransitionEvent,
    fill_form,
    require_reason,
)
from registration_fsm.testing import VirtualClock


class FourEyes:
    """A guard: discarding needs the approval of someone other than the person discarding."""

    def __init__(self) -> None:
        self.approvals: dict[tuple[str, int], set[str]] = {}

    def approve(self, registration_id: str, version: int, approver: str) -> None:
        """Record that ``approver`` agrees to discarding that version."""
        self.approvals.setdefault((registration_id, version), set()).add(approver)

    def __call__(self, ctx: GuardContext) -> str | None:
        approvers = self.approvals.get((ctx.registration.id, ctx.version.number), set())
        others = approvers - {ctx.actor}
        if not others:
            who = ctx.actor or "an unnamed actor"
            return f"{who} may not discard v{ctx.version.number} alone: a second person must agree"
        return None


def main() -> None:
    api = EmulatedRegistrationApi(seed=1, clock=VirtualClock())
    syncer = Synchronizer(api)
    audit: list[TransitionEvent] = []
    syncer.subscribe(audit.append)
    four_eyes = FourEyes()
    guards: list[Guard] = [require_reason, four_eyes]
    rid = syncer.create("US_TEN_DLC_BRAND_REGISTRATION").id
    fill_form(api, rid)  # the brand's form, from the catalogue's example values
    syncer.submit(rid, actor="alice")

    def discard(actor: str) -> None:
        before = sum(api.calls.values())
        try:
            event = syncer.discard(rid, actor=actor, reason="wrong EIN", guards=guards)
        except CommandRefused as refusal:
            calls = sum(api.calls.values()) - before
            print(f"  refused ({refusal.reason}); API calls made: {calls}")
            for failed in refusal.refusals:
                print(f"  - {failed.name}: {failed.message}")
        else:
            print(f"  allowed: {event.describe()}")

    print("alice discards alone:")
    discard("alice")
    print("alice approves her own discard; that does not count:")
    four_eyes.approve(rid, 1, "alice")
    discard("alice")
    print("bob approves, then alice discards:")
    four_eyes.approve(rid, 1, "bob")
    discard("alice")
    print(f"audit trail of {rid}:")
    for event in audit:
        print(f"  {event.timestamp:%H:%M:%S} {event.describe()}")


if __name__ == "__main__":
    main()
