"""The lifecycle table as Markdown, for the docs."""

from __future__ import annotations

from registration_fsm.domain.lifecycle import LIFECYCLE, RULES


def to_markdown_table() -> str:
    """One row per LIFECYCLE entry: trigger, from, to, stamp, cause, API call, source."""
    rows = [
        "| trigger | from | to | history field | caused by | API operation | AWS source |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in LIFECYCLE:
        sources = ", ".join(sorted(t.sources)) or "(new version)"
        trigger = f"`{t.trigger}`" + (f" with `{t.when}`" if t.when else "")
        source = (
            f"[documented]({t.source_link})"
            if t.documented
            else f"inferred ([page]({t.source_link}))"
        )
        note = f" — {t.note}" if t.note else ""
        rows.append(
            f"| {trigger} | {sources} | {t.dest} | {t.stamps or '—'} | {t.cause.value} | "
            f"{t.operation or '—'} | {source}{note} |"
        )
    terminal = ", ".join(sorted(RULES.terminal))
    rows.append("")
    rows.append(f"Terminal statuses (no way out): {terminal}.")
    return "\n".join(rows)
