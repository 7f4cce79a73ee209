"""The wire layer: requests by operation name, errors as AWS JSON 1.0 bodies, JSON codecs.

Shared by the HTTP front and by anything that feeds botocore-shaped requests
to the emulator (a Stubber bridge). Never imports botocore.

- :func:`dispatch` runs an API operation (``"DescribeRegistrations"``) with its
  PascalCase request members; it returns boto3's response shape (datetimes).
- :func:`dispatch_control` runs an emulator-only operation (target prefix
  ``RegistrationFsmEmulator``): ``Advance`` {"RegistrationId", "Trigger",
  "Details"} drives an AWS-side event; ``Calls`` returns the request counters.
- :func:`error_response` turns any exception into (HTTP status, JSON body).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from registration_fsm.emulator.api import EmulatedRegistrationApi
from registration_fsm.emulator.validation import OPERATIONS, shown
from registration_fsm.errors import (
    AccessDeniedError,
    ApiError,
    ApiValidationError,
    ClockError,
    CommandRefused,
    ConflictError,
    InternalServerError,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    RequestSerializationError,
    ServiceQuotaExceededError,
    UnknownOperationError,
)

#: ``X-Amz-Target`` prefix of the API's operations.
API_PREFIX = "PinpointSMSVoiceV2"
#: ``X-Amz-Target`` prefix of the emulator-only control operations.
CONTROL_PREFIX = "RegistrationFsmEmulator"
#: The control operations.
CONTROL_OPERATIONS = ("Advance", "Calls", "AddOriginationIdentity", "ReleaseOriginationIdentity")

#: HTTP status by error code. The model declares no ``httpStatusCode`` for its
#: errors, so AWS JSON 1.0's defaults apply: 500 for a fault, 400 otherwise.
ERROR_STATUS: Mapping[str, int] = {
    "AccessDeniedException": 400,
    "ConflictException": 400,
    "InternalServerException": 500,
    "ResourceNotFoundException": 400,
    "ServiceQuotaExceededException": 400,
    "ThrottlingException": 400,
    "ValidationException": 400,
    "UnknownOperationException": 400,
    "SerializationException": 400,
    "RequestEntityTooLargeException": 413,
    "EndpointUnavailable": 503,
}


def dispatch(
    api: EmulatedRegistrationApi, operation: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Run API ``operation`` with ``params``; return the response (boto3 shape).

    Raises the library's typed errors: :class:`UnknownOperationError` for an
    operation the emulator does not serve, :class:`ApiValidationError` for any
    malformed member (wrong type, missing, out of range, not an object).
    """
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise UnknownOperationError(
            f"unknown operation {shown(operation)}; served: {', '.join(OPERATIONS)}",
            operation=operation if isinstance(operation, str) else None,
        )
    return api.handle(operation, params)


