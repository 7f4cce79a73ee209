"""The hash chain: how a record's hash is made, and how a chain is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import attrs

#: The "previous hash" of the first record.
GENESIS = "0" * 64
_DOMAIN = b"registration-fsm audit v1\n"


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (sorted keys, compact, UTF-8)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def record_hash(seq: int, registration_id: str, prev_hash: str, event: Any) -> str:
    """SHA-256 (hex) over a record's position, registration, predecessor and content."""
    digest = hashlib.sha256(_DOMAIN)
    digest.update(f"{seq}\n{registration_id}\n{prev_hash}\n".encode())
    digest.update(canonical(event))
    return digest.hexdigest()


@attrs.frozen
class AuditRecord:
    """One record of the trail: ``event`` is the stored event as JSON data."""

    seq: int
    registration_id: str
    event: Any
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form."""
        return {
            "seq": self.seq,
            "registration_id": self.registration_id,
            "event": self.event,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@attrs.frozen
class AuditHead:
    """The chain's end as the store recorded it: last sequence number and hash."""

    seq: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form (the file's last line)."""
        return {"head": {"seq": self.seq, "hash": self.hash}}


@attrs.frozen
class Verdict:
    """The outcome of :func:`verify`: ``ok``, or the first bad record and why."""

    ok: bool
    records: int
    head: AuditHead | None
    first_bad: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            tip = self.head.hash if self.head else GENESIS
            return f"intact: {self.records} records, head {tip}"
        where = "the log" if self.first_bad is None else f"record {self.first_bad}"
        return f"TAMPERED at {where}: {self.problem}"


def verify(records: Iterable[AuditRecord], head: AuditHead | None) -> Verdict:
    """Check the chain: sequence 1..n, each record linked to the previous, each hash
    right, and the end equal to ``head`` (None: the head is missing, which a
    truncated export looks like)."""
    prev, last, count = GENESIS, 0, 0
    for position, record in enumerate(records, start=1):
        count = position
        if record.seq != last + 1:
            problem = (
                f"sequence number {record.seq} where {last + 1} was expected "
                "(a record was removed, inserted or moved)"
            )
            return Verdict(False, count, head, record.seq, problem)
        if record.prev_hash != prev:
            problem = f"does not link to record {last} (a record was removed or inserted)"
            return Verdict(False, count, head, record.seq, problem)
        try:
            expected = record_hash(record.seq, record.registration_id, prev, record.event)
        except (TypeError, ValueError, RecursionError) as err:
            return Verdict(False, count, head, record.seq, f"content is not JSON data: {err}")
        if record.hash != expected:
            return Verdict(False, count, head, record.seq, "content was changed (hash mismatch)")
        prev, last = record.hash, record.seq
    if head is None:
        return Verdict(False, count, None, None, "the head record is missing (truncated?)")
    if head.seq != last or head.hash != prev:
        problem = (
            f"the chain ends at record {last} but the head says {head.seq} "
            "(records were removed from the end, or the head was changed)"
        )
        return Verdict(False, count, head, last + 1 if head.seq > last else None, problem)
    return Verdict(True, count, head)
