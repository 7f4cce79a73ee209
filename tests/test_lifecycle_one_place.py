"""Changing one edge is a one-line change in one file, and the whole stack follows it.

The package is copied, one line of ``domain/lifecycle.py``'s ``EDGES`` (or of its
``REGISTRATION_EDGES``) is added or removed, and a program run against the copy
checks that the aggregate, the emulator (in memory and over HTTP with a real boto3
client), reconcile, the strategies, the stateful machine's coverage, the diagrams
and the docs tables all follow the new table — with nothing else edited. The
emulator runs without forms (``REGISTRATION_FSM_CATALOG=none``): forms are not
what these programs check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import registration_fsm

LIFECYCLE_FILE = Path(registration_fsm.__file__).parent / "domain" / "lifecycle.py"
ANCHOR = '    inferred(V.REQUIRES_OFFLINE_REVIEW, "deny", V.DENIED),\n'
ADDED = (
    '    inferred(V.REQUIRES_OFFLINE_REVIEW, "require_authentication", '
    'V.REQUIRES_AUTHENTICATION, note="asked offline"),\n'
)
REGISTRATION_ANCHOR = (
    '    inferred(R.COMPLETE, "close", R.CLOSED, note="CLOSED: \'the phone number or sender ID '
    "has been deleted'; only a complete registration has one to lose\"),  # noqa: E501\n"
)
REGISTRATION_ADDED = (
    '    inferred(R.PROVISIONING, "close", R.CLOSED, note="deleted while provisioning"),\n'
)
REMOVED = (
    '    inferred(V.REVIEWING, "require_offline_review", V.REQUIRES_OFFLINE_REVIEW, '
    'note="no history field"),  # noqa: E501\n'
)

CHECK_ADDED = """
from datetime import UTC, datetime, timedelta

import boto3
from hypothesis import find, settings
from registration_fsm import (
    LIFECYCLE, Boto3RegistrationApi, EmulatedRegistrationApi, Registration, Synchronizer,
    VersionStatus as V, serve,
)
from registration_fsm.diagrams import to_dot, to_mermaid
from registration_fsm.diagrams.table import to_markdown_table
from registration_fsm.testing import RegistrationLifecycleMachine
from registration_fsm.testing.strategies import lifecycle_paths

edge = LIFECYCLE.edge(V.REQUIRES_OFFLINE_REVIEW, "require_authentication",
                      V.REQUIRES_AUTHENTICATION)
assert edge is not None and not edge.documented

# the aggregate
t = [datetime(2026, 1, 1, tzinfo=UTC)]
def clock():
    t[0] += timedelta(minutes=1)
    return t[0]
reg = Registration.new("registration-1", "arn:aws:sms-voice:us-east-1:1:registration/r", "T",
                       clock=clock)
for trigger in ("submit", "begin_review", "require_offline_review"):
    reg.fire(trigger, clock=clock)
assert "require_authentication" in reg.current_version.allowed_triggers()
assert reg.require_authentication(clock=clock).source == V.REQUIRES_OFFLINE_REVIEW

# the emulator over HTTP with boto3, and reconcile through the synchronizer
emulator = EmulatedRegistrationApi(seed=3)
with serve(emulator) as url:
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s",
                                    region_name="us-east-1")
    syncer = Synchronizer(Boto3RegistrationApi.from_config(session=session, endpoint_url=url))
    rid = syncer.create("US_TEN_DLC_BRAND_REGISTRATION").id
    syncer.submit(rid)
    emulator.advance(rid, "begin_review")
    emulator.advance(rid, "require_offline_review")
    syncer.sync([rid], full=True)
    emulator.advance(rid, "require_authentication")
    report = syncer.sync([rid])
    told = [(e.trigger, e.source, e.dest) for e in report.events]
    assert told == [("require_authentication", V.REQUIRES_OFFLINE_REVIEW,
                     V.REQUIRES_AUTHENTICATION)], told
    assert not report.anomalies, report.anomalies

# the strategies
path = find(lifecycle_paths(V.REQUIRES_AUTHENTICATION), lambda p: edge in p,
            settings=settings(database=None, max_examples=500))
assert path[-1] == edge, path

# the stateful machine requires and reaches the new edge
class Machine(RegistrationLifecycleMachine):
    pass
report = Machine.run(settings=settings(max_examples=25, stateful_step_count=40,
                                       deadline=None, database=None))
assert edge in report.required and edge in report.edges, report

# the diagrams and the docs table
text = to_mermaid()
assert "REQUIRES_OFFLINE_REVIEW --> REQUIRES_AUTHENTICATION: require_authentication" in text
assert '"REQUIRES_OFFLINE_REVIEW" -> "REQUIRES_AUTHENTICATION"' in to_dot()
assert "| REQUIRES_OFFLINE_REVIEW | `require_authentication` | REQUIRES_AUTHENTICATION |" in (
    to_markdown_table()
)
print("followed")
"""

CHECK_REGISTRATION_ADDED = """
from hypothesis import settings
from registration_fsm import (
    LIFECYCLE, EmulatedRegistrationApi, LifecyclePolicy, RegistrationStatus as R, Synchronizer,
)
from registration_fsm.diagrams import to_dot, to_mermaid
from registration_fsm.diagrams.table import to_registration_table
from registration_fsm.domain.lifecycle import RegistrationEdge
from registration_fsm.testing import RegistrationLifecycleMachine

