"""The ports: what the service layer needs from the outside world.

:class:`RegistrationApi` is the lifecycle subset of the ``pinpoint-sms-voice-v2``
API, :class:`FormsApi` the rest of its registration operations (the form's
definitions, its field values, attachments and associations). Implementations:
:class:`~registration_fsm.Boto3RegistrationApi` (the real API through boto3) and
:class:`~registration_fsm.EmulatedRegistrationApi` (in memory). Requests take
snake_case keywords; responses are the API's own shapes, exactly as boto3
returns them (PascalCase members, timezone-aware datetimes). Describe and List
methods page through the results themselves and yield items.

Errors are the library's typed API errors (:class:`~registration_fsm.errors.ApiError`
and its subclasses: ``ConflictError`` with the API's ``Reason``, ``NotFoundError``,
``ApiValidationError``, ``ServiceQuotaExceededError`` with its ``Reason``, ...); a
registration id that breaks the API's pattern raises
:class:`~registration_fsm.errors.InvalidRegistrationId` before any request is made,
an attachment or resource id :class:`~registration_fsm.errors.InvalidArgument`.
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


@runtime_checkable
class FormsApi(Protocol):
    """The registration forms operations: definitions, field values, attachments, associations.

    Same conventions as :class:`RegistrationApi`; ids (registration, attachment,
    resource) that break the API's pattern are refused before any request.
    """

    def describe_registration_type_definitions(
        self,
        *,
        registration_types: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationTypeDefinitions, every page; yields RegistrationTypeDefinition.

        Any number of ``registration_types`` (requests carry at most 5 each).
        """
        ...

    def describe_registration_section_definitions(
        self,
        registration_type: str,
        *,
        section_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationSectionDefinitions, every page; yields
        RegistrationSectionDefinition (any number of ``section_paths``, 5 per request)."""
        ...

    def describe_registration_field_definitions(
        self,
        registration_type: str,
        *,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationFieldDefinitions, every page; yields
        RegistrationFieldDefinition (any number of ``field_paths``, 5 per request)."""
        ...

    def put_registration_field_value(
        self,
        registration_id: str,
        field_path: str,
        *,
        select_choices: Sequence[str] | None = None,
        text_value: str | None = None,
        attachment_id: str | None = None,
    ) -> dict[str, Any]:
        """PutRegistrationFieldValue; returns PutRegistrationFieldValueResult.

        Exactly one of ``select_choices``, ``text_value`` and ``attachment_id``
        (the value of a SELECT, TEXT or ATTACHMENT field); none or several raise
        :class:`~registration_fsm.errors.InvalidArgument` before any request.
        """
        ...

    def delete_registration_field_value(
        self, registration_id: str, field_path: str
    ) -> dict[str, Any]:
        """DeleteRegistrationFieldValue; returns DeleteRegistrationFieldValueResult."""
        ...

    def describe_registration_field_values(
        self,
        registration_id: str,
        *,
        version_number: int | None = None,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationFieldValues, every page; yields RegistrationFieldValueInformation.

        ``version_number`` None: the API's default version. Any number of
        ``field_paths`` (5 per request).
        """
        ...

    def create_registration_attachment(
        self,
        *,
        attachment_body: bytes | None = None,
        attachment_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        """CreateRegistrationAttachment; returns CreateRegistrationAttachmentResult.

        Exactly one of ``attachment_body`` (the file's bytes) and ``attachment_url``
        (``s3://bucket/key``); neither or both raise
        :class:`~registration_fsm.errors.InvalidArgument` before any request.
        """
        ...

    def delete_registration_attachment(self, attachment_id: str) -> dict[str, Any]:
        """DeleteRegistrationAttachment; returns DeleteRegistrationAttachmentResult."""
        ...

    def describe_registration_attachments(
        self,
        *,
        attachment_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationAttachments, every page; yields RegistrationAttachmentsInformation.

        Any number of ``attachment_ids`` (requests carry at most 5 each).
        """
        ...

    def create_registration_association(
        self, registration_id: str, resource_id: str
    ) -> dict[str, Any]:
        """CreateRegistrationAssociation; returns CreateRegistrationAssociationResult."""
        ...

    def list_registration_associations(
        self,
        registration_id: str,
        *,
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """ListRegistrationAssociations, every page; yields RegistrationAssociationMetadata."""
        ...
