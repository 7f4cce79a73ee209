"""An HTML evidence report of a store, for a compliance officer or an auditor.

One self-contained page per registration — every event with who, when, why and
metadata; each version's path on the lifecycle diagram with the time of each step;
denial reasons and feedback; the field values submitted and what changed between
versions; the audit trail's verification — and an overview page (registrations by
status, reviews open too long, denials by reason)::

    from registration_fsm import SQLiteStore
    from registration_fsm.report import build_report, write_report

    with SQLiteStore("registration-fsm.db", read_only=True) as store:
        report = build_report(store, store_name="registration-fsm.db")
    write_report(report, "evidence")           # evidence/index.html and one page each

:func:`build_report` reads (:mod:`.model`), :func:`write_report` renders with Jinja2
and writes (:mod:`.render`); the diagrams need Graphviz's ``dot``. Jinja2 is imported
on first render. On the command line: ``registration-fsm report``.
"""

from registration_fsm.report.model import (
    DEFAULT_STALE_DAYS,
    INDEX_PAGE,
    AuditView,
    CheckpointView,
    DenialCount,
    DeniedView,
    DiffRow,
    EventView,
    FieldRow,
    OpenReview,
    RegistrationView,
    Report,
    ReportSource,
    VersionView,
    build_report,
    verify_store,
)
from registration_fsm.report.render import (
    layout_for,
    render_overview,
    render_pages,
    render_registration,
    write_report,
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
    "layout_for",
    "render_overview",
    "render_pages",
    "render_registration",
    "verify_store",
    "write_report",
]
