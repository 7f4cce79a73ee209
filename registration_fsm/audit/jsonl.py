"""The audit trail as JSON Lines: one record per line, the head last.

Reading is bounded (:data:`MAX_LINE_BYTES` a line, :data:`MAX_TRAIL_BYTES` in all)
and streams: an export is checked as it is read, so its size does not matter to
memory. A file is taken for an export only when its first line is (recognisably)
an audit record or head; anything else — an empty file, an SVG, a binary that is
not an SQLite store of this library — is :class:`InvalidArgument`, not a
tampered trail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, Any

from registration_fsm.audit.chain import ChainWalk, Verdict, verify
from registration_fsm.errors import InvalidArgument, StoreError
from registration_fsm.store.chain import AuditHead, AuditRecord

#: The longest line of an export read (a record is a few kilobytes at most).
MAX_LINE_BYTES = 1 << 20
#: The most bytes of an export read.
MAX_TRAIL_BYTES = 1 << 30
_SQLITE_MAGIC = b"SQLite format 3\x00"
_RECORD_KEYS = frozenset({"seq", "registration_id", "event", "prev_hash", "hash", "head"})


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


def _parse(line: str) -> AuditRecord | AuditHead:
    data = json.loads(line)
    if isinstance(data, dict) and set(data) == {"head"}:
        return AuditHead(_int(data["head"], "seq"), _str(data["head"], "hash"))
    if not isinstance(data, dict):
        raise _Malformed("not a JSON object")
    shard = data.get("shard")
    if shard is not None and not isinstance(shard, str):
        raise _Malformed("shard must be a string")
    return AuditRecord(
        _int(data, "seq"),
        _str(data, "registration_id"),
        data.get("event"),
        _str(data, "prev_hash"),
        _str(data, "hash"),
        shard,
    )


_UNREADABLE = (ValueError, _Malformed, TypeError, RecursionError)


def read_jsonl(lines: Iterator[str]) -> tuple[list[AuditRecord], AuditHead | None, str | None]:
    """Records, head and the first unreadable line's problem (None if all were readable)."""
    records: list[AuditRecord] = []
    head: AuditHead | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if head is not None:
                raise _Malformed("a record follows the head")
            parsed = _parse(line)
        except _UNREADABLE as err:
            return records, head, f"line {number} is not an audit record: {err}"
        if isinstance(parsed, AuditHead):
            head = parsed
        else:
            records.append(parsed)
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


def bounded_lines(
    raw: IO[bytes], where: str, *, max_line: int, max_total: int
) -> Iterator[tuple[int, bytes]]:
    """``raw``'s lines (numbered from 1, newline kept) while within the limits;
    :class:`InvalidArgument` naming the limit when one is passed."""
    total = 0
    number = 0
    while True:
        line = raw.readline(max_line + 1)
        if not line:
            return
        number += 1
        total += len(line)
        if len(line) > max_line:
            raise InvalidArgument(
                f"{where}: line {number} is longer than {_size(max_line)}; "
                "not a file this command reads"
            )
        if total > max_total:
            raise InvalidArgument(f"{where}: larger than {_size(max_total)}; not read further")
        yield number, line


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


def _looks_like_trail(line: bytes) -> bool:
    """Whether an export's first line is (recognisably) an audit record or head."""
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False
    if not text.startswith("{"):
        return False
    try:
        data = json.loads(text)
    except RecursionError:  # an object nested past the limit: a record's unreadable content
        return True
    except ValueError:  # a record cut or garbled: still recognisably one
        return any(f'"{key}"' in text for key in _RECORD_KEYS)
    return isinstance(data, dict) and bool(_RECORD_KEYS & data.keys())


def walk_export(
    path: str | os.PathLike[str],
    *,
    keep: Collection[int] = (),
    max_line: int = MAX_LINE_BYTES,
    max_total: int = MAX_TRAIL_BYTES,
) -> tuple[Verdict, dict[int, str]] | None:
    """Verify a JSON Lines export as it is read (one pass: a pipe will do): the verdict
    and the hashes of the ``keep`` records. None if ``path`` is an SQLite file or a
    ``postgresql://`` URL (a store: :func:`open_store` opens it).

    :class:`InvalidArgument` if it is not an export, cannot be read or passes a limit.
    """
    from registration_fsm.store.locate import is_postgres

    if is_postgres(path):
        return None
    target = Path(path)
    try:
        with target.open("rb") as raw:
            if raw.peek(len(_SQLITE_MAGIC))[: len(_SQLITE_MAGIC)] == _SQLITE_MAGIC:
                return None
            return _walk(raw, target, keep, max_line, max_total)
    except OSError as err:
        raise InvalidArgument(f"cannot read {target}: {err.strerror or err}") from None


def _walk(
    raw: IO[bytes], target: Path, keep: Collection[int], max_line: int, max_total: int
) -> tuple[Verdict, dict[int, str]]:
    walk = ChainWalk(keep)
    head: AuditHead | None = None
    seen = False
    for number, line in bounded_lines(raw, str(target), max_line=max_line, max_total=max_total):
        if not line.strip():
            continue
        if not seen:
            seen = True
            if not _looks_like_trail(line):
                raise InvalidArgument(
                    f"{target}: not an audit trail (neither a JSON Lines export nor a store)"
                )
        try:
            if head is not None:
                raise _Malformed("a record follows the head")
            parsed = _parse(line.decode("utf-8"))
        except UnicodeDecodeError as err:
            problem = f"line {number} is not UTF-8 text: {err}"
        except _UNREADABLE as err:
            problem = f"line {number} is not an audit record: {err}"
        else:
            if isinstance(parsed, AuditHead):
                head = parsed
            elif walk.add(parsed) is not None:
                break
            continue
        return Verdict(False, walk.count, head, walk.last + 1, problem), walk.kept
    if not seen:
        raise InvalidArgument(f"{target}: not an audit trail (an empty file)")
    return walk.finish(head), walk.kept


def open_store(path: str | os.PathLike[str]) -> Any:
    """The store at ``path`` — an SQLite file, or a ``postgresql://`` URL — opened
    read-only; :class:`InvalidArgument` if a file cannot be opened as one (not a store of
    this library, unreadable, newer schema). A database that cannot be reached or is no
    store raises :class:`StoreError`: it is not a file mistaken for a trail."""
    from registration_fsm.store.locate import is_postgres
    from registration_fsm.store.locate import open_store as locate

    if is_postgres(path):
        return locate(path, read_only=True)
    try:
        return locate(path, read_only=True)
    except StoreError as err:
        raise InvalidArgument(f"not an audit trail: {err}") from None


def verify_path(path: str | os.PathLike[str]) -> Verdict:
    """Verify the chain of a JSON Lines export, an SQLite store file or a ``postgresql://``
    store (opened read-only).

    :class:`InvalidArgument` if ``path`` is neither, cannot be read, or passes the
    read limits. :func:`~registration_fsm.audit.verify_audit` also checks
    checkpoints and replays the events against the stored registrations.
    """
    walked = walk_export(path)
    if walked is not None:
        return walked[0]
    with open_store(path) as store:
        try:
            return verify(*_trail(store))
        except StoreError as err:
            return Verdict(False, 0, None, None, f"the store cannot be read: {err}")
