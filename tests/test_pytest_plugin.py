"""The pytest plugin: fixtures for the emulator, its URL and a boto3 client, loaded through
the ``pytest11`` entry point; nothing optional imported until a fixture needs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from registration_fsm import Registration
from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.testing import ConformanceTarget, check_adapter_conformance

pytest_plugins = ["pytester"]

REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"


# -- the fixtures, used directly by this suite -----------------------------------------------


def test_emulator_fixture_is_fresh_and_seeded(
    registration_emulator: EmulatedRegistrationApi,
) -> None:
    assert dict(registration_emulator.calls) == {}
    created = registration_emulator.create_registration(REG_TYPE)
    again = EmulatedRegistrationApi(seed=0).create_registration(REG_TYPE)
    assert created["RegistrationId"] == again["RegistrationId"]


def test_boto3_client_talks_to_the_served_emulator(
    registration_boto3_client: Any,
    registration_emulator: EmulatedRegistrationApi,
    registration_emulator_url: str,
) -> None:
    assert registration_emulator_url.startswith("http://127.0.0.1:")
    assert registration_boto3_client.meta.endpoint_url == registration_emulator_url
    config = registration_boto3_client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert config.region_name == "us-east-1"
    reg = registration_boto3_client.create_registration(RegistrationType=REG_TYPE)
    registration_boto3_client.submit_registration_version(RegistrationId=reg["RegistrationId"])
    registration_emulator.advance(reg["RegistrationId"], "begin_review")
    registration_emulator.advance(reg["RegistrationId"], "approve")
    (info,) = registration_boto3_client.describe_registrations()["Registrations"]
    assert info["RegistrationStatus"] == "COMPLETE"
    assert registration_emulator.calls["CreateRegistration"] == 1


def test_registration_api_is_the_boto3_adapter(
    registration_api: Boto3RegistrationApi, registration_emulator: EmulatedRegistrationApi
) -> None:
    created = registration_api.create_registration(REG_TYPE)
    versions = list(registration_api.describe_registration_versions(created["RegistrationId"]))
    assert Registration.from_api(created, versions).anomalies == ()
    assert registration_emulator.calls["CreateRegistration"] == 1


def test_the_fixtures_pass_one_conformance_scenario(
    registration_api: Boto3RegistrationApi, registration_emulator: EmulatedRegistrationApi
) -> None:
    """A served emulator is one target; the suite's own factory makes a fresh one per scenario,
    so this runs the scenario that tolerates a shared API."""
    target = ConformanceTarget(api=registration_api, advance=registration_emulator.advance)
    report = check_adapter_conformance(lambda: target, scenarios=["review_deny_then_approve"])
    assert report.ok, str(report)


# -- the plugin as users get it: a fresh pytest run ----------------------------------------------

USER_TESTS = """
    import sys

    from registration_fsm import Registration


    def test_in_memory(registration_emulator):
        reg = registration_emulator.create_registration("US_TOLL_FREE_REGISTRATION")
        registration_emulator.submit_registration_version(reg["RegistrationId"])
        registration_emulator.advance(reg["RegistrationId"], "begin_review")
        (info,) = registration_emulator.describe_registrations()
        assert info["RegistrationStatus"] == "REVIEWING"


    def test_over_http(registration_boto3_client, registration_emulator):
        reg = registration_boto3_client.create_registration(
            RegistrationType="US_TOLL_FREE_REGISTRATION"
        )
        versions = registration_boto3_client.describe_registration_versions(
            RegistrationId=reg["RegistrationId"]
        )["RegistrationVersions"]
        assert Registration.from_api(reg, versions).anomalies == ()
        assert registration_emulator.calls["CreateRegistration"] == 1


    def test_adapter(registration_api):
        created = registration_api.create_registration("US_TOLL_FREE_REGISTRATION")
        assert created["RegistrationStatus"] == "CREATED"
"""


def test_a_users_tests_get_the_fixtures_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kit_user_fixtures=textwrap.dedent(USER_TESTS))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kit_user_fixtures=textwrap.dedent(USER_TESTS))
    result = pytester.runpytest("-p", "no:registration_fsm", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*fixture 'registration_emulator*' not found*"])


def test_a_machine_test_case_fails_under_pytest_when_an_edge_is_missed(
    pytester: pytest.Pytester,
) -> None:
    """``Machine.TestCase`` collected by pytest: coverage is checked once, after the run."""
    pytester.makepyfile(
        test_kit_machine_coverage=textwrap.dedent(
            """
            from hypothesis import HealthCheck, settings
            from registration_fsm import Edge, VersionStatus as V
            from registration_fsm.testing import RegistrationLifecycleMachine

            class NoRevoke(RegistrationLifecycleMachine):
                disabled_triggers = frozenset({"revoke"})
                required_edges = frozenset({Edge(V.APPROVED, "revoke", V.REVOKED)})

            class Covered(RegistrationLifecycleMachine):
                required_edges = frozenset({Edge(None, "create", V.DRAFT)})

            FAST = settings(max_examples=3, stateful_step_count=5, deadline=None,
                            database=None, suppress_health_check=list(HealthCheck))
            NoRevoke.TestCase.settings = FAST
            Covered.TestCase.settings = FAST
            TestNoRevoke = NoRevoke.TestCase
            TestCovered = Covered.TestCase
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*CoverageError*", "*APPROVED --revoke--> REVOKED*"])


# -- optional dependencies --------------------------------------------------------------------


def test_importing_the_plugin_imports_nothing_optional() -> None:
    code = (
        "import sys, registration_fsm.testing.pytest_plugin\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'hypothesis') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_boto3_and_before_hypothesis(pytester: pytest.Pytester) -> None:
    """A fresh session (subprocess) with boto3 blocked: the boto3 fixtures skip, the rest
    run; hypothesis is first imported by a test module, and ``st.from_type`` already
    knows the library's types there."""
    pytester.makeconftest(
        textwrap.dedent(
            """
            import sys

            class Block:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] in {"boto3", "botocore"}:
                        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

            assert "boto3" not in sys.modules, "the plugin imported boto3"
            assert "hypothesis" not in sys.modules, "the plugin imported hypothesis"
            sys.meta_path.insert(0, Block())
            """
        )
    )
    pytester.makepyfile(
        test_kit_user_fixtures=textwrap.dedent(USER_TESTS),
        test_kit_from_type=textwrap.dedent(
            """
            import sys

            assert "hypothesis" not in sys.modules
            from hypothesis import given, settings, strategies as st

            from registration_fsm import Registration, RegistrationVersion

            @settings(max_examples=5, deadline=None)
            @given(st.from_type(RegistrationVersion), st.from_type(Registration))
            def test_from_type(version, registration):
                assert version.anomalies == ()
                assert registration.invariant_violations() == []
            """
        ),
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*the aws extra (boto3) is not installed*"])
