"""pytest plugin of the testing kit, registered through the ``pytest11`` entry point.

Fixtures (function-scoped; override any of them in your ``conftest.py``):

- ``registration_emulator``: a fresh in-memory
  :class:`~registration_fsm.emulator.EmulatedRegistrationApi` (seeded: the same
  ids in every test). ``registration_emulator.advance(id, "approve")`` plays AWS's part.
- ``registration_emulator_url``: ``registration_emulator`` served over HTTP on
  127.0.0.1 (a free port); the server stops after the test.
- ``registration_boto3_client``: a boto3 ``pinpoint-sms-voice-v2`` client wired to
  that URL: region us-east-1, dummy credentials, standard retry mode with 2
  attempts, short timeouts. Tests using it are skipped when boto3 is not installed.
- ``registration_api``: a :class:`~registration_fsm.adapters.Boto3RegistrationApi`
  around that client (the real adapter, talking HTTP to the emulator).

When a test session imports hypothesis, the plugin registers the strategies of
:mod:`registration_fsm.testing.strategies` for ``st.from_type`` (right after the
import, before any test module uses them). Importing this module imports neither
boto3 nor hypothesis. Disable the plugin
with ``-p no:registration_fsm``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.adapters.emulator import EmulatedRegistrationApi

__all__ = [
    "pytest_configure",
    "pytest_unconfigure",
    "registration_api",
    "registration_boto3_client",
    "registration_emulator",
    "registration_emulator_url",
]

#: The client settings of ``registration_boto3_client``.
REGION = "us-east-1"
MAX_ATTEMPTS = 2
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0


@pytest.fixture
def registration_emulator() -> EmulatedRegistrationApi:
    """A fresh in-memory emulator of the registration API (seed 0: reproducible ids)."""
    from registration_fsm.adapters.emulator import EmulatedRegistrationApi

    return EmulatedRegistrationApi(seed=0)


@pytest.fixture
def registration_emulator_url(registration_emulator: EmulatedRegistrationApi) -> Iterator[str]:
    """``registration_emulator`` served over HTTP; yields ``http://127.0.0.1:<port>``."""
    from registration_fsm.adapters.emulator import serve

    with serve(registration_emulator) as url:
        yield url


_SESSIONS: list[Any] = []


def _session() -> Any:
    """One boto3 session for every client the plugin makes (it caches the service model)."""
    boto3 = pytest.importorskip("boto3", reason="the aws extra (boto3) is not installed")
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


@pytest.fixture
def registration_boto3_client(registration_emulator_url: str) -> Iterator[PinpointSMSVoiceV2Client]:
    """A boto3 client for the served emulator: standard retries, 2 attempts, dummy keys.

    Skips the test when boto3 is not installed (``pip install 'registration-fsm[aws]'``).
    """
    session = _session()
    from botocore.config import Config

    client: PinpointSMSVoiceV2Client = session.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=registration_emulator_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token=None,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        ),
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def registration_api(
    registration_boto3_client: PinpointSMSVoiceV2Client,
) -> Boto3RegistrationApi:
    """The boto3 adapter around ``registration_boto3_client`` (real HTTP to the emulator)."""
    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi

    return Boto3RegistrationApi(registration_boto3_client)


def pytest_configure() -> None:
    """Register the strategies for ``st.from_type`` once hypothesis is imported.

    ``st.from_type`` resolves when a test module is imported, so registration must
    come first: now if hypothesis is already imported (by a conftest), else right
    after the session's first ``import hypothesis`` (a one-shot import hook).
    A session that never imports hypothesis never imports it because of this plugin.
    """
    if "hypothesis" in sys.modules:
        _register_strategies()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("hypothesis", _register_strategies))


def pytest_unconfigure() -> None:
    """Remove the import hook if hypothesis was never imported."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterImport)]


def _register_strategies() -> None:
    try:
        from registration_fsm.testing import strategies
    except ImportError:  # pragma: no cover - a broken hypothesis install
        return
    strategies.register()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``callback`` once, just after the module ``name`` has been imported."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,  # noqa: ARG002 - the finder protocol's signature
        target: ModuleType | None = None,  # noqa: ARG002
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenCall(spec.loader, self.callback)
        return spec


class _ThenCall(importlib.abc.Loader):
    """A loader that executes the module with ``inner``, then calls ``callback``."""

    def __init__(self, inner: importlib.abc.Loader, callback: Callable[[], None]) -> None:
        self._inner = inner
        self._callback = callback

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._callback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
