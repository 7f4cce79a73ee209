"""The rules of a form: what a field requires or forbids given the others, and what is wrong.

**Conditional fields**, documented (`FieldCondition
<https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_FieldCondition.html>`_,
`ConditionalBehavior
<https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_ConditionalBehavior.html>`_,
`ConditionalRule
<https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_ConditionalRule.html>`_;
the same text is in botocore's model): the operators are ``EQUALS``, ``NOT_EQUALS``, ``IN``,
``NOT_IN`` (which require ``Values``), ``HAS_VALUE`` and ``NO_VALUE`` (which test presence);
a rule's conditions are ANDed; the first rule whose conditions all hold gives the field's
behaviour, else ``DefaultBehavior``; the behaviours are ``REQUIRED`` (absence fails at
submission), ``OPTIONAL`` and ``DISALLOWED`` ("a submitted value is rejected with a
validation error": :func:`check_value` reports it); the matching rule's
``ConditionalValidation`` overrides the field's validation. AWS documents that SDK clients
read an operator they do not know as false.

**Inferred**, each switchable through :class:`Semantics`. The default, :data:`STRICT`, never
passes a form that AWS could refuse: where the documentation leaves a condition open it is
*indeterminate*, and the field is judged under every outcome — required if any outcome is
``REQUIRED``, a value refused if any outcome is ``DISALLOWED`` or any possible
``ConditionalValidation`` refuses it. Indeterminate are: an operator this library does not
know (AWS's service knows what it means; reading it as false, as the SDKs do, could let a
required field through); ``NOT_EQUALS``/``NOT_IN`` on a field without a value (is "no value"
unequal, or is there nothing to compare?); a comparison where "the items, as a set, equal /
lie within ``Values``" and "some item equals / is in ``Values``" disagree (a SELECT with
several choices, ``EQUALS`` with several ``Values``); whether an empty selection
(``SelectChoices: []``) is a value. ``EQUALS``/``IN`` on a field without a value are false.
A behaviour this library does not know counts as both ``REQUIRED`` and ``DISALLOWED`` (the
form cannot pass while it applies, and the problem says so); a ``CONDITIONAL`` field without
``ConditionalBehavior`` (captures older than it) as ``REQUIRED``. A field's value is its
text, its attachment id or its choices; ``TextValidation.Pattern`` must match the whole
value; lengths count characters; ``ConditionalValidation``'s lengths and pattern apply to
TEXT values, its ``AllowedValues`` to SELECT choices and (stricter) to a TEXT value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

import attrs

from registration_fsm.domain.forms.base import _regex
from registration_fsm.domain.forms.shapes import (
    _VALUED,
    ConditionalValidation,
    ConditionOperator,
    FieldBehavior,
    FieldCondition,
    FieldDefinition,
    FieldRequirement,
    FieldType,
    RegistrationTypeDefinition,
)
from registration_fsm.domain.forms.values import FieldValue, FieldValues
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown

__all__ = [
    "STRICT",
    "FieldProblem",
    "Semantics",
    "behavior",
    "behaviors",
    "check_form",
    "check_value",
    "missing_fields",
]


@attrs.frozen
class FieldProblem:
    """One entry of ValidationException.Fields: the field path (Name) and what is wrong."""

    field_path: str
    message: str

    def to_api(self) -> dict[str, str]:
        return {"Name": self.field_path, "Message": self.message}

    def __str__(self) -> str:
        return f"{self.field_path}: {self.message}"


# -- the rules ------------------------------------------------------------------------------------


def _choice(*names: str) -> Any:
    return attrs.field(default=names[0], validator=_semantics_choice(names))


def _semantics_choice(names: tuple[str, ...]) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value not in names:
            raise InvalidArgument(
                f"Semantics.{attribute.name} must be one of {', '.join(names)}, got {shown(value)}"
            )

    return check


@attrs.frozen
class Semantics:
    """How conditions the documentation leaves open are read (see the module docstring).

    ``strict`` (every default) judges a field under every reading, so the emulator is never
    more forgiving than AWS. ``unknown_operator``: ``skip`` reads an unknown operator as
    false (AWS's documented SDK behaviour), ``error`` raises. ``unknown_behavior``:
    ``optional`` or ``error``. ``absent_negation`` (NOT_EQUALS/NOT_IN on no value): ``true``
    or ``false``. ``comparison``: ``exact`` (the items as a set equal / lie within Values) or
    ``any`` (some item equals / is in Values). ``empty_selection`` (SelectChoices []):
    ``value`` or ``no_value``. ``unruled_conditional`` (CONDITIONAL, no rules): ``required``
    or ``optional``.
    """

    unknown_operator: Literal["strict", "skip", "error"] = _choice("strict", "skip", "error")
    unknown_behavior: Literal["strict", "optional", "error"] = _choice(
        "strict", "optional", "error"
    )
    absent_negation: Literal["strict", "true", "false"] = _choice("strict", "true", "false")
    comparison: Literal["strict", "exact", "any"] = _choice("strict", "exact", "any")
    empty_selection: Literal["strict", "value", "no_value"] = _choice("strict", "value", "no_value")
    unruled_conditional: Literal["required", "optional"] = _choice("required", "optional")


#: Never more forgiving than AWS.
STRICT: Final = Semantics()

_T, _F, _BOTH = frozenset({True}), frozenset({False}), frozenset({True, False})
_READING = {"strict": _BOTH, "true": _T, "false": _F, "value": _T, "no_value": _F}


def _presence(value: FieldValue | None, semantics: Semantics) -> frozenset[bool]:
    if value is None:
        return _F
    if value.select_choices == ():
        return _READING[semantics.empty_selection]
    return _T


def _condition(
    condition: FieldCondition, value: FieldValue | None, semantics: Semantics, where: str
) -> frozenset[bool]:
    """Whether ``condition`` holds: {True}, {False}, or both (indeterminate)."""
    operator = condition.operator
    present = _presence(value, semantics)
    if operator == "HAS_VALUE":
        return present
    if operator == "NO_VALUE":
        return frozenset(not p for p in present)
    if operator not in _VALUED:
        if semantics.unknown_operator == "error":
            raise InvalidArgument(
                f"{where}: unknown condition operator {operator!r}; "
                f"this library knows {', '.join(ConditionOperator)}"
            )
        return _F if semantics.unknown_operator == "skip" else _BOTH
    negated = operator.startswith("NOT_")
    out: set[bool] = set()
    for has in present:
        if not has:
            out |= _READING[semantics.absent_negation] if negated else _F
            continue
        items, wanted = set(value.tokens if value else ()), set(condition.values)
        exact = items == wanted if operator.endswith("EQUALS") else items <= wanted
        readings = {"exact": {exact}, "any": {bool(items & wanted)}}
        found = readings.get(semantics.comparison, readings["exact"] | readings["any"])
        out |= {not f for f in found} if negated else found
    return frozenset(out)


@attrs.frozen
class _Outcome:
    behavior: str
    validation: ConditionalValidation | None = None


def _outcomes(
    definition: RegistrationTypeDefinition,
    field: FieldDefinition,
    values: FieldValues,
    semantics: Semantics,
) -> tuple[_Outcome, ...]:
    """Every behaviour the field may have (one, unless a condition is indeterminate)."""
    if field.requirement is not FieldRequirement.CONDITIONAL:
        return (_Outcome(str(field.requirement)),)
    if field.conditional is None:
        return (_Outcome(semantics.unruled_conditional.upper()),)
    where = f"{definition.registration_type} field {field.field_path}"
    out: list[_Outcome] = []
    for rule in field.conditional.rules:
        holds = _T
        for condition in rule.conditions:
            found = _condition(condition, values.get(condition.depends_on), semantics, where)
            if found == _F:
                holds = _F
                break
            holds = holds if found == _T else _BOTH
        if holds != _F:
            out.append(_Outcome(rule.behavior, rule.validation))
        if holds == _T:
            return tuple(out)
    return (*out, _Outcome(field.conditional.default_behavior))


def _effective(behavior: str, semantics: Semantics, where: str) -> frozenset[str]:
    if behavior in FieldBehavior.__members__:
        return frozenset({behavior})
    if semantics.unknown_behavior == "error":
        raise InvalidArgument(
            f"{where}: unknown field behaviour {behavior!r}; "
            f"this library knows {', '.join(FieldBehavior)}"
        )
    if semantics.unknown_behavior == "optional":
        return frozenset({"OPTIONAL"})
    return frozenset({"REQUIRED", "DISALLOWED"})


def behaviors(
    definition: RegistrationTypeDefinition,
    field: FieldDefinition,
    values: FieldValues,
    *,
    semantics: Semantics = STRICT,
) -> frozenset[str]:
    """Every behaviour ``field`` may have given ``values``: one unless a condition is open."""
    out = set()
    for outcome in _outcomes(definition, field, values, semantics):
        if outcome.behavior in FieldBehavior.__members__:
            out.add(outcome.behavior)
        else:
            where = f"{definition.registration_type} field {field.field_path}"
            known = _effective(outcome.behavior, semantics, where)
            out |= {outcome.behavior} if semantics.unknown_behavior == "strict" else known
    return frozenset(out)


_STRICTNESS = ("REQUIRED", "DISALLOWED")


def behavior(
    definition: RegistrationTypeDefinition,
    field: FieldDefinition,
    values: FieldValues,
    *,
    semantics: Semantics = STRICT,
) -> str:
    """The field's behaviour: REQUIRED/OPTIONAL for those; for CONDITIONAL, the behaviour of
    the first rule whose conditions all hold, else DefaultBehavior. Where a condition is
    open (:class:`Semantics`), the strictest possible: REQUIRED, DISALLOWED, unknown, OPTIONAL.
    """
    found = behaviors(definition, field, values, semantics=semantics)
    for name in _STRICTNESS:
        if name in found:
            return name
    others = sorted(found - {"OPTIONAL"})
    return others[0] if others else "OPTIONAL"


def _has_value(value: FieldValue | None, semantics: Semantics) -> bool:
    return value is not None and (
        value.select_choices != () or semantics.empty_selection == "value"
    )


def missing_fields(
    definition: RegistrationTypeDefinition, values: FieldValues, *, semantics: Semantics = STRICT
) -> tuple[str, ...]:
    """Every field that must have a value and has none (REQUIRED, or CONDITIONAL resolving to
    REQUIRED), in definition order. An empty selection counts as none unless ``semantics``
    says it is a value."""
    missing = []
    for field in definition.fields:
        if _has_value(values.get(field.field_path), semantics):
            continue
        where = f"{definition.registration_type} field {field.field_path}"
        outcomes = _outcomes(definition, field, values, semantics)
        if any("REQUIRED" in _effective(o.behavior, semantics, where) for o in outcomes):
            missing.append(field.field_path)
    return tuple(missing)


def check_value(
    definition: RegistrationTypeDefinition,
    value: FieldValue,
    *,
    values: FieldValues | None = None,
    attachment_ok: Callable[[str], bool] | None = None,
    semantics: Semantics = STRICT,
) -> list[FieldProblem]:
    """What is wrong with ``value`` for its field (no problems: []).

    A field the type does not have gives no problems: the caller answers
    UNKNOWN_REGISTRATION_FIELD. ``values`` is the rest of the form, for conditional fields
    (a DISALLOWED field given a value, a matching rule's ConditionalValidation);
    ``attachment_ok(id)`` False makes an attachment a problem.
    """
    if not isinstance(value, FieldValue):
        raise InvalidArgumentType(f"check_value takes a FieldValue, got {shown(value)}")
    field = definition._by_path.get(value.field_path)
    if field is None:
        return []
    path = value.field_path
    wanted = {
        FieldType.TEXT: ("TextValue", value.text_value),
        FieldType.SELECT: ("SelectChoices", value.select_choices),
        FieldType.ATTACHMENT: ("RegistrationAttachmentId", value.attachment_id),
    }
    member, given = wanted[field.field_type]
    if given is None:
        got = next(m for m, v in wanted.values() if v is not None)
        article = "an" if field.field_type is FieldType.ATTACHMENT else "a"
        return [FieldProblem(path, f"{article} {field.field_type} field takes {member}, not {got}")]
    if values is not None and not isinstance(values, FieldValues):
        raise InvalidArgumentType(f"check_value's values are FieldValues, got {shown(values)}")
    form = (values or FieldValues.empty()).with_value(value)
    where = f"{definition.registration_type} field {path}"
    problems: list[FieldProblem] = []
    for outcome in _outcomes(definition, field, form, semantics):
        effective = _effective(outcome.behavior, semantics, where)
        if "DISALLOWED" in effective:
            why = (
                "the form disallows it"
                if outcome.behavior == "DISALLOWED"
                else f"behaviour {outcome.behavior!r} is unknown to this library and may forbid "
                "a value (Semantics.unknown_behavior)"
            )
            problems.append(FieldProblem(path, f"must not be given: {why}"))
        problems += _validate(field, value, outcome.validation)
    attachment = value.attachment_id
    if attachment is not None and attachment_ok is not None and not attachment_ok(attachment):
        problems.append(FieldProblem(path, f"attachment {attachment} is not usable"))
    return list(dict.fromkeys(problems))


def _validate(
    field: FieldDefinition, value: FieldValue, override: ConditionalValidation | None
) -> list[FieldProblem]:
    path, problems = field.field_path, []
    over = override or ConditionalValidation()
    allowed = over.allowed_values
    if field.field_type is FieldType.TEXT and field.text_validation is not None:
        text, base = value.text_value or "", field.text_validation
        low = base.min_length if over.min_length is None else over.min_length
        high = base.max_length if over.max_length is None else over.max_length
        pattern = base.pattern if over.pattern is None else over.pattern
        if not low <= len(text) <= high:
            problems.append(FieldProblem(path, f"must be {low}-{high} characters, got {len(text)}"))
        if not _regex(pattern).fullmatch(text):
            problems.append(FieldProblem(path, f"must match the pattern {pattern}"))
        if allowed is not None and text not in allowed:
            problems.append(FieldProblem(path, f"must be one of {', '.join(allowed)}"))
    if field.field_type is FieldType.SELECT and field.select_validation is not None:
        choices, base_s = value.select_choices or (), field.select_validation
        low, high = base_s.min_choices, base_s.max_choices
        if not low <= len(choices) <= high:
            problems.append(FieldProblem(path, f"takes {low}-{high} choices, got {len(choices)}"))
        options = allowed if allowed is not None else base_s.options
        for choice in choices:
            if choice not in options:
                problems.append(
                    FieldProblem(
                        path,
                        f"{choice!r} is not an option; the options: {', '.join(options) or 'none'}",
                    )
                )
    return problems


def check_form(
    definition: RegistrationTypeDefinition,
    values: FieldValues,
    *,
    attachment_ok: Callable[[str], bool] | None = None,
    semantics: Semantics = STRICT,
) -> list[FieldProblem]:
    """Every problem of every value of a known field, against the whole form (for submit,
    beside :func:`missing_fields`: a value put earlier may be refused by the form as it is now).
    """
    problems: list[FieldProblem] = []
    for value in values.values():
        problems += check_value(
            definition, value, values=values, attachment_ok=attachment_ok, semantics=semantics
        )
    return problems
