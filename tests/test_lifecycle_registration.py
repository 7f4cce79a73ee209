"""The registration's own lifecycle: its table, the status rules, the policy's switches
(optional edges by name, provisioning per type), and the aggregate applying them."""

from __future__ import annotations

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    DEFAULT_POLICY,
    LIFECYCLE,
    CommandRefused,
    Edge,
    InvalidArgument,
    LifecyclePolicy,
    Origin,
    Registration,
    RegistrationStatus,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.domain.lifecycle import RegistrationEdge
from registration_fsm.domain.statuses import (
    REGISTRATION_STATUS_RULES,
    derive_registration_status,
)
from registration_fsm.domain.walk import NEW_REGISTRATION, RegistrationState

R, V = RegistrationStatus, VersionStatus
TOLL_FREE = "US_TOLL_FREE_REGISTRATION"
PROVISIONING = LifecyclePolicy().with_provisioning(TOLL_FREE)


def _new(clock: TickingClock, reg_type: str = REG_TYPE) -> Registration:
    return Registration.new(REG_ID, REG_ARN, reg_type, clock=clock)


def _reviewing(clock: TickingClock, reg_type: str = REG_TYPE) -> Registration:
    reg = _new(clock, reg_type)
    reg.submit(clock=clock)
    reg.begin_review(clock=clock)
    return reg


def _snapshot(reg: Registration) -> tuple[object, ...]:
    return (reg.to_api(), reg.versions_to_api(), reg.status)


# -- the table ---------------------------------------------------------------------------


def test_the_registration_table_and_its_queries() -> None:
    assert [str(e) for e in LIFECYCLE.registration_edges] == [
        "REVIEWING --provision--> PROVISIONING",
        "REQUIRES_AUTHENTICATION --provision--> PROVISIONING",
        "PROVISIONING --complete_provisioning--> COMPLETE",
        "COMPLETE --close--> CLOSED",
        "CLOSED --delete--> DELETED",
        "(any) --delete--> DELETED",
    ]
    assert LIFECYCLE.registration_aws_triggers == ("provision", "complete_provisioning", "close")
    assert LIFECYCLE.trigger("provision").follows == "approve"
    assert LIFECYCLE.registration_allowed(R.COMPLETE) == ("close", "delete")
    # provision: never alone; delete: not while REVIEWING (the user guide's status page)
    assert LIFECYCLE.registration_allowed(R.REVIEWING) == ()
    assert LIFECYCLE.registration_allowed(R.PROVISIONING) == ("complete_provisioning", "delete")
    assert LIFECYCLE.registration_allowed(R.CLOSED) == ("delete",)
    assert LIFECYCLE.registration_allowed(R.DELETED) == ()
    assert LIFECYCLE.registration_allowed(R("SOME_NEW_STATUS")) == ("delete",)
    closed_delete = LIFECYCLE.registration_destination(R.CLOSED, "delete")
    assert closed_delete == RegistrationEdge(R.CLOSED, "delete", R.DELETED)
    assert closed_delete is not None
    assert closed_delete.documented
    anywhere = LIFECYCLE.registration_destination(R.SUBMITTED, "delete")
    assert anywhere == RegistrationEdge(None, "delete", R.DELETED)
    assert LIFECYCLE.registration_edge_taken(R.SUBMITTED, "delete", R.DELETED) == anywhere
    assert LIFECYCLE.registration_edge_taken(R.DELETED, "delete", R.DELETED) is None
    assert LIFECYCLE.registration_destination(R.REVIEWING, "close") is None
    path = LIFECYCLE.registration_path(R.PROVISIONING, R.DELETED)
    assert path is not None
    assert [e.trigger for e in path] == ["delete"]
    assert [e.trigger for e in LIFECYCLE.registration_path(R.PROVISIONING, R.CLOSED) or ()] == [
        "complete_provisioning",
        "close",
    ]
    assert LIFECYCLE.registration_path(R.REVIEWING, R.PROVISIONING) is None  # only with approve
    assert str(anywhere) == "(any) --delete--> DELETED"
    assert repr(closed_delete) == "RegistrationEdge(CLOSED --delete--> DELETED)"
    assert closed_delete in LIFECYCLE


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        ((RegistrationEdge(R.COMPLETE, "approve", R.CLOSED),), "not a registration trigger"),
        (
            (
                RegistrationEdge(R.COMPLETE, "close", R.CLOSED),
                RegistrationEdge(R.COMPLETE, "close", R.DELETED),
            ),
            "listed twice",
        ),
        ((RegistrationEdge(R.COMPLETE, "close", R.CLOSED, when="x"),), "take no when"),
    ],
)
def test_a_registration_table_that_means_nothing_is_refused(
    edges: tuple[RegistrationEdge, ...], match: str
) -> None:
    with pytest.raises(InvalidArgument, match=match):
        type(LIFECYCLE)(LIFECYCLE.edges, LIFECYCLE.triggers, edges)


