"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, run.

One :class:`PostgresCluster` is a private server on a free port of 127.0.0.1 (trust
auth, nothing else listens), made for speed rather than durability against power
loss. When the tests run as root (as here and in CI) the server runs as the user
``postgres``, since PostgreSQL refuses to run as root. ``psycopg`` is imported lazily.

    with PostgresCluster() as cluster:
        url = cluster.create_database()
        cluster.restart()                   # same data, same port
        cluster.kill(); cluster.start_again()  # a crash, then crash recovery
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg.sql import Composed

BIN_ENV = "REGISTRATION_FSM_PG_BIN"
HOW_TO_GET_ONE = (
    "install the server (Debian/Ubuntu: apt-get install postgresql, or `make tools`; "
    "macOS: brew install postgresql) or set REGISTRATION_FSM_PG_BIN to the directory "
    "holding initdb and postgres"
)
_DEBIAN_BINS = Path("/usr/lib/postgresql")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.65535" is appended
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 40
# A server that exits with one of these may start if asked again: the port was taken
# between choosing and binding it, or a killed server's processes are still leaving.
_PORT_TAKEN = re.compile(r"could not bind|Address already in use|could not create any TCP")
_STILL_LEAVING = re.compile(r"pre-existing shared memory block|lock file .* already exists")


class PostgresError(RuntimeError):
    """The cluster could not be started, stopped or used; the message says why."""


class PostgresUnavailable(PostgresError):
    """No PostgreSQL server can be run here; the message says how to get one."""


