"""``--store postgresql://...``: the CLI against served emulators and a real PostgreSQL.

Two emulators of two accounts, seeded alike, so their registration ids collide: the
installed ``registration-fsm`` syncs both into one database (``--account`` names the
shard each sync writes), then ``show``, ``report`` and ``audit`` read it back, with and
without ``--account``/``--region``. An id stored for both accounts is a one-line usage
error naming both unless filtered. A URL that cannot be used (no server there, no such
database, a database that is not a store, a URL libpq cannot parse) is one line on
stderr that never shows the URL's password.

Real processes throughout; timeouts are generous guards against a hang, never timings.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers import REG_TYPE
from helpers.postgres import PostgresCluster
from helpers.resume_cli import HANG, cli_env, script

from registration_fsm import EmulatedRegistrationApi, PostgresStore, serve

ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"
REGION = "us-east-1"
#: Registrations per account (the same ids in both: the same seed).
REGISTRATIONS = 3
PASSWORD = "hunter2-secret"


@attrs.frozen
class Fleet:
    """Two served emulators of two accounts whose registration ids collide."""

    url_a: str
    url_b: str
    ids: list[str]
    #: The id submitted in account A only (its other copy, in B, stays DRAFT).
    submitted: str


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    apis = [
        EmulatedRegistrationApi(seed=5, account=a, region=REGION) for a in (ACCOUNT_A, ACCOUNT_B)
    ]
    ids = [[api.create_registration(REG_TYPE)["RegistrationId"] for _ in range(REGISTRATIONS)]
           for api in apis]  # fmt: skip
    assert ids[0] == ids[1]  # the point: the same ids in two accounts
    apis[0].submit_registration_version(ids[0][0])
    with serve(apis[0]) as url_a, serve(apis[1]) as url_b:
        yield Fleet(url_a, url_b, sorted(ids[0]), ids[0][0])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials; the suite's quota scale (the emulators enforce it too)."""
    return cli_env(tmp_path) | {
        "REGISTRATION_FSM_QUOTA_SCALE": os.environ.get("REGISTRATION_FSM_QUOTA_SCALE", "1000"),
        "REGISTRATION_FSM_CATALOG": "none",
    }


def run(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script(), *args], env=env, capture_output=True, text=True, timeout=HANG, check=False,
        cwd=cwd,
    )  # fmt: skip


