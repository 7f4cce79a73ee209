"""Request validation by hand, against the service model's constraints (no botocore).

:data:`SHAPES` copies, shape by shape, the input shapes of the 18 registration
operations (:data:`INPUT_SHAPES`) from ``pinpoint-sms-voice-v2`` (types, lengths,
ranges, patterns, enums, required members); a test compares it with the installed
botocore model. Patterns are matched against the whole value. Unknown request
members are ignored and ``null`` counts as absent, as AWS JSON servers do. A blob
travels as standard, padded base64 text (AWS JSON 1.0); its length limits apply
to the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

import attrs

from registration_fsm.domain.lifecycle import LIFECYCLE, LifecyclePolicy
from registration_fsm.errors import (
    ApiValidationError,
    InvalidArgument,
    InvalidArgumentType,
    UnknownOperationError,
    UnknownTrigger,
)


@attrs.frozen
class Shape:
    """One input shape: ``type`` is the botocore type name (string, integer, long...)."""

    type: str
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    #: list: the member's shape name.
    member: str | None = None
    #: structure: (member name, shape name) pairs, in model order.
    members: tuple[tuple[str, str], ...] = ()
    required: tuple[str, ...] = ()


def _s(lo: int, hi: int, pattern: str) -> Shape:
    return Shape("string", lo, hi, pattern)


def _struct(*members: tuple[str, str], required: tuple[str, ...] = ()) -> Shape:
    return Shape("structure", members=members, required=required)


_ID = ("RegistrationId", "RegistrationIdOrArn")
_PAGE = (("NextToken", "NextToken"), ("MaxResults", "MaxResults"))
_ANY_ID = "[A-Za-z0-9_:/-]+"


def _filter(name_shape: str) -> Shape:
    return _struct(("Name", name_shape), ("Values", "FilterValueList"), required=("Name", "Values"))


#: Every shape reachable from the registration operations' inputs, by model name.
SHAPES: Mapping[str, Shape] = {
    "CreateRegistrationRequest": _struct(
        ("RegistrationType", "RegistrationType"),
        ("Tags", "TagList"),
        ("ClientToken", "ClientToken"),
        required=("RegistrationType",),
    ),
    "RegistrationType": _s(1, 64, "[A-Za-z0-9_]+"),
    "TagList": Shape("list", 0, 200, member="Tag"),
    "Tag": _struct(("Key", "TagKey"), ("Value", "TagValue"), required=("Key", "Value")),
    "TagKey": _s(1, 128, ".+"),
    "TagValue": _s(0, 256, ".*"),
    "ClientToken": _s(1, 64, "[!-~]+"),
    "DescribeRegistrationsRequest": _struct(
        ("RegistrationIds", "RegistrationIdList"),
        ("Filters", "RegistrationFilterList"),
        ("NextToken", "NextToken"),
        ("MaxResults", "MaxResults"),
    ),
    "RegistrationIdList": Shape("list", 0, 5, member="RegistrationIdOrArn"),
    "RegistrationIdOrArn": _s(1, 256, "[A-Za-z0-9_:/-]+"),
    "RegistrationFilterList": Shape("list", 0, 20, member="RegistrationFilter"),
    "RegistrationFilter": _struct(
        ("Name", "RegistrationFilterName"),
        ("Values", "FilterValueList"),
        required=("Name", "Values"),
    ),
    "RegistrationFilterName": Shape("string", enum=("registration-type", "registration-status")),
    "FilterValueList": Shape("list", 1, 20, member="FilterValue"),
    "FilterValue": _s(1, 128, r"[/\.:A-Za-z0-9+_-]+"),
    "NextToken": _s(1, 1024, ".+"),
    "MaxResults": Shape("integer", 1, 100),
    "DescribeRegistrationVersionsRequest": _struct(
        _ID,
        ("VersionNumbers", "RegistrationVersionNumberList"),
        ("Filters", "RegistrationVersionFilterList"),
        ("NextToken", "NextToken"),
        ("MaxResults", "MaxResults"),
        required=("RegistrationId",),
    ),
    "RegistrationVersionNumberList": Shape("list", 0, 5, member="RegistrationVersionNumber"),
    "RegistrationVersionNumber": Shape("long", 1, 100_000),
    "RegistrationVersionFilterList": Shape("list", 0, 20, member="RegistrationVersionFilter"),
    "RegistrationVersionFilter": _struct(
        ("Name", "RegistrationVersionFilterName"),
        ("Values", "FilterValueList"),
        required=("Name", "Values"),
    ),
    "RegistrationVersionFilterName": Shape("string", enum=("registration-version-status",)),
    "CreateRegistrationVersionRequest": _struct(_ID, required=("RegistrationId",)),
    "SubmitRegistrationVersionRequest": _struct(
        _ID, ("AwsReview", "PrimitiveBoolean"), required=("RegistrationId",)
    ),
    "PrimitiveBoolean": Shape("boolean"),
    "DiscardRegistrationVersionRequest": _struct(_ID, required=("RegistrationId",)),
    "DeleteRegistrationRequest": _struct(_ID, required=("RegistrationId",)),
    # -- forms: definitions
    "DescribeRegistrationTypeDefinitionsRequest": _struct(
        ("RegistrationTypes", "RegistrationTypeList"),
        ("Filters", "RegistrationTypeFilterList"),
        *_PAGE,
    ),
    "RegistrationTypeList": Shape("list", 0, 5, member="RegistrationType"),
    "RegistrationTypeFilterList": Shape("list", 0, 20, member="RegistrationTypeFilter"),
    "RegistrationTypeFilter": _filter("RegistrationTypeFilterName"),
    "RegistrationTypeFilterName": Shape(
        "string",
        enum=("supported-association-resource-type", "supported-association-iso-country-code"),
    ),
    "DescribeRegistrationSectionDefinitionsRequest": _struct(
        ("RegistrationType", "RegistrationType"),
        ("SectionPaths", "SectionPathList"),
        *_PAGE,
        required=("RegistrationType",),
    ),
    "SectionPathList": Shape("list", 0, 5, member="SectionPath"),
    "SectionPath": _s(1, 100, "[A-Za-z0-9_]+"),
    "DescribeRegistrationFieldDefinitionsRequest": _struct(
        ("RegistrationType", "RegistrationType"),
        ("SectionPath", "SectionPath"),
        ("FieldPaths", "FieldPathList"),
        *_PAGE,
        required=("RegistrationType",),
    ),
    "FieldPathList": Shape("list", 0, 5, member="FieldPath"),
    "FieldPath": _s(1, 100, r"[A-Za-z0-9_\.]+"),
    # -- forms: values
    "PutRegistrationFieldValueRequest": _struct(
        _ID,
        ("FieldPath", "FieldPath"),
        ("SelectChoices", "SelectChoiceList"),
        ("TextValue", "TextValue"),
        ("RegistrationAttachmentId", "RegistrationAttachmentIdOrArn"),
        required=("RegistrationId", "FieldPath"),
    ),
    "SelectChoiceList": Shape("list", 0, 100, member="SelectChoice"),
    "SelectChoice": Shape("string", 1, 256),
    "TextValue": Shape("string", 1, 2048),
    "RegistrationAttachmentIdOrArn": _s(1, 256, _ANY_ID),
    "DeleteRegistrationFieldValueRequest": _struct(
        _ID, ("FieldPath", "FieldPath"), required=("RegistrationId", "FieldPath")
    ),
    "DescribeRegistrationFieldValuesRequest": _struct(
        _ID,
        ("VersionNumber", "RegistrationVersionNumber"),
        ("SectionPath", "SectionPath"),
        ("FieldPaths", "FieldPathList"),
        *_PAGE,
        required=("RegistrationId",),
    ),
    # -- attachments
    "CreateRegistrationAttachmentRequest": _struct(
        ("AttachmentBody", "AttachmentBody"),
        ("AttachmentUrl", "AttachmentUrl"),
        ("Tags", "TagList"),
        ("ClientToken", "ClientToken"),
    ),
    "AttachmentBody": Shape("blob", 1, 6_990_508),
    "AttachmentUrl": _s(1, 2048, r"\S+"),
    "DeleteRegistrationAttachmentRequest": _struct(
        ("RegistrationAttachmentId", "RegistrationAttachmentIdOrArn"),
        required=("RegistrationAttachmentId",),
    ),
    "DescribeRegistrationAttachmentsRequest": _struct(
        ("RegistrationAttachmentIds", "RegistrationAttachmentIdList"),
        ("Filters", "RegistrationAttachmentFilterList"),
        *_PAGE,
    ),
    # The model's list of attachment ids has RegistrationIdOrArn members (same pattern).
    "RegistrationAttachmentIdList": Shape("list", 0, 5, member="RegistrationIdOrArn"),
    "RegistrationAttachmentFilterList": Shape("list", 0, 20, member="RegistrationAttachmentFilter"),
    "RegistrationAttachmentFilter": _filter("RegistrationAttachmentFilterName"),
    "RegistrationAttachmentFilterName": Shape("string", enum=("attachment-status",)),
    # -- associations
    "CreateRegistrationAssociationRequest": _struct(
        _ID, ("ResourceId", "ResourceIdOrArn"), required=("RegistrationId", "ResourceId")
    ),
    "ResourceIdOrArn": _s(1, 256, _ANY_ID),
    "ListRegistrationAssociationsRequest": _struct(
        _ID, ("Filters", "RegistrationAssociationFilterList"), *_PAGE, required=("RegistrationId",)
    ),
    "RegistrationAssociationFilterList": Shape(
        "list", 0, 20, member="RegistrationAssociationFilter"
    ),
    "RegistrationAssociationFilter": _filter("RegistrationAssociationFilterName"),
    "RegistrationAssociationFilterName": Shape(
        "string", enum=("resource-type", "iso-country-code")
    ),
}

#: Every registration operation of the model, and its input shape:
#: :func:`validate_request` checks a request of any of them.
INPUT_SHAPES: Mapping[str, str] = {
    "CreateRegistration": "CreateRegistrationRequest",
    "DescribeRegistrations": "DescribeRegistrationsRequest",
    "DescribeRegistrationVersions": "DescribeRegistrationVersionsRequest",
    "CreateRegistrationVersion": "CreateRegistrationVersionRequest",
    "SubmitRegistrationVersion": "SubmitRegistrationVersionRequest",
    "DiscardRegistrationVersion": "DiscardRegistrationVersionRequest",
    "DeleteRegistration": "DeleteRegistrationRequest",
    "DescribeRegistrationTypeDefinitions": "DescribeRegistrationTypeDefinitionsRequest",
    "DescribeRegistrationSectionDefinitions": "DescribeRegistrationSectionDefinitionsRequest",
    "DescribeRegistrationFieldDefinitions": "DescribeRegistrationFieldDefinitionsRequest",
    "PutRegistrationFieldValue": "PutRegistrationFieldValueRequest",
    "DeleteRegistrationFieldValue": "DeleteRegistrationFieldValueRequest",
    "DescribeRegistrationFieldValues": "DescribeRegistrationFieldValuesRequest",
    "CreateRegistrationAttachment": "CreateRegistrationAttachmentRequest",
    "DeleteRegistrationAttachment": "DeleteRegistrationAttachmentRequest",
    "DescribeRegistrationAttachments": "DescribeRegistrationAttachmentsRequest",
    "CreateRegistrationAssociation": "CreateRegistrationAssociationRequest",
    "ListRegistrationAssociations": "ListRegistrationAssociationsRequest",
}

#: The operations the emulator serves (all of :data:`INPUT_SHAPES`), and their input
#: shapes; the HTTP front routes these, and only these.
OPERATIONS: Mapping[str, str] = INPUT_SHAPES


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def shown(value: Any) -> str:
    """A short, safe rendering of a request value for an error message."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


