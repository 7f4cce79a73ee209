"""The HTML evidence report: what it reads from a store, the pages, and how it writes them.

The store is made the way a user's is: the emulator (with the shipped forms), a
Synchronizer and ``fill_form``, so the pages show real field values, denials and
diffs. Rendering the diagrams needs Graphviz's ``dot``: without it those tests skip,
unless REGISTRATION_FSM_REQUIRE_TOOLS is set (CI). The pages in a real browser:
tests/test_report_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from helpers import TickingClock

from registration_fsm import (
    Catalog,
    EmulatedRegistrationApi,
    InvalidArgument,
    LifecyclePolicy,
    NotTracked,
    Registration,
    SQLiteStore,
    Synchronizer,
    fill_form,
)
from registration_fsm.audit import append_checkpoint, generate_keypair
from registration_fsm.cli import main
from registration_fsm.errors import GraphvizNotFound
from registration_fsm.report import Report, build_report, render_pages, write_report
from registration_fsm.report import render as render_module
from registration_fsm.report.diagram import svg_markup
from registration_fsm.report.model import page_names

REQUIRED = os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0")
BRAND = "US_TEN_DLC_BRAND_REGISTRATION"
NAME = "companyInfo.companyName"
#: What the hostile registration puts in every field a user or AWS controls.
EVIL = "<script>window.__pwned=1</script>"
#: The report's "now": three weeks after the story (which starts 2026-01-01).
NOW = datetime(2026, 1, 22, tzinfo=UTC)
#: Seconds a child process may take before the test calls it hung (never reached when it works).
HANG = 120.0


def needs_dot() -> None:
    if shutil.which(os.environ.get("REGISTRATION_FSM_DOT", "dot")) is None:
        if REQUIRED:
            pytest.fail("REGISTRATION_FSM_REQUIRE_TOOLS is set but Graphviz dot is missing")
        pytest.skip("Graphviz dot is not installed (apt-get install graphviz)")


@attrs.frozen
class Story:
    """A store holding one registration of each kind, and their ids."""

    path: Path
    approved: str  # denied, fixed in v2, approved
    pending: str  # submitted, in review
    discarded: str  # submitted, then discarded by carol
    hostile: str  # markup in every value a user or AWS gives
    draft: str  # created, never submitted

    @property
    def ids(self) -> list[str]:
        return sorted([self.approved, self.pending, self.discarded, self.hostile, self.draft])


def write_story(path: Path) -> Story:
    """Fill a new store at ``path`` the way a user would, against the emulator."""
    clock = TickingClock()
    emu = EmulatedRegistrationApi(catalog=Catalog.builtin(), seed=1, clock=clock)
    with SQLiteStore(path) as store:
        syncer = Synchronizer(emu, store, clock=clock)
        approved = syncer.create(
            BRAND, actor="ann", reason="new brand", metadata={"ticket": "CHG-1"}
        ).id
        fill_form(emu, approved)
        syncer.submit(approved, actor="ann", reason="first try", metadata={"ticket": "CHG-1"})
        emu.advance(approved, "begin_review")
        emu.advance(
            approved, "deny",
            denied_reasons=[{"Reason": "BRAND_MISMATCH",
                             "ShortDescription": "The name does not match the EIN",
                             "DocumentationLink": "https://docs.aws.amazon.com/sms-voice/"}],
            feedback="Use the legal name on the EIN letter",
        )  # fmt: skip
        syncer.sync([approved])
        syncer.create_version(approved, actor="ann", reason="fix the name")
        fill_form(emu, approved, text={NAME: "Example Corporation Inc"})
        syncer.submit(
            approved, actor="bob", reason="name as on the EIN letter",
            metadata={"approved_by": "carol"},
        )  # fmt: skip
        emu.advance(approved, "begin_review")
        emu.advance(approved, "approve")
        syncer.sync([approved])

        pending = syncer.create(BRAND, actor="dan").id
        fill_form(emu, pending)
        syncer.submit(pending, actor="dan")
        emu.advance(pending, "begin_review")
        syncer.sync([pending])

        discarded = syncer.create(BRAND, actor="erin").id
        fill_form(emu, discarded)
        syncer.submit(discarded, actor="erin")
        syncer.discard(
            discarded, actor="carol", reason="wrong EIN", metadata={"approved_by": "bob"}
        )

        hostile = syncer.create(BRAND, actor=EVIL, reason=EVIL, metadata={"note": EVIL}).id
        fill_form(emu, hostile, text={NAME: EVIL})
        syncer.submit(hostile, actor="eve", reason="</td></tr></table>" + EVIL)
        emu.advance(hostile, "begin_review")
        emu.advance(
            hostile, "deny",
            denied_reasons=[{"Reason": EVIL, "ShortDescription": EVIL,
                             "DocumentationLink": "javascript:window.__pwned=2"}],
            feedback=EVIL,
        )  # fmt: skip
        syncer.sync([hostile])

        draft = syncer.create(BRAND, actor="fay").id
    return Story(path, approved, pending, discarded, hostile, draft)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """The story's store, made once for the module (tests copy it before changing it)."""
    return write_story(tmp_path_factory.mktemp("story") / "store.db")


