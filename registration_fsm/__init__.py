"""registration_fsm: a typed model of the AWS SMS registration lifecycle.

One import surface for everything a user needs::

    from registration_fsm import (
        Registration, LIFECYCLE, LifecyclePolicy,         # the domain
        Synchronizer, MemoryStore, SQLiteStore,           # keeping local state
        PostgresStore, Shard, Worker, FleetConfig,        # many accounts, many workers
        Boto3RegistrationApi, EmulatedRegistrationApi,    # the API, real or emulated
        serve, EmulatorClient,                            # the emulator over HTTP
        Quotas, EventFollower, SqsEventSource,            # quotas, events from AWS
        Catalog, FieldValues, fill_form,                  # registration forms
        CommandRefused, ConflictError, ApiError,          # the error tree
    )

The domain and the errors are imported with the package; everything else on
first use, so ``import registration_fsm`` imports neither boto3 nor hypothesis
(nor sqlite3, nor http.server). Subpackages stay importable for advanced use:
``domain``, ``emulator``, ``adapters``, ``store``, ``sync``, ``audit``,
``diagrams``, ``fleet``, ``testing``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from registration_fsm.domain.anomalies import Anomaly
from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.forms import (
    Catalog,
    FieldChange,
    FieldDefinition,
    FieldValue,
    FieldValues,
    RegistrationTypeDefinition,
)
from registration_fsm.domain.guards import require_actor, require_metadata, require_reason
from registration_fsm.domain.history import StatusHistory
from registration_fsm.domain.lifecycle import (
    DEFAULT_POLICY,
    EDGES,
    LIFECYCLE,
    REGISTRATION_EDGES,
    TRIGGERS,
    Edge,
    Initiator,
    Lifecycle,
    LifecyclePolicy,
    RegistrationEdge,
    Trigger,
)
from registration_fsm.domain.parsing import check_registration_id
from registration_fsm.domain.registration import Guard, GuardContext, Registration
from registration_fsm.domain.shard import Shard
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.version import DeniedReason, RegistrationVersion
from registration_fsm.errors import (
    AccessDeniedError,
    AmbiguousRegistrationId,
    ApiError,
    ApiUnavailable,
    ApiValidationError,
    ClockError,
    CommandRefused,
    ConflictError,
    InternalServerError,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    InvalidEvent,
    InvalidRegistrationId,
    LeaseLost,
    MissingDependency,
    NotFoundError,
    NotTracked,
    Refusal,
    RegistrationError,
    ServiceQuotaExceededError,
    StaleWrite,
    StatusUnreachable,
    StoreError,
    SubscriberError,
    ThrottledError,
    UnknownDetail,
    UnknownField,
    UnknownRegistrationType,
    UnknownTrigger,
    WaitTimeout,
)

if TYPE_CHECKING:
    from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
    from registration_fsm.adapters.sqs import SqsEventSource
    from registration_fsm.emulator import (
        EmulatedRegistrationApi,
        EmulatorClient,
        EmulatorServer,
        Faults,
        run_forever,
        serve,
    )
    from registration_fsm.emulator.forms import AccountLimits, FormRules
    from registration_fsm.fleet import FleetConfig, Worker
    from registration_fsm.ports import FormsApi, RegistrationApi
    from registration_fsm.quotas import DEFAULT_QUOTAS, Quotas
    from registration_fsm.store import (
        MemoryStore,
        PostgresStore,
        SQLiteStore,
        Store,
        StoredRegistration,
        open_store,
    )
    from registration_fsm.sync import SyncAnomaly, Synchronizer, SyncReport
    from registration_fsm.sync.events import EventFollower, JsonLinesSource
    from registration_fsm.sync.forms import capture_catalog, fill_form, read_field_values

#: Names imported on first use, and the module each lives in.
_LAZY: dict[str, str] = {
    "Boto3RegistrationApi": "registration_fsm.adapters.boto3_api",
    "SqsEventSource": "registration_fsm.adapters.sqs",
    "EventFollower": "registration_fsm.sync.events",
    "JsonLinesSource": "registration_fsm.sync.events",
    "EmulatedRegistrationApi": "registration_fsm.emulator",
    "EmulatorClient": "registration_fsm.emulator",
    "EmulatorServer": "registration_fsm.emulator",
    "Faults": "registration_fsm.emulator",
    "run_forever": "registration_fsm.emulator",
    "serve": "registration_fsm.emulator",
    "AccountLimits": "registration_fsm.emulator.forms",
    "FormRules": "registration_fsm.emulator.forms",
    "FormsApi": "registration_fsm.ports",
    "RegistrationApi": "registration_fsm.ports",
    "capture_catalog": "registration_fsm.sync.forms",
    "fill_form": "registration_fsm.sync.forms",
    "read_field_values": "registration_fsm.sync.forms",
    "DEFAULT_QUOTAS": "registration_fsm.quotas",
    "Quotas": "registration_fsm.quotas",
    "FleetConfig": "registration_fsm.fleet",
    "Worker": "registration_fsm.fleet",
    "MemoryStore": "registration_fsm.store",
    "PostgresStore": "registration_fsm.store",
    "open_store": "registration_fsm.store",
    "SQLiteStore": "registration_fsm.store",
    "Store": "registration_fsm.store",
    "StoredRegistration": "registration_fsm.store",
    "SyncAnomaly": "registration_fsm.sync",
    "SyncReport": "registration_fsm.sync",
    "Synchronizer": "registration_fsm.sync",
}


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_QUOTAS",
    "EDGES",
    "LIFECYCLE",
    "REGISTRATION_EDGES",
    "TRIGGERS",
    "AccessDeniedError",
    "AccountLimits",
    "AmbiguousRegistrationId",
    "Anomaly",
    "ApiError",
    "ApiUnavailable",
    "ApiValidationError",
    "Boto3RegistrationApi",
    "Catalog",
    "ClockError",
    "CommandRefused",
    "ConflictError",
    "DeniedReason",
    "Edge",
    "EmulatedRegistrationApi",
    "EmulatorClient",
    "EmulatorServer",
    "EventFollower",
    "Faults",
    "FieldChange",
    "FieldDefinition",
    "FieldValue",
    "FieldValues",
    "FleetConfig",
    "FormRules",
    "FormsApi",
    "Guard",
    "GuardContext",
    "Initiator",
    "InternalServerError",
    "InvalidApiData",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidEvent",
    "InvalidRegistrationId",
    "JsonLinesSource",
    "LeaseLost",
    "Lifecycle",
    "LifecyclePolicy",
    "MemoryStore",
    "MissingDependency",
    "NotFoundError",
    "NotTracked",
    "Origin",
    "PostgresStore",
    "Quotas",
    "Refusal",
    "Registration",
    "RegistrationApi",
    "RegistrationEdge",
    "RegistrationError",
    "RegistrationStatus",
    "RegistrationTypeDefinition",
    "RegistrationVersion",
    "SQLiteStore",
    "ServiceQuotaExceededError",
    "Shard",
    "SqsEventSource",
    "StaleWrite",
    "StatusHistory",
    "StatusUnreachable",
    "Store",
    "StoreError",
    "StoredRegistration",
    "SubscriberError",
    "SyncAnomaly",
    "SyncReport",
    "Synchronizer",
    "ThrottledError",
    "TransitionEvent",
    "Trigger",
    "UnknownDetail",
    "UnknownField",
    "UnknownRegistrationType",
    "UnknownTrigger",
    "VersionStatus",
    "WaitTimeout",
    "Worker",
    "capture_catalog",
    "check_registration_id",
    "fill_form",
    "open_store",
    "read_field_values",
    "require_actor",
    "require_metadata",
    "require_reason",
    "run_forever",
    "serve",
]
