"""Guards for discard: built-in checks plus the user's own, all evaluated, all reported.

A guard is any callable taking a :class:`GuardContext` and returning ``None`` to
allow or a message saying why it refuses. A guard that raises counts as a
refusal (fail closed), its message naming the exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from registration_fsm.domain.lifecycle import LIFECYCLE
from registration_fsm.domain.statuses import ENDED_REGISTRATION_STATUSES, VersionStatus
from registration_fsm.errors import InvalidArgument

if TYPE_CHECKING:
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.version import RegistrationVersion


@attrs.frozen
class GuardContext:
    """What a guard sees."""

    registration: Registration
    version: RegistrationVersion
    actor: str | None
    reason: str | None


Guard = Callable[[GuardContext], str | None]


@attrs.frozen
class FailedGuard:
    """A guard that refused, and its message."""

    name: str
    message: str


def _discard_sources() -> frozenset[VersionStatus]:
    return frozenset(s for t in LIFECYCLE if t.trigger == "discard" for s in t.sources)


@attrs.frozen
class DiscardPolicy:
    """Which statuses may be discarded.

    The default follows the AWS user guide: only SUBMITTED. ``allow_draft()``
    adds DRAFT, which the API reference leaves undocumented.
    """

    discardable: frozenset[VersionStatus] = frozenset({VersionStatus.SUBMITTED})

    def __attrs_post_init__(self) -> None:
        possible = _discard_sources()
        extra = {s for s in self.discardable if s not in possible}
        if extra:
            raise InvalidArgument(
                f"the lifecycle has no discard edge from {', '.join(sorted(extra))}; "
                f"discardable statuses must be among {', '.join(sorted(possible))}"
            )

    @classmethod
    def allow_draft(cls) -> DiscardPolicy:
        """SUBMITTED and DRAFT."""
        return cls(frozenset({VersionStatus.SUBMITTED, VersionStatus.DRAFT}))


DEFAULT_DISCARD_POLICY = DiscardPolicy()


def is_current_version(ctx: GuardContext) -> str | None:
    """Only the current (latest) version can be discarded."""
    current = ctx.registration.current_version_number
    if ctx.version.number != current:
        return f"version {ctx.version.number} is not the current version ({current})"
    return None


def status_is_discardable(policy: DiscardPolicy) -> Guard:
    """A guard allowing only the policy's statuses."""

    def status_is_discardable(ctx: GuardContext) -> str | None:
        status = ctx.version.status
        if status not in policy.discardable:
            allowed = " or ".join(sorted(policy.discardable))
            return f"version {ctx.version.number} is {status}; only {allowed} can be discarded"
        return None

    return status_is_discardable


def registration_is_open(ctx: GuardContext) -> str | None:
    """A DELETED or CLOSED registration cannot change."""
    if ctx.registration.status in ENDED_REGISTRATION_STATUSES:
        return f"registration {ctx.registration.id} is {ctx.registration.status}"
    return None


def require_reason(ctx: GuardContext) -> str | None:
    """An example user guard: a reason is required."""
    if not (ctx.reason and ctx.reason.strip()):
        return "a reason is required"
    return None


def builtin_discard_guards(policy: DiscardPolicy) -> tuple[Guard, ...]:
    """The built-in guards for a policy, in the order they are reported."""
    return (is_current_version, status_is_discardable(policy), registration_is_open)


def guard_name(guard: Guard) -> str:
    """A readable name for a guard callable."""
    return getattr(guard, "__name__", None) or type(guard).__name__


def evaluate(guards: Iterable[Guard], ctx: GuardContext) -> list[FailedGuard]:
    """Run every guard; return all refusals (empty: allowed)."""
    failed: list[FailedGuard] = []
    for guard in guards:
        name = guard_name(guard)
        try:
            verdict = guard(ctx)
        except Exception as exc:  # fail closed: a broken guard refuses
            failed.append(FailedGuard(name, f"guard raised {type(exc).__name__}: {exc}"))
            continue
        if verdict is None:
            continue
        if not isinstance(verdict, str) or not verdict:
            failed.append(
                FailedGuard(name, f"guard returned {verdict!r}; expected None or a message")
            )
            continue
        failed.append(FailedGuard(name, verdict))
    return failed


def check_guards(guards: Sequence[Guard]) -> tuple[Guard, ...]:
    """Validate that every guard is callable."""
    for g in guards:
        if not callable(g):
            raise InvalidArgument(f"guards must be callables, got {g!r}")
    return tuple(guards)