@pytest.fixture
def store_copy(story: Story, tmp_path: Path) -> Story:
    """A copy of the story's store this test may change."""
    target = tmp_path / "store.db"
    shutil.copyfile(story.path, target)
    return attrs.evolve(story, path=target)


def report_of(story: Story, **options: object) -> Report:
    with SQLiteStore(story.path, read_only=True) as store:
        return build_report(store, now=NOW, store_name=str(story.path), **options)  # type: ignore[arg-type]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- what the report reads ------------------------------------------------------------


def test_every_event_is_on_the_timeline_with_who_when_why_and_metadata(story: Story) -> None:
    report = report_of(story)
    assert [r.id for r in report.registrations] == story.ids
    with SQLiteStore(story.path, read_only=True) as store:
        for reg in report.registrations:
            stored = list(store.events_with_seq(reg.id))
            assert [(e.seq, e.time, e.trigger) for e in reg.events] == [
                (s.seq, s.event.timestamp, s.event.trigger) for s in stored
            ]
    (approved,) = [r for r in report.registrations if r.id == story.approved]
    rows = [(e.subject, e.change, e.who, e.origin, e.reason, e.metadata) for e in approved.events]
    assert rows == [
        ("v1", "(new) → DRAFT", "ann", "command", "new brand", (("ticket", "CHG-1"),)),
        ("v1", "DRAFT → SUBMITTED", "ann", "command", "first try", (("ticket", "CHG-1"),)),
        ("v1", "SUBMITTED → REVIEWING", "aws", "seen by sync", None, ()),
        ("v1", "REVIEWING → DENIED", "aws", "seen by sync", None, ()),
        ("v2", "(new) → DRAFT", "ann", "command", "fix the name", ()),
        ("v2", "DRAFT → SUBMITTED", "bob", "command", "name as on the EIN letter",
         (("approved_by", "carol"),)),
        ("v2", "SUBMITTED → REVIEWING", "aws", "seen by sync", None, ()),
        ("v2", "REVIEWING → APPROVED", "aws", "seen by sync", None, ()),
    ]  # fmt: skip
    deny = approved.events[3]
    assert ("denied reason", "BRAND_MISMATCH: The name does not match the EIN") in deny.details
    assert ("feedback", "Use the legal name on the EIN letter") in deny.details
    submit = approved.events[1]
    assert [label for label, _ in submit.details] == ["fields digest"]
    assert submit.details[0][1].startswith("sha256:")


def test_versions_show_their_values_the_diff_and_whether_the_digest_matches(
    story: Story,
) -> None:
    (approved,) = [r for r in report_of(story).registrations if r.id == story.approved]
    v1, v2 = approved.versions
    assert (v1.status, v2.status, v2.current) == ("DENIED", "APPROVED", True)
    assert [d.reason for d in v1.denied] == ["BRAND_MISMATCH"]
    assert v1.denied[0].documentation_link == "https://docs.aws.amazon.com/sms-voice/"
    assert v1.feedback == "Use the legal name on the EIN letter"
    assert v1.fields is not None
    assert ("companyInfo.companyName", "text", "Example Corp") in [
        (f.path, f.kind, f.value) for f in v1.fields
    ]
    assert v1.digest_matches is True
    assert v2.digest_matches is True
    assert (v1.diff_from, v1.diff) == (None, None)
    assert v2.diff_from == 1
    assert v2.diff is not None
    assert [(c.path, c.kind, c.before, c.after) for c in v2.diff] == [
        (NAME, "changed", "Example Corp", "Example Corporation Inc")
    ]
    assert v1.path == ("DRAFT", "SUBMITTED", "REVIEWING", "DENIED")
    (draft,) = [r for r in report_of(story).registrations if r.id == story.draft]
    assert draft.versions[0].fields is None  # a DRAFT's values are not read by a sync


