"""The hypothesis strategies keep their promises: consistent histories, invariants that
hold, dicts botocore's model accepts, malformed dicts that name their broken field."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel
from botocore.validate import ParamValidator
from helpers import REG_ARN, REG_ID
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from registration_fsm import (
    LIFECYCLE,
    DeniedReason,
    Edge,
    InvalidApiData,
    LifecyclePolicy,
    Registration,
    RegistrationStatus,
    RegistrationVersion,
    StatusHistory,
    TransitionEvent,
    VersionStatus,
)
from registration_fsm.domain.anomalies import history_anomalies
from registration_fsm.domain.history import STAMP_OF
from registration_fsm.testing import strategies
from registration_fsm.testing.coverage import edge_of
from registration_fsm.testing.strategies import (
    histories,
    lifecycle_paths,
    malformed_registration_api_dicts,
    malformed_version_api_dicts,
    registration_api_dicts,
    registration_statuses,
    registrations,
    transition_events,
    unknown_status_strings,
    version_api_dicts,
    version_statuses,
    versions,
)

MODEL: ServiceModel = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
VALIDATOR = ParamValidator()
#: Cheap strategies run the profile's example count; these build whole registrations.
HEAVY = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
#: For ``find``: the first example that satisfies (no shrinking) ...
NO_DB = settings(database=None, max_examples=2000, phases=[Phase.generate])
#: ... or the smallest one.
SHRINK = settings(database=None, max_examples=2000)


def validate(data: Any, shape: str) -> None:
    """botocore's own validation, plus what it leaves out: enums, patterns, lengths, ranges."""
    model = MODEL.shape_for(shape)
    report = VALIDATOR.validate(data, model)
    assert not report.has_errors(), report.generate_report()
    _check_constraints(data, model, shape)


def _check_constraints(value: Any, model: Any, path: str) -> None:
    if value is None:
        return
    meta = model.metadata
    if model.type_name == "structure":
        for name, member in model.members.items():
            _check_constraints(value.get(name), member, f"{path}.{name}")
    elif model.type_name == "list":
        for i, item in enumerate(value):
            _check_constraints(item, model.member, f"{path}[{i}]")
    elif model.type_name == "string":
        if model.enum and path.endswith("Status"):
            assert value in model.enum, f"{path}: {value!r} not in the model's enum"
        if "pattern" in meta:
            assert re.fullmatch(meta["pattern"], value), f"{path}: {value!r}"
        assert meta.get("min", 0) <= len(value) <= meta.get("max", 10**9), f"{path}: {value!r}"
    elif model.type_name in ("integer", "long"):
        assert meta.get("min", -(10**18)) <= value <= meta.get("max", 10**18), f"{path}: {value}"
    elif model.type_name == "timestamp":
        assert value.utcoffset() is not None, f"{path}: naive {value!r}"


# -- statuses -------------------------------------------------------------------


@given(version_statuses(), registration_statuses())
def test_statuses_are_known_unless_asked(version: VersionStatus, reg: RegistrationStatus) -> None:
    assert not version.is_unknown
    assert not reg.is_unknown


@given(version_statuses(include_unknown=True), registration_statuses(include_unknown=True))
def test_unknown_statuses_round_trip(version: VersionStatus, reg: RegistrationStatus) -> None:
    assert VersionStatus(version.to_api()) == version
    assert RegistrationStatus(reg.to_api()) == reg


def test_unknown_statuses_appear_when_asked() -> None:
    assert find(version_statuses(include_unknown=True), lambda s: s.is_unknown, settings=NO_DB)
    assert find(registration_statuses(include_unknown=True), lambda s: s.is_unknown)
    found = find(versions(include_unknown=True), lambda v: v.status.is_unknown, settings=NO_DB)
    assert found.anomalies == ()
    reg = find(
        registrations(include_unknown=True),
        lambda r: r.status.is_unknown and r.current_version.status.is_unknown,
        settings=NO_DB,
    )
    assert reg.invariant_violations() == []


@given(unknown_status_strings())
def test_unknown_status_strings_are_usable_and_unknown(raw: str) -> None:
    assert VersionStatus(raw).is_unknown
    assert RegistrationStatus(raw).is_unknown
    assert VersionStatus(raw).to_api() == raw


