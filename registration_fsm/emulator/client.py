"""EmulatorClient: the control target of an emulator served in another process.

Plays AWS's part (``advance``) and reads the request counters (``calls``) over
HTTP, as ``registration-fsm emulator advance`` does, without hand-written
requests. Errors come back as the library's typed API errors.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.emulator.wire import CONTROL_PREFIX, encode_json
from registration_fsm.errors import (
    ApiError,
    ApiUnavailable,
    InvalidArgument,
    InvalidArgumentType,
    api_error,
    shown,
)


class EmulatorClient:
    """Talks to a served emulator's control target (``RegistrationFsmEmulator.*``).

    Args:
        endpoint_url: the emulator's URL (what :func:`serve` yields or
            ``registration-fsm emulator`` prints).
        timeout: seconds to wait for each answer.
    """

    def __init__(self, endpoint_url: str, *, timeout: float = 30.0) -> None:
        if not isinstance(endpoint_url, str):
            raise InvalidArgumentType(f"endpoint_url must be a string, got {shown(endpoint_url)}")
        try:
            parts = urllib.parse.urlsplit(endpoint_url)
            parts.port  # noqa: B018 - a malformed port raises ValueError here
        except ValueError as err:
            raise InvalidArgument(f"endpoint_url {endpoint_url!r} is not a URL: {err}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(f"endpoint_url must be an http(s) URL, got {endpoint_url!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidArgumentType(f"timeout must be a number of seconds, got {timeout!r}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.endpoint_url = endpoint_url
        self.timeout = float(timeout)

    def advance(
        self, registration_id: str, trigger: str, /, **details: Any
    ) -> tuple[TransitionEvent, ...]:
        """Apply an AWS-side trigger (``begin_review``, ``approve``, ``deny``...) and return
        the events the emulator applied. ``deny`` takes ``denied_reasons`` (the API's
        dicts) and ``feedback``. A refusal raises :class:`ConflictError` and changes nothing.
        """
        body = {"RegistrationId": registration_id, "Trigger": trigger, "Details": details}
        answer = self._call("Advance", body)
        return tuple(TransitionEvent.from_dict(e) for e in answer.get("Events") or ())

    def add_origination_identity(
        self,
        resource_type: str = "phone-number",
        *,
        iso_country_code: str = "US",
        phone_number: str | None = None,
        number_type: str | None = None,
    ) -> dict[str, Any]:
        """Give the account an origination identity, as
        :meth:`EmulatedRegistrationApi.add_origination_identity` does; returns its
        RegistrationAssociationMetadata (``ResourceId``...)."""
        body = {"ResourceType": resource_type, "IsoCountryCode": iso_country_code,
                "PhoneNumber": phone_number, "NumberType": number_type}  # fmt: skip
        return self._call("AddOriginationIdentity", body)

    def release_origination_identity(self, resource_id: str) -> tuple[TransitionEvent, ...]:
        """Delete an origination identity; the events it caused (a ``close``, or none)."""
        answer = self._call("ReleaseOriginationIdentity", {"ResourceId": resource_id})
        return tuple(TransitionEvent.from_dict(e) for e in answer.get("Events") or ())

    def calls(self) -> dict[str, int]:
        """The emulator's request counters, by operation."""
        counts = self._call("Calls", {}).get("Calls") or {}
        return {str(k): int(v) for k, v in counts.items()}

    def _call(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.endpoint_url,
            data=encode_json(body),
            headers={
                "X-Amz-Target": f"{CONTROL_PREFIX}.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _object(response.read(), operation)
        except urllib.error.HTTPError as err:
            payload = _object(err.read() or b"{}", operation, strict=False)
            raise api_error(
                str(payload.get("__type") or err.code),
                str(payload.get("message") or err.reason),
                payload,
                status=err.code,
                request_id=err.headers.get("x-amzn-RequestId"),
                operation=operation,
            ) from None
        except (urllib.error.URLError, OSError) as err:
            raise ApiUnavailable(
                f"cannot reach the emulator at {self.endpoint_url}: {err}", operation=operation
            ) from None

    def __repr__(self) -> str:
        return f"EmulatorClient({self.endpoint_url!r})"


def _object(raw: bytes, operation: str, *, strict: bool = True) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    if strict:
        raise ApiError(
            f"the emulator answered {operation} with no JSON object", operation=operation
        )
    return {}
