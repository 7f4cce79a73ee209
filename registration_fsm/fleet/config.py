"""The fleet file: which accounts and regions to follow, and how a worker reaches each.

A TOML file (``examples/fleet.toml`` is a complete, commented one)::

    [defaults]                  # optional; every key optional
    retry_mode = "standard"     # botocore's: legacy, standard, adaptive
    max_attempts = 3            # calls per request, the first included
    connect_timeout = 10        # seconds
    read_timeout = 30           # seconds
    lease_seconds = 30          # a worker's lease on a shard (renewed at a third of it)
    sync_interval = 60          # seconds from the end of a pass of a shard to its next
    field_values = "submitted"  # the Synchronizer's: submitted, all, drafts, off

    [[shard]]                   # one per account and region
    account = "111122223333"
    region = "us-east-1"
    profile = "customer-a"      # optional: a profile of ~/.aws/config (else the default chain)
    role_arn = "arn:aws:iam::111122223333:role/RegistrationSync"   # optional: assumed through STS
    external_id = "..."         # optional, only with role_arn
    duration_seconds = 3600     # optional, only with role_arn: 900..43200
    sts_endpoint_url = "..."    # optional, only with role_arn: another STS (moto's, in tests)
    endpoint_url = "..."        # optional: another SMS endpoint (the emulator)
    events_queue_url = "..."    # optional: an SQS queue of this shard's EventBridge events
    sqs_endpoint_url = "..."    # optional, only with events_queue_url: another SQS (moto's)
    [shard.quotas]              # optional: OPERATION = requests per second, this shard only
    DescribeRegistrations = 5

Every refusal is one line naming the file, the shard (``[[shard]] #2
(111122223333/us-east-1)``, counted from 1) and the problem; unknown keys are
refused, never ignored. :func:`connect` builds a paced
:class:`~registration_fsm.adapters.boto3_api.Boto3RegistrationApi` for one shard.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from registration_fsm.adapters.boto3_api import RETRY_MODES, Boto3RegistrationApi
from registration_fsm.adapters.boto3_errors import require_module
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown
from registration_fsm.quotas import Quotas, check_rates
from registration_fsm.sync.pull import FIELD_VALUE_MODES

if TYPE_CHECKING:
    import boto3.session
    import botocore.session
    from botocore.client import BaseClient
    from botocore.credentials import Credentials

__all__ = [
    "MAX_FLEET_FILE_BYTES",
    "FleetConfig",
    "FleetDefaults",
    "SessionFactory",
    "ShardConfig",
    "connect",
    "shard_session",
]

#: The most of a fleet file read: some 20,000 shards (a quota file's bound, 1 MiB,
#: would stop a platform with an account per customer at about 5,000).
MAX_FLEET_FILE_BYTES = 1 << 22

#: Makes the botocore session for a profile (None: the default credential chain).
#: Called anew for each session :func:`shard_session` needs; must return a new one
#: each time (botocore sessions are not thread-safe). Default:
#: ``botocore.session.Session(profile=profile)``.
SessionFactory = Callable[[str | None], "botocore.session.Session"]

# The patterns are botocore's service models': IAM's pathType and roleNameType (a role
# ARN is arn:PARTITION:iam::ACCOUNT:role/PATH/NAME,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html) and STS
# AssumeRole's ExternalId (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[\x21-\x7e]{1,510}/)?)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
#: AssumeRole's DurationSeconds bounds (the role's own maximum may be lower).
_DURATION = (900, 43200)
#: The longest a lease, a sync interval or a timeout may be, in seconds.
_DAY = 86400.0
_MAX_ATTEMPTS = 100


def _seconds(name: str, value: Any, high: float = _DAY) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentType(f"{name} must be a number of seconds, got {shown(value)}")
    if not (math.isfinite(value) and 0 < value <= high):
        raise InvalidArgument(
            f"{name} must be more than 0 and at most {high:g} seconds, got {value!r}"
        )


def _text(name: str, value: Any, limit: int = 256) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{name} must be text, got {shown(value)}")
    if not value or len(value) > limit or not value.isprintable() or value.strip() != value:
        raise InvalidArgument(
            f"{name} must be 1-{limit} printable characters without surrounding spaces, "
            f"got {shown(value)}"
        )


def _url(name: str, value: Any) -> None:
    _text(name, value, 2048)
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises ValueError
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable or any(c.isspace() for c in value):
        raise InvalidArgument(f"{name} must be an http:// or https:// URL, got {shown(value)}")


def _frozen_rates(rates: Mapping[str, Any]) -> Mapping[str, float]:
    return MappingProxyType(check_rates(rates, "quotas"))


@attrs.frozen
class FleetDefaults:
    """The ``[defaults]`` table: settings every shard's worker uses."""

    #: botocore's retry mode: legacy, standard or adaptive.
    retry_mode: str = "standard"
    #: Calls botocore makes per request at most, the first included (1..100).
    max_attempts: int = 3
    #: Seconds to wait for a connection, and for an answer (at most a day).
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    #: How long a worker's lease on a shard lasts, in seconds (renewed at a third of it).
    lease_seconds: float = 30.0
    #: Seconds from the end of a pass of a shard (an incremental sync, then its queued
    #: events) to the start of the next.
    sync_interval: float = 60.0
    #: The Synchronizer's ``field_values``: submitted, all, drafts or off.
    field_values: str = "submitted"

    def __attrs_post_init__(self) -> None:
        if self.retry_mode not in RETRY_MODES:
            raise InvalidArgument(
                f"retry_mode must be one of {', '.join(RETRY_MODES)}, got {shown(self.retry_mode)}"
            )
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise InvalidArgumentType(f"max_attempts must be an integer, got {shown(attempts)}")
        if not 1 <= attempts <= _MAX_ATTEMPTS:
            raise InvalidArgument(f"max_attempts must be in 1..{_MAX_ATTEMPTS}, got {attempts!r}")
        _seconds("connect_timeout", self.connect_timeout)
        _seconds("read_timeout", self.read_timeout)
        _seconds("lease_seconds", self.lease_seconds)
        _seconds("sync_interval", self.sync_interval)
        if self.field_values not in FIELD_VALUE_MODES:
            raise InvalidArgument(
                f"field_values must be one of {', '.join(FIELD_VALUE_MODES)}, "
                f"got {shown(self.field_values)}"
            )

    @property
    def renew_seconds(self) -> float:
        """How often a worker renews its lease: a third of :attr:`lease_seconds`."""
        return self.lease_seconds / 3


