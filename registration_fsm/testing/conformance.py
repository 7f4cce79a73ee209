"""One conformance suite for every :class:`~registration_fsm.ports.RegistrationApi`
and its :class:`~registration_fsm.ports.FormsApi`.

A :class:`ConformanceTarget` pairs an API with ``advance``, which plays AWS's
part (``advance(registration_id, "begin_review" | "approve" | "deny", **details)``).
Each scenario in :data:`SCENARIOS` takes a fresh target and raises
:class:`ConformanceError` when the API misbehaves; every response is also
parsed with :meth:`Registration.from_api` / :meth:`RegistrationVersion.from_api`.

The form scenarios (:data:`FORM_SCENARIOS`) need more of a target: its ``api``
also implements ``FormsApi``, it serves the shipped catalogue's
``US_TEN_DLC_BRAND_REGISTRATION`` and ``US_TOLL_FREE_REGISTRATION`` forms
(``EmulatedRegistrationApi(catalog=Catalog.builtin())``), and ``add_identity``
gives the account an origination identity, as buying a number does. For any
other target they are reported not applicable (never run, never passed). The
lifecycle scenarios fill in a form before they submit whenever the API
describes the registration type's form, so one target serves both.

::

    from registration_fsm.testing.conformance import ConformanceTarget, check_adapter_conformance

    def factory():
        emu = EmulatedRegistrationApi(catalog=Catalog.builtin())
        return ConformanceTarget(
            api=emu, advance=emu.advance, add_identity=emu.add_origination_identity
        )

    check_adapter_conformance(factory)   # raises ConformanceFailed listing every failure

``factory`` may also return a context manager yielding the target (for
targets that need cleanup, such as a served emulator).
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs

from registration_fsm.domain.forms import Catalog, FieldType, FieldValue, FieldValues
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.version import RegistrationVersion
from registration_fsm.errors import (
    ApiValidationError,
    ConflictError,
    ConformanceError,
    ConformanceFailed,
    InvalidApiData,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    NotFoundError,
)
from registration_fsm.ports import FormsApi, RegistrationApi
from registration_fsm.sync.forms import (
    EXAMPLE_PDF,
    FormApi,
    capture_catalog,
    fill_form,
    read_field_values,
)

__all__ = [
    "FORM_SCENARIOS",
    "SCENARIOS",
    "ConformanceError",
    "ConformanceFailed",
    "ConformanceReport",
    "ConformanceTarget",
    "ScenarioFailure",
    "check_adapter_conformance",
    "not_applicable",
    "run_scenario",
]

E = TypeVar("E", bound=BaseException)

#: Scenario name -> check; each runs against a fresh target.
SCENARIOS: dict[str, Callable[[ConformanceTarget], None]] = {}
_NEEDS_FORMS: set[str] = set()

_DENIED_REASONS = [
    {"Reason": "INVALID_BRAND", "ShortDescription": "The brand could not be verified."}
]
_MALFORMED_IDS: tuple[Any, ...] = ("", "has space", "x" * 257, "bad\u2603", None, 7)
#: The shipped types the form scenarios use (as :meth:`Catalog.builtin` defines them).
BRAND: Final = "US_TEN_DLC_BRAND_REGISTRATION"
TOLL_FREE: Final = "US_TOLL_FREE_REGISTRATION"


@attrs.frozen
class ConformanceTarget:
    """An API under test and the hooks that play AWS's part.

    ``advance(registration_id, trigger, **details)`` applies an AWS-side event to
    the current version: ``begin_review``, ``approve``, ``deny`` (details
    ``denied_reasons=[{"Reason": ..., "ShortDescription": ...}]``, ``feedback=``).
    ``registration_types`` are two distinct types the API accepts; the first must
    be submittable once its form (if any) is filled in, with no association.
    ``add_identity(resource_type, *, iso_country_code="US", phone_number=None,
    number_type=None)`` gives the account an origination identity and returns its
    RegistrationAssociationMetadata (``ResourceId``...), as
    ``EmulatedRegistrationApi.add_origination_identity`` does; the form scenarios
    need it.
    """

    api: RegistrationApi
    advance: Callable[..., object]
    registration_types: tuple[str, str] = (BRAND, TOLL_FREE)
    name: str = "target"
    add_identity: Callable[..., Mapping[str, Any]] | None = None

    @property
    def registration_type(self) -> str:
        """The type scenarios create registrations with."""
        return self.registration_types[0]

    @property
    def serves_forms(self) -> bool:
        """Whether the form scenarios apply: a FormsApi and ``add_identity``."""
        return self.add_identity is not None and isinstance(self.api, FormsApi)


@attrs.frozen
class ScenarioFailure:
    """A failed scenario: its name and what it raised."""

    scenario: str
    error: BaseException

    def __str__(self) -> str:
        detail = "".join(traceback.format_exception_only(type(self.error), self.error)).strip()
        return f"{self.scenario}: {detail}"


@attrs.frozen
class ConformanceReport:
    """The outcome of :func:`check_adapter_conformance`: ``not_applicable`` holds
    (scenario, why) for the scenarios the target cannot run (none of them ran)."""

    passed: tuple[str, ...]
    failures: tuple[ScenarioFailure, ...]
    not_applicable: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every scenario that applies passed."""
        return not self.failures

    def __str__(self) -> str:
        total = len(self.passed) + len(self.failures)
        head = f"{len(self.passed)}/{total} conformance scenarios passed"
        if self.not_applicable:
            whys = sorted({why for _, why in self.not_applicable})
            head += f"; {len(self.not_applicable)} not applicable ({'; '.join(whys)})"
        return "\n  ".join([head, *(str(f) for f in self.failures)])


# -- running ---------------------------------------------------------------

TargetSource = ConformanceTarget | AbstractContextManager[ConformanceTarget]


def _enter(source: TargetSource) -> AbstractContextManager[ConformanceTarget]:
    if isinstance(source, ConformanceTarget):
        return nullcontext(source)
    if isinstance(source, AbstractContextManager):
        return source
    raise ConformanceError(
        f"the factory must return a ConformanceTarget or a context manager, got {source!r}"
    )


def not_applicable(name: str, target: ConformanceTarget) -> str | None:
    """Why scenario ``name`` cannot run against ``target``, or None if it can."""
    if name not in _NEEDS_FORMS or target.serves_forms:
        return None
    lacks = [] if isinstance(target.api, FormsApi) else ["its api is not a FormsApi"]
    if target.add_identity is None:
        lacks.append("it has no add_identity")
    return f"needs a target serving forms: {' and '.join(lacks)}"


def run_scenario(name: str, factory: Callable[[], TargetSource]) -> str | None:
    """Run scenario ``name`` against a fresh target from ``factory``; raises on failure.

    Returns None when it ran and passed, else why it does not apply to the target
    (:func:`not_applicable`; nothing was run).
    """
    try:
        check = SCENARIOS[name]
    except KeyError:
        raise ConformanceError(
            f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
        ) from None
    with _enter(factory()) as target:
        if not isinstance(target.api, RegistrationApi):
            raise ConformanceError(f"{target.api!r} does not implement RegistrationApi")
        why = not_applicable(name, target)
        if why is None:
            check(target)
        return why


