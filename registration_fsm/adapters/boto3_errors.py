"""botocore failures translated into the library's typed errors, in one place.

:func:`translate_errors` wraps every client call of
:class:`~registration_fsm.adapters.boto3_api.Boto3RegistrationApi`. botocore is
imported on first use, never at import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from registration_fsm.errors import (
    AccessDeniedError,
    ApiError,
    ApiUnavailable,
    ConflictError,
    InternalError,
    NotFoundError,
    RegistrationError,
    ThrottledError,
    ValidationError,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError, ParamValidationError

__all__ = [
    "AWS_EXTRA_HINT",
    "THROTTLING_CODES",
    "ApiConflictError",
    "MissingDependency",
    "from_client_error",
    "from_param_validation_error",
    "require_module",
    "translate_errors",
]

AWS_EXTRA_HINT = "pip install 'registration-fsm[aws]'"

#: botocore's throttling codes (its standard retry mode); all become ThrottledError.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

_PARAM_NAME_RE = re.compile(r'parameter(?: in input)?:? "?([A-Za-z0-9_.\[\]]+)"?')


class MissingDependency(RegistrationError, ImportError):
    """An optional dependency (boto3/botocore: the ``aws`` extra) is not installed."""


class ApiConflictError(ConflictError):
    """A ConflictException from the API, with the operation that raised it."""

    code = "ConflictException"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        resource_id: str | None = None,
        resource_type: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(
            message,
            reason=reason,
            resource_id=resource_id,
            resource_type=resource_type,
            request_id=request_id,
        )
        self.operation = operation


def require_module(name: str) -> ModuleType:
    """Import ``name`` (``boto3``, ``botocore.exceptions``...) or raise MissingDependency."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingDependency(
            f"{name} is required for the AWS adapter: {AWS_EXTRA_HINT}"
        ) from err


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def from_client_error(err: ClientError, operation: str | None = None) -> RegistrationError:
    """The typed error for a botocore ``ClientError`` (code, message, request id kept)."""
    response: Mapping[str, Any] = err.response
    error: Mapping[str, Any] = response.get("Error") or {}
    meta: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    code = _text(error.get("Code")) or "Unknown"
    message = _text(error.get("Message")) or str(err)
    request_id = _text(meta.get("RequestId")) or _text(response.get("RequestId"))
    status = meta.get("HTTPStatusCode")
    op = _text(getattr(err, "operation_name", None)) or operation
    reason = _text(response.get("Reason"))

    if code == "ConflictException":
        return ApiConflictError(
            message,
            reason=reason,
            resource_id=_text(response.get("ResourceId")),
            resource_type=_text(response.get("ResourceType")),
            request_id=request_id,
            operation=op,
        )
    if code == "ResourceNotFoundException":
        return NotFoundError(
            message,
            resource_type=_text(response.get("ResourceType")),
            resource_id=_text(response.get("ResourceId")),
            request_id=request_id,
            operation=op,
        )
    if code == "ValidationException":
        raw_fields = response.get("Fields") or []
        fields = [
            (str(f.get("Name", "")), str(f.get("Message", "")))
            for f in raw_fields
            if isinstance(f, Mapping)
        ]
        return ValidationError(
            message, reason=reason, fields=fields, request_id=request_id, operation=op
        )
    if code == "AccessDeniedException":
        return AccessDeniedError(message, reason=reason, request_id=request_id, operation=op)
    if code in THROTTLING_CODES:
        return ThrottledError(message, request_id=request_id, operation=op, code=code)
    if code == "InternalServerException" or (isinstance(status, int) and status >= 500):
        return InternalError(message, request_id=request_id, operation=op, code=code)
    return ApiError(message, request_id=request_id, operation=op, code=code)


def from_param_validation_error(
    err: ParamValidationError, operation: str | None = None
) -> ValidationError:
    """botocore's client-side ``ParamValidationError`` as a ValidationError (no request made)."""
    report = str(err.kwargs.get("report") or err)
    fields: list[tuple[str, str]] = []
    for line in report.splitlines():
        match = _PARAM_NAME_RE.search(line)
        if match:
            fields.append((match.group(1), line.strip()))
    return ValidationError(str(err), reason="INVALID_PARAMETER", fields=fields, operation=operation)


@contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Re-raise botocore failures inside the block as typed errors.

    ClientError → by code; ParamValidationError → ValidationError; no answer
    (refused, dropped, timed out) → ApiUnavailable; any other botocore error →
    ApiError with the exception's class name as ``code``. Stubber assertion
    errors pass through untouched (they are test failures, not API answers).
    """
    try:
        from botocore import exceptions as exc
    except ImportError as err:
        raise MissingDependency(
            f"botocore is required for the AWS adapter: {AWS_EXTRA_HINT}"
        ) from err
    try:
        yield
    except exc.ClientError as err:
        raise from_client_error(err, operation) from err
    except exc.ParamValidationError as err:
        raise from_param_validation_error(err, operation) from err
    except (exc.ConnectionError, exc.HTTPClientError) as err:
        raise ApiUnavailable(str(err), operation=operation) from err
    except exc.StubResponseError:
        raise
    except exc.BotoCoreError as err:
        raise ApiError(str(err), operation=operation, code=type(err).__name__) from err
