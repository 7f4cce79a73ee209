"""The API's shapes: registration type, section and field definitions, with their enums.

Each class is one structure of DescribeRegistrationTypeDefinitions, -SectionDefinitions
and -FieldDefinitions, its attributes naming the members (``to_api`` / ``from_api``);
members this library does not know are kept in ``extra`` and round-trip. Constructing a
definition with a bad value raises InvalidArgument (InvalidArgumentType for a wrong type);
reading API data raises InvalidApiData naming the type, the field and the member. What a
field's conditions mean is in :mod:`registration_fsm.domain.forms.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, Self

import attrs

from registration_fsm.domain.forms.base import (
    FrozenMap,
    _Check,
    _count,
    _country,
    _Fail,
    _field_path,
    _hints,
    _json,
    _list,
    _object,
    _one_of,
    _optional_strings,
    _parsing,
    _pattern,
    _repeated,
    _section_path,
    _sized,
    _str,
    _strings,
    _strs,
    _thaw,
    _tuple,
    _type_name,
    _word,
)
from registration_fsm.errors import UnknownField

__all__ = [
    "ASSOCIATION_BEHAVIORS",
    "DISASSOCIATION_BEHAVIORS",
    "ConditionOperator",
    "ConditionalBehavior",
    "ConditionalRule",
    "ConditionalValidation",
    "FieldBehavior",
    "FieldCondition",
    "FieldDefinition",
    "FieldRequirement",
    "FieldType",
    "RegistrationTypeDefinition",
    "SectionDefinition",
    "SelectValidation",
    "SupportedAssociation",
    "TextValidation",
]


class FieldType(StrEnum):
    """FieldType."""

    SELECT = "SELECT"
    TEXT = "TEXT"
    ATTACHMENT = "ATTACHMENT"


class FieldRequirement(StrEnum):
    """FieldRequirement."""

    REQUIRED = "REQUIRED"
    CONDITIONAL = "CONDITIONAL"
    OPTIONAL = "OPTIONAL"


class ConditionOperator(StrEnum):
    """The documented ConditionOperator values (the model types it as a free string)."""

    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    IN = "IN"
    NOT_IN = "NOT_IN"
    HAS_VALUE = "HAS_VALUE"
    NO_VALUE = "NO_VALUE"


class FieldBehavior(StrEnum):
    """The documented ConditionalFieldBehavior values (a free string in the model)."""

    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"
    DISALLOWED = "DISALLOWED"


#: The model's RegistrationAssociationBehavior and RegistrationDisassociationBehavior enums.
ASSOCIATION_BEHAVIORS: Final = (
    "ASSOCIATE_BEFORE_SUBMIT",
    "ASSOCIATE_ON_APPROVAL",
    "ASSOCIATE_AFTER_COMPLETE",
)
DISASSOCIATION_BEHAVIORS: Final = (
    "DISASSOCIATE_ALL_CLOSES_REGISTRATION",
    "DISASSOCIATE_ALL_ALLOWS_DELETE_REGISTRATION",
    "DELETE_REGISTRATION_DISASSOCIATES",
)
_VALUED: Final = frozenset({"EQUALS", "NOT_EQUALS", "IN", "NOT_IN"})


# Typed converters, so that the constructors' signatures say what they take.
def _conditions(value: Iterable[FieldCondition]) -> tuple[FieldCondition, ...]:
    out: tuple[FieldCondition, ...] = _tuple(value)
    return out


def _rules(value: Iterable[ConditionalRule]) -> tuple[ConditionalRule, ...]:
    out: tuple[ConditionalRule, ...] = _tuple(value)
    return out


def _associations(value: Iterable[SupportedAssociation]) -> tuple[SupportedAssociation, ...]:
    out: tuple[SupportedAssociation, ...] = _tuple(value)
    return out


def _sections(value: Iterable[SectionDefinition]) -> tuple[SectionDefinition, ...]:
    out: tuple[SectionDefinition, ...] = _tuple(value)
    return out


def _fields(value: Iterable[FieldDefinition]) -> tuple[FieldDefinition, ...]:
    out: tuple[FieldDefinition, ...] = _tuple(value)
    return out


def _field_type(value: FieldType | str) -> FieldType:
    known = isinstance(value, str) and value in FieldType.__members__
    out: Any = FieldType(value) if known else value  # anything else is refused after
    return out  # type: ignore[no-any-return]


def _requirement(value: FieldRequirement | str) -> FieldRequirement:
    known = isinstance(value, str) and value in FieldRequirement.__members__
    out: Any = FieldRequirement(value) if known else value
    return out  # type: ignore[no-any-return]


def _api(
    name: str,
    check: _Check | None = None,
    *,
    nested: type[_Shape] | None = None,
    many: bool = False,
    required: bool = True,
) -> dict[str, Any]:
    """attrs metadata: the API member ``name``, its check, or the shape nested in it."""
    return {"api": name, "check": check, "nested": nested, "many": many, "required": required}


@attrs.frozen
class _Shape:
    """An API structure: each field names its member; ``to_api``/``from_api`` follow.

    ``extra`` holds the members this library does not know, kept for the round trip.
    """

    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_json, kw_only=True, hash=False, repr=False
    )

    def _label(self) -> str:
        return type(self).__name__

    def _invariants(self, fail: _Fail) -> None:
        """Checks across members (after each member's own)."""

    def __attrs_post_init__(self) -> None:
        fail = _Fail(self._label())
        for field in _api_fields(type(self)):
            meta, value = field.metadata, getattr(self, field.name)
            name, nested = meta["api"], meta["nested"]
            if value is None:
                if meta["required"]:
                    fail(name, None, "required member is missing")
                continue
            if nested is not None and meta["many"]:
                if not isinstance(value, tuple):
                    fail(name, value, f"expected a tuple of {nested.__name__}", True)
                for i, item in enumerate(value):
                    if not isinstance(item, nested):
                        fail(f"{name}[{i}]", item, f"expected a {nested.__name__}", True)
            elif nested is not None and not isinstance(value, nested):
                fail(name, value, f"expected a {nested.__name__}", True)
            if meta["check"] is not None:
                meta["check"](value, name, fail)
        if not isinstance(self.extra, Mapping) or not all(isinstance(k, str) for k in self.extra):
            fail("extra", self.extra, "expected a mapping of member names", True)
        self._invariants(fail)

    def to_api(self) -> dict[str, Any]:
        """The API's shape (PascalCase members)."""
        out: dict[str, Any] = _thaw(self.extra)
        for field in _api_fields(type(self)):
            meta, value = field.metadata, getattr(self, field.name)
            if value is None or (value == () and field.default == ()):
                continue
            if meta["nested"] is not None:
                value = [v.to_api() for v in value] if meta["many"] else value.to_api()
            out[meta["api"]] = str(value) if isinstance(value, StrEnum) else _thaw(value)
        return out

    @classmethod
    def _prefix(cls, _item: Any) -> str:
        return ""

    @classmethod
    def from_api(cls, item: Any) -> Self:
        """Read the API's shape; InvalidApiData names the member (and the type and field)."""
        prefix = cls._prefix(item)
        with _parsing(prefix, top="" if prefix else f"{cls.__name__}."):
            return cls._parse(item)

    @classmethod
    def _parse(cls, item: Any, **more: Any) -> Self:
        data = _object(item, "")
        kwargs: dict[str, Any] = {}
        for field in _api_fields(cls):
            meta = field.metadata
            name, nested, raw = meta["api"], meta["nested"], data.get(meta["api"])
            if raw is None:
                if field.default is attrs.NOTHING:
                    kwargs[field.alias or field.name] = None
                continue
            if nested is not None and meta["many"]:
                raw = [_nested(nested, x, f"{name}[{i}].") for i, x in enumerate(_list(raw, name))]
            elif nested is not None:
                raw = _nested(nested, raw, f"{name}.")
            kwargs[field.alias or field.name] = raw
        known = {f.metadata["api"] for f in _api_fields(cls)}
        return cls(**kwargs, **more, extra={k: v for k, v in data.items() if k not in known})


_API_FIELDS: dict[type, tuple[attrs.Attribute[Any], ...]] = {}


def _api_fields(cls: type[_Shape]) -> tuple[attrs.Attribute[Any], ...]:
    """``cls``'s fields that are API members (memoised: attrs classes do not change)."""
    found = _API_FIELDS.get(cls)
    if found is None:
        found = _API_FIELDS[cls] = tuple(f for f in attrs.fields(cls) if "api" in f.metadata)
    return found


def _nested(shape: type[_Shape], item: Any, prefix: str) -> Any:
    with _parsing(prefix):
        return shape._parse(item)


# -- field definitions -------------------------------------------------------------------------


@attrs.frozen
class TextValidation(_Shape):
    """TextValidation: the length range, and a pattern the whole value must match."""

    min_length: int = attrs.field(metadata=_api("MinLength", _count))
    max_length: int = attrs.field(metadata=_api("MaxLength", _count))
    pattern: str = attrs.field(metadata=_api("Pattern", _pattern))

    def _invariants(self, fail: _Fail) -> None:
        if self.min_length > self.max_length:
            fail("MinLength", self.min_length, f"over MaxLength {self.max_length}")


@attrs.frozen
class SelectValidation(_Shape):
    """SelectValidation: how many choices, from which options."""

    min_choices: int = attrs.field(metadata=_api("MinChoices", _count))
    max_choices: int = attrs.field(metadata=_api("MaxChoices", _count))
    options: tuple[str, ...] = attrs.field(converter=_strings, metadata=_api("Options", _strs))

    def _invariants(self, fail: _Fail) -> None:
        if self.min_choices > self.max_choices:
            fail("MinChoices", self.min_choices, f"over MaxChoices {self.max_choices}")


@attrs.frozen
class FieldCondition(_Shape):
    """FieldCondition: the value of ``depends_on`` (DependsOnFieldPath), by ``operator``."""

    depends_on: str = attrs.field(metadata=_api("DependsOnFieldPath", _field_path))
    operator: str = attrs.field(metadata=_api("Operator", _word))
    values: tuple[str, ...] = attrs.field(
        default=(), converter=_strings, metadata=_api("Values", _strs, required=False)
    )

    def _invariants(self, fail: _Fail) -> None:
        if self.operator in _VALUED and not self.values:
            fail("Values", self.values, f"{self.operator} requires Values")


@attrs.frozen
class ConditionalValidation(_Shape):
    """ConditionalValidation: what overrides the field's validation when its rule matches."""

    min_length: int | None = attrs.field(
        default=None, metadata=_api("MinLength", _count, required=False)
    )
    max_length: int | None = attrs.field(
        default=None, metadata=_api("MaxLength", _count, required=False)
    )
    pattern: str | None = attrs.field(
        default=None, metadata=_api("Pattern", _pattern, required=False)
    )
    allowed_values: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_optional_strings,
        metadata=_api("AllowedValues", _strs, required=False),
    )

    def _invariants(self, fail: _Fail) -> None:
        if None not in (self.min_length, self.max_length) and self.min_length > self.max_length:  # type: ignore[operator]
            fail("MinLength", self.min_length, f"over MaxLength {self.max_length}")