def check_adapter_conformance(
    factory: Callable[[], TargetSource],
    *,
    scenarios: Sequence[str] | None = None,
    raise_on_failure: bool = True,
) -> ConformanceReport:
    """Run every scenario (or those named) against fresh targets; report all failures,
    and the scenarios that do not apply to the target.

    Raises :class:`ConformanceFailed` (an AssertionError) listing every failed
    scenario unless ``raise_on_failure`` is false.
    """
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    passed: list[str] = []
    failures: list[ScenarioFailure] = []
    skipped: list[tuple[str, str]] = []
    for name in names:
        try:
            why = run_scenario(name, factory)
        except Exception as err:
            failures.append(ScenarioFailure(name, err))
        else:
            if why is None:
                passed.append(name)
            else:
                skipped.append((name, why))
    report = ConformanceReport(tuple(passed), tuple(failures), tuple(skipped))
    if failures and raise_on_failure:
        raise ConformanceFailed(report)
    return report


def scenario(func: Callable[[ConformanceTarget], None]) -> Callable[[ConformanceTarget], None]:
    """Register ``func`` in :data:`SCENARIOS` under its name."""
    SCENARIOS[func.__name__] = func
    return func


def form_scenario(
    func: Callable[[ConformanceTarget], None],
) -> Callable[[ConformanceTarget], None]:
    """Register ``func`` as a scenario that needs a target serving forms."""
    _NEEDS_FORMS.add(func.__name__)
    return scenario(func)


# -- checks ------------------------------------------------------------------


