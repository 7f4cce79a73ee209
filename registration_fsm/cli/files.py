"""Files the command line writes and reads, kept safe.

Outputs (``catalog capture -o``, ``audit export --output``, ``demo --audit-log``,
``diagram -o``): :func:`check_output` refuses, before any work, a path that is a
symbolic link, a directory, not a regular file, the store, an SQLite database or
one's journal, and an existing file unless ``--force``. :class:`StagedOutput`
writes a temporary file beside the destination and renames it into place: a write
that fails (a full disk, an I/O error) or is interrupted leaves no half file and
the old one as it was. Appended files (``follow --dead-letter-file``):
:func:`check_append`, then :func:`open_append`.

Inputs: :func:`read_input` reads a whole file (or standard input) up to a size
limit; :class:`BoundedLines` serves a stream's lines with a cap on each line's
length. Nothing is read into memory without bound: ``/dev/zero`` is an error once
past the limit, not an exhausted machine.

Every refusal is a one-line :class:`click.BadParameter` (exit 2) naming the option;
a failed write is a one-line :class:`click.ClickException` (exit 1) naming the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

import click

from registration_fsm.errors import shown

#: The first bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"
#: The most bytes a whole-file input (``diagram --highlight``) may have.
MAX_INPUT_BYTES = 16 << 20
#: The longest line a line-by-line input (``follow --events``) may have.
MAX_LINE_BYTES = 1 << 20
#: The files SQLite keeps beside a database: replacing one corrupts the database.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


def configured_store() -> Path:
    """The store a command uses when ``--store`` is not given (env, else the default)."""
    from registration_fsm.cli.aws import DEFAULT_STORE, STORE_ENV

    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def is_sqlite(path: Path) -> bool:
    """Whether the regular file ``path`` starts like an SQLite database."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _same(path: Path, other: Path) -> bool:
    if path.absolute() == other.absolute():
        return True
    try:
        return path.exists() and other.exists() and path.samefile(other)
    except OSError:
        return False


def _guarded(path: Path, protect: Iterable[Path]) -> str | None:
    """Why ``path`` must never be written (a store, an SQLite file or its journal), or None."""
    for store in (configured_store(), *protect):
        if _same(path, store):
            return "is the local store"
    for suffix in _SQLITE_COMPANIONS:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            base = path.with_name(path.name[: -len(suffix)])
            if base.is_file() and is_sqlite(base):
                return f"belongs to the SQLite database {shown(os.fspath(base))}"
    if path.is_file() and is_sqlite(path):
        return "is an SQLite database (a store?)"
    return None


def check_output(
    path: Path, *, force: bool, option: str = "--output", protect: Iterable[Path] = ()
) -> None:
    """Refuse an output that would destroy what the user did not ask to replace.

    Always refused: a symbolic link, a directory, anything but a regular file, the
    configured store and every path in ``protect``, an SQLite database or one of
    its journal files, a path in a directory that does not exist. An existing file
    is replaced only with ``force``.
    """

    def bad(problem: str) -> click.BadParameter:
        return click.BadParameter(f"{shown(os.fspath(path))} {problem}", param_hint=option)

    if path.is_symlink():
        raise bad("is a symbolic link; name the file itself")
    if path.is_dir():
        raise bad("is a directory")
    guarded = _guarded(path, protect)
    if guarded is not None:
        raise bad(f"{guarded}; it is never replaced")
    if path.exists():
        if not path.is_file():
            raise bad("is not a regular file")
        if not force:
            raise bad("exists; --force replaces it")
    if not path.parent.is_dir():
        raise bad(f"is in {shown(os.fspath(path.parent))}, which is not a directory")