@HEAVY
@given(versions(), registrations())
def test_nothing_is_unknown_unless_asked(version: RegistrationVersion, reg: Registration) -> None:
    assert not version.status.is_unknown
    assert not reg.status.is_unknown
    assert not any(v.status.is_unknown for v in reg.versions.values())


# -- paths, histories, versions ---------------------------------------------------


@given(version_statuses().flatmap(lambda s: st.tuples(st.just(s), lifecycle_paths(s))))
def test_paths_are_legal_chains_from_draft(
    case: tuple[VersionStatus, tuple[Edge, ...]],
) -> None:
    goal, path = case
    current = VersionStatus.DRAFT
    for step in path:
        assert step in LIFECYCLE.edges_from(current), f"{step} does not leave {current}"
        current = step.dest
    assert current == goal


@pytest.mark.parametrize("goal", list(VersionStatus), ids=str)
def test_paths_shrink_to_the_shortest(goal: VersionStatus) -> None:
    shortest = LIFECYCLE.shortest_path(VersionStatus.DRAFT, goal)
    assert shortest is not None
    found = find(lifecycle_paths(goal), lambda p: True, settings=SHRINK)
    assert len(found) == len(shortest)


@given(version_statuses().flatmap(lambda s: st.tuples(st.just(s), histories(s))))
def test_histories_are_consistent_with_their_status(
    case: tuple[VersionStatus, StatusHistory],
) -> None:
    status, history = case
    assert history_anomalies(status, history) == ()
    stamps = [t for _, t in history.items()]
    assert all(t.tzinfo is UTC for t in stamps)
    assert history.draft == min(stamps)


@given(versions(include_unknown=True))
def test_versions_have_no_anomalies_and_round_trip(version: RegistrationVersion) -> None:
    assert version.anomalies == ()
    again = RegistrationVersion.from_api(
        version.to_api(),
        registration_id=version.registration_id,
        registration_arn=version.registration_arn,
    )
    assert again == version


@given(
    version_statuses().flatmap(lambda s: st.tuples(st.just(s), versions(s, registration_id=REG_ID)))
)
def test_versions_reach_the_status_asked_for(
    case: tuple[VersionStatus, RegistrationVersion],
) -> None:
    status, version = case
    assert version.status == status
    assert version.registration_id == REG_ID
    stamp = STAMP_OF[status]
    assert stamp is None or version.history.get(stamp) is not None


def test_denied_versions_may_carry_reasons_and_feedback() -> None:
    found = find(
        versions(VersionStatus.DENIED),
        lambda v: bool(v.denied_reasons) and v.feedback is not None,
        settings=NO_DB,
    )
    assert found.anomalies == ()


# -- registrations -------------------------------------------------------------------


@HEAVY
@given(registrations(include_unknown=True))
def test_registrations_keep_their_invariants(reg: Registration) -> None:
    assert reg.invariant_violations() == []
    assert sorted(reg.versions) == list(range(1, len(reg.versions) + 1))
    assert 1 <= len(reg.versions) <= 4
    again = Registration.from_api(reg.to_api(), reg.versions_to_api())
    assert again == reg
    assert again.anomalies == ()


def test_registrations_reach_archived_versions() -> None:
    """An older approval is archived by a newer one, as the aggregate does."""
    found = find(
        registrations(),
        lambda r: r.versions[1].status == VersionStatus.ARCHIVED,
        settings=NO_DB,
    )
    assert found.invariant_violations() == []


# -- API-shaped dicts ------------------------------------------------------------------


@given(version_api_dicts(include_unknown=False))
def test_version_information_is_valid_for_botocore(data: dict[str, Any]) -> None:
    validate(data, "RegistrationVersionInformation")
    version = RegistrationVersion.from_api(data, registration_id=REG_ID, registration_arn=REG_ARN)
    assert version.anomalies == ()


@given(version_api_dicts(shape="result"))
def test_version_results_are_valid_for_botocore(data: dict[str, Any]) -> None:
    validate(data, "CreateRegistrationVersionResult")
    validate(data, "DiscardRegistrationVersionResult")
    assert RegistrationVersion.from_api(data).to_result() == data


