"""EmulatedRegistrationApi: the registration API in memory, driven by the domain model.

Every change goes through :class:`~registration_fsm.domain.registration.Registration`
(``fire``, ``create_version``, ``discard``), so :data:`LIFECYCLE` stays the one
list of transitions. Requests are validated against the service model's
constraints before anything changes; a refused request changes nothing.
The choices made where AWS is silent are listed in ``docs/emulator.md``.
"""

from __future__ import annotations

import copy
import functools
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from registration_fsm.domain.events import TransitionEvent
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LIFECYCLE, LifecyclePolicy
from registration_fsm.domain.parsing import check_registration_id, check_resource_id
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.shard import Shard
from registration_fsm.domain.statuses import RegistrationStatus as R
from registration_fsm.domain.version import Clock, read_clock
from registration_fsm.emulator.events import EventEmitter, EventSink
from registration_fsm.emulator.form_methods import FormMethods
from registration_fsm.emulator.forms import (
    AccountLimits,
    CatalogSetting,
    FormDesk,
    FormRules,
    resolve_catalog,
)
from registration_fsm.emulator.pagination import (
    Pages,
    TokenSigner,
    every_item,
    registrations_page,
    versions_page,
)
from registration_fsm.emulator.validation import (
    check_advance,
    check_options,
    chunks,
    request_params,
    shown,
    validate_request,
)
from registration_fsm.errors import (
    ApiError,
    ApiValidationError,
    CommandRefused,
    ConflictError,
    InvalidArgumentType,
    NotFoundError,
    ThrottledError,
    UnknownDetail,
    UnknownOperationError,
)
from registration_fsm.pacing import TokenBucket
from registration_fsm.ports import Filter
from registration_fsm.quotas import FROM_ENVIRONMENT, QuotaSetting, rates_for

#: Registration ids (or ARNs) and version numbers a single request may carry.
IDS_PER_REQUEST = 5


@attrs.define
class _Entry:
    seq: int
    registration: Registration
    tags: tuple[tuple[str, str], ...]


@attrs.frozen
class _Token:
    fingerprint: tuple[Any, ...]
    registration_id: str
    result: dict[str, Any]