_Problem = tuple[str, str, bool]  # (field path, message, is a missing required member)


def _check(shape_name: str, value: Any, path: str, out: list[_Problem]) -> None:
    shape = SHAPES[shape_name]
    kind = shape.type
    if kind == "structure":
        _check_structure(shape, value, path, out)
    elif kind == "list":
        if not isinstance(value, list | tuple):
            out.append((path, "expected a list", False))
            return
        if _check_size(shape, len(value), path, "items", out) and shape.member is not None:
            for i, item in enumerate(value):
                _check(shape.member, item, f"{path}[{i}]", out)
    elif kind == "string":
        _check_string(shape, value, path, out)
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append((path, f"{shown(value)} is not an integer", False))
        elif (shape.min is not None and value < shape.min) or (
            shape.max is not None and value > shape.max
        ):
            out.append((path, f"{value} is not in {shape.min}..{shape.max}", False))
    elif kind == "boolean" and not isinstance(value, bool):
        out.append((path, f"{shown(value)} is not a boolean", False))
    elif kind == "blob":
        decoded = decode_blob(value)
        if decoded is None:
            out.append((path, f"{shown(value)} is not base64-encoded data", False))
        else:
            _check_size(shape, len(decoded), path, "bytes", out)


def decode_blob(value: Any) -> bytes | None:
    """A blob member as it travels in AWS JSON (standard, padded base64 text), decoded.

    None if ``value`` is not such text (not a string, a character outside the
    alphabet, whitespace, wrong padding).
    """
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # ValueError: a character outside ASCII
        return None


