"""Safe files and one-line errors, for every command (issue 11, points 3 and 4).

Each test runs commands with one failure and checks the exit code, that stderr holds
exactly one error line (after click's ``Usage:``/``Try`` lines for a usage error,
exit 2; nothing at all for a closed pipe, exit 141), that nothing traced back, and
that no file changed that should not have: every file's bytes and mtime are
compared before and after (SQLite's own ``-wal``/``-shm`` files beside a store a
reader opened are left out: they are not the store).

- Outputs (``audit export --output``, ``demo --audit-log``, ``diagram -o``,
  ``catalog capture -o``, ``follow --dead-letter-file``): an existing file without
  ``--force``, a symbolic link, a directory, a device, the store, an SQLite file
  or its journal, a missing directory are refused before any work; ``--force``
  replaces the file whole; a failed write (ENOSPC and EIO in process, EFBIG from a
  real file size limit) or Ctrl-C leaves the old file and no temporary one.
- Standard output: ``/dev/full`` (ENOSPC) is one line, exit 1; a closed pipe
  (``| head``) is exit 141 and silence, for every command that prints.
- Stores: reading commands never create or change a store, and work in a
  read-only directory; a stored row out of range is a ``StoreError`` naming it.
- Inputs: ``/dev/zero``, a line that is too long or not UTF-8, an unreadable file.

Real processes (the installed ``registration-fsm``) where the process matters:
pipes, ``/dev/full``, a file size limit, a read-only directory. Click's runner
elsewhere. Timeouts are generous guards against a hang, never timings.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import REG_TYPE

from registration_fsm import EmulatedRegistrationApi, SQLiteStore, Synchronizer, serve
from registration_fsm.cli import BROKEN_PIPE, main

EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
#: Seconds a subprocess may take before the test calls it hung (never reached when it works).
HANG = 180.0
#: The file size limit of the EFBIG tests, by command: below what each writes, above
#: what SQLite needs beside a store a reader opens (its 32 KiB shared-memory file).
LIMITS = {"audit export": 64 << 10, "demo": 512, "diagram": 512}


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, EmulatedRegistrationApi]]:
    """A served emulator with three registrations, one submitted."""
    api = EmulatedRegistrationApi(seed=21)
    syncer = Synchronizer(api)
    ids = [syncer.create(REG_TYPE, actor="alice").id for _ in range(3)]
    syncer.submit(ids[0], actor="alice", reason="first")
    with serve(api) as url:
        yield url, api


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, emulator: tuple[str, EmulatedRegistrationApi]
) -> Path:
    """A store synced from the emulator, closed (no ``-wal``/``-shm`` beside it)."""
    path = tmp_path_factory.mktemp("seeded") / "store.db"
    with SQLiteStore(path) as store:
        Synchronizer(emulator[1], store).sync()
    return path


class Work:
    """A directory with a copy of the store, its environment, and ways to run the CLI."""

    def __init__(self, root: Path, seeded: Path, url: str) -> None:
        self.root = root
        self.store = root / "store.db"
        shutil.copy(seeded, self.store)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRATION_FSM"))
        }
        self.env |= {
            "REGISTRATION_FSM_QUOTA_SCALE": os.environ["REGISTRATION_FSM_QUOTA_SCALE"],
            "REGISTRATION_FSM_CATALOG": os.environ["REGISTRATION_FSM_CATALOG"],
            "REGISTRATION_FSM_STORE": str(self.store),
            "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(root / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def run(self, *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
        """``main(argv)`` in process, in :attr:`root`: exit code, stdout, stderr."""
        runner = CliRunner()
        old = Path.cwd()
        os.chdir(self.root)
        try:
            with runner.isolation(input=stdin, env=dict(self.env)) as (out, err, _mixed):
                try:
                    code = main(list(argv))
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            os.chdir(old)
        return (
            code,
            out.getvalue().decode(errors="replace"),
            err.getvalue().decode(errors="replace"),
        )

    def process(
        self, *argv: str, stdout: Any = subprocess.PIPE, stdin: Any = subprocess.DEVNULL,
        preexec_fn: Callable[[], None] | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """The installed script, in :attr:`root`."""
        assert EXE is not None, "registration-fsm is not installed next to this Python"
        return subprocess.run(
            [EXE, *argv], cwd=self.root, env=self.env, stdin=stdin, stdout=stdout,
            stderr=subprocess.PIPE, text=True, timeout=HANG, check=False, preexec_fn=preexec_fn,
        )  # fmt: skip


@pytest.fixture
def work(tmp_path: Path, seeded: Path, emulator: tuple[str, EmulatedRegistrationApi]) -> Work:
    return Work(tmp_path, seeded, emulator[0])


def snapshot(root: Path) -> dict[str, tuple[Any, int]]:
    """Every file under ``root``: its bytes (a link: its target) and mtime."""
    out: dict[str, tuple[Any, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith(("-wal", "-shm")) and not path.is_symlink():
            continue  # SQLite's, beside a store a reader opened (see the module docstring)
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            out[str(path.relative_to(root))] = ("-> " + os.readlink(path), info.st_mtime_ns)
        elif stat.S_ISREG(info.st_mode):
            out[str(path.relative_to(root))] = (path.read_bytes(), info.st_mtime_ns)
        else:  # a directory's mtime moves with a temporary file made and removed
            out[str(path.relative_to(root))] = ("dir", 0)
    return out


def one_error(code: int, out: str, err: str, expected: int) -> str:
    """The one error line of a command that failed with ``expected``."""
    assert code == expected, (code, out, err)
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    if expected == 2:
        lines = [line for line in lines if not line.startswith(("Usage: ", "Try '"))]
    assert len(lines) == 1, err
    assert lines[0].startswith(("Error: ", "error: ")), err
    return lines[0]


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()


# -- outputs ---------------------------------------------------------------------------------

#: Each command that writes an output file: its arguments for output OUT, and the
#: extension its file names take (``diagram`` picks the format from it).
OUTPUTS: dict[str, tuple[Callable[[Work, str], list[str]], str]] = {
    "audit export": (
        lambda w, out: ["audit", "export", "--store", str(w.store), "--output", out],
        ".jsonl",
    ),
    "demo": (lambda _w, out: ["demo", "--audit-log", out], ".jsonl"),
    "diagram": (lambda _w, out: ["diagram", "-o", out], ".mmd"),
    "catalog capture": (
        lambda _w, out: ["catalog", "capture", "--endpoint-url", "http://127.0.0.1:9", "-o", out],
        ".json",
    ),
}

#: A refused output: (file name, whether --force is given, what the error says).
REFUSALS = {
    "exists": ("keep{ext}", False, "exists; --force replaces it"),
    "symlink": ("link{ext}", True, "is a symbolic link"),
    "directory": ("dir", True, "is a directory"),
    "device": ("/dev/full", True, "is not a regular file"),
    "the store": ("store{ext}", True, "is the local store"),
    "sqlite": ("other{ext}", True, "is an SQLite database"),
    "journal": ("store{ext}-wal", True, "belongs to the SQLite database"),
    "no directory": ("nowhere/x{ext}", False, "which is not a directory"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_an_output_that_would_destroy_data_is_refused_before_any_work(
    work: Work, command: str, case: str
) -> None:
    build, ext = OUTPUTS[command]
    name, force, says = REFUSALS[case]
    name = name.format(ext=ext)
    store = work.root / f"store{ext}"  # a store whatever its name says
    store.write_bytes(work.store.read_bytes())
    work.env["REGISTRATION_FSM_STORE"] = str(store)
    work.store = store
    (work.root / f"keep{ext}").write_text("precious\n")
    (work.root / f"link{ext}").symlink_to(f"keep{ext}")
    (work.root / "dir").mkdir()
    foreign_sqlite(work.root / f"other{ext}")
    before = snapshot(work.root)
    argv = build(work, name) + (["--force"] if force else [])
    line = one_error(*work.run(*argv), 2)
    if not (command == "diagram" and case == "journal"):  # there: an unknown extension
        assert says in line
    assert snapshot(work.root) == before


@pytest.mark.parametrize("command", ["audit export", "demo", "diagram"])
def test_force_replaces_an_output_whole(work: Work, command: str) -> None:
    build, ext = OUTPUTS[command]
    target = work.root / f"out{ext}"
    target.write_text("old\n")
    code, _out, err = work.run(*build(work, target.name), "--force")
    assert code == 0, err
    assert target.read_text() != "old\n"
    assert target.read_text().endswith("\n")
    assert sorted(snapshot(work.root)) == sorted(["store.db", target.name])


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO], ids=errno.errorcode.get)
@pytest.mark.parametrize("command", ["audit export", "demo", "diagram"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    work: Work, monkeypatch: pytest.MonkeyPatch, command: str, error: int
) -> None:
    """The disk fills (or fails) as the file is made durable: nothing is replaced."""
    build, ext = OUTPUTS[command]
    target = work.root / f"out{ext}"
    target.write_text("old\n")
    before = snapshot(work.root)

    def failing(_fd: int) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr("registration_fsm.cli.files.os.fsync", failing)
    line = one_error(*work.run(*build(work, target.name), "--force"), 1)
    assert line == (
        f"Error: cannot write {target.name}: {os.strerror(error)}; {target.name} was not changed"
    )
    assert snapshot(work.root) == before


def test_ctrl_c_while_writing_leaves_the_old_file(
    work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = work.root / "out.jsonl"
    target.write_text("old\n")
    before = snapshot(work.root)

    def interrupted(_store: Any, out: Any) -> int:
        out.write("half a record")
        out.flush()
        raise KeyboardInterrupt

    monkeypatch.setattr("registration_fsm.audit.export_jsonl", interrupted)
    code, _out, err = work.run("audit", "export", "--output", target.name, "--force",
                              "--store", str(work.store))  # fmt: skip
    assert (code, err.strip()) == (130, "aborted")
    assert snapshot(work.root) == before


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose audit trail exports to more than :data:`LIMITS` allows."""
    path = tmp_path_factory.mktemp("big") / "store.db"
    api = EmulatedRegistrationApi(seed=22)
    with SQLiteStore(path) as store:
        syncer = Synchronizer(api, store)
        for _ in range(80):
            syncer.submit(syncer.create(REG_TYPE, actor="alice").id, actor="alice")
    return path