@attrs.frozen
class ConditionalRule(_Shape):
    """ConditionalRule: when every condition holds, the field behaves as ``behavior``."""

    conditions: tuple[FieldCondition, ...] = attrs.field(
        converter=_conditions,
        metadata=_api("Conditions", _sized(1, 5), nested=FieldCondition, many=True),
    )
    behavior: str = attrs.field(metadata=_api("RuleBehavior", _word))
    validation: ConditionalValidation | None = attrs.field(
        default=None,
        metadata=_api("ConditionalValidation", nested=ConditionalValidation, required=False),
    )


@attrs.frozen
class ConditionalBehavior(_Shape):
    """ConditionalBehavior: the first rule that matches gives the behaviour, else the default."""

    rules: tuple[ConditionalRule, ...] = attrs.field(
        converter=_rules,
        metadata=_api("Rules", _sized(1, 20), nested=ConditionalRule, many=True),
    )
    default_behavior: str = attrs.field(metadata=_api("DefaultBehavior", _word))


@attrs.frozen
class FieldDefinition(_Shape):
    """RegistrationFieldDefinition. ``display_hints`` is kept as given (frozen)."""

    section_path: str = attrs.field(metadata=_api("SectionPath", _section_path))
    field_path: str = attrs.field(metadata=_api("FieldPath", _field_path))
    field_type: FieldType = attrs.field(
        converter=_field_type, metadata=_api("FieldType", _one_of(*FieldType))
    )
    requirement: FieldRequirement = attrs.field(
        converter=_requirement,
        metadata=_api("FieldRequirement", _one_of(*FieldRequirement)),
    )
    text_validation: TextValidation | None = attrs.field(
        default=None, metadata=_api("TextValidation", nested=TextValidation, required=False)
    )
    select_validation: SelectValidation | None = attrs.field(
        default=None, metadata=_api("SelectValidation", nested=SelectValidation, required=False)
    )
    conditional: ConditionalBehavior | None = attrs.field(
        default=None,
        metadata=_api("ConditionalBehavior", nested=ConditionalBehavior, required=False),
    )
    display_hints: Mapping[str, Any] = attrs.field(
        kw_only=True,
        converter=_json,
        hash=False,
        metadata=_api("DisplayHints", _hints("Title", "ShortDescription")),
    )

    def _label(self) -> str:
        return f"field {self.field_path}"

    @classmethod
    def _prefix(cls, item: Any) -> str:
        path = item.get("FieldPath") if isinstance(item, Mapping) else None
        return f"field {path} " if isinstance(path, str) else "field "

    def _invariants(self, fail: _Fail) -> None:
        if self.field_type is FieldType.TEXT and self.text_validation is None:
            fail("TextValidation", None, "a TEXT field requires TextValidation")
        if self.field_type is FieldType.SELECT and self.select_validation is None:
            fail("SelectValidation", None, "a SELECT field requires SelectValidation")


