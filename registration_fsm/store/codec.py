"""JSON (de)serialisation of what the stores keep, shared so both behave alike.

Values are JSON plus datetimes. A datetime is written as ``{"$datetime": ISO}``
(microseconds always shown, offset kept) and read back exactly. Object keys
starting with ``$`` get one more ``$`` on the way in and lose it on the way out,
so a stored dict can never be mistaken for a tagged value. Tuples come back as
lists; any other type is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.forms.values import FieldValues
from registration_fsm.domain.parsing import VERSION_MAX, VERSION_MIN
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import UNKNOWN, Shard
from registration_fsm.errors import (
    InvalidArgument,
    InvalidArgumentType,
    RegistrationError,
    StoreError,
    shown,
)
from registration_fsm.store.base import Intent, StoredIntent
from registration_fsm.store.chain import AuditRecord, record_hash

_DATETIME = "$datetime"
#: Where a stored version keeps its field values (not an API member: the API keeps
#: them apart, DescribeRegistrationFieldValues).
FIELD_VALUES = "FieldValues"
#: Where a stored event names its registration's account and region (``ACCOUNT/REGION``;
#: absent for registrations without an AWS ARN and events stored before schema 5).
SHARD = "shard"
#: What a parser may raise on stored data that is not what was written.
_UNUSABLE = (RegistrationError, ValueError, TypeError, KeyError, AttributeError, OverflowError)


class _Unencodable(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def dumps(value: Any, what: str) -> str:
    """``value`` as compact JSON text; :class:`InvalidArgument` if it cannot be stored."""
    try:
        return json.dumps(_encode(value, what), separators=(",", ":"), allow_nan=False)
    except _Unencodable as err:
        raise InvalidArgument(f"cannot store {err}") from None


def loads(text: str, where: str) -> Any:
    """Read :func:`dumps` output; :class:`StoreError` naming ``where`` if it is unreadable."""
    if not isinstance(text, str):
        raise StoreError(f"{where}: expected JSON text, found {type(text).__name__}")
    try:
        return json.loads(
            text, object_hook=_decode_object, parse_constant=_no_constant, parse_float=_finite
        )
    except (ValueError, RecursionError) as err:
        raise StoreError(f"{where}: unreadable JSON ({err})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (never written by dumps)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unencodable(path, f"{value} is not a finite number")
        return value
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat(timespec="microseconds")}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unencodable(path, f"key {key!r} is not a string")
            out["$" + key if key.startswith("$") else key] = _encode(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_encode(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise _Unencodable(path, f"{type(value).__name__} is not JSON")


def _decode_object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DATETIME in obj:
        text = obj[_DATETIME]
        if not isinstance(text, str):
            raise ValueError(f"{_DATETIME} holds {text!r}, not an ISO 8601 string")
        return datetime.fromisoformat(text)
    if any(key.startswith("$") for key in obj):
        return {key[1:] if key.startswith("$") else key: item for key, item in obj.items()}
    return obj


@attrs.frozen
class EncodedSave:
    """Everything one ``save`` writes, already encoded (so a refusal writes nothing)."""

    registration_id: str
    shard: Shard
    info: str
    versions: tuple[tuple[int, str], ...]
    events: tuple[str, ...]
    summary: str | None


def encode_save(
    registration: Registration,
    events: Iterable[TransitionEvent],
    summary: Mapping[str, Any] | None,
) -> EncodedSave:
    """Check and encode a save's arguments; :class:`InvalidArgument` if they are unusable."""
    if not isinstance(registration, Registration):
        raise InvalidArgumentType(f"expected a Registration, got {type(registration).__name__}")
    if isinstance(events, TransitionEvent | str | bytes | Mapping) or not isinstance(
        events, Iterable
    ):
        raise InvalidArgumentType(f"events must be a list of TransitionEvent, got {events!r}")
    if summary is not None and not isinstance(summary, Mapping):
        raise InvalidArgumentType(f"summary must be a mapping or None, got {summary!r}")
    reg_id = registration.id
    shard = Shard.of_arn(registration.arn)
    with registration.lock:  # a consistent snapshot while another thread fires
        info = registration.to_api()
        versions = registration.versions_to_api()
        known = registration.field_values_known()
    for version in versions:
        values = known.get(version["VersionNumber"])
        if values is not None:
            version[FIELD_VALUES] = values.to_json()
    encoded_events = []
    for i, event in enumerate(events):
        if not isinstance(event, TransitionEvent):
            raise InvalidArgumentType(
                f"events[{i}] is a {type(event).__name__}, not a TransitionEvent"
            )
        if event.registration_id != reg_id:
            raise InvalidArgument(
                f"events[{i}] belongs to registration {event.registration_id}, not {reg_id}"
            )
        data = event.to_dict()
        if shard != UNKNOWN:  # in the hashed content: the chain vouches for the account too
            data[SHARD] = str(shard)
        encoded_events.append(dumps(data, f"events[{i}]"))
    return EncodedSave(
        reg_id,
        shard,
        dumps(info, "registration"),
        tuple((v["VersionNumber"], dumps(v, f"version {v['VersionNumber']}")) for v in versions),
        tuple(encoded_events),
        None if summary is None else dumps(summary, "summary"),
    )


