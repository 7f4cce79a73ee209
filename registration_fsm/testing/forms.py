"""Hypothesis strategies for registration forms (needs the ``testing`` extra).

Every value is checked by the domain's own rules before it is given, so what a
strategy promises holds whatever the catalogue says:

- :func:`field_values`: a :class:`~registration_fsm.domain.forms.FieldValue` that
  :func:`~registration_fsm.domain.forms.check_value` accepts (``valid=False``: refuses:
  the wrong kind of value, too short or too long, off the pattern, too few or too many
  choices, a choice not offered, an attachment not among those given);
- :func:`forms`: :class:`~registration_fsm.domain.forms.FieldValues` with nothing missing
  (:func:`~registration_fsm.domain.forms.missing_fields`) and nothing refused
  (:func:`~registration_fsm.domain.forms.check_form`);
- :func:`incomplete_forms`: the same, with at least one required field missing;
- :func:`attachment_bodies`: files CreateRegistrationAttachment takes (a PDF, PNG or
  JPEG within the size limit) or refuses (another type, or one byte over the limit).

TEXT values come from ``st.from_regex`` over the field's pattern with lookarounds left
out and its open-ended repeat bounded to the field's length (the full pattern and the
lengths are then checked), or from ``st.text`` when the pattern is beyond that. ATTACHMENT
values name the ``attachment_ids`` given (any well-formed id when none are given; an empty
list: none is possible). Shrinking goes to the catalogue's example values, the first
options and short text.

::

    from hypothesis import given
    from registration_fsm.domain.forms import Catalog, check_form, missing_fields
    from registration_fsm.testing.forms import forms

    brand = Catalog.builtin().types["US_TEN_DLC_BRAND_REGISTRATION"]

    @given(forms(brand))
    def test(values):
        assert not missing_fields(brand, values) and not check_form(brand, values)
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs
from hypothesis import strategies as st

from registration_fsm.domain.forms import (
    STRICT,
    FieldDefinition,
    FieldRequirement,
    FieldType,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
    SectionDefinition,
    Semantics,
    behaviors,
    check_form,
    check_value,
    example_value,
    missing_fields,
)
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown

__all__ = [
    "ATTACHMENT_MAGIC",
    "attachment_bodies",
    "attachment_ids",
    "field_values",
    "forms",
    "incomplete_forms",
]

#: How the files CreateRegistrationAttachment takes begin: "valid file extensions are
#: PDF, JPEG and PNG" (https://docs.aws.amazon.com/sms-voice/latest/userguide/rcs-country-launch.html);
#: the emulator reads the type from these first bytes.
ATTACHMENT_MAGIC: Final = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")

#: Characters a TextValue may hold (UTF-8 encodable: no lone surrogates).
_CHARS: Final = st.characters(codec="utf-8")
#: How far past its least length a drawn text may run (keeps values small).
_SPAN: Final = 48
#: The API's limits on one value (PutRegistrationFieldValue's model).
_TEXT_MAX: Final = 2048
_CHOICES_MAX: Final = 100
#: Strings that break common patterns (blank, one character of each kind, half an
#: address...): tried, repeated to the field's least length, for off-pattern text.
_PROBES: Final = (" ", "\t", "\n", "a", "Z", "0", "-", "!", "@", ".", "é", "中", "a b", "x@", "+")

_Ok = Callable[[str], bool] | None


# -- attachments ---------------------------------------------------------------------


def attachment_ids() -> st.SearchStrategy[str]:
    """Ids as CreateRegistrationAttachment makes them: ``attachment-`` and 32 hex digits.

    Example::

        @given(attachment_ids())
        def test(i):
            assert re.fullmatch(r"attachment-[0-9a-f]{32}", i)
    """
    return st.integers(0, 2**128 - 1).map(lambda n: f"attachment-{n:032x}")


def attachment_bodies(
    valid: bool = True, *, max_bytes: int | None = None
) -> st.SearchStrategy[bytes]:
    """A file for CreateRegistrationAttachment: a PDF, PNG or JPEG (by its first bytes) of
    at most ``max_bytes`` (default: the emulator's limit, 500 KB); ``valid=False``: a file
    of no accepted type (up to 256 bytes), or, now and then, one byte over ``max_bytes``.

    Example::

        @given(attachment_bodies())
        def test(body):
            assert body.startswith(ATTACHMENT_MAGIC) and len(body) <= 500_000
    """
    limit = _max_bytes(max_bytes)
    if valid:
        magic = [m for m in ATTACHMENT_MAGIC if len(m) <= limit]
        if not magic:
            raise InvalidArgument(f"no accepted file fits in max_bytes={limit}")
        return st.sampled_from(magic).flatmap(
            lambda m: st.binary(max_size=min(256, limit - len(m))).map(lambda tail: m + tail)
        )
    wrong = st.binary(min_size=1, max_size=256).filter(lambda b: not b.startswith(ATTACHMENT_MAGIC))
    # Zero bytes after a real header: cheap to make, refused for its size alone.
    big = st.sampled_from(ATTACHMENT_MAGIC).map(lambda m: m + bytes(max(0, limit + 1 - len(m))))
    return st.sampled_from(["type", "type", "type", "size"]).flatmap(
        lambda kind: wrong if kind == "type" else big
    )


def _max_bytes(max_bytes: int | None) -> int:
    if max_bytes is None:
        # The emulator's documented limit (its module is loaded only when asked for).
        forms = importlib.import_module("registration_fsm.emulator.forms")
        found: int = forms.ATTACHMENT_MAX_BYTES
        return found
    if type(max_bytes) is not int:
        raise InvalidArgumentType(f"max_bytes must be an int, got {shown(max_bytes)}")
    if max_bytes < 1:
        raise InvalidArgument(f"max_bytes must be >= 1, got {max_bytes}")
    return max_bytes


# -- one field's value -------------------------------------------------------------------


def field_values(
    definition: FieldDefinition | RegistrationTypeDefinition,
    *,
    valid: bool = True,
    values: FieldValues | None = None,
    attachment_ids: Sequence[str] | None = None,
    semantics: Semantics = STRICT,
) -> st.SearchStrategy[FieldValue]:
    """A value the field accepts (``valid=False``: refuses), as :func:`check_value` says.

    Given a :class:`RegistrationTypeDefinition`, a value for one of its fields, judged
    with the rest of the form (``values``, default empty: conditional rules and their
    validation apply; a valid value is drawn only for fields that can take one now).
    Given a :class:`FieldDefinition` alone, its own validation is what counts (its
    conditional rules name fields it does not have). ``attachment_ids``: the attachments
    an ATTACHMENT field may name (any other is refused); None: any well-formed id.

    Raises :class:`InvalidArgument` when no such value exists (a field with no option to
    choose, an ATTACHMENT field and no ``attachment_ids``). Example::

        @given(field_values(brand.field("companyInfo.taxId"), valid=False))
        def test(value):
            assert check_value(alone, value)
    """
    ids = _ids(attachment_ids)
    current = _values(values)
    if isinstance(definition, FieldDefinition):
        owner = _alone(definition)
        return _field_strategy(owner, definition, valid, current, ids, semantics)
    if not isinstance(definition, RegistrationTypeDefinition):
        raise InvalidArgumentType(
            f"field_values takes a FieldDefinition or a RegistrationTypeDefinition, "
            f"got {shown(definition)}"
        )
    fields = [
        f for f in definition.fields if _possible(definition, f, valid, current, ids, semantics)
    ]
    if not fields:
        kind = "valid" if valid else "invalid"
        raise InvalidArgument(f"{definition.registration_type}: no field can take a {kind} value")
    return st.sampled_from(fields).flatmap(
        lambda f: _field_strategy(definition, f, valid, current, ids, semantics)
    )


def _ids(attachment_ids: Sequence[str] | None) -> tuple[str, ...] | None:
    if attachment_ids is None:
        return None
    if isinstance(attachment_ids, str) or not isinstance(attachment_ids, Sequence):
        raise InvalidArgumentType(
            f"attachment_ids takes a sequence of ids, got {shown(attachment_ids)}"
        )
    return tuple(dict.fromkeys(attachment_ids))


def _values(values: FieldValues | None) -> FieldValues:
    if values is None:
        return FieldValues.empty()
    if not isinstance(values, FieldValues):
        raise InvalidArgumentType(f"values must be FieldValues, got {shown(values)}")
    return values


def _ok(ids: tuple[str, ...] | None) -> _Ok:
    return None if ids is None else frozenset(ids).__contains__


def _alone(field: FieldDefinition) -> RegistrationTypeDefinition:
    """A one-field form: ``field`` judged by its own validation only."""
    return RegistrationTypeDefinition(
        registration_type="FIELD",
        display_hints={"Title": "one field"},
        sections=(
            SectionDefinition(
                field.section_path, {"Title": "section", "ShortDescription": "section"}
            ),
        ),
        fields=(attrs.evolve(field, conditional=None),),
    )


def _possible(
    definition: RegistrationTypeDefinition,
    field: FieldDefinition,
    valid: bool,
    values: FieldValues,
    ids: tuple[str, ...] | None,
    semantics: Semantics,
) -> bool:
    """Whether ``field`` can take a value of that kind now (invalid: always)."""
    if not valid:
        return True
    if "DISALLOWED" in behaviors(definition, field, values, semantics=semantics):
        return False
    if field.field_type is FieldType.ATTACHMENT:
        return ids is None or bool(ids)
    if field.field_type is FieldType.SELECT:
        rule = field.select_validation
        return rule is not None and min(rule.max_choices, len(rule.options)) >= rule.min_choices
    return True


def _field_strategy(
    definition: RegistrationTypeDefinition,
    field: FieldDefinition,
    valid: bool,
    values: FieldValues,
    ids: tuple[str, ...] | None,
    semantics: Semantics,
) -> st.SearchStrategy[FieldValue]:
    if valid and not _possible(definition, field, valid, values, ids, semantics):
        raise InvalidArgument(f"field {field.field_path} can take no valid value here")
    raw = _valid_raw(field, ids) if valid else _invalid_raw(field, ids)
    ok = _ok(ids)

    def judged(value: FieldValue) -> bool:
        problems = check_value(
            definition, value, values=values, attachment_ok=ok, semantics=semantics
        )
        return not problems if valid else bool(problems)

    return raw.filter(judged)


@functools.lru_cache(maxsize=1024)
def _valid_raw(
    field: FieldDefinition, ids: tuple[str, ...] | None
) -> st.SearchStrategy[FieldValue]:
    path = field.field_path
    if field.field_type is FieldType.ATTACHMENT:
        chosen = attachment_ids() if ids is None else st.sampled_from(ids)
        return chosen.map(lambda i: FieldValue(path, attachment_id=i))
    if field.field_type is FieldType.SELECT:
        rule = field.select_validation
        assert rule is not None  # a SELECT field has one (the shape says)
        high = min(rule.max_choices, len(rule.options), _CHOICES_MAX)
        choices = st.lists(
            st.sampled_from(rule.options), unique=True, min_size=rule.min_choices, max_size=high
        )
        return choices.map(lambda c: FieldValue(path, select_choices=tuple(c)))
    text = field.text_validation
    assert text is not None  # a TEXT field has one (the shape says)
    drawn = _text(text.pattern, text.min_length, text.max_length)
    example = example_value(field)
    if example is not None:  # shrinks to the catalogue's own example
        return st.just(example) | drawn.map(lambda t: FieldValue(path, text_value=t))
    return drawn.map(lambda t: FieldValue(path, text_value=t))


@functools.lru_cache(maxsize=1024)
def _invalid_raw(
    field: FieldDefinition, ids: tuple[str, ...] | None
) -> st.SearchStrategy[FieldValue]:
    """Values of the wrong kind, and values of the right kind the field's checks refuse."""
    path = field.field_path
    words = st.text(_CHARS, min_size=1, max_size=24)
    wrong_kind = {
        FieldType.TEXT: words.map(lambda t: FieldValue(path, text_value=t)),
        FieldType.SELECT: st.lists(words, max_size=3).map(
            lambda c: FieldValue(path, select_choices=tuple(c))
        ),
        FieldType.ATTACHMENT: attachment_ids().map(lambda i: FieldValue(path, attachment_id=i)),
    }
    kinds = [s for kind, s in wrong_kind.items() if kind is not field.field_type]
    if field.field_type is FieldType.TEXT:
        text = field.text_validation
        assert text is not None
        kinds += [
            t.map(lambda v: FieldValue(path, text_value=v))
            for t in _bad_text(text.pattern, text.min_length, text.max_length)
        ]
    elif field.field_type is FieldType.SELECT:
        rule = field.select_validation
        assert rule is not None
        kinds += [
            c.map(lambda v: FieldValue(path, select_choices=v))
            for c in _bad_choices(rule.options, rule.min_choices, rule.max_choices)
        ]
    elif ids is not None:  # an attachment that is not among those uploaded
        kinds.append(
            attachment_ids()
            .filter(lambda i: i not in ids)
            .map(lambda i: FieldValue(path, attachment_id=i))
        )
    return st.one_of(kinds)


@functools.lru_cache(maxsize=512)
def _bad_text(pattern: str, low: int, high: int) -> tuple[st.SearchStrategy[str], ...]:
    """Text too short, too long, or off the pattern (each a TextValue: 1-2048 characters)."""
    lo, hi = max(low, 1), min(high, _TEXT_MAX)
    out: list[st.SearchStrategy[str]] = []
    if lo > 1:
        out.append(st.text(_CHARS, min_size=1, max_size=lo - 1))
    if hi < _TEXT_MAX:
        out.append(st.text(_CHARS, min_size=hi + 1, max_size=min(_TEXT_MAX, hi + 16)))
    if lo <= hi:
        compiled = re.compile(pattern)
        tried = {(p * lo)[: max(lo, len(p))] for p in _PROBES} | set(_PROBES)
        fitting = sorted(t for t in tried if lo <= len(t) <= hi)
        off = [t for t in fitting if compiled.fullmatch(t) is None]
        if off:
            out.append(st.sampled_from(off))
        if len(off) * 2 > len(fitting):  # a strict pattern: random text mostly misses it too
            out.append(st.text(_CHARS, min_size=lo, max_size=max(lo, min(hi, lo + _SPAN))))
    return tuple(out)


def _bad_choices(
    options: tuple[str, ...], low: int, high: int
) -> list[st.SearchStrategy[tuple[str, ...]]]:
    """Too few choices, too many, or one not offered."""
    absent = st.text(_CHARS, min_size=1, max_size=24).filter(lambda c: c not in options)
    offered = st.sampled_from(options) if options else absent
    out: list[st.SearchStrategy[tuple[str, ...]]] = []
    if low > 0:
        fewer = min(low - 1, len(options))
        out.append(st.lists(offered, unique=True, max_size=fewer).map(tuple))
    if high < _CHOICES_MAX:
        more = st.lists(offered | absent, unique=True, min_size=high + 1,
                        max_size=min(_CHOICES_MAX, high + 3))  # fmt: skip
        out.append(more.map(tuple))
    some = st.lists(offered, unique=True, max_size=max(0, min(high, _CHOICES_MAX) - 1))
    out.append(st.tuples(some, absent).map(lambda t: (*t[0], t[1])))
    return out


# -- text -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _text(pattern: str, low: int, high: int) -> st.SearchStrategy[str]:
    """Text ``pattern`` fully matches, ``low``..``high`` characters long (and a TextValue:
    1-2048 characters); from ``st.from_regex`` when the pattern allows, else ``st.text``."""
    lo, hi = max(low, 1), min(high, _TEXT_MAX)
    compiled = re.compile(pattern)

    def fits(text: str) -> bool:
        return lo <= len(text) <= hi and compiled.fullmatch(text) is not None

    core = _steered(pattern, lo, hi)
    if core is not None:
        try:
            strategy = st.from_regex(core, fullmatch=True, alphabet=_CHARS)
            strategy.validate()
        except Exception:  # a construct hypothesis cannot generate: plain text below
            pass
        else:
            # Deferred: a lazy strategy rebuilds its regex for every filter or map laid on it.
            return st.deferred(lambda: strategy.filter(fits))
    return st.text(_CHARS, min_size=lo, max_size=max(lo, min(hi, lo + _SPAN))).filter(fits)


class _Unwritable(Exception):
    """A regex construct :func:`_steered` does not write back."""


_AT: Final = {
    "AT_BEGINNING": "^",
    "AT_BEGINNING_STRING": r"\A",
    "AT_END": "$",
    "AT_END_STRING": r"\Z",
    "AT_BOUNDARY": r"\b",
    "AT_NON_BOUNDARY": r"\B",
}
_CATEGORIES: Final = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_FLAGS: Final = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.ASCII, "a"))
_REPEATS: Final = {"MAX_REPEAT": "", "MIN_REPEAT": "?", "POSSESSIVE_REPEAT": "+"}


