"""The audit trail as JSON Lines: one record per line, the head last."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from registration_fsm.audit.chain import Verdict, verify
from registration_fsm.errors import InvalidArgument, StoreError
from registration_fsm.store.chain import AuditHead, AuditRecord

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _trail(store: Any) -> tuple[list[AuditRecord], AuditHead]:
    """``store``'s audit records and head as of one moment.

    Uses the store's ``audit_trail()`` when it has one: reading the records and
    then the head apart lets a save committed in between (another process)
    put the head past the records, a false "truncated" verdict.
    """
    read = getattr(store, "audit_trail", None)
    if callable(read):
        records, head = read()
        return list(records), head
    return list(store.audit_records()), store.audit_head()


def export_jsonl(store: Any, out: IO[str]) -> int:
    """Write ``store``'s audit trail to ``out``; returns the number of records."""
    records, head = _trail(store)
    for record in records:
        out.write(json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False) + "\n")
    out.write(json.dumps(head.to_json(), sort_keys=True) + "\n")
    return len(records)


class _Malformed(Exception):
    pass


def read_jsonl(lines: Iterator[str]) -> tuple[list[AuditRecord], AuditHead | None, str | None]:
    """Records, head and the first unreadable line's problem (None if all were readable)."""
    records: list[AuditRecord] = []
    head: AuditHead | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if head is not None:
                raise _Malformed("a record follows the head")
            if isinstance(data, dict) and set(data) == {"head"}:
                head = AuditHead(_int(data["head"], "seq"), _str(data["head"], "hash"))
                continue
            if not isinstance(data, dict):
                raise _Malformed("not a JSON object")
            records.append(
                AuditRecord(
                    _int(data, "seq"),
                    _str(data, "registration_id"),
                    data.get("event"),
                    _str(data, "prev_hash"),
                    _str(data, "hash"),
                )
            )
        except (ValueError, _Malformed, TypeError, RecursionError) as err:
            return records, head, f"line {number} is not an audit record: {err}"
    return records, head, None


def _int(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if type(value) is not int:
        raise _Malformed(f"{key} must be an integer")
    return value


def _str(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise _Malformed(f"{key} must be a string")
    return value


def verify_path(path: str | os.PathLike[str]) -> Verdict:
    """Verify a JSON Lines export or an SQLite store file."""
    target = Path(path)
    try:
        with target.open("rb") as raw:
            magic = raw.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise InvalidArgument(f"cannot read {target}: {err.strerror or err}") from None
    if magic == _SQLITE_MAGIC:
        from registration_fsm.store.sqlite import SQLiteStore

        with SQLiteStore(target) as store:
            try:
                return verify(*_trail(store))
            except StoreError as err:
                return Verdict(False, 0, None, None, f"the store cannot be read: {err}")
    try:
        with target.open(encoding="utf-8") as text:
            records, head, problem = read_jsonl(iter(text))
    except UnicodeDecodeError as err:
        return Verdict(False, 0, None, None, f"not UTF-8 text: {err}")
    if problem is not None:
        return Verdict(False, len(records), head, len(records) + 1, problem)
    return verify(records, head)
