"""A filled-in form from the catalogue's own examples: what a demo, a doc or a test
needs to get a registration through submit without inventing data."""

from __future__ import annotations

from collections.abc import Mapping

from registration_fsm.domain.forms.rules import STRICT, Semantics, check_form, missing_fields
from registration_fsm.domain.forms.shapes import (
    FieldDefinition,
    FieldType,
    RegistrationTypeDefinition,
)
from registration_fsm.domain.forms.values import FieldValue, FieldValues
from registration_fsm.errors import InvalidArgument


def example_value(
    field: FieldDefinition, *, attachment_id: str | None = None, text: str | None = None
) -> FieldValue | None:
    """A value for ``field`` from the catalogue: TEXT its ``ExampleTextValue`` (or
    ``text``), SELECT its first options (at least one, at least MinChoices),
    ATTACHMENT ``attachment_id``. None when there is nothing to give."""
    if field.field_type is FieldType.SELECT:
        assert field.select_validation is not None  # a SELECT field has one (the shape says)
        rule = field.select_validation
        count = min(max(1, rule.min_choices), rule.max_choices, len(rule.options))
        return FieldValue(field.field_path, select_choices=rule.options[:count]) if count else None
    if field.field_type is FieldType.ATTACHMENT:
        if attachment_id is None:
            return None
        return FieldValue(field.field_path, attachment_id=attachment_id)
    example = text if text is not None else field.display_hints.get("ExampleTextValue")
    return FieldValue(field.field_path, text_value=example) if isinstance(example, str) else None


def example_values(
    definition: RegistrationTypeDefinition,
    *,
    attachment_id: str | None = None,
    text: Mapping[str, str] | None = None,
    semantics: Semantics = STRICT,
) -> FieldValues:
    """Every field the form needs, filled by :func:`example_value` until none is missing
    (a value can make a conditional field required); ``text`` gives TEXT values by path.

    Raises :class:`InvalidArgument` naming the fields it cannot fill, or whose examples
    the form refuses: the catalogue has no usable example, pass them in ``text``.
    """
    given = dict(text or {})
    values = FieldValues.empty()
    while True:
        missing = missing_fields(definition, values, semantics=semantics)
        if not missing:
            break
        unfilled = []
        for path in missing:
            value = example_value(
                definition.field(path), attachment_id=attachment_id, text=given.get(path)
            )
            if value is None:
                unfilled.append(path)
            else:
                values = values.with_value(value)
        if unfilled:
            raise InvalidArgument(
                f"{definition.registration_type}: no example value for "
                f"{', '.join(unfilled)} (give them in text=, or an attachment_id)"
            )
    problems = check_form(definition, values, semantics=semantics)
    if problems:
        raise InvalidArgument(
            f"{definition.registration_type}: the catalogue's examples are refused: "
            + "; ".join(f"{p.field_path}: {p.message}" for p in problems)
        )
    return values


__all__ = ["example_value", "example_values"]
