"""Signed checkpoints of the audit chain, chained like CloudTrail's digest files.

A checkpoint file holds one JSON object a line, each the canonical JSON
(:func:`~registration_fsm.store.chain.canonical`) of::

    {"checkpoint": 3,                     # its number in the file, from 1
     "format": "registration-fsm audit checkpoint v1",
     "head": {"seq": 12, "hash": "..."},  # the audit chain's head when signed
     "records": 12,                       # records in the chain then (= head seq)
     "time": "2026-05-15T10:00:00Z",      # when signed (UTC)
     "key_id": "1a2b3c4d5e6f7a8b",        # the signing key (see keys.key_id)
     "prev": "...",                       # SHA-256 of the previous line (64 zeros first)
     "signature": "..."}                  # Ed25519, base64

The signature covers ``b"registration-fsm audit checkpoint v1\\n"`` followed by the
canonical JSON of every other member. ``prev`` is the SHA-256 (hex) of the
previous checkpoint's line, its line end excluded, so removing, changing or
reordering a checkpoint breaks the chain of those after it.

A checkpoint proves the trail up to its head: a later trail must hold the record
at the head's sequence number with exactly that hash (and the chain before it is
then fixed by the hashes). It cannot prove what came after the latest checkpoint,
nor that checkpoints were not removed from the end of the file: keep a copy of
each checkpoint where whoever can write the store cannot (see the compliance guide).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from registration_fsm.audit.chain import verify
from registration_fsm.audit.jsonl import _trail, bounded_lines, open_store
from registration_fsm.audit.keys import _sync_directory, key_id, load_private_key
from registration_fsm.errors import CheckpointError, InvalidArgument, StoreError
from registration_fsm.store.chain import GENESIS, AuditHead, AuditRecord, canonical

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: The ``format`` of a version 1 checkpoint.
FORMAT = "registration-fsm audit checkpoint v1"
_SIGNED = b"registration-fsm audit checkpoint v1\n"
_MEMBERS = frozenset(
    {"checkpoint", "format", "head", "records", "time", "key_id", "prev", "signature"}
)
#: The longest checkpoint line read (one is about 400 bytes).
MAX_CHECKPOINT_LINE = 64 << 10
#: The most bytes of a checkpoint file read (about 150 000 checkpoints).
MAX_CHECKPOINT_BYTES = 64 << 20
_HEX = frozenset("0123456789abcdef")


@attrs.frozen
class Checkpoint:
    """One signed checkpoint: the chain's ``head`` and ``records`` at ``time``.

    ``line`` is its line in the file; ``digest`` the SHA-256 of that line, which the
    next checkpoint's ``prev`` must equal.
    """

    number: int
    head: AuditHead
    records: int
    time: datetime
    key_id: str
    prev: str
    signature: str
    digest: str
    line: int

    def describe(self) -> str:
        """``checkpoint 3 (2026-05-15T10:00:00Z, key 1a2b3c4d5e6f7a8b)``."""
        return f"checkpoint {self.number} ({_stamp(self.time)}, key {self.key_id})"

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as written (without ``line``), plus its ``digest``."""
        return {
            "checkpoint": self.number,
            "format": FORMAT,
            "head": {"seq": self.head.seq, "hash": self.head.hash},
            "records": self.records,
            "time": _stamp(self.time),
            "key_id": self.key_id,
            "prev": self.prev,
            "signature": self.signature,
            "digest": self.digest,
        }


@attrs.frozen
class CheckpointLog:
    """A checkpoint file as read: the checkpoints that verified, in order, and the
    first problem (its ``line``) after which nothing was trusted."""

    path: str
    checkpoints: tuple[Checkpoint, ...]
    problem: str | None = None
    line: int | None = None
    torn: bool = False

    @property
    def latest(self) -> Checkpoint | None:
        """The last checkpoint that verified (None: none did, or the file is empty)."""
        return self.checkpoints[-1] if self.checkpoints else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _message(fields: dict[str, Any]) -> bytes:
    return _SIGNED + canonical(fields)