edge = LIFECYCLE.registration_edge(R.PROVISIONING, "close", R.CLOSED)
assert edge is not None and not edge.documented

# the emulator's aggregate, and reconcile through the synchronizer
policy = LifecyclePolicy().with_provisioning()
emulator = EmulatedRegistrationApi(seed=3, policy=policy)
syncer = Synchronizer(emulator)
rid = syncer.create("US_TOLL_FREE_REGISTRATION").id
syncer.submit(rid)
emulator.advance(rid, "begin_review")
emulator.advance(rid, "approve")
syncer.sync([rid])
assert syncer.get(rid).status == R.PROVISIONING
assert syncer.get(rid).refusals("close") == []
(event,) = emulator.advance(rid, "close")
assert (event.source, event.dest) == (R.PROVISIONING, R.CLOSED)
report = syncer.sync([rid])
assert [(e.trigger, e.source, e.dest) for e in report.events] == [
    ("close", R.PROVISIONING, R.CLOSED)
], report.events
assert not report.anomalies, report.anomalies

# the stateful machine requires and reaches the new edge
class Machine(RegistrationLifecycleMachine):
    policy = LifecyclePolicy.permissive().with_provisioning()
report = Machine.run(settings=settings(max_examples=25, stateful_step_count=40,
                                       deadline=None, database=None))
assert edge in report.required and edge in report.registration_edges, report

# the registration diagram and the docs table
assert "PROVISIONING --> CLOSED: close" in to_mermaid(level="registration")
assert '"PROVISIONING" -> "CLOSED"' in to_dot(level="registration")
assert "| PROVISIONING | `close` | CLOSED |" in to_registration_table()
print("followed")
"""

CHECK_REMOVED = """
from registration_fsm import LIFECYCLE, EmulatedRegistrationApi, Registration, VersionStatus as V
from registration_fsm import CommandRefused, ConflictError, UnknownTrigger
from registration_fsm.diagrams import to_mermaid
from registration_fsm.testing.strategies import lifecycle_paths
from hypothesis import given, settings

assert LIFECYCLE.edge(V.REVIEWING, "require_offline_review", V.REQUIRES_OFFLINE_REVIEW) is None
assert V.REQUIRES_OFFLINE_REVIEW not in LIFECYCLE.reachable(V.DRAFT)

emulator = EmulatedRegistrationApi(seed=3)
rid = emulator.create_registration("T")["RegistrationId"]
emulator.submit_registration_version(rid)
emulator.advance(rid, "begin_review")
try:
    emulator.advance(rid, "require_offline_review")
except (CommandRefused, ConflictError, UnknownTrigger):
    pass
else:
    raise AssertionError("the emulator took a removed edge")

assert "--> REQUIRES_OFFLINE_REVIEW: require_offline_review" not in to_mermaid()

seen = set()
@settings(max_examples=200, database=None)
@given(lifecycle_paths())
def paths_avoid_it(path):
    seen.update(e.trigger for e in path)
    assert "require_offline_review" not in {e.trigger for e in path}, path
paths_avoid_it()
assert {"submit", "approve", "deny"} <= seen, seen
print("followed")
"""


def _run_on_copy(tmp_path: Path, old: str, new: str, program: str) -> str:
    copy = tmp_path / "src"
    shutil.copytree(LIFECYCLE_FILE.parents[1], copy / "registration_fsm")
    target = copy / "registration_fsm" / "domain" / "lifecycle.py"
    text = target.read_text()
    assert text.count(old) == 1, f"the table no longer has the line {old!r}"
    changed = text.replace(old, new)
    diff = set(changed.splitlines()) ^ set(text.splitlines())
    assert len(diff) == 1, f"not a one-line change: {diff}"
    target.write_text(changed)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(copy),
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "REGISTRATION_FSM_CATALOG": "none",
        },
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
def test_an_added_edge_is_followed_by_the_whole_stack(tmp_path: Path) -> None:
    out = _run_on_copy(tmp_path, ANCHOR, ANCHOR + ADDED, CHECK_ADDED)
    assert out.strip().endswith("followed")


@pytest.mark.slow
def test_an_added_registration_edge_is_followed_by_the_whole_stack(tmp_path: Path) -> None:
    added = REGISTRATION_ANCHOR + REGISTRATION_ADDED
    out = _run_on_copy(tmp_path, REGISTRATION_ANCHOR, added, CHECK_REGISTRATION_ADDED)
    assert out.strip().endswith("followed")


@pytest.mark.slow
def test_a_removed_edge_is_gone_from_the_whole_stack(tmp_path: Path) -> None:
    out = _run_on_copy(tmp_path, REMOVED, "", CHECK_REMOVED)
    assert out.strip().endswith("followed")
