"""The conformance suite against three RegistrationApi targets.

- ``emulator``: EmulatedRegistrationApi in process.
- ``http``: Boto3RegistrationApi with a real boto3 client over HTTP to the served emulator.
- ``stubber``: Boto3RegistrationApi whose client answers through botocore's Stubber,
  fed by the emulator, so every request and response is checked against the
  installed service model.
"""

from __future__ import annotations

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
from registration_fsm.emulator import EmulatedRegistrationApi, wire
from registration_fsm.ports import RegistrationApi
from registration_fsm.testing import conformance
from registration_fsm.testing.conformance import (
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


@contextmanager
def emulator_target() -> Iterator[ConformanceTarget]:
    emu = EmulatedRegistrationApi()
    yield ConformanceTarget(api=emu, advance=emu.advance, name="emulator")


def http_target(request: pytest.FixtureRequest) -> Target:
    """The pytest plugin's boto3 adapter over HTTP to its served emulator: fresh for
    each test, and each test runs one scenario."""
    emu: EmulatedRegistrationApi = request.getfixturevalue("registration_emulator")
    api: Boto3RegistrationApi = request.getfixturevalue("registration_api")

    @contextmanager
    def target() -> Iterator[ConformanceTarget]:
        yield ConformanceTarget(api=api, advance=emu.advance, name="http")

    return target


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
            response = wire.dispatch(emu, model.name, params)
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
    emu = EmulatedRegistrationApi()
    client = SESSION.client(
        "pinpoint-sms-voice-v2",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    try:
        with Stubber(client) as stubber:
            bridge_to_emulator(client, stubber, emu)
            api = Boto3RegistrationApi(client)
            yield ConformanceTarget(api=api, advance=emu.advance, name="stubber")
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
    run_scenario(name, target_factory(target, request))


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_implements_the_port(target: str, request: pytest.FixtureRequest) -> None:
    with target_factory(target, request)() as t:
        assert isinstance(t.api, RegistrationApi)


def test_the_runner_passes_a_conforming_adapter() -> None:
    report = check_adapter_conformance(stubber_target)
    assert report.ok
    assert set(report.passed) == set(SCENARIOS)


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
