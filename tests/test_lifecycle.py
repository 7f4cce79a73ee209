"""The lifecycle table: definition checks, coverage of the reference, and the engine."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from support import REG_ARN, REG_ID, TickingClock

from registration_fsm import (
    LIFECYCLE,
    Cause,
    RegistrationVersion,
    StatusHistory,
    TransitionNotAllowed,
    UnknownTrigger,
    VersionStatus,
)
from registration_fsm.domain.engine import rulebook
from registration_fsm.domain.history import HISTORY_FIELDS
from registration_fsm.domain.lifecycle import RULES

V = VersionStatus
TRIGGERS = (
    "submit", "begin_review", "require_authentication", "authenticate",
    "require_offline_review", "approve", "deny", "revoke", "archive", "discard",
)  # fmt: skip

#: Every edge of the reference table (shared/reference/lifecycle.md): (from, to, field).
REFERENCE_EDGES = {
    (V.DRAFT, V.SUBMITTED, "SubmittedTimestamp"),
    (V.DRAFT, V.AWS_REVIEWING, "AwsReviewingTimestamp"),
    (V.SUBMITTED, V.REVIEWING, "ReviewingTimestamp"),
    (V.AWS_REVIEWING, V.REVIEWING, "ReviewingTimestamp"),
    (V.AWS_REVIEWING, V.DENIED, "DeniedTimestamp"),
    (V.SUBMITTED, V.REQUIRES_AUTHENTICATION, "RequiresAuthenticationTimestamp"),
    (V.REVIEWING, V.REQUIRES_AUTHENTICATION, "RequiresAuthenticationTimestamp"),
    (V.REQUIRES_AUTHENTICATION, V.REVIEWING, "ReviewingTimestamp"),
    (V.REVIEWING, V.REQUIRES_OFFLINE_REVIEW, None),
    (V.REVIEWING, V.APPROVED, "ApprovedTimestamp"),
    (V.REQUIRES_AUTHENTICATION, V.APPROVED, "ApprovedTimestamp"),
    (V.REQUIRES_OFFLINE_REVIEW, V.APPROVED, "ApprovedTimestamp"),
    (V.REVIEWING, V.DENIED, "DeniedTimestamp"),
    (V.REQUIRES_AUTHENTICATION, V.DENIED, "DeniedTimestamp"),
    (V.REQUIRES_OFFLINE_REVIEW, V.DENIED, "DeniedTimestamp"),
    (V.SUBMITTED, V.DISCARDED, "DiscardedTimestamp"),
    (V.APPROVED, V.ARCHIVED, "ArchivedTimestamp"),
    (V.APPROVED, V.REVOKED, "RevokedTimestamp"),
}


def _table_edges() -> set[tuple[VersionStatus, VersionStatus, str | None]]:
    return {(s, t.dest, t.stamps) for t in LIFECYCLE for s in t.sources}


def test_every_reference_edge_is_in_the_table() -> None:
    missing = REFERENCE_EDGES - _table_edges()
    assert not missing, f"edges of the reference missing from LIFECYCLE: {missing}"


def test_table_adds_only_the_documented_extra_edge() -> None:
    # DRAFT -> DISCARDED is the one edge beyond the reference: policy-gated, inferred.
    extra = _table_edges() - REFERENCE_EDGES
    assert extra == {(V.DRAFT, V.DISCARDED, "DiscardedTimestamp")}
    (edge,) = [t for t in LIFECYCLE if V.DRAFT in t.sources and t.dest == V.DISCARDED]
    assert not edge.documented


def test_trigger_names_are_the_domain_language() -> None:
    assert set(RULES.triggers) == set(TRIGGERS)
    assert RULES.initial.dest == V.DRAFT
    assert RULES.initial.stamps == "DraftTimestamp"


def test_every_entry_is_complete() -> None:
    history_fields = {api for api, _ in HISTORY_FIELDS}
    for t in LIFECYCLE:
        assert t.stamps is None or t.stamps in history_fields
        assert t.cause in (Cause.CUSTOMER, Cause.AWS)
        assert t.source_link.startswith("https://docs.aws.amazon.com/")
        if t.operation is not None:
            assert t.cause == Cause.CUSTOMER
    # Every history field is stamped by some edge; REQUIRES_OFFLINE_REVIEW has none.
    assert {t.stamps for t in LIFECYCLE} - {None} == history_fields
    assert RULES.stamp_of[V.REQUIRES_OFFLINE_REVIEW] is None


def test_no_unreachable_status_and_no_trap() -> None:
    reachable = RULES.reachable(V.DRAFT)
    assert reachable == set(VersionStatus), f"unreachable: {set(VersionStatus) - reachable}"
    terminal = RULES.terminal
    assert terminal == {V.DISCARDED, V.DENIED, V.REVOKED, V.ARCHIVED}
    for status in VersionStatus:
        assert RULES.reachable(status) & terminal, f"{status} cannot reach a terminal status"


def test_one_shared_machine_without_models_or_auto_transitions() -> None:
    machine = rulebook()
    assert machine is rulebook()
    assert machine.models == []
    assert not machine.auto_transitions
    assert set(machine.events) == set(TRIGGERS)


def _version_in(status: VersionStatus, clock: TickingClock) -> RegistrationVersion:
    return RegistrationVersion(REG_ID, REG_ARN, 1, status, StatusHistory(draft=clock()))


@pytest.mark.parametrize(
    ("status", "trigger", "aws_review"),
    list(itertools.product(VersionStatus, TRIGGERS, (False, True))),
)
def test_exhaustive_status_by_trigger_against_the_table(
    status: VersionStatus, trigger: str, aws_review: bool, clock: TickingClock
) -> None:
    candidates = [t for t in LIFECYCLE if t.trigger == trigger and status in t.sources]
    details: dict[str, Any] = {"aws_review": True} if aws_review else {}
    chosen = [t for t in candidates if t.when and details.get(t.when)] or [
        t for t in candidates if t.when is None
    ]
    expected = chosen[0] if chosen else None
    version = _version_in(status, clock)
    if expected is None:
        before = version.to_api()
        with pytest.raises(TransitionNotAllowed) as err:
            version.fire(trigger, clock=clock, **details)
        assert err.value.trigger == trigger
        assert err.value.status == status
        assert err.value.allowed == RULES.allowed[status]
        assert version.to_api() == before
        return
    event = version.fire(trigger, clock=clock, **details)
    assert version.status == expected.dest
    assert (event.source, event.dest, event.trigger) == (status, expected.dest, trigger)
    if expected.stamps is not None:
        assert version.history.get(expected.stamps) == event.timestamp


def test_unknown_trigger_is_a_typed_error(clock: TickingClock) -> None:
    version = _version_in(V.DRAFT, clock)
    with pytest.raises(UnknownTrigger, match="known triggers: submit"):
        version.fire("to_APPROVED", clock=clock)
    assert version.status == V.DRAFT
