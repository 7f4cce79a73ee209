"""Every exception the library raises, in one tree (this module imports nothing of the package).

::

    RegistrationError
    ├── CommandRefused             .trigger .refusals .reason .resource_id: refused before
    │                              anything was sent or changed (the lifecycle, the policy,
    │                              or a guard said no)
    ├── ApiError                   .code .message .request_id .operation: the API said no,
    │   │                          or did not answer
    │   ├── ConflictError          .reason .resource_type .resource_id .registration
    │   ├── NotFoundError          .resource_type .resource_id
    │   ├── ApiValidationError     .reason .fields
    │   ├── AccessDeniedError      .reason
    │   ├── ServiceQuotaExceededError .reason
    │   ├── ThrottledError         still throttled after the configured retries
    │   ├── InternalServerError    InternalServerException, or any 5xx
    │   ├── ApiUnavailable         no answer: refused, dropped or timed out
    │   ├── UnknownOperationError  (emulator) the target names no operation it serves
    │   ├── RequestSerializationError (emulator) the body is not a JSON object
    │   └── RequestTooLargeError   (emulator) the body is over the limit (HTTP 413)
    ├── InvalidArgument            a value a library call cannot use (also a ValueError)
    │   ├── InvalidRegistrationId  not 1-256 characters of [A-Za-z0-9_:/-]
    │   ├── UnknownTrigger         .trigger: not in the lifecycle table
    │   ├── UnknownRegistrationType .registration_type .known: not in the catalogue
    │   ├── UnknownField           .field_path .known: not a field of the registration type
    │   ├── ClockError             a naive or backwards timestamp
    │   └── InvalidEvent           an EventBridge event naming no registration
    ├── InvalidArgumentType        a value of the wrong type (also a TypeError)
    │   └── UnknownDetail          .trigger .detail: a detail the trigger does not take
    ├── InvalidApiData             .field .value .problem: API data is malformed (a ValueError)
    ├── NotTracked                 the registration is not in the local store
    ├── WaitTimeout                .last_status: ``wait_for`` gave up (also a TimeoutError)
    ├── StatusUnreachable          ``wait_for``'s target can no longer be reached
    ├── StoreError                 local state cannot be read or written
    │   ├── StaleWrite             another writer saved the registration first
    │   └── UnsavedChange          the API changed, saving it failed; its intent is kept
    ├── CheckpointError            an audit checkpoint was not appended (its file or the
    │                              trail does not verify, or it could not be written)
    ├── SubscriberError            .event .errors: the change happened, a subscriber failed
    ├── MissingDependency          an optional dependency is not installed (an ImportError)
    ├── BindError                  .address: the emulator cannot listen there (an OSError)
    ├── DiagramError               a diagram could not be produced
    │   ├── GraphvizNotFound       no ``dot`` executable
    │   └── RenderError            ``dot`` failed
    ├── ConformanceError           an API broke the RegistrationApi contract (an AssertionError)
    │   └── ConformanceFailed      .report: scenarios failed
    └── CoverageError              .report: required lifecycle edges never ran (AssertionError)

``except ApiError`` catches every answer (or non-answer) of the API;
``except CommandRefused`` every local refusal. Both carry ``reason``: a local
refusal names the ``ConflictException`` reason the API would have given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "AccessDeniedError",
    "ApiError",
    "ApiUnavailable",
    "ApiValidationError",
    "BindError",
    "CheckpointError",
    "ClockError",
    "CommandRefused",
    "ConflictError",
    "ConformanceError",
    "ConformanceFailed",
    "CoverageError",
    "DiagramError",
    "GraphvizNotFound",
    "InternalServerError",
    "InvalidApiData",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidEvent",
    "InvalidRegistrationId",
    "MissingDependency",
    "NotFoundError",
    "NotTracked",
    "Refusal",
    "RegistrationError",
    "RenderError",
    "RequestSerializationError",
    "RequestTooLargeError",
    "ServiceQuotaExceededError",
    "StaleWrite",
    "StatusUnreachable",
    "StoreError",
    "SubscriberError",
    "ThrottledError",
    "UnknownDetail",
    "UnknownField",
    "UnknownOperationError",
    "UnknownRegistrationType",
    "UnknownTrigger",
    "UnsavedChange",
    "WaitTimeout",
    "api_error",
]


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RegistrationError(Exception):
    """Base class of every error this library raises."""


# -- refused locally ------------------------------------------------------------


@attrs.frozen
class Refusal:
    """Why a command may not run: the check (``lifecycle``, ``policy``, a guard's name) and why."""

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class CommandRefused(RegistrationError):
    """A command was refused before anything was sent or changed.

    ``refusals`` lists every check that said no. ``reason`` is the API's
    ``ConflictException`` reason for the same refusal (e.g.
    ``DISCARD_REGISTRATION_VERSION_NOT_ALLOWED``), or None where it has none.
    """

    def __init__(
        self,
        trigger: str,
        refusals: Sequence[Refusal],
        *,
        reason: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        where = f" on {resource_id}" if resource_id else ""
        listed = "; ".join(str(r) for r in refusals) or "no reason given"
        super().__init__(f"{trigger} refused{where}: {listed}")
        self.trigger = trigger
        self.refusals = tuple(refusals)
        self.reason = reason
        self.resource_id = resource_id


# -- the API's answers ------------------------------------------------------------


class ApiError(RegistrationError):
    """The API (or the emulator) refused or failed a request; a refusal changed nothing.

    ``code`` is the API's error code (``ConflictException``...), ``operation``
    the operation that failed (``SubmitRegistrationVersion``).
    """

    code = "ServiceException"

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        operation: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.operation = operation
        if code is not None:
            self.code = code


class ConflictError(ApiError):
    """ConflictException: the request conflicts with the resource's current state.

    ``reason`` is its ``Reason`` member (``SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED``...).
    ``registration`` is the registration as re-pulled after the conflict, when a
    :class:`~registration_fsm.Synchronizer` command met it (else None).
    """

    code = "ConflictException"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        resource_type: str | None = "registration",
        resource_id: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        registration: Any = None,
    ) -> None:
        super().__init__(message, request_id=request_id, operation=operation)
        self.reason = reason
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.registration = registration


class NotFoundError(ApiError):
    """ResourceNotFoundException."""

    code = "ResourceNotFoundException"

    def __init__(
        self,
        message: str,
        *,
        resource_type: str | None = "registration",
        resource_id: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, operation=operation)
        self.resource_type = resource_type
        self.resource_id = resource_id


class ApiValidationError(ApiError):
    """ValidationException: ``reason`` (``INVALID_NEXT_TOKEN``...) and ``fields``.

    ``fields`` are (Name, Message) pairs: the API's ValidationExceptionField list.
    """

    code = "ValidationException"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        fields: Sequence[tuple[str, str]] = (),
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, operation=operation)
        self.reason = reason
        self.fields = tuple(fields)