@attrs.frozen
class ShardConfig:
    """One ``[[shard]]`` table: an account and region, and how to reach it.

    Credentials: ``profile``'s (None: boto3's default chain); with ``role_arn``, those
    only call STS AssumeRole and the shard is reached with the role's credentials.
    """

    shard: Shard
    #: A profile of the AWS config files (None: the default credential chain).
    profile: str | None = None
    #: ``arn:PARTITION:iam::ACCOUNT:role/NAME`` in the shard's account, assumed through STS.
    role_arn: str | None = None
    #: AssumeRole's ExternalId (only with ``role_arn``).
    external_id: str | None = None
    #: Another endpoint for the SMS API (the emulator, say).
    endpoint_url: str | None = None
    #: An SQS queue of this shard's EventBridge events.
    events_queue_url: str | None = None
    #: Operation -> requests per second, overriding the quotas for this shard only.
    quotas: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_rates, hash=False)
    #: Another STS endpoint for AssumeRole (moto's, in tests; only with ``role_arn``).
    sts_endpoint_url: str | None = None
    #: Another SQS endpoint for ``events_queue_url`` (moto's, in tests).
    sqs_endpoint_url: str | None = None
    #: AssumeRole's DurationSeconds, 900..43200 (None: STS's default, an hour).
    duration_seconds: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.shard, Shard):
            raise InvalidArgumentType(f"shard must be a Shard, got {shown(self.shard)}")
        Shard.of(self.shard.account, self.shard.region)
        if self.profile is not None:
            _text("profile", self.profile)
        for name in ("endpoint_url", "events_queue_url", "sts_endpoint_url", "sqs_endpoint_url"):
            if getattr(self, name) is not None:
                _url(name, getattr(self, name))
        if self.role_arn is None:
            for name in ("external_id", "sts_endpoint_url", "duration_seconds"):
                if getattr(self, name) is not None:
                    raise InvalidArgument(
                        f"{name} is given without role_arn: nothing assumes a role"
                    )
        else:
            _text("role_arn", self.role_arn, 2048)
            found = _ROLE_ARN.fullmatch(self.role_arn)
            if found is None:
                raise InvalidArgument(
                    "role_arn must be arn:PARTITION:iam::ACCOUNT:role/NAME, "
                    f"got {shown(self.role_arn)}"
                )
            if found["account"] != self.shard.account:
                raise InvalidArgument(
                    f"role_arn names account {found['account']}, not the shard's "
                    f"{self.shard.account} (assume a role in the account to be synced)"
                )
        if self.external_id is not None:
            _text("external_id", self.external_id, 1224)
            if not _EXTERNAL_ID.fullmatch(self.external_id):
                raise InvalidArgument(
                    "external_id must be 2-1224 characters of [A-Za-z0-9_+=,.@:/-], "
                    f"got {shown(self.external_id)}"
                )
        duration = self.duration_seconds
        if duration is not None:
            low, high = _DURATION
            if isinstance(duration, bool) or not isinstance(duration, int):
                raise InvalidArgumentType(
                    f"duration_seconds must be an integer, got {shown(duration)}"
                )
            if not low <= duration <= high:
                raise InvalidArgument(
                    f"duration_seconds must be in {low}..{high}, got {duration!r}"
                )
        if self.sqs_endpoint_url is not None and self.events_queue_url is None:
            raise InvalidArgument("sqs_endpoint_url is given without events_queue_url")