def _steered(pattern: str, lo: int, hi: int) -> str | None:
    """``pattern`` rewritten for generation: lookarounds left out (hypothesis would
    generate their text) and the first top-level open-ended repeat of a fixed-width item
    bounded so the whole lands in ``lo``..``hi`` characters. Every drawn text is checked
    against the original pattern, so a rewrite can only cost rejections. None when the
    pattern holds a construct this does not write back."""
    parser: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser
    try:
        tree = parser.parse(pattern)
        items = [(op, av) for op, av in tree.data if op.name not in ("ASSERT", "ASSERT_NOT")]
        least = sum(parser.SubPattern(tree.state, [item]).getwidth()[0] for item in items)
        for i, (op, av) in enumerate(items):
            if op.name not in _REPEATS:
                continue
            low, high, sub = av
            width = sub.getwidth()
            if width[0] == width[1] >= 1 and high - low > _SPAN:
                others = least - low * width[0]
                first = max(low, -(-(lo - others) // width[0]))
                last = min(high, (hi - others) // width[0], first + _SPAN)
                if first <= last:
                    items[i] = (op, (first, last, sub))
                break
        flags = "".join(letter for flag, letter in _FLAGS if tree.state.flags & flag)
        return (f"(?{flags})" if flags else "") + _write(items)
    except (_Unwritable, re.error, RecursionError, KeyError, AttributeError, ValueError):
        return None


def _write(items: Any) -> str:
    return "".join(_node(op, av) for op, av in items)


def _node(op: Any, av: Any) -> str:
    name = op.name
    if name == "LITERAL":
        return re.escape(chr(av))
    if name == "NOT_LITERAL":
        return f"[^{re.escape(chr(av))}]"
    if name == "ANY":
        return "."
    if name == "AT":
        return _AT[av.name]
    if name == "IN":
        return "[" + "".join(_member(o, a) for o, a in av) + "]"
    if name == "BRANCH":
        return "(?:" + "|".join(_write(branch) for branch in av[1]) + ")"
    if name == "SUBPATTERN":
        group, add, remove, sub = av
        on = "".join(letter for flag, letter in _FLAGS if add & flag)
        off = "".join(letter for flag, letter in _FLAGS if remove & flag)
        scoped = f"(?{on}{'-' + off if off else ''}:{_write(sub)})"
        return scoped if group is None else f"({scoped})"
    if name in _REPEATS:
        low, high, sub = av
        upper = "" if high >= importlib.import_module("re._constants").MAXREPEAT else str(high)
        return f"(?:{_write(sub)}){{{low},{upper}}}{_REPEATS[name]}"
    if name in ("ASSERT", "ASSERT_NOT"):  # checked by the original pattern afterwards
        return ""
    if name == "GROUPREF":
        return f"(?:\\{av})"
    if name == "GROUPREF_EXISTS":
        group, yes, no = av
        return f"(?({group}){_write(yes)}|{'' if no is None else _write(no)})"
    if name == "ATOMIC_GROUP":
        return f"(?>{_write(av)})"
    raise _Unwritable(name)


def _member(op: Any, av: Any) -> str:
    name = op.name
    if name == "NEGATE":
        return "^"
    if name == "LITERAL":
        return re.escape(chr(av))
    if name == "RANGE":
        return f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}"
    if name == "CATEGORY":
        return _CATEGORIES[av.name]
    raise _Unwritable(name)


# -- whole forms --------------------------------------------------------------------------


def forms(
    definition: RegistrationTypeDefinition,
    *,
    start: FieldValues | None = None,
    attachment_ids: Sequence[str] | None = None,
    optional: bool = True,
    semantics: Semantics = STRICT,
) -> st.SearchStrategy[FieldValues]:
    """A form ready to submit: no field missing, no value refused.

    Built on ``start`` (default: empty; its values stay unless the finished form refuses
    them), with up to three optional fields (unless ``optional`` is False), then every
    field still missing filled with a valid value (a value can make a conditional field
    required: filled in turn). Shrinks toward the catalogue's example values. Raises
    :class:`InvalidArgument` when a required field cannot be filled (an ATTACHMENT field
    and ``attachment_ids=[]``). Example::

        @given(forms(toll_free, attachment_ids=["attachment-" + "0" * 32]))
        def test(values):
            assert missing_fields(toll_free, values) == ()
    """
    if not isinstance(definition, RegistrationTypeDefinition):
        raise InvalidArgumentType(
            f"forms takes a RegistrationTypeDefinition, got {shown(definition)}"
        )
    ids, base = _ids(attachment_ids), _values(start)
    ok = _ok(ids)

    def complete(values: FieldValues) -> bool:
        return not missing_fields(definition, values, semantics=semantics) and not check_form(
            definition, values, attachment_ok=ok, semantics=semantics
        )

    return _forms(definition, base, ids, bool(optional), semantics).filter(complete)


@st.composite
def _forms(
    draw: st.DrawFn,
    definition: RegistrationTypeDefinition,
    values: FieldValues,
    ids: tuple[str, ...] | None,
    optional: bool,
    semantics: Semantics,
) -> FieldValues:
    def valid(field: FieldDefinition, now: FieldValues) -> FieldValue:
        return draw(_field_strategy(definition, field, True, now, ids, semantics))

    spare = [f for f in definition.fields if f.field_path not in values]
    if optional and spare:
        for field in draw(st.lists(st.sampled_from(spare), unique=True, max_size=3)):
            if _possible(definition, field, True, values, ids, semantics):
                values = values.with_value(valid(field, values))
    ok = _ok(ids)
    for _ in range(len(definition.fields) + 1):
        problems = check_form(definition, values, attachment_ok=ok, semantics=semantics)
        refused = {p.field_path for p in problems}
        values = FieldValues.of(v for v in values.values() if v.field_path not in refused)
        missing = missing_fields(definition, values, semantics=semantics)
        if not missing and not refused:
            break
        for path in missing:
            field = definition.field(path)
            if not _possible(definition, field, True, values, ids, semantics):
                raise InvalidArgument(
                    f"{definition.registration_type}: field {path} is required and can take "
                    "no value (an ATTACHMENT field needs attachment_ids)"
                )
            values = values.with_value(valid(field, values))
    return values


def incomplete_forms(
    definition: RegistrationTypeDefinition,
    *,
    attachment_ids: Sequence[str] | None = None,
    semantics: Semantics = STRICT,
) -> st.SearchStrategy[FieldValues]:
    """A form a submit refuses for missing fields only: a :func:`forms` value with one or
    more of the fields it required taken out (nothing left is refused).

    Raises :class:`InvalidArgument` for a type with no REQUIRED or CONDITIONAL field.
    Example::

        @given(incomplete_forms(brand))
        def test(values):
            assert missing_fields(brand, values) and not check_form(brand, values)
    """
    if not isinstance(definition, RegistrationTypeDefinition):
        raise InvalidArgumentType(
            f"incomplete_forms takes a RegistrationTypeDefinition, got {shown(definition)}"
        )
    if all(f.requirement is FieldRequirement.OPTIONAL for f in definition.fields):
        raise InvalidArgument(f"{definition.registration_type} requires no field")
    ok = _ok(_ids(attachment_ids))

    def required(values: FieldValues) -> list[str]:
        return [
            p
            for p in values
            if p in missing_fields(definition, values.without(p), semantics=semantics)
        ]

    def without(values: FieldValues, gone: list[str]) -> FieldValues:
        return FieldValues.of(v for v in values.values() if v.field_path not in gone)

    def incomplete(values: FieldValues) -> bool:
        return bool(missing_fields(definition, values, semantics=semantics)) and not check_form(
            definition, values, attachment_ok=ok, semantics=semantics
        )

    full = forms(definition, attachment_ids=attachment_ids, semantics=semantics)
    return (
        full.filter(lambda v: bool(required(v)))
        .flatmap(
            lambda v: st.lists(st.sampled_from(required(v)), unique=True, min_size=1).map(
                lambda gone: without(v, gone)
            )
        )
        .filter(incomplete)
    )
