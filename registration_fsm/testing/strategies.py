"""Hypothesis strategies for the registration lifecycle (needs the ``testing`` extra).

Every value is built the way the library builds it: registrations by their own
commands (``fire``, ``create_version``, ``discard``), versions along legal paths of
:data:`~registration_fsm.LIFECYCLE` whose every step the lifecycle's machine
resolves (``LIFECYCLE.destination``), with timestamps in order, so what the
strategies promise holds by construction:

- :func:`versions` and :func:`histories`: ``version.anomalies == ()``;
- :func:`registrations`: ``registration.invariant_violations() == []`` and
  ``Registration.from_api(r.to_api(), r.versions_to_api()).anomalies == ()``;
- :func:`version_api_dicts` and :func:`registration_api_dicts`: boto3's output
  shapes, accepted by botocore's model;
- :func:`malformed_version_api_dicts` and :func:`malformed_registration_api_dicts`:
  one structural error each, and the name of the field
  :class:`~registration_fsm.InvalidApiData` will report.

Values are drawn from small integers and sampled choices, so they shrink to
short paths, early timestamps and the first choices.

The installed package registers them for ``st.from_type`` through hypothesis's
``hypothesis`` entry-point group (``registration_fsm.testing.register_strategies``
runs when hypothesis is imported; :func:`for_type` gives the strategies), so
``st.from_type(RegistrationVersion)`` works with no import of this module.
``import registration_fsm`` never imports hypothesis.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hypothesis import strategies as st

from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.history import ATTR_OF, HISTORY_FIELDS, StatusHistory
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LIFECYCLE, Edge, LifecyclePolicy
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import (
    CLOSED_VERSION_STATUSES,
    MAX_STATUS_LENGTH,
    RegistrationStatus,
    VersionStatus,
)
from registration_fsm.domain.version import (
    CREATE,
    DeniedReason,
    RegistrationVersion,
    prepare_details,
)

__all__ = [
    "REGISTRATION_TYPES",
    "denied_reasons",
    "for_type",
    "histories",
    "lifecycle_paths",
    "malformed_registration_api_dicts",
    "malformed_version_api_dicts",
    "registration_api_dicts",
    "registration_arns",
    "registration_ids",
    "registration_statuses",
    "registration_types",
    "registrations",
    "timestamps",
    "transition_events",
    "unknown_status_strings",
    "version_api_dicts",
    "version_statuses",
    "versions",
]

#: Registration types drawn first (any value matching the API's pattern may follow).
REGISTRATION_TYPES: tuple[str, ...] = (
    "US_TEN_DLC_BRAND_REGISTRATION",
    "US_TEN_DLC_CAMPAIGN_REGISTRATION",
    "US_TOLL_FREE_REGISTRATION",
)

#: The first timestamp drawn: every timestamp is at or after it (it is what they shrink to).
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 3 * 365 * 86_400
_MAX_GAP_SECONDS = 30 * 86_400

VersionShape = Literal["information", "result"]

_KNOWN_VERSION = tuple(VersionStatus)
_KNOWN_REGISTRATION = tuple(RegistrationStatus)
_KNOWN_VALUES = frozenset(s.value for s in (*_KNOWN_VERSION, *_KNOWN_REGISTRATION))

# -- scalars -------------------------------------------------------------------


def unknown_status_strings() -> st.SearchStrategy[str]:
    """Status strings AWS might add later: usable, and unknown to both status enums.

    Example::

        @given(unknown_status_strings())
        def test(raw):
            assert VersionStatus(raw).is_unknown and VersionStatus(raw).to_api() == raw
    """
    return st.text(alphabet=string.ascii_uppercase + "_", min_size=1, max_size=24).filter(
        lambda s: s not in _KNOWN_VALUES
    )


def version_statuses(*, include_unknown: bool = False) -> st.SearchStrategy[VersionStatus]:
    """A :class:`VersionStatus`; with ``include_unknown``, also values AWS might add later.

    Shrinks to DRAFT. Example::

        @given(version_statuses(include_unknown=True))
        def test(status):
            assert VersionStatus(status.to_api()) == status
    """
    known = st.sampled_from(_KNOWN_VERSION)
    if not include_unknown:
        return known
    return known | unknown_status_strings().map(VersionStatus)


def registration_statuses(
    *, include_unknown: bool = False
) -> st.SearchStrategy[RegistrationStatus]:
    """A :class:`RegistrationStatus`; with ``include_unknown``, also future values.

    Shrinks to CREATED. Example::

        @given(registration_statuses())
        def test(status):
            assert not status.is_unknown
    """
    known = st.sampled_from(_KNOWN_REGISTRATION)
    if not include_unknown:
        return known
    return known | unknown_status_strings().map(RegistrationStatus)


def timestamps() -> st.SearchStrategy[datetime]:
    """Whole-second UTC datetimes from 2024 on; shrinks to 2024-01-01T00:00:00Z.

    Example::

        @given(timestamps())
        def test(t):
            assert t.tzinfo is UTC and t.microsecond == 0
    """
    return st.integers(0, _SPAN_SECONDS).map(lambda s: EPOCH + timedelta(seconds=s))


def registration_ids() -> st.SearchStrategy[str]:
    """Ids as the API makes them: ``registration-`` and 32 lowercase hex digits.

    Example::

        @given(registration_ids())
        def test(reg_id):
            assert re.fullmatch(r"registration-[0-9a-f]{32}", reg_id)
    """
    return st.integers(0, 2**128 - 1).map(lambda n: f"registration-{n:032x}")


def registration_arns(registration_id: str) -> str:
    """The ARN of ``registration_id`` in us-east-1, account 123456789012 (a plain function).

    Example::

        assert registration_arns("registration-1").endswith(":registration/registration-1")
    """
    return f"arn:aws:sms-voice:us-east-1:123456789012:registration/{registration_id}"


def registration_types() -> st.SearchStrategy[str]:
    """A RegistrationType: a well-known one first, else any value matching the API's pattern.

    Example::

        @given(registration_types())
        def test(t):
            assert re.fullmatch(r"[A-Za-z0-9_]{1,64}", t)
    """
    return st.sampled_from(REGISTRATION_TYPES) | st.from_regex(
        r"[A-Za-z0-9_]{1,64}", fullmatch=True
    )


def denied_reasons() -> st.SearchStrategy[DeniedReason]:
    """A RegistrationDeniedReasonInformation; the optional members are sometimes set.

    Example::

        @given(denied_reasons())
        def test(reason):
            assert DeniedReason.from_api(reason.to_api()) == reason
    """
    text = st.text(max_size=40)
    optional = st.none() | text
    return st.builds(
        DeniedReason,
        reason=st.sampled_from(["INVALID_BRAND", "MISSING_PRIVACY_POLICY", "OTHER"]),
        short_description=text,
        long_description=optional,
        documentation_title=optional,
        documentation_link=st.none() | st.just("https://docs.aws.amazon.com/sms-voice/"),
    )


# -- paths and versions --------------------------------------------------------


def _known(status: VersionStatus | str, what: str) -> VersionStatus:
    value = VersionStatus(status)
    if value.is_unknown:
        raise ValueError(f"{what} must be a known status, got {value}")
    return value


@st.composite
def lifecycle_paths(
    draw: st.DrawFn, to: VersionStatus | str | None = None, *, max_detours: int = 2
) -> tuple[Edge, ...]:
    """A legal chain of transitions from DRAFT to ``to`` (default: any known status).

    Each step picks a transition from the current status that can still reach
    ``to``, nearest first; up to ``max_detours`` steps may go the long way
    (REVIEWING -> REQUIRES_AUTHENTICATION -> REVIEWING...). Shrinks to the
    shortest path (``LIFECYCLE.shortest_path``). Example::

        @given(lifecycle_paths(VersionStatus.ARCHIVED))
        def test(path):
            assert path[-1].dest == VersionStatus.ARCHIVED
    """
    goal = draw(_reachable_statuses()) if to is None else _known(to, "to")
    if goal not in LIFECYCLE.reachable(VersionStatus.DRAFT):
        raise ValueError(f"{goal} cannot be reached from DRAFT in the lifecycle")
    detours = draw(st.integers(0, max(0, max_detours)))
    current = VersionStatus.DRAFT
    path: list[Edge] = []
    while True:
        onward = sorted(
            (e for e in LIFECYCLE.edges_from(current) if goal in LIFECYCLE.reachable(e.dest)),
            key=lambda e: _distance(e.dest, goal),
        )
        # At the goal, only a cycle leads back to it: go round it while detours remain.
        if current == goal and (not onward or detours <= 0 or not draw(st.booleans())):
            return tuple(path)
        step = draw(st.sampled_from(onward)) if detours > 0 else onward[0]
        if _distance(step.dest, goal) >= _distance(current, goal):
            detours -= 1
        path.append(step)
        current = step.dest


def _distance(start: VersionStatus, goal: VersionStatus) -> int:
    found = LIFECYCLE.distance(start, goal)
    assert found is not None  # only edges that can still reach the goal are drawn
    return found


def _details(draw: st.DrawFn, step: Edge) -> dict[str, Any]:
    """The details a step's trigger reads: the ``when`` flag, or deny's outcome."""
    if step.when is not None:
        return {step.when: True}
    if step.trigger != "deny":
        return {}
    out: dict[str, Any] = {}
    reasons = draw(st.lists(denied_reasons(), max_size=2))
    if reasons:
        out["denied_reasons"] = reasons
    feedback = draw(st.none() | st.text(max_size=40))
    if feedback is not None:
        out["feedback"] = feedback
    return out


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _gap(draw: st.DrawFn) -> timedelta:
    return timedelta(seconds=draw(st.integers(0, _MAX_GAP_SECONDS)))


def _walk_version(
    draw: st.DrawFn,
    status: VersionStatus | None,
    registration_id: str | None,
    number: int | None,
    include_unknown: bool,
    max_detours: int,
    path: tuple[Edge, ...] | None = None,
) -> tuple[RegistrationVersion, list[TransitionEvent]]:
    """A version moved along ``path`` (default: a drawn path to ``status``), and its events.

    Each step's destination is resolved by the lifecycle's machine, as the
    aggregate resolves it.
    """
    if status is not None:
        target = status
    elif include_unknown:
        target = draw(_reachable_statuses() | unknown_status_strings().map(VersionStatus))
    else:
        target = draw(_reachable_statuses())
    if path is None:
        goal = draw(_reachable_statuses()) if target.is_unknown else target
        path = draw(lifecycle_paths(goal, max_detours=max_detours))
    reg_id = draw(registration_ids()) if registration_id is None else registration_id
    num = draw(st.integers(1, 5)) if number is None else number
    at = draw(timestamps())
    version = RegistrationVersion.new(reg_id, registration_arns(reg_id), num, clock=_at(at))
    events = [version.created_event()]
    for step in path:
        at += _gap(draw)
        details = prepare_details(LIFECYCLE.trigger(step.trigger), _details(draw, step))
        edge = LIFECYCLE.destination(version.status, step.trigger, details.given)
        assert edge == step, f"the machine took {edge} for {step}"
        events.append(
            TransitionEvent(
                reg_id, num, step.trigger, version.status, edge.dest, at,
                details=dict(details.recorded),
            )
        )  # fmt: skip
        version = version.moved(edge.dest, at, details.updates)
    if target.is_unknown:
        version = version.with_status(target)
    return version, events


@st.composite
def versions(
    draw: st.DrawFn,
    status: VersionStatus | str | None = None,
    *,
    registration_id: str | None = None,
    number: int | None = None,
    include_unknown: bool = False,
    max_detours: int = 2,
) -> RegistrationVersion:
    """A :class:`RegistrationVersion` moved along a legal path to ``status``.

    ``status`` defaults to any known status (any status, future ones included,
    with ``include_unknown``; a version in an unknown status keeps the history of
    a legal walk). ``registration_id`` defaults to a drawn id, ``number`` to 1..5.
    Denied versions may carry DeniedReasons and Feedback. Guarantee:
    ``version.anomalies == ()``. Example::

        @given(versions(VersionStatus.APPROVED))
        def test(v):
            assert v.status == VersionStatus.APPROVED and v.history.approved is not None
            assert v.anomalies == ()
    """
    wanted = None if status is None else VersionStatus(status)
    version, _ = _walk_version(draw, wanted, registration_id, number, include_unknown, max_detours)
    return version


def histories(
    status: VersionStatus | str | None = None, *, max_detours: int = 2
) -> st.SearchStrategy[StatusHistory]:
    """A :class:`StatusHistory` consistent with ``status`` (default: any known status).

    Its timestamps follow a legal path from DRAFT to ``status``, in order, so
    ``history_anomalies(status, history) == ()``. Example::

        @given(histories(VersionStatus.DENIED))
        def test(h):
            assert h.draft <= h.denied
    """
    return versions(status, max_detours=max_detours).map(lambda v: v.history)


@st.composite
def transition_events(
    draw: st.DrawFn, *, trigger: str | None = None, include_create: bool = True
) -> TransitionEvent:
    """One event of a legal walk, as the model makes it (``source`` None for ``create``).

    ``trigger`` restricts to that trigger's events (any of its edges; a registration
    trigger such as ``close`` gives the registration's own event, ``version_number``
    None); ``include_create=False`` leaves out ``create``. Cause, actor and reason are
    drawn too. Example::

        @given(transition_events(trigger="deny"))
        def test(e):
            assert e.dest == VersionStatus.DENIED
            assert TransitionEvent.from_dict(e.to_dict()) == e
    """
    own = trigger in LIFECYCLE.registration_triggers
    known = (CREATE, *LIFECYCLE.moving_triggers, *LIFECYCLE.registration_triggers)
    if trigger is not None and trigger not in known:
        names = ", ".join(known[1:])
        raise ValueError(f"unknown trigger {trigger!r}; known: {names}")
    if own:
        events = [draw(_registration_event(trigger))]
    elif trigger is None:
        reachable = LIFECYCLE.reachable(VersionStatus.DRAFT)
        dests = [
            s
            for s in _KNOWN_VERSION
            if s in reachable and (include_create or s != VersionStatus.DRAFT)
        ]
        path = draw(lifecycle_paths(draw(st.sampled_from(dests))))
    elif trigger == CREATE:
        path = ()
    else:
        edge = draw(st.sampled_from([e for e in LIFECYCLE if e.trigger == trigger]))
        assert edge.source is not None
        path = (*draw(lifecycle_paths(edge.source, max_detours=1)), edge)
    if not own:
        _, events = _walk_version(draw, path[-1].dest if path else None, None, None, False, 0, path)
    if trigger is not None:
        events = [e for e in events if e.trigger == trigger][-1:]
    elif not include_create:
        events = events[1:]
    event: TransitionEvent = draw(st.sampled_from(events))
    drawn: TransitionEvent = event._replace(
        origin=draw(st.sampled_from(list(Origin))),
        actor=draw(st.none() | st.sampled_from(["alice", "bob"])),
        reason=draw(st.none() | st.text(max_size=20)),
        metadata=draw(
            st.dictionaries(st.sampled_from(["ticket", "approver"]), st.text(max_size=12))
        ),
    )
    return drawn


@st.composite
def _registration_event(draw: st.DrawFn, trigger: str | None) -> TransitionEvent:
    """A registration's own event by ``trigger``, along an edge a registration can reach."""
    edges = sorted(
        (e for e in LIFECYCLE.reachable_registration_edges() if e.trigger == trigger), key=str
    )
    edge = draw(st.sampled_from(edges))
    source = edge.source
    if source is None:  # "from any other status": draw one it applies from
        sources = [
            s
            for s in _KNOWN_REGISTRATION
            if LIFECYCLE.registration_edge_taken(s, edge.trigger, edge.dest) == edge
        ]
        source = draw(st.sampled_from(sources))
    reg_id = draw(registration_ids())
    return TransitionEvent(reg_id, None, edge.trigger, source, edge.dest, draw(timestamps()))