def test_the_status_rules_are_one_table_read_in_order() -> None:
    assert len(REGISTRATION_STATUS_RULES) == 11
    assert derive_registration_status(R.REVIEWING, V.APPROVED, 1, True) == R.COMPLETE
    assert (
        derive_registration_status(R.REVIEWING, V.APPROVED, 1, True, provisioning=True)
        == R.PROVISIONING
    )
    assert derive_registration_status(R.PROVISIONING, V.DRAFT, 2, True) == R.PROVISIONING
    assert derive_registration_status(R.PROVISIONING, V.REVOKED, 1, False) == R.REQUIRES_UPDATES
    assert derive_registration_status(R.CLOSED, V.SUBMITTED, 2, True) == R.CLOSED
    assert derive_registration_status(R.REVIEWING, V.REQUIRES_OFFLINE_REVIEW, 1, False) == (
        R.REVIEWING
    )
    assert derive_registration_status(R.SUBMITTED, V("FUTURE"), 1, False) == R.SUBMITTED
    for rule in REGISTRATION_STATUS_RULES:
        assert rule.when
        assert rule.gives
        assert rule.why


# -- walking without a registration -------------------------------------------------------


def test_the_walk_follows_the_aggregate() -> None:
    complete = RegistrationState(R.COMPLETE, V.APPROVED, True, False)
    moves = {str(s.move): s.state for s in LIFECYCLE.registration_moves(complete)}
    assert moves["APPROVED --revoke--> REVOKED"].status == R.REQUIRES_UPDATES
    assert moves["(new) --create--> DRAFT"] == RegistrationState(R.COMPLETE, V.DRAFT, False, True)
    assert moves["COMPLETE --close--> CLOSED"].status == R.CLOSED
    assert moves["(any) --delete--> DELETED"].status == R.DELETED
    provisioning = RegistrationState(R.PROVISIONING, V.APPROVED, True, False)
    assert [str(s.move) for s in LIFECYCLE.registration_moves(provisioning)] == [
        "PROVISIONING --complete_provisioning--> COMPLETE",
        "(any) --delete--> DELETED",
    ]
    reviewing = RegistrationState(R.REVIEWING, V.REVIEWING, True, False)
    approvals = [
        s for s in LIFECYCLE.registration_moves(reviewing, provisions=True)
        if s.move.trigger == "approve"
    ]  # fmt: skip
    assert [(s.state.status, s.cascade) for s in approvals] == [
        (R.PROVISIONING, RegistrationEdge(R.REVIEWING, "provision", R.PROVISIONING))
    ]


def test_plans_reach_every_registration_edge_and_follow_the_policy() -> None:
    closed_delete = RegistrationEdge(R.CLOSED, "delete", R.DELETED)
    plan = LIFECYCLE.registration_plan(
        NEW_REGISTRATION, closed_delete, usable=DEFAULT_POLICY.allows
    )
    assert plan is not None
    assert [m.trigger for m in plan] == [
        "submit", "begin_review", "approve", "close", "delete",
    ]  # fmt: skip
    provision = RegistrationEdge(R.REVIEWING, "provision", R.PROVISIONING)
    assert LIFECYCLE.registration_plan(NEW_REGISTRATION, provision) is None
    plan = LIFECYCLE.registration_plan(NEW_REGISTRATION, provision, provisions=True)
    assert plan is not None
    assert plan[-1] == Edge(V.REVIEWING, "approve", V.APPROVED)
    assert LIFECYCLE.reachable_registration_edges(provisions=(False,)) == {
        RegistrationEdge(R.COMPLETE, "close", R.CLOSED),
        closed_delete,
        RegistrationEdge(None, "delete", R.DELETED),
    }
    assert LIFECYCLE.reachable_registration_edges() == set(LIFECYCLE.registration_edges)


def test_the_registration_graph_derives_the_status_changes() -> None:
    graph = LIFECYCLE.registration_graph()
    drawn = {(str(e.source), e.label, str(e.dest)) for e in graph}
    assert ("CREATED", "submit", "SUBMITTED") in drawn
    assert ("CREATED", "submit (aws_review)", "AWS_REVIEWING") in drawn
    assert ("REVIEWING", "approve", "COMPLETE") in drawn
    assert ("REVIEWING", "provision", "PROVISIONING") in drawn
    assert ("PROVISIONING", "complete_provisioning", "COMPLETE") in drawn
    assert ("COMPLETE", "close", "CLOSED") in drawn
    assert ("CLOSED", "delete", "DELETED") in drawn
    assert all(e.derived == (e.trigger not in LIFECYCLE.registration_triggers) for e in graph)
    assert not any(e.source == e.dest for e in graph)
    derived_optional = {e.trigger for e in graph if e.derived and e.optional}
    assert derived_optional == {"discard", "deny", "require_authentication"}
    never_provisioning = LIFECYCLE.registration_graph(provisions=(False,))
    assert not any(e.dest == R.PROVISIONING for e in never_provisioning)