def decode_registration(info: str, versions: Sequence[str], where: str) -> Registration:
    """Rebuild a registration from its stored JSON; :class:`StoreError` if it is unusable."""
    data = loads(info, f"{where} info")
    raw_versions = [loads(text, f"{where} version") for text in versions]
    known: dict[Any, Any] = {}
    for raw in raw_versions:
        if isinstance(raw, dict) and FIELD_VALUES in raw:
            known[raw.get("VersionNumber")] = raw.pop(FIELD_VALUES)
    try:
        registration = Registration.from_api(data, raw_versions)
        for number, values in known.items():
            registration.keep_field_values(number, FieldValues.from_json(values))
        return registration
    except _UNUSABLE as err:
        raise StoreError(f"{where}: stored registration is unusable ({err})") from None


def decode_summary(text: str | None, where: str) -> dict[str, Any] | None:
    """A stored summary (None if none was saved)."""
    if text is None:
        return None
    value = loads(text, f"{where} summary")
    if not isinstance(value, dict):
        raise StoreError(f"{where} summary: expected an object, found {type(value).__name__}")
    return value


def decode_event(text: str, where: str) -> TransitionEvent:
    """A stored event; :class:`StoreError` if it is unusable."""
    data = loads(text, where)
    if not isinstance(data, dict):
        raise StoreError(f"{where}: expected an object, found {type(data).__name__}")
    number = data.get("version_number")
    if number is not None and (type(number) is not int or not VERSION_MIN <= number <= VERSION_MAX):
        raise StoreError(
            f"{where}: stored event is unusable (version_number {shown(number)} is not "
            f"{VERSION_MIN}..{VERSION_MAX} or null)"
        )
    try:
        return TransitionEvent.from_dict(data)
    except _UNUSABLE as err:
        raise StoreError(f"{where}: stored event is unusable ({err!r})") from None


def chain(
    registration_id: str, events: Sequence[str], last_seq: int, last_hash: str
) -> list[tuple[int, str, str, str, str]]:
    """Audit rows (seq, registration id, JSON, previous hash, hash) for new events."""
    rows = []
    prev = last_hash
    for offset, text in enumerate(events, start=1):
        seq = last_seq + offset
        digest = record_hash(seq, registration_id, prev, json.loads(text))
        rows.append((seq, registration_id, text, prev, digest))
        prev = digest
    return rows


def audit_record(
    seq: Any,
    registration_id: Any,
    text: Any,
    prev_hash: Any,
    digest: Any,
    account: Any = "",
    region: Any = "",
) -> AuditRecord:
    """A stored row as an audit record, undecoded: unreadable content stays raw text.
    ``account`` and ``region``: the shard stored beside it ('' for none)."""
    try:
        event = json.loads(text) if isinstance(text, str) else text
    except (ValueError, RecursionError):  # nested too deeply: still unreadable content
        event = text
    shard = f"{account}/{region}" if account and isinstance(account, str) else None
    return AuditRecord(seq, registration_id, event, prev_hash, digest, shard)


def encode_intent(intent: Intent) -> str:
    """An intent as stored JSON; :class:`InvalidArgumentType` if it is not an Intent."""
    if not isinstance(intent, Intent):
        raise InvalidArgumentType(f"expected an Intent, got {type(intent).__name__}")
    return dumps(intent.to_json(), "intent")


def decode_intent(intent_id: int, text: str, where: str) -> StoredIntent:
    """A stored intent; :class:`StoreError` if it is unusable."""
    data = loads(text, where)
    try:
        return StoredIntent(intent_id, Intent.from_json(data))
    except _UNUSABLE as err:
        raise StoreError(f"{where}: stored intent is unusable ({err})") from None