def ok(env: dict[str, str], *args: str) -> str:
    done = run(env, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def one_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line of a failed command (after click's usage lines for exit 2)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    lines = [
        line for line in done.stderr.splitlines()
        if not line.startswith(("Usage:", "Try ")) and line.strip()
    ]  # fmt: skip
    assert len(lines) == 1, done.stderr
    return lines[0]


def synced(env: dict[str, str], fleet: Fleet, store: str) -> None:
    """Both accounts synced into ``store``, each with --account (the shard it writes)."""
    for account, url in ((ACCOUNT_A, fleet.url_a), (ACCOUNT_B, fleet.url_b)):
        report = json.loads(ok(env, "sync", "--endpoint-url", url, "--account", account,
                               "--region", REGION, "--store", store, "--json"))  # fmt: skip
        assert sorted(report["changed"]) == fleet.ids
        assert report["failed"] == {}


def arn_shards(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(id, account) of each registration ``show --json`` printed, from its ARN."""
    return [
        (i["Registration"]["RegistrationId"], i["Registration"]["RegistrationArn"].split(":")[4])
        for i in items
    ]


def test_sync_into_postgres_then_show_filtered_and_unfiltered(
    env: dict[str, str], fleet: Fleet, postgres_url: str
) -> None:
    synced(env, fleet, postgres_url)

    everything = json.loads(ok(env, "show", "--store", postgres_url, "--json"))
    assert arn_shards(everything) == [(i, a) for i in fleet.ids for a in (ACCOUNT_A, ACCOUNT_B)]
    # Two accounts in what is shown: each registration says which.
    assert {(i["Account"], i["Region"]) for i in everything} == {
        (ACCOUNT_A, REGION), (ACCOUNT_B, REGION)
    }  # fmt: skip
    table = ok(env, "show", "--store", postgres_url).splitlines()
    heads = [line for line in table if line.startswith("registration-")]
    assert heads == [
        f"{i}  {REG_TYPE}  {'SUBMITTED' if (i, a) == (fleet.submitted, ACCOUNT_A) else 'CREATED'}"
        f"  {a}/{REGION}"
        for i in fleet.ids for a in (ACCOUNT_A, ACCOUNT_B)
    ]  # fmt: skip

    for account in (ACCOUNT_A, ACCOUNT_B):
        mine = json.loads(ok(env, "show", "--store", postgres_url, "--account", account, "--json"))
        assert arn_shards(mine) == [(i, account) for i in fleet.ids]
        assert all("Account" not in i for i in mine)  # one account shown: nothing to tell apart
    both = json.loads(
        ok(env, "show", "--store", postgres_url, "--account", ACCOUNT_A, "--region", REGION,
           "--json", "--events", fleet.submitted)
    )  # fmt: skip
    assert arn_shards(both) == [(fleet.submitted, ACCOUNT_A)]
    assert [e["trigger"] for e in both[0]["Events"]] == ["create", "submit"]
    other = json.loads(ok(env, "show", "--store", postgres_url, "--account", ACCOUNT_B,
                          "--json", "--events", fleet.submitted))  # fmt: skip
    assert [e["trigger"] for e in other[0]["Events"]] == ["create"]
    assert json.loads(ok(env, "show", "--store", postgres_url, "--region", "eu-west-1",
                         "--json")) == []  # fmt: skip


def test_an_id_of_two_accounts_is_a_usage_error_naming_both(
    env: dict[str, str], fleet: Fleet, postgres_url: str
) -> None:
    synced(env, fleet, postgres_url)
    line = one_error(run(env, "show", "--store", postgres_url, fleet.submitted), 2)
    assert line == (
        f"Error: registration {fleet.submitted} is stored for 2 accounts/regions "
        f"({ACCOUNT_A}/{REGION}, {ACCOUNT_B}/{REGION}): choose one with --account and --region"
    )
    # The environment variable names the store as --store does; a region alone does not choose.
    line = one_error(run(env | {"REGISTRATION_FSM_STORE": postgres_url}, "show", "--region",
                         REGION, fleet.submitted), 2)  # fmt: skip
    assert f"{ACCOUNT_A}/{REGION}, {ACCOUNT_B}/{REGION}" in line
    missing = "registration-" + "0" * 32
    line = one_error(run(env, "show", "--store", postgres_url, "--account", ACCOUNT_A, missing), 1)
    name = PostgresStore(postgres_url, read_only=True)
    try:
        assert line == f"Error: registration {missing} is not in {name.url} for {ACCOUNT_A}/*"
    finally:
        name.close()
    line = one_error(run(env, "show", "--store", postgres_url, "--account", "12345"), 2)
    assert "an AWS account id is 12 digits" in line


def test_commands_act_on_the_account_they_are_given(
    env: dict[str, str], fleet: Fleet, postgres_url: str
) -> None:
    synced(env, fleet, postgres_url)
    rid = fleet.ids[1]  # DRAFT in both accounts
    # Without --account nothing says which of the two stored copies is meant.
    line = one_error(run(env, "submit", "--endpoint-url", fleet.url_b, "--store", postgres_url,
                         "--registration-id", rid), 1)  # fmt: skip
    assert line.startswith("error: AmbiguousRegistrationId: ")
    event = json.loads(ok(env, "submit", "--endpoint-url", fleet.url_b, "--account", ACCOUNT_B,
                          "--region", REGION, "--store", postgres_url, "--registration-id", rid,
                          "--actor", "bob", "--json"))  # fmt: skip
    assert (event["trigger"], event["actor"]) == ("submit", "bob")
    a, b = (
        json.loads(ok(env, "show", "--store", postgres_url, "--account", acct, "--json", rid))[0]
        for acct in (ACCOUNT_A, ACCOUNT_B)
    )
    statuses = (a["Registration"]["RegistrationStatus"], b["Registration"]["RegistrationStatus"])
    assert statuses == ("CREATED", "SUBMITTED")
    # A sync of one account leaves the other's registrations as they are.
    ok(env, "sync", "--endpoint-url", fleet.url_a, "--account", ACCOUNT_A, "--region", REGION,
       "--store", postgres_url, "--full")  # fmt: skip
    again = json.loads(ok(env, "show", "--store", postgres_url, "--account", ACCOUNT_B, "--json"))
    assert len(again) == REGISTRATIONS
    # Without --account, a sync of everything cannot tell whose registrations it sees.
    line = one_error(run(env, "sync", "--endpoint-url", fleet.url_a, "--store", postgres_url), 1)
    assert line.startswith("error: InvalidArgument: the store and the API hold registrations of ")
    assert line.endswith("or --account and --region)")
    line = one_error(run(env, "sync", "--endpoint-url", fleet.url_a, "--account", ACCOUNT_A,
                         "--region", "nowhere", "--store", postgres_url), 2)  # fmt: skip
    assert "--region" in line
    assert "not an AWS region name" in line


def test_audit_export_verify_and_checkpoint_of_a_postgres_store(
    env: dict[str, str], fleet: Fleet, postgres_url: str, tmp_path: Path
) -> None:
    synced(env, fleet, postgres_url)
    out = tmp_path / "trail.jsonl"
    done = run(env, "audit", "export", "--store", postgres_url, "--output", str(out))
    assert done.returncode == 0, done.stderr
    records = 2 * REGISTRATIONS + 1  # a create each, and the one submit
    assert done.stderr == f"exported {records} records\n"
    assert len(out.read_text().splitlines()) == records + 1  # and the head
    assert ok(env, "audit", "verify", str(out)).startswith(f"{out}: intact: {records} records")
    name = PostgresStore(postgres_url, read_only=True)
    try:
        url = name.url
    finally:
        name.close()
    verdict = json.loads(ok(env, "audit", "verify", postgres_url, "--json"))
    assert (verdict["ok"], verdict["records"]) == (True, records)
    assert verdict["replay"]["registrations"] == 2 * REGISTRATIONS
    assert ok(env, "audit", "verify", postgres_url).startswith(f"{url}: intact: {records} records")
    key, pub, marks = tmp_path / "a.key", tmp_path / "a.pub", tmp_path / "marks.jsonl"
    ok(env, "audit", "keygen", "--private-key", str(key), "--public-key", str(pub))
    made = ok(env, "audit", "checkpoint", "--store", postgres_url, "--key", str(key),
              "--checkpoints", str(marks))  # fmt: skip
    assert made.startswith(f"checkpoint 1 appended to {marks}: records 1-{records}, ")
    anchored = ok(env, "audit", "verify", postgres_url, "--public-key", str(pub),
                  "--checkpoints", str(marks))  # fmt: skip
    assert anchored.startswith(f"{url}: intact, anchored: {records} records")


def needs_dot() -> None:
    if shutil.which(os.environ.get("REGISTRATION_FSM_DOT", "dot")) is None:
        if os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0"):
            pytest.fail("REGISTRATION_FSM_REQUIRE_TOOLS is set but Graphviz dot is missing")
        pytest.skip("Graphviz dot is not installed (apt-get install graphviz)")


def test_report_of_a_postgres_store_by_account(
    env: dict[str, str], fleet: Fleet, postgres_url: str, tmp_path: Path
) -> None:
    needs_dot()
    synced(env, fleet, postgres_url)
    line = one_error(run(env, "report", "--store", postgres_url, "-o", str(tmp_path / "all")), 2)
    assert f"({ACCOUNT_A}/{REGION}, {ACCOUNT_B}/{REGION})" in line
    assert not (tmp_path / "all").exists()
    done = run(env, "report", "--store", postgres_url, "--account", ACCOUNT_A,
               "-o", str(tmp_path / "a"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == f"wrote {tmp_path / 'a'} ({REGISTRATIONS + 1} pages)"
    # The chain is the whole store's: replayed against every account's registrations.
    assert done.stderr.splitlines()[1].startswith("audit trail: intact"), done.stderr
    page = (tmp_path / "a" / f"{fleet.submitted}.html").read_text()
    assert f"arn:aws:sms-voice:{REGION}:{ACCOUNT_A}:registration/{fleet.submitted}" in page
    assert ACCOUNT_B not in page
    assert "postgresql://postgres@" in page  # the store, named by its URL


# -- URLs that cannot be used ---------------------------------------------------------------


def test_a_password_given_as_a_parameter_is_never_shown(
    env: dict[str, str], fleet: Fleet, postgres_url: str
) -> None:
    synced(env, fleet, postgres_url)
    scheme, rest = postgres_url.split("://", 1)
    place = rest.split("@", 1)[1]
    url = f"{scheme}://{place}?user=postgres&password={PASSWORD}"  # no user part: a parameter
    verdict = run(env, "audit", "verify", url)
    assert verdict.returncode == 0, verdict.stderr
    assert verdict.stdout.startswith(f"{scheme}://{place}: intact: ")
    missing = "registration-" + "0" * 32
    done = run(env, "show", "--store", url, "--account", ACCOUNT_A, missing)
    assert one_error(done, 1) == (
        f"Error: registration {missing} is not in {scheme}://{place} for {ACCOUNT_A}/*"
    )
    assert PASSWORD not in verdict.stdout + verdict.stderr + done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_password(url: str, password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    user, place = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{place}"


def not_a_store(cluster: PostgresCluster) -> str:
    """A database with a table of someone else's."""
    import psycopg

    url = cluster.create_database("other")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id integer)")
    return url


#: (how to make the URL, what the line says): each is a StoreError, exit 1.
BAD_URLS: dict[str, tuple[Callable[[PostgresCluster], str], str]] = {
    "no server": (
        lambda c: f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/x",
        "cannot connect",
    ),
    "no such database": (
        lambda c: with_password(c.url("no_such_db")),
        'database "no_such_db" does not exist',
    ),
    "not a store": (lambda c: with_password(not_a_store(c)), "not a registration store"),
    "unparsable": (lambda c: f"postgresql://postgres:{PASSWORD}@[::1/x", "cannot connect"),
}
COMMANDS = {
    "show": ["show", "--store", "URL"],
    "sync": ["sync", "--endpoint-url", "EMULATOR", "--store", "URL"],
    "report": ["report", "--store", "URL", "-o", "out"],
    "audit verify": ["audit", "verify", "URL"],
    "audit export": ["audit", "export", "--store", "URL"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_a_url_that_cannot_be_used_is_one_line_without_its_password(
    env: dict[str, str], fleet: Fleet, postgres_cluster: PostgresCluster, tmp_path: Path,
    command: str, case: str,
) -> None:  # fmt: skip
    make, says = BAD_URLS[case]
    url = make(postgres_cluster)
    argv = [{"URL": url, "EMULATOR": fleet.url_a}.get(word, word) for word in COMMANDS[command]]
    done = run(env, *argv, cwd=tmp_path)
    line = one_error(done, 1)
    assert line.startswith("error: StoreError: postgresql://postgres"), line
    assert says in line
    assert PASSWORD not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == [], "a failed command left files behind"
