"""AWS's request-rate quotas for the registration operations: one table, and its overrides.

:data:`DEFAULT_QUOTAS` is AWS's published default for every operation the library
calls, in requests per second, per account and per region. AWS raises quotas on
request, so :class:`Quotas` overrides them — from Python, from the command line
(``--quota OPERATION=RPS``), from the ``REGISTRATION_FSM_QUOTAS`` environment
variable (``"DescribeRegistrations=5,SubmitRegistrationVersion=2"``) or from a
TOML file (``--quota-file``, ``REGISTRATION_FSM_QUOTA_FILE``)::

    [quotas]                               # every account and region
    DescribeRegistrations = 2

    [quotas."123456789012/us-east-1"]      # one account in one region
    DescribeRegistrationVersions = 10

The emulator enforces them (a token bucket per account, region and operation)
and the adapters pace every request by them (:mod:`registration_fsm.pacing`).
"""

from __future__ import annotations

import enum
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from registration_fsm.errors import InvalidArgument, InvalidArgumentType, shown

#: Where the defaults were read, and when.
SOURCE = "https://docs.aws.amazon.com/sms-voice/latest/userguide/quotas.html"
READ_ON = "2026-11-28"

#: Environment variables that add overrides (see the module docstring).
ENV_QUOTAS = "REGISTRATION_FSM_QUOTAS"
ENV_QUOTA_FILE = "REGISTRATION_FSM_QUOTA_FILE"
#: Multiplies every rate (tests and benchmarks run a quota-bound workload faster;
#: what is bound by the quotas keeps its shape).
ENV_QUOTA_SCALE = "REGISTRATION_FSM_QUOTA_SCALE"


@attrs.frozen
class DefaultQuota:
    """One row of AWS's table: the operation, its default rate, and whether the row was
    read on the page (``read``) or is assumed (the page's other registration rows are
    1 request per second; the copy read ended before this row)."""

    operation: str
    rps: float
    read: bool


# fmt: off
#: AWS's default quota of each registration operation (SOURCE, read READ_ON).
TABLE: tuple[DefaultQuota, ...] = (
    DefaultQuota("CreateRegistration", 1, read=True),
    DefaultQuota("CreateRegistrationAssociation", 1, read=True),
    DefaultQuota("CreateRegistrationAttachment", 1, read=True),
    DefaultQuota("CreateRegistrationVersion", 1, read=True),
    DefaultQuota("DeleteRegistration", 1, read=True),
    DefaultQuota("DeleteRegistrationAttachment", 1, read=True),
    DefaultQuota("DeleteRegistrationFieldValue", 1, read=True),
    DefaultQuota("DescribeRegistrationAttachments", 1, read=True),
    DefaultQuota("DescribeRegistrationFieldDefinitions", 1, read=True),
    DefaultQuota("DescribeRegistrationFieldValues", 1, read=True),
    DefaultQuota("DescribeRegistrations", 1, read=True),
    DefaultQuota("DescribeRegistrationSectionDefinitions", 1, read=True),
    DefaultQuota("DescribeRegistrationTypeDefinitions", 1, read=True),
    DefaultQuota("DescribeRegistrationVersions", 1, read=False),
    DefaultQuota("DiscardRegistrationVersion", 1, read=False),
    DefaultQuota("ListRegistrationAssociations", 1, read=False),
    DefaultQuota("PutRegistrationFieldValue", 1, read=False),
    DefaultQuota("SubmitRegistrationVersion", 1, read=False),
)
# fmt: on

#: Operation name -> requests per second, AWS's defaults.
DEFAULT_QUOTAS: Mapping[str, float] = MappingProxyType({q.operation: q.rps for q in TABLE})


def check_rates(rates: Mapping[str, Any], where: str = "quotas") -> dict[str, float]:
    """``rates`` as operation -> positive finite rps, or a typed one-line error."""
    if not isinstance(rates, Mapping):
        raise InvalidArgumentType(
            f"{where} must be a mapping of operation to rps, got {shown(rates)}"
        )
    out: dict[str, float] = {}
    for operation, rate in rates.items():
        if operation not in DEFAULT_QUOTAS:
            raise InvalidArgument(
                f"{where}: unknown operation {shown(operation)}; "
                f"known: {', '.join(sorted(DEFAULT_QUOTAS))}"
            )
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise InvalidArgumentType(f"{where}: {operation} must be a number, got {shown(rate)}")
        if not math.isfinite(rate) or rate <= 0:
            raise InvalidArgument(
                f"{where}: {operation} must be a positive number of requests per second, "
                f"got {rate!r}"
            )
        out[operation] = float(rate)
    return out


def parse_overrides(texts: Iterable[str], where: str = "--quota") -> dict[str, float]:
    """``OPERATION=RPS`` strings (also comma-separated) as a checked mapping."""
    raw: dict[str, Any] = {}
    for text in texts:
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            operation, sep, number = item.partition("=")
            if not sep:
                raise InvalidArgument(f"{where}: {item!r} is not OPERATION=RPS")
            try:
                raw[operation.strip()] = float(number)
            except ValueError:
                raise InvalidArgument(f"{where}: {item!r}: {number!r} is not a number") from None
    return check_rates(raw, where)


#: The most of a quota file read (a quota file is a few lines).
MAX_QUOTA_FILE_BYTES = 1 << 20