def _shard_tuple(shards: Iterable[ShardConfig]) -> tuple[ShardConfig, ...]:
    if isinstance(shards, str | bytes | Mapping) or not isinstance(shards, Iterable):
        raise InvalidArgumentType(f"shards must be a sequence of ShardConfig, got {shown(shards)}")
    return tuple(shards)


@attrs.frozen
class FleetConfig:
    """A fleet file: the defaults, and the shards (at least one, each once)."""

    defaults: FleetDefaults
    shards: tuple[ShardConfig, ...] = attrs.field(converter=_shard_tuple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.defaults, FleetDefaults):
            raise InvalidArgumentType(f"defaults must be FleetDefaults, got {shown(self.defaults)}")
        if not self.shards:
            raise InvalidArgument("no shards: a fleet follows at least one account and region")
        first: dict[Shard, int] = {}
        for number, config in enumerate(self.shards, 1):
            if not isinstance(config, ShardConfig):
                raise InvalidArgumentType(
                    f"shard #{number} must be a ShardConfig, got {shown(config)}"
                )
            if config.shard in first:
                raise InvalidArgument(
                    f"shard #{number} ({config.shard}) is the same account and region "
                    f"as shard #{first[config.shard]}"
                )
            first[config.shard] = number

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> FleetConfig:
        """Read a fleet file (see the module docstring); :class:`InvalidArgument` if bad."""
        where = os.fspath(path)
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_FLEET_FILE_BYTES + 1)  # bounded: never /dev/zero whole
        except OSError as err:
            raise InvalidArgument(f"{where}: cannot read it: {err.strerror or err}") from None
        if len(raw) > MAX_FLEET_FILE_BYTES:
            raise InvalidArgument(f"{where}: larger than {MAX_FLEET_FILE_BYTES} bytes")
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InvalidArgument(f"{where}: not TOML: {_one_line(str(err))}") from None
        except RecursionError:  # tomllib recurses into nested arrays and tables
            raise InvalidArgument(
                f"{where}: not TOML: arrays or tables nested too deeply"
            ) from None
        return cls.from_mapping(data, where)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "fleet config") -> FleetConfig:
        """The fleet a parsed file (or a dict of the same shape) describes; ``where``
        starts every error message (the file's name)."""
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"{where}: a fleet config is a table, got {shown(data)}")
        _known_keys(data, ("defaults", "shard"), where)
        defaults_data = data.get("defaults", {})
        if not isinstance(defaults_data, Mapping):
            raise InvalidArgument(f"{where}: defaults must be a table ([defaults])")
        _known_keys(
            defaults_data, [f.name for f in attrs.fields(FleetDefaults)], f"{where}: [defaults]"
        )
        try:
            defaults = FleetDefaults(**defaults_data)
        except (InvalidArgument, InvalidArgumentType) as err:
            raise InvalidArgument(f"{where}: [defaults]: {err}") from None
        tables = data.get("shard", [])
        if isinstance(tables, Mapping | str | bytes) or not isinstance(tables, Sequence):
            raise InvalidArgument(f"{where}: shard must be an array of tables: write [[shard]]")
        if not tables:
            raise InvalidArgument(
                f"{where}: no [[shard]] tables: a fleet follows at least one account and region"
            )
        shards: list[ShardConfig] = []
        first: dict[Shard, int] = {}
        for number, table in enumerate(tables, 1):
            config = _shard_config(table, f"{where}: [[shard]] #{number}")
            if config.shard in first:
                raise InvalidArgument(
                    f"{where}: [[shard]] #{number} ({config.shard}): the same account and "
                    f"region as [[shard]] #{first[config.shard]}"
                )
            first[config.shard] = number
            shards.append(config)
        return cls(defaults, tuple(shards))

    def find(self, shard: Shard | str) -> ShardConfig:
        """The configuration of ``shard`` (a Shard or ``ACCOUNT/REGION``)."""
        wanted = shard if isinstance(shard, Shard) else Shard.parse(shard)
        for config in self.shards:
            if config.shard == wanted:
                return config
        raise InvalidArgument(f"{wanted} is not a shard of the fleet")

    def quotas(self, base: Quotas) -> Quotas:
        """``base`` with each shard's ``[shard.quotas]`` laid over its place (``by_place``):
        a shard's overrides apply to it alone, and win over ``base``'s for that place."""
        return _laid_over(base, self.shards)


