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
