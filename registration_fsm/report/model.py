"""What the evidence report shows, read from a store: plain values, no HTML.

:func:`build_report` reads the registrations, their versions, field values and
events from a store, verifies the audit trail with
:func:`registration_fsm.audit.verify_audit` (against signed checkpoints when it is
given a public key and a checkpoint file), and returns a :class:`Report`: one
:class:`RegistrationView` per registration and the overview's figures (counts by
status, reviews open longer than ``stale_days``, denials by reason).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.forms.values import FieldValue
from registration_fsm.domain.history import HISTORY_FIELDS
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LIFECYCLE, LifecyclePolicy, who
from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import VersionStatus
from registration_fsm.domain.version import DeniedReason, RegistrationVersion
from registration_fsm.errors import InvalidArgument, InvalidArgumentType, NotTracked, StoreError
from registration_fsm.report.diagram import version_dot
from registration_fsm.store.base import StoredEvent, StoredRegistration
from registration_fsm.store.chain import AuditHead, AuditRecord

#: Reviews open longer than this many days are listed on the overview by default.
DEFAULT_STALE_DAYS = 14.0
#: The page the overview is written to in a report directory.
INDEX_PAGE = "index.html"


class ReportSource(Protocol):
    """What :func:`build_report` reads: any store (both of this package's fit)."""

    def get(self, registration_id: str) -> StoredRegistration | None: ...

    def ids(self) -> list[str]: ...

    def registrations(self) -> Iterable[Registration]: ...

    def events_with_seq(
        self, registration_id: str | None = None, *, after: int = 0
    ) -> Iterable[StoredEvent]: ...

    def audit_records(self) -> Iterable[AuditRecord]: ...

    def audit_head(self) -> AuditHead: ...


@attrs.frozen
class CheckpointView:
    """The latest signed checkpoint that verified: its number, the records it covers,
    when it was signed and the id of the key that signed it."""

    number: int
    head_seq: int
    time: datetime
    key_id: str


@attrs.frozen
class AuditView:
    """The audit trail's verification (:func:`registration_fsm.audit.verify_audit`), as
    the report shows it.

    ``failed`` names what failed (``checkpoints``, ``trail``, ``replay``), ``problem``
    why. ``checked_checkpoints`` says whether signed checkpoints were checked at all;
    ``checkpoint`` is the latest that verified when the trail is ``anchored``, and
    ``covered_records`` the records it proves. ``replay`` sums up the events replayed
    against the stored registrations and versions.
    """

    ok: bool
    records: int
    head_seq: int | None
    head_hash: str | None
    failed: str | None = None
    first_bad: int | None = None
    problem: str | None = None
    checked_checkpoints: bool = False
    anchored: bool = False
    checkpoint: CheckpointView | None = None
    covered_records: int = 0
    replay: str | None = None

    @property
    def summary(self) -> str:
        """One line: ``intact: 12 records`` (``, anchored``), or what failed."""
        if self.ok:
            return f"intact{', anchored' if self.anchored else ''}: {self.records} records"
        if self.failed == "checkpoints":
            return f"CHECKPOINTS INVALID: {self.problem}"
        if self.failed == "replay":
            return f"INCONSISTENT with the stored registrations: {self.problem}"
        where = "" if self.first_bad is None else f" at record {self.first_bad}"
        return f"TAMPERED{where}: {self.problem}"

    @property
    def covered_seq(self) -> int | None:
        """The last record a valid checkpoint proves (None: none does)."""
        return self.covered_records if self.ok and self.anchored else None


@attrs.frozen
class EventView:
    """One event of the timeline."""

    seq: int
    time: datetime
    subject: str
    source: str | None
    dest: str
    trigger: str
    who: str
    #: ``command`` (sent by this library) or ``seen by sync`` (found on the API).
    origin: str
    reason: str | None
    metadata: tuple[tuple[str, str], ...]
    #: What the trigger recorded, as (label, text) pairs: fields digest, denied reasons...
    details: tuple[tuple[str, str], ...]
    anomaly: str | None
    #: True when a valid checkpoint covers this event's audit record.
    covered: bool = False

    @property
    def change(self) -> str:
        """``SUBMITTED → DISCARDED`` (``(new) → DRAFT`` for a creation)."""
        return f"{self.source or '(new)'} → {self.dest}"


@attrs.frozen
class DeniedView:
    """One denial reason AWS gave."""

    reason: str
    short_description: str
    long_description: str | None
    documentation_title: str | None
    #: The documentation link when it is an https URL (else shown as text only).
    documentation_link: str | None
    documentation_text: str | None


@attrs.frozen
class FieldRow:
    """One field's value: ``kind`` is ``text``, ``choices`` or ``attachment``."""

    path: str
    kind: str
    value: str


@attrs.frozen
class DiffRow:
    """One field's change between two versions (``added``, ``removed``, ``changed``)."""

    path: str
    kind: str
    before: str | None
    after: str | None


@attrs.frozen
class VersionView:
    """One version: its history, denial, field values, diff and path diagram."""

    number: int
    status: str
    current: bool
    #: (status, when it was entered), in time order.
    history: tuple[tuple[str, datetime], ...]
    denied: tuple[DeniedView, ...]
    feedback: str | None
    #: None: the store does not have this version's field values.
    fields: tuple[FieldRow, ...] | None
    digest: str | None
    #: The ``fields_digest`` its submit event recorded (None: none recorded).
    submitted_digest: str | None
    #: The version the diff is from, and the diff (None: values of either unknown).
    diff_from: int | None
    diff: tuple[DiffRow, ...] | None
    #: The statuses it passed through, and its diagram as DOT text (titled, timed).
    path: tuple[str, ...]
    title: str
    dot: str

    @property
    def digest_matches(self) -> bool | None:
        """Whether the kept values hash to what the submit event recorded (None: no
        digest to compare)."""
        if self.digest is None or self.submitted_digest is None:
            return None
        return self.digest == self.submitted_digest


@attrs.frozen
class OpenReview:
    """A version submitted and not yet decided."""

    registration_id: str
    page: str
    version: int
    status: str
    #: When it was submitted (or sent to AWS's review), and entered its status.
    since: datetime
    status_since: datetime
    days_open: float
    stale: bool


@attrs.frozen
class RegistrationView:
    """One registration's page."""

    id: str
    page: str
    arn: str
    type: str
    status: str
    created: datetime
    current_version: int
    approved_version: int | None
    latest_denied_version: int | None
    additional_attributes: tuple[tuple[str, str], ...]
    anomalies: tuple[str, ...]
    versions: tuple[VersionView, ...]
    events: tuple[EventView, ...]
    open_review: OpenReview | None

    @property
    def current_status(self) -> str:
        """The current version's status."""
        return next(v.status for v in self.versions if v.number == self.current_version)

    @property
    def last_change(self) -> datetime:
        """The latest event's time (the creation when there are none)."""
        return max((e.time for e in self.events), default=self.created)


@attrs.frozen
class DenialCount:
    """How many versions were denied for one reason, and which registrations."""

    reason: str
    count: int
    registrations: tuple[tuple[str, str], ...]


@attrs.frozen
class Report:
    """Everything the report's pages show."""

    generated_at: datetime
    store: str
    stale_days: float
    #: The optional edges the policy turns on ("none": the default policy).
    policy: str
    audit: AuditView
    registrations: tuple[RegistrationView, ...]

    @property
    def event_count(self) -> int:
        """How many events the registrations shown have."""
        return sum(len(r.events) for r in self.registrations)

    @property
    def counts(self) -> tuple[tuple[str, int], ...]:
        """Registrations by status, most first (ties by name)."""
        counted = Counter(r.status for r in self.registrations)
        return tuple(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def open_reviews(self) -> tuple[OpenReview, ...]:
        """Every open review, the oldest first."""
        found = (r.open_review for r in self.registrations)
        return tuple(sorted((o for o in found if o is not None), key=lambda o: o.since))

    @property
    def stale_reviews(self) -> tuple[OpenReview, ...]:
        """The reviews open longer than :attr:`stale_days`, the oldest first."""
        return tuple(o for o in self.open_reviews if o.stale)

    @property
    def denials(self) -> tuple[DenialCount, ...]:
        """Denied versions by reason, most first."""
        found: dict[str, list[tuple[str, str]]] = {}
        for reg in self.registrations:
            for version in reg.versions:
                for reason in dict.fromkeys(d.reason for d in version.denied):
                    found.setdefault(reason, []).append((reg.id, reg.page))
        return tuple(
            DenialCount(reason, len(regs), tuple(dict.fromkeys(regs)))
            for reason, regs in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        )


def build_report(
    store: ReportSource,
    registration_ids: Sequence[str] = (),
    *,
    now: datetime | None = None,
    stale_days: float = DEFAULT_STALE_DAYS,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    public_key: str | os.PathLike[str] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
    store_name: str = "the store",
) -> Report:
    """Read what the report shows from ``store``: every registration, or the ones named.

    ``now`` (default: the current time) dates the report and ages the open reviews;
    those open longer than ``stale_days`` are flagged. ``policy`` is the one whose
    refused edges the diagrams mark. The audit trail is verified by
    :func:`~registration_fsm.audit.verify_audit`, against the signed ``checkpoints``
    file with ``public_key`` when both are given. Raises :class:`NotTracked` for a
    named registration the store does not have, :class:`StoreError` when it cannot be
    read, :class:`InvalidArgument` for a key or checkpoint file that is not one.
    """
    if isinstance(registration_ids, str):
        raise InvalidArgumentType("registration_ids takes a sequence of ids, not one string")
    if isinstance(stale_days, bool) or not isinstance(stale_days, int | float):
        raise InvalidArgumentType(f"stale_days must be a number, got {stale_days!r}")
    if not math.isfinite(stale_days) or stale_days < 0:
        raise InvalidArgument(f"stale_days must be a finite number >= 0, got {stale_days!r}")
    if not isinstance(policy, LifecyclePolicy):
        raise InvalidArgumentType(f"policy must be a LifecyclePolicy, got {policy!r}")
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None:
        raise InvalidArgument("now must be timezone-aware")
    audit = verify_store(store, public_key=public_key, checkpoints=checkpoints)
    ids = list(dict.fromkeys(registration_ids)) or store.ids()
    pages = page_names(ids)
    views = []
    for reg_id in ids:
        stored = store.get(reg_id)
        if stored is None:
            raise NotTracked(reg_id)
        events = list(store.events_with_seq(reg_id))
        views.append(
            registration_view(
                stored.registration, events, page=pages[reg_id], now=moment,
                stale_days=stale_days, policy=policy, covered_seq=audit.covered_seq,
            )
        )  # fmt: skip
    enabled = sorted(e.name or str(e) for e in LIFECYCLE.optional_edges if policy.allows(e))
    return Report(
        generated_at=moment,
        store=store_name,
        stale_days=float(stale_days),
        policy=", ".join(enabled) or "none",
        audit=audit,
        registrations=tuple(views),
    )


def verify_store(
    store: ReportSource,
    *,
    public_key: str | os.PathLike[str] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
) -> AuditView:
    """Verify ``store``'s audit trail (and replay it against the stored state) with
    :func:`~registration_fsm.audit.verify_audit`; a trail that cannot be read is a
    failed verification, not an error."""
    from registration_fsm.audit import verify_audit

    checked = public_key is not None or checkpoints is not None
    try:
        verdict = verify_audit(store, public_key=public_key, checkpoints=checkpoints)
    except StoreError as err:
        return AuditView(False, 0, None, None, "trail", None,
                         f"the trail cannot be read: {err}", checked)  # fmt: skip
    found = verdict.checkpoint
    head = verdict.head
    return AuditView(
        ok=verdict.ok,
        records=verdict.records,
        head_seq=None if head is None else head.seq,
        head_hash=None if head is None else head.hash,
        failed=verdict.failed,
        first_bad=verdict.first_bad,
        problem=verdict.problem,
        checked_checkpoints=checked,
        anchored=verdict.anchored,
        checkpoint=None
        if found is None
        else CheckpointView(found.number, found.head.seq, found.time, found.key_id),
        covered_records=verdict.covered_records,
        replay=None if verdict.replay is None else str(verdict.replay),
    )


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")


def page_names(ids: Iterable[str]) -> dict[str, str]:
    """A file name for each registration's page: ``ID.html`` when the id is a plain
    name, else a cleaned name with a hash of the id; unique even on a case-insensitive
    file system, and never the overview's."""
    ids = list(ids)
    folded = Counter(i.casefold() for i in ids if _PLAIN_NAME.fullmatch(i))
    out = {}
    for reg_id in ids:
        plain = _PLAIN_NAME.fullmatch(reg_id) and folded[reg_id.casefold()] == 1
        if plain and f"{reg_id}.html".casefold() != INDEX_PAGE:
            out[reg_id] = f"{reg_id}.html"
        else:
            cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", reg_id)[:100]
            digest = hashlib.sha256(reg_id.encode("utf-8")).hexdigest()[:16]
            out[reg_id] = f"{cleaned}-{digest}.html"
    return out


def registration_view(
    reg: Registration,
    events: Sequence[StoredEvent],
    *,
    page: str,
    now: datetime,
    stale_days: float = DEFAULT_STALE_DAYS,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    covered_seq: int | None = None,
) -> RegistrationView:
    """One registration's page data (its events in append order)."""
    plain = [e.event for e in events]
    versions = []
    known = reg.field_values_known()
    for number in sorted(reg.versions):
        version = reg.versions[number]
        before = number - 1 if number - 1 in known and number in known else None
        versions.append(version_view(reg, version, plain, policy=policy, diff_from=before))
    return RegistrationView(
        id=reg.id,
        page=page,
        arn=reg.arn,
        type=reg.type,
        status=str(reg.status),
        created=reg.created,
        current_version=reg.current_version_number,
        approved_version=reg.approved_version_number,
        latest_denied_version=reg.latest_denied_version_number,
        additional_attributes=tuple(sorted(reg.additional_attributes.items())),
        anomalies=tuple(str(a) for a in reg.anomalies),
        versions=tuple(versions),
        events=tuple(
            event_view(e, covered=covered_seq is not None and e.seq <= covered_seq) for e in events
        ),
        open_review=open_review(reg, page, now, stale_days),
    )


def version_view(
    reg: Registration,
    version: RegistrationVersion,
    events: Sequence[TransitionEvent],
    *,
    policy: LifecyclePolicy,
    diff_from: int | None,
) -> VersionView:
    """One version's data; ``diff_from`` names the version to diff against."""
    from registration_fsm.diagrams.model import history_path

    values = reg.field_values(version.number)
    submits = [
        e for e in events
        if e.version_number == version.number and "fields_digest" in e.details
    ]  # fmt: skip
    digest = submits[-1].details["fields_digest"] if submits else None
    stamps = sorted(
        ((str(status), at) for api, _attr, status in HISTORY_FIELDS
         if (at := version.history.get(api)) is not None),
        key=lambda item: item[1],
    )  # fmt: skip
    path = tuple(history_path(version))
    title = f"{reg.id}, version {version.number} ({version.status})\n{' → '.join(path)}"
    diff = None
    if diff_from is not None:
        diff = tuple(
            DiffRow(c.field_path, c.kind, _value(c.before), _value(c.after))
            for c in reg.diff_fields(diff_from, version.number)
        )
    return VersionView(
        number=version.number,
        status=str(version.status),
        current=version.number == reg.current_version_number,
        history=tuple(stamps),
        denied=tuple(_denied(d) for d in version.denied_reasons),
        feedback=version.feedback,
        fields=None if values is None else tuple(_row(v) for v in values.values()),
        digest=None if values is None else values.digest(),
        submitted_digest=digest if isinstance(digest, str) else None,
        diff_from=diff_from,
        diff=diff,
        path=path,
        title=title,
        dot=version_dot(version, events, policy=policy, title=title),
    )


def open_review(
    reg: Registration, page: str, now: datetime, stale_days: float
) -> OpenReview | None:
    """The current version's review, if it was submitted and is not decided yet."""
    version = reg.current_version
    if not version.status.is_open or version.status == VersionStatus.DRAFT:
        return None
    history = version.history
    started = [t for t in (history.submitted, history.aws_reviewing) if t is not None]
    latest = max((at for api, _a, _s in HISTORY_FIELDS if (at := history.get(api)) is not None))
    since = min(started) if started else latest
    days = (now - since).total_seconds() / 86400
    return OpenReview(
        reg.id, page, version.number, str(version.status), since, latest, days, days > stale_days
    )


def event_view(stored: StoredEvent, *, covered: bool = False) -> EventView:
    """One stored event as a timeline row."""
    event = stored.event
    return EventView(
        seq=stored.seq,
        time=event.timestamp,
        subject=event.subject,
        source=None if event.source is None else str(event.source),
        dest=str(event.dest),
        trigger=event.trigger,
        who=who(event),
        origin="command" if event.origin == Origin.LOCAL else "seen by sync",
        reason=event.reason,
        metadata=tuple(sorted(event.metadata.items())),
        details=details(event.details),
        anomaly=event.anomaly,
        covered=covered,
    )


_DETAIL_LABELS = {
    "fields_digest": "fields digest",
    "aws_review": "AWS review",
    "feedback": "feedback",
    "resource_id": "resource",
}


def details(recorded: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An event's details as (label, text) pairs; each denial reason is one pair."""
    out: list[tuple[str, str]] = []
    for key in sorted(recorded):
        value = recorded[key]
        if key == "denied_reasons" and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    text = f"{item.get('Reason', '?')}: {item.get('ShortDescription', '')}"
                else:
                    text = _json(item)
                out.append(("denied reason", text))
        elif key == "aws_review" and isinstance(value, bool):
            out.append(("AWS review", "yes" if value else "no"))
        elif isinstance(value, str):
            out.append((_DETAIL_LABELS.get(key, key), value))
        else:
            out.append((_DETAIL_LABELS.get(key, key), _json(value)))
    return tuple(out)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _row(value: FieldValue) -> FieldRow:
    if value.text_value is not None:
        return FieldRow(value.field_path, "text", value.text_value)
    if value.attachment_id is not None:
        return FieldRow(value.field_path, "attachment", value.attachment_id)
    return FieldRow(value.field_path, "choices", ", ".join(value.select_choices or ()))


def _value(value: FieldValue | None) -> str | None:
    return None if value is None else _row(value).value


def _denied(denied: DeniedReason) -> DeniedView:
    link = denied.documentation_link
    safe = link if isinstance(link, str) and link.startswith("https://") else None
    return DeniedView(
        denied.reason,
        denied.short_description,
        denied.long_description,
        denied.documentation_title,
        safe,
        link if safe is None else None,
    )


__all__ = [
    "DEFAULT_STALE_DAYS",
    "INDEX_PAGE",
    "AuditView",
    "CheckpointView",
    "DenialCount",
    "DeniedView",
    "DiffRow",
    "EventView",
    "FieldRow",
    "OpenReview",
    "RegistrationView",
    "Report",
    "ReportSource",
    "VersionView",
    "build_report",
    "details",
    "event_view",
    "open_review",
    "page_names",
    "registration_view",
    "verify_store",
    "version_view",
    "who",
]