def test_a_digest_that_does_not_match_the_submit_event_is_flagged(store_copy: Story) -> None:
    with SQLiteStore(store_copy.path) as store:
        stored = store.get(store_copy.approved)
        assert stored is not None
        reg = stored.registration
        values = reg.field_values(1)
        assert values is not None
        reg.keep_field_values(1, values.without(NAME))
        store.save(reg)
    (approved,) = [r for r in report_of(store_copy).registrations if r.id == store_copy.approved]
    assert approved.versions[0].digest_matches is False


def test_the_overview_counts_statuses_stale_reviews_and_denials(story: Story) -> None:
    report = report_of(story, stale_days=14)
    assert dict(report.counts) == {
        "COMPLETE": 1, "REVIEWING": 1, "REQUIRES_UPDATES": 2, "CREATED": 1,
    }  # fmt: skip
    (review,) = report.open_reviews
    assert (review.registration_id, review.version) == (story.pending, 1)
    assert review.status == "REVIEWING"
    assert review.since.date() == datetime(2026, 1, 1, tzinfo=UTC).date()
    assert 20 < review.days_open < 21
    assert report.stale_reviews == (review,)
    assert report_of(story, stale_days=30).stale_reviews == ()
    denials = {d.reason: (d.count, [r for r, _ in d.registrations]) for d in report.denials}
    assert denials == {"BRAND_MISMATCH": (1, [story.approved]), EVIL: (1, [story.hostile])}


def test_a_named_registration_only_and_one_the_store_lacks(story: Story) -> None:
    with SQLiteStore(story.path, read_only=True) as store:
        report = build_report(store, [story.pending], now=NOW)
        assert [r.id for r in report.registrations] == [story.pending]
        with pytest.raises(NotTracked, match=r"registration-0+"):
            build_report(store, ["registration-" + "0" * 32], now=NOW)
        with pytest.raises(InvalidArgument, match="stale_days"):
            build_report(store, stale_days=-1)


def test_page_names_are_safe_unique_and_never_the_overview() -> None:
    ids = ["registration-abc", "index", "INDEX", "reg:with/slash", "Reg-A", "reg-a"]
    names = page_names(ids)
    assert names["registration-abc"] == "registration-abc.html"
    assert len({n.casefold() for n in names.values()}) == len(ids)
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.html", name), name
        assert name.casefold() != "index.html"


# -- the diagram ---------------------------------------------------------------------


def test_the_diagram_has_a_title_the_path_with_times_and_refused_edges(story: Story) -> None:
    (approved,) = [r for r in report_of(story).registrations if r.id == story.approved]
    dot = approved.versions[1].dot
    assert f'label="{story.approved}, version 2 (APPROVED)\\nDRAFT → SUBMITTED' in dot
    path = [line for line in dot.splitlines() if "on-path" in line]
    assert len(path) == 4
    assert all(re.search(r"\\n2026-01-01 \d\d:\d\d:\d\d UTC", line) for line in path), path
    refused = [line for line in dot.splitlines() if "refused" in line]
    assert any('"DRAFT" -> "DISCARDED"' in line and "off by policy" in line for line in refused)
    assert all('style="dotted"' in line for line in refused)
    allowing = report_of(story, policy=LifecyclePolicy.allow_draft_discard())
    (again,) = [r for r in allowing.registrations if r.id == story.approved]
    assert not any(
        '"DRAFT" -> "DISCARDED"' in line and "refused" in line
        for line in again.versions[1].dot.splitlines()
    )
    assert allowing.policy == "draft_discard"


def test_the_svg_keeps_the_path_classes_and_the_title(story: Story) -> None:
    needs_dot()
    report = report_of(story)
    (approved,) = [r for r in report.registrations if r.id == story.approved]
    svgs = render_module.diagrams(approved)
    assert set(svgs) == {1, 2}
    svg = svgs[2]
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert len(re.findall(r'<g id="edge\d+" class="edge[^"]*on-path', svg)) == 4
    assert "version 2 (APPROVED)" in svg
    assert re.search(r'class="edge[^"]*refused', svg)