class _WithReason(ApiError):
    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, operation=operation)
        self.reason = reason


class AccessDeniedError(_WithReason):
    """AccessDeniedException."""

    code = "AccessDeniedException"


class ServiceQuotaExceededError(_WithReason):
    """ServiceQuotaExceededException: an account quota (``REGISTRATIONS_PER_ACCOUNT``...)."""

    code = "ServiceQuotaExceededException"


class ThrottledError(ApiError):
    """ThrottlingException, still raised after the configured retries."""

    code = "ThrottlingException"


class InternalServerError(ApiError):
    """InternalServerException, or any other server-side (5xx) failure."""

    code = "InternalServerException"


class ApiUnavailable(ApiError):
    """The endpoint gave no answer: connection refused, dropped or timed out."""

    code = "EndpointUnavailable"


class UnknownOperationError(ApiError):
    """UnknownOperationException (emulator): the target names no operation it serves."""

    code = "UnknownOperationException"


class RequestSerializationError(ApiError):
    """SerializationException (emulator): the request body is not a JSON object."""

    code = "SerializationException"


class RequestTooLargeError(ApiError):
    """RequestEntityTooLargeException (emulator): the body exceeds its limit (HTTP 413)."""

    code = "RequestEntityTooLargeException"


def api_error(
    code: str,
    message: str,
    members: Mapping[str, Any],
    *,
    status: int | None = None,
    request_id: str | None = None,
    operation: str | None = None,
) -> ApiError:
    """The typed error for an API error ``code`` and its modelled ``members`` (``Reason``,
    ``ResourceType``, ``ResourceId``, ``Fields``): how every adapter reads an error answer."""

    def text(name: str) -> str | None:
        value = members.get(name)
        return value if isinstance(value, str) and value else None

    common: dict[str, Any] = {"request_id": request_id, "operation": operation}
    if code == ConflictError.code:
        return ConflictError(message, reason=text("Reason"), resource_type=text("ResourceType"),
                             resource_id=text("ResourceId"), **common)  # fmt: skip
    if code == NotFoundError.code:
        return NotFoundError(message, resource_type=text("ResourceType"),
                             resource_id=text("ResourceId"), **common)  # fmt: skip
    if code == ApiValidationError.code:
        raw = members.get("Fields")
        fields = [
            (str(f.get("Name", "")), str(f.get("Message", "")))
            for f in (raw if isinstance(raw, list) else [])
            if isinstance(f, Mapping)
        ]
        return ApiValidationError(message, reason=text("Reason"), fields=fields, **common)
    reasoned = {c.code: c for c in (AccessDeniedError, ServiceQuotaExceededError)}
    if code in reasoned:
        return reasoned[code](message, reason=text("Reason"), **common)
    if code in THROTTLING_CODES:
        return ThrottledError(message, code=code, **common)
    plain = {c.code: c for c in (UnknownOperationError, RequestSerializationError,
                                 RequestTooLargeError)}  # fmt: skip
    if code in plain:
        return plain[code](message, **common)
    if code == InternalServerError.code or (status is not None and status >= 500):
        return InternalServerError(message, code=code, **common)
    return ApiError(message, code=code, **common)


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


