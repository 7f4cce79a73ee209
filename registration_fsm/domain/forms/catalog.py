"""The catalogue: registration types by name, its file format, and where one comes from.

The file format (:meth:`Catalog.to_json`, ``"Format": CATALOG_FORMAT``) is the three
Describe*Definitions answers concatenated. :meth:`Catalog.load` reads a file (at most
:data:`MAX_CATALOG_BYTES`), :meth:`Catalog.from_api` builds a catalogue from those answers
(what ``catalog capture`` writes), and :meth:`Catalog.builtin` reads the shipped
``registration_fsm/domain/catalogs/aws.json`` once, on first use. Text that is not UTF-8
or not JSON is InvalidArgument; a bad member is InvalidApiData naming the type, the field
and the member.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Final

import attrs

from registration_fsm.domain.forms.base import (
    FrozenMap,
    _Fail,
    _json,
    _list,
    _member,
    _object,
    _parse_fail,
    _parsing,
    _repeated,
    _str,
    _thaw,
    _type_name,
)
from registration_fsm.domain.forms.shapes import RegistrationTypeDefinition
from registration_fsm.errors import (
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    UnknownRegistrationType,
    shown,
)

__all__ = ["CATALOG_FORMAT", "MAX_CATALOG_BYTES", "Catalog"]


CATALOG_FORMAT: Final = "registration-fsm catalog 1"
#: The largest catalogue file :meth:`Catalog.load` reads.
MAX_CATALOG_BYTES: Final = 16 * 1024 * 1024


def _types(
    value: Mapping[str, RegistrationTypeDefinition],
) -> Mapping[str, RegistrationTypeDefinition]:
    out: Mapping[str, RegistrationTypeDefinition] = (
        FrozenMap(value) if isinstance(value, Mapping) else value
    )
    return out


@attrs.frozen
class Catalog:
    """Registration types by name, and where they came from. Immutable."""

    types: Mapping[str, RegistrationTypeDefinition] = attrs.field(converter=_types, hash=False)
    source: str
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_json, kw_only=True, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        fail = _Fail("Catalog")
        if not isinstance(self.types, Mapping):
            fail("types", self.types, "expected a mapping of registration types", True)
        for name, definition in self.types.items():
            if not isinstance(definition, RegistrationTypeDefinition):
                fail(f"types[{name!r}]", definition, "expected a RegistrationTypeDefinition", True)
            if name != definition.registration_type:
                fail(f"types[{name!r}]", definition.registration_type, "keyed by another name")
        _str(self.source, "Source", fail)

    def type(self, name: str) -> RegistrationTypeDefinition:
        """The registration type ``name``; :class:`UnknownRegistrationType` lists the known."""
        found = self.types.get(name) if isinstance(name, str) else None
        if found is None:
            raise UnknownRegistrationType(name, tuple(self.types))
        return found

    def to_json(self) -> dict[str, Any]:
        """The catalogue file format: the three Describe*Definitions pages concatenated."""
        types = self.types.items()
        return {
            **_thaw(self.extra),
            "Format": CATALOG_FORMAT,
            "Source": self.source,
            "RegistrationTypeDefinitions": [t.to_api() for t in self.types.values()],
            "RegistrationSectionDefinitions": {
                n: [s.to_api() for s in t.sections] for n, t in types
            },
            "RegistrationFieldDefinitions": {n: [f.to_api() for f in t.fields] for n, t in types},
        }

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Catalog:
        """Read the file format. Not UTF-8 or not JSON: InvalidArgument; a bad member:
        InvalidApiData naming the type, the field and the member."""
        if not isinstance(data, str | bytes | bytearray | Mapping):
            raise InvalidArgumentType(f"a catalogue is JSON text or a mapping, got {shown(data)}")
        if isinstance(data, bytes | bytearray):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidArgument(f"the catalogue is not UTF-8 (byte {exc.start})") from None
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise InvalidArgument(f"the catalogue is not JSON: {shown(str(exc))}") from None
        if not isinstance(data, Mapping):
            raise InvalidApiData("catalogue", data, "expected a JSON object")
        with _parsing(""):
            return cls._parse(data)

    @classmethod
    def _parse(cls, doc: Mapping[str, Any]) -> Catalog:
        if doc.get("Format") != CATALOG_FORMAT:
            _parse_fail("Format", doc.get("Format"), f"expected {CATALOG_FORMAT!r}")
        maps = ("RegistrationSectionDefinitions", "RegistrationFieldDefinitions")
        items = _list(_member(doc, "RegistrationTypeDefinitions"), "RegistrationTypeDefinitions")
        names: list[str] = []
        for i, item in enumerate(items):
            name: Any = _object(item, f"RegistrationTypeDefinitions[{i}]").get("RegistrationType")
            _type_name(name, f"RegistrationTypeDefinitions[{i}].RegistrationType", _parse_fail)
            names.append(name)
        twice = _repeated(names)
        if twice is not None:
            _parse_fail("RegistrationTypeDefinitions", twice, "a type is defined twice")
        lists = []
        for key in maps:
            found = _object(_member(doc, key), key)
            for name in found:
                if name not in names:
                    _parse_fail(f"{key}[{name!r}]", name, "names no registration type")
            for name in names:
                if name not in found:
                    _parse_fail(f"{key}[{name!r}]", None, "required entry is missing")
            lists.append({n: _list(found[n], f"{key}[{n!r}]") for n in names})
        types = {
            n: RegistrationTypeDefinition.from_api(item, lists[0][n], lists[1][n])
            for n, item in zip(names, items, strict=True)
        }
        _str(_member(doc, "Source"), "Source", _parse_fail)
        known = {"Format", "Source", "RegistrationTypeDefinitions", *maps}
        return cls(types, doc["Source"], extra={k: v for k, v in doc.items() if k not in known})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Catalog:
        """Read a catalogue file (at most 16 MiB); a file that cannot be used: InvalidArgument."""
        try:
            name = os.fspath(path)
        except TypeError:
            raise InvalidArgumentType(f"a catalogue path is a path, got {shown(path)}") from None
        if os.path.isdir(name):
            raise InvalidArgument(f"catalogue {name!r} is a directory, not a file")
        try:
            with open(name, "rb") as file:
                data = file.read(MAX_CATALOG_BYTES + 1)
        except OSError as exc:
            raise InvalidArgument(f"cannot read catalogue {name!r}: {exc.strerror}") from None
        if len(data) > MAX_CATALOG_BYTES:
            raise InvalidArgument(f"catalogue {name!r} is over {MAX_CATALOG_BYTES} bytes")
        return cls._from_file(data, name)

    @classmethod
    def _from_file(cls, data: bytes, name: str) -> Catalog:
        try:
            return cls.from_json(data)
        except InvalidApiData as exc:
            raise InvalidApiData(f"{name}: {exc.field}", exc.value, exc.problem) from None
        except InvalidArgument as exc:
            raise InvalidArgument(f"{name}: {exc}") from None

    @classmethod
    def builtin(cls) -> Catalog:
        """The shipped catalogue (``registration_fsm/domain/catalogs/aws.json``), read once."""
        return _builtin()

    @classmethod
    def from_api(
        cls,
        types: Iterable[Mapping[str, Any]],
        sections: Mapping[str, Iterable[Mapping[str, Any]]],
        fields: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        source: str,
    ) -> Catalog:
        """The catalogue from Describe*Definitions pages (what ``catalog capture`` builds)."""
        try:
            doc = {
                "Format": CATALOG_FORMAT,
                "Source": source,
                "RegistrationTypeDefinitions": list(types),
                "RegistrationSectionDefinitions": {k: list(v) for k, v in sections.items()},
                "RegistrationFieldDefinitions": {k: list(v) for k, v in fields.items()},
            }
        except (TypeError, AttributeError):
            raise InvalidArgumentType("from_api takes an iterable and two mappings") from None
        with _parsing(""):
            return cls._parse(doc)


@functools.cache
def _builtin() -> Catalog:
    resource = resources.files("registration_fsm.domain").joinpath("catalogs").joinpath("aws.json")
    if not resource.is_file():
        raise InvalidArgument("the built-in catalogue catalogs/aws.json is not in the package")
    return Catalog._from_file(resource.read_bytes(), "builtin:aws.json")