def read_checkpoints(
    path: str | os.PathLike[str],
    public_key: Ed25519PublicKey,
    *,
    max_line: int = MAX_CHECKPOINT_LINE,
    max_total: int = MAX_CHECKPOINT_BYTES,
) -> CheckpointLog:
    """Read and verify a checkpoint file with ``public_key``: every signature, the
    numbering, the chain of ``prev`` hashes, heads that never go back.

    :class:`InvalidArgument` if the file cannot be read, passes a limit, or is not a
    checkpoint file (its first line is not a checkpoint); an empty file has none.
    """
    target = Path(path)
    try:
        with target.open("rb") as raw:
            return _read(raw, str(target), public_key, max_line, max_total)
    except OSError as err:
        raise InvalidArgument(f"cannot read {target}: {err.strerror or err}") from None


def _read(
    raw: IO[bytes], where: str, public_key: Ed25519PublicKey, max_line: int, max_total: int
) -> CheckpointLog:
    from cryptography.exceptions import InvalidSignature

    expected_key = key_id(public_key)
    found: list[Checkpoint] = []
    for number, line in bounded_lines(raw, where, max_line=max_line, max_total=max_total):
        body = line[:-1] if line.endswith(b"\n") else line
        if number == 1 and not _looks_like_checkpoint(body):
            raise InvalidArgument(f"{where}: not a checkpoint file (line 1 is not a checkpoint)")
        if not line.endswith(b"\n"):
            problem = (
                f"{where} line {number} is torn (no line end: an append was interrupted, "
                "or the file was cut); remove that line to use the file again"
            )
            return CheckpointLog(where, tuple(found), problem, number, torn=True)
        previous = found[-1] if found else None
        try:
            checkpoint, fields = _parse(body, number)
            _check_sequence(checkpoint, previous)
            if checkpoint.key_id != expected_key:
                raise _Bad(
                    f"signed by key {checkpoint.key_id}, not by the given key {expected_key}"
                )
            try:
                public_key.verify(base64.b64decode(checkpoint.signature), _message(fields))
            except InvalidSignature:
                raise _Bad(
                    "the signature does not verify (the checkpoint was changed after it was signed)"
                ) from None
        except _Bad as bad:
            return CheckpointLog(
                where, tuple(found), f"{where} line {number}: {bad}", number
            )  # fmt: skip
        found.append(checkpoint)
    return CheckpointLog(where, tuple(found))


class _Bad(Exception):
    pass