@HEAVY
@given(registration_api_dicts())
def test_registration_dicts_are_valid_for_botocore(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    info, versions_ = case
    validate(info, "RegistrationInformation")
    validate({"Registrations": [info]}, "DescribeRegistrationsResult")
    validate(
        {
            "RegistrationArn": info["RegistrationArn"],
            "RegistrationId": info["RegistrationId"],
            "RegistrationVersions": versions_,
        },
        "DescribeRegistrationVersionsResult",
    )
    numbers = [v["VersionNumber"] for v in versions_]
    assert numbers == sorted(numbers, reverse=True), "newest first, as the API lists"
    assert Registration.from_api(info, versions_).anomalies == ()


@given(malformed_version_api_dicts())
def test_malformed_version_information_names_its_field(case: tuple[dict[str, Any], str]) -> None:
    data, field = case
    with pytest.raises(InvalidApiData) as err:
        RegistrationVersion.from_api(data, registration_id=REG_ID, registration_arn=REG_ARN)
    assert err.value.field == field


@given(malformed_version_api_dicts(shape="result"))
def test_malformed_version_results_name_their_field(case: tuple[dict[str, Any], str]) -> None:
    data, field = case
    with pytest.raises(InvalidApiData) as err:
        RegistrationVersion.from_api(data)
    assert err.value.field == field


@HEAVY
@given(malformed_registration_api_dicts())
def test_malformed_registrations_name_their_field(case: tuple[dict[str, Any], Any, str]) -> None:
    info, versions_, field = case
    with pytest.raises(InvalidApiData) as err:
        Registration.from_api(info, versions_)
    assert err.value.field == field


@pytest.mark.parametrize(
    "field",
    [
        "VersionNumber",
        "RegistrationVersionStatus",
        "RegistrationVersionStatusHistory",
        "RegistrationVersionStatusHistory.DraftTimestamp",
        "DeniedReasons",
        "Feedback",
        "RegistrationId",
        "RegistrationArn",
    ],
)
def test_every_version_field_gets_broken(field: str) -> None:
    """The fuzzing reaches each member (not only the easiest one)."""
    found = find(
        malformed_version_api_dicts(shape="result"), lambda c: c[1] == field, settings=NO_DB
    )
    with pytest.raises(InvalidApiData) as err:
        RegistrationVersion.from_api(found[0])
    assert err.value.field == field


def test_values_shrink_to_the_simplest() -> None:
    version = find(versions(), lambda v: True, settings=SHRINK)
    assert (version.number, version.status) == (1, VersionStatus.DRAFT)
    assert version.history.items() == [("DraftTimestamp", strategies.EPOCH)]
    assert version.registration_id == f"registration-{0:032x}"
    reg = find(registrations(), lambda r: len(r.versions) == 2, settings=SHRINK)
    shortest = LIFECYCLE.shortest_path(VersionStatus.DRAFT, reg.versions[1].status)
    assert shortest is not None
    assert len(reg.versions[1].history.items()) == len(shortest) + 1
    assert reg.versions[2].status == VersionStatus.DRAFT


# -- events -------------------------------------------------------------------------------


@given(transition_events())
def test_events_are_lifecycle_edges_and_round_trip(event: TransitionEvent) -> None:
    assert edge_of(event) in LIFECYCLE.edges
    assert TransitionEvent.from_dict(event.to_dict()) == event


@pytest.mark.parametrize("trigger", ["create", *LIFECYCLE.moving_triggers])
def test_events_of_one_trigger(trigger: str) -> None:
    @settings(max_examples=10)
    @given(transition_events(trigger=trigger))
    def check(event: TransitionEvent) -> None:
        assert event.trigger == trigger
        assert edge_of(event) in LIFECYCLE.edges

    check()


@given(transition_events(include_create=False))
def test_events_without_create(event: TransitionEvent) -> None:
    assert event.source is not None


# -- from_type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        VersionStatus,
        RegistrationStatus,
        StatusHistory,
        RegistrationVersion,
        Registration,
        TransitionEvent,
        DeniedReason,
        Edge,
        LifecyclePolicy,
    ],
    ids=lambda c: c.__name__,
)
def test_from_type_builds_every_public_type(cls: type[Any]) -> None:
    @settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_type(cls))
    def check(value: Any) -> None:
        assert isinstance(value, cls)
        if isinstance(value, RegistrationVersion):
            assert value.anomalies == ()
        if isinstance(value, Registration):
            assert value.invariant_violations() == []
        if isinstance(value, VersionStatus | RegistrationStatus):
            assert not value.is_unknown
        if isinstance(value, Edge):
            assert value in LIFECYCLE.edges

    check()


