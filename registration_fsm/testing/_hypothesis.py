"""Hypothesis's entry point: registers the testing kit's strategies for ``st.from_type``.

Hypothesis calls :func:`setup` while it is being imported (entry-point group
``hypothesis``), possibly from inside an import of
:mod:`registration_fsm.testing.strategies` itself. So this module imports nothing
of hypothesis at its top, and registers *resolvers* that import the strategies
module only when a type is first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def setup() -> None:
    """Register a resolver for each of the library's types (idempotent).

    Also ``registration_fsm.testing.register_strategies``: call it where the
    package's entry points are not installed (sources on ``sys.path`` only).
    """
    from hypothesis import strategies as st

    for cls in _types():
        st.register_type_strategy(cls, _resolve)


def _types() -> tuple[type[Any], ...]:
    from registration_fsm.domain.events import TransitionEvent
    from registration_fsm.domain.history import StatusHistory
    from registration_fsm.domain.lifecycle import Edge, LifecyclePolicy
    from registration_fsm.domain.registration import Registration
    from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
    from registration_fsm.domain.version import DeniedReason, RegistrationVersion

    return (
        VersionStatus,
        RegistrationStatus,
        StatusHistory,
        RegistrationVersion,
        Registration,
        TransitionEvent,
        DeniedReason,
        Edge,
        LifecyclePolicy,
    )


def _resolve(cls: type[Any]) -> SearchStrategy[Any]:
    from registration_fsm.testing.strategies import for_type

    return for_type(cls)
