"""Readers for API-shaped dicts: each returns the typed value or raises InvalidApiData.

The rules are the botocore service model's: required members, member types,
number ranges and the id pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timezone
from typing import Any, TypeVar

from registration_fsm.errors import (
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    shown,
)

E = TypeVar("E")

#: RegistrationIdOrArn: 1..256 characters of ``[A-Za-z0-9_:/-]``.
REGISTRATION_ID_RE = re.compile(r"[A-Za-z0-9_:/-]{1,256}")
#: RegistrationType: 1..64 characters of ``[A-Za-z0-9_]``.
REGISTRATION_TYPE_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
VERSION_MIN, VERSION_MAX = 1, 100_000
_EPOCH_MIN = datetime(1, 1, 2, tzinfo=UTC).timestamp()
_EPOCH_MAX = datetime(9999, 12, 30, tzinfo=UTC).timestamp()


#: tzinfo types whose ``utcoffset`` never returns None, so a datetime carrying one
#: is aware without asking. dateutil's (which botocore attaches) join once seen.
AWARE_ZONE_TYPES: set[type] = {timezone}
_ALWAYS_AWARE = {
    ("dateutil.tz.tz", "tzlocal"),
    ("dateutil.tz.tz", "tzutc"),
    ("dateutil.tz.tz", "tzoffset"),
    ("zoneinfo", "ZoneInfo"),
}


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    """``value`` as a mapping, or InvalidApiData."""
    if not isinstance(value, Mapping):
        raise InvalidApiData(field, value, "expected an object")
    return value


def required(data: Mapping[str, Any], key: str, path: str) -> Any:
    """The member ``key`` of ``data``; InvalidApiData if absent or null."""
    value = data.get(key)
    if value is None:
        raise InvalidApiData(f"{path}{key}", None, "required member is missing")
    return value


def string(value: Any, field: str) -> str:
    """A string member."""
    if not isinstance(value, str):
        raise InvalidApiData(field, value, "expected a string")
    return value


def check_registration_id(value: Any, field: str = "RegistrationId") -> str:
    """``value`` if it is a registration id (or ARN) the API accepts: the one id check.

    Raises :class:`InvalidArgumentType` for a non-string (a list of ids passed as
    one id...) and :class:`InvalidRegistrationId` for a string outside the API's
    pattern (1-256 characters of ``[A-Za-z0-9_:/-]``), before any request is made.
    """
    if type(value) is str and value in VALID_IDS:
        return value
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{field} must be a string, got {shown(value)}")
    if not REGISTRATION_ID_RE.fullmatch(value):
        raise InvalidRegistrationId(value, field)
    if type(value) is str:
        if len(VALID_IDS) >= 4096:  # a small memo of ids already checked
            VALID_IDS.clear()
        VALID_IDS.add(value)
    return value


def check_resource_id(value: Any, field: str) -> str:
    """An attachment or resource id (or ARN): the model gives them a registration id's
    pattern. :class:`InvalidArgumentType` or :class:`InvalidArgument` before any request."""
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{field} must be a string, got {shown(value)}")
    if not REGISTRATION_ID_RE.fullmatch(value):
        raise InvalidArgument(f"{field} {shown(value)} must be 1-256 characters of [A-Za-z0-9_:/-]")
    return value


#: A small memo of ids already checked (the hydration fast path reads it).
VALID_IDS: set[str] = set()


def registration_id(value: Any, field: str = "RegistrationId") -> str:
    """A registration id in API data (:func:`check_registration_id`, as InvalidApiData)."""
    if type(value) is str and value in VALID_IDS:  # the hydration fast path
        return value
    try:
        return check_registration_id(value, field)
    except (InvalidRegistrationId, InvalidArgumentType):
        raise InvalidApiData(field, value, "expected 1-256 characters of [A-Za-z0-9_:/-]") from None


def registration_type(value: Any, field: str = "RegistrationType") -> str:
    """A registration type matching the API's pattern and length."""
    if not isinstance(value, str) or not REGISTRATION_TYPE_RE.fullmatch(value):
        raise InvalidApiData(field, value, "expected 1-64 characters of [A-Za-z0-9_]")
    return value


def version_number(value: Any, field: str) -> int:
    """A RegistrationVersionNumber: an integer in 1..100000."""
    if type(value) is not int:
        raise InvalidApiData(field, value, "expected an integer")
    if not VERSION_MIN <= value <= VERSION_MAX:
        raise InvalidApiData(field, value, f"expected {VERSION_MIN}..{VERSION_MAX}")
    return value


def timestamp(value: Any, field: str) -> datetime:
    """A Timestamp: an aware datetime (boto3) or epoch seconds (raw JSON), as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidApiData(field, value, "expected a timezone-aware datetime")
        zone = type(value.tzinfo)
        if (zone.__module__, zone.__name__) in _ALWAYS_AWARE:
            AWARE_ZONE_TYPES.add(zone)
        try:
            return value if value.tzinfo is UTC else value.astimezone(UTC)
        except OverflowError:
            raise InvalidApiData(field, value, "outside datetime's range in UTC") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _EPOCH_MIN <= value <= _EPOCH_MAX:  # exact for ints of any size, false for NaN
            raise InvalidApiData(field, value, "epoch seconds out of range")
        return datetime.fromtimestamp(value, UTC)
    raise InvalidApiData(field, value, "expected a datetime or epoch seconds")


def status(value: Any, field: str, enum: type[E]) -> E:
    """An enum status member; unknown values become pseudo-members."""
    if not isinstance(value, str):
        raise InvalidApiData(field, value, "expected a status string")
    try:
        return enum(value)  # type: ignore[call-arg]
    except ValueError:
        raise InvalidApiData(field, value, "not a usable status string") from None


def string_map(value: Any, field: str) -> dict[str, str]:
    """A StringMap: string keys and values."""
    data = mapping(value, field)
    for k, v in data.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidApiData(f"{field}.{k}", v, "expected string keys and values")
    return dict(data)