#: Deterministic ``find``: the same strategy gives the same minimal example.
SAME = settings(database=None, derandomize=True, max_examples=500)


def test_register_is_idempotent() -> None:
    from registration_fsm.testing import register_strategies

    """Hypothesis already ran the entry point; registering again (twice) changes nothing:
    ``from_type`` still gives the library's own strategies, drawing the same values."""
    before = find(st.from_type(Registration), lambda r: len(r.versions) > 1, settings=SAME)
    register_strategies()
    register_strategies()
    after = find(st.from_type(Registration), lambda r: len(r.versions) > 1, settings=SAME)
    assert after == before
    assert after.invariant_violations() == []
    assert find(st.from_type(Edge), lambda e: True, settings=SAME) in LIFECYCLE.edges


# -- the docstrings' examples run ----------------------------------------------------------

PUBLIC_STRATEGIES = [
    name
    for name in strategies.__all__
    if callable(getattr(strategies, name)) and name not in ("REGISTRATION_TYPES",)
]


@pytest.mark.parametrize("name", PUBLIC_STRATEGIES)
def test_every_strategy_documents_a_running_example(name: str) -> None:
    doc = inspect.getdoc(getattr(strategies, name)) or ""
    assert "Example::" in doc, f"{name} has no example"
    example = textwrap.dedent(doc.split("Example::", 1)[1]).strip("\n")
    namespace: dict[str, Any] = {
        **{n: getattr(strategies, n) for n in strategies.__all__},
        "given": given,
        "settings": settings,
        "st": st,
        "re": re,
        "pytest": pytest,
        "UTC": UTC,
        "datetime": datetime,
        "VersionStatus": VersionStatus,
        "RegistrationStatus": RegistrationStatus,
        "RegistrationVersion": RegistrationVersion,
        "Registration": Registration,
        "TransitionEvent": TransitionEvent,
        "DeniedReason": DeniedReason,
        "InvalidApiData": InvalidApiData,
    }
    exec(compile(example, f"{name} docstring", "exec"), namespace)
    test = namespace.get("test")
    if test is not None:
        settings(max_examples=5, suppress_health_check=[HealthCheck.too_slow])(test)()


# -- optional dependency ------------------------------------------------------------------


def test_the_core_and_the_kit_import_without_hypothesis() -> None:
    code = """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "hypothesis":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
        import registration_fsm, registration_fsm.testing
        import registration_fsm.testing.coverage, registration_fsm.testing.pytest_plugin
        print(len(registration_fsm.LIFECYCLE.edges))
        try:
            registration_fsm.testing.RegistrationLifecycleMachine
        except ImportError as err:
            print(type(err).__name__, err)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    edges, error = result.stdout.strip().splitlines()
    assert edges == str(len(LIFECYCLE.edges))
    assert error.startswith("MissingDependency")
    assert "registration-fsm[testing]" in error


FROM_TYPE = """
    import sys
    import hypothesis.strategies as st
    print("hooked:", "registration_fsm" in sys.modules)
    from registration_fsm import Registration
    registration = st.from_type(Registration).example()
    print(type(registration).__name__, registration.invariant_violations())
"""


def _from_type_in_a_fresh_interpreter(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(FROM_TYPE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def test_strategies_are_registered_through_hypothesis_entry_point() -> None:
    """``st.from_type(Registration)`` works with no import of ``registration_fsm.testing``:
    hypothesis runs the package's ``hypothesis`` entry point when it is imported."""
    (entry,) = [
        e
        for e in importlib.metadata.entry_points(group="hypothesis")
        if e.name == "registration_fsm"
    ]
    assert entry.value.startswith("registration_fsm.testing."), entry.value
    result = _from_type_in_a_fresh_interpreter()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hooked: True", "Registration []"]


def test_the_entry_point_is_what_registers_them() -> None:
    """With hypothesis's plugins off, importing hypothesis loads nothing of the library."""
    result = _from_type_in_a_fresh_interpreter(HYPOTHESIS_NO_PLUGINS="1")
    assert result.stdout.splitlines()[:1] == ["hooked: False"], result.stderr
