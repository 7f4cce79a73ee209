"""The rulebook: ONE shared ``transitions`` Machine, built from LIFECYCLE, for all versions.

Versions are plain models: ``rulebook().events[trigger].trigger(version, **details)``
moves ``version.status``. No Machine per version and no ``add_model`` (both
cost O(models); transitions issue #434). Built on first use, not at import.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from registration_fsm.domain.lifecycle import LIFECYCLE, Transition
from registration_fsm.domain.statuses import VersionStatus


def _detail_is_true(name: str) -> Callable[[Any], bool]:
    def check(event_data: Any) -> bool:
        return bool(event_data.kwargs.get(name, False))

    check.__name__ = f"detail_{name}"
    return check


def _machine_transitions(table: tuple[Transition, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in table:
        if not t.sources:
            continue
        spec: dict[str, Any] = {
            "trigger": t.trigger,
            "source": sorted(t.sources),
            "dest": t.dest,
        }
        if t.when is not None:
            spec["conditions"] = [_detail_is_true(t.when)]
        else:
            # An edge without ``when`` applies only when its siblings' details are false.
            siblings = {
                o.when
                for o in table
                if o.when is not None and o.trigger == t.trigger and o.sources & t.sources
            }
            if siblings:
                spec["unless"] = [_detail_is_true(w) for w in sorted(siblings)]
        out.append(spec)
    return out


@cache
def rulebook() -> Any:
    """The shared Machine (``transitions.Machine``; typed Any: transitions is untyped)."""
    from transitions import Machine

    return Machine(
        model=[],
        states=list(VersionStatus),
        transitions=_machine_transitions(LIFECYCLE),
        initial=None,
        auto_transitions=False,
        send_event=True,
        model_attribute="status",
        ignore_invalid_triggers=False,
    )