def _laid_over(base: Quotas, shards: Iterable[ShardConfig]) -> Quotas:
    if not isinstance(base, Quotas):
        raise InvalidArgumentType(f"quotas must be Quotas, got {shown(base)}")
    places = {place: dict(rates) for place, rates in base.by_place.items()}
    for config in shards:
        if config.quotas:
            place = str(config.shard)
            places[place] = {**places.get(place, {}), **config.quotas}
    return attrs.evolve(base, by_place=places)


_SHARD_KEYS = tuple(f.name for f in attrs.fields(ShardConfig) if f.name != "shard")


def _shard_config(table: Any, where: str) -> ShardConfig:
    if not isinstance(table, Mapping):
        raise InvalidArgument(f"{where}: a shard is a table, got {shown(table)}")
    account, region = table.get("account"), table.get("region")
    if account is None or region is None:
        missing = " and ".join(k for k in ("account", "region") if table.get(k) is None)
        raise InvalidArgument(f"{where}: {missing} missing (every shard names both)")
    if not isinstance(account, str):
        raise InvalidArgument(
            f"{where}: account must be quoted text (12 digits; as a number it loses "
            f"leading zeros), got {shown(account)}"
        )
    try:
        shard = Shard.of(account, region)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise InvalidArgument(f"{where}: {err}") from None
    where = f"{where} ({shard})"
    _known_keys(table, ("account", "region", *_SHARD_KEYS), where)
    settings = {k: v for k, v in table.items() if k not in ("account", "region")}
    if "quotas" in settings and not isinstance(settings["quotas"], Mapping):
        raise InvalidArgument(f"{where}: quotas must be a table ([shard.quotas])")
    try:
        return ShardConfig(shard, **settings)
    except (InvalidArgument, InvalidArgumentType) as err:
        raise InvalidArgument(f"{where}: {err}") from None


def _known_keys(table: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    names = list(known)
    for key in table:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(names)}"
            raise InvalidArgument(f"{where}: unknown key {shown(key)} ({hint})")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- reaching a shard --------------------------------------------------------------


def _role_session_name(shard: Shard) -> str:
    return f"registration-fsm-{shard.account}"


def _default_session(profile: str | None) -> botocore.session.Session:
    botocore_session = require_module("botocore.session")
    session: botocore.session.Session = botocore_session.Session(profile=profile)
    return session


def shard_session(
    config: ShardConfig, *, session_factory: SessionFactory | None = None
) -> boto3.session.Session:
    """A boto3 session whose credentials reach ``config``'s shard: the profile's (or
    the default chain's), or with ``role_arn`` the role's, assumed on first use and
    refreshed before they expire. Its region is the profile's: clients name theirs.

    Raises :class:`InvalidArgument` (naming the shard) for an unknown profile or no
    credentials to assume the role with; AssumeRole itself is called on first use.
    """
    if not isinstance(config, ShardConfig):
        raise InvalidArgumentType(f"expected a ShardConfig, got {shown(config)}")
    boto3_module = require_module("boto3")
    exceptions = require_module("botocore.exceptions")
    factory = session_factory if session_factory is not None else _default_session
    try:
        target = factory(config.profile)
        if config.role_arn is not None:
            _assume_role(target, factory(config.profile), config, config.role_arn)
        session: boto3.session.Session = boto3_module.session.Session(botocore_session=target)
    except exceptions.BotoCoreError as err:
        raise InvalidArgument(f"{config.shard}: {_one_line(str(err))}") from err
    return session


