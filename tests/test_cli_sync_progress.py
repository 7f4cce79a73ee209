"""``registration-fsm sync`` on a terminal: a progress bar whose time left comes from the
quotas the requests are paced at, on a real pseudo-terminal; none with ``--json``
or off a terminal.

The script runs at AWS's real quotas (x1) against an emulator served by this
process; the quotas named here make each sync take a second or three. The time
left shown before the first describe is the requests to make over the rate
(6 DescribeRegistrationVersions at 4 per second: 1.5 s, shown rounded up as
``eta 0:00:02``), whatever the machine's speed: nothing here is timed.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REG_TYPE
from helpers.resume_cli import HANG, cli_env, run_sync, script

from registration_fsm import EmulatedRegistrationApi, serve
from registration_fsm.cli.aws import eta_text

REGISTRATIONS = 6
ACCOUNT = "123456789012"


@pytest.fixture
def url() -> Iterator[str]:
    api = EmulatedRegistrationApi(seed=41)
    for _ in range(REGISTRATIONS):
        api.create_registration(REG_TYPE)
    with serve(api) as served:
        yield served


def on_terminal(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """``registration-fsm ARGS`` with stderr on a pseudo-terminal: its result, and what it
    drew there."""
    main, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [script(), *args],
            env=env | {"COLUMNS": "120"},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=HANG,
            check=False,
        )
        os.close(terminal)
        drawn = read_all(main)
    finally:
        os.close(main)
    return result, drawn


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def frames(drawn: str) -> list[str]:
    """The bar's successive states (each redraw starts with a carriage return)."""
    plain = re.sub(r"\x1b\[\?25[lh]", "", drawn)
    return [f.strip() for f in plain.replace("\r\n", "\r").split("\r") if f.strip()]


QUOTA_FILE = f"""
[quotas]
DescribeRegistrationVersions = 12

[quotas."{ACCOUNT}/us-east-1"]
DescribeRegistrationVersions = 2
"""


@pytest.mark.parametrize(
    ("options", "rate"),
    [
        (["--quota", "DescribeRegistrationVersions=4"], 4.0),
        (["--quota-file", "{quotas}"], 12.0),  # every account and region
        (["--quota-file", "{quotas}", "--account", ACCOUNT], 2.0),  # this one's raised quota
    ],
    ids=["quota", "quota-file", "account"],
)
def test_the_bar_shows_the_time_left_at_the_quota(
    url: str, tmp_path: Path, options: list[str], rate: float
) -> None:
    quotas = tmp_path / "quotas.toml"
    quotas.write_text(QUOTA_FILE, encoding="utf-8")
    store = str(tmp_path / "local.db")
    args = [o.format(quotas=quotas) for o in options]

    result, drawn = on_terminal(
        cli_env(tmp_path), "sync", "--endpoint-url", url, "--store", store, *args
    )

    assert result.returncode == 0, drawn
    shown = frames(drawn)
    first, last = shown[0], shown[-1]
    assert first.startswith("syncing")
    assert f"0/{REGISTRATIONS}" in first
    assert first.endswith(eta_text(REGISTRATIONS / rate)), first  # requests left / rate
    assert f"{REGISTRATIONS}/{REGISTRATIONS}" in last
    assert "100%" in last
    assert last.endswith("eta 0:00:00")
    assert result.stdout.splitlines()[-1].startswith(f"{REGISTRATIONS} changed")


def test_no_bar_with_json_or_off_a_terminal(url: str, tmp_path: Path) -> None:
    env, store = cli_env(tmp_path), str(tmp_path / "local.db")
    fast = ["--quota", "DescribeRegistrationVersions=1000"]

    as_json, drawn = on_terminal(
        env, "sync", "--endpoint-url", url, "--store", store, "--json", *fast
    )
    assert as_json.returncode == 0
    assert drawn == ""  # a script reading the JSON gets no bar on its terminal
    assert len(json.loads(as_json.stdout)["changed"]) == REGISTRATIONS

    piped = run_sync(env, url, Path(store), "--full", *fast)
    assert (piped.returncode, piped.stderr) == (0, "")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "eta 0:00:00"), (0.2, "eta 0:00:01"), (59.5, "eta 0:01:00"), (3725, "eta 1:02:05")],
)
def test_the_time_left_is_rounded_up(seconds: float, text: str) -> None:
    assert eta_text(seconds) == text