def test_svg_markup_keeps_svg_only() -> None:
    hostile = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        b'onload="alert(1)"><script>alert(2)</script><g onclick="alert(3)"><title>t</title>'
        b'<a xlink:href="https://example.com/x"><text>x</text></a><a xlink:href="#ok"/>'
        b"<foreignObject><div>x</div></foreignObject><image href='https://e.com/i.png'/></g></svg>"
    )
    out = svg_markup(hostile, label='a "label" <b>')
    for gone in ("onload", "onclick", "script", "alert", "example.com", "foreignObject", "image"):
        assert gone not in out, gone
    assert 'href="#ok"' in out
    assert 'aria-label="a &quot;label&quot; &lt;b&gt;"' in out


# -- the pages -----------------------------------------------------------------------


def test_every_value_is_escaped_and_the_pages_load_nothing(story: Story) -> None:
    needs_dot()
    pages = render_pages(report_of(story))
    assert len(pages) == 1 + len(story.ids)
    for name, html in pages.items():
        assert "<script" not in html.lower(), name
        assert not re.search(r"\s(src|srcset|data|poster)=", html), name
        assert "<link" not in html
        assert "@import" not in html
        assert "url(" not in html, name
        for href in re.findall(r'href="([^"]*)"', html):
            assert href.startswith(("https://", "#")) or re.fullmatch(r"[\w.-]+\.html", href), href
        style = re.search(r"<style>(.*?)</style>", html, re.S)
        assert style is not None
        csp = re.search(r'Content-Security-Policy" content="([^"]*)"', html)
        assert csp is not None
        expected = hashlib.sha256(style[1].encode()).digest()
        assert f"'sha256-{base64.b64encode(expected).decode()}'" in csp[1]
        assert "default-src 'none'" in csp[1]
    hostile = pages[f"{story.hostile}.html"]
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in hostile
    assert hostile.count("&lt;script&gt;window.__pwned=1") >= 8  # actor, reason, note, field...
    assert 'href="javascript:' not in hostile
    assert "javascript:window.__pwned=2" in hostile  # shown as text, not a link
    overview = pages["index.html"]
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in overview  # the denial reason


def test_an_unknown_status_with_markup_is_escaped_in_the_diagram_too(store_copy: Story) -> None:
    needs_dot()
    weird = "<b onmouseover=x>PENDING</b>"
    with SQLiteStore(store_copy.path) as store:
        stored = store.get(store_copy.pending)
        assert stored is not None
        versions = stored.registration.versions_to_api()
        versions[-1]["RegistrationVersionStatus"] = weird
        reg = Registration.from_api(stored.registration.to_api(), versions)
        store.save(reg)
    report = report_of(store_copy)
    (pending,) = [r for r in report.registrations if r.id == store_copy.pending]
    html = render_pages(report)[pending.page]
    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover=x&gt;PENDING&lt;/b&gt; (unknown status)" in html


def test_the_audit_verdict_and_a_tampered_trail(store_copy: Story) -> None:
    needs_dot()
    report = report_of(store_copy)
    assert report.audit.ok
    assert report.audit.records == report.event_count
    assert "Verified" in render_pages(report)["index.html"]
    conn = sqlite3.connect(store_copy.path)
    with conn:
        conn.execute("UPDATE events SET event = replace(event, 'wrong EIN', 'routine cleanup')")
    conn.close()
    tampered = report_of(store_copy)
    assert not tampered.audit.ok
    assert tampered.audit.first_bad is not None
    assert "content was changed" in tampered.audit.summary
    page = render_pages(tampered)[f"{store_copy.discarded}.html"]
    assert "Verification FAILED" in page
    assert "routine cleanup" in page  # shown, and flagged above


def test_a_signed_checkpoint_anchors_the_trail_and_marks_what_it_covers(
    store_copy: Story, tmp_path: Path
) -> None:
    needs_dot()
    keys = tmp_path / "audit.pem", tmp_path / "audit.pub"
    key = generate_keypair(*keys)
    checkpoints = tmp_path / "checkpoints.jsonl"
    at = datetime(2026, 1, 2, 9, tzinfo=UTC)
    with SQLiteStore(store_copy.path, read_only=True) as store:
        append_checkpoint(store, keys[0], checkpoints, clock=lambda: at)
    with SQLiteStore(store_copy.path) as store:  # one more event, after the checkpoint
        stored = store.get(store_copy.draft)
        assert stored is not None
        reg = stored.registration
        event = reg.submit(actor="fay", clock=TickingClock(datetime(2026, 1, 3, tzinfo=UTC)))
        store.save(reg, [event])
    report = report_of(store_copy, public_key=keys[1], checkpoints=checkpoints)
    audit = report.audit
    assert (audit.ok, audit.anchored, audit.records, audit.covered_records) == (True, True, 20, 19)
    assert audit.checkpoint is not None
    assert (audit.checkpoint.number, audit.checkpoint.key_id, audit.checkpoint.time) == (1, key, at)
    covered = {e.seq: e.covered for r in report.registrations for e in r.events}
    assert covered == {seq: seq <= 19 for seq in range(1, 21)}
    pages = render_pages(report)
    assert (
        "Anchored</strong> by signed checkpoint 1, covering records 1\N{EN DASH}19"
        in pages["index.html"]
    )
    assert f'with key <span class="mono wrap">{key}</span>' in pages["index.html"]
    assert "Records 20\N{EN DASH}20 came after it" in pages["index.html"]
    draft = next(r for r in report.registrations if r.id == store_copy.draft)
    assert '<tr class="event uncovered" id="event-20">' in pages[draft.page]
    assert "No signed checkpoint checked" in render_pages(report_of(store_copy))["index.html"]