@pytest.mark.parametrize("command", sorted(LIMITS))
def test_a_real_file_size_limit_is_one_line_and_changes_nothing(
    work: Work, big_store: Path, command: str
) -> None:
    """RLIMIT_FSIZE: a write past it fails with EFBIG in the real process (Python ignores
    SIGXFSZ), as a full disk's would with ENOSPC."""
    shutil.copy(big_store, work.store)
    build, ext = OUTPUTS[command]
    target = work.root / f"out{ext}"
    target.write_text("old\n")
    before = snapshot(work.root)
    limit = LIMITS[command]

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = work.process(*build(work, target.name), "--force", preexec_fn=limited)
    line = one_error(done.returncode, done.stdout, done.stderr, 1)
    name = target.name
    assert line == f"Error: cannot write {name}: File too large; {name} was not changed"
    assert snapshot(work.root) == before


@pytest.mark.parametrize("case", ["symlink", "the store", "sqlite", "directory"])
def test_a_dead_letter_file_that_would_destroy_data_is_refused(work: Work, case: str) -> None:
    (work.root / "events.jsonl").write_text("not json\n")
    (work.root / "keep.jsonl").write_text("precious\n")
    (work.root / "link.jsonl").symlink_to("keep.jsonl")
    (work.root / "dir").mkdir()
    foreign_sqlite(work.root / "other.db")
    name = {"symlink": "link.jsonl", "the store": "store.db", "sqlite": "other.db",
            "directory": "dir"}[case]  # fmt: skip
    before = snapshot(work.root)
    code, out, err = work.run("follow", "--events", "events.jsonl", "--dead-letter-file", name)
    one_error(code, out, err, 2)
    assert snapshot(work.root) == before