def _looks_like_checkpoint(body: bytes) -> bool:
    """Whether a file's first line is (recognisably) a checkpoint: a line cut short or
    changed still starts as one (canonical JSON puts "checkpoint" first), and is then
    reported as a bad checkpoint, not as some other file."""
    if body.startswith(b'{"checkpoint":'):
        return True
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _parse(body: bytes, number: int) -> tuple[Checkpoint, dict[str, Any]]:
    """The checkpoint on a line, and the members its signature covers."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise _Bad(f"not JSON ({err})") from None
    if not isinstance(data, dict) or set(data) != _MEMBERS:
        raise _Bad(f"not a checkpoint: members must be {', '.join(sorted(_MEMBERS))}")
    if data["format"] != FORMAT:
        raise _Bad(f"format {data['format']!r} is not {FORMAT!r}")
    head = data["head"]
    if not isinstance(head, dict) or set(head) != {"seq", "hash"}:
        raise _Bad("head must be {seq, hash}")
    seq, digest, records = head["seq"], head["hash"], data["records"]
    if type(seq) is not int or seq < 0 or not _is_hash(digest):
        raise _Bad("head must hold a sequence number (>= 0) and a SHA-256 hash")
    if seq == 0 and digest != GENESIS:
        raise _Bad("an empty chain's head hash must be 64 zeros")
    if type(records) is not int or records != seq:
        raise _Bad(f"records ({records!r}) must equal the head's sequence number ({seq})")
    for name in ("key_id", "signature", "time"):
        if not isinstance(data[name], str):
            raise _Bad(f"{name} must be a string")
    if not _is_hash(data["prev"]):
        raise _Bad("prev must be a SHA-256 hash (hex)")
    try:
        moment = datetime.fromisoformat(data["time"])
    except ValueError:
        raise _Bad(f"time {data['time']!r} is not an ISO 8601 time") from None
    if moment.utcoffset() is None:
        raise _Bad(f"time {data['time']!r} has no UTC offset")
    try:
        if len(base64.b64decode(data["signature"], validate=True)) != 64:
            raise _Bad("the signature is not 64 bytes")
    except binascii.Error:
        raise _Bad("the signature is not base64") from None
    if type(data["checkpoint"]) is not int:
        raise _Bad("checkpoint must be an integer")
    fields = {k: v for k, v in data.items() if k != "signature"}
    checkpoint = Checkpoint(
        data["checkpoint"],
        AuditHead(seq, digest),
        records,
        moment,
        data["key_id"],
        data["prev"],
        data["signature"],
        hashlib.sha256(body).hexdigest(),
        number,
    )
    return checkpoint, fields


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _check_sequence(checkpoint: Checkpoint, previous: Checkpoint | None) -> None:
    expected = 1 if previous is None else previous.number + 1
    if checkpoint.number != expected:
        raise _Bad(
            f"checkpoint {checkpoint.number} where {expected} was expected "
            "(a checkpoint was removed, inserted or moved)"
        )
    link = GENESIS if previous is None else previous.digest
    if checkpoint.prev != link:
        what = "the file's start" if previous is None else f"checkpoint {previous.number}"
        raise _Bad(
            f"checkpoint {checkpoint.number} does not link to {what} "
            "(a checkpoint before it was changed, removed or inserted)"
        )
    if previous is not None and checkpoint.head.seq < previous.head.seq:
        raise _Bad(
            f"checkpoint {checkpoint.number} covers {checkpoint.head.seq} records, fewer "
            f"than checkpoint {previous.number} ({previous.head.seq})"
        )


def covers(checkpoint: Checkpoint, records: list[AuditRecord] | dict[int, str]) -> str | None:
    """Why the trail does not hold what ``checkpoint`` vouched for (None if it does).

    ``records`` is the verified trail, or the hashes of its records by ``seq``.
    """
    seq = checkpoint.head.seq
    if seq == 0:
        return None
    if isinstance(records, dict):
        found = records.get(seq)
    else:
        found = records[seq - 1].hash if seq <= len(records) else None
    if found is None:
        return f"the trail has no record {seq}"
    if found != checkpoint.head.hash:
        return f"record {seq} is not the one {checkpoint.describe()} vouched for"
    return None


def append_checkpoint(
    store: Any,
    private_key: str | os.PathLike[str],
    checkpoints: str | os.PathLike[str],
    *,
    clock: Callable[[], datetime] | None = None,
) -> Checkpoint:
    """Sign the audit chain's head of ``store`` and append it to ``checkpoints``.

    ``store`` is a store, or the path of an SQLite store (opened read-only). The
    trail must verify and still hold what the file's latest checkpoint vouched for;
    every checkpoint in the file must verify with this key. The line is written with
    one ``write`` and ``fsync``-ed, under an exclusive lock on the file; a new file
    is written beside it and linked into place. ``clock`` gives the time (UTC now).

    Raises :class:`CheckpointError` (nothing appended) or :class:`InvalidArgument`
    (a key, store or checkpoint path that cannot be used).
    """
    key = load_private_key(private_key)
    target = Path(checkpoints)
    opened = None
    if isinstance(store, str | os.PathLike):
        _refuse_same(target, Path(store), "the store")
        opened = store = open_store(store)
    try:
        store_path = getattr(store, "path", None)
        if isinstance(store_path, str):
            _refuse_same(target, Path(store_path), "the store")
        _refuse_same(target, Path(private_key), "the private key")
        now = (clock or (lambda: datetime.now(UTC)))()
        if now.utcoffset() is None:
            raise InvalidArgument("the checkpoint clock must give an aware time (UTC)")
        return _append(store, key, target, now)
    finally:
        if opened is not None:
            opened.close()


def _refuse_same(target: Path, other: Path, what: str) -> None:
    for candidate in (other, Path(f"{other}-wal"), Path(f"{other}-shm")):
        with contextlib.suppress(OSError):
            if target.exists() and candidate.exists() and target.samefile(candidate):
                raise InvalidArgument(f"{target} is {what}; checkpoints go in a file of their own")
        if os.path.abspath(target) == os.path.abspath(candidate):
            raise InvalidArgument(f"{target} is {what}; checkpoints go in a file of their own")


def _append(store: Any, key: Any, target: Path, now: datetime) -> Checkpoint:
    for _attempt in range(3):
        try:
            info = target.lstat()
        except FileNotFoundError:
            info = None
        except OSError as err:
            raise InvalidArgument(f"cannot read {target}: {err.strerror or err}") from None
        if info is not None and stat.S_ISLNK(info.st_mode):
            raise InvalidArgument(f"{target} is a symbolic link; refusing to append through it")
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise InvalidArgument(f"{target} is not a regular file")
        if info is None:
            made = _create(store, key, target, now)
            if made is not None:
                return made
            continue  # another writer created it first: append to it
        return _append_existing(store, key, target, now)
    raise CheckpointError(f"{target}: kept changing while a checkpoint was appended")


def _next_line(
    store: Any, key: Any, log: CheckpointLog, now: datetime
) -> tuple[bytes, dict[str, Any]]:
    """The new checkpoint's line, after checking the file's checkpoints and the trail."""
    if log.problem is not None:
        raise CheckpointError(f"{log.problem}; refusing to append to it")
    latest = log.latest
    try:
        records, head = _trail(store)
    except StoreError as err:
        raise CheckpointError(f"the trail cannot be read: {err}") from None
    verdict = verify(records, head)
    if not verdict.ok:
        raise CheckpointError(f"the trail does not verify ({verdict}); refusing to sign it")
    if latest is not None:
        problem = covers(latest, records)
        if problem is not None:
            raise CheckpointError(
                f"the trail no longer holds what {latest.describe()} in {log.path} vouched "
                f"for ({problem}); refusing to sign it"
            )
    fields: dict[str, Any] = {
        "checkpoint": 1 if latest is None else latest.number + 1,
        "format": FORMAT,
        "head": {"seq": head.seq, "hash": head.hash},
        "records": len(records),
        "time": _stamp(now),
        "key_id": key_id(key.public_key()),
        "prev": GENESIS if latest is None else latest.digest,
    }
    signature = base64.b64encode(key.sign(_message(fields))).decode("ascii")
    return canonical({**fields, "signature": signature}) + b"\n", fields


def _parsed(line: bytes, number: int) -> Checkpoint:
    checkpoint, _fields = _parse(line[:-1], number)
    return checkpoint


def _create(store: Any, key: Any, target: Path, now: datetime) -> Checkpoint | None:
    """Write the first checkpoint to a new file: beside it, then linked into place.
    None if the file appeared meanwhile."""
    log = CheckpointLog(str(target), ())
    line, _fields = _next_line(store, key, log, now)
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise InvalidArgument(f"cannot write {target}: {err.strerror or err}") from None
    try:
        try:
            os.fchmod(fd, 0o644)
            _write_line(fd, line, target)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, target)
        except FileExistsError:
            return None
        _sync_directory(target.parent)
    except OSError as err:
        raise CheckpointError(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    return _parsed(line, 1)


def _append_existing(store: Any, key: Any, target: Path, now: datetime) -> Checkpoint:
    flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        raise InvalidArgument(f"cannot append to {target}: {err.strerror or err}") from None
    try:
        _lock(fd)
        with open(fd, "rb", closefd=False) as raw:
            log = _read(
                raw, str(target), key.public_key(), MAX_CHECKPOINT_LINE, MAX_CHECKPOINT_BYTES
            )
        line, _fields = _next_line(store, key, log, now)
        size = os.fstat(fd).st_size
        try:
            _write_line(fd, line, target)
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):  # leave the file as it was
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise
    except OSError as err:
        raise CheckpointError(f"cannot append to {target}: {err.strerror or err}") from None
    finally:
        os.close(fd)  # releases the lock
    return _parsed(line, len(log.checkpoints) + 1)


def _write_line(fd: int, line: bytes, target: Path) -> None:
    """One ``write`` of the whole line: a partial one is an error (the caller undoes it)."""
    written = os.write(fd, line)
    if written != len(line):
        raise CheckpointError(f"cannot write {target}: {written} of {len(line)} bytes written")


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (not POSIX: appends are not serialised)
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
