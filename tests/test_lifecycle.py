"""The lifecycle: the one table of edges, its checks, and every question LIFECYCLE answers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    DEFAULT_POLICY,
    EDGES,
    LIFECYCLE,
    TRIGGERS,
    CommandRefused,
    Edge,
    Initiator,
    InvalidArgument,
    Lifecycle,
    LifecyclePolicy,
    Registration,
    RegistrationStatus,
    Trigger,
    UnknownTrigger,
    VersionStatus,
)
from registration_fsm.domain.history import HISTORY_FIELDS, STAMP_OF
from registration_fsm.domain.lifecycle import (
    DISCARD_GUIDE,
    REGISTRATION_EDGES,
    STATUS_DOC,
    STATUS_GUIDE,
    SUBMIT_DOC,
    Move,
    RegistrationEdge,
)

V = VersionStatus
MOVING = (
    "submit", "begin_review", "require_authentication", "authenticate",
    "require_offline_review", "approve", "deny", "discard", "revoke", "archive",
)  # fmt: skip
AWS_SIDE = (
    "begin_review", "require_authentication", "authenticate", "require_offline_review",
    "approve", "deny", "revoke", "archive",
)  # fmt: skip
OWN = ("provision", "complete_provisioning", "close", "delete")
R = RegistrationStatus

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
    return {(e.source, e.dest, STAMP_OF[e.dest]) for e in LIFECYCLE if e.source is not None}


# -- the table -----------------------------------------------------------------------------


def test_every_reference_edge_is_in_the_table() -> None:
    missing = REFERENCE_EDGES - _table_edges()
    assert not missing, f"edges of the reference missing from LIFECYCLE: {missing}"


#: The edges beyond the reference: the plausible ones AWS leaves open, each optional.
OPTIONAL = {
    "draft_discard": Edge(V.DRAFT, "discard", V.DISCARDED),
    "submitted_deny": Edge(V.SUBMITTED, "deny", V.DENIED),
    "aws_reviewing_authentication": Edge(
        V.AWS_REVIEWING, "require_authentication", V.REQUIRES_AUTHENTICATION
    ),
    "aws_reviewing_discard": Edge(V.AWS_REVIEWING, "discard", V.DISCARDED),
    "requires_authentication_discard": Edge(V.REQUIRES_AUTHENTICATION, "discard", V.DISCARDED),
}


def test_the_table_adds_only_optional_edges_beyond_the_reference() -> None:
    extra = _table_edges() - REFERENCE_EDGES
    assert extra == {(e.source, e.dest, STAMP_OF[e.dest]) for e in OPTIONAL.values()}
    optional = [e for e in LIFECYCLE if e.optional]
    assert {e.name: e for e in optional} == OPTIONAL
    for edge in optional:
        assert not edge.documented, edge
        assert edge.note, f"{edge}: an optional edge says why it is plausible"
    assert LIFECYCLE.optional_edges == frozenset(OPTIONAL.values())


#: The only edges an AWS page states (the link proves it); every other is inferred.
DOCUMENTED = {
    Edge(None, "create", V.DRAFT): STATUS_DOC,
    Edge(V.DRAFT, "submit", V.SUBMITTED): SUBMIT_DOC,
    Edge(V.SUBMITTED, "discard", V.DISCARDED): DISCARD_GUIDE,
    Edge(V.APPROVED, "revoke", V.REVOKED): STATUS_DOC,
    Edge(V.APPROVED, "archive", V.ARCHIVED): STATUS_DOC,
}


def test_only_the_edges_a_page_states_are_documented() -> None:
    assert {e: e.link for e in LIFECYCLE if e.documented} == DOCUMENTED
    # The status page describes REVIEWING, APPROVED and DENIED, not the steps between them.
    for dest in (V.APPROVED, V.DENIED):
        edge = LIFECYCLE.edge(V.REVIEWING, "approve" if dest == V.APPROVED else "deny", dest)
        assert edge is not None
        assert not edge.documented, edge
    own = {e: e.link for e in LIFECYCLE.registration_edges if e.documented}
    assert own == {RegistrationEdge(R.CLOSED, "delete", R.DELETED): STATUS_GUIDE}
    every: tuple[Move, ...] = (*LIFECYCLE.edges, *LIFECYCLE.registration_edges)
    for e in every:
        assert e.link.startswith("https://docs.aws.amazon.com/"), e


def test_lifecycle_is_the_edges_and_triggers() -> None:
    assert LIFECYCLE.edges == EDGES
    assert LIFECYCLE.registration_edges == REGISTRATION_EDGES
    assert len(LIFECYCLE) == len(EDGES) == 24
    assert list(LIFECYCLE) == list(EDGES)
    assert set(LIFECYCLE.triggers) == set(TRIGGERS) == {*MOVING, "create", *OWN}
    assert LIFECYCLE.registration_triggers == OWN


def test_trigger_names_are_the_domain_language() -> None:
    assert set(LIFECYCLE.moving_triggers) == set(MOVING)
    assert LIFECYCLE.initial == Edge(None, "create", V.DRAFT)
    assert STAMP_OF[LIFECYCLE.initial.dest] == "DraftTimestamp"
    assert LIFECYCLE.trigger("submit").details == ("aws_review", "field_values")
    assert LIFECYCLE.trigger("close").details == ("resource_id",)
    assert LIFECYCLE.trigger("deny").details == ("denied_reasons", "feedback")
    assert LIFECYCLE.trigger("delete").scope == "registration"


def test_every_entry_is_complete() -> None:
    history_fields = {api for api, _, _ in HISTORY_FIELDS}
    for e in LIFECYCLE:
        stamp = STAMP_OF[e.dest]
        assert stamp is None or stamp in history_fields
        assert e.link.startswith("https://docs.aws.amazon.com/"), e
        trigger = LIFECYCLE.triggers[e.trigger]
        assert trigger.initiator in (Initiator.CUSTOMER, Initiator.AWS)
        if trigger.operation is not None:
            assert trigger.initiator == Initiator.CUSTOMER
            assert trigger.conflict_reason is not None
    # Every history field is stamped by some edge; REQUIRES_OFFLINE_REVIEW has none.
    assert {STAMP_OF[e.dest] for e in LIFECYCLE} - {None} == history_fields
    assert STAMP_OF[V.REQUIRES_OFFLINE_REVIEW] is None


def test_no_unreachable_status_and_no_trap() -> None:
    reachable = LIFECYCLE.reachable(V.DRAFT)
    assert reachable == set(VersionStatus), f"unreachable: {set(VersionStatus) - reachable}"
    terminal = LIFECYCLE.terminal
    assert terminal == {V.DISCARDED, V.DENIED, V.REVOKED, V.ARCHIVED}
    for status in VersionStatus:
        assert LIFECYCLE.reachable(status) & terminal, f"{status} cannot reach a terminal status"


def test_one_shared_machine_without_models_or_auto_transitions() -> None:
    machine = LIFECYCLE.machine
    assert machine is LIFECYCLE.machine
    assert machine.models == []
    assert not machine.auto_transitions
    assert set(machine.events) == set(MOVING)


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        ((), "exactly one create edge, has 0"),
        ((*EDGES, Edge(None, "create", V.SUBMITTED)), "exactly one create edge, has 2"),
        ((*EDGES, EDGES[2]), "listed twice"),
        ((*EDGES, Edge(V.DRAFT, "delete", V.DISCARDED)), "not a version trigger"),
        ((*EDGES, Edge(V.DRAFT, "frobnicate", V.DISCARDED)), "not a version trigger"),
        ((*EDGES, Edge(V.DENIED, "deny", V.DENIED, when="aws_review")), "not a detail of deny"),
    ],
)
def test_a_table_that_means_nothing_is_refused(edges: tuple[Edge, ...], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        Lifecycle(edges, TRIGGERS)


def test_a_lifecycle_of_your_own_answers_from_its_own_table() -> None:
    triggers = {
        "create": Trigger("create", Initiator.CUSTOMER),
        "submit": Trigger("submit", Initiator.CUSTOMER, "SubmitRegistrationVersion"),
    }
    tiny = Lifecycle(
        [Edge(None, "create", V.DRAFT), Edge(V.DRAFT, "submit", V.SUBMITTED)], triggers
    )
    assert tiny.allowed(V.DRAFT) == ("submit",)
    assert tiny.terminal == frozenset(VersionStatus) - {V.DRAFT}
    assert tiny.destination(V.DRAFT, "submit") == Edge(V.DRAFT, "submit", V.SUBMITTED)
    assert tiny.aws_triggers == ()


# -- the questions LIFECYCLE answers -------------------------------------------------------------


def test_destination_is_resolved_by_the_machine() -> None:
    aws = LIFECYCLE.destination(V.DRAFT, "submit", {"aws_review": True})
    plain = LIFECYCLE.destination(V.DRAFT, "submit", {"aws_review": False})
    assert aws == Edge(V.DRAFT, "submit", V.AWS_REVIEWING)
    assert aws is not None
    assert aws.when == "aws_review"
    assert aws.label == "submit (aws_review)"
    assert plain == Edge(V.DRAFT, "submit", V.SUBMITTED)
    assert LIFECYCLE.destination(V.DRAFT, "submit") == plain
    assert LIFECYCLE.destination(V.DRAFT, "approve") is None
    assert LIFECYCLE.destination(V.APPROVED, "archive") == Edge(V.APPROVED, "archive", V.ARCHIVED)
    assert LIFECYCLE.destination(VersionStatus("FUTURE_STATUS"), "submit") is None


def test_allowed_edges_from_and_successors() -> None:
    assert LIFECYCLE.allowed(V.DRAFT) == ("submit", "discard")
    assert LIFECYCLE.allowed(V.APPROVED) == ("revoke", "archive")
    assert LIFECYCLE.allowed(V.DENIED) == ()
    assert LIFECYCLE.allowed(VersionStatus("FUTURE_STATUS")) == ()
    assert [str(e) for e in LIFECYCLE.edges_from(V.DRAFT)] == [
        "DRAFT --submit--> AWS_REVIEWING",
        "DRAFT --submit--> SUBMITTED",
        "DRAFT --discard--> DISCARDED",
    ]
    assert LIFECYCLE.successors(V.SUBMITTED) == {
        V.REVIEWING,
        V.REQUIRES_AUTHENTICATION,
        V.DISCARDED,
        V.DENIED,  # optional
    }
    assert LIFECYCLE.sources_of("revoke") == {V.APPROVED}
    assert LIFECYCLE.sources_of("create") == frozenset()


def test_shortest_path() -> None:
    path = LIFECYCLE.shortest_path(V.DRAFT, V.APPROVED)
    assert path is not None
    assert [e.trigger for e in path] == ["submit", "begin_review", "approve"]
    assert path[0].dest == V.AWS_REVIEWING, "ties go to the edge listed first"
    assert LIFECYCLE.shortest_path(V.DRAFT, V.DRAFT) == ()
    assert LIFECYCLE.shortest_path(V.DENIED, V.APPROVED) is None
    to_closed = LIFECYCLE.shortest_path(V.REVIEWING, {V.APPROVED, V.DENIED})
    assert to_closed == (Edge(V.REVIEWING, "approve", V.APPROVED),)


def test_shortest_path_uses_only_usable_edges() -> None:
    no_review = LIFECYCLE.shortest_path(
        V.DRAFT, V.APPROVED, usable=lambda e: e.trigger != "begin_review"
    )
    assert no_review is not None
    assert [str(e) for e in no_review] == [
        "DRAFT --submit--> AWS_REVIEWING",
        "AWS_REVIEWING --require_authentication--> REQUIRES_AUTHENTICATION",  # optional
        "REQUIRES_AUTHENTICATION --approve--> APPROVED",
    ]
    documented_only = LIFECYCLE.shortest_path(
        V.DRAFT,
        V.APPROVED,
        usable=lambda e: e.trigger != "begin_review" and DEFAULT_POLICY.allows(e),
    )
    assert documented_only is not None
    assert documented_only[1] == Edge(
        V.SUBMITTED, "require_authentication", V.REQUIRES_AUTHENTICATION
    )
    assert LIFECYCLE.shortest_path(V.DRAFT, V.DISCARDED, usable=DEFAULT_POLICY.allows) == (
        Edge(V.DRAFT, "submit", V.SUBMITTED),
        Edge(V.SUBMITTED, "discard", V.DISCARDED),
    )
    allow = LifecyclePolicy.allow_draft_discard()
    assert LIFECYCLE.shortest_path(V.DRAFT, V.DISCARDED, usable=allow.allows) == (
        Edge(V.DRAFT, "discard", V.DISCARDED),
    )
    assert LIFECYCLE.shortest_path(V.DRAFT, V.APPROVED, usable=lambda e: False) is None


def test_distance_and_reachable() -> None:
    assert LIFECYCLE.distance(V.DRAFT, V.APPROVED) == 3
    assert LIFECYCLE.distance(V.DRAFT, V.ARCHIVED) == 4
    assert LIFECYCLE.distance(V.DRAFT, V.DRAFT) == 0
    assert LIFECYCLE.distance(V.DENIED, V.DRAFT) is None
    assert LIFECYCLE.reachable(V.APPROVED) == {V.APPROVED, V.REVOKED, V.ARCHIVED}
    assert LIFECYCLE.reachable(V.DENIED) == {V.DENIED}
    future = VersionStatus("FUTURE_STATUS")
    assert LIFECYCLE.reachable(future) == {future}


def test_aws_triggers_are_those_no_operation_fires() -> None:
    assert LIFECYCLE.aws_triggers == AWS_SIDE
    for name in LIFECYCLE.aws_triggers:
        assert LIFECYCLE.triggers[name].operation is None


def test_edges_compare_by_source_trigger_and_dest() -> None:
    table = LIFECYCLE.edge(V.SUBMITTED, "discard", V.DISCARDED)
    assert table is not None
    assert table.documented
    mine = Edge(V.SUBMITTED, "discard", V.DISCARDED)
    assert mine == table
    assert hash(mine) == hash(table)
    assert mine in set(LIFECYCLE)
    assert Edge(V.SUBMITTED, "discard", V.DISCARDED, note="another note") == table
    assert Edge(V.SUBMITTED, "discard", V.DENIED) != table
    assert Edge(V.DRAFT, "discard", V.DISCARDED) != table
    assert LIFECYCLE.edge(V.DRAFT, "approve", V.APPROVED) is None
    assert repr(mine) == "Edge(SUBMITTED --discard--> DISCARDED)"
    assert str(LIFECYCLE.initial) == "(new) --create--> DRAFT"


def test_lifecycle_policy_turns_on_only_optional_edges() -> None:
    draft_discard = Edge(V.DRAFT, "discard", V.DISCARDED)
    assert not DEFAULT_POLICY.allows(draft_discard)
    assert DEFAULT_POLICY.allows(Edge(V.SUBMITTED, "discard", V.DISCARDED, optional=False))
    policy = LifecyclePolicy.allowing(draft_discard)
    table_edge = LIFECYCLE.edge(V.DRAFT, "discard", V.DISCARDED)
    assert table_edge is not None
    assert policy.allows(table_edge)
    for edge in LIFECYCLE:
        if not edge.optional:
            with pytest.raises(InvalidArgument, match="not an optional edge"):
                LifecyclePolicy.allowing(edge)
    with pytest.raises(InvalidArgument, match="not an optional edge"):
        LifecyclePolicy.allowing(Edge(V.DENIED, "discard", V.DISCARDED))


# -- every status by every trigger, through the aggregate ------------------------------------------


def _registration_in(status: VersionStatus, clock: TickingClock) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    reg.adopt_version(reg.current_version.with_status(status))
    return reg


CASES = [
    (status, trigger, {"aws_review": review} if trigger == "submit" else {})
    for status, trigger, review in itertools.product(VersionStatus, MOVING, (False, True))
    if trigger == "submit" or not review
]


@pytest.mark.parametrize(("status", "trigger", "details"), CASES, ids=str)
def test_exhaustive_status_by_trigger_against_the_table(
    status: VersionStatus, trigger: str, details: dict[str, Any], clock: TickingClock
) -> None:
    candidates = [e for e in EDGES if e.trigger == trigger and e.source == status]
    chosen = [e for e in candidates if e.when and details.get(e.when)] or [
        e for e in candidates if e.when is None
    ]
    expected = chosen[0] if chosen else None
    reg = _registration_in(status, clock)
    before = (reg.to_api(), reg.versions_to_api())
    if expected is None or expected.optional:
        with pytest.raises(CommandRefused) as err:
            reg.fire(trigger, clock=clock, **details)
        assert err.value.trigger == trigger
        assert [r.name for r in err.value.refusals] == [
            "lifecycle" if expected is None else "policy"
        ]
        assert (reg.to_api(), reg.versions_to_api()) == before
        if expected is None:
            return
    policy = LifecyclePolicy.permissive()
    event = reg.fire(trigger, clock=clock, policy=policy, **details)
    assert reg.current_version.status == expected.dest
    assert (event.source, event.dest, event.trigger) == (status, expected.dest, trigger)
    stamp = STAMP_OF[expected.dest]
    if stamp is not None:
        assert reg.current_version.history.get(stamp) == event.timestamp


def test_unknown_trigger_is_a_typed_error(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    with pytest.raises(UnknownTrigger, match="known triggers: create, submit") as err:
        reg.fire("to_APPROVED", clock=clock)
    assert isinstance(err.value, ValueError)
    assert err.value.trigger == "to_APPROVED"
    with pytest.raises(UnknownTrigger):
        reg.refusals("to_APPROVED")
    with pytest.raises(UnknownTrigger):
        LIFECYCLE.trigger(7)
    assert reg.current_version.status == V.DRAFT