# -- standard output: full, or closed --------------------------------------------------------

#: Every command that prints to standard output, with arguments that make it print.
PRINTERS: dict[str, list[str]] = {
    "--help": ["--help"],
    "--version": ["--version"],
    "show --help": ["show", "--help"],
    "show --events": ["show", "--events"],
    "show --json": ["show", "--json", "--events", "--fields"],
    "audit export": ["audit", "export", "--store", "store.db"],
    "audit verify": ["audit", "verify", "store.db"],
    "diagram": ["diagram"],
    "diagram dot": ["diagram", "--format", "dot", "--show-guards"],
    "catalog show": ["catalog", "show"],
    "demo": ["demo"],
    "demo --json": ["demo", "--json"],
    "sync": ["sync", "--full"],
    "follow": ["follow", "--events", "events.jsonl"],
    "wait": [
        "wait",
        "--registration-id",
        "{rid}",
        "--status",
        "DRAFT",
        "--status",
        "SUBMITTED",
        "--status",
        "REVIEWING",
    ],
}
#: The commands that change nothing (the rest sync the store).
READERS = {
    "--help", "--version", "show --help", "show --events", "show --json", "audit export",
    "audit verify", "diagram", "diagram dot", "catalog show", "demo", "demo --json",
}  # fmt: skip


