"""A tamper-evident audit trail: every stored event, hash-chained.

Each record carries a SHA-256 hash over its sequence number, registration id,
content and the previous record's hash, the way CloudTrail chains its digest
files; the store keeps the chain's head (last sequence number and hash) in the
same transaction (the chain's format: :mod:`registration_fsm.store.chain`).
:func:`verify` finds the first record that was changed, removed, reordered or
inserted. This layer sits above the stores: it reads them.
"""

from registration_fsm.audit.chain import Verdict, verify
from registration_fsm.audit.jsonl import export_jsonl, read_jsonl, verify_path
from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord, canonical, record_hash

__all__ = [
    "GENESIS",
    "AuditHead",
    "AuditRecord",
    "Verdict",
    "canonical",
    "export_jsonl",
    "read_jsonl",
    "record_hash",
    "verify",
    "verify_path",
]
