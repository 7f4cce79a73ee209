"""Registration forms in the emulator: the catalogue, field values, attachments,
associations and the account's resource limits.

:class:`FormDesk` holds this state for one :class:`~registration_fsm.EmulatedRegistrationApi`
and answers the form operations; the emulator calls it under its lock, with
requests already validated against the service model. The lifecycle (submit,
approve, delete) stays in the domain aggregate: the desk only says whether a
form is complete enough to submit and whether a registration may be deleted.

What AWS documents and what is chosen here is listed in ``docs/emulator.md``
("Forms"); every choice that could go the other way is a parameter of
:class:`FormRules`.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, Literal

import attrs

from registration_fsm.domain.forms import (
    STRICT,
    Catalog,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    Semantics,
    SupportedAssociation,
    check_form,
    check_value,
    missing_fields,
)
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.emulator.pagination import Pages, matches, parse_filters
from registration_fsm.emulator.validation import decode_blob
from registration_fsm.errors import (
    ApiValidationError,
    ConflictError,
    InvalidArgument,
    InvalidArgumentType,
    NotFoundError,
    ServiceQuotaExceededError,
)
from registration_fsm.quotas import FROM_ENVIRONMENT, FromEnvironment

#: "The maximum file size is 500KB" (API reference, CreateRegistrationAttachment,
#: https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_CreateRegistrationAttachment.html).
#: botocore's model text says 5MB; the stricter figure is the default, and of "KB" the
#: stricter reading (1000 bytes).
ATTACHMENT_MAX_BYTES: Final = 500_000
#: The message of a required field left empty at submit: AWS's words ("the submission
#: fails with Missing required field",
#: https://docs.aws.amazon.com/sms-voice/latest/userguide/rcs-country-launch.html).
MISSING_FIELD: Final = "Missing required field"
#: "valid file extensions are PDF, JPEG and PNG" (same page): the first bytes of each.
_MAGIC: Final = (("PDF", b"%PDF-"), ("PNG", b"\x89PNG\r\n\x1a\n"), ("JPEG", b"\xff\xd8\xff"))
_EXTENSIONS: Final = (".pdf", ".png", ".jpg", ".jpeg")
#: "The URI to use when sending is in the format s3://BucketName/FileName" (same page).
_S3_URL: Final = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+")

#: Registration statuses in which nothing about the registration can change any more.
_ENDED: Final = frozenset({RegistrationStatus.CLOSED, RegistrationStatus.DELETED})

#: Version statuses in which the registration is under review: AWS's user guide says
#: nothing on the registration or its associated resources can change then
#: (https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-status.html).
_IN_FLIGHT: Final = frozenset(
    {
        VersionStatus.SUBMITTED,
        VersionStatus.AWS_REVIEWING,
        VersionStatus.REVIEWING,
        VersionStatus.REQUIRES_AUTHENTICATION,
        VersionStatus.REQUIRES_OFFLINE_REVIEW,
    }
)


@attrs.frozen
class AccountLimits:
    """The account's resource quotas the registration operations enforce, answering
    ServiceQuotaExceededException with the model's reason. AWS publishes none of these
    numbers (an account reads its own with DescribeAccountLimits), so each is off
    (None) until set: give the ones your account shows."""

    #: REGISTRATIONS_PER_ACCOUNT: registrations not deleted.
    registrations: int | None = None
    #: REGISTRATION_VERSIONS_CREATED_PER_DAY: CreateRegistrationVersion per UTC day.
    versions_per_day: int | None = None
    #: REGISTRATION_ATTACHMENTS_PER_ACCOUNT: attachments not deleted.
    attachments: int | None = None
    #: REGISTRATION_ATTACHMENTS_CREATED_PER_DAY: per UTC day.
    attachments_per_day: int | None = None
    #: ASSOCIATIONS_PER_REGISTRATION.
    associations_per_registration: int | None = None

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if value is None:
                continue
            if type(value) is not int:
                raise InvalidArgumentType(f"{field.name} must be an int or None, got {value!r}")
            if value < 0:
                raise InvalidArgument(f"{field.name} must be >= 0, got {value}")


@attrs.frozen
class FormRules:
    """The emulator's choices where AWS is silent about forms (each documented)."""

    #: Whether CreateRegistrationVersion copies the previous version's field values
    #: into the new DRAFT. AWS documents that it "opens a blank version with no field
    #: values" (https://docs.aws.amazon.com/sms-voice/latest/userguide/rcs-country-launch.html,
    #: for RCS; community reports say the same of 10DLC): the default.
    carry_field_values: bool = False
    #: Largest attachment body accepted, in bytes.
    attachment_max_bytes: int = ATTACHMENT_MAX_BYTES
    #: What a request for an attachment URL leads to: AWS fetches the object from S3;
    #: the emulator cannot, so it marks the upload complete, or failed.
    url_upload: Literal["complete", "failed"] = "complete"
    #: How conditional fields are read where AWS's documentation leaves it open
    #: (:class:`~registration_fsm.domain.forms.Semantics`; default: every open reading
    #: at once, the strictest).
    semantics: Semantics = STRICT

    def __attrs_post_init__(self) -> None:
        if type(self.carry_field_values) is not bool:
            raise InvalidArgumentType(
                f"carry_field_values must be a bool, got {self.carry_field_values!r}"
            )
        if type(self.attachment_max_bytes) is not int:
            raise InvalidArgumentType(
                f"attachment_max_bytes must be an int, got {self.attachment_max_bytes!r}"
            )
        if self.attachment_max_bytes < 1:
            raise InvalidArgument(
                f"attachment_max_bytes must be >= 1, got {self.attachment_max_bytes}"
            )
        if self.url_upload not in ("complete", "failed"):
            raise InvalidArgument(
                f"url_upload must be 'complete' or 'failed', got {self.url_upload!r}"
            )
        if not isinstance(self.semantics, Semantics):
            raise InvalidArgumentType(f"semantics must be a Semantics, got {self.semantics!r}")


