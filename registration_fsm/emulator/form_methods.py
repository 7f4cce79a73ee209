"""The form operations of :class:`~registration_fsm.EmulatedRegistrationApi` as
``FormsApi`` methods: snake_case arguments, checked as the boto3 adapter checks them
(with its own helpers, so a bad argument fails the same way on both), every request
validated against the model before it is sent through the emulator's ``handle``
(paced by its quotas): a refused argument is never a request."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from registration_fsm.arguments import (
    checked_body,
    filter_list,
    strings,
    tags_and_token,
)
from registration_fsm.domain.parsing import check_registration_id, check_resource_id
from registration_fsm.emulator.pagination import every_item
from registration_fsm.emulator.validation import request_params, validate_request
from registration_fsm.errors import InvalidArgument
from registration_fsm.ports import Filter

#: Ids, paths or types a single request may carry (the model's list maximums).
PER_REQUEST = 5


class _Handles(Protocol):
    def handle(
        self, operation: str, params: Mapping[str, Any], *, paced: bool = False
    ) -> dict[str, Any]: ...


class FormMethods:
    """Mixed into the emulator: the 11 form operations of the port."""

    def describe_registration_type_definitions(
        self: _Handles,
        *,
        registration_types: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationTypeDefinition (types go 5 per request)."""
        return _every(
            self,
            "DescribeRegistrationTypeDefinitions",
            "RegistrationTypeDefinitions",
            ("RegistrationTypes", strings(registration_types, "registration_types")),
            Filters=filter_list(filters),
            MaxResults=page_size,
        )

    def describe_registration_section_definitions(
        self: _Handles,
        registration_type: str,
        *,
        section_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationSectionDefinition of the type (paths go 5 per request)."""
        return _every(
            self,
            "DescribeRegistrationSectionDefinitions",
            "RegistrationSectionDefinitions",
            ("SectionPaths", strings(section_paths, "section_paths")),
            RegistrationType=registration_type,
            MaxResults=page_size,
        )

    def describe_registration_field_definitions(
        self: _Handles,
        registration_type: str,
        *,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationFieldDefinition of the type (paths go 5 per request)."""
        return _every(
            self,
            "DescribeRegistrationFieldDefinitions",
            "RegistrationFieldDefinitions",
            ("FieldPaths", strings(field_paths, "field_paths")),
            RegistrationType=registration_type,
            SectionPath=section_path,
            MaxResults=page_size,
        )

    def put_registration_field_value(
        self: _Handles,
        registration_id: str,
        field_path: str,
        *,
        select_choices: Sequence[str] | None = None,
        text_value: str | None = None,
        attachment_id: str | None = None,
    ) -> dict[str, Any]:
        """PutRegistrationFieldValue: exactly one of the three values."""
        given = [v for v in (select_choices, text_value, attachment_id) if v is not None]
        if len(given) != 1:
            raise InvalidArgument(
                "give exactly one of select_choices, text_value and attachment_id, "
                f"got {len(given)}"
            )
        params = request_params(
            RegistrationId=check_registration_id(registration_id),
            FieldPath=field_path,
            TextValue=text_value,
            RegistrationAttachmentId=(
                None
                if attachment_id is None
                else check_resource_id(attachment_id, "RegistrationAttachmentId")
            ),
        )
        if select_choices is not None:  # an empty list is a value (no choice) here
            params["SelectChoices"] = strings(select_choices, "select_choices", unique=False)
        return _send(self, "PutRegistrationFieldValue", params)

    def delete_registration_field_value(
        self: _Handles, registration_id: str, field_path: str
    ) -> dict[str, Any]:
        """DeleteRegistrationFieldValue."""
        params = {"RegistrationId": check_registration_id(registration_id), "FieldPath": field_path}
        return _send(self, "DeleteRegistrationFieldValue", params)

    def describe_registration_field_values(
        self: _Handles,
        registration_id: str,
        *,
        version_number: int | None = None,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationFieldValueInformation of a version (default: the current)."""
        return _every(
            self,
            "DescribeRegistrationFieldValues",
            "RegistrationFieldValues",
            ("FieldPaths", strings(field_paths, "field_paths")),
            RegistrationId=check_registration_id(registration_id),
            VersionNumber=version_number,
            SectionPath=section_path,
            MaxResults=page_size,
        )

    def create_registration_attachment(
        self: _Handles,
        *,
        attachment_body: bytes | None = None,
        attachment_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        """CreateRegistrationAttachment: exactly one of body and URL."""
        if (attachment_body is None) == (attachment_url is None):
            raise InvalidArgument("give exactly one of attachment_body and attachment_url")
        params = request_params(
            # A blob travels as base64 text in AWS JSON; the emulator reads the wire form.
            AttachmentBody=(
                None
                if attachment_body is None
                else base64.b64encode(checked_body(attachment_body)).decode()
            ),
            AttachmentUrl=attachment_url,
            **tags_and_token(tags, client_token),
        )
        return _send(self, "CreateRegistrationAttachment", params)

    def delete_registration_attachment(self: _Handles, attachment_id: str) -> dict[str, Any]:
        """DeleteRegistrationAttachment."""
        params = {
            "RegistrationAttachmentId": check_resource_id(attachment_id, "RegistrationAttachmentId")
        }
        return _send(self, "DeleteRegistrationAttachment", params)

    def describe_registration_attachments(
        self: _Handles,
        *,
        attachment_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationAttachmentsInformation (ids go 5 per request)."""
        ids = [
            check_resource_id(v, "RegistrationAttachmentIds")
            for v in strings(attachment_ids, "attachment_ids")
        ]
        return _every(
            self,
            "DescribeRegistrationAttachments",
            "RegistrationAttachments",
            ("RegistrationAttachmentIds", ids),
            Filters=filter_list(filters),
            MaxResults=page_size,
        )

    def create_registration_association(
        self: _Handles, registration_id: str, resource_id: str
    ) -> dict[str, Any]:
        """CreateRegistrationAssociation."""
        params = {
            "RegistrationId": check_registration_id(registration_id),
            "ResourceId": check_resource_id(resource_id, "ResourceId"),
        }
        return _send(self, "CreateRegistrationAssociation", params)

    def list_registration_associations(
        self: _Handles,
        registration_id: str,
        *,
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every RegistrationAssociationMetadata of the registration."""
        return _every(
            self,
            "ListRegistrationAssociations",
            "RegistrationAssociations",
            None,
            RegistrationId=check_registration_id(registration_id),
            Filters=filter_list(filters),
            MaxResults=page_size,
        )


def _send(api: _Handles, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate one request, then send it (paced)."""
    validate_request(operation, params)
    return api.handle(operation, params, paced=True)


def _every(
    api: _Handles,
    operation: str,
    key: str,
    chunked: tuple[str, list[str]] | None,
    **members: Any,
) -> Iterator[dict[str, Any]]:
    """Validate every request now; send them (following NextTokens) as items are read."""
    if chunked is None:
        requests = [request_params(**members)]
    else:
        member, values = chunked  # already checked strings, without repeats
        requests = [
            request_params(**members, **{member: values[i : i + PER_REQUEST]})
            for i in range(0, len(values), PER_REQUEST)
        ] or [request_params(**members)]
    for request in requests:
        validate_request(operation, request)
    return every_item(functools.partial(api.handle, paced=True), operation, requests, key)


__all__ = ["FormMethods"]