# -- registrations -------------------------------------------------------------


def _reachable_statuses() -> st.SearchStrategy[VersionStatus]:
    """Known statuses a new version can reach along the lifecycle, in enum order."""
    reachable = LIFECYCLE.reachable(VersionStatus.DRAFT)
    return st.sampled_from([s for s in _KNOWN_VERSION if s in reachable])


def _closed() -> list[VersionStatus]:
    reachable = LIFECYCLE.reachable(VersionStatus.DRAFT)
    return sorted(s for s in CLOSED_VERSION_STATUSES if s in reachable)


_ALLOW_DRAFT = LifecyclePolicy.allow_draft_discard()
#: Every optional edge on: the paths drawn may take any edge of the table.
_EVERY_EDGE = LifecyclePolicy.permissive()


@st.composite
def registrations(
    draw: st.DrawFn,
    *,
    max_versions: int = 4,
    include_unknown: bool = False,
    registration_id: str | None = None,
    max_detours: int = 1,
    registration_steps: bool = False,
) -> Registration:
    """A :class:`Registration` built by its own commands: invariants hold by construction.

    1..``max_versions`` versions; every version but the last is walked to a
    closed status, the last to any status (approving a newer version archives the
    older approval, as the aggregate does). The registration status is derived
    by the model. With ``include_unknown``, the current version or the
    registration status may be a future value. With ``registration_steps``, the
    last version's approval may pass through PROVISIONING and the registration may
    then take up to two of its own edges (``complete_provisioning``, ``close``,
    ``delete``). Guarantee:
    ``registration.invariant_violations() == []``. Example::

        @given(registrations(max_versions=3))
        def test(r):
            assert r.invariant_violations() == []
            assert Registration.from_api(r.to_api(), r.versions_to_api()) == r
    """
    reg_id = draw(registration_ids()) if registration_id is None else registration_id
    at = draw(timestamps())
    attributes = draw(
        st.dictionaries(
            st.sampled_from(["BRAND_NAME", "WEBSITE", "PHONE_NUMBER"]),
            st.text(max_size=20),
            max_size=2,
        )
    )
    reg = Registration.new(
        reg_id,
        registration_arns(reg_id),
        draw(registration_types()),
        clock=_at(at),
        additional_attributes=attributes,
    )
    count = draw(st.integers(1, max(1, max_versions)))
    for number in range(1, count + 1):
        if number > 1:
            at += _gap(draw)
            reg.create_version(clock=_at(at))
        last = number == count
        goal = draw(_reachable_statuses() if last else st.sampled_from(_closed()))
        path = draw(lifecycle_paths(goal, max_detours=max_detours))
        policy = _EVERY_EDGE
        ends_approved = bool(path) and path[-1].dest is VersionStatus.APPROVED
        if last and registration_steps and ends_approved and draw(st.booleans()):
            policy = _EVERY_EDGE.with_provisioning()  # versions freeze: the last step only
        for step in path:
            at += _gap(draw)
            reg.fire(step.trigger, clock=_at(at), policy=policy, **_details(draw, step))
    for _ in range(2 if registration_steps else 0):
        own = LIFECYCLE.registration_allowed(reg.status)
        trigger = draw(st.sampled_from([None, *own]))
        if trigger is None:
            break
        at += _gap(draw)
        reg.fire(trigger, clock=_at(at))
    if include_unknown:
        info, listed = reg.to_api(), reg.versions_to_api()
        if draw(st.booleans()):
            listed[0]["RegistrationVersionStatus"] = draw(unknown_status_strings())
        if draw(st.booleans()):
            info["RegistrationStatus"] = draw(unknown_status_strings())
        reg = Registration.from_api(info, listed)
    return reg