@attrs.define
class Attachment:
    """One registration attachment."""

    seq: int
    id: str
    arn: str
    created: datetime
    status: str
    url: str | None
    size: int
    tags: tuple[tuple[str, str], ...]
    error_reason: str | None = None

    def info(self) -> dict[str, Any]:
        """RegistrationAttachmentsInformation."""
        out: dict[str, Any] = {
            "RegistrationAttachmentArn": self.arn,
            "RegistrationAttachmentId": self.id,
            "AttachmentStatus": self.status,
            "CreatedTimestamp": self.created,
        }
        if self.error_reason is not None:
            out["AttachmentUploadErrorReason"] = self.error_reason
        if self.url is not None:
            out["AttachmentUrl"] = self.url
        return out


@attrs.frozen
class Identity:
    """An origination identity (a phone number, a sender ID...) a registration can be
    associated with. The emulator has no phone-number API: tests add them.

    ``resource_type`` is the model's ResourceType (``phone-number``...: the ARN's resource
    and the errors' ResourceType); ``association_type`` is what a SupportedAssociation's
    ResourceType names: a phone number's NumberType (``TOLL_FREE``, ``TEN_DLC``...),
    ``SENDER_ID`` or ``POOL``.
    """

    seq: int
    resource_id: str
    resource_arn: str
    resource_type: str
    association_type: str
    iso_country_code: str
    phone_number: str | None = None

    def metadata(self) -> dict[str, Any]:
        """RegistrationAssociationMetadata (ResourceType: the association type)."""
        out: dict[str, Any] = {
            "ResourceArn": self.resource_arn,
            "ResourceId": self.resource_id,
            "ResourceType": self.association_type,
            "IsoCountryCode": self.iso_country_code,
        }
        if self.phone_number is not None:
            out["PhoneNumber"] = self.phone_number
        return out


@attrs.frozen
class _Link:
    """One association: a registration and a resource (an identity or a registration)."""

    seq: int
    registration_id: str
    resource_id: str
    #: What the registration type's SupportedAssociations name it by.
    association_type: str
    #: None for a registration: it has no country.
    iso_country_code: str | None
    metadata: tuple[tuple[str, Any], ...]
    #: Whether the resource is an origination identity (else a registration).
    identity: bool


#: Resource types an identity can be, with the id prefix AWS gives them.
IDENTITY_PREFIXES: Final = {"phone-number": "phone", "sender-id": "senderid", "pool": "pool"}
#: The model's NumberType: what a phone number is named by in SupportedAssociations.
NUMBER_TYPES: Final = ("SHORT_CODE", "LONG_CODE", "TOLL_FREE", "TEN_DLC", "SIMULATOR")
#: What the other identities are named by in SupportedAssociations (``SENDER_ID`` is
#: captured in AWS's sender ID types; ``POOL`` is inferred).
_ASSOCIATION_TYPES: Final = {"sender-id": "SENDER_ID", "pool": "POOL"}


def _validation(reason: str, field: str, message: str) -> ApiValidationError:
    return ApiValidationError(message, reason=reason, fields=[(field, message)])


