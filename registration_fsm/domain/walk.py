"""Walking a registration's lifecycle without a registration: both tables and the status rules.

A :class:`RegistrationState` holds what the registration status depends on (the
status, the current version's status, whether it is version 1, whether an older
version is APPROVED). :func:`moves` lists what a registration in a state can do —
version edges, ``create``, the registration's own edges — and where each leads,
the status following :func:`~registration_fsm.domain.statuses.derive_registration_status`
as the aggregate's does. :func:`plan` finds the shortest way to take an edge (the
stateful machine's ``drive``), :func:`graph` every change of registration status
(the registration diagram). :class:`~registration_fsm.domain.lifecycle.Lifecycle`
exposes them as ``registration_moves``, ``registration_plan`` and ``registration_graph``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple, Protocol

from registration_fsm.domain.edges import INFO_DOC, Edge, Move, RegistrationEdge, Trigger
from registration_fsm.domain.statuses import (
    CLOSED_VERSION_STATUSES,
    REGISTRATION_LEVEL_STATUSES,
    RegistrationStatus,
    VersionStatus,
    derive_registration_status,
)

V, R = VersionStatus, RegistrationStatus


class Lifecycle(Protocol):
    """What a walk reads of :class:`~registration_fsm.domain.lifecycle.Lifecycle`."""

    @property
    def triggers(self) -> Mapping[str, Trigger]: ...
    @property
    def initial(self) -> Edge: ...
    def edges_from(self, status: VersionStatus) -> tuple[Edge, ...]: ...
    def allowed(self, status: VersionStatus) -> tuple[str, ...]: ...
    def registration_edges_from(
        self, status: RegistrationStatus
    ) -> tuple[RegistrationEdge, ...]: ...
    def registration_destination(
        self, status: RegistrationStatus, trigger: str
    ) -> RegistrationEdge | None: ...


class RegistrationState(NamedTuple):
    """What the registration status depends on.

    ``approved``: a version older than the current one is APPROVED (the current one
    may be too: ``current``).
    """

    status: RegistrationStatus
    current: VersionStatus
    first: bool
    approved: bool

    @property
    def has_approved(self) -> bool:
        """Some version is APPROVED."""
        return self.approved or self.current is V.APPROVED


#: A new registration: CREATED, version 1 in DRAFT.
NEW_REGISTRATION = RegistrationState(R.CREATED, V.DRAFT, True, False)


class Step(NamedTuple):
    """One move: the move, where it leads, and the registration edge that comes with it
    (``provision``, with an approval that provisions)."""

    move: Move
    state: RegistrationState
    cascade: RegistrationEdge | None = None


def moves(
    lifecycle: Lifecycle,
    state: RegistrationState,
    *,
    provisions: bool = False,
    usable: Callable[[Move], bool] | None = None,
) -> tuple[Step, ...]:
    """Every move a registration in ``state`` can take, and where each leads.

    Version edges act on the current version (``revoke``/``archive`` on an older
    APPROVED one when the current cannot take them), ``create`` opens a new version
    over a closed one, and the registration's own edges apply (not ``provision``,
    which only comes with an approval). ``provisions``: an approval passes through
    PROVISIONING. In PROVISIONING, CLOSED and DELETED only the registration's own
    edges apply. ``usable`` leaves out moves (a policy's ``allows``).
    """
    ok = usable or (lambda _: True)
    out: list[Step] = []
    status, current = state.status, state.current
    if status not in REGISTRATION_LEVEL_STATUSES and not current.is_unknown:
        for e in lifecycle.edges_from(current):
            if ok(e) and (step := _version_step(lifecycle, state, e, provisions)) is not None:
                out.append(step)
        if state.approved:
            for e in lifecycle.edges_from(V.APPROVED):
                if ok(e) and e.trigger not in lifecycle.allowed(current):
                    out.append(Step(e, _rederived(state._replace(approved=False))))
        if current in CLOSED_VERSION_STATUSES and ok(lifecycle.initial):
            fresh = RegistrationState(status, V.DRAFT, False, state.has_approved)
            out.append(Step(lifecycle.initial, _rederived(fresh)))
    for r in lifecycle.registration_edges_from(status):
        if lifecycle.triggers[r.trigger].follows is None and ok(r):
            out.append(Step(r, state._replace(status=r.dest)))
    return tuple(out)


def _version_step(
    lifecycle: Lifecycle, state: RegistrationState, e: Edge, provisions: bool
) -> Step | None:
    approving = e.dest is V.APPROVED
    after = state._replace(current=e.dest, approved=state.approved and not approving)
    if not (approving and provisions):
        return Step(e, _rederived(after))
    cascade = lifecycle.registration_destination(state.status, "provision")
    if cascade is None:
        return None  # the aggregate refuses such an approval
    return Step(e, _rederived(after, provisioning=True), cascade)


def _rederived(state: RegistrationState, *, provisioning: bool = False) -> RegistrationState:
    status = derive_registration_status(
        state.status,
        state.current,
        1 if state.first else 2,
        state.has_approved,
        provisioning=provisioning,
    )
    return state._replace(status=status)


def plan(
    lifecycle: Lifecycle,
    start: RegistrationState,
    goal: Move,
    *,
    provisions: bool = False,
    usable: Callable[[Move], bool] | None = None,
) -> tuple[Move, ...] | None:
    """The shortest chain of moves from ``start`` whose last move takes ``goal`` (for
    ``provision``, the approval it comes with); None if no chain does. Ties go to the
    move listed first."""
    frontier: list[tuple[RegistrationState, tuple[Move, ...]]] = [(start, ())]
    seen = {start}
    while frontier:
        following: list[tuple[RegistrationState, tuple[Move, ...]]] = []
        for state, path in frontier:
            for step in moves(lifecycle, state, provisions=provisions, usable=usable):
                if goal in (step.move, step.cascade):
                    return (*path, step.move)
                if step.state not in seen:
                    seen.add(step.state)
                    following.append((step.state, (*path, step.move)))
        frontier = following
    return None


def graph(
    lifecycle: Lifecycle,
    *,
    provisions: Collection[bool] = (False, True),
    usable: Callable[[Move], bool] | None = None,
) -> tuple[RegistrationEdge, ...]:
    """Every change of registration status a new registration can go through.

    The registration table's edges a walk reaches, and ``derived`` edges for the
    status changes version edges make (``REVIEWING --approve--> COMPLETE``), in
    status order. ``provisions``: the approval choices to walk (both by default:
    the choice is per registration type).
    """
    found: dict[RegistrationEdge, RegistrationEdge] = {}
    for choice in provisions:
        frontier, seen = [NEW_REGISTRATION], {NEW_REGISTRATION}
        while frontier:
            state = frontier.pop()
            for step in moves(lifecycle, state, provisions=choice, usable=usable):
                edge = _drawn(state, step)
                if edge is not None:
                    found.setdefault(edge, edge)
                if step.state not in seen:
                    seen.add(step.state)
                    frontier.append(step.state)
    order = {s: i for i, s in enumerate(RegistrationStatus)}
    triggers = {t: i for i, t in enumerate(lifecycle.triggers)}
    return tuple(
        sorted(
            found.values(),
            key=lambda e: (
                -1 if e.source is None else order[e.source],
                triggers[e.trigger],
                e.when or "",
                order[e.dest],
            ),
        )
    )


def _drawn(state: RegistrationState, step: Step) -> RegistrationEdge | None:
    """The registration edge a step takes: its own, the one coming with it, or one derived
    from a version edge that changes the status (None if the status stays)."""
    if isinstance(step.move, RegistrationEdge):
        return step.move
    if step.cascade is not None:
        return step.cascade
    if step.state.status == state.status:
        return None
    e = step.move
    return RegistrationEdge(
        state.status, e.trigger, step.state.status, link=INFO_DOC, when=e.when,
        optional=e.optional, derived=True, note=f"follows {e} through the status rules",
    )  # fmt: skip


__all__ = ["NEW_REGISTRATION", "RegistrationState", "Step", "graph", "moves", "plan"]
