"""Adapters implementing :class:`registration_fsm.ports.RegistrationApi`.

``Boto3RegistrationApi`` (needs the ``aws`` extra) and ``EmulatedRegistrationApi``
are imported on first use, so importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registration_fsm.ports import RegistrationApi

if TYPE_CHECKING:
    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.adapters.emulator import EmulatedRegistrationApi

__all__ = ["Boto3RegistrationApi", "EmulatedRegistrationApi", "RegistrationApi"]


def __getattr__(name: str) -> Any:
    if name == "Boto3RegistrationApi":
        from registration_fsm.adapters.boto3_api import Boto3RegistrationApi

        return Boto3RegistrationApi
    if name == "EmulatedRegistrationApi":
        from registration_fsm.adapters.emulator import EmulatedRegistrationApi

        return EmulatedRegistrationApi
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