class FormDesk:
    """The form state of one emulator (see the module docstring).

    ``catalog`` None accepts every registration type with an empty form that
    checks nothing — more forgiving than AWS, for tests that are not about forms.
    """

    def __init__(
        self,
        *,
        catalog: Catalog | None,
        limits: AccountLimits,
        rules: FormRules,
        arn_base: str,
        rng: random.Random,
        pages: Pages,
    ) -> None:
        self.catalog = catalog
        self.limits = limits
        self.rules = rules
        self._arn_base = arn_base  # arn:aws:sms-voice:<region>:<account>:
        self._rng = rng
        self._pages = pages
        self._values: dict[tuple[str, int], FieldValues] = {}
        self._attachments: dict[str, Attachment] = {}
        self._identities: dict[str, Identity] = {}
        #: Associations by (registration id, resource id).
        self._links: dict[tuple[str, str], _Link] = {}
        self._attachment_tokens: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._seq = itertools.count(1)
        self._created: Counter[tuple[str, date]] = Counter()

    # -- the catalogue ----------------------------------------------------

    def definition(self, registration_type: str, field: str = "RegistrationType") -> (
        RegistrationTypeDefinition | None
    ):  # fmt: skip
        """The type's definition (None without a catalogue); UNKNOWN_REGISTRATION_TYPE if
        the catalogue does not have it."""
        if self.catalog is None:
            return None
        found = self.catalog.types.get(registration_type)
        if found is None:
            raise _validation(
                "UNKNOWN_REGISTRATION_TYPE",
                field,
                f"unknown registration type {registration_type!r}",
            )
        return found

    def type_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeRegistrationTypeDefinitions."""
        types = sorted(self.catalog.types.values(), key=_type_name) if self.catalog else []
        wanted = list(dict.fromkeys(req.get("RegistrationTypes") or ()))
        for i, name in enumerate(wanted):
            self.definition(name, f"RegistrationTypes[{i}]")
        filters = parse_filters(req.get("Filters"), "", ())
        resource_types = filters.get("supported-association-resource-type")
        countries = filters.get("supported-association-iso-country-code")

        def keep(t: RegistrationTypeDefinition) -> bool:
            if wanted and t.registration_type not in wanted:
                return False
            if resource_types is None and countries is None:
                return True
            return any(
                matches(a.resource_type, resource_types)
                and matches(a.iso_country_code or "", countries)
                for a in t.supported_associations
            )

        indexed = [(i, t) for i, t in enumerate(types) if keep(t)]
        chosen, token = self._pages.page(
            "DescribeRegistrationTypeDefinitions",
            req,
            {"types": wanted, "filters": filters},
            indexed,
            _index,
        )
        out: dict[str, Any] = {"RegistrationTypeDefinitions": [t.to_api() for _, t in chosen]}
        return out if token is None else {**out, "NextToken": token}

    def section_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeRegistrationSectionDefinitions."""
        reg_type: str = req["RegistrationType"]
        definition = self.definition(reg_type)
        sections = [] if definition is None else list(definition.sections)
        wanted = list(dict.fromkeys(req.get("SectionPaths") or ()))
        known = {s.section_path for s in sections}
        for i, path in enumerate(wanted):
            if definition is not None and path not in known:
                raise _validation(
                    "UNKNOWN_REGISTRATION_SECTION",
                    f"SectionPaths[{i}]",
                    f"{reg_type} has no section {path!r}",
                )
        indexed = [(i, s) for i, s in enumerate(sections) if not wanted or s.section_path in wanted]
        chosen, token = self._pages.page(
            "DescribeRegistrationSectionDefinitions",
            req,
            {"type": reg_type, "sections": wanted},
            indexed,
            _index,
        )
        out: dict[str, Any] = {
            "RegistrationType": reg_type,
            "RegistrationSectionDefinitions": [s.to_api() for _, s in chosen],
        }
        return out if token is None else {**out, "NextToken": token}

    def field_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeRegistrationFieldDefinitions."""
        reg_type: str = req["RegistrationType"]
        definition = self.definition(reg_type)
        fields = [] if definition is None else list(definition.fields)
        section = req.get("SectionPath")
        if definition is not None and section is not None:
            self._check_section(definition, section, "SectionPath")
        wanted = self._check_fields(definition, req.get("FieldPaths") or ())
        indexed = [
            (i, f)
            for i, f in enumerate(fields)
            if (section is None or f.section_path == section)
            and (not wanted or f.field_path in wanted)
        ]
        chosen, token = self._pages.page(
            "DescribeRegistrationFieldDefinitions",
            req,
            {"type": reg_type, "section": section, "fields": wanted},
            indexed,
            _index,
        )
        out: dict[str, Any] = {
            "RegistrationType": reg_type,
            "RegistrationFieldDefinitions": [f.to_api() for _, f in chosen],
        }
        return out if token is None else {**out, "NextToken": token}

    # -- field values -------------------------------------------------------

    def values(self, reg: Registration, number: int | None = None) -> FieldValues:
        """The field values of ``reg``'s version ``number`` (default: the current one)."""
        key = (reg.id, reg.current_version.number if number is None else number)
        return self._values.get(key, FieldValues.empty())

    def version_created(self, reg: Registration, previous: int, now: datetime) -> None:
        """A version was created on top of ``previous``: count it for the day's quota,
        and carry the previous values into it if the rules say so."""
        self._created[("version", now.date())] += 1
        if self.rules.carry_field_values:
            carried = self._values.get((reg.id, previous))
            if carried is not None:
                self._values[(reg.id, reg.current_version.number)] = carried

    def put_field_value(self, reg: Registration, req: Mapping[str, Any]) -> dict[str, Any]:
        """PutRegistrationFieldValue."""
        path: str = req["FieldPath"]
        members = ("SelectChoices", "TextValue", "RegistrationAttachmentId")
        # null is absent, as for every member (validation.py)
        given = [m for m in members if req.get(m) is not None]
        if not given:
            raise _validation(
                "MISSING_PARAMETER",
                "FieldPath",
                "give one of SelectChoices, TextValue or RegistrationAttachmentId",
            )
        if len(given) > 1:
            raise _validation(
                "PARAMETERS_CANNOT_BE_USED_TOGETHER",
                given[1],
                f"{' and '.join(given)} cannot be used together",
            )
        choices, text, attachment = (req.get(m) for m in members)
        try:
            value = FieldValue(
                path,
                select_choices=None if choices is None else tuple(choices),
                text_value=text,
                attachment_id=None if attachment is None else self._attachment_id(attachment),
            )
        except InvalidArgument as exc:  # text the model's pattern lets through (a lone surrogate)
            raise _validation("INVALID_PARAMETER", given[0], str(exc)) from None
        definition = self.definition(reg.type)
        if definition is not None:
            self._check_fields(definition, [path], "FieldPath")
            key = (reg.id, reg.current_version.number)
            problems = check_value(
                definition,
                value,
                values=self._values.get(key, FieldValues.empty()).with_value(value),
                attachment_ok=self._attachment_ready,
                semantics=self.rules.semantics,
            )
            if problems:
                raise ApiValidationError(
                    "; ".join(f"{p.field_path}: {p.message}" for p in problems),
                    reason="FIELD_VALIDATION_FAILED",
                    fields=[(p.field_path, p.message) for p in problems],
                )
        elif value.attachment_id is not None and not self._attachment_ready(value.attachment_id):
            raise _validation(
                "FIELD_VALIDATION_FAILED", path, f"attachment {value.attachment_id} is not uploaded"
            )
        self._check_editable(reg)
        key = (reg.id, reg.current_version.number)
        self._values[key] = self._values.get(key, FieldValues.empty()).with_value(value)
        return self._value_result(reg, value)

    def delete_field_value(self, reg: Registration, req: Mapping[str, Any]) -> dict[str, Any]:
        """DeleteRegistrationFieldValue."""
        path: str = req["FieldPath"]
        definition = self.definition(reg.type)
        if definition is not None:
            self._check_fields(definition, [path], "FieldPath")
        self._check_editable(reg)
        key = (reg.id, reg.current_version.number)
        current = self._values.get(key, FieldValues.empty())
        value = current.get(path)
        if value is None:
            raise _validation(
                "REGISTRATION_FIELD_CANNOT_BE_DELETED", "FieldPath", f"{path} has no value"
            )
        self._values[key] = current.without(path)
        return self._value_result(reg, value)

    def field_values(self, reg: Registration, req: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeRegistrationFieldValues."""
        number = req.get("VersionNumber") or reg.current_version.number
        if number not in reg.versions:
            raise _validation(
                "UNKNOWN_REGISTRATION_VERSION",
                "VersionNumber",
                f"registration {reg.id} has no version {number}",
            )
        definition = self.definition(reg.type)
        section = req.get("SectionPath")
        if definition is not None and section is not None:
            self._check_section(definition, section, "SectionPath")
        wanted = self._check_fields(definition, req.get("FieldPaths") or ())
        values = self.values(reg, number)
        order = (
            {f.field_path: i for i, f in enumerate(definition.fields)}
            if definition is not None
            else {p: i for i, p in enumerate(sorted(values))}
        )
        sections = (
            {f.field_path: f.section_path for f in definition.fields}
            if definition is not None
            else {}
        )
        indexed = sorted(
            (order[path], value)
            for path, value in values.items()
            if (not wanted or path in wanted)
            and (section is None or sections.get(path, path.split(".")[0]) == section)
        )
        chosen, token = self._pages.page(
            "DescribeRegistrationFieldValues",
            req,
            {"id": reg.id, "version": number, "section": section, "fields": wanted},
            indexed,
            _index,
        )
        out: dict[str, Any] = {
            "RegistrationArn": reg.arn,
            "RegistrationId": reg.id,
            "VersionNumber": number,
            "RegistrationFieldValues": [v.to_api() for _, v in chosen],
        }
        return out if token is None else {**out, "NextToken": token}

    def check_submit(self, reg: Registration) -> str | None:
        """Refuse to submit a form with a required field unset, an attachment that is no
        longer there, or an association it must have first; the values' digest if not.

        Asked only when the lifecycle allows the submit (else None: the lifecycle
        refuses it, with its own reason).
        """
        if reg.refusals("submit"):
            return None
        values = self.values(reg)
        definition = self.definition(reg.type)
        problems: list[tuple[str, str]] = []
        if definition is not None:
            semantics = self.rules.semantics
            for path in missing_fields(definition, values, semantics=semantics):
                problems.append((path, MISSING_FIELD))
            for problem in check_form(
                definition, values, attachment_ok=self._attachment_ready, semantics=semantics
            ):
                problems.append((problem.field_path, problem.message))
        else:
            for path, value in values.items():
                if value.attachment_id is not None and not self._attachment_ready(
                    value.attachment_id
                ):
                    problems.append((path, f"attachment {value.attachment_id} is not uploaded"))
        if problems:
            raise ApiValidationError(
                f"the form cannot be submitted: {', '.join(dict.fromkeys(p for p, _ in problems))}",
                reason="FIELD_VALIDATION_FAILED",
                fields=problems,
            )
        if definition is not None:
            before = [
                a for a in definition.supported_associations
                if a.association_behavior == "ASSOCIATE_BEFORE_SUBMIT"
            ]  # fmt: skip
            held = self._held(reg.id)
            if before and not any(_supporting(definition, link) for link in held):
                kinds = " or ".join(sorted({a.resource_type for a in before}))
                raise ConflictError(
                    f"{reg.type} must be associated with a {kinds} before it is submitted "
                    "(CreateRegistrationAssociation)",
                    reason="SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
                    resource_type="registration",
                    resource_id=reg.id,
                )
        return values.digest()

    # -- attachments --------------------------------------------------------

    def create_attachment(self, req: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """CreateRegistrationAttachment."""
        body, url = req.get("AttachmentBody"), req.get("AttachmentUrl")
        if body is None and url is None:
            raise _validation(
                "MISSING_PARAMETER", "AttachmentBody", "give AttachmentBody or AttachmentUrl"
            )
        if body is not None and url is not None:
            raise _validation(
                "PARAMETERS_CANNOT_BE_USED_TOGETHER",
                "AttachmentUrl",
                "AttachmentBody and AttachmentUrl cannot be used together",
            )
        tags = tuple((t["Key"], t["Value"]) for t in req.get("Tags") or ())
        token: str | None = req.get("ClientToken")
        fingerprint = (body, url, tuple(sorted(tags)))
        if token is not None and token in self._attachment_tokens:
            earlier, answered = self._attachment_tokens[token]
            if earlier != fingerprint:
                raise ConflictError(
                    f"ClientToken {token!r} was used with other parameters",
                    reason="RESOURCE_ALREADY_EXISTS",
                    resource_type="registration-attachment",
                    resource_id=answered["RegistrationAttachmentId"],
                )
            return dict(answered)
        size = 0
        if body is not None:
            data = decode_blob(body) or b""  # validated as base64 with the request
            size = len(data)
            if size > self.rules.attachment_max_bytes:
                raise _validation(
                    "MAXIMUM_SIZE_EXCEEDED",
                    "AttachmentBody",
                    f"the file is {size} bytes; the largest is {self.rules.attachment_max_bytes}",
                )
            if not any(data.startswith(magic) for _, magic in _MAGIC):
                raise _validation(
                    "ATTACHMENT_TYPE_NOT_SUPPORTED",
                    "AttachmentBody",
                    "the file is not a PDF, PNG or JPEG",
                )
        else:
            assert url is not None
            if not _S3_URL.fullmatch(url):
                raise _validation(
                    "INVALID_PARAMETER", "AttachmentUrl", "expected s3://BucketName/FileName"
                )
            if not url.lower().endswith(_EXTENSIONS):
                raise _validation(
                    "ATTACHMENT_TYPE_NOT_SUPPORTED",
                    "AttachmentUrl",
                    "the file must be a .pdf, .png, .jpg or .jpeg",
                )
        self._quota(
            len(self._attachments),
            self.limits.attachments,
            "REGISTRATION_ATTACHMENTS_PER_ACCOUNT",
            "attachments",
        )
        day = ("attachment", now.date())
        self._quota(
            self._created[day],
            self.limits.attachments_per_day,
            "REGISTRATION_ATTACHMENTS_CREATED_PER_DAY",
            "attachments created today",
        )
        self._created[day] += 1
        attachment_id = self._new_id("attachment", self._attachments)
        failed = url is not None and self.rules.url_upload == "failed"
        attachment = Attachment(
            seq=next(self._seq),
            id=attachment_id,
            arn=f"{self._arn_base}registration-attachment/{attachment_id}",
            created=now,
            status="UPLOAD_FAILED" if failed else "UPLOAD_COMPLETE",
            url=url,
            size=size,
            tags=tags,
            error_reason="INTERNAL_ERROR" if failed else None,
        )
        self._attachments[attachment_id] = attachment
        result: dict[str, Any] = {
            "RegistrationAttachmentArn": attachment.arn,
            "RegistrationAttachmentId": attachment.id,
            "AttachmentStatus": attachment.status,
            "CreatedTimestamp": attachment.created,
        }
        if tags:
            result["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
        if token is not None:
            self._attachment_tokens[token] = (fingerprint, dict(result))
        return result

    def delete_attachment(
        self, req: Mapping[str, Any], registrations: Iterable[Registration]
    ) -> dict[str, Any]:
        """DeleteRegistrationAttachment; refused while a version's field value uses it."""
        attachment = self._attachment(req["RegistrationAttachmentId"])
        for reg in registrations:
            for number in reg.versions:
                if any(v.attachment_id == attachment.id for v in self.values(reg, number).values()):
                    raise ConflictError(
                        f"attachment {attachment.id} is used by {reg.id} version {number}",
                        reason="RESOURCE_DELETION_NOT_ALLOWED",
                        resource_type="registration-attachment",
                        resource_id=attachment.id,
                    )
        del self._attachments[attachment.id]
        out = attachment.info()
        out.pop("AttachmentUrl", None)
        out["AttachmentStatus"] = "DELETED"
        return out

    def attachments(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeRegistrationAttachments."""
        wanted = [self._attachment(i).id for i in req.get("RegistrationAttachmentIds") or ()]
        statuses = {"UPLOAD_IN_PROGRESS", "UPLOAD_COMPLETE", "UPLOAD_FAILED", "DELETED"}
        filters = parse_filters(req.get("Filters"), "attachment-status", statuses)
        indexed = sorted(
            (a.seq, a)
            for a in self._attachments.values()
            if (not wanted or a.id in wanted)
            and matches(a.status, filters.get("attachment-status"))
        )
        chosen, token = self._pages.page(
            "DescribeRegistrationAttachments",
            req,
            {"ids": sorted(set(wanted)), "filters": filters},
            indexed,
            _index,
        )
        out: dict[str, Any] = {"RegistrationAttachments": [a.info() for _, a in chosen]}
        return out if token is None else {**out, "NextToken": token}

    # -- associations -------------------------------------------------------

    def add_identity(
        self,
        resource_type: str,
        *,
        iso_country_code: str = "US",
        phone_number: str | None = None,
        number_type: str | None = None,
    ) -> dict[str, Any]:
        """An origination identity the account owns, ready to be associated.

        A phone number has a ``number_type`` (the model's NumberType; default
        ``TOLL_FREE``), which is what registration types name it by; other identities
        take none.
        """
        prefix = IDENTITY_PREFIXES.get(resource_type) if isinstance(resource_type, str) else None
        if prefix is None:
            raise InvalidArgument(
                f"resource_type must be one of {', '.join(IDENTITY_PREFIXES)}, "
                f"got {resource_type!r}"
            )
        if not (isinstance(iso_country_code, str) and re.fullmatch("[A-Z]{2}", iso_country_code)):
            raise InvalidArgument(
                f"iso_country_code must be two capital letters, got {iso_country_code!r}"
            )
        if phone_number is not None and not (
            isinstance(phone_number, str) and re.fullmatch(r"\+?[1-9][0-9]{1,18}", phone_number)
        ):
            raise InvalidArgument(f"phone_number is not E.164: {phone_number!r}")
        if resource_type == "phone-number":
            kind = "TOLL_FREE" if number_type is None else number_type
            if kind not in NUMBER_TYPES:
                raise InvalidArgument(
                    f"number_type must be one of {', '.join(NUMBER_TYPES)}, got {kind!r}"
                )
        elif number_type is not None or phone_number is not None:
            raise InvalidArgument(f"a {resource_type} has no number_type and no phone_number")
        else:
            kind = _ASSOCIATION_TYPES[resource_type]
        resource_id = self._new_id(prefix, self._identities)
        identity = Identity(
            seq=next(self._seq),
            resource_id=resource_id,
            resource_arn=f"{self._arn_base}{resource_type}/{resource_id}",
            resource_type=resource_type,
            association_type=kind,
            iso_country_code=iso_country_code,
            phone_number=phone_number,
        )
        self._identities[resource_id] = identity
        return identity.metadata()

    def associate(
        self,
        reg: Registration,
        req: Mapping[str, Any],
        registrations: Iterable[Registration] = (),
    ) -> dict[str, Any]:
        """CreateRegistrationAssociation. The resource is an origination identity or, as
        for a 10DLC campaign and its brand, another registration of ``registrations``."""
        link = self._resource(reg, req["ResourceId"], registrations)
        definition = self.definition(reg.type)
        taken = [
            other for other in self._links.values()
            if other.resource_id == link.resource_id
            and (link.identity or other.registration_id == reg.id)
        ]  # fmt: skip
        if taken:
            raise ConflictError(
                f"{link.resource_id} is already associated with {taken[0].registration_id}",
                reason="RESOURCE_ALREADY_ASSOCIATED",
                resource_type=_resource_type(link.resource_id),
                resource_id=link.resource_id,
            )
        if reg.status in _ENDED:
            raise ConflictError(
                f"registration {reg.id} is {reg.status.to_api()}",
                reason="RESOURCE_NOT_ACTIVE",
                resource_type="registration",
                resource_id=reg.id,
            )
        if reg.current_version.status in _IN_FLIGHT:
            raise ConflictError(
                f"registration {reg.id} is under review: its resources cannot change",
                reason="RESOURCE_MODIFICATION_NOT_ALLOWED",
                resource_type="registration",
                resource_id=reg.id,
            )
        if definition is not None:
            supported = _supporting(definition, link)
            if not supported:
                where = "" if link.iso_country_code is None else f" in {link.iso_country_code}"
                raise _validation(
                    "INVALID_REGISTRATION_ASSOCIATION",
                    "ResourceId",
                    f"{reg.type} cannot be associated with a {link.association_type}{where}",
                )
            if (
                all(a.association_behavior == "ASSOCIATE_AFTER_COMPLETE" for a in supported)
                and reg.status is not RegistrationStatus.COMPLETE
            ):
                raise ConflictError(
                    f"{reg.type} is associated with a {link.association_type} after it is "
                    f"complete; {reg.id} is {reg.status.to_api()}",
                    reason="REGISTRATION_NOT_COMPLETE",
                    resource_type="registration",
                    resource_id=reg.id,
                )
        self._quota(
            len(self._held(reg.id)),
            self.limits.associations_per_registration,
            "ASSOCIATIONS_PER_REGISTRATION",
            f"associations of {reg.id}",
        )
        self._links[(reg.id, link.resource_id)] = link
        return {
            "RegistrationArn": reg.arn,
            "RegistrationId": reg.id,
            "RegistrationType": reg.type,
            **dict(link.metadata),
        }

    def associations(self, reg: Registration, req: Mapping[str, Any]) -> dict[str, Any]:
        """ListRegistrationAssociations (filters: ``resource-type``, ``iso-country-code``)."""
        filters = parse_filters(req.get("Filters"), "", ())
        indexed = sorted(
            (link.seq, link)
            for link in self._held(reg.id)
            if matches(link.association_type, filters.get("resource-type"))
            and matches(link.iso_country_code or "", filters.get("iso-country-code"))
        )
        chosen, token = self._pages.page(
            "ListRegistrationAssociations",
            req,
            {"id": reg.id, "filters": filters},
            indexed,
            _index,
        )
        out: dict[str, Any] = {
            "RegistrationArn": reg.arn,
            "RegistrationId": reg.id,
            "RegistrationType": reg.type,
            "RegistrationAssociations": [dict(link.metadata) for _, link in chosen],
        }
        return out if token is None else {**out, "NextToken": token}

    def check_delete(self, reg: Registration, registrations: Iterable[Registration] = ()) -> None:
        """Refuse DeleteRegistration while it holds a resource whose supported association
        is not DELETE_REGISTRATION_DISASSOCIATES (the others say the resources go first),
        or while an active registration of ``registrations`` holds it as its resource (a
        brand its campaigns: inferred)."""
        active = {r.id for r in registrations if r.status is not RegistrationStatus.DELETED}
        holders = sorted(
            link.registration_id
            for link in self._links.values()
            if link.resource_id == reg.id and link.registration_id in active
        )
        if holders:
            raise ConflictError(
                f"registration {reg.id} is associated with {', '.join(holders)}: "
                "delete those first",
                reason="RESOURCE_DELETION_NOT_ALLOWED",
                resource_type="registration",
                resource_id=reg.id,
            )
        definition = self.definition(reg.type)
        if definition is None:
            return
        held = [
            link.resource_id
            for link in self._held(reg.id)
            if not any(
                a.disassociation_behavior == "DELETE_REGISTRATION_DISASSOCIATES"
                for a in _supporting(definition, link)
            )
        ]
        if held:
            raise ConflictError(
                f"registration {reg.id} still has {', '.join(held)}: release them first",
                reason="RESOURCE_DELETION_NOT_ALLOWED",
                resource_type="registration",
                resource_id=reg.id,
            )

    def deleted(self, reg: Registration) -> None:
        """DeleteRegistration went through: its associations end, its values go."""
        for link_key in [k for k in self._links if reg.id in k]:
            del self._links[link_key]
        for value_key in [k for k in self._values if k[0] == reg.id]:
            del self._values[value_key]

    def release_identity(self, resource_id: str) -> str | None:
        """The identity is deleted (its number released); its association ends. Returns
        the registration whose last identity it was, else None (whether that registration
        now closes is :meth:`closes_when_released`)."""
        identity = self._identity(resource_id)
        del self._identities[identity.resource_id]
        links = [k for k in self._links if k[1] == identity.resource_id]
        for key in links:
            del self._links[key]
        if not links:
            return None
        reg_id = links[0][0]
        if any(link.identity for link in self._held(reg_id)):
            return None
        return reg_id

    def closed(self, registration_id: str) -> list[str]:
        """The registration went CLOSED by AWS's hand (``advance(..., "close")``): its
        origination identities are deleted, as CLOSED says ("the phone number or sender
        ID has been deleted"), so nothing holds it from being deleted. Returns them."""
        gone = [link.resource_id for link in self._held(registration_id) if link.identity]
        for resource_id in gone:
            self._identities.pop(resource_id, None)
            self._links.pop((registration_id, resource_id), None)
        return gone

    def closes_when_released(self, registration_type: str) -> bool:
        """Whether the type's registration closes once its last identity is released."""
        definition = self.definition(registration_type)
        return definition is None or any(
            a.disassociation_behavior == "DISASSOCIATE_ALL_CLOSES_REGISTRATION"
            for a in definition.supported_associations
        )

    # -- account limits -------------------------------------------------

    def check_new_registration(self, active: int) -> None:
        """REGISTRATIONS_PER_ACCOUNT."""
        self._quota(active, self.limits.registrations, "REGISTRATIONS_PER_ACCOUNT", "registrations")

    def check_new_version(self, now: datetime) -> None:
        """REGISTRATION_VERSIONS_CREATED_PER_DAY (counted by :meth:`version_created`)."""
        self._quota(
            self._created[("version", now.date())],
            self.limits.versions_per_day,
            "REGISTRATION_VERSIONS_CREATED_PER_DAY",
            "registration versions created today",
        )

    # -- helpers --------------------------------------------------------

    @staticmethod
    def _quota(used: int, limit: int | None, reason: str, what: str) -> None:
        if limit is not None and used >= limit:
            raise ServiceQuotaExceededError(
                f"the account's quota of {limit} {what} is used up", reason=reason
            )

    def _check_editable(self, reg: Registration) -> None:
        if reg.status in _ENDED:
            raise ConflictError(
                f"registration {reg.id} is {reg.status.to_api()}: its form cannot change",
                reason="RESOURCE_NOT_ACTIVE",
                resource_type="registration",
                resource_id=reg.id,
            )
        status = reg.current_version.status
        if status is not VersionStatus.DRAFT:
            raise ConflictError(
                f"registration {reg.id} version {reg.current_version.number} is "
                f"{status.to_api()}: field values change only in a DRAFT",
                reason="EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED",
                resource_type="registration",
                resource_id=reg.id,
            )

    @staticmethod
    def _check_section(definition: RegistrationTypeDefinition, path: str, field: str) -> None:
        if path not in {s.section_path for s in definition.sections}:
            raise _validation(
                "UNKNOWN_REGISTRATION_SECTION",
                field,
                f"{definition.registration_type} has no section {path!r}",
            )

    @staticmethod
    def _check_fields(
        definition: RegistrationTypeDefinition | None,
        paths: Sequence[str],
        field: str = "FieldPaths",
    ) -> list[str]:
        wanted = list(dict.fromkeys(paths))
        if definition is None:
            return wanted
        known = {f.field_path for f in definition.fields}
        for i, path in enumerate(wanted):
            if path not in known:
                raise _validation(
                    "UNKNOWN_REGISTRATION_FIELD",
                    field if field == "FieldPath" else f"{field}[{i}]",
                    f"{definition.registration_type} has no field {path!r}",
                )
        return wanted

    def _value_result(self, reg: Registration, value: FieldValue) -> dict[str, Any]:
        return {
            "RegistrationArn": reg.arn,
            "RegistrationId": reg.id,
            "VersionNumber": reg.current_version.number,
            **value.to_api(),
        }

    def _attachment_id(self, value: str) -> str:
        return value.removeprefix(f"{self._arn_base}registration-attachment/")

    def _attachment(self, value: str) -> Attachment:
        found = self._attachments.get(self._attachment_id(value))
        if found is None:
            raise NotFoundError(
                f"registration attachment {value} does not exist",
                resource_type="registration-attachment",
                resource_id=value,
            )
        return found

    def _attachment_ready(self, attachment_id: str) -> bool:
        found = self._attachments.get(self._attachment_id(attachment_id))
        return found is not None and found.status == "UPLOAD_COMPLETE"

    def _identity(self, value: str) -> Identity:
        resource_id = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
        found = self._identities.get(resource_id)
        if found is None:
            raise NotFoundError(
                f"resource {value} does not exist",
                resource_type=_resource_type(resource_id),
                resource_id=value,
            )
        return found

    def _resource(
        self, reg: Registration, value: str, registrations: Iterable[Registration]
    ) -> _Link:
        """The association ``reg`` would have with resource ``value`` (id or ARN): an
        identity of the account, or another registration (NotFoundError if neither)."""
        resource_id = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
        identity = self._identities.get(resource_id)
        if identity is not None:
            return _Link(
                seq=next(self._seq),
                registration_id=reg.id,
                resource_id=identity.resource_id,
                association_type=identity.association_type,
                iso_country_code=identity.iso_country_code,
                metadata=tuple(identity.metadata().items()),
                identity=True,
            )
        other = next((r for r in registrations if r.id == resource_id), None)
        if other is None or other.status is RegistrationStatus.DELETED:
            raise NotFoundError(
                f"resource {value} does not exist",
                resource_type=_resource_type(resource_id),
                resource_id=value,
            )
        if other.id == reg.id:
            raise _validation(
                "INVALID_REGISTRATION_ASSOCIATION",
                "ResourceId",
                f"registration {reg.id} cannot be associated with itself",
            )
        if other.status is not RegistrationStatus.COMPLETE:
            # "Before you can create and register a 10DLC campaign, you must first
            # register your company" (registrations-10dlc-register-campaign.html).
            raise ConflictError(
                f"registration {other.id} is {other.status.to_api()}: a registration is "
                "associated with another only once that one is COMPLETE",
                reason="REGISTRATION_NOT_COMPLETE",
                resource_type="registration",
                resource_id=other.id,
            )
        return _Link(
            seq=next(self._seq),
            registration_id=reg.id,
            resource_id=other.id,
            association_type=other.type,
            iso_country_code=None,
            metadata=(
                ("ResourceArn", other.arn),
                ("ResourceId", other.id),
                ("ResourceType", other.type),
            ),
            identity=False,
        )

    def _held(self, registration_id: str) -> list[_Link]:
        """The associations of ``registration_id``, oldest first."""
        return sorted(
            (link for link in self._links.values() if link.registration_id == registration_id),
            key=_seq,
        )

    def _new_id(self, prefix: str, taken: Mapping[str, object]) -> str:
        while True:
            candidate = f"{prefix}-{self._rng.getrandbits(128):032x}"
            if candidate not in taken:
                return candidate


#: The environment variable naming the catalogue an emulator serves when none is
#: given: a catalogue file, or ``none`` (no forms: any type, nothing checked).
ENV_CATALOG: Final = "REGISTRATION_FSM_CATALOG"

#: What ``catalog=`` takes: a Catalog, a file, None (no forms), or FROM_ENVIRONMENT.
CatalogSetting = Catalog | str | os.PathLike[str] | None | FromEnvironment


def resolve_catalog(
    setting: CatalogSetting, environ: Mapping[str, str] | None = None
) -> Catalog | None:
    """The catalogue ``setting`` names; FROM_ENVIRONMENT reads :data:`ENV_CATALOG`
    (unset: the shipped catalogue, :meth:`Catalog.builtin`)."""
    if setting is FROM_ENVIRONMENT:
        named = (os.environ if environ is None else environ).get(ENV_CATALOG, "").strip()
        if not named:
            return Catalog.builtin()
        return None if named.lower() == "none" else Catalog.load(named)
    if setting is None or isinstance(setting, Catalog):
        return setting
    if isinstance(setting, str | os.PathLike):
        return Catalog.load(setting)
    raise InvalidArgumentType(
        f"catalog must be a Catalog, a file, None or FROM_ENVIRONMENT, got {type(setting).__name__}"
    )


def _resource_type(resource_id: str) -> str:
    """The model's ResourceType of an identity or registration id (by its prefix)."""
    for resource_type, prefix in IDENTITY_PREFIXES.items():
        if resource_id.startswith(prefix + "-"):
            return resource_type
    return "registration" if resource_id.startswith("registration-") else "phone-number"


def _supporting(definition: RegistrationTypeDefinition, link: _Link) -> list[SupportedAssociation]:
    """The type's SupportedAssociations that take ``link``'s resource (a registration
    resource has no country: only its type is compared)."""
    return [
        a for a in definition.supported_associations
        if a.resource_type == link.association_type
        and (
            a.iso_country_code is None
            or link.iso_country_code is None
            or a.iso_country_code == link.iso_country_code
        )
    ]  # fmt: skip


def _seq(link: _Link) -> int:
    return link.seq


def _index(pair: tuple[int, Any]) -> int:
    return pair[0]


def _type_name(t: RegistrationTypeDefinition) -> str:
    return t.registration_type


#: The form operations, for the emulator's handler table.
FORM_OPERATIONS: Final = (
    "DescribeRegistrationTypeDefinitions",
    "DescribeRegistrationSectionDefinitions",
    "DescribeRegistrationFieldDefinitions",
    "PutRegistrationFieldValue",
    "DeleteRegistrationFieldValue",
    "DescribeRegistrationFieldValues",
    "CreateRegistrationAttachment",
    "DeleteRegistrationAttachment",
    "DescribeRegistrationAttachments",
    "CreateRegistrationAssociation",
    "ListRegistrationAssociations",
)

__all__ = [
    "ATTACHMENT_MAX_BYTES",
    "ENV_CATALOG",
    "FORM_OPERATIONS",
    "IDENTITY_PREFIXES",
    "MISSING_FIELD",
    "NUMBER_TYPES",
    "AccountLimits",
    "Attachment",
    "CatalogSetting",
    "FormDesk",
    "FormRules",
    "Identity",
    "resolve_catalog",
]
