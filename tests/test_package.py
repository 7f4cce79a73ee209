"""The package surface: exported names, no import-time work, optional dependencies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import registration_fsm

PUBLIC = {
    "VersionStatus", "RegistrationStatus", "StatusHistory", "RegistrationVersion",
    "Registration", "LIFECYCLE", "TransitionEvent", "TransitionNotAllowed",
    "DiscardNotAllowed", "InvalidApiData", "RegistrationError",
}  # fmt: skip


def test_public_names_are_exported_once() -> None:
    exported = registration_fsm.__all__
    assert set(exported) >= PUBLIC
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert getattr(registration_fsm, name) is not None


def test_every_error_is_a_registration_error() -> None:
    from registration_fsm import errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, registration_fsm.RegistrationError), cls


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )


def test_core_imports_without_optional_dependencies_and_does_no_work() -> None:
    result = _run(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"boto3", "botocore", "graphviz", "hypothesis"}:
                    raise ImportError(f"blocked {name}")
        sys.meta_path.insert(0, Block())
        import registration_fsm, registration_fsm.adapters, registration_fsm.ports
        assert "transitions" not in sys.modules, "the rulebook is built on first use"
        r = registration_fsm.Registration.new("registration-1", "arn:x", "T")
        r.fire("submit")
        assert "transitions" in sys.modules
        print(r.current_version.status)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SUBMITTED"