def _printer_argv(work: Work, name: str) -> list[str]:
    (work.root / "events.jsonl").write_text("")
    with SQLiteStore(work.store) as store:
        rid = store.ids()[0]
    return [word.format(rid=rid) for word in PRINTERS[name]]


@pytest.mark.parametrize("name", sorted(PRINTERS))
def test_a_full_standard_output_is_one_line(work: Work, name: str) -> None:
    argv = _printer_argv(work, name)
    before = snapshot(work.root)
    with open("/dev/full", "w") as full:
        done = work.process(*argv, stdout=full)
    line = one_error(done.returncode, "", done.stderr, 1)
    assert line == "Error: cannot write standard output: No space left on device"
    if name in READERS:
        assert snapshot(work.root) == before


@pytest.mark.parametrize("name", sorted(PRINTERS))
def test_a_closed_pipe_exits_141_and_says_nothing(work: Work, name: str) -> None:
    """The reader is gone before the first line (``| head -0``): the first write fails."""
    argv = _printer_argv(work, name)
    before = snapshot(work.root)
    read, write = os.pipe()
    os.close(read)
    try:
        done = work.process(*argv, stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (BROKEN_PIPE, "")
    if name in READERS:
        assert snapshot(work.root) == before


def test_demo_json_into_head_stops_quietly(work: Work) -> None:
    """``registration-fsm demo --json | head -3``: the story stops at its next step."""
    assert EXE is not None
    with subprocess.Popen(
        [EXE, "demo", "--json"], cwd=work.root, env=work.env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.stdout.close()  # head -3 has read its lines
        try:
            _, err = proc.communicate(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert all(line.startswith("{") for line in lines), lines
    assert (proc.returncode, err) == (BROKEN_PIPE, "")


def test_a_sync_into_a_closed_pipe_keeps_what_it_saved(work: Work) -> None:
    fresh = work.root / "fresh.db"
    read, write = os.pipe()
    os.close(read)
    try:
        done = work.process("sync", "--store", str(fresh), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (BROKEN_PIPE, "")
    with SQLiteStore(fresh) as store, SQLiteStore(work.store) as seeded:
        assert store.ids() == seeded.ids()


# -- stores: never created or changed by a reader -----------------------------------------

#: Files that are not stores: how to make one at a path (None: /dev/zero), what it is.
NOT_STORES: dict[str, tuple[Callable[[Path], object] | None, str]] = {
    "empty": (lambda path: path.write_bytes(b""), "not a registration store (an empty database)"),
    "text": (lambda path: path.write_bytes(b"notes\n"), "not a database"),
    "foreign": (foreign_sqlite, "not a registration store (it has other tables)"),
    "fifo": (os.mkfifo, "is not a regular file, not a store"),
    "device": (None, "is not a regular file, not a store"),
}


@pytest.mark.parametrize("kind", sorted(NOT_STORES))
@pytest.mark.parametrize(
    "argv",
    [["show"], ["show", "--events", "--json"], ["audit", "export", "--store", "FILE"]],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_reading_command_never_makes_a_store_of_a_file(
    work: Work, argv: list[str], kind: str
) -> None:
    make, says = NOT_STORES[kind]
    path = Path("/dev/zero") if make is None else work.root / "notes.txt"
    if make is not None:
        make(path)
    before = snapshot(work.root)
    argv = [str(path) if word == "FILE" else word for word in argv]
    if "--store" not in argv:
        argv += ["--store", str(path)]
    assert says in one_error(*work.run(*argv), 1)
    assert snapshot(work.root) == before


def test_show_of_a_missing_store_creates_none(work: Work) -> None:
    line = one_error(*work.run("show", "--store", "nope.db"), 1)
    assert line == "Error: no store at nope.db; run `registration-fsm sync` first"
    assert not (work.root / "nope.db").exists()


def _obey_permissions() -> Callable[[], None] | None:
    """What makes a child obey file permissions: nothing for a user; for root, dropping
    the capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)
    from its bounding set, so the program it runs has none of them."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (1, 2, 3):
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


@pytest.fixture
def read_only(work: Work) -> Iterator[Callable[[], None] | None]:
    """:attr:`Work.root` made read-only (to the children run with what this yields)."""
    obey = _obey_permissions()
    work.root.chmod(0o555)
    try:
        try:
            probe = subprocess.run(
                [sys.executable, "-c", "open('probe', 'w')"], cwd=work.root,
                capture_output=True, timeout=HANG, check=False, preexec_fn=obey,
            )  # fmt: skip
        except subprocess.SubprocessError:  # the capabilities could not be dropped
            pytest.skip("cannot make a directory read-only here")
        if probe.returncode == 0:
            (work.root / "probe").unlink()
            pytest.skip("cannot make a directory read-only here")
        yield obey
    finally:
        work.root.chmod(0o755)


@pytest.mark.parametrize(
    "argv",
    [["show", "--events"], ["show", "--json", "--fields"], ["audit", "verify", "store.db"],
     ["audit", "export", "--store", "store.db"]],
    ids=" ".join,
)  # fmt: skip
def test_reading_commands_work_in_a_read_only_directory(
    work: Work, read_only: Callable[[], None] | None, argv: list[str]
) -> None:
    before = snapshot(work.root)
    done = work.process(*argv, preexec_fn=read_only)
    assert done.returncode == 0, done.stderr
    assert "registration-" in done.stdout or "intact" in done.stdout
    assert snapshot(work.root) == before
    assert sorted(p.name for p in work.root.iterdir()) == ["store.db"]


def test_an_output_into_a_read_only_directory_is_one_line(
    work: Work, read_only: Callable[[], None] | None
) -> None:
    done = work.process("audit", "export", "--store", "store.db", "--output", "out.jsonl",
                        preexec_fn=read_only)  # fmt: skip
    line = one_error(done.returncode, done.stdout, done.stderr, 2)
    assert "cannot write in '.': Permission denied" in line
    assert sorted(p.name for p in work.root.iterdir()) == ["store.db"]


# -- stored rows out of range -------------------------------------------------------------


def _edit_first_event(store: Path, version_number: str) -> None:
    with sqlite3.connect(store) as conn:
        (seq, text), *_ = conn.execute("SELECT seq, event FROM events ORDER BY seq").fetchall()
        assert '"version_number":1,' in text
        edited = text.replace('"version_number":1,', f'"version_number":{version_number},')
        conn.execute("UPDATE events SET event = ? WHERE seq = ?", (edited, seq))
    conn.close()


OUT_OF_RANGE = ["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 30, "0", "1.5", '"1"', "true"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(
    "argv", [["show", "--events"], ["show", "--events", "--json"]], ids=" ".join
)
def test_a_stored_event_out_of_range_is_a_store_error_naming_it(
    work: Work, argv: list[str], value: str
) -> None:
    _edit_first_event(work.store, value)
    before = snapshot(work.root)
    line = one_error(*work.run(*argv), 1)
    assert line.startswith("error: StoreError: event 1: "), line
    assert snapshot(work.root) == before


def test_a_stored_version_out_of_range_is_a_store_error_naming_it(work: Work) -> None:
    with sqlite3.connect(work.store) as conn:
        reg_id, text = conn.execute("SELECT registration_id, info FROM versions").fetchone()
        conn.execute(
            "UPDATE versions SET info = ? WHERE registration_id = ?",
            (text.replace('"VersionNumber":1', '"VersionNumber":1e400'), reg_id),
        )
    conn.close()
    line = one_error(*work.run("show"), 1)
    assert line.startswith(f"error: StoreError: registration '{reg_id}' version: "), line


def test_audit_verify_of_a_stored_event_out_of_range(work: Work) -> None:
    _edit_first_event(work.store, "Infinity")
    code, out, err = work.run("audit", "verify", "store.db")
    assert code == 1
    assert "Traceback" not in out + err
    assert err == ""


# -- inputs ----------------------------------------------------------------------------------

#: (arguments, stdin, what the one error line says): inputs that cannot be used.
INPUTS: dict[str, tuple[list[str], str | None, str]] = {
    "diagram --highlight /dev/zero": (
        ["diagram", "--highlight", "/dev/zero"], None, "is larger than 16 MiB"),
    "diagram --highlight - < /dev/zero": (
        ["diagram", "--highlight", "-"], "/dev/zero", "standard input is larger than 16 MiB"),
    "diagram --highlight missing": (
        ["diagram", "--highlight", "nope.json"], None, "cannot read 'nope.json'"),
    "diagram --highlight directory": (["diagram", "--highlight", "."], None, "is a directory"),
    "diagram --highlight not UTF-8": (
        ["diagram", "--highlight", "binary.bin"], None, "is not UTF-8 text"),
    "follow --events /dev/zero": (
        ["follow", "--events", "/dev/zero"], None, "line 1 is longer than 1 MiB"),
    "follow --events - < /dev/zero": (
        ["follow", "--events", "-"], "/dev/zero", "stdin: line 1 is longer than 1 MiB"),
    "follow --events not UTF-8": (
        ["follow", "--events", "binary.bin"], None, "line 1 is not UTF-8 text"),
    "follow --events missing": (["follow", "--events", "nope.jsonl"], None, "nope.jsonl"),
    "audit verify /dev/zero": (["audit", "verify", "/dev/zero"], None, "longer than 1 MiB"),
    "audit verify empty": (["audit", "verify", "empty.txt"], None, "not an audit trail"),
    "catalog show --catalog /dev/zero": (
        ["catalog", "show", "--catalog", "/dev/zero"], None, "is over 16777216 bytes"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_an_input_that_cannot_be_used_is_one_line(work: Work, name: str) -> None:
    argv, stdin, says = INPUTS[name]
    (work.root / "binary.bin").write_bytes(b"\xff\xfe\x00 not text\n")
    (work.root / "empty.txt").write_bytes(b"")
    before = snapshot(work.root)
    if stdin is None:
        code, out, err = work.run(*argv)
    else:  # a real stream: the runner would read it all first
        with open(stdin, "rb") as source:
            done = work.process(*argv, stdin=source)
        code, out, err = done.returncode, done.stdout, done.stderr
    assert says in one_error(code, out, err, 2)
    assert snapshot(work.root) == before


def test_a_quota_file_is_read_bounded() -> None:
    from click.testing import CliRunner

    from registration_fsm.cli import cli

    result = CliRunner().invoke(
        cli, ["sync", "--endpoint-url", "http://127.0.0.1:1", "--quota-file", "/dev/zero"]
    )
    assert result.exit_code == 2, result.output
    assert "/dev/zero is larger than 1048576 bytes" in result.output


def test_the_emulators_events_file_is_never_a_link(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from registration_fsm.cli import cli

    target = tmp_path / "store.db"
    target.write_bytes(b"")
    link = tmp_path / "events.jsonl"
    link.symlink_to(target)
    result = CliRunner().invoke(cli, ["emulator", "--port", "0", "--events-file", str(link)])
    assert result.exit_code == 2, result.output
    assert "is a symbolic link" in result.output
    assert target.read_bytes() == b""