class EmulatedRegistrationApi(FormMethods):
    """An in-memory ``pinpoint-sms-voice-v2`` registration API (implements RegistrationApi).

    Args:
        region: the region in ARNs ``arn:aws:sms-voice:<region>:<account>:registration/<id>``.
        account: the account id in those ARNs.
        clock: returns aware datetimes (default: now, UTC); read once per request.
        seed: seeds the id generator (and the NextToken key) for reproducible runs.
        policy: the optional lifecycle edges in force (default: none, as AWS documents;
            ``LifecyclePolicy.allow_draft_discard()`` lets DiscardRegistrationVersion
            take a DRAFT), and which registration types an approval sends through
            PROVISIONING (default: none; ``policy.with_provisioning(*types)``).
        keep_deleted: keep deleted registrations visible with status DELETED
            (default: a deleted registration is gone; later requests get NotFound).
        default_page_size: MaxResults when a request omits it (1..100).
        registration_types: if given, CreateRegistration refuses other types
            (ApiValidationError reason UNKNOWN_REGISTRATION_TYPE).
        quotas: the request rates enforced, as AWS does (default: AWS's defaults,
            :data:`~registration_fsm.quotas.DEFAULT_QUOTAS`, with the environment's
            overrides): a :class:`~registration_fsm.quotas.Quotas`, a mapping of
            operation to requests per second laid over the defaults, or None for no
            quotas. An excess request is answered ThrottlingException ("Rate exceeded").
        burst: requests a quota's bucket holds when idle (default: one second of the
            rate, at least 1 — at AWS's 1 request per second, none saved up; AWS does
            not publish its burst).
        sleep: how the RegistrationApi methods wait for their quota (they pace
            themselves; raw :meth:`handle` requests do not). Default: a clock's
            ``advance_to`` (a virtual clock such as the testing kit's ``VirtualClock``)
            or ``sleep`` if it has one, else ``time.sleep``.
        event_sinks: where the EventBridge "Registration Status Change" event of every
            status change goes (callables given the event; more with
            :meth:`add_event_sink`); see :mod:`registration_fsm.emulator.events`.
        catalog: the registration types and their forms (default: the environment's
            ``REGISTRATION_FSM_CATALOG`` — a catalogue file or ``none`` — else the
            shipped catalogue, :meth:`Catalog.builtin`): a :class:`Catalog`, a file,
            or None for no forms (any type; nothing checked: more forgiving than AWS).
            CreateRegistration refuses a type the catalogue lacks.
        limits: the account's resource quotas (:class:`AccountLimits`).
        form_rules: the choices where AWS is silent about forms (:class:`FormRules`).

    Time for the quotas is the clock's (read once per request while quotas are on),
    or ``time.monotonic`` when no clock is given: a test on a virtual clock that
    paces itself runs at once, a burst of raw requests is throttled.

    Thread-safe: one lock serialises every request.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        clock: Clock | None = None,
        seed: int | None = None,
        policy: LifecyclePolicy = DEFAULT_POLICY,
        keep_deleted: bool = False,
        default_page_size: int = 100,
        registration_types: Collection[str] | None = None,
        quotas: QuotaSetting = FROM_ENVIRONMENT,
        burst: float | None = None,
        sleep: Callable[[float], None] | None = None,
        event_sinks: Iterable[EventSink] = (),
        catalog: CatalogSetting = FROM_ENVIRONMENT,
        limits: AccountLimits | None = None,
        form_rules: FormRules | None = None,
    ) -> None:
        check_options(
            region=region,
            account=account,
            clock=clock,
            seed=seed,
            policy=policy,
            default_page_size=default_page_size,
            registration_types=registration_types,
        )
        self.region = region
        self.account = account
        self.policy = policy
        self.keep_deleted = bool(keep_deleted)
        self.default_page_size = default_page_size
        self.registration_types = (
            None if registration_types is None else frozenset(registration_types)
        )
        self._clock = clock
        self._rng = random.Random(seed)
        self._pages = Pages(TokenSigner.for_seed(seed), default_page_size)
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._tokens: dict[str, _Token] = {}
        self._calls: Counter[str] = Counter()
        self._seq = 0
        self.quotas = rates_for(quotas, account, region)
        self._buckets = {
            op: TokenBucket(rate, max(1.0, rate) if burst is None else burst)
            for op, rate in (self.quotas or {}).items()
        }
        if sleep is not None and not callable(sleep):
            raise InvalidArgumentType(f"sleep must be callable, got {shown(sleep)}")
        clock_sleep: Callable[[float], None] = getattr(clock, "sleep", time.sleep)
        self._sleep_given = sleep
        self._sleep = sleep or clock_sleep
        self._instant: datetime | None = None
        #: Requests answered ThrottlingException, by operation.
        self.throttled: Counter[str] = Counter()
        self._events = EventEmitter(account=account, region=region, seed=seed, sinks=event_sinks)
        if limits is not None and not isinstance(limits, AccountLimits):
            raise InvalidArgumentType(f"limits must be an AccountLimits, got {shown(limits)}")
        if form_rules is not None and not isinstance(form_rules, FormRules):
            raise InvalidArgumentType(f"form_rules must be a FormRules, got {shown(form_rules)}")
        #: The forms: catalogue, field values, attachments, associations, account limits.
        self.forms = FormDesk(
            catalog=resolve_catalog(catalog),
            limits=limits or AccountLimits(),
            rules=form_rules or FormRules(),
            arn_base=f"arn:aws:sms-voice:{region}:{account}:",
            rng=self._rng,
            pages=self._pages,
        )

    # -- observation ----------------------------------------------------

    @property
    def calls(self) -> Mapping[str, int]:
        """Requests received so far, by operation name; each page and each refusal counts.

        Like the boto3 adapter, the RegistrationApi methods refuse a malformed
        registration id (and bad describe arguments) before sending: not counted.
        """
        with self._lock:
            return MappingProxyType(dict(self._calls))

    @property
    def shard(self) -> Shard:
        """The account and region this emulator is (a sync keeps its registrations apart)."""
        return Shard(self.account, self.region)

    @property
    def shard_is_exact(self) -> bool:
        """True: what this API lists is all of :attr:`shard` (a sync may trust an empty
        listing; a boto3 client's credentials may reach another account than named)."""
        return True

    @property
    def arn_prefix(self) -> str:
        """``arn:aws:sms-voice:<region>:<account>:registration/``."""
        return f"arn:aws:sms-voice:{self.region}:{self.account}:registration/"

    def add_event_sink(self, sink: EventSink) -> Callable[[], None]:
        """Deliver the EventBridge event of every later status change to ``sink`` too.

        Returns a function that removes it. A sink that raises is logged, never
        seen by the request's caller (see :mod:`registration_fsm.emulator.events`).
        """
        return self._events.add_sink(sink)

    def tags_for(self, registration_id: str) -> dict[str, str]:
        """The tags given to CreateRegistration (NotFoundError if unknown)."""
        with self._lock:
            return dict(self._resolve(check_registration_id(registration_id)).tags)

    # -- the wire entry point ----------------------------------------------

    def handle(
        self, operation: str, params: Mapping[str, Any], *, paced: bool = False
    ) -> dict[str, Any]:
        """Run one API request: ``params`` are the request's PascalCase members.

        Returns the response in boto3's shape (aware UTC datetimes). Raises the
        library's typed API errors (a refused command: :class:`ConflictError` with the
        API's reason; over its quota: :class:`ThrottledError`);
        :class:`UnknownOperationError` for an operation not served. Counts the request
        in :attr:`calls` (even when refused). ``paced`` waits for the quota instead
        of being throttled (what the RegistrationApi methods do).
        """
        handler = _HANDLERS.get(operation) if isinstance(operation, str) else None
        if handler is None:
            raise UnknownOperationError(
                f"unknown operation {shown(operation)}; served: {', '.join(_HANDLERS)}"
            )
        still, last = 0, None
        while True:
            with self._lock:
                wait, now = self._quota_wait(operation)
                if not (wait and paced):
                    return self._serve(operation, handler, params, now, throttled=wait > 0)
                instant, self._instant = self._instant, None
            still, last = (still + 1 if now == last else 0), now
            if still > 3:  # sleeping does not move the clock: the quota can never refill
                raise ThrottledError(
                    f"Rate exceeded: the emulator's clock does not move, so {operation}'s "
                    "quota never refills (give it a clock that sleep advances, or quotas=None)",
                    operation=operation,
                )
            self._wait(wait, instant)

    def _wait(self, seconds: float, instant: datetime | None) -> None:
        """Wait ``seconds`` from the clock's reading ``instant`` (on a clock with
        ``advance_to``, a virtual one, move it on to that moment instead)."""
        advance = getattr(self._clock, "advance_to", None)
        if self._sleep_given is None and instant is not None and callable(advance):
            # Up to the next microsecond (datetime's grain): a wait never rounds to none.
            advance(instant + timedelta(microseconds=math.ceil(seconds * 1e6)))
        else:
            self._sleep(seconds)

    def _quota_wait(self, operation: str) -> tuple[float, float]:
        """Seconds until ``operation`` has a token, and the quota clock's reading."""
        bucket = self._buckets.get(operation)
        if bucket is None:
            return 0.0, 0.0
        if self._clock is None:
            now = time.monotonic()
        else:  # one reading per request: the request's timestamps use it too
            self._instant = read_clock(self._clock)
            now = self._instant.timestamp()
        return bucket.wait(now), now

    def _serve(
        self,
        operation: str,
        handler: Callable[[EmulatedRegistrationApi, Mapping[str, Any]], dict[str, Any]],
        params: Mapping[str, Any],
        now: float,
        *,
        throttled: bool,
    ) -> dict[str, Any]:
        """Count and run one request (called under the lock)."""
        self._calls[operation] += 1
        try:
            if throttled:
                self.throttled[operation] += 1
                raise ThrottledError("Rate exceeded", operation=operation)
            bucket = self._buckets.get(operation)
            if bucket is not None:
                bucket.take(now)
            validate_request(operation, params)
            return handler(self, params)
        except CommandRefused as refused:
            raise ConflictError(
                str(refused),
                reason=refused.reason,
                resource_id=refused.resource_id,
                operation=operation,
            ) from None
        except ApiError as err:
            if err.operation is None:
                err.operation = operation
            raise
        finally:
            self._instant = None
            self._events.flush()  # after the change, still in order (under the lock)

    # -- RegistrationApi ------------------------------------------------

    def create_registration(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """CreateRegistration; returns CreateRegistrationResult."""
        params: dict[str, Any] = {"RegistrationType": registration_type}
        if client_token is not None:
            params["ClientToken"] = client_token
        if tags is not None:
            params["Tags"] = (
                [{"Key": k, "Value": v} for k, v in tags.items()]
                if isinstance(tags, Mapping)
                else tags
            )
        return self.handle("CreateRegistration", params, paced=True)

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching RegistrationInformation, oldest first; ids go 5 per request.

        Arguments are validated now; requests are made as the iterator is consumed.
        """
        _id_sequence(registration_ids)
        return self._all(
            "DescribeRegistrations",
            "Registrations",
            ("RegistrationIds", registration_ids, "registration_ids"),
            Filters=filters,
            MaxResults=page_size,
        )

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching RegistrationVersionInformation, newest first; numbers go 5 per request.

        Arguments are validated now; requests are made as the iterator is consumed.
        """
        check_registration_id(registration_id)
        return self._all(
            "DescribeRegistrationVersions",
            "RegistrationVersions",
            ("VersionNumbers", version_numbers, "version_numbers"),
            RegistrationId=registration_id,
            Filters=filters,
            MaxResults=page_size,
        )

    def create_registration_version(self, registration_id: str) -> dict[str, Any]:
        """CreateRegistrationVersion; returns CreateRegistrationVersionResult."""
        return self.handle(
            "CreateRegistrationVersion",
            {"RegistrationId": check_registration_id(registration_id)},
            paced=True,
        )

    def submit_registration_version(
        self, registration_id: str, *, aws_review: bool = False
    ) -> dict[str, Any]:
        """SubmitRegistrationVersion; returns SubmitRegistrationVersionResult."""
        params = {"RegistrationId": check_registration_id(registration_id), "AwsReview": aws_review}
        return self.handle("SubmitRegistrationVersion", params, paced=True)

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        """DiscardRegistrationVersion; returns DiscardRegistrationVersionResult."""
        return self.handle(
            "DiscardRegistrationVersion",
            {"RegistrationId": check_registration_id(registration_id)},
            paced=True,
        )

    def delete_registration(self, registration_id: str) -> dict[str, Any]:
        """DeleteRegistration; returns DeleteRegistrationResult (status DELETED)."""
        return self.handle(
            "DeleteRegistration",
            {"RegistrationId": check_registration_id(registration_id)},
            paced=True,
        )

    # -- page-level requests ----------------------------------------------

    def describe_registrations_page(
        self,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """One DescribeRegistrations request; returns DescribeRegistrationsResult."""
        params = request_params(
            RegistrationIds=registration_ids,
            Filters=filters,
            MaxResults=max_results,
            NextToken=next_token,
        )
        return self.handle("DescribeRegistrations", params, paced=True)

    def describe_registration_versions_page(
        self,
        registration_id: str,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """One DescribeRegistrationVersions request; returns DescribeRegistrationVersionsResult."""
        params = request_params(
            RegistrationId=registration_id,
            VersionNumbers=version_numbers,
            Filters=filters,
            MaxResults=max_results,
            NextToken=next_token,
        )
        return self.handle("DescribeRegistrationVersions", params, paced=True)

    # -- AWS-side events --------------------------------------------------

    def advance(
        self, registration_id: str, trigger: str, /, **details: Any
    ) -> tuple[TransitionEvent, ...]:
        """Apply an AWS-side event (``begin_review``, ``approve``, ``deny``...) now.

        Only triggers no API operation fires (:attr:`Lifecycle.aws_triggers`, and the
        registration's own :attr:`Lifecycle.registration_aws_triggers`:
        ``complete_provisioning`` when its origination identity is created, ``close``
        when it is deleted); ``deny`` takes ``denied_reasons=[{"Reason": ...,
        "ShortDescription": ...}]`` and ``feedback=``. Returns every event applied
        (approving archives the previously approved version too, and when the
        ``policy`` provisions the registration's type the registration goes
        PROVISIONING: a ``provision`` event). Raises :class:`InvalidArgument` for a
        customer trigger, :class:`UnknownTrigger`, :class:`UnknownDetail` (for any
        name the trigger does not take, ``version`` or ``clock`` included),
        :class:`NotFoundError`, or :class:`CommandRefused` (nothing changes; so is
        ``provision`` alone).
        """
        if trigger not in LIFECYCLE.registration_aws_triggers:
            check_advance(trigger)
        # Only the trigger's own details reach ``fire``: a detail named like one of its
        # parameters (``version``, ``clock``, ``policy``, ``actor``...) must not set it.
        accepted = LIFECYCLE.trigger(trigger).details
        for name in details:
            if name not in accepted:
                raise UnknownDetail(trigger, name, accepted)
        with self._lock:
            reg = self._resolve(check_registration_id(registration_id)).registration
            events: list[TransitionEvent] = []
            unsubscribe = reg.subscribe(events.append)
            try:
                reg.fire(trigger, clock=self._now(), policy=self.policy, **details)
                if trigger == "close":
                    self.forms.closed(reg.id)
            finally:
                unsubscribe()
                self._events.flush()
            return tuple(events)

    def add_origination_identity(
        self,
        resource_type: str = "phone-number",
        *,
        iso_country_code: str = "US",
        phone_number: str | None = None,
        number_type: str | None = None,
    ) -> dict[str, Any]:
        """Give the account an origination identity (``phone-number``, ``sender-id`` or
        ``pool``) that CreateRegistrationAssociation can use; returns its
        RegistrationAssociationMetadata (``ResourceId``...). A phone number's
        ``number_type`` (``TOLL_FREE`` by default, ``TEN_DLC``...) is what registration
        types name it by. The emulator serves no phone-number API: this plays the part
        of buying a number or a sender ID."""
        with self._lock:
            return self.forms.add_identity(
                resource_type,
                iso_country_code=iso_country_code,
                phone_number=phone_number,
                number_type=number_type,
            )

    def release_origination_identity(self, resource_id: str) -> tuple[TransitionEvent, ...]:
        """The account deletes an origination identity (releases the number): its
        association ends. When it was the last of a registration whose type's
        disassociation behaviour is DISASSOCIATE_ALL_CLOSES_REGISTRATION (or the
        catalogue is off) and the registration is COMPLETE, the registration goes CLOSED
        ("the phone number or sender ID has been deleted"): a ``close`` event naming the
        identity. Returns the events (none otherwise); NotFoundError for an unknown id."""
        resource = check_resource_id(resource_id, "resource_id")
        with self._lock:
            reg_id = self.forms.release_identity(resource)
            if reg_id is None:
                return ()
            reg = self._resolve(reg_id).registration
            closes = self.forms.closes_when_released(reg.type)
            if not closes or LIFECYCLE.registration_destination(reg.status, "close") is None:
                return ()
            events: list[TransitionEvent] = []
            unsubscribe = reg.subscribe(events.append)
            try:
                reg.fire("close", clock=self._now(), policy=self.policy, resource_id=resource)
            finally:
                unsubscribe()
                self._events.flush()
            return tuple(events)

    # -- handlers (called under the lock, with validated params) ------------

    def _create_registration(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg_type: str = req["RegistrationType"]
        self.forms.definition(reg_type)  # UNKNOWN_REGISTRATION_TYPE if the catalogue lacks it
        if self.registration_types is not None and reg_type not in self.registration_types:
            message = f"unknown registration type {reg_type!r}"
            raise ApiValidationError(
                message, reason="UNKNOWN_REGISTRATION_TYPE", fields=[("RegistrationType", message)]
            )
        tags = tuple((t["Key"], t["Value"]) for t in req.get("Tags") or ())
        if len({k for k, _ in tags}) != len(tags):
            message = "tag keys must be unique"
            raise ApiValidationError(
                message, reason="INVALID_PARAMETER", fields=[("Tags", message)]
            )
        token: str | None = req.get("ClientToken")
        fingerprint = (reg_type, tuple(sorted(tags)))
        if token is not None and token in self._tokens:
            earlier = self._tokens[token]
            if earlier.fingerprint != fingerprint:
                raise ConflictError(
                    f"ClientToken {token!r} was used with other parameters "
                    f"(it created {earlier.registration_id})",
                    reason="RESOURCE_ALREADY_EXISTS",
                    resource_id=earlier.registration_id,
                )
            return copy.deepcopy(earlier.result)
        self.forms.check_new_registration(
            sum(1 for e in self._entries.values() if e.registration.status is not R.DELETED)
        )
        now = self._now()
        reg_id = self._new_id()
        reg = Registration.new(reg_id, self.arn_prefix + reg_id, reg_type, clock=now)
        self._seq += 1
        self._entries[reg_id] = _Entry(self._seq, reg, tags)
        self._events.track(reg)
        result = reg.to_api()
        if tags:
            result["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
        if token is not None:
            self._tokens[token] = _Token(fingerprint, reg_id, copy.deepcopy(result))
        return result

    def _describe_registrations(self, req: Mapping[str, Any]) -> dict[str, Any]:
        wanted = {self._resolve(v).registration.id: None for v in req.get("RegistrationIds") or ()}
        regs = [
            (e.seq, e.registration)
            for e in self._entries.values()
            if not wanted or e.registration.id in wanted
        ]
        return registrations_page(self._pages, req, regs, sorted(wanted))

    def _describe_registration_versions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return versions_page(self._pages, req, self._resolve(req["RegistrationId"]).registration)

    def _create_registration_version(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        now, previous = self._now(), reg.current_version.number
        self.forms.check_new_version(now())
        event = reg.create_version(clock=now)
        self.forms.version_created(reg, previous, now())
        return self._version_result(reg, event)

    def _submit_registration_version(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        aws_review = bool(req.get("AwsReview", False))
        self.forms.check_submit(reg)
        event = reg.submit(aws_review=aws_review, clock=self._now())
        return self._version_result(reg, event, aws_review=aws_review)

    def _discard_registration_version(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        event = reg.discard(policy=self.policy, clock=self._now())
        return self._version_result(reg, event)

    def _delete_registration(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        self.forms.check_delete(reg, [e.registration for e in self._entries.values()])
        reg.delete(clock=self._now())
        self.forms.deleted(reg)
        if not self.keep_deleted:
            del self._entries[reg.id]
        return reg.to_api()

    def _type_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.type_definitions(req)

    def _section_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.section_definitions(req)

    def _field_definitions(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.field_definitions(req)

    def _put_field_value(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.put_field_value(self._resolve(req["RegistrationId"]).registration, req)

    def _delete_field_value(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        return self.forms.delete_field_value(reg, req)

    def _field_values(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.field_values(self._resolve(req["RegistrationId"]).registration, req)

    def _create_attachment(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.create_attachment(req, self._now()())

    def _delete_attachment(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.delete_attachment(req, [e.registration for e in self._entries.values()])

    def _attachments(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.attachments(req)

    def _associate(self, req: Mapping[str, Any]) -> dict[str, Any]:
        reg = self._resolve(req["RegistrationId"]).registration
        return self.forms.associate(reg, req, [e.registration for e in self._entries.values()])

    def _associations(self, req: Mapping[str, Any]) -> dict[str, Any]:
        return self.forms.associations(self._resolve(req["RegistrationId"]).registration, req)

    @staticmethod
    def _version_result(
        reg: Registration, event: TransitionEvent, *, aws_review: bool | None = None
    ) -> dict[str, Any]:
        assert event.version_number is not None  # a version's event
        return reg.versions[event.version_number].to_result(aws_review=aws_review)

    # -- helpers --------------------------------------------------------

    def _now(self) -> Clock:
        """The request's time: the quota's reading of the clock, else a reading now."""
        at = self._instant if self._instant is not None else read_clock(self._clock)
        return lambda: at

    def _new_id(self) -> str:
        while True:
            reg_id = f"registration-{self._rng.getrandbits(128):032x}"
            if reg_id not in self._entries:
                return reg_id

    def _resolve(self, value: str) -> _Entry:
        reg_id = value.removeprefix(self.arn_prefix)
        entry = self._entries.get(reg_id)
        if entry is None:
            raise NotFoundError(
                f"registration {value} does not exist",
                resource_type="registration",
                resource_id=value,
            )
        return entry

    def _all(
        self, operation: str, key: str, chunked: tuple[str, Any, str], **members: Any
    ) -> Iterator[dict[str, Any]]:
        member, values, name = chunked
        requests = [
            request_params(**members, **{member: chunk})
            for chunk in chunks(values, name, IDS_PER_REQUEST)
        ]
        for request in requests:
            validate_request(operation, request)
        return every_item(functools.partial(self.handle, paced=True), operation, requests, key)


def _id_sequence(values: Sequence[str]) -> None:
    """The adapters' check of ``registration_ids``: a sequence of well-formed ids."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgumentType(
            f"registration_ids must be a sequence of ids (for one id: [id]), got {shown(values)}"
        )
    for value in values:
        check_registration_id(value, "RegistrationIds")


_HANDLERS: Mapping[str, Callable[[EmulatedRegistrationApi, Mapping[str, Any]], dict[str, Any]]] = {
    "CreateRegistration": EmulatedRegistrationApi._create_registration,
    "DescribeRegistrations": EmulatedRegistrationApi._describe_registrations,
    "DescribeRegistrationVersions": EmulatedRegistrationApi._describe_registration_versions,
    "CreateRegistrationVersion": EmulatedRegistrationApi._create_registration_version,
    "SubmitRegistrationVersion": EmulatedRegistrationApi._submit_registration_version,
    "DiscardRegistrationVersion": EmulatedRegistrationApi._discard_registration_version,
    "DeleteRegistration": EmulatedRegistrationApi._delete_registration,
    "DescribeRegistrationTypeDefinitions": EmulatedRegistrationApi._type_definitions,
    "DescribeRegistrationSectionDefinitions": EmulatedRegistrationApi._section_definitions,
    "DescribeRegistrationFieldDefinitions": EmulatedRegistrationApi._field_definitions,
    "PutRegistrationFieldValue": EmulatedRegistrationApi._put_field_value,
    "DeleteRegistrationFieldValue": EmulatedRegistrationApi._delete_field_value,
    "DescribeRegistrationFieldValues": EmulatedRegistrationApi._field_values,
    "CreateRegistrationAttachment": EmulatedRegistrationApi._create_attachment,
    "DeleteRegistrationAttachment": EmulatedRegistrationApi._delete_attachment,
    "DescribeRegistrationAttachments": EmulatedRegistrationApi._attachments,
    "CreateRegistrationAssociation": EmulatedRegistrationApi._associate,
    "ListRegistrationAssociations": EmulatedRegistrationApi._associations,
}