def dispatch_control(
    api: EmulatedRegistrationApi, operation: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Run an emulator-only operation (:data:`CONTROL_OPERATIONS`).

    ``Advance`` returns {"Events": [TransitionEvent.to_dict(), ...]}; ``Details``
    carries the trigger's snake_case details (``denied_reasons``, ``feedback``,
    ``resource_id``). ``AddOriginationIdentity`` gives the account a phone number,
    sender ID or pool (RegistrationAssociationMetadata back);
    ``ReleaseOriginationIdentity`` deletes one ({"Events": [...]}: a ``close`` when
    it was its registration's last).
    """
    if operation == "Calls":
        return {"Calls": dict(api.calls)}
    if operation == "AddOriginationIdentity":
        return _add_identity(api, params)
    if operation == "ReleaseOriginationIdentity":
        if not isinstance(params, Mapping) or not isinstance(params.get("ResourceId"), str):
            raise _invalid("ResourceId", "expected a string")
        events = api.release_origination_identity(params["ResourceId"])
        return {"Events": [event.to_dict() for event in events]}
    if operation != "Advance":
        raise UnknownOperationError(
            f"unknown control operation {shown(operation)}; served: "
            f"{', '.join(CONTROL_OPERATIONS)}",
            operation=operation if isinstance(operation, str) else None,
        )
    if not isinstance(params, Mapping):
        raise _invalid("(request)", "expected an object")
    reg_id, trigger = params.get("RegistrationId"), params.get("Trigger")
    details = params.get("Details") or {}
    if not isinstance(reg_id, str):
        raise _invalid("RegistrationId", f"{shown(reg_id)} is not a string")
    if not isinstance(trigger, str):
        raise _invalid("Trigger", f"{shown(trigger)} is not a string")
    if not isinstance(details, Mapping) or not all(isinstance(k, str) for k in details):
        raise _invalid("Details", "expected an object")
    events = api.advance(reg_id, trigger, **details)
    return {"Events": [event.to_dict() for event in events]}


def _add_identity(api: EmulatedRegistrationApi, params: Any) -> dict[str, Any]:
    """``AddOriginationIdentity``: ResourceType, IsoCountryCode, PhoneNumber, NumberType."""
    if not isinstance(params, Mapping):
        raise _invalid("(request)", "expected an object")
    names = {"ResourceType": "resource_type", "IsoCountryCode": "iso_country_code",
             "PhoneNumber": "phone_number", "NumberType": "number_type"}  # fmt: skip
    for key in params:
        if key not in names:
            raise _invalid(key, f"not a member; expected {', '.join(names)}")
    kwargs = {names[k]: v for k, v in params.items() if v is not None}
    for key, value in kwargs.items():
        if not isinstance(value, str):
            raise _invalid(key, f"{shown(value)} is not a string")
    try:
        return api.add_origination_identity(**kwargs)
    except InvalidArgument as err:
        raise _invalid("(request)", str(err)) from None


def _invalid(field: str, message: str) -> ApiValidationError:
    return ApiValidationError(
        f"{field}: {message}", reason="INVALID_PARAMETER", fields=[(field, message)]
    )


def error_response(err: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and AWS JSON 1.0 error body for ``err``.

    The body holds ``__type`` (the error code), ``message`` and the error's
    modelled members (``Reason``, ``ResourceType``, ``ResourceId``, ``Fields``)
    at top level. A domain :class:`InvalidArgument` becomes a
    ValidationException; a :class:`ClockError` (the emulator's own clock) or
    any exception that is not the library's becomes a 500 InternalServerException.
    """
    members: dict[str, Any] = {}
    if isinstance(err, CommandRefused):
        code = ConflictError.code
        members = {"Reason": err.reason, "ResourceType": "registration"}
        members["ResourceId"] = err.resource_id
    elif isinstance(err, ConflictError):
        code = err.code
        members = {"Reason": err.reason, "ResourceType": err.resource_type}
        members["ResourceId"] = err.resource_id
    elif isinstance(err, NotFoundError):
        code = err.code
        members = {"ResourceType": err.resource_type, "ResourceId": err.resource_id}
    elif isinstance(err, ApiValidationError):
        code = err.code
        fields = [{"Name": n, "Message": m} for n, m in err.fields]
        members = {"Reason": err.reason, "Fields": fields or None}
    elif isinstance(err, AccessDeniedError | ServiceQuotaExceededError):
        code, members = err.code, {"Reason": err.reason}
    elif isinstance(err, InternalServerError):
        code, members = err.code, {"RequestId": err.request_id}
    elif isinstance(err, ApiError):
        code = err.code
    elif isinstance(err, InvalidArgument | InvalidArgumentType | InvalidApiData) and not isinstance(
        err, ClockError
    ):
        code = ApiValidationError.code
        members = {"Reason": "INVALID_PARAMETER"}
    else:
        code = InternalServerError.code
        message = f"internal error ({type(err).__name__})"
        return 500, {"__type": code, "message": message}
    body: dict[str, Any] = {"__type": code, "message": str(err)}
    body.update({k: v for k, v in members.items() if v is not None})
    return ERROR_STATUS.get(code, 400), body


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_json(value: Any) -> bytes:
    """JSON bytes; datetimes become epoch seconds (floats), as AWS JSON 1.0 sends them."""
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def decode_json(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object (empty body: {}); SerializationError otherwise."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise RequestSerializationError(f"the request body is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise RequestSerializationError(
            f"the request body must be a JSON object, not {shown(value)}"
        )
    return value


__all__ = [
    "API_PREFIX",
    "CONTROL_OPERATIONS",
    "CONTROL_PREFIX",
    "ERROR_STATUS",
    "decode_json",
    "dispatch",
    "dispatch_control",
    "encode_json",
    "error_response",
]
