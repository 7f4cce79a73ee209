"""Checking a chain: every record in sequence, linked, unchanged, and ending at the head."""

from __future__ import annotations

from collections.abc import Collection, Iterable

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


class ChainWalk:
    """:func:`verify` one record at a time, so a trail can be checked as it is read.

    ``keep`` names sequence numbers whose hashes to remember (:attr:`kept`): the
    records a checkpoint vouches for.
    """

    def __init__(self, keep: Collection[int] = ()) -> None:
        self.prev, self.last, self.count = GENESIS, 0, 0
        self.verdict: Verdict | None = None
        self._keep = frozenset(keep)
        self.kept: dict[int, str] = {}

    def add(self, record: AuditRecord) -> Verdict | None:
        """Check the next record; the first failure's verdict (then every later call's)."""
        if self.verdict is not None:
            return self.verdict
        self.count += 1
        last = self.last
        problem = None
        if record.seq != last + 1:
            problem = (
                f"sequence number {record.seq} where {last + 1} was expected "
                "(a record was removed, inserted or moved)"
            )
        elif record.prev_hash != self.prev:
            problem = f"does not link to record {last} (a record was removed or inserted)"
        else:
            try:
                expected = record_hash(record.seq, record.registration_id, self.prev, record.event)
            except (TypeError, ValueError, RecursionError) as err:
                problem = f"content is not JSON data: {err}"
            else:
                if record.hash != expected:
                    problem = "content was changed (hash mismatch)"
        if problem is not None:
            self.verdict = Verdict(False, self.count, None, record.seq, problem)
            return self.verdict
        self.prev, self.last = record.hash, record.seq
        if record.seq in self._keep:
            self.kept[record.seq] = record.hash
        return None

    def finish(self, head: AuditHead | None) -> Verdict:
        """The verdict once every record was added: the chain must end at ``head``."""
        if self.verdict is not None:
            return attrs.evolve(self.verdict, head=head)
        last, count = self.last, self.count
        if head is None:
            return Verdict(False, count, None, None, "the head record is missing (truncated?)")
        if head.seq != last or head.hash != self.prev:
            problem = (
                f"the chain ends at record {last} but the head says {head.seq} "
                "(records were removed from the end, or the head was changed)"
            )
            return Verdict(False, count, head, last + 1 if head.seq > last else None, problem)
        return Verdict(True, count, head)


def verify(records: Iterable[AuditRecord], head: AuditHead | None) -> Verdict:
    """Check the chain: sequence 1..n, each record linked to the previous, each hash
    right, and the end equal to ``head`` (None: the head is missing, which a
    truncated export looks like)."""
    walk = ChainWalk()
    for record in records:
        if walk.add(record) is not None:
            break
    return walk.finish(head)
