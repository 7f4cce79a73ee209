"""A form's field values: FieldValue (one field's), FieldValues (a whole form's), FieldChange.

:class:`FieldValues` is immutable and ordered by field path; :meth:`FieldValues.digest`
hashes its canonical JSON (what a submit event records) and :meth:`FieldValues.diff`
lists the :class:`FieldChange` between two forms. Values are checked for their own shape
only; what a registration type makes of them is :mod:`registration_fsm.domain.forms.rules`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import pairwise
from typing import Any, Literal

import attrs

from registration_fsm.domain.forms.base import (
    _attachment_id,
    _Fail,
    _field_path,
    _member,
    _object,
    _optional_strings,
    _parsing,
    _str,
    _strs,
)
from registration_fsm.errors import InvalidApiData, InvalidArgument, InvalidArgumentType, shown

__all__ = ["FieldChange", "FieldValue", "FieldValues"]


def _text_ok(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@attrs.frozen
class FieldValue:
    """One field's value: exactly one of ``select_choices``, ``text_value``, ``attachment_id``."""

    field_path: str
    select_choices: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    text_value: str | None = None
    attachment_id: str | None = None

    def __attrs_post_init__(self) -> None:
        fail = _Fail("FieldValue")
        _field_path(self.field_path, "FieldPath", fail)
        given = [v is not None for v in (self.select_choices, self.text_value, self.attachment_id)]
        if sum(given) != 1:
            fail(
                str(self.field_path),
                sum(given),
                "exactly one of SelectChoices, TextValue and RegistrationAttachmentId must be set",
            )
        if self.select_choices is not None:
            _strs(self.select_choices, "SelectChoices", fail)
            if len(self.select_choices) > 100:
                fail("SelectChoices", len(self.select_choices), "at most 100 choices")
            for choice in self.select_choices:
                if not 1 <= len(choice) <= 256 or not _text_ok(choice):
                    fail("SelectChoices", choice, "a choice is 1-256 characters of text")
        if self.text_value is not None:
            _str(self.text_value, "TextValue", fail)
            if not 1 <= len(self.text_value) <= 2048 or not _text_ok(self.text_value):
                fail("TextValue", self.text_value, "expected 1-2048 characters of text")
        if self.attachment_id is not None:
            _attachment_id(self.attachment_id, "RegistrationAttachmentId", fail)

    @property
    def tokens(self) -> tuple[str, ...]:
        """What conditions compare: the text, the attachment id, or the choices."""
        if self.text_value is not None:
            return (self.text_value,)
        if self.attachment_id is not None:
            return (self.attachment_id,)
        return self.select_choices or ()

    def to_api(self) -> dict[str, Any]:
        """RegistrationFieldValueInformation's members: FieldPath and the one value."""
        if self.select_choices is not None:
            return {"FieldPath": self.field_path, "SelectChoices": list(self.select_choices)}
        if self.text_value is not None:
            return {"FieldPath": self.field_path, "TextValue": self.text_value}
        return {"FieldPath": self.field_path, "RegistrationAttachmentId": self.attachment_id}

    @classmethod
    def from_api(cls, item: Any) -> FieldValue:
        """Read RegistrationFieldValueInformation (DeniedReason and Feedback are not kept)."""
        path = item.get("FieldPath") if isinstance(item, Mapping) else None
        with _parsing(
            "",
            top=f"RegistrationFieldValue {path} "
            if isinstance(path, str)
            else "RegistrationFieldValue ",
        ):
            data = _object(item, "")
            return cls(
                _member(data, "FieldPath"),
                data.get("SelectChoices"),
                data.get("TextValue"),
                data.get("RegistrationAttachmentId"),
            )

    to_json = to_api
    from_json = from_api

    def show(self) -> str:
        """The value, short, for one line."""
        if self.select_choices is not None:
            return shown(list(self.select_choices), 60)
        if self.text_value is not None:
            return shown(self.text_value, 60)
        return f"attachment {self.attachment_id}"


def _sorted_values(values: Any) -> tuple[FieldValue, ...]:
    if isinstance(values, FieldValues):
        return values._values
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidArgumentType(
            f"field values are an iterable of FieldValue, got {shown(values)}"
        )
    items = tuple(values)
    for value in items:
        if not isinstance(value, FieldValue):
            raise InvalidArgumentType(f"expected a FieldValue, got {shown(value)}")
    ordered = tuple(sorted(items, key=lambda v: v.field_path))
    for a, b in pairwise(ordered):
        if a.field_path == b.field_path:
            raise InvalidArgument(f"field path {a.field_path!r} is given twice")
    return ordered


@attrs.frozen
class FieldValues(Mapping[str, FieldValue]):
    """A form's values: an immutable mapping of field path to FieldValue, ordered by path."""

    _values: tuple[FieldValue, ...] = attrs.field(converter=_sorted_values, alias="values")
    _index: Mapping[str, FieldValue] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {v.field_path: v for v in self._values})

    def __getitem__(self, path: str) -> FieldValue:
        return self._index[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._values)

    @classmethod
    def of(cls, values: Iterable[FieldValue] | FieldValues) -> FieldValues:
        """The values; a path given twice is InvalidArgument."""
        return cls(values)

    @classmethod
    def empty(cls) -> FieldValues:
        return cls(())

    def with_value(self, value: FieldValue) -> FieldValues:
        """These values with ``value`` added or replacing the one at its path."""
        if not isinstance(value, FieldValue):
            raise InvalidArgumentType(f"expected a FieldValue, got {shown(value)}")
        if self._index.get(value.field_path) == value:
            return self
        return FieldValues([*(v for v in self._values if v.field_path != value.field_path), value])

    def without(self, path: str) -> FieldValues:
        """These values without the one at ``path`` (unchanged if there is none)."""
        if path not in self._index:
            return self
        return FieldValues(v for v in self._values if v.field_path != path)

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self._values]

    @classmethod
    def from_json(cls, data: Any) -> FieldValues:
        """Read :meth:`to_json`'s list; a bad item is InvalidApiData, a repeated path too."""
        values = [FieldValue.from_json(item) for item in _list_of(data)]
        try:
            return cls(values)
        except InvalidArgument as exc:
            raise InvalidApiData("RegistrationFieldValues", data, str(exc)) from None

    def digest(self) -> str:
        """``sha256:`` and the hex digest of the canonical JSON of :meth:`to_json`."""
        canonical = json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def diff(self, other: FieldValues) -> tuple[FieldChange, ...]:
        """What changed from these values (before) to ``other`` (after), by path."""
        if not isinstance(other, FieldValues):
            raise InvalidArgumentType(f"diff takes FieldValues, got {shown(other)}")
        paths = sorted(set(self._index) | set(other._index))
        return tuple(
            FieldChange(p, self._index.get(p), other._index.get(p))
            for p in paths
            if self._index.get(p) != other._index.get(p)
        )


def _list_of(data: Any) -> list[Any]:
    if not isinstance(data, list | tuple):
        raise InvalidApiData("RegistrationFieldValues", data, "expected a list")
    return list(data)


@attrs.frozen
class FieldChange:
    """A field's value before and after (None: no value)."""

    field_path: str
    before: FieldValue | None
    after: FieldValue | None

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    def describe(self) -> str:
        """One line: ``companyInfo.companyName: 'Acme' -> 'Acme Inc.'``."""
        before = "(no value)" if self.before is None else self.before.show()
        after = "(no value)" if self.after is None else self.after.show()
        return f"{self.field_path}: {before} -> {after}"
