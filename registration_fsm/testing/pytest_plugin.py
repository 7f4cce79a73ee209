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

The strategies of :mod:`registration_fsm.testing.strategies` are registered for
``st.from_type`` by hypothesis itself, through the package's ``hypothesis`` entry
point, not by this plugin. Importing this module imports neither boto3 nor
hypothesis. Disable the plugin with ``-p no:registration_fsm``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.emulator import EmulatedRegistrationApi

__all__ = [
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
    from registration_fsm.emulator import EmulatedRegistrationApi

    return EmulatedRegistrationApi(seed=0)


@pytest.fixture
def registration_emulator_url(registration_emulator: EmulatedRegistrationApi) -> Iterator[str]:
    """``registration_emulator`` served over HTTP; yields ``http://127.0.0.1:<port>``."""
    from registration_fsm.emulator import serve

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
