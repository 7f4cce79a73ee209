"""The real API through boto3: :class:`Boto3RegistrationApi`.

Needs the ``aws`` extra (``pip install 'registration-fsm[aws]'``); boto3 and
botocore are imported on first use, not when this module is imported.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Self

from registration_fsm.adapters.boto3_errors import require_module, translate_errors
from registration_fsm.adapters.boto3_responses import clean
from registration_fsm.arguments import (
    batched,
    checked_body,
    checked_ids,
    checked_version_number,
    checked_version_numbers,
    filtered,
    pagination,
    strings,
    tags_and_token,
)
from registration_fsm.domain.parsing import check_registration_id, check_resource_id
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import THROTTLING_CODES, InvalidArgument
from registration_fsm.pacing import Pacer, shared_pacer
from registration_fsm.ports import Filter
from registration_fsm.quotas import FROM_ENVIRONMENT, QuotaSetting, rates_for

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

__all__ = ["RETRY_MODES", "SERVICE_NAME", "Boto3RegistrationApi"]

SERVICE_NAME: Final = "pinpoint-sms-voice-v2"
#: botocore's retry modes.
RETRY_MODES = ("legacy", "standard", "adaptive")
#: Total attempts botocore makes when the config names none.
_DEFAULT_ATTEMPTS = {"legacy": 5, "standard": 3, "adaptive": 3}
#: boto3 sessions are not thread-safe: clients are created under this lock.
_SESSION_LOCK = threading.Lock()


class _CallCounter:
    """Thread-safe count of logical API calls, fed by botocore's after-call events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def on_call(self, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class _PacingHooks:
    """botocore event handlers: wait for each request's slot; adapt to the answers."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def before_send(self, event_name: str, **_: Any) -> None:
        # Every attempt (each page, each retry) is a request against the quota.
        self.pacer.acquire(event_name.rsplit(".", 1)[-1])

    def after_attempt(self, event_name: str, response: Any = None, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
        code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLING_CODES:
            self.pacer.throttled(operation)
        elif response is not None:
            self.pacer.answered(operation)


class Boto3RegistrationApi:
    """:class:`~registration_fsm.ports.RegistrationApi` and
    :class:`~registration_fsm.ports.FormsApi` over a ``pinpoint-sms-voice-v2`` client.

    Wrap any client (``Boto3RegistrationApi(client)``) or build one with
    :meth:`from_config`. Retries are botocore's (its retry config); every
    botocore failure becomes a typed :mod:`registration_fsm.errors` error.
    Responses are boto3's without ``ResponseMetadata``, timestamps in UTC.
    Safe to share between threads (boto3 clients are).

    Every request — each page, each retry — waits for its operation's slot under
    the account and region's quotas (:mod:`registration_fsm.pacing`): one pacer per
    ``account`` and region in the process, shared by every adapter and thread.
    ``quotas``: :data:`~registration_fsm.quotas.FROM_ENVIRONMENT` (AWS's defaults
    and the environment's overrides), a :class:`~registration_fsm.quotas.Quotas`
    or mapping, or None (no pacing). Without ``account``, the adapters of one
    endpoint and region share a pacer, as if one account: never faster than that
    account's quotas allow.
    """

    def __init__(
        self,
        client: PinpointSMSVoiceV2Client,
        *,
        quotas: QuotaSetting = FROM_ENVIRONMENT,
        account: str | None = None,
    ) -> None:
        require_module("botocore.exceptions")
        meta = getattr(client, "meta", None)
        service = getattr(getattr(meta, "service_model", None), "service_name", None)
        if service != SERVICE_NAME:
            raise InvalidArgument(
                f"expected a boto3 {SERVICE_NAME!r} client, got {type(client).__name__}"
                + (f" for {service!r}" if service else "")
            )
        self._client = client
        self._counter = _CallCounter()
        # after-call fires once per logical call (after botocore's retries, and
        # also for Stubber responses); after-call-error when no answer came.
        events = client.meta.events
        uid = f"registration_fsm.calls.{id(self._counter)}"
        handlers = [
            (f"after-call.{SERVICE_NAME}", f"{uid}.ok"),
            (f"after-call-error.{SERVICE_NAME}", f"{uid}.error"),
        ]
        for event, unique_id in handlers:
            events.register(event, self._counter.on_call, unique_id=unique_id)
        weakref.finalize(self, _unregister, events, handlers, self._counter.on_call)
        region = client.meta.region_name
        rates = rates_for(quotas, account, region)
        self.account = account
        #: The shared pacer of this account and region (None: quotas=None, no pacing).
        self.pacer = None
        if rates is not None:
            place = account if account is not None else f"endpoint {client.meta.endpoint_url}"
            self.pacer = shared_pacer((place, region), rates)
            hooks = _PacingHooks(self.pacer)
            paced = [
                (f"before-send.{SERVICE_NAME}", f"{uid}.pace", hooks.before_send),
                (f"needs-retry.{SERVICE_NAME}", f"{uid}.adapt", hooks.after_attempt),
            ]
            for event, unique_id, handler in paced:
                events.register(event, handler, unique_id=unique_id)
                weakref.finalize(self, _unregister, events, [(event, unique_id)], handler)

    @classmethod
    def from_config(
        cls,
        *,
        session: Session | None = None,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        retry_mode: str = "standard",
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        quotas: QuotaSetting = FROM_ENVIRONMENT,
        account: str | None = None,
    ) -> Self:
        """Build the client: from ``session``, or a new session for ``profile``.

        ``max_attempts`` counts calls (first try included), as botocore's
        ``total_max_attempts``. ``quotas`` and ``account`` as for the constructor.
        Bad settings raise :class:`InvalidArgument`.
        """
        boto3 = require_module("boto3")
        config_module = require_module("botocore.config")
        exceptions = require_module("botocore.exceptions")
        if retry_mode not in RETRY_MODES:
            raise InvalidArgument(
                f"retry_mode must be one of {', '.join(RETRY_MODES)}, got {retry_mode!r}"
            )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidArgument(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InvalidArgument(f"{name} must be a positive number, got {value!r}")
        if session is not None and profile is not None:
            raise InvalidArgument("pass either session or profile, not both")
        config = config_module.Config(
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        try:
            with _SESSION_LOCK:
                sess = (
                    session if session is not None else boto3.session.Session(profile_name=profile)
                )
                client = sess.client(
                    SERVICE_NAME, region_name=region, endpoint_url=endpoint_url, config=config
                )
        except (exceptions.BotoCoreError, ValueError) as err:
            raise InvalidArgument(f"cannot create the {SERVICE_NAME} client: {err}") from err
        return cls(client, quotas=quotas, account=account)

    # -- configuration ---------------------------------------------------

    @property
    def shard(self) -> Shard | None:
        """The account and region the client reaches, when ``account`` was given."""
        region = self._client.meta.region_name
        return None if self.account is None or not region else Shard(self.account, region)

    @property
    def client(self) -> PinpointSMSVoiceV2Client:
        """The wrapped boto3 client."""
        return self._client

    @property
    def retry_mode(self) -> str:
        """botocore's retry mode for the client: legacy, standard or adaptive."""
        retries = self._retries()
        return str(retries.get("mode") or "legacy")

    @property
    def max_attempts(self) -> int:
        """Calls botocore makes per request at most, the first one included."""
        retries = self._retries()
        total = retries.get("total_max_attempts")
        if isinstance(total, int):
            return total
        extra = retries.get("max_attempts")
        if isinstance(extra, int):
            return extra + 1
        return _DEFAULT_ATTEMPTS.get(self.retry_mode, 3)

    @property
    def calls(self) -> Mapping[str, int]:
        """Requests made so far through the client, by operation (pages count once each)."""
        return self._counter.snapshot()

    def _retries(self) -> Mapping[str, Any]:
        retries = getattr(self._client.meta.config, "retries", None)
        return retries if isinstance(retries, Mapping) else {}

    # -- operations ------------------------------------------------------

    def create_registration(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """CreateRegistration; returns CreateRegistrationResult."""
        params: dict[str, Any] = {"RegistrationType": registration_type}
        params |= tags_and_token(tags, client_token)
        with translate_errors("CreateRegistration"):
            return clean(self._client.create_registration(**params))

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrations, every page; yields RegistrationInformation.

        Ids are checked before any request, de-duplicated, and sent 5 per request.
        """
        ids = list(dict.fromkeys(checked_ids(registration_ids)))
        requests = batched(filtered({}, filters), "RegistrationIds", ids)
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registrations")
        return _items("DescribeRegistrations", paginator, "Registrations", requests, config)

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationVersions, every page; yields RegistrationVersionInformation.

        Arguments are checked before any request; version numbers go 5 per request.
        """
        base = filtered({"RegistrationId": check_registration_id(registration_id)}, filters)
        numbers = list(dict.fromkeys(checked_version_numbers(version_numbers)))
        requests = batched(base, "VersionNumbers", numbers)
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_versions")
        return _items(
            "DescribeRegistrationVersions", paginator, "RegistrationVersions", requests, config
        )

    def create_registration_version(self, registration_id: str) -> dict[str, Any]:
        """CreateRegistrationVersion; returns CreateRegistrationVersionResult."""
        reg_id = check_registration_id(registration_id)
        with translate_errors("CreateRegistrationVersion"):
            return clean(self._client.create_registration_version(RegistrationId=reg_id))

    def submit_registration_version(
        self, registration_id: str, *, aws_review: bool = False
    ) -> dict[str, Any]:
        """SubmitRegistrationVersion; returns SubmitRegistrationVersionResult.

        ``AwsReview`` is sent only when ``aws_review`` is true (the API's default is false).
        """
        params: dict[str, Any] = {"RegistrationId": check_registration_id(registration_id)}
        if aws_review is not False:
            params["AwsReview"] = aws_review
        with translate_errors("SubmitRegistrationVersion"):
            return clean(self._client.submit_registration_version(**params))

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        """DiscardRegistrationVersion; returns DiscardRegistrationVersionResult."""
        reg_id = check_registration_id(registration_id)
        with translate_errors("DiscardRegistrationVersion"):
            return clean(self._client.discard_registration_version(RegistrationId=reg_id))

    def delete_registration(self, registration_id: str) -> dict[str, Any]:
        """DeleteRegistration; returns DeleteRegistrationResult."""
        reg_id = check_registration_id(registration_id)
        with translate_errors("DeleteRegistration"):
            return clean(self._client.delete_registration(RegistrationId=reg_id))

    # -- forms (FormsApi) ---------------------------------------------------

    def describe_registration_type_definitions(
        self,
        *,
        registration_types: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationTypeDefinitions, every page; yields RegistrationTypeDefinition.

        Types are de-duplicated and sent 5 per request.
        """
        types = strings(registration_types, "registration_types")
        requests = batched(filtered({}, filters), "RegistrationTypes", types)
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_type_definitions")
        key = "RegistrationTypeDefinitions"
        return _items("DescribeRegistrationTypeDefinitions", paginator, key, requests, config)

    def describe_registration_section_definitions(
        self,
        registration_type: str,
        *,
        section_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationSectionDefinitions, every page; yields RegistrationSectionDefinition.

        Section paths are de-duplicated and sent 5 per request.
        """
        paths = strings(section_paths, "section_paths")
        requests = batched({"RegistrationType": registration_type}, "SectionPaths", paths)
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_section_definitions")
        key = "RegistrationSectionDefinitions"
        return _items("DescribeRegistrationSectionDefinitions", paginator, key, requests, config)

    def describe_registration_field_definitions(
        self,
        registration_type: str,
        *,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationFieldDefinitions, every page; yields RegistrationFieldDefinition.

        Field paths are de-duplicated and sent 5 per request.
        """
        base: dict[str, Any] = {"RegistrationType": registration_type}
        if section_path is not None:
            base["SectionPath"] = section_path
        requests = batched(base, "FieldPaths", strings(field_paths, "field_paths"))
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_field_definitions")
        key = "RegistrationFieldDefinitions"
        return _items("DescribeRegistrationFieldDefinitions", paginator, key, requests, config)

    def put_registration_field_value(
        self,
        registration_id: str,
        field_path: str,
        *,
        select_choices: Sequence[str] | None = None,
        text_value: str | None = None,
        attachment_id: str | None = None,
    ) -> dict[str, Any]:
        """PutRegistrationFieldValue; returns PutRegistrationFieldValueResult.

        Exactly one of ``select_choices`` (sent as given, even empty), ``text_value``
        and ``attachment_id``, else :class:`InvalidArgument` before any request (the
        API reference documents no combination; one value per field is inferred).
        """
        params: dict[str, Any] = {
            "RegistrationId": check_registration_id(registration_id),
            "FieldPath": field_path,
        }
        given = {
            name: value
            for name, value in (
                ("select_choices", select_choices),
                ("text_value", text_value),
                ("attachment_id", attachment_id),
            )
            if value is not None
        }
        if len(given) != 1:
            found = " and ".join(given) or "none"
            raise InvalidArgument(
                "put_registration_field_value takes exactly one of select_choices, "
                f"text_value and attachment_id; got {found}"
            )
        if select_choices is not None:
            params["SelectChoices"] = strings(select_choices, "select_choices", unique=False)
        elif text_value is not None:
            params["TextValue"] = text_value
        else:
            params["RegistrationAttachmentId"] = check_resource_id(
                attachment_id, "RegistrationAttachmentId"
            )
        with translate_errors("PutRegistrationFieldValue"):
            return clean(self._client.put_registration_field_value(**params))

    def delete_registration_field_value(
        self, registration_id: str, field_path: str
    ) -> dict[str, Any]:
        """DeleteRegistrationFieldValue; returns DeleteRegistrationFieldValueResult."""
        reg_id = check_registration_id(registration_id)
        with translate_errors("DeleteRegistrationFieldValue"):
            return clean(
                self._client.delete_registration_field_value(
                    RegistrationId=reg_id, FieldPath=field_path
                )
            )

    def describe_registration_field_values(
        self,
        registration_id: str,
        *,
        version_number: int | None = None,
        section_path: str | None = None,
        field_paths: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationFieldValues, every page; yields RegistrationFieldValueInformation.

        Arguments are checked before any request; field paths go 5 per request.
        """
        base: dict[str, Any] = {"RegistrationId": check_registration_id(registration_id)}
        if version_number is not None:
            base["VersionNumber"] = checked_version_number(version_number, "VersionNumber")
        if section_path is not None:
            base["SectionPath"] = section_path
        requests = batched(base, "FieldPaths", strings(field_paths, "field_paths"))
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_field_values")
        key = "RegistrationFieldValues"
        return _items("DescribeRegistrationFieldValues", paginator, key, requests, config)

    def create_registration_attachment(
        self,
        *,
        attachment_body: bytes | None = None,
        attachment_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        """CreateRegistrationAttachment; returns CreateRegistrationAttachmentResult.

        Exactly one of ``attachment_body`` (1..6990508 bytes, the model's limits)
        and ``attachment_url``, else :class:`InvalidArgument` before any request
        (AWS: "Use either AttachmentUrl or AttachmentBody"; both is an error).
        """
        if (attachment_body is None) == (attachment_url is None):
            found = "neither" if attachment_body is None else "both"
            raise InvalidArgument(
                "create_registration_attachment takes exactly one of attachment_body and "
                f"attachment_url; got {found}"
            )
        params: dict[str, Any] = {}
        if attachment_body is not None:
            params["AttachmentBody"] = checked_body(attachment_body)
        else:
            params["AttachmentUrl"] = attachment_url
        params |= tags_and_token(tags, client_token)
        with translate_errors("CreateRegistrationAttachment"):
            return clean(self._client.create_registration_attachment(**params))

    def delete_registration_attachment(self, attachment_id: str) -> dict[str, Any]:
        """DeleteRegistrationAttachment; returns DeleteRegistrationAttachmentResult."""
        att_id = check_resource_id(attachment_id, "RegistrationAttachmentId")
        with translate_errors("DeleteRegistrationAttachment"):
            return clean(
                self._client.delete_registration_attachment(RegistrationAttachmentId=att_id)
            )

    def describe_registration_attachments(
        self,
        *,
        attachment_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """DescribeRegistrationAttachments, every page; yields RegistrationAttachmentsInformation.

        Ids are checked before any request, de-duplicated, and sent 5 per request.
        """
        checked = strings(attachment_ids, "attachment_ids")
        ids = [check_resource_id(v, "RegistrationAttachmentIds") for v in checked]
        requests = batched(filtered({}, filters), "RegistrationAttachmentIds", ids)
        config = pagination(page_size)
        paginator = self._client.get_paginator("describe_registration_attachments")
        key = "RegistrationAttachments"
        return _items("DescribeRegistrationAttachments", paginator, key, requests, config)

    def create_registration_association(
        self, registration_id: str, resource_id: str
    ) -> dict[str, Any]:
        """CreateRegistrationAssociation; returns CreateRegistrationAssociationResult."""
        reg_id = check_registration_id(registration_id)
        res_id = check_resource_id(resource_id, "ResourceId")
        with translate_errors("CreateRegistrationAssociation"):
            return clean(
                self._client.create_registration_association(
                    RegistrationId=reg_id, ResourceId=res_id
                )
            )

    def list_registration_associations(
        self,
        registration_id: str,
        *,
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """ListRegistrationAssociations, every page; yields RegistrationAssociationMetadata."""
        base = filtered({"RegistrationId": check_registration_id(registration_id)}, filters)
        config = pagination(page_size)
        paginator = self._client.get_paginator("list_registration_associations")
        key = "RegistrationAssociations"
        return _items("ListRegistrationAssociations", paginator, key, [base], config)

    # -- internals -------------------------------------------------------

    def __repr__(self) -> str:
        meta = self._client.meta
        return (
            f"{type(self).__name__}(region={meta.region_name!r}, endpoint={meta.endpoint_url!r}, "
            f"retry_mode={self.retry_mode!r}, max_attempts={self.max_attempts})"
        )


def _items(
    operation: str,
    paginator: Any,
    key: str,
    requests: list[dict[str, Any]],
    config: dict[str, int],
) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of every page of every request, through ``paginator``."""
    for params in requests:
        with translate_errors(operation):
            pages = iter(paginator.paginate(**params, PaginationConfig=config))
        while True:
            with translate_errors(operation):
                page = next(pages, None)
            if page is None:
                break
            for item in page.get(key) or ():
                yield clean(item)


def _unregister(events: Any, handlers: list[tuple[str, str]], handler: Any) -> None:
    for event, unique_id in handlers:
        events.unregister(event, handler, unique_id=unique_id)
