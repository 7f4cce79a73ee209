"""An SQS queue as an event source: :class:`SqsEventSource` (needs the ``aws`` extra).

The usual route for AWS's "Registration Status Change" events is an EventBridge
rule whose target is an SQS queue: each message body is one event. This module
long-polls such a queue with a real boto3 SQS client and hands the messages to
:class:`~registration_fsm.sync.events.EventFollower`, which acknowledges
(DeleteMessage) each one only after its registration's save committed.

**The dead-letter path.** A poison message (not an event of this service, naming
no registration, malformed, or failing ``max_attempts`` times) is copied to a
dead-letter queue — SendMessage with the same body and the attributes
``RegistrationFsmReason``, ``RegistrationFsmSourceQueue`` and
``RegistrationFsmMessageId`` — and only then deleted from the queue (a crash
between the two leaves a copy in both: nothing is lost). The dead-letter queue is
``dead_letter_queue_url`` if given, else the target of the queue's own redrive
policy (SQS's ``RedrivePolicy.deadLetterTargetArn``), resolved once at start. A
queue with neither is refused at start (:class:`InvalidArgument`): poison would
otherwise come back forever. With a redrive policy, SQS itself also moves a
message received ``maxReceiveCount`` times (a follower that keeps dying on it).

A message that failed for a passing reason (the API throttled or unreachable) is
left alone: it comes back after the queue's visibility timeout. Give the queue a
visibility timeout longer than a batch takes to handle (10 events at AWS's 1
request per second: about 20 s; SQS's default is 30 s), or a message handled
meanwhile is delivered again (and handled again, harmlessly).

boto3 and botocore are imported on first use, not when this module is imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from registration_fsm.adapters.boto3_errors import require_module, translate_errors
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeFilterType
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        ReceiveMessageRequestTypeDef,
        SendMessageRequestTypeDef,
    )

__all__ = ["REASON_ATTRIBUTE", "SqsEventSource", "SqsMessage"]

#: The message attribute a dead-lettered message carries its reason in.
REASON_ATTRIBUTE: Final = "RegistrationFsmReason"
_SQS_HOST = re.compile(r"^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_ARN = re.compile(r"^arn:[\w-]+:sqs:([\w-]+):(\d{12}):(.+)$")
#: Longest reason written in the attribute (SQS allows far more; a reason is one line).
_REASON_LIMIT = 1024


class SqsMessage:
    """One received SQS message (a :class:`~registration_fsm.sync.events.Message`)."""

    def __init__(self, source: SqsEventSource, raw: MessageTypeDef) -> None:
        self._source = source
        self.message_id: str = raw.get("MessageId") or "(no id)"
        self.body: str = raw.get("Body") or ""
        self.receipt_handle: str = raw.get("ReceiptHandle") or ""
        count = (raw.get("Attributes") or {}).get("ApproximateReceiveCount", "1")
        #: SQS's ApproximateReceiveCount: 1 the first time.
        self.attempt: int = int(count) if str(count).isdigit() else 1

    def ack(self) -> None:
        """DeleteMessage: handled for good."""
        self._source.delete(self.receipt_handle)

    def release(self) -> None:
        """Leave it: SQS delivers it again after the visibility timeout."""

    def dead_letter(self, reason: str) -> str:
        """Copy it to the dead-letter queue with ``reason``, then delete it here."""
        return self._source.move_aside(self, reason)

    def __repr__(self) -> str:
        return f"SqsMessage({self.message_id!r}, attempt={self.attempt})"


class SqsEventSource:
    """Long-polls an SQS queue of EventBridge events (implements ``EventSource``).

    Args:
        queue_url: the queue (``https://sqs.<region>.amazonaws.com/<account>/<name>``).
        client: a boto3 SQS client to use; else one is built from ``session`` or
            ``profile``, ``region`` (default: boto3's, else the queue URL's) and
            ``endpoint_url`` (moto's server, say).
        dead_letter_queue_url: where poison messages go; default: the target of the
            queue's redrive policy (see the module docstring).
        wait_seconds: ReceiveMessage's long poll, 0..20 seconds.
        batch_size: messages per ReceiveMessage, 1..10.
        visibility_timeout: seconds a received message stays hidden (default: the
            queue's setting).
        connect_timeout: seconds to wait for a connection to SQS.

    Checks the queue and finds the dead-letter queue now (GetQueueAttributes), so
    a wrong URL, missing credentials or a missing dead-letter path fail at start,
    as a typed error. Afterwards every failure is an ``ApiError`` the follower
    logs and survives.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        client: SQSClient | None = None,
        session: Session | None = None,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        dead_letter_queue_url: str | None = None,
        wait_seconds: int = 20,
        batch_size: int = 10,
        visibility_timeout: int | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if not isinstance(queue_url, str) or not queue_url:
            raise InvalidArgumentType(f"queue_url must be a queue URL, got {shown(queue_url)}")
        if dead_letter_queue_url is not None and (
            not isinstance(dead_letter_queue_url, str) or not dead_letter_queue_url
        ):
            raise InvalidArgumentType(
                f"dead_letter_queue_url must be a queue URL, got {shown(dead_letter_queue_url)}"
            )
        _check_int("wait_seconds", wait_seconds, 0, 20)
        _check_int("batch_size", batch_size, 1, 10)
        if visibility_timeout is not None:
            _check_int("visibility_timeout", visibility_timeout, 0, 43200)
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.client: SQSClient = (
            client
            if client is not None
            else _client(session, profile, region, endpoint_url, queue_url, wait_seconds,
                         connect_timeout)
        )  # fmt: skip
        attributes = self._attributes(queue_url, "RedrivePolicy")
        #: SQS's own maxReceiveCount, when the queue has a redrive policy.
        self.max_receive_count: int | None = None
        redrive = attributes.get("RedrivePolicy")
        if redrive:
            policy = _json_object(redrive)
            count = policy.get("maxReceiveCount")
            self.max_receive_count = int(str(count)) if str(count).isdigit() else None
        if dead_letter_queue_url is None and redrive:
            dead_letter_queue_url = self._redrive_target(_json_object(redrive))
        if dead_letter_queue_url is None:
            raise InvalidArgument(
                f"SQS queue {queue_url} has no dead-letter path: give a dead-letter queue URL "
                "or set a redrive policy on the queue (else poison messages come back forever)"
            )
        if dead_letter_queue_url.rstrip("/") == queue_url.rstrip("/"):
            raise InvalidArgument("the dead-letter queue must not be the queue followed")
        self._attributes(dead_letter_queue_url, "QueueArn")  # it exists, we may read it
        #: Where poison messages go.
        self.dead_letter_queue_url = dead_letter_queue_url

    # -- EventSource -------------------------------------------------------------

    def receive(self, limit: int | None = None) -> Sequence[SqsMessage]:
        """One ReceiveMessage (long poll) of at most ``batch_size`` (or ``limit``)
        messages: the messages that came, maybe none."""
        size = self.batch_size if limit is None else max(1, min(limit, self.batch_size))
        params: ReceiveMessageRequestTypeDef = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": size,
            "WaitTimeSeconds": self.wait_seconds,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }
        if self.visibility_timeout is not None:
            params["VisibilityTimeout"] = self.visibility_timeout
        with translate_errors("ReceiveMessage"):
            answer = self.client.receive_message(**params)
        return [SqsMessage(self, raw) for raw in answer.get("Messages") or ()]

    # -- what the messages do ----------------------------------------------------

    def delete(self, receipt_handle: str) -> None:
        """DeleteMessage."""
        with translate_errors("DeleteMessage"):
            self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)

    def move_aside(self, message: SqsMessage, reason: str) -> str:
        """Send ``message`` to the dead-letter queue with ``reason``, then delete it here."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            REASON_ATTRIBUTE: _text(_one_line(reason)),
            "RegistrationFsmSourceQueue": _text(self.queue_url),
            "RegistrationFsmMessageId": _text(message.message_id),
        }
        params: SendMessageRequestTypeDef = {
            "QueueUrl": self.dead_letter_queue_url,
            "MessageBody": message.body or "(empty)",
            "MessageAttributes": attributes,
        }
        if self.dead_letter_queue_url.endswith(".fifo"):
            params["MessageGroupId"] = "registration-fsm-poison"
            params["MessageDeduplicationId"] = re.sub(r"[^\w-]", "-", message.message_id)[:128]
        with translate_errors("SendMessage"):
            self.client.send_message(**params)
        self.delete(message.receipt_handle)
        return f"moved to {self.dead_letter_queue_url}"

    # -- start-up ----------------------------------------------------------------

    def _attributes(self, queue_url: str, name: QueueAttributeFilterType) -> dict[str, str]:
        with translate_errors("GetQueueAttributes"):
            answer = self.client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])
        return {str(k): v for k, v in (answer.get("Attributes") or {}).items()}

    def _redrive_target(self, policy: dict[str, Any]) -> str:
        arn = policy.get("deadLetterTargetArn")
        match = _ARN.match(arn) if isinstance(arn, str) else None
        if match is None:
            raise InvalidArgument(
                f"SQS queue {self.queue_url}'s redrive policy names no dead-letter queue: "
                f"{shown(policy)}"
            )
        _region, account, name = match.groups()
        with translate_errors("GetQueueUrl"):
            answer = self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
        return answer["QueueUrl"]

    def __repr__(self) -> str:
        return f"SqsEventSource({self.queue_url!r}, dead_letter={self.dead_letter_queue_url!r})"


def _client(
    session: Session | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    queue_url: str,
    wait_seconds: int,
    connect_timeout: float,
) -> SQSClient:
    """A boto3 SQS client whose read timeout outlasts the long poll."""
    boto3 = require_module("boto3")
    config_module = require_module("botocore.config")
    exceptions = require_module("botocore.exceptions")
    if session is not None and profile is not None:
        raise InvalidArgument("pass either session or profile, not both")
    if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int | float):
        raise InvalidArgumentType(f"connect_timeout must be seconds, got {shown(connect_timeout)}")
    if not connect_timeout > 0:
        raise InvalidArgument(f"connect_timeout must be positive, got {connect_timeout!r}")
    config = config_module.Config(
        connect_timeout=connect_timeout,
        read_timeout=wait_seconds + 10,
        retries={"mode": "standard", "total_max_attempts": 3},
    )
    try:
        sess = session if session is not None else boto3.session.Session(profile_name=profile)
        if region is None and sess.region_name is None:
            host = queue_url.split("://", 1)[-1].split("/", 1)[0]
            found = _SQS_HOST.match(host)
            region = found.group(1) if found else None
        client: SQSClient = sess.client(
            "sqs", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except (exceptions.BotoCoreError, ValueError) as err:
        raise InvalidArgument(f"cannot create the SQS client: {err}") from err
    return client


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise InvalidArgument(f"{name} must be an integer in {low}..{high}, got {value!r}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _one_line(text: str) -> str:
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= _REASON_LIMIT else flat[: _REASON_LIMIT - 3] + "..."


def _text(value: str) -> MessageAttributeValueTypeDef:
    return {"DataType": "String", "StringValue": value or "-"}
