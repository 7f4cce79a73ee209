"""The in-memory emulator of the registration API and its AWS JSON 1.0 HTTP front.

- :class:`EmulatedRegistrationApi`: the API in memory (implements ``RegistrationApi``),
  plus page-level requests, :meth:`~EmulatedRegistrationApi.advance` for AWS-side
  events and :meth:`~EmulatedRegistrationApi.handle` for raw requests.
- :mod:`.wire`: :func:`dispatch`, :func:`error_response`, JSON codecs.
- :mod:`.http`: :func:`serve` (a context manager yielding the endpoint URL),
  :func:`run_forever`, :class:`Faults`.

Choices made where AWS is silent: ``docs/emulator.md``.
"""

from registration_fsm.adapters.emulator.api import IDS_PER_REQUEST, EmulatedRegistrationApi
from registration_fsm.adapters.emulator.http import (
    MAX_BODY_BYTES,
    EmulatorServer,
    FaultDecision,
    Faults,
    run_forever,
    serve,
)
from registration_fsm.adapters.emulator.validation import (
    OPERATIONS,
    RequestTooLargeError,
    SerializationError,
    UnknownOperationError,
    advance_triggers,
)
from registration_fsm.adapters.emulator.wire import (
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
    "EmulatorServer",
    "FaultDecision",
    "Faults",
    "RequestTooLargeError",
    "SerializationError",
    "UnknownOperationError",
    "advance_triggers",
    "decode_json",
    "dispatch",
    "dispatch_control",
    "encode_json",
    "error_response",
    "run_forever",
    "serve",
]