# -- the policy ----------------------------------------------------------------------------


def test_optional_edges_are_turned_on_by_name_or_all_at_once() -> None:
    names = {e.name for e in LIFECYCLE.optional_edges}
    for name in names:
        policy = LifecyclePolicy.allow(name)
        (edge,) = policy.enabled
        assert edge.name == name
        assert policy == LifecyclePolicy.allow(str(edge)) == LifecyclePolicy.allowing(edge)
    everything = LifecyclePolicy.permissive()
    assert everything.enabled == LIFECYCLE.optional_edges
    assert all(everything.allows(e) for e in LIFECYCLE)
    assert LifecyclePolicy.allow_draft_discard() == LifecyclePolicy.allow("draft_discard")
    assert everything.discardable == {V.DRAFT, V.SUBMITTED, V.AWS_REVIEWING,
                                      V.REQUIRES_AUTHENTICATION}  # fmt: skip
    with pytest.raises(InvalidArgument, match="no optional edge is called 'reviewing_discard'"):
        LifecyclePolicy.allow("reviewing_discard")
    with pytest.raises(InvalidArgument, match="draft_discard"):
        LifecyclePolicy.allow("SUBMITTED --discard--> DISCARDED")


def test_provisioning_is_per_type_and_off_by_default() -> None:
    assert DEFAULT_POLICY.provisioning is False
    assert not DEFAULT_POLICY.provisions(TOLL_FREE)
    assert DEFAULT_POLICY.provisioning_choices == {False}
    assert PROVISIONING.provisions(TOLL_FREE)
    assert not PROVISIONING.provisions(REG_TYPE)
    assert PROVISIONING.provisioning_choices == {False, True}
    every = LifecyclePolicy.permissive(provisioning=True)
    assert every.provisions("ANY_TYPE")
    assert every.provisioning_choices == {True}
    assert LifecyclePolicy().with_provisioning().provisioning is True
    assert LifecyclePolicy(provisioning=[TOLL_FREE]) == PROVISIONING
    assert hash(PROVISIONING) == hash(LifecyclePolicy(provisioning=frozenset({TOLL_FREE})))
    for bad in ("US_TOLL_FREE_REGISTRATION", 3, [""], [7]):
        with pytest.raises(InvalidArgument, match="provisioning"):
            LifecyclePolicy(provisioning=bad)  # type: ignore[arg-type]


# -- the aggregate --------------------------------------------------------------------------


def test_an_approval_that_provisions_goes_through_provisioning(clock: TickingClock) -> None:
    reg = _reviewing(clock, TOLL_FREE)
    seen: list[TransitionEvent] = []
    reg.subscribe(seen.append)
    event = reg.approve(clock=clock, policy=PROVISIONING)
    assert (event.trigger, event.dest) == ("approve", V.APPROVED)
    assert reg.status == R.PROVISIONING
    provision = seen[-1]
    assert (provision.version_number, provision.trigger, provision.source, provision.dest) == (
        None, "provision", R.REVIEWING, R.PROVISIONING,
    )  # fmt: skip
    assert provision.reason == "version 1 was approved"
    assert provision.timestamp == event.timestamp
    assert provision.describe() == (
        "registration REVIEWING -> PROVISIONING (provision): version 1 was approved"
    )
    done = reg.complete_provisioning(clock=clock)
    assert (done.source, done.dest, done.version_number) == (R.PROVISIONING, R.COMPLETE, None)
    assert reg.to_api()["RegistrationStatus"] == "COMPLETE"
    assert Registration.from_api(reg.to_api(), reg.versions_to_api()) == reg


def test_the_default_approves_straight_to_complete(clock: TickingClock) -> None:
    reg = _reviewing(clock, TOLL_FREE)
    seen: list[TransitionEvent] = []
    reg.subscribe(seen.append)
    reg.approve(clock=clock)
    assert reg.status == R.COMPLETE
    assert [e.trigger for e in seen] == ["approve"]
    other = _reviewing(clock)
    other.approve(clock=clock, policy=PROVISIONING)  # another type: not provisioned
    assert other.status == R.COMPLETE