def _check_structure(shape: Shape, value: Any, path: str, out: list[_Problem]) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        out.append((path or "(request)", "expected an object", False))
        return
    for name, member_shape in shape.members:
        member_path = f"{path}.{name}" if path else name
        member = value.get(name)
        if member is None:
            if name in shape.required:
                out.append((member_path, "required member is missing", True))
            continue
        _check(member_shape, member, member_path, out)


def _check_string(shape: Shape, value: Any, path: str, out: list[_Problem]) -> None:
    if not isinstance(value, str):
        out.append((path, f"{shown(value)} is not a string", False))
        return
    if shape.enum and value not in shape.enum:
        out.append((path, f"{shown(value)} is not one of {', '.join(shape.enum)}", False))
        return
    _check_size(shape, len(value), path, "characters", out)
    if shape.pattern is not None and not _compiled(shape.pattern).fullmatch(value):
        out.append((path, f"{shown(value)} does not match {shape.pattern}", False))


def _check_size(shape: Shape, size: int, path: str, unit: str, out: list[_Problem]) -> bool:
    lo, hi = shape.min, shape.max
    if (lo is not None and size < lo) or (hi is not None and size > hi):
        out.append((path, f"has {size} {unit}; expected {lo}..{hi}", False))
        return False
    return True


def validate_request(operation: str, params: Any) -> None:
    """Check ``params`` against the operation's input shape; raise on the first request error.

    ``operation`` is any registration operation (:data:`INPUT_SHAPES`), served or
    not. Every problem is listed in the :class:`ApiValidationError`'s ``fields``;
    its reason is MISSING_PARAMETER when a required member is missing, else
    INVALID_PARAMETER. Raises :class:`UnknownOperationError` for any other operation.
    """
    shape_name = INPUT_SHAPES.get(operation) if isinstance(operation, str) else None
    if shape_name is None:
        raise UnknownOperationError(
            f"unknown operation {shown(operation)}; known: {', '.join(INPUT_SHAPES)}",
            operation=operation if isinstance(operation, str) else None,
        )
    problems: list[_Problem] = []
    _check(shape_name, params, "", problems)
    if not problems:
        return
    reason = (
        "MISSING_PARAMETER" if any(missing for *_, missing in problems) else "INVALID_PARAMETER"
    )
    count = len(problems)
    detail = "; ".join(f"{name}: {message}" for name, message, _ in problems[:5])
    raise ApiValidationError(
        f"{count} validation error{'s' if count > 1 else ''} detected: {detail}",
        reason=reason,
        fields=[(name, message) for name, message, _ in problems],
        operation=operation,
    )


