"""The port's arguments as request params: the checks every implementation of the
port (:class:`~registration_fsm.Boto3RegistrationApi` and the emulator) runs before
any request is made, so a bad argument never costs a request (nor a slot under the
quotas), and both refuse it with the same typed error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from registration_fsm.domain.parsing import (
    VERSION_MAX,
    VERSION_MIN,
    check_registration_id,
)
from registration_fsm.errors import (
    ApiValidationError,
    InvalidArgument,
    InvalidArgumentType,
    shown,
)
from registration_fsm.ports import Filter

#: Members a single request may carry (RegistrationIds, VersionNumbers, FieldPaths...).
BATCH_SIZE = 5
PAGE_MIN, PAGE_MAX = 1, 100
#: AttachmentBody's length limits in the model (decoded bytes; the 6990508 is the length
#: of 5 MiB in base64, the 5 MB file size AWS documents).
BODY_MIN, BODY_MAX = 1, 6_990_508

T = TypeVar("T")


def checked_ids(values: Sequence[str]) -> list[str]:
    """Registration ids, each checked (:func:`check_registration_id`)."""
    if isinstance(values, str | bytes):
        raise InvalidArgumentType("registration_ids must be a sequence of ids, not a single string")
    return [check_registration_id(v, "RegistrationIds") for v in values]


def checked_version_numbers(values: Sequence[int]) -> list[int]:
    """Version numbers, each checked (:func:`checked_version_number`)."""
    if isinstance(values, str | bytes):
        raise InvalidArgumentType("version_numbers must be a sequence of integers")
    return [checked_version_number(value, "VersionNumbers") for value in values]


def checked_version_number(value: Any, field: str) -> int:
    """``value`` if it is a version number the model allows (1..100000), else ApiValidationError."""
    if isinstance(value, bool) or not isinstance(value, int):
        invalid(field, f"{value!r} is not an integer")
    if not VERSION_MIN <= value <= VERSION_MAX:
        invalid(field, f"{value} is outside {VERSION_MIN}..{VERSION_MAX}")
    return value


def strings(values: Sequence[str], name: str, *, unique: bool = True) -> list[str]:
    """``values`` as a list of strings (without repeats if ``unique``), or a typed error."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgumentType(f"{name} must be a sequence of strings, got {shown(values)}")
    for value in values:
        if not isinstance(value, str):
            raise InvalidArgumentType(f"{name} must hold strings, got {shown(value)}")
    return list(dict.fromkeys(values)) if unique else list(values)


def checked_body(value: Any) -> bytes:
    """An attachment's bytes, within the model's AttachmentBody limits (in bytes)."""
    if not isinstance(value, bytes | bytearray):
        raise InvalidArgumentType(f"attachment_body must be bytes, got {type(value).__name__}")
    if not BODY_MIN <= len(value) <= BODY_MAX:
        invalid(
            "AttachmentBody",
            f"attachment_body has {len(value)} bytes; expected {BODY_MIN}..{BODY_MAX}",
        )
    return bytes(value)


def tags_and_token(tags: Mapping[str, str] | None, client_token: str | None) -> dict[str, Any]:
    """The Tags and ClientToken members of a create request (each only when given)."""
    params: dict[str, Any] = {}
    if tags is not None:
        if not isinstance(tags, Mapping):
            raise InvalidArgument(f"tags must be a mapping, got {type(tags).__name__}")
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if client_token is not None:
        params["ClientToken"] = client_token
    return params


def filter_list(filters: Sequence[Filter]) -> list[dict[str, Any]]:
    """Filters in the request's shape (their names and values are the API's to check)."""
    if isinstance(filters, Mapping | str | bytes):
        raise InvalidArgument("filters must be a sequence of {'Name': ..., 'Values': [...]}")
    out = []
    for f in filters:
        if not isinstance(f, Mapping):
            raise InvalidArgument(f"each filter must be a mapping, got {f!r}")
        out.append(
            {k: list(v) if k == "Values" and not isinstance(v, str) else v for k, v in f.items()}
        )
    return out


def filtered(base: dict[str, Any], filters: Sequence[Filter]) -> dict[str, Any]:
    """``base`` with a Filters member when there are filters."""
    return {**base, "Filters": filter_list(filters)} if filters else base


def batched(base: dict[str, Any], member: str, values: list[Any]) -> list[dict[str, Any]]:
    """One request per batch of ``values`` under ``member``; just ``base`` if none."""
    return [{**base, member: batch} for batch in batches(values)] if values else [base]


def pagination(page_size: int | None) -> dict[str, int]:
    """A paginator's PaginationConfig for ``page_size`` (MaxResults, 1..100)."""
    if page_size is None:
        return {}
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        invalid("MaxResults", f"page_size {page_size!r} is not an integer")
    if not PAGE_MIN <= page_size <= PAGE_MAX:
        invalid("MaxResults", f"page_size {page_size} is outside {PAGE_MIN}..{PAGE_MAX}")
    return {"PageSize": page_size}


def invalid(field: str, message: str) -> NoReturn:
    """Raise the ApiValidationError the API would answer, without asking it."""
    raise ApiValidationError(message, reason="INVALID_PARAMETER", fields=[(field, message)])


def batches(values: list[T]) -> Iterator[list[T]]:
    """``values`` in lists of at most :data:`BATCH_SIZE`."""
    for start in range(0, len(values), BATCH_SIZE):
        yield values[start : start + BATCH_SIZE]
