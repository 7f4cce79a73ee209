"""The local emulator, for tests and demos: an unmodified boto3 client can talk to it.

::

    from registration_fsm.emulator import serve

    with serve() as url:
        sms = boto3.client("pinpoint-sms-voice-v2", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        sms.create_registration(RegistrationType="US_TEN_DLC_BRAND_REGISTRATION")

``serve(api=None, host="127.0.0.1", port=0, faults=None)`` serves an
:class:`EmulatedRegistrationApi` in a background thread and yields its URL;
``run_forever`` serves in the foreground. ``api.advance(id, "approve")`` (or the
``RegistrationFsmEmulator.Advance`` target over HTTP) plays AWS's part.
"""

from registration_fsm.adapters.emulator import (
    EmulatedRegistrationApi,
    EmulatorServer,
    Faults,
    advance_triggers,
    dispatch,
    error_response,
    run_forever,
    serve,
)

__all__ = [
    "EmulatedRegistrationApi",
    "EmulatorServer",
    "Faults",
    "advance_triggers",
    "dispatch",
    "error_response",
    "run_forever",
    "serve",
]
