"""The audit chain's format: how each stored event's hash is made, in the save transaction.

A store writes these with every save (see :mod:`registration_fsm.store.codec`);
:mod:`registration_fsm.audit` reads and checks them.
"""

from __future__ import annotations

import hashlib
import json
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
    #: ``ACCOUNT/REGION`` the store keeps beside the record (None: none kept). Not
    #: hashed: events stored since schema 5 name their shard in ``event`` too; this
    #: tells the replay whose an older event is, in a store that now holds two
    #: registrations with its id.
    shard: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form."""
        out = {
            "seq": self.seq,
            "registration_id": self.registration_id,
            "event": self.event,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.shard is not None:
            out["shard"] = self.shard
        return out


@attrs.frozen
class AuditHead:
    """The chain's end as the store recorded it: last sequence number and hash."""

    seq: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form (the file's last line)."""
        return {"head": {"seq": self.seq, "hash": self.hash}}