# -- bad input ----------------------------------------------------------------------


class InvalidArgument(RegistrationError, ValueError):
    """A library call received a value it cannot use."""


class InvalidRegistrationId(InvalidArgument):
    """A registration id (or ARN) that breaks the API's pattern: no request was made."""

    def __init__(self, value: object, field: str = "RegistrationId") -> None:
        super().__init__(f"{field} {shown(value)} must be 1-256 characters of [A-Za-z0-9_:/-]")
        self.value = value
        self.field = field


class AmbiguousRegistrationId(InvalidArgument):
    """A registration id stored for more than one account or region: choose one."""

    def __init__(self, registration_id: str, shards: Sequence[str]) -> None:
        super().__init__(
            f"registration {registration_id} is stored for {len(shards)} accounts/regions "
            f"({', '.join(shards)}): choose one (--account and --region, or store.for_shard)"
        )
        self.registration_id = registration_id
        self.shards = tuple(shards)


class UnknownTrigger(InvalidArgument):
    """The trigger is not in the lifecycle table."""

    def __init__(self, trigger: object, known: Sequence[str]) -> None:
        super().__init__(f"unknown trigger {shown(trigger)}; known triggers: {', '.join(known)}")
        self.trigger = trigger


class UnknownRegistrationType(InvalidArgument):
    """The registration type is not in the catalogue."""

    def __init__(self, registration_type: object, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(
            f"unknown registration type {shown(registration_type)}; known types: {listed}"
        )
        self.registration_type = registration_type
        self.known = tuple(known)


class UnknownField(InvalidArgument):
    """The field path is not a field of the registration type."""

    def __init__(
        self, field_path: object, known: Sequence[str], *, registration_type: str | None = None
    ) -> None:
        of = f" of {registration_type}" if registration_type else ""
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown field {shown(field_path)}{of}; known fields: {listed}")
        self.field_path = field_path
        self.known = tuple(known)
        self.registration_type = registration_type


class ClockError(InvalidArgument):
    """A clock gave a naive timestamp, or one earlier than the recorded history."""


class InvalidEvent(InvalidArgument):
    """An EventBridge event this library cannot act on (it names no registration)."""


class InvalidArgumentType(RegistrationError, TypeError):
    """A library call received a value of the wrong type."""


class UnknownDetail(InvalidArgumentType):
    """A trigger was given a detail it does not take (a typo never reaches an event)."""

    def __init__(self, trigger: str, detail: str, accepted: Sequence[str]) -> None:
        takes = ", ".join(accepted) if accepted else "no details"
        super().__init__(f"{trigger} does not take {detail!r}; it takes {takes}")
        self.trigger = trigger
        self.detail = detail
        self.accepted = tuple(accepted)


class InvalidApiData(RegistrationError, ValueError):
    """API data is structurally wrong: a missing member, a wrong type, a bad value."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        super().__init__(f"{field}: {problem} (got {shown(value)})")
        self.field = field
        self.value = value
        self.problem = problem


# -- the service layer ----------------------------------------------------------------


class NotTracked(RegistrationError):
    """The registration is not in the local store."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(
            f"registration {registration_id!r} is not in the local store; "
            f"pull it with sync([{registration_id!r}])"
        )
        self.registration_id = registration_id


