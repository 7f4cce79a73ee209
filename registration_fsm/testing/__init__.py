"""The testing kit: conformance suite, stateful machine, lifecycle coverage, strategies.

- :func:`check_adapter_conformance`: one suite for every ``RegistrationApi``.
- :class:`RegistrationLifecycleMachine`: a hypothesis state machine that drives an
  API through the whole lifecycle and checks local == remote after every step,
  with lifecycle coverage (:class:`CoverageReport`, over the lifecycle's own edges).
- :mod:`registration_fsm.testing.strategies`: hypothesis strategies (registered for
  ``st.from_type`` through hypothesis's entry point when hypothesis is imported).
- :mod:`registration_fsm.testing.forms`: strategies for registration forms (field values
  a form accepts or refuses, complete and incomplete forms, attachment files).
- :class:`VirtualClock`: time that passes only when something waits (quota-bound tests).
- :mod:`registration_fsm.testing.pytest_plugin`: fixtures (loaded by pytest
  through the ``pytest11`` entry point).

Names load on first use (``registration_fsm.testing.RegistrationLifecycleMachine``);
importing this package imports nothing optional (hypothesis, boto3). The machine
and the strategies need the ``testing`` extra (hypothesis).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registration_fsm.testing._hypothesis import setup as register_strategies
    from registration_fsm.testing.clock import VirtualClock
    from registration_fsm.testing.conformance import (
        SCENARIOS,
        ConformanceReport,
        ConformanceTarget,
        check_adapter_conformance,
    )
    from registration_fsm.testing.coverage import (
        CoveragePolicy,
        CoverageReport,
        LifecycleCoverage,
        LifecycleCoverageWarning,
    )
    from registration_fsm.testing.machine import (
        LifecycleTestCase,
        MachineClock,
        RegistrationLifecycleMachine,
    )

#: Where each lazily exported name lives.
_HOMES: dict[str, str] = {
    **dict.fromkeys(
        ["SCENARIOS", "ConformanceReport", "ConformanceTarget", "check_adapter_conformance"],
        "conformance",
    ),
    **dict.fromkeys(
        ["CoveragePolicy", "CoverageReport", "LifecycleCoverage", "LifecycleCoverageWarning"],
        "coverage",
    ),
    **dict.fromkeys(
        ["LifecycleTestCase", "MachineClock", "RegistrationLifecycleMachine"], "machine"
    ),
    "register_strategies": "_hypothesis",
    "VirtualClock": "clock",
}

#: Modules that need hypothesis (the ``testing`` extra).
_NEEDS_HYPOTHESIS = {"machine", "_hypothesis"}

__all__ = [
    "SCENARIOS",
    "ConformanceReport",
    "ConformanceTarget",
    "CoveragePolicy",
    "CoverageReport",
    "LifecycleCoverage",
    "LifecycleCoverageWarning",
    "LifecycleTestCase",
    "MachineClock",
    "RegistrationLifecycleMachine",
    "VirtualClock",
    "check_adapter_conformance",
    "register_strategies",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{home}")
    except ModuleNotFoundError as err:
        if home in _NEEDS_HYPOTHESIS and (err.name or "").split(".")[0] == "hypothesis":
            from registration_fsm.errors import MissingDependency

            raise MissingDependency(
                f"{name} needs hypothesis: pip install 'registration-fsm[testing]'"
            ) from err
        raise
    return getattr(module, "setup" if name == "register_strategies" else name)
