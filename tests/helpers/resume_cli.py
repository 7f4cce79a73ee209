"""What the resume and CLI sync tests share: the installed script, run against a served
emulator, and a look into its store from outside.

- :func:`cli_env`: dummy credentials and nothing from the caller's AWS or
  registration-fsm settings, so the script paces at AWS's real quotas (x1, not the
  suite's x1000) unless a test names others with ``--quota``;
- :func:`start_sync`: ``registration-fsm sync`` as a process a test can signal;
- :func:`revisions` / :func:`wait_for_saves`: the store's revision of each
  registration, read with plain sqlite3 while the script writes (WAL lets readers
  in), so a test can stop the script once it saved a given number of registrations —
  by what it did, not by timing.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
#: Seconds a script may take before a test calls it hung (never reached when it works).
HANG = 120.0


def cli_env(home: Path) -> dict[str, str]:
    """The script's environment: dummy credentials, no AWS or registration-fsm settings."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRATION_FSM"))}
    out |= {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return out


def script() -> str:
    assert EXE is not None, "registration-fsm is not installed next to this Python"
    return EXE


def start_sync(env: dict[str, str], url: str, store: Path, *args: str) -> subprocess.Popen[str]:
    """``registration-fsm sync --endpoint-url URL --store STORE ARGS``, running, and
    interruptible by SIGINT even when this process ignores it.

    A shell starts a background job with SIGINT ignored, and a child inherits that
    (Python then installs no KeyboardInterrupt handler): the test would be the only
    one unable to press Ctrl-C. A handler, unlike SIG_IGN, is reset to the default by
    exec, so one is installed while the child starts.
    """
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [script(), "sync", "--endpoint-url", url, "--store", str(store), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_sync(
    env: dict[str, str], url: str, store: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``registration-fsm sync`` to its end."""
    return subprocess.run(
        [script(), "sync", "--endpoint-url", url, "--store", str(store), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def revisions(store: Path) -> dict[str, int]:
    """Each stored registration's revision (empty before the store exists)."""
    if not store.exists():
        return {}
    conn = sqlite3.connect(store, timeout=HANG)  # reads only
    try:
        return dict(conn.execute("SELECT id, revision FROM registrations").fetchall())
    except sqlite3.OperationalError:  # the schema is being created
        return {}
    finally:
        conn.close()


def saved_since(before: dict[str, int], now: dict[str, int]) -> set[str]:
    """The registrations saved between two :func:`revisions` readings."""
    return {i for i, revision in now.items() if revision > before.get(i, 0)}


def wait_for_saves(
    proc: subprocess.Popen[str], store: Path, before: dict[str, int], count: int
) -> set[str]:
    """Wait until the running script saved at least ``count`` registrations since
    ``before``; those saved. Fails if the script ends first, or after :data:`HANG`."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        saved = saved_since(before, revisions(store))
        if len(saved) >= count:
            return saved
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"sync ended (status {proc.returncode}) first: {out} {err}")
        time.sleep(0.005)
    raise AssertionError(f"sync saved fewer than {count} registrations in {HANG} s")
