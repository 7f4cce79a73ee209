"""Checking a chain: every record in sequence, linked, unchanged, and ending at the head."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord, record_hash


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
