"""The emulator of the registration API: in memory, and over HTTP for an unmodified boto3.

::

    from registration_fsm import EmulatedRegistrationApi, EmulatorClient, serve

    emulator = EmulatedRegistrationApi()
    with serve(emulator) as url:
        sms = boto3.client("pinpoint-sms-voice-v2", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        reg = sms.create_registration(RegistrationType="US_TEN_DLC_BRAND_REGISTRATION")
        EmulatorClient(url).advance(reg["RegistrationId"], "begin_review")  # AWS's part

- :class:`EmulatedRegistrationApi` (:mod:`.api`): the API in memory; it implements
  the ``RegistrationApi`` port, answers page-level requests, plays AWS's part with
  :meth:`~EmulatedRegistrationApi.advance` and runs raw requests with ``handle``.
- :func:`serve` / :func:`run_forever` / :class:`EmulatorServer` (:mod:`.http`): AWS
  JSON 1.0 on a local port, with seeded :class:`Faults`.
- :class:`EmulatorClient` (:mod:`.client`): the control target of a served
  emulator (``advance``, ``calls``) from another process.
- :mod:`.wire`: :func:`dispatch`, :func:`error_response` and the JSON codecs.

Choices made where AWS is silent: ``docs/emulator.md``.
"""

from registration_fsm.emulator.api import IDS_PER_REQUEST, EmulatedRegistrationApi
from registration_fsm.emulator.client import EmulatorClient
from registration_fsm.emulator.http import (
    MAX_BODY_BYTES,
    EmulatorServer,
    FaultDecision,
    Faults,
    run_forever,
    serve,
)
from registration_fsm.emulator.validation import OPERATIONS
from registration_fsm.emulator.wire import (
    decode_json,
    dispatch,
    dispatch_control,
    encode_json,
    error_response,
)

__all__ = [
    "IDS_PER_REQUEST",
    "MAX_BODY_BYTES",
    "OPERATIONS",
    "EmulatedRegistrationApi",
    "EmulatorClient",
    "EmulatorServer",
    "FaultDecision",
    "Faults",
    "decode_json",
    "dispatch",
    "dispatch_control",
    "encode_json",
    "error_response",
    "run_forever",
    "serve",
]
