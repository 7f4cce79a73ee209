"""The ports: what the service layer needs from the outside world.

:class:`RegistrationApi` is the lifecycle subset of the ``pinpoint-sms-voice-v2``
API. Implementations: :class:`~registration_fsm.Boto3RegistrationApi` (the real
API through boto3) and :class:`~registration_fsm.EmulatedRegistrationApi` (in memory). Requests take
snake_case keywords; responses are the API's own shapes, exactly as boto3
returns them (PascalCase members, timezone-aware datetimes). Describe methods
page through the results themselves and yield items.

Errors are the library's typed API errors (:class:`~registration_fsm.errors.ApiError`
and its subclasses: ``ConflictError`` with the API's ``Reason``, ``NotFoundError``,
``ApiValidationError``, ...); a registration id that breaks the API's pattern
raises :class:`~registration_fsm.errors.InvalidRegistrationId` before any request
is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

#: The EventBridge source of AWS End User Messaging SMS events, and the detail-type of
#: a registration's (https://docs.aws.amazon.com/sms-voice/latest/userguide/monitor-event-bridge.html):
#: the emulator emits these events, the followers read them.
EVENT_SOURCE = "aws.sms-voice"
DETAIL_TYPE = "Registration Status Change"

#: A filter in the API's shape: {"Name": "registration-status", "Values": ["CREATED"]}.
Filter = Mapping[str, Any]


@runtime_checkable
class RegistrationApi(Protocol):
    """The registration lifecycle operations of the API."""

    @property
    def calls(self) -> Mapping[str, int]:
        """Requests made so far, by operation name (each page counts once)."""
        ...

    def create_registration(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """CreateRegistration; returns CreateRegistrationResult."""
        ...

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrations, every page; yields RegistrationInformation.

        Any number of ``registration_ids`` (requests carry at most 5 each).
        """
        ...

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationVersions, every page; yields RegistrationVersionInformation."""
        ...

    def create_registration_version(self, registration_id: str) -> dict[str, Any]:
        """CreateRegistrationVersion; returns CreateRegistrationVersionResult."""
        ...

    def submit_registration_version(
        self, registration_id: str, *, aws_review: bool = False
    ) -> dict[str, Any]:
        """SubmitRegistrationVersion; returns SubmitRegistrationVersionResult."""
        ...

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        """DiscardRegistrationVersion; returns DiscardRegistrationVersionResult."""
        ...

    def delete_registration(self, registration_id: str) -> dict[str, Any]:
        """DeleteRegistration; returns DeleteRegistrationResult."""
        ...