def test_provisioning_freezes_the_versions(clock: TickingClock) -> None:
    reg = _reviewing(clock, TOLL_FREE)
    reg.approve(clock=clock, policy=PROVISIONING)
    before = _snapshot(reg)
    for trigger in ("create", "revoke", "archive"):
        refusals = reg.refusals(trigger)
        assert refusals[0].name == "provisioning", refusals
        assert "only complete_provisioning, delete may happen first" in refusals[0].message
    with pytest.raises(CommandRefused, match="origination identity is being created"):
        reg.create_version(clock=clock)
    assert [r.name for r in reg.refusals("close")] == ["lifecycle"]
    assert [r.name for r in reg.refusals("provision")] == ["lifecycle"]
    assert _snapshot(reg) == before
    assert reg.refusals("complete_provisioning") == []
    assert reg.refusals("delete") == []


def test_closed_allows_only_delete(clock: TickingClock) -> None:
    reg = _reviewing(clock)
    reg.approve(clock=clock)
    event = reg.close(clock=clock)
    assert (event.trigger, event.source, event.dest, event.subject) == (
        "close", R.COMPLETE, R.CLOSED, "registration",
    )  # fmt: skip
    before = _snapshot(reg)
    for trigger in LIFECYCLE.triggers:
        refusals = reg.refusals(trigger, policy=LifecyclePolicy.permissive())
        assert bool(refusals) == (trigger != "delete"), (trigger, refusals)
    (refusal,) = reg.refusals("complete_provisioning")
    assert refusal.message.endswith("is CLOSED; complete_provisioning is not allowed from it "
                                    "(allowed: delete)")  # fmt: skip
    assert reg.refusals("create")[0].message == f"registration {REG_ID} is CLOSED"
    assert _snapshot(reg) == before
    deleted = reg.delete(actor="alice", reason="number released", metadata={"ticket": "T-9"})
    assert (deleted.source, deleted.dest, deleted.actor, deleted.reason) == (
        R.CLOSED, R.DELETED, "alice", "number released",
    )  # fmt: skip
    assert dict(deleted.metadata) == {"ticket": "T-9"}


def test_registration_triggers_take_who_why_and_guards(clock: TickingClock) -> None:
    reg = _reviewing(clock)
    reg.approve(clock=clock)

    def not_on_fridays(_: object) -> str:
        return "no closing today"

    with pytest.raises(CommandRefused) as err:
        reg.fire("close", clock=clock, guards=[not_on_fridays])
    assert [r.name for r in err.value.refusals] == ["not_on_fridays"]
    assert err.value.reason is None
    event = reg.fire(
        "close", clock=clock, actor="aws", reason="number deleted", origin=Origin.REMOTE
    )
    assert (event.actor, event.reason, event.origin) == ("aws", "number deleted", Origin.REMOTE)


def test_close_and_complete_are_refused_where_the_table_has_no_edge(clock: TickingClock) -> None:
    reg = _reviewing(clock)
    before = _snapshot(reg)
    (refusal,) = reg.refusals("close")
    assert refusal.name == "lifecycle"
    assert "is REVIEWING; close is not allowed from it (allowed: none)" in refusal.message
    with pytest.raises(CommandRefused):
        reg.complete_provisioning(clock=clock)
    with pytest.raises(CommandRefused, match="never fired alone"):
        reg.fire("provision", clock=clock)
    assert _snapshot(reg) == before


def test_delete_is_refused_while_reviewing_as_the_user_guide_says(clock: TickingClock) -> None:
    reg = _reviewing(clock)
    assert reg.status == R.REVIEWING
    assert "delete" not in LIFECYCLE.registration_allowed(R.REVIEWING)
    before = reg.versions_to_api()
    with pytest.raises(CommandRefused) as refused:
        reg.delete(clock=clock)
    assert refused.value.reason == "RESOURCE_DELETION_NOT_ALLOWED"
    assert "registrations-status.html" in str(refused.value)
    assert "can't make any changes" in str(refused.value)
    assert (reg.status, reg.versions_to_api()) == (R.REVIEWING, before)
    reg.approve(clock=clock)
    assert reg.delete(clock=clock).dest == R.DELETED


def test_wait_sees_the_registrations_own_statuses_as_reachable(clock: TickingClock) -> None:
    from registration_fsm.sync.follow import Wanted

    reg = _reviewing(clock, TOLL_FREE)
    reg.approve(clock=clock, policy=PROVISIONING)
    assert reg.status == R.PROVISIONING
    complete, closed = Wanted.of([R.COMPLETE]), Wanted.of([R.CLOSED])
    assert complete.reachable_from(reg)
    assert closed.reachable_from(reg)
    reg.fire("complete_provisioning", clock=clock, resource_id="phone-1")
    reg.fire("close", clock=clock, resource_id="phone-1")
    assert reg.status in {R.CLOSED}  # `in`: mypy narrowed reg.status above
    assert not complete.reachable_from(reg)
    assert Wanted.of([R.DELETED]).reachable_from(reg) is False  # a delete is a command