@attrs.frozen
class Quotas:
    """Rates per (account, region, operation): AWS's defaults, then the overrides.

    ``everywhere`` applies to every account and region, ``by_place`` to one
    ``"ACCOUNT/REGION"`` (more specific wins). Use :meth:`rates` to read them.
    """

    everywhere: Mapping[str, float] = attrs.field(factory=dict)
    by_place: Mapping[str, Mapping[str, float]] = attrs.field(factory=dict)
    #: Multiplies every rate, defaults and overrides alike.
    scale: float = 1.0

    def __attrs_post_init__(self) -> None:
        check_rates(self.everywhere)
        for place, rates in self.by_place.items():
            _check_place(place)
            check_rates(rates, f"quotas for {place}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int | float):
            raise InvalidArgumentType(f"quota scale must be a number, got {shown(self.scale)}")
        if not math.isfinite(self.scale) or self.scale <= 0:
            raise InvalidArgument(f"quota scale must be a positive number, got {self.scale!r}")

    @classmethod
    def of(cls, rates: Mapping[str, float]) -> Quotas:
        """Quotas with ``rates`` overriding the defaults everywhere."""
        return cls(check_rates(rates))

    def rates(self, account: str | None = None, region: str | None = None) -> dict[str, float]:
        """Every operation's rate for one account and region (defaults where not overridden)."""
        out = {**DEFAULT_QUOTAS, **self.everywhere}
        if account is not None and region is not None:
            out.update(self.by_place.get(f"{account}/{region}", {}))
        return {op: rate * self.scale for op, rate in out.items()}

    def overridden(self, **others: Mapping[str, float]) -> Quotas:
        """These quotas with ``others["everywhere"]`` laid over (for a CLI's ``--quota``)."""
        extra = others.get("everywhere", {})
        return attrs.evolve(self, everywhere={**self.everywhere, **check_rates(extra)})

    def scaled(self, factor: float) -> Quotas:
        """These quotas with every rate multiplied by ``factor`` (on top of any scale)."""
        return attrs.evolve(self, scale=self.scale * factor)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Quotas:
        """Read a quota file (see the module docstring)."""
        where = os.fspath(path)
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_QUOTA_FILE_BYTES + 1)  # bounded: never /dev/zero whole
            if len(raw) > MAX_QUOTA_FILE_BYTES:
                raise InvalidArgument(f"{where} is larger than {MAX_QUOTA_FILE_BYTES} bytes")
            data = tomllib.loads(raw.decode("utf-8"))
        except OSError as err:
            raise InvalidArgument(f"cannot read {where}: {err.strerror or err}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InvalidArgument(f"{where} is not TOML: {err}") from None
        section = data.get("quotas", {})
        if not isinstance(section, dict):
            raise InvalidArgument(f"{where}: [quotas] must be a table")
        everywhere = {k: v for k, v in section.items() if not isinstance(v, dict)}
        places = {k: v for k, v in section.items() if isinstance(v, dict)}
        return cls(check_rates(everywhere, where), places)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Quotas:
        """The defaults with the quota file (``REGISTRATION_FSM_QUOTA_FILE``) and then the
        ``REGISTRATION_FSM_QUOTAS`` overrides laid over them."""
        env = os.environ if environ is None else environ
        quotas = cls()
        if env.get(ENV_QUOTA_FILE):
            quotas = cls.from_toml(env[ENV_QUOTA_FILE])
        if env.get(ENV_QUOTAS):
            quotas = quotas.overridden(everywhere=parse_overrides([env[ENV_QUOTAS]], ENV_QUOTAS))
        if env.get(ENV_QUOTA_SCALE):
            try:
                factor = float(env[ENV_QUOTA_SCALE])
            except ValueError:
                raise InvalidArgument(
                    f"{ENV_QUOTA_SCALE}={env[ENV_QUOTA_SCALE]!r} is not a number"
                ) from None
            quotas = quotas.scaled(factor)
        return quotas


class FromEnvironment(enum.Enum):
    """The type of :data:`FROM_ENVIRONMENT` (a default read from the environment)."""

    FROM_ENVIRONMENT = "FROM_ENVIRONMENT"


#: The usual ``quotas=`` default: AWS's defaults with the environment's overrides.
FROM_ENVIRONMENT = FromEnvironment.FROM_ENVIRONMENT

#: What ``quotas=`` takes: :class:`Quotas`, a mapping of operation to rps laid over
#: the defaults, :data:`FROM_ENVIRONMENT`, or None (no quotas).
QuotaSetting = Quotas | Mapping[str, float] | None | FromEnvironment


def rates_for(
    setting: QuotaSetting, account: str | None, region: str | None
) -> dict[str, float] | None:
    """The rates a ``quotas=`` setting gives one account and region (None: no quotas)."""
    if setting is None:
        return None
    if setting is FROM_ENVIRONMENT:
        return Quotas.from_environment().rates(account, region)
    if isinstance(setting, Quotas):
        return setting.rates(account, region)
    if isinstance(setting, Mapping):
        return Quotas.of(setting).rates(account, region)
    raise InvalidArgumentType(f"quotas must be Quotas, a mapping or None, got {shown(setting)}")


def _check_place(place: Any) -> None:
    account, sep, region = place.partition("/") if isinstance(place, str) else ("", "", "")
    if not sep or len(account) != 12 or not account.isdigit() or not region:
        raise InvalidArgument(
            f"quotas: {shown(place)} is not ACCOUNT/REGION (12 digits, a slash, a region)"
        )


__all__ = [
    "DEFAULT_QUOTAS",
    "ENV_QUOTAS",
    "ENV_QUOTA_FILE",
    "ENV_QUOTA_SCALE",
    "FROM_ENVIRONMENT",
    "READ_ON",
    "SOURCE",
    "TABLE",
    "DefaultQuota",
    "FromEnvironment",
    "QuotaSetting",
    "Quotas",
    "check_rates",
    "parse_overrides",
    "rates_for",
]
