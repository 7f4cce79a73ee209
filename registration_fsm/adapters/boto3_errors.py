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
    ApiError,
    ApiUnavailable,
    ApiValidationError,
    MissingDependency,
    api_error,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError, ParamValidationError

__all__ = [
    "AWS_EXTRA_HINT",
    "from_client_error",
    "from_param_validation_error",
    "require_module",
    "translate_errors",
]

AWS_EXTRA_HINT = "pip install 'registration-fsm[aws]'"

_PARAM_NAME_RE = re.compile(r'parameter(?: in input)?:? "?([A-Za-z0-9_.\[\]]+)"?')


def require_module(name: str) -> ModuleType:
    """Import ``name`` (``boto3``, ``botocore.exceptions``...) or raise MissingDependency."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingDependency(
            f"{name} is required for the AWS adapter: {AWS_EXTRA_HINT}"
        ) from err


def from_client_error(err: ClientError, operation: str | None = None) -> ApiError:
    """The typed error for a botocore ``ClientError`` (code, message, request id kept)."""
    response: Mapping[str, Any] = err.response
    error: Mapping[str, Any] = response.get("Error") or {}
    meta: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    code = _text(error.get("Code")) or "Unknown"
    status = meta.get("HTTPStatusCode")
    return api_error(
        code,
        _text(error.get("Message")) or str(err),
        response,  # botocore puts modelled members (Reason, Fields...) at the top level
        status=status if isinstance(status, int) else None,
        request_id=_text(meta.get("RequestId")) or _text(response.get("RequestId")),
        operation=_text(getattr(err, "operation_name", None)) or operation,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def from_param_validation_error(
    err: ParamValidationError, operation: str | None = None
) -> ApiValidationError:
    """botocore's client-side ``ParamValidationError``: an ApiValidationError, no request made."""
    report = str(err.kwargs.get("report") or err)
    fields: list[tuple[str, str]] = []
    for line in report.splitlines():
        match = _PARAM_NAME_RE.search(line)
        if match:
            fields.append((match.group(1), line.strip()))
    return ApiValidationError(
        str(err), reason="INVALID_PARAMETER", fields=fields, operation=operation
    )


@contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Re-raise botocore failures inside the block as typed errors.

    ClientError → by code; ParamValidationError → ApiValidationError; no answer
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