class WaitTimeout(RegistrationError, TimeoutError):
    """``wait_for`` gave up; ``last_status`` and ``last_version_status`` say what it saw."""

    def __init__(
        self,
        registration_id: str,
        wanted: Sequence[str],
        waited: float,
        last_status: str | None,
        last_version_status: str | None,
    ) -> None:
        super().__init__(
            f"registration {registration_id} did not reach {' or '.join(wanted)} in "
            f"{waited:.1f} s; last seen: registration {last_status}, "
            f"current version {last_version_status}"
        )
        self.registration_id = registration_id
        self.wanted = tuple(wanted)
        self.waited = waited
        self.last_status = last_status
        self.last_version_status = last_version_status


class StatusUnreachable(RegistrationError):
    """``wait_for`` can never succeed: no status wanted is reachable from the current one."""

    def __init__(self, registration_id: str, wanted: Sequence[str], now: str) -> None:
        super().__init__(
            f"registration {registration_id} can no longer reach {' or '.join(wanted)}: it is {now}"
        )
        self.registration_id = registration_id
        self.wanted = tuple(wanted)
        self.now = now


class StoreError(RegistrationError):
    """The local store cannot be read or written (corrupt, locked, closed)."""


class UnsavedChange(StoreError):
    """The API made a command's change, but saving it locally failed: the message says
    what changed remotely. The command's intent (``intent_id``; None if the store keeps
    none) stays in the store, so the next sync records the change with its who and why.
    """

    def __init__(self, message: str, *, operation: str, intent_id: int | None) -> None:
        super().__init__(message)
        self.operation = operation
        self.intent_id = intent_id


class StaleWrite(StoreError):
    """An optimistic write lost: the registration changed since it was read."""

    def __init__(self, registration_id: str, expected: int | None, found: int | None) -> None:
        super().__init__(
            f"registration {registration_id} was changed by another writer "
            f"(expected revision {expected}, found {found})"
        )
        self.registration_id = registration_id
        self.expected = expected
        self.found = found


class LeaseLost(StoreError):
    """A worker's lease on a shard expired and another worker took it (or it was
    released): the worker must stop syncing that shard."""


class CheckpointError(RegistrationError):
    """An audit checkpoint was not appended: the checkpoint file's checkpoints or the
    trail do not verify, the key is not the file's, or the line could not be written."""


class SubscriberError(RegistrationError):
    """The change was applied, but one or more subscribers raised.

    Every subscriber still received the event (a ``TransitionEvent``); ``errors``
    holds what they raised.
    """

    def __init__(self, event: Any, errors: Sequence[BaseException]) -> None:
        names = ", ".join(type(e).__name__ for e in errors)
        super().__init__(
            f"{event.describe()} was applied, but {len(errors)} subscriber(s) raised: {names}"
        )
        self.event = event
        self.errors = tuple(errors)


class MissingDependency(RegistrationError, ImportError):
    """An optional dependency is not installed (the message says which extra brings it)."""


class BindError(RegistrationError, OSError):
    """The emulator cannot listen on ``address`` (a busy port, a host that cannot be
    resolved or bound); ``errno`` is the OS's."""

    def __init__(self, address: str, reason: str, errno: int | None = None) -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address
        self.errno = errno


# -- diagrams and the testing kit --------------------------------------------------------


class DiagramError(RegistrationError):
    """A diagram could not be produced."""


class GraphvizNotFound(DiagramError):
    """The Graphviz ``dot`` executable is not installed (or not where it was said to be)."""

    def __init__(self, executable: str, hint: str) -> None:
        super().__init__(
            f"cannot render: the Graphviz 'dot' executable was not found ({executable!r}); {hint}"
        )
        self.executable = executable


class RenderError(DiagramError):
    """``dot`` ran but failed."""

    def __init__(self, message: str, *, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class ConformanceError(RegistrationError, AssertionError):
    """An API did not behave as the RegistrationApi contract requires."""


class ConformanceFailed(ConformanceError):
    """One or more conformance scenarios failed; ``report`` (a ConformanceReport) has each."""

    def __init__(self, report: Any) -> None:
        super().__init__(str(report))
        self.report = report


class CoverageError(RegistrationError, AssertionError):
    """A run left required lifecycle edges unexercised; ``report`` is its CoverageReport."""

    def __init__(self, report: Any) -> None:
        super().__init__(str(report))
        self.report = report
