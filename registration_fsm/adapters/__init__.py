"""Adapters to the real API: :class:`Boto3RegistrationApi` (needs the ``aws`` extra).

Imported on first use, so importing this package imports neither boto3 nor botocore.
The emulator, the other implementation of the port, is :mod:`registration_fsm.emulator`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi

__all__ = ["Boto3RegistrationApi"]


def __getattr__(name: str) -> Any:
    if name == "Boto3RegistrationApi":
        from registration_fsm.adapters.boto3_api import Boto3RegistrationApi

        return Boto3RegistrationApi
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