def request_params(**members: Any) -> dict[str, Any]:
    """Request params from keyword arguments: drops None and empty sequences."""
    out: dict[str, Any] = {}
    for name, value in members.items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        out[name] = list(value) if isinstance(value, list | tuple) else value
    return out


def chunks(values: Any, name: str, size: int) -> list[list[Any]]:
    """``values`` without repeats, in chunks of ``size`` (one empty chunk if none)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
        message = f"{name} must be a sequence, got {shown(values)}"
        raise ApiValidationError(message, reason="INVALID_PARAMETER", fields=[(name, message)])
    unique = list(dict.fromkeys(values)) if all(_hashable(v) for v in values) else list(values)
    return [unique[i : i + size] for i in range(0, len(unique), size)] or [[]]


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def check_advance(trigger: Any) -> None:
    """Refuse a customer (API) trigger or an unknown one; ``advance`` plays AWS's side only.

    AWS's side is :attr:`Lifecycle.aws_triggers`: the triggers no API operation fires.
    """
    if isinstance(trigger, str) and trigger in LIFECYCLE.aws_triggers:
        return
    found = LIFECYCLE.triggers.get(trigger) if isinstance(trigger, str) else None
    if found is not None and found.operation is not None:
        raise InvalidArgument(f"{trigger!r} is caused by the API ({found.operation}); send that")
    raise UnknownTrigger(trigger, LIFECYCLE.aws_triggers)


_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_ACCOUNT_RE = re.compile(r"\d{12}")


def check_options(
    *,
    region: Any,
    account: Any,
    clock: Any,
    seed: Any,
    policy: Any,
    default_page_size: Any,
    registration_types: Any,
) -> None:
    """Validate EmulatedRegistrationApi's constructor arguments (InvalidArgument)."""
    if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
        raise InvalidArgument(f"region must look like us-east-1, got {region!r}")
    if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
        raise InvalidArgument(f"account must be 12 digits, got {account!r}")
    if clock is not None and not callable(clock):
        raise InvalidArgument(f"clock must be callable, got {clock!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise InvalidArgument(f"seed must be an int or None, got {seed!r}")
    if not isinstance(policy, LifecyclePolicy):
        raise InvalidArgumentType(f"policy must be a LifecyclePolicy, got {policy!r}")
    if type(default_page_size) is not int or not 1 <= default_page_size <= 100:
        raise InvalidArgument(f"default_page_size must be 1..100, got {default_page_size!r}")
    if registration_types is not None and (
        isinstance(registration_types, str)
        or not isinstance(registration_types, Collection)
        or not all(isinstance(t, str) for t in registration_types)
    ):
        raise InvalidArgument("registration_types must be a collection of strings")