def test_a_rewrite_the_checkpoint_catches_is_shown_as_tampered(
    store_copy: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_dot()
    keys = tmp_path / "audit.pem", tmp_path / "audit.pub"
    generate_keypair(*keys)
    checkpoints = tmp_path / "checkpoints.jsonl"
    with SQLiteStore(store_copy.path, read_only=True) as store:
        append_checkpoint(store, keys[0], checkpoints)
    conn = sqlite3.connect(store_copy.path)  # drop the last record and fix up the head
    with conn:
        conn.execute("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
        conn.execute(
            "UPDATE audit_head SET seq = (SELECT max(seq) FROM events), "
            "hash = (SELECT hash FROM events ORDER BY seq DESC LIMIT 1)"
        )
    conn.close()
    out = tmp_path / "evidence"
    code, _, err = run(capsys, "--store", str(store_copy.path), "--output", str(out),
                       "--public-key", str(keys[1]), "--checkpoints", str(checkpoints))  # fmt: skip
    assert code == 0, err
    assert "audit trail: TAMPERED at record 19: the trail ends at record 18" in err
    page = (out / "index.html").read_text()
    assert "Verification FAILED" in page
    assert "Not anchored" in page
    code, _, err = run(capsys, "--store", str(store_copy.path), "--output", str(out),
                       "--public-key", str(keys[1]))  # fmt: skip
    assert code == 2
    assert "--public-key and --checkpoints go together" in err
    code, _, err = run(capsys, "--store", str(store_copy.path), "--output", str(out),
                       "--public-key", str(keys[1]), "--checkpoints", str(keys[1]))  # fmt: skip
    assert code == 2
    assert "not a checkpoint file" in err


def test_without_graphviz_the_error_says_how_to_install_it(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRATION_FSM_DOT", "/nonexistent/dot")
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        render_pages(report_of(story))


def test_importing_the_report_loads_neither_jinja2_nor_a_browser() -> None:
    code = (
        "import sys, registration_fsm.report, registration_fsm.cli.report\n"
        "print(sorted(m for m in ('jinja2', 'markupsafe', 'playwright') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- writing it ------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_writes_a_directory_and_replaces_it_only_with_force(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_dot()
    before = digest(story.path)
    out = tmp_path / "evidence"
    code, _, err = run(capsys, "--store", str(story.path), "--output", str(out))
    assert code == 0, err
    assert err.splitlines() == [f"wrote {out} (6 pages)", "audit trail: intact: 19 records"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html", *(f"{i}.html" for i in story.ids)]
    )
    assert digest(story.path) == before
    first = (out / "index.html").read_text()
    code, _, err = run(capsys, "--store", str(story.path), "--output", str(out))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"Error: Invalid value for --output: {out / 'index.html'} exists; use --force to replace it"
    )
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "--store", str(story.path), "--output", str(out),
                       "--stale-days", "0", "--force")  # fmt: skip
    assert code == 0, err
    assert (out / "index.html").read_text() != first  # the stale review is listed now
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_one_registration_to_one_file(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_dot()
    target = tmp_path / "one.html"
    code, _, err = run(capsys, "--store", str(story.path), "--output", str(target))
    assert code == 2
    assert "a one-file report shows one registration" in err
    assert not target.exists()
    code, _, err = run(capsys, "--store", str(story.path), "--registration", story.approved,
                       "--output", str(target))  # fmt: skip
    assert code == 0, err
    html = target.read_text()
    assert f"Registration {story.approved}: evidence" in html
    assert "all registrations" not in html  # no overview to link to
    unknown = "registration-" + "0" * 32
    code, _, err = run(capsys, "--store", str(story.path), "--registration", unknown,
                       "--output", str(tmp_path / "two.html"))  # fmt: skip
    assert (code, err) == (1, f"Error: registration registration-{'0' * 32} is not in "
                              f"{story.path}\n")  # fmt: skip


def test_symlinks_and_the_store_itself_are_refused(
    store_copy: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_dot()
    store = str(store_copy.path)
    victim = tmp_path / "victim.html"
    victim.write_text("keep")
    (tmp_path / "link.html").symlink_to(victim)
    code, _, err = run(capsys, "--store", store, "--registration", store_copy.draft,
                       "--output", str(tmp_path / "link.html"), "--force")  # fmt: skip
    assert code == 2
    assert "is a symbolic link" in err
    assert victim.read_text() == "keep"
    (tmp_path / "realdir").mkdir()
    (tmp_path / "dirlink").symlink_to(tmp_path / "realdir")
    code, _, err = run(capsys, "--store", store, "--output", str(tmp_path / "dirlink"))
    assert code == 2
    assert "is a symbolic link" in err
    assert not list((tmp_path / "realdir").iterdir())
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "index.html").symlink_to(victim)
    code, _, err = run(capsys, "--store", store, "--output", str(inside), "--force")
    assert code == 2
    assert "index.html is a symbolic link" in err
    assert victim.read_text() == "keep"
    assert [p.name for p in inside.iterdir()] == ["index.html"]
    as_html = tmp_path / "store.html"
    shutil.copyfile(store_copy.path, as_html)
    before = digest(as_html)
    code, _, err = run(capsys, "--store", str(as_html), "--registration", store_copy.draft,
                       "--output", str(as_html), "--force")  # fmt: skip
    assert code == 2
    assert "is the store the report reads" in err
    assert digest(as_html) == before
    code, _, err = run(capsys, "--store", store, "--output", store, "--force")
    assert code == 2
    assert "exists and is not a directory" in err


def test_a_failed_write_leaves_what_was_there(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    needs_dot()
    out = tmp_path / "evidence"
    report = report_of(story)
    write_report(report, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = render_module._write_new
    calls = []

    def failing(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(render_module, "_write_new", failing)
    with pytest.raises(OSError, match="No space left"):
        write_report(attrs.evolve(report, stale_days=0.0), out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp file left
    calls.clear()
    fresh = tmp_path / "fresh"
    code, _, err = run(capsys, "--store", str(story.path), "--output", str(fresh))
    assert code == 1
    assert err.startswith("Error: cannot write ")
    assert err.endswith(": No space left on device\n")
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["evidence"]


def test_a_missing_or_foreign_store_is_one_line_and_never_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, "--store", str(missing), "--output", str(tmp_path / "out"))
    assert (code, err) == (1, f"Error: no store at {missing}\n")
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = run(capsys, "--store", str(empty), "--output", str(tmp_path / "out"))
    assert code == 1
    assert err.count("\n") == 1
    assert "not a registration store" in err
    assert empty.read_bytes() == b""
    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 100)
    code, _, err = run(capsys, "--store", str(text), "--output", str(tmp_path / "out"))
    assert code == 1
    assert err.count("\n") == 1
    assert "file is not a database" in err
    assert not (tmp_path / "out").exists()


@pytest.fixture
def read_only_dir(store_copy: Story) -> Path:
    """The story's store in a directory mounted read-only (a private mount namespace)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to mount a directory read-only")
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", "mount --bind / /mnt"],
        capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()}")
    return store_copy.path.parent


def test_the_report_reads_a_store_in_a_read_only_directory(
    read_only_dir: Path, store_copy: Story, tmp_path_factory: pytest.TempPathFactory
) -> None:
    needs_dot()
    out = tmp_path_factory.mktemp("elsewhere") / "evidence"
    before = digest(store_copy.path)
    script = (
        f'mount --bind "{read_only_dir}" "{read_only_dir}" && '
        f'mount -o remount,bind,ro "{read_only_dir}" && '
        f'if touch "{read_only_dir}/probe" 2>/dev/null; then echo writable; exit 9; fi; '
        f'exec "{sys.executable}" -m registration_fsm.cli report '
        f'--store "{store_copy.path}" --output "{out}"'
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail: intact" in done.stderr
    assert (out / "index.html").is_file()
    assert digest(store_copy.path) == before
