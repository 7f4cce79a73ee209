"""What the shapes, the catalogue and the values share: one way to fail, checks, frozen JSON.

A check fails through :class:`_Fail`: constructing a value with a bad member raises
InvalidArgument (InvalidArgumentType for a wrong type) naming its owner; inside
:func:`_parsing` (reading API data or a catalogue) the same check raises InvalidApiData
located by the parsing prefix (the type, the field, the member). JSON objects kept as
given are frozen into :class:`FrozenMap` and tuples, and thawed back for output.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Final, Generic, NoReturn, TypeVar

from registration_fsm.errors import InvalidApiData, InvalidArgument, InvalidArgumentType, shown

__all__ = ["FrozenMap"]


# -- one way to fail: InvalidArgument when constructed, InvalidApiData when parsed ----------

_PARSING: ContextVar[str | None] = ContextVar("registration_fsm_forms_parsing", default=None)


class _Fail:
    """Raises for ``owner``; while parsing, InvalidApiData located by the parsing prefix."""

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def __call__(
        self, where: str, value: object, problem: str, wrong_type: bool = False
    ) -> NoReturn:
        prefix = _PARSING.get()
        if prefix is not None:
            raise InvalidApiData((prefix + where).rstrip(". ") or "catalogue", value, problem)
        error = InvalidArgumentType if wrong_type else InvalidArgument
        raise error(f"{self.owner} {where}".rstrip(". ") + f": {problem} (got {shown(value)})")


_parse_fail = _Fail("")


@contextlib.contextmanager
def _parsing(prefix: str, top: str = "") -> Iterator[None]:
    """Checks inside raise InvalidApiData, located by ``prefix`` (``top`` first if outermost)."""
    outer = _PARSING.get()
    token = _PARSING.set(outer + prefix if outer is not None else top + prefix)
    try:
        yield
    finally:
        _PARSING.reset(token)


_Check = Callable[[Any, str, _Fail], None]


def _str(value: Any, where: str, fail: _Fail) -> None:
    if not isinstance(value, str):
        fail(where, value, "expected a string", True)


def _matching(pattern: str, what: str) -> _Check:
    compiled = re.compile(pattern)

    def check(value: Any, where: str, fail: _Fail) -> None:
        _str(value, where, fail)
        if not compiled.fullmatch(value):
            fail(where, value, f"expected {what}")

    return check


_type_name = _matching(r"[A-Za-z0-9_]{1,64}", "1-64 characters of [A-Za-z0-9_]")
_section_path = _matching(r"[A-Za-z0-9_]{1,100}", "1-100 characters of [A-Za-z0-9_]")
_field_path = _matching(r"[A-Za-z0-9_.]{1,100}", "1-100 characters of [A-Za-z0-9_.]")
_word = _type_name  # ConditionOperator, ConditionalFieldBehavior
_attachment_id = _matching(r"[A-Za-z0-9_:/-]{1,256}", "1-256 characters of [A-Za-z0-9_:/-]")
_country = _matching(r"[A-Z]{2}", "two capital letters")


def _count(value: Any, where: str, fail: _Fail) -> None:
    if type(value) is not int:
        fail(where, value, "expected an integer", True)
    if value < 0:
        fail(where, value, "expected a non-negative integer")


def _strs(value: Any, where: str, fail: _Fail) -> None:
    if not isinstance(value, tuple):
        fail(where, value, "expected a list of strings", True)
    for i, item in enumerate(value):
        _str(item, f"{where}[{i}]", fail)


def _one_of(*names: str) -> _Check:
    def check(value: Any, where: str, fail: _Fail) -> None:
        if value not in names:
            fail(where, value, f"expected one of {', '.join(names)}")

    return check


def _sized(low: int, high: int) -> _Check:
    def check(value: Any, where: str, fail: _Fail) -> None:
        if not low <= len(value) <= high:
            fail(where, len(value), f"expected {low}-{high} items")

    return check


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _pattern(value: Any, where: str, fail: _Fail) -> None:
    _str(value, where, fail)
    try:
        _regex(value)
    except (re.error, RecursionError, OverflowError) as exc:
        fail(where, value, f"not a regular expression ({exc})")


_HINT_STRINGS: Final = frozenset(
    {
        "Title",
        "ShortDescription",
        "LongDescription",
        "DocumentationTitle",
        "DocumentationLink",
        "TextValidationDescription",
        "ExampleTextValue",
    }
)


def _hints(*required: str) -> _Check:
    """DisplayHints: an object with ``required`` members; known members of the right type."""

    def check(value: Any, where: str, fail: _Fail) -> None:
        if not isinstance(value, Mapping):
            fail(where, value, "expected an object", True)
        for key in required:
            if value.get(key) is None:
                fail(f"{where}.{key}", None, "required member is missing")
        for key, item in value.items():
            if key in _HINT_STRINGS and item is not None:
                _str(item, f"{where}.{key}", fail)
            options = key == "SelectOptionDescriptions" and item is not None
            if options and not (
                isinstance(item, tuple)
                and all(isinstance(o, Mapping) and isinstance(o.get("Option"), str) for o in item)
            ):
                fail(f"{where}.{key}", item, "expected a list of objects with an Option")

    return check


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _parse_fail(where, value, "expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        _parse_fail(where, value, "expected a list")
    return list(value)


def _member(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if value is None:
        _parse_fail(key, None, "required member is missing")
    return value


def _repeated(items: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


# -- JSON kept as given, frozen ---------------------------------------------------------------

_V = TypeVar("_V")


class FrozenMap(Mapping[str, _V], Generic[_V]):
    """A read-only mapping that hashes, pickles and copies (JSON objects, kept as given)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, _V] | None = None) -> None:
        self._data: dict[str, _V] = dict(data or {})

    def __getitem__(self, key: str) -> _V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._data,))


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenMap({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


# Typed converters, so that the constructors' signatures say what they take.
def _strings(value: Iterable[str]) -> tuple[str, ...]:
    out: tuple[str, ...] = _tuple(value)
    return out


def _optional_strings(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _strings(value)


def _json(value: Mapping[str, Any]) -> Mapping[str, Any]:
    out: Mapping[str, Any] = _freeze(value)
    return out