@attrs.frozen
class SectionDefinition(_Shape):
    """RegistrationSectionDefinition."""

    section_path: str = attrs.field(metadata=_api("SectionPath", _section_path))
    display_hints: Mapping[str, Any] = attrs.field(
        converter=_json,
        hash=False,
        metadata=_api("DisplayHints", _hints("Title", "ShortDescription")),
    )

    def _label(self) -> str:
        return f"section {self.section_path}"

    @classmethod
    def _prefix(cls, item: Any) -> str:
        path = item.get("SectionPath") if isinstance(item, Mapping) else None
        return f"section {path} " if isinstance(path, str) else "section "


@attrs.frozen
class SupportedAssociation(_Shape):
    """SupportedAssociation: a resource type the registration can be associated with."""

    resource_type: str = attrs.field(metadata=_api("ResourceType", _str))
    iso_country_code: str | None = attrs.field(
        metadata=_api("IsoCountryCode", _country, required=False)
    )
    association_behavior: str = attrs.field(
        metadata=_api("AssociationBehavior", _one_of(*ASSOCIATION_BEHAVIORS))
    )
    disassociation_behavior: str = attrs.field(
        metadata=_api("DisassociationBehavior", _one_of(*DISASSOCIATION_BEHAVIORS))
    )


@attrs.frozen
class RegistrationTypeDefinition(_Shape):
    """A registration type with its sections and fields, in the API's order."""

    registration_type: str = attrs.field(metadata=_api("RegistrationType", _type_name))
    display_hints: Mapping[str, Any] = attrs.field(
        converter=_json, hash=False, metadata=_api("DisplayHints", _hints("Title"))
    )
    supported_associations: tuple[SupportedAssociation, ...] = attrs.field(
        default=(),
        converter=_associations,
        metadata=_api(
            "SupportedAssociations", nested=SupportedAssociation, many=True, required=False
        ),
    )
    sections: tuple[SectionDefinition, ...] = attrs.field(default=(), converter=_sections)
    fields: tuple[FieldDefinition, ...] = attrs.field(default=(), converter=_fields)
    _by_path: Mapping[str, FieldDefinition] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    def _label(self) -> str:
        return f"{self.registration_type}"

    @classmethod
    def _prefix(cls, item: Any) -> str:
        name = item.get("RegistrationType") if isinstance(item, Mapping) else None
        return f"{name} " if isinstance(name, str) else ""

    def _invariants(self, fail: _Fail) -> None:
        for name, items, cls in (
            ("sections", self.sections, SectionDefinition),
            ("fields", self.fields, FieldDefinition),
        ):
            if not isinstance(items, tuple) or not all(isinstance(i, cls) for i in items):
                fail(name, items, f"expected a tuple of {cls.__name__}", True)
        twice = _repeated(s.section_path for s in self.sections)
        if twice is not None:
            fail(f"section {twice}", twice, "the section is defined twice")
        twice = _repeated(f.field_path for f in self.fields)
        if twice is not None:
            fail(f"field {twice}", twice, "the field is defined twice")
        sections = {s.section_path for s in self.sections}
        by_path = {f.field_path: f for f in self.fields}
        for field in self.fields:
            if field.section_path not in sections:
                fail(
                    f"field {field.field_path} SectionPath",
                    field.section_path,
                    f"names no section of {self.registration_type}",
                )
            for r, rule in enumerate(field.conditional.rules if field.conditional else ()):
                for c, condition in enumerate(rule.conditions):
                    if condition.depends_on not in by_path:
                        where = f"field {field.field_path} ConditionalBehavior.Rules[{r}]"
                        fail(
                            f"{where}.Conditions[{c}].DependsOnFieldPath",
                            condition.depends_on,
                            f"names no field of {self.registration_type}",
                        )
        object.__setattr__(self, "_by_path", FrozenMap(by_path))

    @property
    def field_paths(self) -> tuple[str, ...]:
        """Every field path, in definition order."""
        return tuple(self._by_path)

    def field(self, path: str) -> FieldDefinition:
        """The field at ``path``; :class:`UnknownField` names the known ones."""
        found = self._by_path.get(path) if isinstance(path, str) else None
        if found is None:
            raise UnknownField(path, self.field_paths, registration_type=self.registration_type)
        return found

    @classmethod
    def from_api(
        cls, item: Any, sections: Iterable[Any] = (), fields: Iterable[Any] = ()
    ) -> RegistrationTypeDefinition:
        """Read a RegistrationTypeDefinition item with its section and field definitions."""
        with _parsing(cls._prefix(item)):
            return cls._parse(
                item,
                sections=[SectionDefinition.from_api(s) for s in sections],
                fields=[FieldDefinition.from_api(f) for f in fields],
            )
