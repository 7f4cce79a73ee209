"""Everything ``audit verify`` checks, in one verdict.

In order, stopping at the first failure: the checkpoint file (signatures, numbering,
chain), the trail's own chain, the trail against every checkpoint (it must hold
each checkpointed record with its hash, so a tail cut, a rewrite recomputed with
:func:`~registration_fsm.store.chain.record_hash`, a rechained deletion or an
emptied log is found once a checkpoint covers it), and — for a store — the events
replayed against the stored registrations and versions.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import attrs

from registration_fsm.audit.chain import ChainWalk, Verdict
from registration_fsm.audit.checkpoints import (
    MAX_CHECKPOINT_BYTES,
    MAX_CHECKPOINT_LINE,
    Checkpoint,
    CheckpointLog,
    covers,
    read_checkpoints,
)
from registration_fsm.audit.jsonl import (
    MAX_LINE_BYTES,
    MAX_TRAIL_BYTES,
    _trail,
    open_store,
    walk_export,
)
from registration_fsm.audit.keys import load_public_key
from registration_fsm.audit.replay import Replay, replay
from registration_fsm.domain.registration import Registration
from registration_fsm.errors import InvalidArgument, StoreError
from registration_fsm.store.base import ShardedStore
from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord

#: What failed: the checkpoint file, the chain (alone or against a checkpoint), the replay.
Failed = Literal["checkpoints", "trail", "replay"]


@attrs.frozen
class AuditVerdict:
    """The outcome of :func:`verify_audit`.

    ``ok``: nothing wrong was found. ``anchored``: at least one signed checkpoint
    verified and the trail holds what it vouched for; ``checkpoint`` is the latest,
    ``covered_records`` the records it covers (``uncovered_records`` came after it:
    consistent, but nothing proves them yet). Without an anchor ``ok`` means
    internally consistent only. ``failed`` says which check failed, ``problem`` why,
    ``first_bad`` the first bad record when one is known — for a rewrite a checkpoint
    finds, the first record it can no longer vouch for (the records after the
    previous checkpoint).
    ``replay`` is None for an export (it holds no registrations).
    """

    ok: bool
    records: int
    head: AuditHead | None
    anchored: bool = False
    checkpoint: Checkpoint | None = None
    covered_records: int = 0
    replay: Replay | None = None
    failed: Failed | None = None
    first_bad: int | None = None
    problem: str | None = None

    @property
    def uncovered_records(self) -> int:
        """Records after the latest checkpoint (all of them when not anchored)."""
        return max(self.records - self.covered_records, 0)

    def __str__(self) -> str:
        if not self.ok:
            if self.failed == "checkpoints":
                return f"CHECKPOINTS INVALID: {self.problem}"
            where = "" if self.first_bad is None else f" at record {self.first_bad}"
            return f"TAMPERED{where}: {self.problem}"
        tip = self.head.hash if self.head else GENESIS
        parts = [f"{self.records} records, head {tip}"]
        if self.anchored and self.checkpoint is not None:
            covered = self.covered_records
            span = f"records 1-{covered}" if covered else "no records (an empty trail)"
            parts.append(f"{self.checkpoint.describe()} covers {span}")
            if self.uncovered_records:
                parts.append(
                    f"{self.uncovered_records} records after the latest checkpoint, not covered"
                )
        if self.replay is None:
            parts.append("an export: no stored registrations to replay")
        else:
            parts.append(str(self.replay))
        if not self.anchored:
            parts.append(
                "internal consistency only: no checkpoint anchors it, so a trail rewritten, "
                "cut or emptied together with its head would pass too"
            )
        return ("intact, anchored: " if self.anchored else "intact: ") + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON data (what ``audit verify --json`` prints)."""
        return {
            "ok": self.ok,
            "anchored": self.anchored,
            "records": self.records,
            "covered_records": self.covered_records,
            "uncovered_records": self.uncovered_records,
            "failed": self.failed,
            "first_bad": self.first_bad,
            "problem": self.problem,
            "head": None if self.head is None else self.head.to_json()["head"],
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_json(),
            "replay": None
            if self.replay is None
            else {
                "registrations": self.replay.registrations,
                "versions": self.replay.versions,
                "problems": list(self.replay.problems),
                "unchecked": list(self.replay.unchecked),
            },
        }


def verify_with_checkpoints(
    trail: Any,
    public_key: str | os.PathLike[str],
    checkpoints: str | os.PathLike[str],
    **limits: int,
) -> AuditVerdict:
    """:func:`verify_audit` against a checkpoint file, checked with ``public_key``."""
    return verify_audit(trail, public_key=public_key, checkpoints=checkpoints, **limits)


