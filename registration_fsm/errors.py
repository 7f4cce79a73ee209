"""The library's exceptions: every error it raises is a :class:`RegistrationError`.

::

    RegistrationError
    ├── ConflictError              .reason, .resource_id (the API's ConflictException)
    │   ├── TransitionNotAllowed   .trigger, .status, .allowed
    │   └── DiscardNotAllowed      .failed_guards
    ├── ApiError                   .code, .message, .request_id, .operation (API refusals)
    │   ├── NotFoundError          .resource_type, .resource_id
    │   ├── ValidationError        .reason, .fields
    │   ├── AccessDeniedError      .reason
    │   ├── ThrottledError         still throttled after the configured retries
    │   ├── InternalError          a 5xx from the service
    │   └── ApiUnavailable         no answer (connection refused, dropped, timed out)
    ├── InvalidApiData             .field, .value   (also a ValueError)
    ├── InvalidArgument            bad input to a library call (also a ValueError)
    │   ├── UnknownTrigger         .trigger
    │   ├── InvalidEvent           an EventBridge event that names no registration
    │   └── ClockError             a naive or backwards timestamp
    ├── NotTracked                 the registration is not in the local state
    ├── WaitTimeout                .last_status: wait_for gave up
    ├── StoreError                 local state cannot be read or written
    │   └── StaleWrite             another writer changed the registration first
    └── SubscriberError            .event, .errors: the change happened, a subscriber failed
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registration_fsm.domain.events import TransitionEvent
    from registration_fsm.domain.guards import FailedGuard


class RegistrationError(Exception):
    """Base class of every error this library raises."""


class ConflictError(RegistrationError):
    """The request conflicts with the resource's current state.

    Mirrors the API's ``ConflictException``: ``reason`` is its ``Reason`` member
    (e.g. ``CREATE_REGISTRATION_VERSION_NOT_ALLOWED``).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        resource_id: str | None = None,
        resource_type: str | None = "registration",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.request_id = request_id
        #: Set by the synchronizer: the registration as re-pulled after the conflict.
        self.registration: Any = None


class TransitionNotAllowed(ConflictError):
    """A trigger cannot fire from the current status; nothing was changed."""

    def __init__(
        self,
        trigger: str,
        status: str,
        allowed: Sequence[str],
        *,
        detail: str | None = None,
        reason: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        message = (
            f"cannot {trigger!r} a version in status {status}; allowed triggers: {allowed_text}"
        )
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message, reason=reason, resource_id=resource_id)
        self.trigger = trigger
        self.status = status
        self.allowed = tuple(allowed)


class DiscardNotAllowed(ConflictError):
    """A discard was refused by one or more guards; nothing was changed."""

    def __init__(
        self, failed_guards: Sequence[FailedGuard], *, resource_id: str | None = None
    ) -> None:
        lines = "; ".join(f"{g.name}: {g.message}" for g in failed_guards)
        super().__init__(
            f"discard refused by {len(failed_guards)} guard(s): {lines}",
            reason="DISCARD_REGISTRATION_VERSION_NOT_ALLOWED",
            resource_id=resource_id,
        )
        self.failed_guards = tuple(failed_guards)


class ApiError(RegistrationError):
    """The API (or the emulator) refused or failed a request.

    ``code`` is the API's error code (``ValidationException``...). A refused
    request changed nothing. API conflicts are raised as :class:`ConflictError`.
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


class ValidationError(ApiError):
    """ValidationException: ``reason`` (e.g. INVALID_NEXT_TOKEN) and ``fields``."""

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
        #: (Name, Message) pairs: the API's ValidationExceptionField list.
        self.fields = tuple(fields)


class AccessDeniedError(ApiError):
    """AccessDeniedException."""

    code = "AccessDeniedException"

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


class ThrottledError(ApiError):
    """ThrottlingException, still raised after the configured retries."""

    code = "ThrottlingException"


class InternalError(ApiError):
    """InternalServerException or another server-side failure."""

    code = "InternalServerException"


class ApiUnavailable(ApiError):
    """The endpoint gave no answer: connection refused, dropped or timed out."""

    code = "EndpointUnavailable"


class InvalidApiData(RegistrationError, ValueError):
    """API data is structurally wrong: a missing member, a wrong type, a bad value."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {problem} (got {shown})")
        self.field = field
        self.value = value
        self.problem = problem


class InvalidArgument(RegistrationError, ValueError):
    """A library call received an argument it cannot use."""


class UnknownTrigger(InvalidArgument):
    """The trigger name is not in the lifecycle table."""

    def __init__(self, trigger: object, known: Sequence[str]) -> None:
        super().__init__(f"unknown trigger {trigger!r}; known triggers: {', '.join(known)}")
        self.trigger = trigger


class InvalidEvent(InvalidArgument):
    """An EventBridge event this library cannot act on (no registration named)."""


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


class ClockError(InvalidArgument):
    """A clock gave a naive timestamp, or one earlier than the version's history."""


class NotTracked(RegistrationError):
    """The registration is not in the local state: sync it first."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(f"registration {registration_id!r} is not tracked locally; sync it first")
        self.registration_id = registration_id


class StoreError(RegistrationError):
    """The local store cannot be read or written (corrupt, locked, closed)."""


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


class SubscriberError(RegistrationError):
    """The transition was applied, but one or more subscribers raised.

    Every subscriber still received the event; ``errors`` holds what they raised.
    """

    def __init__(self, event: TransitionEvent, errors: Sequence[BaseException]) -> None:
        names = ", ".join(type(e).__name__ for e in errors)
        super().__init__(
            f"transition {event.trigger!r} on {event.registration_id} v{event.version_number} "
            f"was applied, but {len(errors)} subscriber(s) raised: {names}"
        )
        self.event = event
        self.errors = tuple(errors)
