"""The conformance suite, lifecycle and form scenarios, against three targets.

- ``emulator``: EmulatedRegistrationApi in process.
- ``http``: Boto3RegistrationApi with a real boto3 client over HTTP to the served emulator.
- ``stubber``: Boto3RegistrationApi whose client answers through botocore's Stubber,
  fed by the emulator, so every request and response is checked against the
  installed service model.

Each emulator serves the shipped catalogue (the suite's conftest turns forms off) and
gives the account origination identities (``add_identity``), so every scenario applies.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError, StubAssertionError
from botocore.stub import Stubber

from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.domain.forms import Catalog
from registration_fsm.emulator import EmulatedRegistrationApi, wire
from registration_fsm.emulator.forms import FORM_OPERATIONS
from registration_fsm.errors import ConflictError
from registration_fsm.ports import FormsApi, RegistrationApi
from registration_fsm.testing import conformance
from registration_fsm.testing.conformance import (
    FORM_SCENARIOS,
    SCENARIOS,
    ConformanceFailed,
    ConformanceTarget,
    check_adapter_conformance,
    run_scenario,
)

#: Cached service model for every client of this module (clients are made one at a time).
SESSION = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
)


#: A fresh conformance target, as a context manager.
Target = Callable[[], AbstractContextManager[ConformanceTarget]]


def forms_emulator(**kwargs: Any) -> EmulatedRegistrationApi:
    """An emulator serving the shipped forms."""
    return EmulatedRegistrationApi(catalog=Catalog.builtin(), **kwargs)


def target_of(api: RegistrationApi, emu: EmulatedRegistrationApi, name: str) -> ConformanceTarget:
    """``api`` under test, with ``emu`` playing AWS's part (reviews, numbers bought)."""
    return ConformanceTarget(
        api=api, advance=emu.advance, name=name, add_identity=emu.add_origination_identity
    )


@pytest.fixture
def registration_emulator() -> EmulatedRegistrationApi:
    """The plugin's emulator (served by its fixtures), with the shipped forms."""
    return forms_emulator(seed=0)


@contextmanager
def emulator_target() -> Iterator[ConformanceTarget]:
    emu = forms_emulator()
    yield target_of(emu, emu, "emulator")


def http_target(request: pytest.FixtureRequest) -> Target:
    """The pytest plugin's boto3 adapter over HTTP to its served emulator: fresh for
    each test, and each test runs one scenario."""
    emu: EmulatedRegistrationApi = request.getfixturevalue("registration_emulator")
    api: Boto3RegistrationApi = request.getfixturevalue("registration_api")

    @contextmanager
    def target() -> Iterator[ConformanceTarget]:
        yield target_of(api, emu, "http")

    return target


