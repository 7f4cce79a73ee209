"""Registration forms from the command line: ``catalog capture``/``show``, ``emulator
--catalog``, ``form show``/``set``/``unset``, ``attach`` and ``associate``.

The emulator is the library's ``serve()`` in this process, given the shipped catalogue
explicitly (the suite's conftest sets ``REGISTRATION_FSM_CATALOG=none``), so a test can
look at what it holds and was asked (``api.calls``); the commands run as the installed
``registration-fsm`` script with ``--endpoint-url``, dummy credentials and, where a
command keeps one, a store in a temporary directory. ``emulator --catalog`` runs as a
subprocess of its own.

- A new user's whole flow: create a US 10DLC brand registration, ``form show`` lists
  the missing fields, ``form set`` each (a conditional field appears when its condition
  holds), ``attach`` a PDF, ``submit``; afterwards the values cannot change.
- An ATTACHMENT field and an association the type asks for before submit.
- Every bad input is one line with its exit status (2: usage, nothing sent; 1: the
  library or the API refused) and changes nothing.
- ``catalog capture`` from a served emulator gives back the shipped catalogue; an
  ``--output`` that would destroy data is refused before any request; an interrupted
  capture leaves no file; ``emulator --catalog`` serves a captured file.

Nothing here is timed: subprocess timeouts are generous guards against a hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import REG_TYPE

from registration_fsm import (
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    EmulatorClient,
    fill_form,
    serve,
)
from registration_fsm.cli.emulator import CATALOG_ENV
from registration_fsm.domain.forms import Catalog, FieldType
from registration_fsm.emulator.forms import ENV_CATALOG

EXE = shutil.which("registration-fsm", path=str(Path(sys.executable).parent))
#: Seconds a command may take before the test calls it hung (never reached when it works).
HANG = 120.0
BUILTIN = Catalog.builtin()
#: A type with an ATTACHMENT field and an association required before submit, with a
#: toll-free number (the emulator's ``add_origination_identity("phone-number")``).
ATTACHED = "TEST_ATTACHED_REGISTRATION"
PDF = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
UNKNOWN_ID = "registration-0123456789abcdef0123456789abcdef"


def _with_attached_type() -> Catalog:
    doc = BUILTIN.to_json()
    hints = {"Title": "Test", "ShortDescription": "A form with one attachment."}
    doc["RegistrationTypeDefinitions"].append({
        "RegistrationType": ATTACHED,
        "DisplayHints": {"Title": "A test registration"},
        "SupportedAssociations": [{
            "ResourceType": "TOLL_FREE", "IsoCountryCode": "US",
            "AssociationBehavior": "ASSOCIATE_BEFORE_SUBMIT",
            "DisassociationBehavior": "DISASSOCIATE_ALL_CLOSES_REGISTRATION",
        }],
    })  # fmt: skip
    doc["RegistrationSectionDefinitions"][ATTACHED] = [
        {"SectionPath": "documents", "DisplayHints": hints}
    ]
    doc["RegistrationFieldDefinitions"][ATTACHED] = [{
        "SectionPath": "documents", "FieldPath": "documents.letter",
        "FieldType": "ATTACHMENT", "FieldRequirement": "REQUIRED", "DisplayHints": hints,
    }]  # fmt: skip
    return Catalog.from_json(doc)


CATALOG = _with_attached_type()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials, the suite's quota scale, nothing else from the caller's setup."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRATION_FSM"))}
    out |= {
        "REGISTRATION_FSM_QUOTA_SCALE": os.environ["REGISTRATION_FSM_QUOTA_SCALE"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return out


@pytest.fixture
def api() -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(seed=10, catalog=CATALOG)


@pytest.fixture
def url(api: EmulatedRegistrationApi) -> Iterator[str]:
    with serve(api) as served:
        yield served


class Cli:
    """The ``registration-fsm`` script against one emulator (and one store)."""

    def __init__(self, env: dict[str, str], url: str, tmp: Path) -> None:
        self.env, self.url, self.tmp = env, url, tmp
        self.store = str(tmp / "local.db")

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``registration-fsm ARGS`` as typed (no options added)."""
        assert EXE is not None, "registration-fsm is not installed next to this Python"
        return subprocess.run(
            [EXE, *args], env=env or self.env, capture_output=True, text=True, timeout=HANG,
            check=False, cwd=self.tmp,
        )  # fmt: skip

    def api(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command with ``--endpoint-url`` (the words before the first option as given)."""
        words = list(args)
        at = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        return self.run(*words[:at], "--endpoint-url", self.url, *words[at:])

    def ok(self, *args: str) -> str:
        """The output of an API command that must succeed (and print nothing on stderr)."""
        done = self.api(*args)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        assert done.stderr == "", done.stderr
        return done.stdout

    def form(self, rid: str, *more: str) -> dict[str, Any]:
        """``form show --json``."""
        out: dict[str, Any] = json.loads(self.ok("form", "show", "--registration-id", rid,
                                                 "--json", *more))  # fmt: skip
        return out


@pytest.fixture
def cli(env: dict[str, str], url: str, tmp_path: Path) -> Cli:
    return Cli(env, url, tmp_path)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error of a command the library or the API refused: exit 1, one stderr line."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def usage_error(result: subprocess.CompletedProcess[str]) -> str:
    """A usage error: exit 2, nothing on stdout, click's Usage/Try lines, one Error line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: registration-fsm "), result.stderr
    assert [line for line in lines if line.startswith("Error:")] == lines[-1:], result.stderr
    return lines[-1]


def value_for(field: dict[str, Any]) -> list[str]:
    """The ``form set`` arguments that give a field of the shipped brand form a valid value."""
    definition = BUILTIN.type(REG_TYPE).field(field["FieldPath"])
    if definition.field_type is FieldType.SELECT:
        assert definition.select_validation is not None
        return ["--choice", definition.select_validation.options[0]]
    example = definition.display_hints.get("ExampleTextValue")
    assert isinstance(example, str), f"{field['FieldPath']} has no example"
    return [example]


def version_status(api: EmulatedRegistrationApi, rid: str, number: int = 1) -> str:
    versions = api.describe_registration_versions(rid, version_numbers=[number])
    status: str = next(iter(versions))["RegistrationVersionStatus"]
    return status


def field_values(api: EmulatedRegistrationApi, rid: str) -> dict[str, Any]:
    return {v["FieldPath"]: v for v in api.describe_registration_field_values(rid)}


def attachments(api: EmulatedRegistrationApi) -> list[dict[str, Any]]:
    return list(api.describe_registration_attachments())


# -- the whole flow ------------------------------------------------------------------------


def test_a_new_user_fills_in_and_submits_a_brand_registration(
    cli: Cli, api: EmulatedRegistrationApi
) -> None:
    (item,) = json.loads(cli.ok("create", REG_TYPE, "--store", cli.store, "--json"))
    rid = item["Registration"]["RegistrationId"]

    shown = cli.ok("form", "show", "--registration-id", rid)
    assert shown.splitlines()[0] == f"{rid}  {REG_TYPE}  CREATED  v1"
    assert re.search(r"^  \* companyInfo\.companyName +TEXT +MISSING$", shown, re.M)
    assert re.search(r"^  \? companyInfo\.stockSymbol +TEXT +- \(now OPTIONAL\)$", shown, re.M)
    required = [f.field_path for f in BUILTIN.type(REG_TYPE).fields
                if str(f.requirement) == "REQUIRED"]  # fmt: skip
    assert shown.splitlines()[-1] == f"missing {len(required)} required: {', '.join(required)}"

    refused = one_line_error(cli.api("submit", "--registration-id", rid, "--store", cli.store))
    assert refused.startswith("error: ApiValidationError: ")
    assert all(path in refused for path in required)
    assert version_status(api, rid) == "DRAFT"

    # A public company: its stock symbol, exchange and verification email become required.
    cli.ok("form", "set", "--registration-id", rid, "companyInfo.legalType",
           "--choice", "PUBLIC_PROFIT")  # fmt: skip
    form = cli.form(rid)
    conditional = ["companyInfo.stockSymbol", "companyInfo.stockExchange",
                   "companyInfo.businessContactEmail"]  # fmt: skip
    assert set(conditional) <= set(form["Missing"])
    assert {f["FieldPath"]: f["Behavior"] for f in form["Fields"]}["companyInfo.stockSymbol"] == (
        "REQUIRED"
    )
    for field in form["Fields"]:
        if field["FieldPath"] in form["Missing"]:
            out = cli.ok("form", "set", "--registration-id", rid, field["FieldPath"],
                         *value_for(field))  # fmt: skip
            assert out.startswith(f"{rid} v1: {field['FieldPath']} = ")
    form = cli.form(rid)
    assert form["Missing"] == []
    assert form["Problems"] == []
    assert form["Fields"][0]["Value"] == {
        "FieldPath": "companyInfo.companyName", "TextValue": "Example Corp"
    }  # fmt: skip
    assert cli.ok("form", "show", "--registration-id", rid).splitlines()[-1] == (
        "no required field is missing"
    )

    pdf = cli.tmp / "brand letter.pdf"
    pdf.write_bytes(PDF)
    attachment_id = cli.ok("attach", str(pdf), "--tag", "Name=brand letter").strip()
    assert re.fullmatch(r"attachment-[0-9a-f]{32}", attachment_id)
    (stored,) = attachments(api)
    assert (stored["RegistrationAttachmentId"], stored["AttachmentStatus"]) == (
        attachment_id, "UPLOAD_COMPLETE"
    )  # fmt: skip

    submitted = json.loads(cli.ok("submit", "--registration-id", rid, "--store", cli.store,
                                  "--json"))  # fmt: skip
    assert (submitted["source"], submitted["dest"]) == ("DRAFT", "SUBMITTED")
    assert version_status(api, rid) == "SUBMITTED"

    # Submitted: the values are what was sent, and stay so.
    before = field_values(api, rid)
    locked = cli.api("form", "set", "--registration-id", rid, "companyInfo.companyName", "Other")
    assert one_line_error(locked).startswith(
        "error: ConflictError: EDIT_REGISTRATION_FIELD_VALUES_NOT_ALLOWED: "
    )
    assert field_values(api, rid) == before

    # A new version starts empty; the submitted one can still be read.
    api.advance(rid, "begin_review")
    api.advance(rid, "deny", denied_reasons=[{"Reason": "R", "ShortDescription": "S"}])
    api.create_registration_version(rid)
    assert cli.form(rid)["VersionNumber"] == 2
    old = cli.form(rid, "--version", "1")
    assert (old["VersionNumber"], old["Missing"]) == (1, [])


def test_an_attachment_field_and_an_association_before_submit(
    cli: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = api.create_registration(ATTACHED)["RegistrationId"]
    pdf = cli.tmp / "letter.pdf"
    pdf.write_bytes(PDF)
    attached = json.loads(cli.ok("attach", str(pdf), "--json"))
    attachment_id = attached["RegistrationAttachmentId"]
    assert attached["AttachmentStatus"] == "UPLOAD_COMPLETE"
    set_json = json.loads(cli.ok("form", "set", "--registration-id", rid, "documents.letter",
                                 "--attachment", attachment_id, "--json"))  # fmt: skip
    assert set_json["RegistrationAttachmentId"] == attachment_id
    assert cli.form(rid)["Missing"] == []

    refused = one_line_error(cli.api("submit", "--registration-id", rid, "--store", cli.store))
    assert re.match(r"error: (ApiValidationError|ConflictError): .*associated", refused)
    assert version_status(api, rid) == "DRAFT"

    phone = api.add_origination_identity("phone-number", phone_number="+12065550100")
    out = cli.ok("associate", "--registration-id", rid, phone["ResourceId"])
    assert out.strip() == (
        f"{rid} ({ATTACHED}) associated with {phone['ResourceType']} {phone['ResourceId']} "
        "+12065550100"
    )
    again = cli.api("associate", "--registration-id", rid, phone["ResourceId"])
    assert one_line_error(again).startswith("error: ConflictError: RESOURCE_ALREADY_ASSOCIATED: ")
    (listed,) = api.list_registration_associations(rid)
    assert listed["ResourceId"] == phone["ResourceId"]

    cli.ok("submit", "--registration-id", rid, "--store", cli.store)
    assert version_status(api, rid) == "SUBMITTED"


def test_unset_removes_a_value(cli: Cli, api: EmulatedRegistrationApi) -> None:
    rid = api.create_registration(REG_TYPE)["RegistrationId"]
    cli.ok("form", "set", "--registration-id", rid, "companyInfo.city", "Seattle")
    assert field_values(api, rid)["companyInfo.city"]["TextValue"] == "Seattle"
    out = cli.ok("form", "unset", "--registration-id", rid, "companyInfo.city")
    assert out.strip() == f"{rid} v1: companyInfo.city unset (was 'Seattle')"
    assert field_values(api, rid) == {}


# -- bad input: one line, the right exit status, nothing changed -----------------------------

#: (arguments with RID for the registration, exit status, what the error line contains).
BAD_INPUT = [
    (["form", "set", "--registration-id", "RID", "companyInfo.nope", "x"], 1,
     "error: ApiValidationError: UNKNOWN_REGISTRATION_FIELD: "),
    (["form", "set", "--registration-id", "RID", "companyInfo.legalType", "--choice", "NOPE"], 1,
     "'NOPE' is not an option"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId", "12-34"], 1,
     "FIELD_VALIDATION_FAILED: companyInfo.taxId: must match the pattern"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId", "--choice", "1"], 1,
     "a TEXT field takes TextValue, not SelectChoices"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId", "--attachment",
      "attachment-00000000000000000000000000000000"], 1, "ApiValidationError"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId"], 2,
     "give exactly one of VALUE"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId", "1", "--choice", "1"], 2,
     "got 2"),
    (["form", "set", "--registration-id", "RID", "companyInfo.taxId", ""], 2,
     "expected 1-2048 characters"),
    (["form", "set", "--registration-id", "RID", "bad path!", "x"], 2, "FieldPath"),
    (["form", "set", "--registration-id", "not an id!", "companyInfo.taxId", "1"], 1,
     "error: InvalidRegistrationId: "),
    (["form", "set", "--registration-id", UNKNOWN_ID, "companyInfo.taxId", "1"], 1,
     "error: NotFoundError: "),
    (["form", "unset", "--registration-id", "RID", "companyInfo.taxId"], 1,
     "REGISTRATION_FIELD_CANNOT_BE_DELETED"),
    (["form", "unset", "--registration-id", "RID"], 2, "Missing argument 'FIELD_PATH'"),
    (["form", "show", "--registration-id", "RID", "--version", "9"], 1,
     "UNKNOWN_REGISTRATION_VERSION"),
    (["form", "show", "--registration-id", "RID", "--version", "0"], 2, "--version"),
    (["form", "show", "--registration-id", UNKNOWN_ID], 1, "error: NotFoundError: "),
    (["attach", "."], 2, "'.' is a directory"),
    (["attach", "nowhere.pdf"], 2, "'nowhere.pdf' cannot be read: No such file or directory"),
    (["attach", "empty.pdf"], 2, "'empty.pdf' is empty"),
    (["attach", "notes.txt"], 1, "ATTACHMENT_TYPE_NOT_SUPPORTED"),
    (["attach", "big.pdf"], 1, "MAXIMUM_SIZE_EXCEEDED"),
    (["attach", "s3://bucket/notes.txt"], 1, "ATTACHMENT_TYPE_NOT_SUPPORTED"),
    (["attach", "s3:/bucket/letter.pdf"], 2, "cannot be read"),
    (["attach", "letter.pdf", "--tag", "Name"], 2, "'Name' is not KEY=VALUE"),
    (["attach", "letter.pdf", "--tag", "a=1", "--tag", "a=2"], 2, "'a' is given twice"),
    (["associate", "--registration-id", "RID", "phone-0123456789abcdef0123456789abcdef"], 1,
     "error: NotFoundError: "),
    (["associate", "--registration-id", "RID"], 2, "Missing argument 'RESOURCE_ID'"),
    (["catalog", "capture", "--output", "c.json", "--type", "NOT A TYPE"], 2,
     "is not a registration type"),
    (["catalog", "capture", "--output", "c.json", "--type", "NO_SUCH_TYPE"], 1,
     "UNKNOWN_REGISTRATION_TYPE"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "status", "says"), BAD_INPUT, ids=str)
def test_bad_input_is_one_line_and_changes_nothing(
    cli: Cli, api: EmulatedRegistrationApi, args: list[str], status: int, says: str
) -> None:
    rid = api.create_registration(REG_TYPE)["RegistrationId"]
    api.put_registration_field_value(rid, "companyInfo.city", text_value="Seattle")
    (cli.tmp / "empty.pdf").write_bytes(b"")
    (cli.tmp / "notes.txt").write_text("not a PDF\n")
    (cli.tmp / "letter.pdf").write_bytes(PDF)
    (cli.tmp / "big.pdf").write_bytes(PDF + b"0" * 600_000)  # over AWS's 500 KB
    before = (list(api.describe_registrations()), field_values(api, rid), attachments(api),
              list(api.describe_registration_versions(rid)), dict(api.calls))  # fmt: skip

    done = cli.api(*(rid if a == "RID" else a for a in args))
    calls = dict(api.calls)
    line = one_line_error(done) if status == 1 else usage_error(done)
    assert says in line
    after = (list(api.describe_registrations()), field_values(api, rid), attachments(api),
             list(api.describe_registration_versions(rid)))  # fmt: skip
    assert after == before[:4]
    assert sorted(os.listdir(cli.tmp)) == ["big.pdf", "empty.pdf", "letter.pdf", "notes.txt"]
    if status == 2:  # a usage error sends nothing
        assert calls == before[4]


def test_the_api_options_are_taken_and_no_store(cli: Cli) -> None:
    for path in (["catalog", "capture"], ["form", "show"], ["form", "set"], ["form", "unset"],
                 ["attach"], ["associate"]):  # fmt: skip
        text = cli.run(*path, "--help").stdout
        for option in ("--endpoint-url", "--region", "--profile", "--connect-timeout",
                       "--read-timeout", "--quota", "--quota-file", "--account"):  # fmt: skip
            assert option in text, (path, option)
        assert "--store" not in text, path
    for path in (["form", "show"], ["form", "set"], ["form", "unset"], ["attach"],
                 ["associate"], ["catalog", "show"]):  # fmt: skip
        assert "--json" in cli.run(*path, "--help").stdout, path


# -- catalog capture -------------------------------------------------------------------------


def _definitions(found: Catalog) -> dict[str, Any]:
    """A catalogue's types, sections and fields in order (everything but Source and extras)."""
    doc = found.to_json()
    return {k: doc[k] for k in ("RegistrationTypeDefinitions", "RegistrationSectionDefinitions",
                                "RegistrationFieldDefinitions")}  # fmt: skip


@pytest.fixture
def builtin_url() -> Iterator[tuple[EmulatedRegistrationApi, str]]:
    """An emulator serving the shipped catalogue, as a user's does by default."""
    api = EmulatedRegistrationApi(seed=11, catalog=BUILTIN)
    with serve(api) as served:
        yield api, served


def test_capture_from_the_emulator_gives_back_the_shipped_catalogue(
    env: dict[str, str], tmp_path: Path, builtin_url: tuple[EmulatedRegistrationApi, str]
) -> None:
    api, url = builtin_url
    cli = Cli(env, url, tmp_path)
    out = cli.ok("catalog", "capture", "--output", "captured.json")
    sections = sum(len(t.sections) for t in BUILTIN.types.values())
    fields = sum(len(t.fields) for t in BUILTIN.types.values())
    requests = sum(api.calls.values())
    assert requests == 1 + 2 * len(BUILTIN.types)
    assert out == (
        f"captured {len(BUILTIN.types)} types, {sections} sections, {fields} fields "
        f"in {requests} requests into captured.json\n"
    )
    captured = Catalog.load(tmp_path / "captured.json")
    assert captured.types == BUILTIN.types
    for name, definition in BUILTIN.types.items():
        assert captured.type(name).to_api() == definition.to_api()
        assert [s.to_api() for s in captured.type(name).sections] == [
            s.to_api() for s in definition.sections
        ]
        assert [f.to_api() for f in captured.type(name).fields] == [
            f.to_api() for f in definition.fields
        ]
    assert re.fullmatch(
        rf"captured from {re.escape(url)} \(region us-east-1\) on \d{{4}}-\d\d-\d\d",
        captured.source,
    )
    assert sorted(os.listdir(tmp_path)) == ["captured.json"]

    # One type only.
    cli.ok("catalog", "capture", "--output", "one.json", "--type", "US_TOLL_FREE_REGISTRATION")
    assert list(Catalog.load(tmp_path / "one.json").types) == ["US_TOLL_FREE_REGISTRATION"]


def test_the_emulator_serves_a_captured_catalogue(
    env: dict[str, str], tmp_path: Path, builtin_url: tuple[EmulatedRegistrationApi, str]
) -> None:
    _api, url = builtin_url
    Cli(env, url, tmp_path).ok("catalog", "capture", "-o", "captured.json", "--type",
                               "US_TOLL_FREE_REGISTRATION")  # fmt: skip
    with served_by_cli(env, "--catalog", str(tmp_path / "captured.json")) as other:
        again = Cli(env, other, tmp_path)
        again.ok("catalog", "capture", "-o", "again.json")
        assert _definitions(Catalog.load(tmp_path / "again.json")) == _definitions(
            Catalog.load(tmp_path / "captured.json")
        )
        shown = again.run("catalog", "show", "--catalog", "again.json").stdout
        assert shown.splitlines()[0].startswith("1 registration types; source: captured from ")
        with pytest.raises(ClientError, match=r"UNKNOWN_REGISTRATION_TYPE|unknown"):
            client(other).create_registration(RegistrationType=REG_TYPE)


@pytest.mark.parametrize("setting", ["default", "none"])
def test_the_emulators_default_catalogue_and_none(env: dict[str, str], setting: str) -> None:
    args = ["--catalog", "none"] if setting == "none" else []
    with served_by_cli(env, *args) as url:
        sms = client(url)
        if setting == "none":  # any type, no form
            rid = sms.create_registration(RegistrationType="ANY_TYPE_AT_ALL")["RegistrationId"]
            sms.submit_registration_version(RegistrationId=rid)
        else:  # the shipped catalogue
            with pytest.raises(ClientError, match=r"UNKNOWN_REGISTRATION_TYPE|unknown"):
                sms.create_registration(RegistrationType="ANY_TYPE_AT_ALL")
            rid = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
            with pytest.raises(ClientError, match=r"companyInfo\.companyName"):
                sms.submit_registration_version(RegistrationId=rid)


def test_a_bad_catalogue_is_a_usage_error_before_anything_is_served(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Format": "registration-fsm catalog 1", "Source": "x"}))
    cli = Cli(env, "http://unused", tmp_path)
    events = tmp_path / "events.jsonl"
    line = usage_error(cli.run("emulator", "--port", "0", "--catalog", str(bad),
                               "--events-file", str(events)))  # fmt: skip
    assert line.startswith("Error: Invalid value for --catalog: ")
    assert "RegistrationTypeDefinitions" in line
    assert not events.exists()
    for name in ("missing.json", str(tmp_path)):
        assert "--catalog" in usage_error(cli.run("emulator", "--port", "0", "--catalog", name))
    from_env = usage_error(cli.run("emulator", "--port", "0", env={**env, CATALOG_ENV: str(bad)}))
    assert from_env.startswith(f"Error: Invalid value for {CATALOG_ENV}: ")
    assert CATALOG_ENV == ENV_CATALOG
    # `emulator advance` does not read the catalogue.
    bad_env = {**env, CATALOG_ENV: str(bad)}
    advance = cli.run("emulator", "advance", "--endpoint-url", "http://127.0.0.1:9",
                      "--timeout", "5", UNKNOWN_ID, "approve", env=bad_env)  # fmt: skip
    assert "ApiUnavailable" in one_line_error(advance)


@pytest.mark.parametrize(
    "case", ["exists", "directory", "symlink", "store", "sqlite", "no directory"]
)
def test_capture_refuses_an_output_that_would_destroy_data(
    cli: Cli, api: EmulatedRegistrationApi, case: str
) -> None:
    keep = cli.tmp / "keep.json"
    keep.write_text("precious\n")
    db = cli.tmp / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x)")
    conn.close()
    (cli.tmp / "dir").mkdir()
    (cli.tmp / "link.json").symlink_to(keep)
    env = {**cli.env, "REGISTRATION_FSM_STORE": str(cli.tmp / "my.db")}
    output, force, says = {
        "exists": ("keep.json", [], "'keep.json' exists; --force replaces it"),
        "directory": ("dir", ["--force"], "'dir' is a directory"),
        "symlink": ("link.json", ["--force"], "'link.json' is a symbolic link"),
        "store": ("my.db", ["--force"], "'my.db' is the local store"),
        "sqlite": ("other.db", ["--force"], "'other.db' is an SQLite database"),
        "no directory": ("nowhere/c.json", [], "which is not a directory"),
    }[case]
    before = sorted(os.listdir(cli.tmp))
    done = cli.run("catalog", "capture", "--endpoint-url", cli.url, "--output", output, *force,
                   env=env)  # fmt: skip
    assert says in usage_error(done)
    assert keep.read_text() == "precious\n"
    assert os.readlink(cli.tmp / "link.json") == str(keep)
    assert sorted(os.listdir(cli.tmp)) == before
    assert dict(api.calls) == {}  # checked before any request


def test_force_replaces_the_file_and_leaves_no_temporary_file(
    cli: Cli, api: EmulatedRegistrationApi
) -> None:
    out = cli.tmp / "catalog.json"
    out.write_text("old\n")
    cli.ok("catalog", "capture", "--output", "catalog.json", "--force", "--type", REG_TYPE)
    assert list(Catalog.load(out).types) == [REG_TYPE]
    assert sorted(os.listdir(cli.tmp)) == ["catalog.json"]


def test_an_interrupted_capture_leaves_no_file(
    env: dict[str, str], tmp_path: Path, api: EmulatedRegistrationApi, url: str
) -> None:
    # Paced at AWS's own rates (1 request per second per operation), a capture of every
    # type takes seconds; Ctrl-C lands once the section definitions are being read.
    code = textwrap.dedent(f"""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from registration_fsm.cli import main
        sys.exit(main(["catalog", "capture", "--endpoint-url", {url!r}, "-o", "c.json"]))
    """)
    slow = {k: v for k, v in env.items() if k != "REGISTRATION_FSM_QUOTA_SCALE"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=slow, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + HANG
        while api.calls.get("DescribeRegistrationSectionDefinitions", 0) < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the capture never started"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err.strip()) == (130, "", "aborted")
    assert os.listdir(tmp_path) == []


# -- catalog show ----------------------------------------------------------------------------


def test_catalog_show_lists_the_types_and_one_types_form(cli: Cli) -> None:
    listed = cli.run("catalog", "show").stdout.splitlines()
    assert listed[0].startswith(f"{len(BUILTIN.types)} registration types; source: ")
    assert re.fullmatch(r"  US_TOLL_FREE_REGISTRATION +US toll-free number registration",
                        listed[5])  # fmt: skip
    assert listed[6].strip() == (
        "associations: TOLL_FREE (US) ASSOCIATE_BEFORE_SUBMIT, DISASSOCIATE_ALL_CLOSES_REGISTRATION"
    )

    form = cli.run("catalog", "show", REG_TYPE).stdout
    assert form.splitlines()[0] == f"{REG_TYPE}  US 10DLC brand registration"
    assert re.search(r"^  \* companyInfo\.taxId +TEXT +REQUIRED +Tax ID", form, re.M)
    assert "      text: 1-21 characters matching ^[A-Za-z0-9]+$\n" in form
    assert re.search(r"^  \? companyInfo\.stockSymbol +TEXT +CONDITIONAL +Stock symbol\n"
                     r"(      .*\n)*?      REQUIRED when companyInfo\.legalType EQUALS "
                     r"PUBLIC_PROFIT\n      OPTIONAL otherwise\n", form, re.M)  # fmt: skip
    assert "      choose 1 of: PRIVATE_PROFIT, PUBLIC_PROFIT, NON_PROFIT, GOVERNMENT\n" in form

    as_json = json.loads(cli.run("catalog", "show", REG_TYPE, "--json").stdout)
    definition = BUILTIN.type(REG_TYPE)
    assert as_json == {
        "RegistrationTypeDefinition": definition.to_api(),
        "RegistrationSectionDefinitions": [s.to_api() for s in definition.sections],
        "RegistrationFieldDefinitions": [f.to_api() for f in definition.fields],
    }
    every = json.loads(cli.run("catalog", "show", "--json").stdout)
    assert every["RegistrationTypeDefinitions"] == [t.to_api() for t in BUILTIN.types.values()]

    mine = cli.tmp / "mine.json"
    mine.write_text(json.dumps(CATALOG.to_json()))
    assert ATTACHED in cli.run("catalog", "show", "--catalog", str(mine)).stdout
    assert "NOPE" in usage_error(cli.run("catalog", "show", "NOPE"))
    assert "--catalog" in usage_error(cli.run("catalog", "show", "--catalog", "missing.json"))


# -- helpers ---------------------------------------------------------------------------------


def client(url: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("pinpoint-sms-voice-v2", endpoint_url=url)


@contextlib.contextmanager
def served_by_cli(env: dict[str, str], *args: str) -> Iterator[str]:
    """``registration-fsm emulator --port 0 ARGS`` in a subprocess; yields its URL."""
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "emulator", "--port", "0", *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=HANG):
                pytest.fail(f"the emulator printed nothing in {HANG:.0f} s")
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line), (line, proc.stderr)
        yield line
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(HANG)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


# -- the registration's own lifecycle, what was submitted ------------------------------------


def test_releasing_a_registrations_last_number_closes_it(
    cli: Cli, api: EmulatedRegistrationApi
) -> None:
    number = json.loads(cli.ok("emulator", "add-identity", "--number-type", "TOLL_FREE"))
    rid = api.create_registration("US_TOLL_FREE_REGISTRATION")["RegistrationId"]
    fill_form(api, rid)
    api.create_registration_association(rid, number["ResourceId"])
    api.submit_registration_version(rid)
    for trigger in ("begin_review", "approve"):
        api.advance(rid, trigger)
    released = json.loads(cli.ok("emulator", "release-identity", number["ResourceId"]))
    (event,) = released["Events"]
    assert (event["trigger"], event["source"], event["dest"]) == ("close", "COMPLETE", "CLOSED")
    assert event["details"] == {"resource_id": number["ResourceId"]}
    (info,) = api.describe_registrations(registration_ids=[rid])
    assert info["RegistrationStatus"] == "CLOSED"
    again = cli.api("emulator", "release-identity", number["ResourceId"])
    assert "does not exist" in one_line_error(again)
    assert "--type" in usage_error(cli.api("emulator", "add-identity", "--type", "bogus"))


def test_show_prints_what_each_version_submitted_and_the_diff(
    cli: Cli, api: EmulatedRegistrationApi
) -> None:
    rid = api.create_registration(REG_TYPE)["RegistrationId"]
    fill_form(api, rid)
    api.submit_registration_version(rid)
    for trigger, details in (("begin_review", {}), ("deny", {"feedback": "name"})):
        api.advance(rid, trigger, **details)
    api.create_registration_version(rid)
    fill_form(api, rid, text={"companyInfo.companyName": "Example Corporation Inc"})
    api.submit_registration_version(rid)
    cli.ok("sync", "--store", cli.store)  # sees v1 already DENIED: reads v2's values only
    assert "v1   field values not read" in cli.run("show", "--store", cli.store, "--fields").stdout
    cli.ok("sync", "--store", cli.store, "--full", "--field-values", "all")  # backfills v1

    shown = cli.run("show", "--store", cli.store, "--fields", rid).stdout
    assert re.search(r"v1 +\d+ field value\(s\), sha256:[0-9a-f]{64}", shown)
    assert "companyInfo.companyName: 'Example Corporation Inc'" in shown
    diff = cli.run("show", "--store", cli.store, "--diff", "1", "2", rid)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.splitlines() == [
        f"{rid}: v1 -> v2, 1 field(s) changed",
        "  changed companyInfo.companyName: 'Example Corp' -> 'Example Corporation Inc'",
    ]
    as_json = json.loads(cli.run("show", "--store", cli.store, "--diff", "1", "2", rid,
                                 "--json").stdout)  # fmt: skip
    assert as_json[0]["After"] == {
        "FieldPath": "companyInfo.companyName", "TextValue": "Example Corporation Inc"
    }  # fmt: skip
    assert "one registration" in usage_error(
        cli.run("show", "--store", cli.store, "--diff", "1", "2")
    )
    assert "has no version 3" in one_line_error(
        cli.run("show", "--store", cli.store, "--diff", "1", "3", rid)
    )


def test_the_emulator_provisions_the_types_named(env: dict[str, str]) -> None:
    with served_by_cli(env, "--provisioning", REG_TYPE) as url:
        sms = client(url)
        rid = sms.create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
        api = Boto3RegistrationApi(sms)
        fill_form(api, rid)
        sms.submit_registration_version(RegistrationId=rid)
        control = EmulatorClient(url)
        for trigger in ("begin_review", "approve"):
            control.advance(rid, trigger)
        assert status_of(sms, rid) == "PROVISIONING"
        (done,) = control.advance(rid, "complete_provisioning")
        assert (done.trigger, str(done.dest)) == ("complete_provisioning", "COMPLETE")
        assert status_of(sms, rid) == "COMPLETE"


def status_of(sms: Any, rid: str) -> str:
    status: str = sms.describe_registrations(RegistrationIds=[rid])["Registrations"][0][
        "RegistrationStatus"
    ]
    return status


def test_a_bad_policy_option_is_a_usage_error(env: dict[str, str]) -> None:
    assert EXE is not None
    for args in (["--allow-edge", "no_such_edge"], ["--provisioning", "bad type!"]):
        command = [EXE, "emulator", "--port", "0", *args]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=HANG, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert ("no optional edge" in done.stderr) or ("not a registration type" in done.stderr)


def test_a_registration_closed_by_aws_can_be_deleted(api: EmulatedRegistrationApi) -> None:
    number = api.add_origination_identity(number_type="TOLL_FREE")["ResourceId"]
    rid = api.create_registration("US_TOLL_FREE_REGISTRATION")["RegistrationId"]
    fill_form(api, rid)
    api.create_registration_association(rid, number)
    api.submit_registration_version(rid)
    for trigger in ("begin_review", "approve"):
        api.advance(rid, trigger)
    (event,) = api.advance(rid, "close", resource_id=number)
    assert (event.trigger, event.details) == ("close", {"resource_id": number})
    # CLOSED: "the phone number ... has been deleted and you must also delete the
    # registration": its number is gone, and nothing holds the delete back.
    assert list(api.list_registration_associations(rid)) == []
    assert api.delete_registration(rid)["RegistrationStatus"] == "DELETED"


def test_a_refused_submit_names_each_missing_field_once(cli: Cli) -> None:
    rid = client(cli.url).create_registration(RegistrationType=REG_TYPE)["RegistrationId"]
    line = one_line_error(cli.api("submit", "--registration-id", rid, "--store", cli.store))
    assert line.startswith("error: ApiValidationError: FIELD_VALIDATION_FAILED: ")
    assert line.endswith("(each: Missing required field)")
    assert line.count("companyInfo.companyName") == 1
