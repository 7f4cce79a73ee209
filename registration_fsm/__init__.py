"""registration_fsm: a typed model of the AWS SMS registration lifecycle.

The lifecycle of registrations and registration versions (boto3 service
``pinpoint-sms-voice-v2``) as one declarative table, models that fire
timestamped transitions, a guarded discard, and exact API round-trips.
"""

from registration_fsm.domain.anomalies import Anomaly
from registration_fsm.domain.events import EventCause, TransitionEvent
from registration_fsm.domain.guards import (
    DEFAULT_DISCARD_POLICY,
    DiscardPolicy,
    FailedGuard,
    Guard,
    GuardContext,
)
from registration_fsm.domain.history import StatusHistory
from registration_fsm.domain.lifecycle import LIFECYCLE, Cause, Transition
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.version import DeniedReason, RegistrationVersion
from registration_fsm.errors import (
    ClockError,
    ConflictError,
    DiscardNotAllowed,
    InvalidApiData,
    InvalidArgument,
    RegistrationError,
    SubscriberError,
    TransitionNotAllowed,
    UnknownTrigger,
)

__all__ = [
    "DEFAULT_DISCARD_POLICY",
    "LIFECYCLE",
    "Anomaly",
    "Cause",
    "ClockError",
    "ConflictError",
    "DeniedReason",
    "DiscardNotAllowed",
    "DiscardPolicy",
    "EventCause",
    "FailedGuard",
    "Guard",
    "GuardContext",
    "InvalidApiData",
    "InvalidArgument",
    "Registration",
    "RegistrationError",
    "RegistrationStatus",
    "RegistrationVersion",
    "StatusHistory",
    "SubscriberError",
    "Transition",
    "TransitionEvent",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "VersionStatus",
]