def on_the_wire(model: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as they travel in AWS JSON: blobs as base64 text."""
    out = dict(params)
    for name, shape in model.input_shape.members.items():
        if shape.type_name == "blob" and isinstance(out.get(name), bytes):
            out[name] = base64.b64encode(out[name]).decode()
    return out


def bridge_to_emulator(client: Any, stubber: Stubber, emu: EmulatedRegistrationApi) -> None:
    """Answer each call of ``client`` through ``stubber`` with the emulator's response.

    The Stubber checks its queue on ``before-parameter-build.*.*``, which runs
    before any service-specific handler of that event; ``provide-client-params``
    is emitted just before it, with the same parameters.
    """
    methods = {op: method for method, op in client.meta.method_to_api_mapping.items()}

    def answer(model: Any, params: Mapping[str, Any], **_: Any) -> None:
        method, expected = methods[model.name], copy.deepcopy(dict(params))
        try:
            response = wire.dispatch(emu, model.name, on_the_wire(model, params))
        except Exception as err:
            status, body = wire.error_response(err)
            modeled = {k: v for k, v in body.items() if k not in ("__type", "message")}
            queue: Callable[[], None] = lambda: stubber.add_client_error(  # noqa: E731
                method,
                service_error_code=body["__type"],
                service_message=body["message"],
                http_status_code=status,
                modeled_fields=modeled or None,
                response_meta={"RequestId": f"stub-{sum(emu.calls.values())}"},
                expected_params=expected,
            )
        else:
            queue = lambda: stubber.add_response(method, response, expected_params=expected)  # noqa: E731
        try:
            queue()
        except ParamValidationError as err:
            # Not an API answer: make sure the adapter does not translate it.
            raise StubAssertionError(
                operation_name=model.name,
                reason=f"the emulator's answer breaks the service model: {err}",
            ) from err

    client.meta.events.register(
        "provide-client-params.pinpoint-sms-voice-v2.*", answer, unique_id="emulator-bridge"
    )


@contextmanager
def stubber_target() -> Iterator[ConformanceTarget]:
    emu = forms_emulator()
    client = SESSION.client(
        "pinpoint-sms-voice-v2",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    try:
        with Stubber(client) as stubber:
            bridge_to_emulator(client, stubber, emu)
            api = Boto3RegistrationApi(client)
            yield target_of(api, emu, "stubber")
            stubber.assert_no_pending_responses()
    finally:
        client.close()


TARGETS: dict[str, Target | None] = {
    "emulator": emulator_target,
    "http": None,  # from the pytest plugin's fixtures: see http_target
    "stubber": stubber_target,
}


def target_factory(target: str, request: pytest.FixtureRequest) -> Target:
    factory = TARGETS[target]
    return http_target(request) if factory is None else factory


CASES = [
    pytest.param(target, name, id=f"{target}-{name}") for target in TARGETS for name in SCENARIOS
]


@pytest.mark.parametrize(("target", "name"), CASES)
def test_scenario(target: str, name: str, request: pytest.FixtureRequest) -> None:
    not_applicable = run_scenario(name, target_factory(target, request))
    if not_applicable is not None:
        pytest.skip(not_applicable)


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_implements_the_ports(target: str, request: pytest.FixtureRequest) -> None:
    with target_factory(target, request)() as t:
        assert isinstance(t.api, RegistrationApi)
        assert isinstance(t.api, FormsApi)
        assert t.serves_forms


def test_the_runner_passes_a_conforming_adapter() -> None:
    report = check_adapter_conformance(stubber_target)
    assert report.ok
    assert set(report.passed) == set(SCENARIOS)
    assert report.not_applicable == ()


def test_the_runner_accepts_a_plain_target_factory() -> None:
    def factory() -> ConformanceTarget:
        emu = EmulatedRegistrationApi()
        return ConformanceTarget(api=emu, advance=emu.advance)

    report = check_adapter_conformance(factory, scenarios=["submit_with_aws_review"])
    assert report.passed == ("submit_with_aws_review",)


class IgnoresAwsReview:
    """A broken adapter: drops ``aws_review`` and never refuses a discard of a DRAFT."""

    def __init__(self, inner: EmulatedRegistrationApi) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def calls(self) -> Mapping[str, int]:
        return self.inner.calls

    def submit_registration_version(
        self,
        registration_id: str,
        *,
        aws_review: bool = False,  # noqa: ARG002 - the bug under test
    ) -> dict[str, Any]:
        return self.inner.submit_registration_version(registration_id)

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        versions = list(self.inner.describe_registration_versions(registration_id))
        return {"RegistrationId": registration_id} | versions[0]


def test_the_runner_reports_every_failure_of_a_broken_adapter() -> None:
    def factory() -> ConformanceTarget:
        emu = EmulatedRegistrationApi()
        return ConformanceTarget(api=IgnoresAwsReview(emu), advance=emu.advance)

    with pytest.raises(ConformanceFailed) as info:
        check_adapter_conformance(factory)
    report = info.value.report
    failed = {f.scenario for f in report.failures}
    assert {
        "submit_with_aws_review",
        "aws_review_deny_keeps_feedback",
        "discard_of_draft_or_reviewing_is_refused",
        "discard_of_submitted",
    } <= failed
    assert "create_makes_draft_version_one" in report.passed
    assert "submit_with_aws_review" in str(info.value)
    assert isinstance(info.value, AssertionError)


def test_an_unknown_scenario_is_a_clear_error() -> None:
    with pytest.raises(conformance.ConformanceError, match="unknown scenario"):
        run_scenario("no_such_scenario", emulator_target)


# -- form scenarios: who they apply to, and what they catch ---------------------------------


def test_the_form_scenarios_exercise_every_form_operation() -> None:
    emu = forms_emulator()
    report = check_adapter_conformance(
        lambda: target_of(emu, emu, "shared"), scenarios=sorted(FORM_SCENARIOS)
    )
    assert set(report.passed) == FORM_SCENARIOS
    assert set(SCENARIOS) > FORM_SCENARIOS
    assert set(FORM_OPERATIONS) <= {op for op, n in emu.calls.items() if n}


def test_form_scenarios_do_not_apply_to_a_target_without_forms() -> None:
    """No add_identity and no catalogue: the lifecycle passes, the forms are reported
    not applicable (not passed)."""

    def factory() -> ConformanceTarget:
        emu = EmulatedRegistrationApi(catalog=None)
        return ConformanceTarget(api=emu, advance=emu.advance)

    report = check_adapter_conformance(factory)
    assert report.ok
    assert set(report.passed) == set(SCENARIOS) - FORM_SCENARIOS
    assert {name for name, _ in report.not_applicable} == FORM_SCENARIOS
    assert all("no add_identity" in why for _, why in report.not_applicable)
    assert f"{len(FORM_SCENARIOS)} not applicable" in str(report)


class LifecycleOnly:
    """An adapter implementing RegistrationApi and nothing of FormsApi."""

    def __init__(self, inner: EmulatedRegistrationApi) -> None:
        self.inner = inner
        self.create_registration = inner.create_registration
        self.describe_registrations = inner.describe_registrations
        self.describe_registration_versions = inner.describe_registration_versions
        self.create_registration_version = inner.create_registration_version
        self.submit_registration_version = inner.submit_registration_version
        self.discard_registration_version = inner.discard_registration_version
        self.delete_registration = inner.delete_registration

    @property
    def calls(self) -> Mapping[str, int]:
        return self.inner.calls


def test_form_scenarios_do_not_apply_to_an_api_that_is_not_a_forms_api() -> None:
    emu = forms_emulator()
    target = target_of(LifecycleOnly(emu), emu, "lifecycle only")
    assert isinstance(target.api, RegistrationApi)
    assert not target.serves_forms
    why = run_scenario("field_values_round_trip", lambda: target)
    assert why is not None
    assert "not a FormsApi" in why
    assert emu.calls.get("CreateRegistration", 0) == 0  # nothing ran


class FormsBugs:
    """A broken forms adapter: reads the current version's values whatever version is
    asked, and answers a refused association as if it went through."""

    def __init__(self, inner: EmulatedRegistrationApi) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def calls(self) -> Mapping[str, int]:
        return self.inner.calls

    def describe_registration_field_values(
        self,
        registration_id: str,
        *,
        version_number: int | None = None,  # noqa: ARG002 - the bug under test
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        return self.inner.describe_registration_field_values(registration_id, **kwargs)

    def create_registration_association(
        self, registration_id: str, resource_id: str
    ) -> dict[str, Any]:
        try:
            return self.inner.create_registration_association(registration_id, resource_id)
        except ConflictError:
            return {"RegistrationId": registration_id, "ResourceId": resource_id}


def test_the_runner_reports_a_broken_forms_adapter() -> None:
    def factory() -> ConformanceTarget:
        emu = forms_emulator()
        return target_of(FormsBugs(emu), emu, "forms bugs")

    report = check_adapter_conformance(
        factory, scenarios=sorted(FORM_SCENARIOS), raise_on_failure=False
    )
    failed = {f.scenario for f in report.failures}
    assert failed == {"submitted_values_stay_readable", "association_is_listed_once"}
    assert "a second association with the same number: expected ConflictError" in str(report)
    assert "version 1 after editing version 2" in str(report)