class StagedOutput:
    """A new file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Created at once (so an unwritable directory fails before any work), with a
    random name starting with a dot. Write through :attr:`binary` or :attr:`text`
    inside :meth:`writing`, which turns a write that fails (ENOSPC, EIO, EFBIG) into
    a one-line ``cannot write PATH: ...``. :meth:`commit` flushes, syncs and renames
    the file into place: without ``force`` only if no file appeared there meanwhile
    (``os.link`` never clobbers), with ``force`` atomically over the old file
    (``os.replace``). Leaving the ``with`` block without a commit (an error,
    Ctrl-C) removes the temporary file: ``path`` is left as it was.
    """

    def __init__(self, path: Path, *, force: bool, option: str = "--output") -> None:
        self.path = path
        self.force = force
        self.option = option
        self.temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.temp, flags, 0o666)
        except OSError as err:
            raise click.BadParameter(
                f"cannot write in {shown(os.fspath(path.parent) or '.')}: {err.strerror}",
                param_hint=option,
            ) from None
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._text: io.TextIOWrapper | None = None
        self._done = False

    @property
    def binary(self) -> BinaryIO:
        """The file, for bytes."""
        return self._raw

    @property
    def text(self) -> IO[str]:
        """The file, for UTF-8 text (``\\n`` line ends on every system)."""
        if self._text is None:
            self._text = io.TextIOWrapper(self._raw, encoding="utf-8", newline="\n")
        return self._text

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Turn an :class:`OSError` in the block (a write to this file) into a one-line
        error naming the file; the block should only write."""
        try:
            yield
        except OSError as err:
            raise self.failed(err) from None

    def failed(self, err: OSError) -> click.ClickException:
        """The one-line error of a write to this file that failed."""
        where = os.fspath(self.path)
        return click.ClickException(
            f"cannot write {where}: {err.strerror or err}; {where} was not changed"
        )

    def commit(self) -> None:
        """Make the written file ``path`` (see the class docstring)."""
        try:
            if self._text is not None:
                self._text.flush()
            self._raw.flush()
            os.fsync(self._raw.fileno())
        except OSError as err:
            raise self.failed(err) from None
        self._close()
        self._publish()
        self._done = True
        _sync_directory(self.path.parent)

    def _publish(self) -> None:
        path = self.path
        changed = f"{os.fspath(path)} changed while it was written; nothing written"
        try:
            if self.force:
                if path.is_symlink() or (path.exists() and not path.is_file()):
                    raise click.ClickException(changed)
                os.replace(self.temp, path)
                return
            try:
                os.link(self.temp, path)  # fails if the path exists: nothing is clobbered
            except FileExistsError:
                raise click.ClickException(
                    f"{os.fspath(path)} appeared while it was written; nothing written "
                    "(--force replaces it)"
                ) from None
            except OSError:  # no hard links here (some filesystems): check, then rename
                if path.exists() or path.is_symlink():
                    raise click.ClickException(changed) from None
                os.replace(self.temp, path)
                return
        except OSError as err:
            raise self.failed(err) from None
        with contextlib.suppress(OSError):  # the link made: the temporary name goes
            self.temp.unlink()

    def _close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self._text is not None:
                self._text.close()  # closes the raw file too
        with contextlib.suppress(OSError):
            self._raw.close()

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._done:
            self._close()  # a flush that fails here is of a file about to go
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the system allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_append(path: Path, *, option: str, protect: Iterable[Path] = ()) -> None:
    """Refuse a file to append to that is a symbolic link, a directory, not a regular
    file, the configured store or one in ``protect``, an SQLite database or one's
    journal, or in a directory that does not exist."""

    def bad(problem: str) -> click.BadParameter:
        return click.BadParameter(f"{shown(os.fspath(path))} {problem}", param_hint=option)

    if path.is_symlink():
        raise bad("is a symbolic link; name the file itself")
    if path.is_dir():
        raise bad("is a directory")
    if path.exists() and not path.is_file():
        raise bad("is not a regular file")
    guarded = _guarded(path, protect)
    if guarded is not None:
        raise bad(f"{guarded}; it is never written")
    if not path.parent.is_dir():
        raise bad(f"is in {shown(os.fspath(path.parent))}, which is not a directory")


def open_append(path: Path, *, option: str) -> IO[str]:
    """``path`` (checked by :func:`check_append`) opened to append UTF-8 text, created
    if missing, never through a symbolic link."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        raise click.BadParameter(
            f"cannot append to {shown(os.fspath(path))}: {err.strerror}", param_hint=option
        ) from None
    return os.fdopen(fd, "a", encoding="utf-8", newline="\n")


def read_input(source: str, *, option: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of the file ``source`` (``-``: standard input), at most ``limit``
    bytes; a one-line usage error naming ``option`` when it cannot be used."""
    name = "standard input" if source == "-" else shown(source)

    def bad(problem: str) -> click.BadParameter:
        return click.BadParameter(problem, param_hint=option)

    try:
        if source == "-":
            data = _read_stdin(limit + 1)
        else:
            if os.path.isdir(source):
                raise bad(f"{name} is a directory")
            with open(source, "rb") as file:
                data = file.read(limit + 1)
    except OSError as err:
        raise bad(f"cannot read {name}: {err.strerror or err}") from None
    if len(data) > limit:
        raise bad(f"{name} is larger than {_size(limit)}; not read further")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad(f"{name} is not UTF-8 text (byte {err.start})") from None


def _read_stdin(size: int) -> bytes:
    """Up to ``size`` bytes of standard input (its characters, UTF-8 encoded, when it is
    a text stream without bytes beneath, as in tests)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return bytes(buffer.read(size))
    return sys.stdin.read(size).encode("utf-8", "surrogateescape")


def stdin_lines() -> IO[bytes] | IO[str]:
    """Standard input for :class:`BoundedLines`: its bytes, or the text stream itself."""
    buffer: IO[bytes] | None = getattr(sys.stdin, "buffer", None)
    return sys.stdin if buffer is None else buffer


class BoundedLines:
    """The UTF-8 lines of a binary stream, each at most ``max_line`` bytes: a text
    stream for what only calls ``readline``.

    Serves :meth:`readline` (with a size, as :class:`~registration_fsm.JsonLinesSource`
    asks) from one line held at a time, so memory stays under ``max_line`` whatever
    the stream's length. A line longer than that, or not UTF-8, ends the stream
    early: :meth:`readline` returns ``""`` as at the end, and :attr:`problem` says
    why (the caller reports it). Lines within the limit are served as they come.
    """

    def __init__(
        self, raw: IO[bytes] | IO[str], where: str, *, max_line: int = MAX_LINE_BYTES
    ) -> None:
        self.raw = raw
        self.where = where
        self.max_line = max_line
        #: Why the stream was ended early (None: it was not).
        self.problem: str | None = None
        self.lines = 0
        self._pending = ""

    def readline(self, size: int | None = -1) -> str:
        """The next line, or its next ``size`` characters; ``""`` at the end."""
        if not self._pending and self.problem is None:
            self._pending = self._next()
        if size is None or size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, ""
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def _next(self) -> str:
        read = self.raw.readline(self.max_line + 1)
        if not read:
            return ""
        line = read.encode("utf-8", "surrogateescape") if isinstance(read, str) else read
        number = self.lines + 1
        if len(line) > self.max_line:
            self.problem = (
                f"{self.where}: line {number} is longer than {_size(self.max_line)}; "
                "not read further"
            )
            return ""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as err:
            self.problem = f"{self.where}: line {number} is not UTF-8 text (byte {err.start})"
            return ""
        self.lines = number
        return text


__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_LINE_BYTES",
    "SQLITE_HEADER",
    "BoundedLines",
    "StagedOutput",
    "check_append",
    "check_output",
    "configured_store",
    "is_sqlite",
    "open_append",
    "read_input",
    "stdin_lines",
]