def _ensure(condition: object, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def _raises(
    expected: type[E] | tuple[type[E], ...],
    call: Callable[[], object],
    what: str,
    reason: str | None = None,
) -> E:
    try:
        result = call()
        if isinstance(result, Iterator):
            list(result)
    except expected as err:
        if reason is not None:
            got = getattr(err, "reason", None)
            _ensure(got == reason, f"{what}: expected reason {reason}, got {got!r} ({err})")
        return err
    except Exception as err:
        raise ConformanceError(
            f"{what}: expected {_names(expected)}, got {type(err).__name__}: {err}"
        ) from err
    raise ConformanceError(f"{what}: expected {_names(expected)}, nothing was raised")


def _names(expected: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(k.__name__ for k in kinds)


def _parse(kind: str, build: Callable[[], Any]) -> Any:
    try:
        parsed = build()
    except InvalidApiData as err:
        raise ConformanceError(f"{kind} does not parse: {err}") from err
    anomalies = getattr(parsed, "anomalies", ())
    _ensure(not anomalies, f"{kind} is inconsistent: {'; '.join(map(str, anomalies))}")
    return parsed


def _aware(value: Any, what: str) -> None:
    _ensure(
        isinstance(value, datetime) and value.utcoffset() is not None,
        f"{what} must be a timezone-aware datetime, got {value!r}",
    )


def _result(response: Mapping[str, Any], what: str) -> RegistrationVersion:
    """A Create/Submit/DiscardRegistrationVersion result, parsed."""
    _ensure("ResponseMetadata" not in response, f"{what} leaks ResponseMetadata")
    for key, stamp in response.get("RegistrationVersionStatusHistory", {}).items():
        _aware(stamp, f"{what}.{key}")
    version: RegistrationVersion = _parse(what, lambda: RegistrationVersion.from_api(response))
    return version


def _info(target: ConformanceTarget, reg_id: str) -> dict[str, Any]:
    found = list(target.api.describe_registrations(registration_ids=[reg_id]))
    _ensure(len(found) == 1, f"describe_registrations([{reg_id}]) gave {len(found)} items")
    info = found[0]
    _ensure(info.get("RegistrationId") == reg_id, f"asked for {reg_id}, got {info!r}")
    return info


def _versions(target: ConformanceTarget, reg_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(target.api.describe_registration_versions(reg_id, **kwargs))


def _registration(target: ConformanceTarget, reg_id: str) -> Registration:
    """The registration and all its versions, parsed and checked for consistency."""
    info = _info(target, reg_id)
    _aware(info.get("CreatedTimestamp"), "CreatedTimestamp")
    versions = _versions(target, reg_id)
    numbers = [v.get("VersionNumber") for v in versions]
    _ensure(len(set(numbers)) == len(numbers), f"versions listed twice: {numbers}")
    for v in versions:
        for key, stamp in v.get("RegistrationVersionStatusHistory", {}).items():
            _aware(stamp, f"v{v.get('VersionNumber')}.{key}")
    reg: Registration = _parse(
        f"registration {reg_id}", lambda: Registration.from_api(info, versions)
    )
    return reg


def _create(target: ConformanceTarget, registration_type: str | None = None) -> str:
    reg_type = registration_type or target.registration_type
    result = target.api.create_registration(reg_type)
    _ensure("ResponseMetadata" not in result, "CreateRegistration leaks ResponseMetadata")
    reg_id = result.get("RegistrationId")
    _ensure(isinstance(reg_id, str), f"CreateRegistration gave no RegistrationId: {result!r}")
    return str(reg_id)


def _status(target: ConformanceTarget, reg_id: str, number: int | None = None) -> str:
    reg = _registration(target, reg_id)
    version = reg.current_version if number is None else reg.versions[number]
    return version.status.to_api()


def _submit(target: ConformanceTarget, reg_id: str, *, aws_review: bool = False) -> dict[str, Any]:
    """Submit the current version, first filling in its form if the API describes one."""
    api = target.api
    if isinstance(api, FormsApi):
        reg_type = _info(target, reg_id)["RegistrationType"]
        if list(api.describe_registration_type_definitions(registration_types=[reg_type])):
            fill_form(api, reg_id)
    return api.submit_registration_version(reg_id, aws_review=aws_review)


def _to_reviewing(target: ConformanceTarget, reg_id: str, *, aws_review: bool = False) -> None:
    _submit(target, reg_id, aws_review=aws_review)
    target.advance(reg_id, "begin_review")


def _approve_current(target: ConformanceTarget, reg_id: str) -> None:
    _to_reviewing(target, reg_id)
    target.advance(reg_id, "approve")


def _unknown_id() -> str:
    return f"registration-{uuid.uuid4().hex}"


def _by_id(api: RegistrationApi, reg_id: Any) -> dict[str, Callable[[], object]]:
    """Every operation that takes a registration id, bound to ``reg_id``."""
    return {
        "describe_registrations": lambda: api.describe_registrations(registration_ids=[reg_id]),
        "describe_registration_versions": lambda: api.describe_registration_versions(reg_id),
        "create_registration_version": lambda: api.create_registration_version(reg_id),
        "submit_registration_version": lambda: api.submit_registration_version(reg_id),
        "discard_registration_version": lambda: api.discard_registration_version(reg_id),
        "delete_registration": lambda: api.delete_registration(reg_id),
    }


# -- scenarios ---------------------------------------------------------------


@scenario
def create_makes_draft_version_one(target: ConformanceTarget) -> None:
    """CreateRegistration: registration CREATED, version 1 DRAFT with DraftTimestamp."""
    result = target.api.create_registration(target.registration_type)
    _ensure("ResponseMetadata" not in result, "CreateRegistration leaks ResponseMetadata")
    _ensure(result.get("RegistrationStatus") == "CREATED", f"status: {result!r}")
    _ensure(result.get("CurrentVersionNumber") == 1, f"CurrentVersionNumber: {result!r}")
    _ensure(result.get("RegistrationType") == target.registration_type, f"type: {result!r}")
    _aware(result.get("CreatedTimestamp"), "CreatedTimestamp")
    reg = _registration(target, result["RegistrationId"])
    versions = _versions(target, reg.id)
    _parse("CreateRegistration result", lambda: Registration.from_api(result, versions))
    _ensure(reg.arn == result.get("RegistrationArn"), "describe and create disagree on the ARN")
    _ensure(reg.status.to_api() == "CREATED", f"registration status {reg.status}")
    _ensure(list(reg.versions) == [1], f"versions: {list(reg.versions)}")
    v1 = reg.versions[1]
    _ensure(v1.status.to_api() == "DRAFT", f"v1 status {v1.status}")
    _ensure(v1.history.draft is not None, "v1 has no DraftTimestamp")


@scenario
def client_token_is_idempotent(target: ConformanceTarget) -> None:
    """The same ClientToken and parameters create one registration, not two."""
    token = uuid.uuid4().hex
    first = target.api.create_registration(target.registration_type, client_token=token)
    again = target.api.create_registration(target.registration_type, client_token=token)
    _ensure(
        first.get("RegistrationId") == again.get("RegistrationId"),
        f"a repeated ClientToken created {first.get('RegistrationId')} and "
        f"{again.get('RegistrationId')}",
    )


@scenario
def describe_by_id_and_arn(target: ConformanceTarget) -> None:
    """Registrations are found by id and by ARN; versions too."""
    reg_id, other = _create(target), _create(target)
    arn = _info(target, reg_id)["RegistrationArn"]
    by_arn = list(target.api.describe_registrations(registration_ids=[arn]))
    _ensure([r.get("RegistrationId") for r in by_arn] == [reg_id], f"by ARN: {by_arn!r}")
    both = {
        r.get("RegistrationId")
        for r in target.api.describe_registrations(registration_ids=[reg_id, other])
    }
    _ensure(both == {reg_id, other}, f"by two ids: {both}")
    versions = _versions(target, arn)
    _ensure([v.get("VersionNumber") for v in versions] == [1], f"versions by ARN: {versions!r}")


@scenario
def describe_filters(target: ConformanceTarget) -> None:
    """registration-status, registration-type and registration-version-status filters."""
    type_a, type_b = target.registration_types
    created, submitted, other_type = _create(target), _create(target), _create(target, type_b)
    _submit(target, submitted)

    def ids(name: str, *values: str) -> set[str]:
        found = target.api.describe_registrations(filters=[{"Name": name, "Values": list(values)}])
        return {r["RegistrationId"] for r in found} & {created, submitted, other_type}

    _ensure(ids("registration-status", "CREATED") == {created, other_type}, "status CREATED")
    _ensure(ids("registration-status", "SUBMITTED") == {submitted}, "status SUBMITTED")
    both = ids("registration-status", "CREATED", "SUBMITTED")
    _ensure(both == {created, submitted, other_type}, "two status values are ORed")
    _ensure(ids("registration-type", type_b) == {other_type}, f"type {type_b}")
    _ensure(ids("registration-type", type_a) == {created, submitted}, f"type {type_a}")

    # v1 DENIED, v2 DRAFT
    _to_reviewing(target, created)
    target.advance(created, "deny", denied_reasons=_DENIED_REASONS)
    target.api.create_registration_version(created)

    def numbers(*values: str) -> list[int]:
        flt = [{"Name": "registration-version-status", "Values": list(values)}]
        return sorted(v["VersionNumber"] for v in _versions(target, created, filters=flt))

    _ensure(numbers("DRAFT") == [2], f"version status DRAFT: {numbers('DRAFT')}")
    _ensure(numbers("DENIED") == [1], f"version status DENIED: {numbers('DENIED')}")
    _ensure(numbers("APPROVED") == [], "version status APPROVED")
    only_v1 = sorted(v["VersionNumber"] for v in _versions(target, created, version_numbers=[1]))
    _ensure(only_v1 == [1], f"version_numbers=[1] gave {only_v1}")


@scenario
def pagination_returns_everything_once(target: ConformanceTarget) -> None:
    """page_size=1 pages through everything, each item once; ids go 5 per request."""
    ours = [_create(target) for _ in range(7)]
    before = target.api.calls.get("DescribeRegistrations", 0)
    listed = [r["RegistrationId"] for r in target.api.describe_registrations(page_size=1)]
    _ensure(len(listed) == len(set(listed)), f"page_size=1 listed duplicates: {listed}")
    _ensure(set(ours) <= set(listed), f"page_size=1 missed {set(ours) - set(listed)}")
    pages = target.api.calls.get("DescribeRegistrations", 0) - before
    _ensure(pages >= len(listed), f"{len(listed)} items came in {pages} page(s) of size 1")
    by_id = [r["RegistrationId"] for r in target.api.describe_registrations(registration_ids=ours)]
    _ensure(sorted(by_id) == sorted(ours), f"7 ids gave {by_id}")
    paged = target.api.describe_registrations(registration_ids=ours, page_size=1)
    by_id_paged = [r["RegistrationId"] for r in paged]
    _ensure(sorted(by_id_paged) == sorted(ours), f"7 ids, page_size=1 gave {by_id_paged}")

    reg_id = ours[0]
    for _ in range(2):  # v1, v2 DENIED; v3 DRAFT
        _to_reviewing(target, reg_id)
        target.advance(reg_id, "deny", denied_reasons=_DENIED_REASONS)
        target.api.create_registration_version(reg_id)
    numbers = [v["VersionNumber"] for v in _versions(target, reg_id, page_size=1)]
    _ensure(sorted(numbers) == [1, 2, 3], f"versions with page_size=1: {numbers}")
    _registration(target, reg_id)


@scenario
def submit_goes_to_submitted(target: ConformanceTarget) -> None:
    """SubmitRegistrationVersion: DRAFT -> SUBMITTED with SubmittedTimestamp."""
    reg_id = _create(target)
    result = _submit(target, reg_id)
    version = _result(result, "SubmitRegistrationVersion")
    _ensure(version.status.to_api() == "SUBMITTED", f"status {version.status}")
    _ensure(version.history.submitted is not None, "no SubmittedTimestamp")
    _ensure(result.get("AwsReview") is False, f"AwsReview: {result.get('AwsReview')!r}")
    reg = _registration(target, reg_id)
    _ensure(reg.current_version.status.to_api() == "SUBMITTED", "describe disagrees")
    _ensure(reg.status.to_api() == "SUBMITTED", f"registration status {reg.status}")


@scenario
def submit_with_aws_review(target: ConformanceTarget) -> None:
    """AwsReview=true: DRAFT -> AWS_REVIEWING with AwsReviewingTimestamp."""
    reg_id = _create(target)
    result = _submit(target, reg_id, aws_review=True)
    version = _result(result, "SubmitRegistrationVersion")
    _ensure(version.status.to_api() == "AWS_REVIEWING", f"status {version.status}")
    _ensure(version.history.aws_reviewing is not None, "no AwsReviewingTimestamp")
    _ensure(result.get("AwsReview") is True, f"AwsReview: {result.get('AwsReview')!r}")
    _ensure(_status(target, reg_id) == "AWS_REVIEWING", "describe disagrees")


@scenario
def submit_twice_is_a_conflict(target: ConformanceTarget) -> None:
    """A second submit is refused with SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED."""
    reg_id = _create(target)
    _submit(target, reg_id)
    _raises(
        ConflictError,
        lambda: target.api.submit_registration_version(reg_id),
        "second submit",
        "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED",
    )
    _ensure(_status(target, reg_id) == "SUBMITTED", "a refused submit changed the version")


@scenario
def create_version_while_open_is_a_conflict(target: ConformanceTarget) -> None:
    """CreateRegistrationVersion is refused while the current version is DRAFT or SUBMITTED."""
    reg_id = _create(target)
    reason = "CREATE_REGISTRATION_VERSION_NOT_ALLOWED"
    create = lambda: target.api.create_registration_version(reg_id)  # noqa: E731
    _raises(ConflictError, create, "new version over a DRAFT", reason)
    _submit(target, reg_id)
    _raises(ConflictError, create, "new version over a SUBMITTED version", reason)
    reg = _registration(target, reg_id)
    _ensure(list(reg.versions) == [1], f"a refused create left versions {list(reg.versions)}")


@scenario
def discard_of_draft_or_reviewing_is_refused(target: ConformanceTarget) -> None:
    """DiscardRegistrationVersion refuses a DRAFT and a REVIEWING version."""
    reg_id = _create(target)
    reason = "DISCARD_REGISTRATION_VERSION_NOT_ALLOWED"
    discard = lambda: target.api.discard_registration_version(reg_id)  # noqa: E731
    _raises(ConflictError, discard, "discard of a DRAFT", reason)
    _ensure(_status(target, reg_id) == "DRAFT", "a refused discard changed the DRAFT")
    _to_reviewing(target, reg_id)
    _ensure(_status(target, reg_id) == "REVIEWING", "begin_review did not reach REVIEWING")
    _raises(ConflictError, discard, "discard of a REVIEWING version", reason)
    _ensure(_status(target, reg_id) == "REVIEWING", "a refused discard changed the version")


@scenario
def discard_of_submitted(target: ConformanceTarget) -> None:
    """A SUBMITTED version is DISCARDED (DiscardedTimestamp); a new version may follow."""
    reg_id = _create(target)
    _submit(target, reg_id)
    result = target.api.discard_registration_version(reg_id)
    version = _result(result, "DiscardRegistrationVersion")
    _ensure(version.number == 1, f"discarded v{version.number}, expected v1")
    _ensure(version.status.to_api() == "DISCARDED", f"status {version.status}")
    _ensure(version.history.discarded is not None, "no DiscardedTimestamp")
    _ensure(_status(target, reg_id, 1) == "DISCARDED", "describe disagrees")
    created = _result(target.api.create_registration_version(reg_id), "CreateRegistrationVersion")
    _ensure((created.number, created.status.to_api()) == (2, "DRAFT"), f"new version {created}")


@scenario
def review_deny_then_approve(target: ConformanceTarget) -> None:
    """begin_review -> REVIEWING; deny -> DENIED (reasons kept); v2 approved."""
    reg_id = _create(target)
    _to_reviewing(target, reg_id)
    reg = _registration(target, reg_id)
    _ensure(reg.versions[1].status.to_api() == "REVIEWING", f"v1 {reg.versions[1].status}")
    _ensure(reg.versions[1].history.reviewing is not None, "no ReviewingTimestamp")
    target.advance(reg_id, "deny", denied_reasons=_DENIED_REASONS)
    reg = _registration(target, reg_id)
    v1 = reg.versions[1]
    _ensure(v1.status.to_api() == "DENIED", f"v1 {v1.status}")
    _ensure(v1.history.denied is not None, "no DeniedTimestamp")
    _ensure(
        [r.to_api() for r in v1.denied_reasons] == _DENIED_REASONS,
        f"DeniedReasons: {v1.denied_reasons}",
    )
    _ensure(reg.status.to_api() == "REQUIRES_UPDATES", f"after a denial: {reg.status}")
    _ensure(_info(target, reg_id).get("LatestDeniedVersionNumber") == 1, "LatestDenied")

    created = _result(target.api.create_registration_version(reg_id), "CreateRegistrationVersion")
    _ensure(created.number == 2, f"new version is v{created.number}")
    _approve_current(target, reg_id)
    reg = _registration(target, reg_id)
    _ensure(reg.versions[2].status.to_api() == "APPROVED", f"v2 {reg.versions[2].status}")
    _ensure(reg.versions[2].history.approved is not None, "no ApprovedTimestamp")
    _ensure(reg.versions[1].status.to_api() == "DENIED", "approving v2 changed v1")
    _ensure(reg.status.to_api() in ("PROVISIONING", "COMPLETE"), f"approved: {reg.status}")
    _ensure(_info(target, reg_id).get("ApprovedVersionNumber") == 2, "ApprovedVersionNumber")


@scenario
def aws_review_deny_keeps_feedback(target: ConformanceTarget) -> None:
    """AWS's own review may deny an AWS_REVIEWING version, with Feedback."""
    reg_id = _create(target)
    _submit(target, reg_id, aws_review=True)
    target.advance(reg_id, "deny", feedback="Add a privacy policy URL.")
    v1 = _registration(target, reg_id).versions[1]
    _ensure(v1.status.to_api() == "DENIED", f"v1 {v1.status}")
    _ensure(v1.feedback == "Add a privacy policy URL.", f"Feedback: {v1.feedback!r}")


@scenario
def newer_approval_archives_older(target: ConformanceTarget) -> None:
    """Approving v2 moves the APPROVED v1 to ARCHIVED (ArchivedTimestamp)."""
    reg_id = _create(target)
    _approve_current(target, reg_id)
    created = _result(target.api.create_registration_version(reg_id), "CreateRegistrationVersion")
    _ensure(created.number == 2, f"new version after approval is v{created.number}")
    _approve_current(target, reg_id)
    reg = _registration(target, reg_id)
    v1, v2 = reg.versions[1], reg.versions[2]
    _ensure(v1.status.to_api() == "ARCHIVED", f"v1 {v1.status}")
    _ensure(v1.history.archived is not None, "no ArchivedTimestamp")
    _ensure(v2.status.to_api() == "APPROVED", f"v2 {v2.status}")
    _ensure(reg.approved_version_number == 2, "ApprovedVersionNumber")


@scenario
def unknown_registration_is_not_found(target: ConformanceTarget) -> None:
    """Every operation on a well-formed but unknown id raises NotFoundError."""
    missing = _unknown_id()
    for name, call in _by_id(target.api, missing).items():
        _raises(NotFoundError, call, f"{name}({missing})")


@scenario
def malformed_id_fails_before_any_call(target: ConformanceTarget) -> None:
    """A malformed id raises InvalidRegistrationId (a non-string InvalidArgumentType) and
    sends nothing (``calls`` unchanged)."""
    api = target.api
    for bad in _MALFORMED_IDS:
        expected = InvalidRegistrationId if isinstance(bad, str) else InvalidArgumentType
        for name, call in _by_id(api, bad).items():
            before = dict(api.calls)
            _raises(expected, call, f"{name}({bad!r})")
            _ensure(dict(api.calls) == before, f"{name}({bad!r}) made a request")


@scenario
def calls_count_requests(target: ConformanceTarget) -> None:
    """``calls`` counts each request once, by operation name."""
    before = dict(target.api.calls)
    reg_id = _create(target)
    _submit(target, reg_id)
    list(target.api.describe_registration_versions(reg_id))
    after = target.api.calls
    for op in ("CreateRegistration", "SubmitRegistrationVersion", "DescribeRegistrationVersions"):
        delta = after.get(op, 0) - before.get(op, 0)
        _ensure(delta == 1, f"calls[{op!r}] grew by {delta}, expected 1")


@scenario
def delete_registration(target: ConformanceTarget) -> None:
    """DeleteRegistration answers DELETED; the registration is then gone or DELETED."""
    reg_id = _create(target)
    versions = _versions(target, reg_id)
    result = target.api.delete_registration(reg_id)
    _ensure("ResponseMetadata" not in result, "DeleteRegistration leaks ResponseMetadata")
    _parse("DeleteRegistration result", lambda: Registration.from_api(result, versions))
    _ensure(result.get("RegistrationStatus") == "DELETED", f"delete gave {result!r}")
    _ensure(result.get("RegistrationId") == reg_id, f"delete gave {result!r}")
    _aware(result.get("CreatedTimestamp"), "CreatedTimestamp")
    try:
        found = list(target.api.describe_registrations(registration_ids=[reg_id]))
    except NotFoundError:
        return
    statuses = [r.get("RegistrationStatus") for r in found]
    _ensure(statuses in ([], ["DELETED"]), f"after delete, describe gave {statuses}")


# -- forms: helpers --------------------------------------------------------------

_TEXT_FIELD: Final = "companyInfo.companyName"
_SELECT_FIELD: Final = "companyInfo.businessType"  # a toll-free field
_ATTACHMENT_FIELD: Final = "messagingUseCase.optInImage"  # a toll-free field
_BRAND_SELECT: Final = "companyInfo.legalType"
_BRAND_EMAIL: Final = "contactInfo.supportEmail"
_NO_SUCH_FIELD: Final = "companyInfo.noSuchField"
_NO_SUCH_TYPE: Final = "NO_SUCH_REGISTRATION_TYPE_AT_ALL"


def _forms(target: ConformanceTarget) -> FormApi:
    api = target.api
    if not isinstance(api, FormsApi):
        raise ConformanceError(f"{api!r} does not implement FormsApi")
    return api


def _identity(target: ConformanceTarget, number_type: str, phone_number: str) -> str:
    """A US phone number of ``number_type`` the account now owns; its ResourceId."""
    if target.add_identity is None:
        raise ConformanceError(f"target {target.name!r} has no add_identity")
    found = target.add_identity(
        "phone-number", iso_country_code="US", phone_number=phone_number, number_type=number_type
    )
    resource_id = found.get("ResourceId")
    _ensure(isinstance(resource_id, str), f"add_identity gave no ResourceId: {found!r}")
    return str(resource_id)


def _values(target: ConformanceTarget, reg_id: str, version: int | None = None) -> FieldValues:
    """A version's field values as DescribeRegistrationFieldValues lists them, parsed."""
    api = _forms(target)
    values: FieldValues = _parse(
        "DescribeRegistrationFieldValues", lambda: read_field_values(api, reg_id, version)
    )
    return values


def _same_values(expected: FieldValues, got: FieldValues, what: str) -> None:
    changes = expected.diff(got)
    _ensure(not changes, f"{what}: {'; '.join(c.describe() for c in changes)}")


def _paths(items: Sequence[Mapping[str, Any]], key: str, what: str) -> list[str]:
    """The ``key`` of each item, each once (else ConformanceError)."""
    paths = [str(item.get(key)) for item in items]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    _ensure(not twice, f"{what} lists {', '.join(twice)} more than once")
    return paths


def _by_key(items: Sequence[Mapping[str, Any]], key: str) -> dict[str, Mapping[str, Any]]:
    return {str(item.get(key)): item for item in items}


def _echoes(result: Mapping[str, Any], reg_id: str, value: FieldValue, what: str) -> None:
    """A Put/DeleteRegistrationFieldValue result names the registration and the value."""
    _ensure("ResponseMetadata" not in result, f"{what} leaks ResponseMetadata")
    _ensure(result.get("RegistrationId") == reg_id, f"{what} names {result.get('RegistrationId')}")
    _ensure(isinstance(result.get("VersionNumber"), int), f"{what}: no VersionNumber")
    echoed = {k: result.get(k) for k in value.to_api()}
    _ensure(echoed == value.to_api(), f"{what} gave {echoed!r}, expected {value.to_api()!r}")


def _names_field(err: ApiValidationError, path: str, what: str) -> None:
    named = [name for name, _ in err.fields]
    _ensure(path in named, f"{what}: Fields {named!r} do not name {path}")


def _attachment(target: ConformanceTarget, body: bytes = EXAMPLE_PDF) -> str:
    result = _forms(target).create_registration_attachment(attachment_body=body)
    attachment_id = result.get("RegistrationAttachmentId")
    _ensure(isinstance(attachment_id, str), f"CreateRegistrationAttachment gave {result!r}")
    return str(attachment_id)


def _attachments(target: ConformanceTarget, *ids: str) -> dict[str, Mapping[str, Any]]:
    found = list(_forms(target).describe_registration_attachments(attachment_ids=list(ids)))
    return _by_key(found, "RegistrationAttachmentId")


def _gone_or_deleted(call: Callable[[], Sequence[Mapping[str, Any]]], what: str) -> None:
    """After a delete: NotFoundError, nothing listed, or status DELETED."""
    try:
        found = call()
    except NotFoundError:
        return
    statuses = [item.get("AttachmentStatus") for item in found]
    _ensure(statuses in ([], ["DELETED"]), f"after delete, {what} gave {statuses}")


# -- forms: scenarios ------------------------------------------------------------


@form_scenario
def type_definitions_describe_and_paginate(target: ConformanceTarget) -> None:
    """Type definitions: each once at any page size, by name, by association filter; the
    brand and toll-free forms as the shipped catalogue describes them."""
    api = _forms(target)
    listed = list(api.describe_registration_type_definitions())
    names = _paths(listed, "RegistrationType", "DescribeRegistrationTypeDefinitions")
    _ensure({BRAND, TOLL_FREE} <= set(names), f"types listed: {names}")
    before = api.calls.get("DescribeRegistrationTypeDefinitions", 0)
    paged = list(api.describe_registration_type_definitions(page_size=1))
    pages = api.calls.get("DescribeRegistrationTypeDefinitions", 0) - before
    _paths(paged, "RegistrationType", "page_size=1")
    same = _by_key(paged, "RegistrationType") == _by_key(listed, "RegistrationType")
    _ensure(same, "page_size=1 lists other types than one page does")
    _ensure(pages >= len(paged), f"{len(paged)} types came in {pages} page(s) of size 1")
    named = list(api.describe_registration_type_definitions(registration_types=[TOLL_FREE]))
    _ensure([t.get("RegistrationType") for t in named] == [TOLL_FREE], f"by name: {named!r}")
    flt = [{"Name": "supported-association-resource-type", "Values": ["TOLL_FREE"]}]
    by_filter = {
        t.get("RegistrationType") for t in api.describe_registration_type_definitions(filters=flt)
    }
    _ensure(TOLL_FREE in by_filter and BRAND not in by_filter, f"TOLL_FREE filter: {by_filter}")
    captured = _parse(
        "the described catalogue",
        lambda: capture_catalog(api, registration_types=[BRAND, TOLL_FREE], source=target.name),
    )
    shipped = Catalog.builtin()
    for name in (BRAND, TOLL_FREE):
        got, want = captured.types[name], shipped.types[name]
        differ = [f.field_path for f in want.fields if f not in got.fields]
        differ += [f.field_path for f in got.fields if f not in want.fields]
        _ensure(got == want, f"{name} differs from the shipped catalogue; fields: {differ}")


@form_scenario
def section_and_field_definitions_paginate(target: ConformanceTarget) -> None:
    """Section and field definitions: each once at any page size; by section; 6 field
    paths (more than one request carries) give exactly those 6."""
    api = _forms(target)
    for reg_type in (BRAND, TOLL_FREE):
        sections = list(api.describe_registration_section_definitions(reg_type))
        section_paths = _paths(sections, "SectionPath", f"{reg_type} sections")
        _ensure(len(section_paths) >= 2, f"{reg_type} has sections {section_paths}")
        paged = list(api.describe_registration_section_definitions(reg_type, page_size=1))
        same = _by_key(paged, "SectionPath") == _by_key(sections, "SectionPath")
        _ensure(same, f"{reg_type} sections differ with page_size=1")
        two = section_paths[:2]
        chosen = api.describe_registration_section_definitions(reg_type, section_paths=two)
        _ensure(sorted(str(s.get("SectionPath")) for s in chosen) == sorted(two), f"sections {two}")

        fields = list(api.describe_registration_field_definitions(reg_type))
        field_paths = _paths(fields, "FieldPath", f"{reg_type} fields")
        outside = [f.get("FieldPath") for f in fields if f.get("SectionPath") not in section_paths]
        _ensure(not outside, f"{reg_type} fields in no listed section: {outside}")
        before = api.calls.get("DescribeRegistrationFieldDefinitions", 0)
        paged = list(api.describe_registration_field_definitions(reg_type, page_size=2))
        pages = api.calls.get("DescribeRegistrationFieldDefinitions", 0) - before
        same = _by_key(paged, "FieldPath") == _by_key(fields, "FieldPath")
        _ensure(same, f"{reg_type} fields differ with page_size=2")
        _ensure(2 * pages >= len(paged), f"{len(paged)} fields came in {pages} page(s) of 2")
        section = section_paths[0]
        in_section = sorted(
            str(f.get("FieldPath")) for f in fields if f.get("SectionPath") == section
        )
        got = api.describe_registration_field_definitions(reg_type, section_path=section)
        got_paths = sorted(str(f.get("FieldPath")) for f in got)
        _ensure(got_paths == in_section, f"section {section} gave fields {got_paths}")
        six = field_paths[-6:]
        got = api.describe_registration_field_definitions(reg_type, field_paths=six)
        _ensure(sorted(str(f.get("FieldPath")) for f in got) == sorted(six), f"field_paths={six}")


@form_scenario
def unknown_registration_type_is_refused(target: ConformanceTarget) -> None:
    """An unknown type: ValidationException UNKNOWN_REGISTRATION_TYPE from the
    definitions and from CreateRegistration, which creates nothing."""
    api = _forms(target)
    bad = _NO_SUCH_TYPE
    before = len(list(api.describe_registrations()))
    calls: dict[str, Callable[[], object]] = {
        "describe_registration_type_definitions": lambda: (
            api.describe_registration_type_definitions(registration_types=[bad])
        ),
        "describe_registration_section_definitions": lambda: (
            api.describe_registration_section_definitions(bad)
        ),
        "describe_registration_field_definitions": lambda: (
            api.describe_registration_field_definitions(bad)
        ),
        "create_registration": lambda: api.create_registration(bad),
    }
    for name, call in calls.items():
        _raises(ApiValidationError, call, f"{name}({bad})", "UNKNOWN_REGISTRATION_TYPE")
    after = len(list(api.describe_registrations()))
    _ensure(after == before, f"a refused CreateRegistration left {after - before} registration(s)")
    _raises(
        ApiValidationError,
        lambda: api.describe_registration_section_definitions(BRAND, section_paths=["noSuch"]),
        "an unknown section",
        "UNKNOWN_REGISTRATION_SECTION",
    )


@form_scenario
def field_values_round_trip(target: ConformanceTarget) -> None:
    """Put TEXT, SELECT and ATTACHMENT values, describe them back (any page size), put
    over one, delete one: each result echoes the value, describe follows."""
    api = _forms(target)
    reg_id = _create(target, TOLL_FREE)
    put = fill_form(api, reg_id)
    form = Catalog.builtin().types[TOLL_FREE]
    kinds = {form.field(path).field_type for path in put}
    _ensure(kinds == set(FieldType), f"the toll-free form filled only {sorted(kinds)}")
    _same_values(put, _values(target, reg_id), "described values differ from those put")
    _same_values(put, _values(target, reg_id, 1), "version_number=1 differs from those put")
    paged = list(api.describe_registration_field_values(reg_id, page_size=1))
    paged_paths = _paths(paged, "FieldPath", "page_size=1")
    _ensure(sorted(paged_paths) == sorted(put), f"page_size=1 lists {paged_paths}")
    two = [_TEXT_FIELD, _ATTACHMENT_FIELD]
    chosen = api.describe_registration_field_values(reg_id, field_paths=two)
    _ensure(sorted(str(v.get("FieldPath")) for v in chosen) == sorted(two), f"field_paths={two}")

    renamed = FieldValue(_TEXT_FIELD, text_value="Example Holdings LLC")
    result = api.put_registration_field_value(
        reg_id, _TEXT_FIELD, text_value="Example Holdings LLC"
    )
    _echoes(result, reg_id, renamed, "PutRegistrationFieldValue (TEXT)")
    choice = "NON_PROFIT" if put[_SELECT_FIELD].select_choices != ("NON_PROFIT",) else "GOVERNMENT"
    chosen_value = FieldValue(_SELECT_FIELD, select_choices=[choice])
    result = api.put_registration_field_value(reg_id, _SELECT_FIELD, select_choices=[choice])
    _echoes(result, reg_id, chosen_value, "PutRegistrationFieldValue (SELECT)")
    attached = put[_ATTACHMENT_FIELD]
    result = api.delete_registration_field_value(reg_id, _ATTACHMENT_FIELD)
    _echoes(result, reg_id, attached, "DeleteRegistrationFieldValue")
    expected = put.with_value(renamed).with_value(chosen_value).without(_ATTACHMENT_FIELD)
    _same_values(expected, _values(target, reg_id), "after put and delete")


@form_scenario
def unknown_field_is_refused(target: ConformanceTarget) -> None:
    """A field the type lacks: UNKNOWN_REGISTRATION_FIELD from put, delete and the field
    definitions; nothing is stored."""
    api = _forms(target)
    reg_id = _create(target, BRAND)
    bad = _NO_SUCH_FIELD
    calls: dict[str, Callable[[], object]] = {
        "put_registration_field_value": lambda: api.put_registration_field_value(
            reg_id, bad, text_value="Example"
        ),
        "delete_registration_field_value": lambda: api.delete_registration_field_value(reg_id, bad),
        "describe_registration_field_definitions": lambda: (
            api.describe_registration_field_definitions(BRAND, field_paths=[bad])
        ),
    }
    for name, call in calls.items():
        _raises(ApiValidationError, call, f"{name}({bad})", "UNKNOWN_REGISTRATION_FIELD")
    _same_values(FieldValues.empty(), _values(target, reg_id), "a refused put stored a value")


@form_scenario
def invalid_value_is_refused_naming_the_field(target: ConformanceTarget) -> None:
    """A SELECT choice not offered, text breaking the field's pattern, or a value of the
    wrong kind: FIELD_VALIDATION_FAILED with Fields naming the field; the value stays."""
    api = _forms(target)
    reg_id = _create(target, BRAND)
    good = FieldValues.of(
        [
            FieldValue(_BRAND_SELECT, select_choices=["PRIVATE_PROFIT"]),
            FieldValue(_BRAND_EMAIL, text_value="support@example.com"),
        ]
    )
    for value in good.values():
        api.put_registration_field_value(
            reg_id,
            value.field_path,
            select_choices=value.select_choices,
            text_value=value.text_value,
        )
    bad: dict[str, tuple[str, Callable[[], object]]] = {
        "a choice not offered": (
            _BRAND_SELECT,
            lambda: api.put_registration_field_value(
                reg_id, _BRAND_SELECT, select_choices=["NOT_AN_OPTION"]
            ),
        ),
        "text breaking the pattern": (
            _BRAND_EMAIL,
            lambda: api.put_registration_field_value(reg_id, _BRAND_EMAIL, text_value="no at sign"),
        ),
        "text for a SELECT field": (
            _BRAND_SELECT,
            lambda: api.put_registration_field_value(
                reg_id, _BRAND_SELECT, text_value="PRIVATE_PROFIT"
            ),
        ),
    }
    for what, (path, call) in bad.items():
        err = _raises(ApiValidationError, call, what, "FIELD_VALIDATION_FAILED")
        _names_field(err, path, what)
    _same_values(good, _values(target, reg_id), "a refused put changed the values")


@form_scenario
def field_values_frozen_after_submit(target: ConformanceTarget) -> None:
    """Once submitted, put and delete are refused (EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED)
    and the values stay as submitted."""
    api = _forms(target)
    reg_id = _create(target, BRAND)
    put = fill_form(api, reg_id)
    api.submit_registration_version(reg_id)
    reason = "EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED"
    _raises(
        ConflictError,
        lambda: api.put_registration_field_value(reg_id, _TEXT_FIELD, text_value="Other Corp"),
        "put after submit",
        reason,
    )
    _raises(
        ConflictError,
        lambda: api.delete_registration_field_value(reg_id, _TEXT_FIELD),
        "delete after submit",
        reason,
    )
    _same_values(put, _values(target, reg_id), "a refused edit changed the submitted values")
    _ensure(_status(target, reg_id) == "SUBMITTED", "a refused edit changed the version")


@form_scenario
def submit_with_a_missing_required_field_is_refused(target: ConformanceTarget) -> None:
    """Submit with a required field empty: FIELD_VALIDATION_FAILED naming it, the version
    still DRAFT; once filled, the submit goes through."""
    api = _forms(target)
    reg_id = _create(target, BRAND)
    fill_form(api, reg_id, skip=[_TEXT_FIELD])
    err = _raises(
        ApiValidationError,
        lambda: api.submit_registration_version(reg_id),
        f"submit without {_TEXT_FIELD}",
        "FIELD_VALIDATION_FAILED",
    )
    _names_field(err, _TEXT_FIELD, f"submit without {_TEXT_FIELD}")
    reg = _registration(target, reg_id)
    _ensure(reg.current_version.status.to_api() == "DRAFT", "a refused submit left the DRAFT")
    _ensure(reg.status.to_api() == "CREATED", f"a refused submit made it {reg.status}")
    api.put_registration_field_value(reg_id, _TEXT_FIELD, text_value="Example Corp")
    version = _result(api.submit_registration_version(reg_id), "SubmitRegistrationVersion")
    _ensure(version.status.to_api() == "SUBMITTED", f"the completed form gave {version.status}")


@form_scenario
def submitted_values_stay_readable(target: ConformanceTarget) -> None:
    """A denied version's values stay readable by version_number while version 2 is
    edited; an unknown version is UNKNOWN_REGISTRATION_VERSION."""
    api = _forms(target)
    reg_id = _create(target, BRAND)
    submitted = fill_form(api, reg_id)
    api.submit_registration_version(reg_id)
    target.advance(reg_id, "begin_review")
    target.advance(reg_id, "deny", denied_reasons=_DENIED_REASONS)
    created = _result(api.create_registration_version(reg_id), "CreateRegistrationVersion")
    _ensure(created.number == 2, f"new version is v{created.number}")
    renamed = FieldValue(_TEXT_FIELD, text_value="Example Holdings LLC")
    api.put_registration_field_value(reg_id, _TEXT_FIELD, text_value="Example Holdings LLC")
    _same_values(submitted, _values(target, reg_id, 1), "version 1 after editing version 2")
    current = _values(target, reg_id)
    _ensure(current.get(_TEXT_FIELD) == renamed, f"version 2 has {current.get(_TEXT_FIELD)}")
    _same_values(current, _values(target, reg_id, 2), "the default version is not version 2")
    _raises(
        ApiValidationError,
        lambda: api.describe_registration_field_values(reg_id, version_number=99),
        "values of version 99",
        "UNKNOWN_REGISTRATION_VERSION",
    )


@form_scenario
def attachments_take_a_body_or_url(target: ConformanceTarget) -> None:
    """Exactly one of body and URL (checked before any request); a PDF, PNG or JPEG only
    (ATTACHMENT_TYPE_NOT_SUPPORTED); created ones are described, each once."""
    api = _forms(target)
    url = "s3://example-bucket/letter-of-authorization.pdf"
    for what, call in {
        "neither body nor URL": api.create_registration_attachment,
        "both body and URL": lambda: api.create_registration_attachment(
            attachment_body=EXAMPLE_PDF, attachment_url=url
        ),
    }.items():
        before = dict(api.calls)
        _raises(InvalidArgument, call, what)
        _ensure(dict(api.calls) == before, f"{what} made a request")
    reason = "ATTACHMENT_TYPE_NOT_SUPPORTED"
    _raises(
        ApiValidationError,
        lambda: api.create_registration_attachment(attachment_body=b"plain text, no document"),
        "a text body",
        reason,
    )
    _raises(
        ApiValidationError,
        lambda: api.create_registration_attachment(attachment_url="s3://example-bucket/notes.txt"),
        "a .txt URL",
        reason,
    )
    created = api.create_registration_attachment(attachment_body=EXAMPLE_PDF)
    _ensure(
        "ResponseMetadata" not in created, "CreateRegistrationAttachment leaks ResponseMetadata"
    )
    _ensure(created.get("AttachmentStatus") == "UPLOAD_COMPLETE", f"a PDF body gave {created!r}")
    _aware(created.get("CreatedTimestamp"), "CreatedTimestamp")
    body_id = str(created.get("RegistrationAttachmentId"))
    by_url = api.create_registration_attachment(attachment_url=url)
    url_id = str(by_url.get("RegistrationAttachmentId"))
    _ensure(url_id != body_id, "two attachments got one id")
    found = _attachments(target, body_id, url_id)
    _ensure(set(found) == {body_id, url_id}, f"described by id: {sorted(found)}")
    _ensure(found[body_id].get("AttachmentStatus") == "UPLOAD_COMPLETE", f"{found[body_id]!r}")
    arn = created.get("RegistrationAttachmentArn")
    _ensure(found[body_id].get("RegistrationAttachmentArn") == arn, "describe and create disagree")
    _ensure(found[url_id].get("AttachmentUrl") == url, f"{found[url_id]!r}")
    paged = list(api.describe_registration_attachments(page_size=1))
    ids = _paths(paged, "RegistrationAttachmentId", "page_size=1")
    _ensure({body_id, url_id} <= set(ids), f"page_size=1 listed {ids}")
    flt = [{"Name": "attachment-status", "Values": ["UPLOAD_COMPLETE"]}]
    complete = {
        a.get("RegistrationAttachmentId")
        for a in api.describe_registration_attachments(filters=flt)
    }
    _ensure(body_id in complete, f"attachment-status UPLOAD_COMPLETE misses {body_id}")


@form_scenario
def attachment_in_use_cannot_be_deleted(target: ConformanceTarget) -> None:
    """DeleteRegistrationAttachment is refused (RESOURCE_DELETION_NOT_ALLOWED) while a
    field value uses it; once not, it is deleted and no longer described."""
    api = _forms(target)
    reg_id = _create(target, TOLL_FREE)
    attachment_id = _attachment(target)
    api.put_registration_field_value(reg_id, _ATTACHMENT_FIELD, attachment_id=attachment_id)
    _raises(
        ConflictError,
        lambda: api.delete_registration_attachment(attachment_id),
        "delete of an attachment in use",
        "RESOURCE_DELETION_NOT_ALLOWED",
    )
    status = _attachments(target, attachment_id)[attachment_id].get("AttachmentStatus")
    _ensure(status == "UPLOAD_COMPLETE", f"a refused delete left it {status}")
    api.delete_registration_field_value(reg_id, _ATTACHMENT_FIELD)
    result = api.delete_registration_attachment(attachment_id)
    _ensure(result.get("RegistrationAttachmentId") == attachment_id, f"delete gave {result!r}")
    _ensure(result.get("AttachmentStatus") == "DELETED", f"delete gave {result!r}")
    _gone_or_deleted(
        lambda: list(api.describe_registration_attachments(attachment_ids=[attachment_id])),
        "describe by id",
    )
    _gone_or_deleted(
        lambda: [
            a
            for a in api.describe_registration_attachments()
            if a.get("RegistrationAttachmentId") == attachment_id
        ],
        "describe all",
    )


@form_scenario
def association_is_listed_once(target: ConformanceTarget) -> None:
    """CreateRegistrationAssociation with a toll-free number: the result and
    ListRegistrationAssociations name it; a second time is RESOURCE_ALREADY_ASSOCIATED."""
    api = _forms(target)
    reg_id = _create(target, TOLL_FREE)
    number = "+18885550100"
    resource_id = _identity(target, "TOLL_FREE", number)
    result = api.create_registration_association(reg_id, resource_id)
    _ensure(
        "ResponseMetadata" not in result, "CreateRegistrationAssociation leaks ResponseMetadata"
    )
    expected = {
        "RegistrationId": reg_id,
        "RegistrationType": TOLL_FREE,
        "ResourceId": resource_id,
        "ResourceType": "TOLL_FREE",
        "IsoCountryCode": "US",
        "PhoneNumber": number,
    }
    got = {k: result.get(k) for k in expected}
    _ensure(got == expected, f"CreateRegistrationAssociation gave {got!r}")
    listed = list(api.list_registration_associations(reg_id))
    _ensure([a.get("ResourceId") for a in listed] == [resource_id], f"listed: {listed!r}")
    _ensure(listed[0].get("ResourceArn") == result.get("ResourceArn"), "list and create disagree")
    _raises(
        ConflictError,
        lambda: api.create_registration_association(reg_id, resource_id),
        "a second association with the same number",
        "RESOURCE_ALREADY_ASSOCIATED",
    )
    again = list(api.list_registration_associations(reg_id, page_size=1))
    _ensure([a.get("ResourceId") for a in again] == [resource_id], f"then listed: {again!r}")
    flt = [{"Name": "resource-type", "Values": ["SENDER_ID"]}]
    other = list(api.list_registration_associations(reg_id, filters=flt))
    _ensure(other == [], f"resource-type SENDER_ID listed {other!r}")


@form_scenario
def toll_free_submit_needs_a_toll_free_number(target: ConformanceTarget) -> None:
    """A filled toll-free form is refused at submit (SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED)
    until a TOLL_FREE number is associated; a 10DLC number is not one
    (INVALID_REGISTRATION_ASSOCIATION)."""
    api = _forms(target)
    reg_id = _create(target, TOLL_FREE)
    fill_form(api, reg_id)

    def submit() -> dict[str, Any]:
        return api.submit_registration_version(reg_id)

    refused = "SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED"
    _raises(ConflictError, submit, "submit with no number", refused)
    _ensure(_status(target, reg_id) == "DRAFT", "a refused submit left the DRAFT")
    ten_dlc = _identity(target, "TEN_DLC", "+12065550100")
    _raises(
        ApiValidationError,
        lambda: api.create_registration_association(reg_id, ten_dlc),
        "a 10DLC number for a toll-free registration",
        "INVALID_REGISTRATION_ASSOCIATION",
    )
    _raises(ConflictError, submit, "submit with a refused 10DLC number", refused)
    api.create_registration_association(reg_id, _identity(target, "TOLL_FREE", "+18885550101"))
    version = _result(submit(), "SubmitRegistrationVersion")
    _ensure(version.status.to_api() == "SUBMITTED", f"with its number: {version.status}")


@form_scenario
def unknown_form_resources_are_not_found(target: ConformanceTarget) -> None:
    """An unknown registration, attachment or origination identity: NotFoundError."""
    api = _forms(target)
    missing = _unknown_id()
    attachment = f"attachment-{uuid.uuid4().hex}"
    phone = f"phone-{uuid.uuid4().hex}"
    calls: dict[str, Callable[[], object]] = {
        "put_registration_field_value": lambda: api.put_registration_field_value(
            missing, _TEXT_FIELD, text_value="Example Corp"
        ),
        "delete_registration_field_value": lambda: api.delete_registration_field_value(
            missing, _TEXT_FIELD
        ),
        "describe_registration_field_values": lambda: api.describe_registration_field_values(
            missing
        ),
        "create_registration_association": lambda: api.create_registration_association(
            missing, phone
        ),
        "list_registration_associations": lambda: api.list_registration_associations(missing),
        "delete_registration_attachment": lambda: api.delete_registration_attachment(attachment),
        "describe_registration_attachments": lambda: api.describe_registration_attachments(
            attachment_ids=[attachment]
        ),
    }
    for name, call in calls.items():
        _raises(NotFoundError, call, f"{name} of an unknown resource")
    reg_id = _create(target, TOLL_FREE)
    _raises(
        NotFoundError,
        lambda: api.create_registration_association(reg_id, phone),
        f"association with an unknown number {phone}",
    )
    listed = list(api.list_registration_associations(reg_id))
    _ensure(listed == [], f"a refused association is listed: {listed!r}")


@form_scenario
def form_operations_check_ids_before_any_call(target: ConformanceTarget) -> None:
    """A malformed registration id raises InvalidRegistrationId (a non-string
    InvalidArgumentType), a malformed attachment or resource id InvalidArgument; nothing
    is sent."""
    api = _forms(target)
    reg_id = _create(target, TOLL_FREE)

    def by_registration(bad: Any) -> dict[str, Callable[[], object]]:
        return {
            "put_registration_field_value": lambda: api.put_registration_field_value(
                bad, _TEXT_FIELD, text_value="Example Corp"
            ),
            "delete_registration_field_value": lambda: api.delete_registration_field_value(
                bad, _TEXT_FIELD
            ),
            "describe_registration_field_values": lambda: api.describe_registration_field_values(
                bad
            ),
            "create_registration_association": lambda: api.create_registration_association(
                bad, f"phone-{uuid.uuid4().hex}"
            ),
            "list_registration_associations": lambda: api.list_registration_associations(bad),
        }

    def by_resource(bad: Any) -> dict[str, Callable[[], object]]:
        return {
            "put_registration_field_value": lambda: api.put_registration_field_value(
                reg_id, _ATTACHMENT_FIELD, attachment_id=bad
            ),
            "delete_registration_attachment": lambda: api.delete_registration_attachment(bad),
            "describe_registration_attachments": lambda: api.describe_registration_attachments(
                attachment_ids=[bad]
            ),
            "create_registration_association": lambda: api.create_registration_association(
                reg_id, bad
            ),
        }

    for bad in _MALFORMED_IDS:
        expected: type[Exception] = (
            InvalidRegistrationId if isinstance(bad, str) else InvalidArgumentType
        )
        for name, call in by_registration(bad).items():
            before = dict(api.calls)
            _raises(expected, call, f"{name}({bad!r})")
            _ensure(dict(api.calls) == before, f"{name}({bad!r}) made a request")
        for name, call in by_resource(bad).items():
            before = dict(api.calls)
            kinds = (InvalidArgument, InvalidArgumentType)
            _raises(kinds, call, f"{name} with id {bad!r}")
            _ensure(dict(api.calls) == before, f"{name} with id {bad!r} made a request")


#: The scenarios of :data:`SCENARIOS` that need a target serving forms.
FORM_SCENARIOS: Final = frozenset(_NEEDS_FORMS)
