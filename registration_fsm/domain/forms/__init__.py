"""Registration forms: the catalogue of types, sections and fields, field values, their checks.

The catalogue holds what DescribeRegistrationTypeDefinitions, -SectionDefinitions and
-FieldDefinitions return, in the API's shapes; its file format is :meth:`Catalog.to_json`.
Members this library does not know are kept and round-trip. Constructing a definition with
a bad value raises InvalidArgument (InvalidArgumentType for a wrong type); reading API data
or a catalogue raises InvalidApiData naming the type, the field and the member.

Every name below is imported from here; each module imports only the ones listed before it:

- ``base``: what the others share: the one way to fail, the member checks, :class:`FrozenMap`.
- ``shapes``: the API's shapes: the enums (:class:`FieldType`, :class:`FieldRequirement`,
  :class:`ConditionOperator`, :class:`FieldBehavior`, the association behaviours) and the
  definitions, from :class:`TextValidation` to :class:`RegistrationTypeDefinition`.
- ``catalog``: :class:`Catalog`, its file format and the shipped catalogue.
- ``values``: :class:`FieldValue`, :class:`FieldValues` (digest, diff), :class:`FieldChange`.
- ``rules``: what conditions mean, documented and inferred (its docstring says which), with
  :class:`Semantics` and :data:`STRICT`, :func:`behavior`, :func:`missing_fields`,
  :func:`check_value`, :func:`check_form` and their :class:`FieldProblem`.
- ``examples``: :func:`example_values`, a filled-in form from the catalogue's examples.
"""

from __future__ import annotations

from registration_fsm.domain.forms.base import FrozenMap
from registration_fsm.domain.forms.catalog import CATALOG_FORMAT, MAX_CATALOG_BYTES, Catalog
from registration_fsm.domain.forms.examples import example_value, example_values
from registration_fsm.domain.forms.rules import (
    STRICT,
    FieldProblem,
    Semantics,
    behavior,
    behaviors,
    check_form,
    check_value,
    missing_fields,
)
from registration_fsm.domain.forms.shapes import (
    ASSOCIATION_BEHAVIORS,
    DISASSOCIATION_BEHAVIORS,
    ConditionalBehavior,
    ConditionalRule,
    ConditionalValidation,
    ConditionOperator,
    FieldBehavior,
    FieldCondition,
    FieldDefinition,
    FieldRequirement,
    FieldType,
    RegistrationTypeDefinition,
    SectionDefinition,
    SelectValidation,
    SupportedAssociation,
    TextValidation,
)
from registration_fsm.domain.forms.values import FieldChange, FieldValue, FieldValues

__all__ = [
    "ASSOCIATION_BEHAVIORS",
    "CATALOG_FORMAT",
    "DISASSOCIATION_BEHAVIORS",
    "MAX_CATALOG_BYTES",
    "STRICT",
    "Catalog",
    "ConditionOperator",
    "ConditionalBehavior",
    "ConditionalRule",
    "ConditionalValidation",
    "FieldBehavior",
    "FieldChange",
    "FieldCondition",
    "FieldDefinition",
    "FieldProblem",
    "FieldRequirement",
    "FieldType",
    "FieldValue",
    "FieldValues",
    "FrozenMap",
    "RegistrationTypeDefinition",
    "SectionDefinition",
    "SelectValidation",
    "Semantics",
    "SupportedAssociation",
    "TextValidation",
    "behavior",
    "behaviors",
    "check_form",
    "check_value",
    "example_value",
    "example_values",
    "missing_fields",
]