def verify_audit(
    trail: Any,
    *,
    public_key: str | os.PathLike[str] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_trail_bytes: int = MAX_TRAIL_BYTES,
) -> AuditVerdict:
    """Verify ``trail`` — a store, or the path of an SQLite store (opened read-only)
    or of a JSON Lines export — and, given both ``public_key`` and ``checkpoints``,
    anchor it to the signed checkpoints.

    :class:`InvalidArgument` for what is not an audit trail, a checkpoint file or a
    public key (an empty file, an SVG, another database, a file over the limits:
    ``max_line_bytes`` a line and ``max_trail_bytes`` in all for an export), or only
    one of ``public_key`` and ``checkpoints``.
    """
    if (public_key is None) != (checkpoints is None):
        raise InvalidArgument("public_key and checkpoints go together: give both, or neither")
    log = None
    if public_key is not None and checkpoints is not None:
        log = read_checkpoints(
            checkpoints,
            load_public_key(public_key),
            max_line=MAX_CHECKPOINT_LINE,
            max_total=MAX_CHECKPOINT_BYTES,
        )
        if not log.checkpoints and log.problem is None:
            raise InvalidArgument(f"{os.fspath(checkpoints)}: holds no checkpoint")
    keep = {c.head.seq for c in log.checkpoints} if log is not None else set()
    if isinstance(trail, str | os.PathLike):
        walked = walk_export(trail, keep=keep, max_line=max_line_bytes, max_total=max_trail_bytes)
        if walked is not None:
            chain, kept = walked
            return _judge(log, chain, kept, None)
        with open_store(trail) as store:
            return _verify_store(store, log, keep)
    return _verify_store(trail, log, keep)


def _verify_store(store: Any, log: CheckpointLog | None, keep: set[int]) -> AuditVerdict:
    try:
        records, head, registrations = _snapshot(store)
    except StoreError as err:
        chain = Verdict(False, 0, None, None, f"the store cannot be read: {err}")
        return _judge(log, chain, {}, None)
    walk = ChainWalk(keep)
    for record in records:
        if walk.add(record) is not None:
            break
    chain = walk.finish(head)
    if isinstance(registrations, str):
        found = Replay(0, 0, (f"the stored registrations cannot be read: {registrations}",))
    else:
        found = replay(records, registrations)
    return _judge(log, chain, walk.kept, found)


def _snapshot(store: Any) -> tuple[list[AuditRecord], AuditHead, list[Registration] | str]:
    """The trail and the registrations (or why they cannot be read) as of one moment:
    the head must not move while the registrations are read, as every save that
    changes a status adds events."""
    if isinstance(store, ShardedStore):  # the chain is the whole store's: so is the replay
        store = store.where()
    for _attempt in range(5):
        records, head = _trail(store)
        try:
            registrations: list[Registration] | str = list(store.registrations())
        except StoreError as err:
            registrations = str(err)
        if store.audit_head() == head:
            return records, head, registrations
    raise StoreError("the store kept changing while it was verified; verify it again")


def _judge(
    log: CheckpointLog | None,
    chain: Verdict,
    kept: dict[int, str],
    found: Replay | None,
) -> AuditVerdict:
    base = AuditVerdict(False, chain.records, chain.head, replay=found)
    if log is not None and log.problem is not None:
        return attrs.evolve(base, failed="checkpoints", problem=log.problem)
    if not chain.ok:
        return attrs.evolve(base, failed="trail", first_bad=chain.first_bad, problem=chain.problem)
    last: Checkpoint | None = None
    for checkpoint in log.checkpoints if log is not None else ():
        if checkpoint.head.seq > chain.records:
            problem = (
                f"the trail ends at record {chain.records}, but {checkpoint.describe()} "
                f"covers {checkpoint.head.seq} records: records were removed (cut from the "
                "end, or deleted and the rest renumbered) and the head rewritten to match"
            )
            return attrs.evolve(base, failed="trail", first_bad=chain.records + 1, problem=problem)
        if covers(checkpoint, kept) is not None:
            first, seq = (0 if last is None else last.head.seq) + 1, checkpoint.head.seq
            which = f"record {seq} was" if first == seq else f"a record among {first}-{seq} was"
            problem = (
                f"record {seq} is not the one {checkpoint.describe()} vouched for: {which} "
                "changed, removed or inserted, and the chain recomputed"
            )
            return attrs.evolve(base, failed="trail", first_bad=first, problem=problem)
        last = checkpoint
    if found is not None and not found.ok:
        more = f" (and {len(found.problems) - 1} more)" if len(found.problems) > 1 else ""
        problem = f"{found.problems[0]}{more}"
        return attrs.evolve(base, failed="replay", problem=problem)
    return attrs.evolve(
        base,
        ok=True,
        anchored=last is not None,
        checkpoint=last,
        covered_records=0 if last is None else last.head.seq,
    )
