"""One conformance suite for every :class:`~registration_fsm.ports.RegistrationApi`.

A :class:`ConformanceTarget` pairs an API with ``advance``, which plays AWS's
part (``advance(registration_id, "begin_review" | "approve" | "deny", **details)``).
Each scenario in :data:`SCENARIOS` takes a fresh target and raises
:class:`ConformanceError` when the API misbehaves; every response is also
parsed with :meth:`Registration.from_api` / :meth:`RegistrationVersion.from_api`.

::

    from registration_fsm.testing.conformance import ConformanceTarget, check_adapter_conformance

    def factory():
        emu = EmulatedRegistrationApi()
        return ConformanceTarget(api=emu, advance=emu.advance)

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
from typing import Any, TypeVar

import attrs

from registration_fsm.domain.registration import Registration
from registration_fsm.domain.version import RegistrationVersion
from registration_fsm.errors import (
    ConflictError,
    ConformanceError,
    ConformanceFailed,
    InvalidApiData,
    InvalidArgumentType,
    InvalidRegistrationId,
    NotFoundError,
)
from registration_fsm.ports import RegistrationApi

__all__ = [
    "SCENARIOS",
    "ConformanceError",
    "ConformanceFailed",
    "ConformanceReport",
    "ConformanceTarget",
    "ScenarioFailure",
    "check_adapter_conformance",
    "run_scenario",
]

E = TypeVar("E", bound=BaseException)

#: Scenario name -> check; each runs against a fresh target.
SCENARIOS: dict[str, Callable[[ConformanceTarget], None]] = {}

_DENIED_REASONS = [
    {"Reason": "INVALID_BRAND", "ShortDescription": "The brand could not be verified."}
]
_MALFORMED_IDS: tuple[Any, ...] = ("", "has space", "x" * 257, "bad\u2603", None, 7)


@attrs.frozen
class ConformanceTarget:
    """An API under test and the hook that plays AWS's part.

    ``advance(registration_id, trigger, **details)`` applies an AWS-side event to
    the current version: ``begin_review``, ``approve``, ``deny`` (details
    ``denied_reasons=[{"Reason": ..., "ShortDescription": ...}]``, ``feedback=``).
    ``registration_types`` are two distinct types the API accepts.
    """

    api: RegistrationApi
    advance: Callable[..., object]
    registration_types: tuple[str, str] = (
        "US_TEN_DLC_BRAND_REGISTRATION",
        "US_TOLL_FREE_REGISTRATION",
    )
    name: str = "target"

    @property
    def registration_type(self) -> str:
        """The type scenarios create registrations with."""
        return self.registration_types[0]


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
    """The outcome of :func:`check_adapter_conformance`."""

    passed: tuple[str, ...]
    failures: tuple[ScenarioFailure, ...]

    @property
    def ok(self) -> bool:
        """True when every scenario passed."""
        return not self.failures

    def __str__(self) -> str:
        total = len(self.passed) + len(self.failures)
        head = f"{len(self.passed)}/{total} conformance scenarios passed"
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


def run_scenario(name: str, factory: Callable[[], TargetSource]) -> None:
    """Run scenario ``name`` against a fresh target from ``factory``; raises on failure."""
    try:
        check = SCENARIOS[name]
    except KeyError:
        raise ConformanceError(
            f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
        ) from None
    with _enter(factory()) as target:
        if not isinstance(target.api, RegistrationApi):
            raise ConformanceError(f"{target.api!r} does not implement RegistrationApi")
        check(target)


def check_adapter_conformance(
    factory: Callable[[], TargetSource],
    *,
    scenarios: Sequence[str] | None = None,
    raise_on_failure: bool = True,
) -> ConformanceReport:
    """Run every scenario (or those named) against fresh targets; report all failures.

    Raises :class:`ConformanceFailed` (an AssertionError) listing every failed
    scenario unless ``raise_on_failure`` is false.
    """
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    passed: list[str] = []
    failures: list[ScenarioFailure] = []
    for name in names:
        try:
            run_scenario(name, factory)
        except Exception as err:
            failures.append(ScenarioFailure(name, err))
        else:
            passed.append(name)
    report = ConformanceReport(tuple(passed), tuple(failures))
    if failures and raise_on_failure:
        raise ConformanceFailed(report)
    return report


def scenario(func: Callable[[ConformanceTarget], None]) -> Callable[[ConformanceTarget], None]:
    """Register ``func`` in :data:`SCENARIOS` under its name."""
    SCENARIOS[func.__name__] = func
    return func


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


def _to_reviewing(target: ConformanceTarget, reg_id: str, *, aws_review: bool = False) -> None:
    target.api.submit_registration_version(reg_id, aws_review=aws_review)
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
    target.api.submit_registration_version(submitted)

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
    result = target.api.submit_registration_version(reg_id)
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
    result = target.api.submit_registration_version(reg_id, aws_review=True)
    version = _result(result, "SubmitRegistrationVersion")
    _ensure(version.status.to_api() == "AWS_REVIEWING", f"status {version.status}")
    _ensure(version.history.aws_reviewing is not None, "no AwsReviewingTimestamp")
    _ensure(result.get("AwsReview") is True, f"AwsReview: {result.get('AwsReview')!r}")
    _ensure(_status(target, reg_id) == "AWS_REVIEWING", "describe disagrees")


@scenario
def submit_twice_is_a_conflict(target: ConformanceTarget) -> None:
    """A second submit is refused with SUBMIT_REGISTRATION_VERSION_NOT_ALLOWED."""
    reg_id = _create(target)
    target.api.submit_registration_version(reg_id)
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
    target.api.submit_registration_version(reg_id)
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
    target.api.submit_registration_version(reg_id)
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
    target.api.submit_registration_version(reg_id, aws_review=True)
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
    target.api.submit_registration_version(reg_id)
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