class PostgresCluster:
    """A private PostgreSQL server in a temporary directory; see the module docstring."""

    def __init__(
        self,
        bin_dir: Path | None = None,
        *,
        user: str = "postgres",
        base_dir: Path | None = None,
        start_timeout: float = 120.0,
        max_connections: int = 100,
    ) -> None:
        self.bin_dir = bin_dir
        self.user = user
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.max_connections = max_connections
        self.port = 0
        self.tmp_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    # -- finding a server --------------------------------------------------------

    @staticmethod
    def find_bin() -> Path | None:
        """The directory holding ``initdb`` and ``postgres``, or None.

        ``$REGISTRATION_FSM_PG_BIN`` when set (and then only it), else ``pg_config
        --bindir`` when pg_config is on PATH, else the newest ``/usr/lib/postgresql/*/bin``.
        """
        override = os.environ.get(BIN_ENV, "")
        if override:
            return Path(override) if _has_server(Path(override)) else None
        candidates: list[Path] = []
        pg_config = shutil.which("pg_config")
        if pg_config is not None:
            try:
                out = subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip()
            except (OSError, subprocess.CalledProcessError):
                out = ""
            if out:
                candidates.append(Path(out))
        if _DEBIAN_BINS.is_dir():
            versions = [p for p in _DEBIAN_BINS.iterdir() if _version_key(p.name) is not None]
            versions.sort(key=lambda p: _version_key(p.name) or (), reverse=True)
            candidates += [p / "bin" for p in versions]
        return next((c for c in candidates if _has_server(c)), None)

    @staticmethod
    def why_unavailable(user: str = "postgres", bin_dir: Path | None = None) -> str | None:
        """Why no server can be run here and how to get one, or None when one can."""
        override = os.environ.get(BIN_ENV, "")
        if bin_dir is not None and not _has_server(bin_dir):
            return f"{bin_dir} holds no initdb and postgres: {HOW_TO_GET_ONE}"
        if bin_dir is None and PostgresCluster.find_bin() is None:
            where = (
                f"{BIN_ENV}={override}"
                if override
                else f"pg_config --bindir or {_DEBIAN_BINS}/*/bin"
            )
            return (
                f"PostgreSQL's server (initdb, postgres) was not found in {where}: {HOW_TO_GET_ONE}"
            )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(user)
            except KeyError:
                return (
                    f"the tests run as root, PostgreSQL refuses to, and there is no user {user!r} "
                    "to run it as: create one (useradd --system postgres) or run the tests "
                    "as a non-root user"
                )
        return None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> PostgresCluster:
        """Initialise a fresh cluster and start it on a free port; wait until it serves."""
        if self.tmp_dir is not None:
            raise PostgresError("this cluster was already started; use start_again()")
        why = self.why_unavailable(self.user, self.bin_dir)
        if why is not None:
            raise PostgresUnavailable(why)
        if self.bin_dir is None:
            self.bin_dir = self.find_bin()
        self.tmp_dir = self._make_tmp_dir()
        try:
            self._initdb()
            self._launch(choose_port=True)
        except BaseException:
            self._discard()
            raise
        return self

    def stop(self) -> None:
        """Shut down (as ``pg_ctl stop -m fast``) and remove the directory. Idempotent."""
        try:
            self._shutdown()
        finally:
            self._discard()

    def restart(self) -> None:
        """A clean restart: fast shutdown, then start on the same data and port."""
        self._shutdown()
        self.start_again()

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster and every backend at once."""
        proc = self._require_running()
        _kill_server(proc)
        self._proc = None

    def start_again(self) -> None:
        """Start a stopped or killed server on the same data and port (crash recovery)."""
        if self.tmp_dir is None:
            raise PostgresError("this cluster was never started; use start()")
        if self.running:
            raise PostgresError("the server is already running")
        self._launch(choose_port=False)

    @property
    def running(self) -> bool:
        """Whether the postmaster is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def data_dir(self) -> Path:
        return self._dir() / "data"

    @property
    def log_path(self) -> Path:
        return self._dir() / "postgres.log"

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases ---------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:PORT/dbname``."""
        if not self.port:
            raise PostgresError("the cluster has no port yet; start() it first")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "test") -> str:
        """A new, empty, uniquely named database; its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", prefix):
            raise ValueError(f"database prefix must be a lower-case identifier: {prefix!r}")
        from psycopg import sql

        name = f"{prefix}_{next(self._names)}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        from psycopg import sql

        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = _LOG_TAIL_LINES, since: int = 0) -> str:
        """The server log's last ``lines`` lines (from byte ``since``)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError as e:
            return f"(no server log: {e})"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ---------------------------------------------------------------

    def _dir(self) -> Path:
        if self.tmp_dir is None:
            raise PostgresError("the cluster has no directory; start() it first")
        return self.tmp_dir

    def _require_running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            raise PostgresError("the server is not running")
        return self._proc

    def _run_as(self) -> tuple[int, int] | None:
        """(uid, gid) to run the server as, or None to run it as ourselves."""
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(self.user)
        return entry.pw_uid, entry.pw_gid

    def _ids(self) -> tuple[int | None, int | None, list[int] | None]:
        """Popen's user, group and extra_groups for the server's processes."""
        run_as = self._run_as()
        return (None, None, None) if run_as is None else (run_as[0], run_as[1], [])

    def _make_tmp_dir(self) -> Path:
        run_as = self._run_as()
        bases = [self.base_dir] if self.base_dir else [Path(tempfile.gettempdir()), Path("/tmp")]
        if run_as is not None:
            # The server's user must reach the directory: pass over bases it cannot traverse
            # (a private $TMPDIR under /root) rather than loosening their permissions.
            reachable = [b for b in bases if _traversable(b, self.user, *run_as)]
            if not reachable:
                raise PostgresUnavailable(
                    f"user {self.user!r} cannot reach {bases[0]}: give it a base directory "
                    "it can traverse (TMPDIR)"
                )
            bases = reachable
        tmp = Path(tempfile.mkdtemp(prefix="registration-fsm-pg-", dir=bases[0]))
        if run_as is not None:
            os.chown(tmp, *run_as)
        return tmp

    def _child_env(self) -> dict[str, str]:
        # Nothing of ours (PGPORT, PGDATA, a locale) leaks in; C locale keeps the log in English.
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}

    def _initdb(self) -> None:
        assert self.bin_dir is not None
        run_as = self._run_as()
        user, group, groups = self._ids()
        command = [
            str(self.bin_dir / "initdb"),
            *("-D", str(self.data_dir), "-U", "postgres", "--auth=trust"),
            *("--encoding=UTF8", "--locale=C", "--no-sync"),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=self._dir(),
                env=self._child_env(),
                capture_output=True,
                text=True,
                timeout=self.start_timeout,
                check=False,
                user=user,
                group=group,
                extra_groups=groups,
            )
        except subprocess.TimeoutExpired as e:
            raise PostgresError(f"initdb took over {self.start_timeout:.0f} s") from e
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise PostgresError(f"initdb failed (exit {done.returncode}):\n{tail}")
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if run_as is not None:
            os.chown(hba, *run_as)

    def _server_command(self) -> list[str]:
        assert self.bin_dir is not None
        sockets = str(self._dir())
        if len(sockets) > _SOCKET_PATH_MAX:
            sockets = ""  # too long for a unix socket path: TCP only
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": sockets,
            "max_connections": str(self.max_connections),
            # Fast and throwaway: the suite crashes processes (SIGKILL of workers and of
            # the server), never the machine, and the OS keeps what was written, so
            # skipping fsync and full-page images loses nothing the tests can observe.
            # synchronous_commit stays on: with it off, a commit acknowledged but still
            # in the server's WAL buffers would vanish with a killed server.
            "fsync": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
        }
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _launch(self, *, choose_port: bool) -> None:
        """Start the postmaster; wait until it accepts connections. Retries a port
        taken meanwhile (a new one when ``choose_port``) and a killed server's leftovers."""
        user, group, groups = self._ids()
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if choose_port:
                self.port = _free_port()
            since = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    self._server_command(),
                    cwd=self._dir(),
                    env=self._child_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # out of reach of the terminal's Ctrl-C
                    user=user,
                    group=group,
                    extra_groups=groups,
                )
            exited = self._wait_ready(since)
            if not exited:
                return
            tail = self.log_tail(since=since)
            transient = _STILL_LEAVING.search(tail) or (_PORT_TAKEN.search(tail) and choose_port)
            if not transient or attempt == _PORT_ATTEMPTS:
                raise PostgresError(
                    f"the PostgreSQL server exited while starting (port {self.port}); "
                    f"the end of its log:\n{tail}"
                )
            time.sleep(0.2 * attempt)

    def _wait_ready(self, since: int) -> bool:
        """Wait for the server to accept connections: False when it does, True when it
        exited first. Raises after ``start_timeout``."""
        import psycopg

        proc = self._require_running()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if proc.poll() is not None:
                self._proc = None
                return True
            try:
                with psycopg.connect(self.url(), connect_timeout=10):
                    return False
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                _kill_server(proc)
                self._proc = None
                raise PostgresError(
                    f"the PostgreSQL server did not accept connections within "
                    f"{self.start_timeout:.0f} s; the end of its log:\n{self.log_tail(since=since)}"
                )
            time.sleep(0.05)

    def _shutdown(self) -> None:
        proc = self._proc
        self._proc = None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGINT)  # what pg_ctl stop -m fast sends
        try:
            proc.wait(timeout=self.start_timeout)
        except subprocess.TimeoutExpired:
            _kill_server(proc)
            raise PostgresError(
                f"the PostgreSQL server did not shut down within {self.start_timeout:.0f} s; "
                f"killed it. The end of its log:\n{self.log_tail()}"
            ) from None

    def _discard(self) -> None:
        if self._proc is not None:
            _kill_server(self._proc)
        self._proc = None
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir = None
        self.port = 0

    def _admin(self, statement: Composed) -> None:
        import psycopg

        self._require_running()
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=30) as conn:
            conn.execute(statement)


def _kill_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the postmaster and all its children at once, and reap the postmaster.

    Each backend is its own process group (PostgreSQL calls setsid), so the children are
    found through /proc, with the postmaster stopped so that it forks no more meanwhile.
    """
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGSTOP)
        for child in _children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (none where there is no /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.parent.name))
    return found


def _has_server(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(name: str) -> tuple[int, ...] | None:
    parts = name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _traversable(path: Path, user: str, uid: int, gid: int) -> bool:
    """Whether ``user`` may traverse ``path`` and its parents."""
    groups = set(os.getgrouplist(user, gid))
    for directory in [path.resolve(), *path.resolve().parents]:
        try:
            st = directory.stat()
        except OSError:
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (the server may lose it to a race: retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