def _assume_role(
    target: botocore.session.Session,
    source: botocore.session.Session,
    config: ShardConfig,
    role_arn: str,
) -> None:
    """Give ``target`` the role's credentials, fetched with ``source``'s.

    botocore has no public call for this (boto/botocore#761 is open since 2016); the
    route taken is the one botocore itself takes for a profile with ``role_arn``
    (``AssumeRoleProvider``): an ``AssumeRoleCredentialFetcher`` behind
    ``DeferredRefreshableCredentials``, so every boto3 user of role profiles runs this
    code. It assumes the role on first use and again when under 15 minutes remain
    (botocore's refresh windows; one thread refreshes, the others wait only at the
    last 10), with ``source``'s credentials read afresh each time, so refreshable
    source credentials (SSO, instance roles) stay valid. The credentials reach
    ``target`` through its public ``credential_provider`` component, not by setting
    its private ``_credentials``.
    """
    require_module("botocore.credentials")
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        CredentialResolver,
        DeferredRefreshableCredentials,
    )

    source_credentials = source.get_credentials()
    if source_credentials is None:
        raise InvalidArgument(
            f"{config.shard}: no AWS credentials to assume {role_arn} with "
            f"({'profile ' + repr(config.profile) if config.profile else 'the default chain'} "
            "has none)"
        )
    region, sts_endpoint = config.shard.region, config.sts_endpoint_url

    def create_client(service_name: str, **kwargs: Any) -> BaseClient:
        # The fetcher passes the source's credentials; the STS is the shard region's.
        return source.create_client(
            service_name, region_name=region, endpoint_url=sts_endpoint, **kwargs
        )

    extra: dict[str, Any] = {"RoleSessionName": _role_session_name(config.shard)}
    if config.external_id is not None:
        extra["ExternalId"] = config.external_id
    if config.duration_seconds is not None:
        extra["DurationSeconds"] = config.duration_seconds
    fetcher = AssumeRoleCredentialFetcher(
        create_client, source_credentials, role_arn, extra_args=extra
    )
    credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    provider = _provider_class()(credentials)
    target.register_component("credential_provider", CredentialResolver([provider]))


@functools.cache
def _provider_class() -> type[Any]:
    """A botocore credential provider that hands out one credentials object (made on
    first use: botocore is imported only when a shard is reached)."""
    from botocore.credentials import CredentialProvider

    class Provided(CredentialProvider):
        METHOD = "registration-fsm-assume-role"
        # botocore asks providers it did not write to prefix their names with "custom".
        CANONICAL_NAME = "custom-registration-fsm-assume-role"

        def __init__(self, credentials: Credentials) -> None:
            super().__init__()
            self._credentials = credentials

        def load(self) -> Credentials:
            return self._credentials

    return Provided


def connect(
    shard_config: ShardConfig,
    defaults: FleetDefaults,
    *,
    quotas: Quotas,
    session_factory: SessionFactory | None = None,
) -> Boto3RegistrationApi:
    """A paced adapter for one shard: its region, its endpoint, the credentials of
    :func:`shard_session`, botocore's retries and timeouts from ``defaults``, and the
    rates ``quotas`` gives the shard's account and region (with the shard's own
    ``[shard.quotas]`` laid over, as :meth:`FleetConfig.quotas` does).

    Makes no request: a role is assumed on the first call. :class:`InvalidArgument`
    (naming the shard) for a setting or profile that cannot be used.
    """
    if not isinstance(shard_config, ShardConfig):
        raise InvalidArgumentType(f"expected a ShardConfig, got {shown(shard_config)}")
    if not isinstance(defaults, FleetDefaults):
        raise InvalidArgumentType(f"defaults must be FleetDefaults, got {shown(defaults)}")
    paced = _laid_over(quotas, [shard_config])
    session = shard_session(shard_config, session_factory=session_factory)
    shard = shard_config.shard
    try:
        return Boto3RegistrationApi.from_config(
            session=session,
            region=shard.region,
            endpoint_url=shard_config.endpoint_url,
            retry_mode=defaults.retry_mode,
            max_attempts=defaults.max_attempts,
            connect_timeout=defaults.connect_timeout,
            read_timeout=defaults.read_timeout,
            quotas=paced,
            account=shard.account,
        )
    except InvalidArgument as err:
        raise InvalidArgument(f"{shard}: {err}") from err
