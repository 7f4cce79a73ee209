"""The lifecycle tables, the status rules and the quota table as Markdown, for the docs."""

from __future__ import annotations

from registration_fsm.domain.history import STAMP_OF
from registration_fsm.domain.lifecycle import LIFECYCLE, Edge, RegistrationEdge
from registration_fsm.domain.statuses import REGISTRATION_STATUS_RULES


def to_markdown_table() -> str:
    """One row per edge of LIFECYCLE: from, trigger, to, stamp, initiator, API call, source."""
    rows = [
        "| from | trigger | to | history field | fired by | API operation | AWS source |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in LIFECYCLE:
        trigger = LIFECYCLE.triggers[e.trigger]
        source = "(new version)" if e.source is None else str(e.source)
        name = f"`{e.trigger}`" + (f" with `{e.when}`" if e.when else "")
        if e.optional:
            name += f" (optional `{e.name}`: off by default)"
        how, note = _source(e)
        operation = (
            "CreateRegistration / CreateRegistrationVersion"
            if e.source is None
            else (trigger.operation or "—")
        )
        rows.append(
            f"| {source} | {name} | {e.dest} | {STAMP_OF[e.dest] or '—'} | "
            f"{trigger.initiator.value} | {operation} | {how}{note} |"
        )
    terminal = ", ".join(sorted(LIFECYCLE.terminal))
    rows.append("")
    rows.append(f"Terminal statuses (no way out): {terminal}.")
    return "\n".join(rows)


def _source(e: Edge | RegistrationEdge) -> tuple[str, str]:
    how = f"[documented]({e.link})" if e.documented else f"inferred ([page]({e.link}))"
    return how, f" — {e.note}" if e.note else ""


def to_registration_table() -> str:
    """One row per line of REGISTRATION_EDGES: from, trigger, to, fired by, API call, source."""
    rows = [
        "| from | trigger | to | fired by | API operation | AWS source |",
        "|---|---|---|---|---|---|",
    ]
    for e in LIFECYCLE.registration_edges:
        trigger = LIFECYCLE.triggers[e.trigger]
        source = "(any other status)" if e.source is None else str(e.source)
        name = f"`{e.trigger}`"
        if trigger.follows is not None:
            name += f" (with `{trigger.follows}`)"
        if e.optional:
            name += f" (optional `{e.name}`: off by default)"
        how, note = _source(e)
        rows.append(
            f"| {source} | {name} | {e.dest} | {trigger.initiator.value} | "
            f"{trigger.operation or '—'} | {how}{note} |"
        )
    return "\n".join(rows)


def to_status_rules_table() -> str:
    """The rules deriving the registration status from its versions, first match first."""
    rows = ["| # | when (after the change) | registration status | why |", "|---|---|---|---|"]
    for i, rule in enumerate(REGISTRATION_STATUS_RULES, start=1):
        rows.append(f"| {i} | {rule.when} | {rule.gives} | {rule.why} |")
    return "\n".join(rows)


def to_quota_table() -> str:
    """AWS's default quota of each operation the library calls, from the one table."""
    from registration_fsm.quotas import READ_ON, SOURCE, TABLE

    rows = [
        "| operation | default (requests per second) | on AWS's page |",
        "|---|---|---|",
    ]
    for q in sorted(TABLE, key=lambda q: q.operation):
        seen = "read" if q.read else "assumed (like the other registration rows)"
        rows.append(f"| {q.operation} | {q.rps:g} | {seen} |")
    rows += ["", f"Read on {READ_ON} from [AWS's quotas page]({SOURCE})."]
    return "\n".join(rows)