# -- API-shaped dicts ----------------------------------------------------------


def version_api_dicts(
    status: VersionStatus | str | None = None,
    *,
    shape: VersionShape = "information",
    include_unknown: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """A version as boto3 returns it (aware datetimes); botocore's model accepts it.

    ``shape="information"``: RegistrationVersionInformation (DescribeRegistrationVersions;
    parse with ``RegistrationVersion.from_api(d, registration_id=..., registration_arn=...)``).
    ``shape="result"``: a Create/Discard RegistrationVersion result, carrying
    RegistrationId and RegistrationArn (parse with ``from_api(d)``). Example::

        @given(version_api_dicts(shape="result"))
        def test(d):
            assert RegistrationVersion.from_api(d).to_result() == d
    """
    check_shape(shape)
    built = versions(status, include_unknown=include_unknown)
    if shape == "result":
        return built.map(lambda v: v.to_result())
    return built.map(lambda v: v.to_api())


def registration_api_dicts(
    *, max_versions: int = 4, include_unknown: bool = False
) -> st.SearchStrategy[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``(RegistrationInformation, [RegistrationVersionInformation, ...])`` as boto3 returns them.

    Versions are newest first, as DescribeRegistrationVersions lists them.
    ``Registration.from_api(info, versions)`` parses them with no anomalies. Example::

        @given(registration_api_dicts())
        def test(pair):
            info, versions = pair
            assert Registration.from_api(info, versions).anomalies == ()
    """
    return registrations(max_versions=max_versions, include_unknown=include_unknown).map(
        lambda r: (r.to_api(), r.versions_to_api())
    )


def check_shape(shape: object) -> VersionShape:
    """``shape`` if it is "information" or "result"; else ValueError."""
    if shape == "information":
        return "information"
    if shape == "result":
        return "result"
    raise ValueError(f"shape must be 'information' or 'result', got {shape!r}")


# -- malformed API dicts -------------------------------------------------------

_ABSENT = object()

# Values that no reader accepts as what each member needs.
_NOT_INT = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
_BAD_NUMBER = st.one_of(
    st.integers(max_value=0), st.integers(min_value=100_001, max_value=2**63), _NOT_INT
)
_NOT_STR = st.one_of(
    st.integers(), st.booleans(), st.floats(), st.lists(st.text(max_size=3), max_size=2)
)
_BAD_STATUS_STRING = st.sampled_from(
    ["", " DRAFT", "DRAFT ", "DRA\nFT", "\x00", "X" * (MAX_STATUS_LENGTH + 1)]
)
_BAD_STATUS = _NOT_STR | _BAD_STATUS_STRING
_BAD_TIMESTAMP = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),  # naive
    st.text(max_size=25),
    st.booleans(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e20, -1e20]),
    st.lists(st.integers(), max_size=2),
)
_BAD_ID = st.one_of(
    st.sampled_from(["", "has space", "x" * 257, "bad\u2603", "tab\tid"]), st.integers()
)
_BAD_TYPE = st.sampled_from(["", "has-dash", "has space", "X" * 65, 7])
_NOT_LIST = st.one_of(st.integers(), st.booleans(), st.floats(), st.text(max_size=5))
_NOT_MAPPING = st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
_UNKNOWN_HISTORY_KEY = st.sampled_from(["PendingTimestamp", "draftTimestamp", "Other"])


def _set_or_drop(draw: st.DrawFn, d: dict[str, Any], key: str) -> None:
    """Make ``key`` missing: deleted, or null (null counts as absent)."""
    if draw(st.booleans()):
        d[key] = None
    else:
        d.pop(key, None)


def _corrupt_history(draw: st.DrawFn, d: dict[str, Any]) -> str:
    history = dict(d["RegistrationVersionStatusHistory"])
    d["RegistrationVersionStatusHistory"] = history
    kind = draw(st.sampled_from(["bad_value", "missing_draft", "unknown_member", "not_a_mapping"]))
    if kind == "bad_value":
        key = draw(st.sampled_from([api for api, _, _ in HISTORY_FIELDS]))
        history[key] = draw(_BAD_TIMESTAMP)
        return f"RegistrationVersionStatusHistory.{key}"
    if kind == "missing_draft":
        _set_or_drop(draw, history, "DraftTimestamp")
        return "RegistrationVersionStatusHistory.DraftTimestamp"
    if kind == "unknown_member":
        key = draw(_UNKNOWN_HISTORY_KEY)
        assert key not in ATTR_OF
        history[key] = draw(timestamps())
        return f"RegistrationVersionStatusHistory.{key}"
    d["RegistrationVersionStatusHistory"] = draw(_NOT_MAPPING)
    return "RegistrationVersionStatusHistory"


def _corrupt_denied_reasons(draw: st.DrawFn, d: dict[str, Any]) -> str:
    kind = draw(st.sampled_from(["not_a_list", "item", "member"]))
    if kind == "not_a_list":
        d["DeniedReasons"] = draw(_NOT_LIST)
        return "DeniedReasons"
    reasons: list[Any] = [r.to_api() for r in draw(st.lists(denied_reasons(), max_size=2))]
    index = draw(st.integers(0, len(reasons)))
    if kind == "item":
        reasons.insert(index, draw(_NOT_MAPPING))
        d["DeniedReasons"] = reasons
        return f"DeniedReasons[{index}]"
    bad: dict[str, Any] = dict(draw(denied_reasons()).to_api())
    member = draw(
        st.sampled_from(
            [
                "Reason",
                "ShortDescription",
                "LongDescription",
                "DocumentationTitle",
                "DocumentationLink",
            ]
        )
    )
    if member in ("Reason", "ShortDescription") and draw(st.booleans()):
        _set_or_drop(draw, bad, member)
    else:
        bad[member] = draw(_NOT_STR)
    reasons.insert(index, bad)
    d["DeniedReasons"] = reasons
    return f"DeniedReasons[{index}].{member}"


def _corrupt_version(draw: st.DrawFn, d: dict[str, Any], shape: VersionShape) -> str:
    """Introduce one structural error into a valid version dict; return its field."""
    kinds = ["VersionNumber", "RegistrationVersionStatus", "history", "DeniedReasons", "Feedback"]
    if shape == "result":
        kinds += ["RegistrationId", "RegistrationArn"]
    kind = draw(st.sampled_from(kinds))
    if kind == "history":
        return _corrupt_history(draw, d)
    if kind == "DeniedReasons":
        return _corrupt_denied_reasons(draw, d)
    missing = kind != "Feedback" and draw(st.booleans())
    if missing:
        _set_or_drop(draw, d, kind)
    elif kind == "VersionNumber":
        d[kind] = draw(_BAD_NUMBER)
    elif kind == "RegistrationVersionStatus":
        d[kind] = draw(_BAD_STATUS)
    elif kind == "RegistrationId":
        d[kind] = draw(_BAD_ID)
    else:  # Feedback, RegistrationArn
        d[kind] = draw(_NOT_STR)
    return kind


@st.composite
def malformed_version_api_dicts(
    draw: st.DrawFn, *, shape: VersionShape = "information"
) -> tuple[dict[str, Any], str]:
    """``(data, field)``: a version dict with one structural error, and its field.

    Parsing ``data`` raises :class:`~registration_fsm.InvalidApiData` whose
    ``.field`` is exactly ``field`` (``"VersionNumber"``,
    ``"RegistrationVersionStatusHistory.ApprovedTimestamp"``, ``"DeniedReasons[1].Reason"``...).
    ``shape="information"``: parse with ``RegistrationVersion.from_api(data,
    registration_id=..., registration_arn=...)`` (any valid values);
    ``shape="result"``: ``from_api(data)``, and RegistrationId/RegistrationArn
    may be the broken member. Example::

        @given(malformed_version_api_dicts(shape="result"))
        def test(case):
            data, field = case
            with pytest.raises(InvalidApiData) as err:
                RegistrationVersion.from_api(data)
            assert err.value.field == field
    """
    check_shape(shape)
    version = draw(versions())
    d = version.to_result() if shape == "result" else version.to_api()
    field = _corrupt_version(draw, d, shape)
    return d, field


_INFO_REQUIRED = (
    "RegistrationId",
    "RegistrationArn",
    "RegistrationType",
    "RegistrationStatus",
    "CurrentVersionNumber",
    "CreatedTimestamp",
)


def _corrupt_info(draw: st.DrawFn, info: dict[str, Any]) -> str:
    kind = draw(
        st.sampled_from(
            [
                *_INFO_REQUIRED,
                "ApprovedVersionNumber",
                "LatestDeniedVersionNumber",
                "AdditionalAttributes",
            ]
        )
    )
    if kind in _INFO_REQUIRED and draw(st.booleans()):
        _set_or_drop(draw, info, kind)
        return kind
    if kind == "RegistrationId":
        info[kind] = draw(_BAD_ID)
    elif kind == "RegistrationArn":
        info[kind] = draw(_NOT_STR)
    elif kind == "RegistrationType":
        info[kind] = draw(_BAD_TYPE)
    elif kind == "RegistrationStatus":
        info[kind] = draw(_BAD_STATUS)
    elif kind == "CreatedTimestamp":
        info[kind] = draw(_BAD_TIMESTAMP)
    elif kind == "AdditionalAttributes":
        if draw(st.booleans()):
            info[kind] = draw(_NOT_MAPPING)
        else:
            key = draw(st.sampled_from(["BRAND_NAME", "WEBSITE"]))
            attributes = {**info.get(kind, {}), key: draw(_NOT_STR)}
            info[kind] = attributes
            return f"{kind}.{key}"
    else:  # the version numbers
        info[kind] = draw(_BAD_NUMBER)
    return kind


def _corrupt_versions(
    draw: st.DrawFn, owner: str, versions_: list[dict[str, Any]]
) -> tuple[Any, str]:
    kind = draw(st.sampled_from(["item", "not_a_list", "empty", "duplicate", "foreign"]))
    if kind == "not_a_list":
        return draw(st.sampled_from(["DRAFT", 1, {"VersionNumber": 1}])), "RegistrationVersions"
    if kind == "empty":
        return [], "RegistrationVersions"
    index = draw(st.integers(0, len(versions_) - 1))
    out = [dict(v) for v in versions_]
    if kind == "duplicate":
        out.insert(index + 1, dict(out[index]))
        return out, f"RegistrationVersions[{index + 1}].VersionNumber"
    if kind == "foreign":
        other = draw(registration_ids().filter(lambda i: i != owner))
        out[index]["RegistrationId"] = other
        out[index]["RegistrationArn"] = registration_arns(other)
        return out, f"RegistrationVersions[{index}].RegistrationId"
    field = _corrupt_version(draw, out[index], "information")
    return out, f"RegistrationVersions[{index}].{field}"


@st.composite
def malformed_registration_api_dicts(
    draw: st.DrawFn, *, max_versions: int = 3
) -> tuple[dict[str, Any], Any, str]:
    """``(info, versions, field)``: one structural error in a registration and its versions.

    ``Registration.from_api(info, versions)`` raises
    :class:`~registration_fsm.InvalidApiData` whose ``.field`` is ``field``:
    a RegistrationInformation member (``"RegistrationType"``,
    ``"AdditionalAttributes.WEBSITE"``...), ``"RegistrationVersions"`` (not a list,
    or empty) or a version's member (``"RegistrationVersions[0].VersionNumber"``).
    Example::

        @given(malformed_registration_api_dicts())
        def test(case):
            info, versions, field = case
            with pytest.raises(InvalidApiData) as err:
                Registration.from_api(info, versions)
            assert err.value.field == field
    """
    reg = draw(registrations(max_versions=max_versions))
    info, versions_ = reg.to_api(), reg.versions_to_api()
    if draw(st.booleans()):
        return info, versions_, _corrupt_info(draw, info)
    bad_versions, field = _corrupt_versions(draw, reg.id, versions_)
    return info, bad_versions, field


# -- registration with hypothesis ------------------------------------------------


def for_type(cls: type[Any]) -> st.SearchStrategy[Any]:
    """The strategy ``st.from_type(cls)`` resolves to, for each of the library's types.

    VersionStatus, RegistrationStatus, StatusHistory, RegistrationVersion,
    Registration, TransitionEvent, DeniedReason, Edge and LifecyclePolicy.
    Example::

        @given(for_type(Registration))
        def test(r):
            assert r.invariant_violations() == []
    """
    table: Mapping[type[Any], Callable[[], st.SearchStrategy[Any]]] = {
        VersionStatus: version_statuses,
        RegistrationStatus: registration_statuses,
        StatusHistory: histories,
        RegistrationVersion: versions,
        Registration: registrations,
        TransitionEvent: transition_events,
        DeniedReason: denied_reasons,
        Edge: lambda: st.sampled_from(LIFECYCLE.edges),
        LifecyclePolicy: lambda: st.sampled_from(
            [DEFAULT_POLICY, _ALLOW_DRAFT, _EVERY_EDGE, _EVERY_EDGE.with_provisioning()]
        ),
    }
    factory = table.get(cls)
    if factory is None:
        raise ValueError(f"no strategy for {cls!r}; known: {', '.join(t.__name__ for t in table)}")
    return factory()
