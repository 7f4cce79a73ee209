"""A tamper-evident audit trail: every stored event, hash-chained, and signed checkpoints.

Each record carries a SHA-256 hash over its sequence number, registration id,
content and the previous record's hash; the store keeps the chain's head (last
sequence number and hash) in the same transaction (the chain's format:
:mod:`registration_fsm.store.chain`). :func:`verify` finds the first record that was
changed, removed, reordered or inserted — as long as the head was left alone:
whoever can write the store can also recompute the chain and its head.

So the head is anchored outside the store: :func:`append_checkpoint` signs it with
an Ed25519 key (:func:`generate_keypair`) into a checkpoint file of its own, each
checkpoint chained to the previous one (:mod:`.checkpoints`). :func:`verify_audit`
checks the checkpoints, the chain, the chain against every checkpoint, and replays
the events against the stored registrations and versions (:mod:`.replay`).
``cryptography`` is imported only when keys are used. This layer sits above the
stores: it reads them.
"""

from registration_fsm.audit.chain import Verdict, verify
from registration_fsm.audit.checkpoints import (
    FORMAT,
    Checkpoint,
    CheckpointLog,
    append_checkpoint,
    read_checkpoints,
)
from registration_fsm.audit.jsonl import (
    MAX_LINE_BYTES,
    MAX_TRAIL_BYTES,
    export_jsonl,
    read_jsonl,
    verify_path,
)
from registration_fsm.audit.keys import generate_keypair, key_id, load_private_key, load_public_key
from registration_fsm.audit.replay import Replay, replay
from registration_fsm.audit.verification import AuditVerdict, verify_audit, verify_with_checkpoints
from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord, canonical, record_hash

__all__ = [
    "FORMAT",
    "GENESIS",
    "MAX_LINE_BYTES",
    "MAX_TRAIL_BYTES",
    "AuditHead",
    "AuditRecord",
    "AuditVerdict",
    "Checkpoint",
    "CheckpointLog",
    "Replay",
    "Verdict",
    "append_checkpoint",
    "canonical",
    "export_jsonl",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_checkpoints",
    "read_jsonl",
    "record_hash",
    "replay",
    "verify",
    "verify_audit",
    "verify_path",
    "verify_with_checkpoints",
]
