"""Ready-made guards for :meth:`Registration.refusals` and every command's ``guards=``.

A guard is any callable taking a :class:`GuardContext` and returning None to
allow, or a message saying why it refuses. Every guard is asked and every
refusal reported; a guard that raises refuses (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence

from registration_fsm.domain.registration import Guard, GuardContext
from registration_fsm.errors import InvalidArgument


def require_reason(ctx: GuardContext) -> str | None:
    """A reason is required."""
    if not (ctx.reason and ctx.reason.strip()):
        return "a reason is required"
    return None


def require_actor(ctx: GuardContext) -> str | None:
    """An actor (who asks) is required."""
    if not (ctx.actor and ctx.actor.strip()):
        return "an actor is required"
    return None


def require_metadata(*keys: str) -> Guard:
    """A guard requiring these metadata keys (a ticket id, a second approver...)."""
    wanted: Sequence[str] = tuple(keys)
    if not wanted or not all(isinstance(k, str) and k for k in wanted):
        raise InvalidArgument(f"require_metadata needs one or more key names, got {keys!r}")

    def require_metadata(ctx: GuardContext) -> str | None:
        missing = [k for k in wanted if not ctx.metadata.get(k, "").strip()]
        if missing:
            return f"metadata {', '.join(missing)} required"
        return None

    return require_metadata


__all__ = ["require_actor", "require_metadata", "require_reason"]
