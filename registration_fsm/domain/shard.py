"""Shards: the (account, region) pairs AWS keeps registrations and quotas in.

A registration's ARN names both (``arn:aws:sms-voice:REGION:ACCOUNT:registration/ID``,
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsendusermessagingsmsandvoicev2.html),
and AWS's request quotas are per account and region
(https://docs.aws.amazon.com/sms-voice/latest/userguide/quotas.html), so the pair is
both the key that keeps two accounts' registrations apart in one store and the unit
a fleet of workers leases.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown

_ACCOUNT = re.compile(r"\d{12}")
# AWS region names: partition-area-number, e.g. us-east-1, ap-southeast-2, us-gov-west-1.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


@attrs.frozen(order=True)
class Shard:
    """One AWS account in one region; ``str()`` is ``ACCOUNT/REGION``.

    :data:`UNKNOWN` (both empty) is the shard of a registration whose ARN is not an
    AWS ARN (hand-made registrations in tests, stores written before shards).
    """

    account: str
    region: str

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``ACCOUNT/REGION`` (12 digits, a slash, a region name); :class:`InvalidArgument`."""
        if not isinstance(text, str):
            raise InvalidArgumentType(f"a shard is ACCOUNT/REGION text, got {shown(text)}")
        account, sep, region = text.partition("/")
        return cls.of(account, region) if sep else cls.of(text, "")

    @classmethod
    def of(cls, account: str, region: str) -> Shard:
        """A checked shard: a 12-digit account and an AWS region name."""
        for name, value in (("account", account), ("region", region)):
            if not isinstance(value, str):
                raise InvalidArgumentType(f"a shard's {name} must be text, got {shown(value)}")
        if not _ACCOUNT.fullmatch(account):
            raise InvalidArgument(f"an AWS account id is 12 digits, got {shown(account)}")
        if not _REGION.fullmatch(region):
            raise InvalidArgument(f"not an AWS region name (like us-east-1): {shown(region)}")
        return cls(account, region)

    @classmethod
    def of_arn(cls, arn: str) -> Shard:
        """The account and region an ARN names (as written); :data:`UNKNOWN` if it is
        not ``arn:PARTITION:SERVICE:REGION:ACCOUNT:...``."""
        parts = arn.split(":", 5) if isinstance(arn, str) else []
        if len(parts) < 6 or parts[0] != "arn":
            return UNKNOWN
        return cls(parts[4], parts[3])

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


#: The shard of a registration whose ARN names none.
UNKNOWN: Final = Shard("", "")
