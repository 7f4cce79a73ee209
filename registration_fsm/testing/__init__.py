"""Test helpers for users of the library: the RegistrationApi conformance suite.

Names load on first use (``registration_fsm.testing.check_adapter_conformance``);
importing this package imports nothing optional (hypothesis, boto3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registration_fsm.testing.conformance import (
        SCENARIOS,
        ConformanceError,
        ConformanceFailed,
        ConformanceReport,
        ConformanceTarget,
        check_adapter_conformance,
    )

__all__ = [
    "SCENARIOS",
    "ConformanceError",
    "ConformanceFailed",
    "ConformanceReport",
    "ConformanceTarget",
    "check_adapter_conformance",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from registration_fsm.testing import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
