"""Rendering for the command line: timelines, tables and JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from registration_fsm.domain.events import Origin, TransitionEvent
from registration_fsm.domain.lifecycle import who as lifecycle_who
from registration_fsm.domain.registration import Registration


def to_json(data: Any) -> str:
    """JSON with datetimes as ISO 8601."""
    return json.dumps(data, indent=2, sort_keys=True, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def who(event: TransitionEvent) -> str:
    """Who caused an event: the actor, else customer/AWS from the lifecycle's triggers."""
    base = lifecycle_who(event)
    return base if event.actor or event.origin == Origin.LOCAL else f"{base} (seen by sync)"


def timeline_line(event: TransitionEvent) -> str:
    """One aligned line of a timeline."""
    src = "(new)" if event.source is None else str(event.source)
    move = f"{src} -> {event.dest}"
    subject = "reg" if event.version_number is None else f"v{event.version_number}"
    line = (
        f"  {event.timestamp:%Y-%m-%d %H:%M:%S}Z  {subject:<4} {move:<40} "
        f"{event.trigger:<14} {who(event)}"
    )
    if event.reason:
        line += f'  "{event.reason}"'
    if event.metadata:
        line += "  [" + ", ".join(f"{k}={v}" for k, v in sorted(event.metadata.items())) + "]"
    if event.anomaly:
        line += f"  [anomaly: {event.anomaly}]"
    return line


def registration_table(reg: Registration) -> list[str]:
    """A registration and its versions as lines of text."""
    lines = [
        f"{reg.id}  {reg.type}  {reg.status}",
        f"  current v{reg.current_version_number}"
        f"  approved {_num(reg.approved_version_number)}"
        f"  latest denied {_num(reg.latest_denied_version_number)}",
    ]
    for n in sorted(reg.versions):
        v = reg.versions[n]
        stamps = ", ".join(
            f"{api.removesuffix('Timestamp')} {t:%Y-%m-%d %H:%M}" for api, t in v.history.items()
        )
        lines.append(f"  v{n:<3} {v.status!s:<23} {stamps}")
        for denied in v.denied_reasons:
            lines.append(f"        denied: {denied.reason}: {denied.short_description}")
        if v.feedback is not None:
            lines.append(f"        feedback: {v.feedback}")
    return lines


def field_lines(reg: Registration) -> list[str]:
    """Each version's kept field values (with their digest) as lines of text."""
    known = reg.field_values_known()
    lines = []
    for n in sorted(reg.versions):
        values = known.get(n)
        if values is None:
            lines.append(f"  v{n:<3} field values not read")
            continue
        lines.append(f"  v{n:<3} {len(values)} field value(s), {values.digest()}")
        lines.extend(f"        {path}: {value.show()}" for path, value in values.items())
    return lines


def _num(value: int | None) -> str:
    return "-" if value is None else f"v{value}"


def registration_json(reg: Registration) -> dict[str, Any]:
    """A registration in the API's shapes, with the anomalies found in it."""
    return {
        "Registration": reg.to_api(),
        "RegistrationVersions": reg.versions_to_api(),
        "Anomalies": [str(a) for a in reg.anomalies],
    }
