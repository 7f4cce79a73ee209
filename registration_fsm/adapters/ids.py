"""Request checks shared by every adapter, made before any request is sent."""

from __future__ import annotations

from typing import Any

from registration_fsm.domain.parsing import REGISTRATION_ID_RE
from registration_fsm.errors import ValidationError


def check_registration_id(value: Any, field: str = "RegistrationId") -> str:
    """Return ``value`` if it fits RegistrationIdOrArn (1-256 of ``[A-Za-z0-9_:/-]``).

    Otherwise raise :class:`ValidationError` (reason INVALID_PARAMETER) naming the
    field, as the API would, without making a request.
    """
    if isinstance(value, str) and REGISTRATION_ID_RE.fullmatch(value):
        return value
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    message = f"{field} {shown} must be 1-256 characters of [A-Za-z0-9_:/-]"
    raise ValidationError(message, reason="INVALID_PARAMETER", fields=[(field, message)])
