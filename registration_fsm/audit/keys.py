"""Ed25519 keys for audit checkpoints (through ``cryptography``, imported on first use).

Keys are PEM files: the private key PKCS #8, unencrypted, written with mode 0600;
the public key SubjectPublicKeyInfo. A key's id is the first 16 hex digits of the
SHA-256 of its raw 32-byte public key: short, stable, and the same whichever
file or format holds the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from registration_fsm.errors import InvalidArgument, MissingDependency

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

#: The most bytes of a key file read (a PEM Ed25519 key is about 120).
MAX_KEY_BYTES = 64 << 10


def _crypto() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise MissingDependency(
            "audit checkpoints need the 'cryptography' package: pip install cryptography"
        ) from None


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of SHA-256 over its raw public bytes."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(
    private_key: str | os.PathLike[str],
    public_key: str | os.PathLike[str],
    *,
    force: bool = False,
) -> str:
    """Write a new Ed25519 key pair; returns its key id.

    The private key is created with mode 0600. Each file is written to a temporary
    file beside it and then linked (renamed with ``force``) into place, so a crash
    leaves no half-written key. An existing file is refused unless ``force``; a
    symbolic link, a directory or the same path for both keys always are
    (:class:`InvalidArgument`, nothing written).
    """
    _crypto()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path, public_path = Path(private_key), Path(public_key)
    if os.path.abspath(private_path) == os.path.abspath(public_path):
        raise InvalidArgument(f"{private_path}: the private and the public key need two files")
    for path in (private_path, public_path):
        _check_target(path, force)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _place(public_path, public_pem, 0o644, force)
    try:
        _place(private_path, private_pem, 0o600, force)
    except InvalidArgument:
        if not force:  # the public key was new: leave no half of a pair
            with contextlib.suppress(OSError):
                public_path.unlink()
        raise
    return key_id(key.public_key())


def _check_target(path: Path, force: bool) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as err:
        raise InvalidArgument(f"cannot write {path}: {err.strerror or err}") from None
    if stat.S_ISLNK(info.st_mode):
        raise InvalidArgument(f"{path} is a symbolic link; refusing to write a key through it")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgument(f"{path} exists and is not a regular file")
    if not force:
        raise InvalidArgument(f"{path} exists; refusing to overwrite it (--force replaces it)")


def _place(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place."""
    directory = path.parent
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise InvalidArgument(f"cannot write {path}: {err.strerror or err}") from None
    try:
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _check_target(path, force)  # again: it may have appeared meanwhile
        if force:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if the file appeared since: never overwritten
            os.unlink(temp)
        _sync_directory(directory)
    except FileExistsError:
        raise InvalidArgument(f"{path} exists; refusing to overwrite it") from None
    except OSError as err:
        raise InvalidArgument(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: Path) -> None:
    """fsync a directory, so a file just linked or renamed into it survives a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible everywhere (Windows): the rename is still atomic
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def read_key_file(path: str | os.PathLike[str], what: str) -> bytes:
    """A key file's bytes, bounded; :class:`InvalidArgument` if it cannot be read."""
    target = Path(path)
    try:
        with target.open("rb") as raw:
            data = raw.read(MAX_KEY_BYTES + 1)
    except OSError as err:
        raise InvalidArgument(f"cannot read the {what} {target}: {err.strerror or err}") from None
    if len(data) > MAX_KEY_BYTES:
        raise InvalidArgument(f"{target}: larger than 64 KiB; not a {what}")
    return data


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file; :class:`InvalidArgument` if it is not one."""
    _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = read_key_file(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise InvalidArgument(
            f"{os.fspath(path)}: not an unencrypted PEM private key ({_first_line(err)})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidArgument(f"{os.fspath(path)}: not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file; :class:`InvalidArgument` if it is not one."""
    _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = read_key_file(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise InvalidArgument(
            f"{os.fspath(path)}: not a PEM public key ({_first_line(err)})"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidArgument(f"{os.fspath(path)}: not an Ed25519 public key")
    return key


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
