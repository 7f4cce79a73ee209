"""The evidence report in a real headless Chromium (Debian's ``chromium``), through
Playwright with the system browser (``executable_path``: nothing is downloaded).

Each page is loaded from a file:// URL; any console error, page error, failed
request or request for anything but the page itself fails the test. The tests check
the key elements, follow the links, print a page to PDF and save a screenshot of
every page (PNG) in a directory they print; with REGISTRATION_FSM_SAVE_SCREENSHOTS
set (to a directory, or 1 for docs/img) they copy them there as report-*.png.
Without Chromium, Playwright or Graphviz these tests skip saying how to install
them, unless REGISTRATION_FSM_REQUIRE_TOOLS is set (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from test_report import EVIL, NOW, REQUIRED, Story, needs_dot, write_story

from registration_fsm import SQLiteStore
from registration_fsm.report import Report, build_report, write_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

ROOT = Path(__file__).resolve().parent.parent
#: The Chromium executable (default: ``chromium``, then ``chromium-browser``, on PATH).
CHROMIUM_ENV = "REGISTRATION_FSM_CHROMIUM"
SCREENSHOTS_ENV = "REGISTRATION_FSM_SAVE_SCREENSHOTS"
#: Milliseconds any browser step may take before the test calls it hung: generous for
#: a loaded machine, and never reached when the page works.
HANG_MS = 120_000
#: The pages the tests load, by the story's name for them.
KINDS = ("index", "approved", "pending", "discarded", "hostile", "draft")


def _missing(what: str, how: str) -> None:
    message = f"{what} is not installed ({how})"
    if REQUIRED:
        pytest.fail(f"REGISTRATION_FSM_REQUIRE_TOOLS is set but {message}")
    pytest.skip(message)


def find_chromium() -> str | None:
    """The Chromium to drive: $REGISTRATION_FSM_CHROMIUM, else chromium on PATH."""
    for name in (os.environ.get(CHROMIUM_ENV), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found is not None:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    needs_dot()
    executable = find_chromium()
    if executable is None:
        _missing("Chromium", "apt-get install chromium, or scripts/install-chromium as root")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright", "pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, timeout=HANG_MS)
        yield launched
        launched.close()


@attrs.frozen
class Site:
    """The report of the story, written to a directory."""

    story: Story
    report: Report
    directory: Path

    def page_of(self, kind: str) -> Path:
        if kind == "index":
            return self.directory / "index.html"
        reg_id = getattr(self.story, kind)
        (reg,) = [r for r in self.report.registrations if r.id == reg_id]
        return self.directory / reg.page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    needs_dot()
    story = write_story(tmp_path_factory.mktemp("story") / "store.db")
    with SQLiteStore(story.path, read_only=True) as store:
        report = build_report(store, now=NOW, stale_days=14, store_name="store.db")
    directory = tmp_path_factory.mktemp("site") / "evidence"
    write_report(report, directory)
    return Site(story, report, directory)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (printed by each test that saves one)."""
    return tmp_path_factory.mktemp("report-screenshots")


@attrs.define
class Loaded:
    """A page loaded in the browser, and everything that went wrong while loading it."""

    page: Page
    problems: list[str] = attrs.field(factory=list)


OpenPage = Callable[[Path], Loaded]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """``open_page(path) -> Loaded``: a new tab that records console errors, page errors,
    failed requests and any request besides the page's own file."""
    contexts = []

    def load(path: Path) -> Loaded:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(HANG_MS)
        loaded = Loaded(page)
        url = path.as_uri()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                loaded.problems.append(f"console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: loaded.problems.append(f"page error: {error}"))
        page.on(
            "requestfailed",
            lambda request: loaded.problems.append(
                f"failed request {request.url}: {request.failure}"
            ),
        )
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith("file://") and request.is_navigation_request()
                else loaded.problems.append(f"the page requested {request.url}")
            ),
        )
        page.goto(url, wait_until="load")
        return loaded

    yield load
    for context in contexts:
        context.close()


def save_screenshot(page: Page, directory: Path, kind: str) -> Path:
    path = directory / f"report-{kind}.png"
    page.screenshot(path=str(path), full_page=True)
    wanted = os.environ.get(SCREENSHOTS_ENV, "")
    if wanted not in ("", "0"):
        target = ROOT / "docs" / "img" if wanted == "1" else Path(wanted)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_each_page_loads_clean_and_shows_its_evidence(
    site: Site, open_page: OpenPage, screenshots: Path, kind: str,
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    loaded = open_page(site.page_of(kind))
    page = loaded.page
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    if kind == "index":
        assert page.title() == "Registration evidence report"
        rows = page.locator("table.registrations tbody tr.registration")
        assert rows.count() == len(site.story.ids)
        assert page.locator("#audit-verdict").inner_text().startswith("Verified: intact")
        stale = page.locator("tr.stale-review")
        assert stale.count() == 1
        assert site.story.pending in stale.inner_text()
        assert EVIL in page.locator("#denials").inner_text()  # shown as text
    else:
        reg_id = getattr(site.story, kind)
        (reg,) = [r for r in site.report.registrations if r.id == reg_id]
        assert page.title() == f"Registration {reg_id}: evidence"
        assert page.locator("#timeline tbody tr.event").count() == len(reg.events)
        diagrams = page.locator("figure.diagram svg")
        assert diagrams.count() == len(reg.versions)
        for number, version in enumerate(reg.versions):
            svg = diagrams.nth(number)
            steps = sum("on-path" in line for line in version.dot.splitlines())
            assert steps >= len(version.path)
            assert svg.locator("g.edge.on-path").count() == steps
            assert svg.locator("g.node.current").count() == 1
            assert f"version {version.number} ({version.status})" in (svg.text_content() or "")
            assert svg.bounding_box() is not None  # laid out, visible
        if kind == "hostile":
            timeline = page.locator("#timeline").inner_text()
            assert timeline.count(EVIL) >= 3  # the actor, the reason, the note: as text
            assert EVIL in page.locator("table.fields").inner_text()
            assert page.locator("a[href^='javascript:']").count() == 0
        if kind == "approved":
            assert "Example Corporation Inc" in page.locator("table.diff").inner_text()
            assert page.locator(".denial").inner_text().startswith("BRAND_MISMATCH")
    path = save_screenshot(page, screenshots, kind)
    record_property("screenshot", str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert loaded.problems == []


def test_the_links_lead_to_each_registration_and_back(site: Site, open_page: OpenPage) -> None:
    loaded = open_page(site.page_of("index"))
    page = loaded.page
    links = page.locator("table.registrations a")
    assert links.count() == len(site.story.ids)
    for number in range(links.count()):
        link = page.locator("table.registrations a").nth(number)
        reg_id = link.inner_text()
        link.click()
        page.wait_for_load_state("load")
        assert page.title() == f"Registration {reg_id}: evidence"
        page.locator("header.page nav a").click()
        page.wait_for_load_state("load")
        assert page.title() == "Registration evidence report"
    assert loaded.problems == []


def test_a_page_prints_to_pdf(site: Site, open_page: OpenPage, screenshots: Path) -> None:
    loaded = open_page(site.page_of("approved"))
    page = loaded.page
    page.emulate_media(media="print")
    assert page.locator("header.page nav").is_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000
    assert pdf.count(b"/Type /Page") > 1 or pdf.count(b"/Type/Page") > 1  # several pages
    (screenshots / "report-approved.pdf").write_bytes(pdf)
    save_screenshot(page, screenshots, "approved-print")
    assert loaded.problems == []


def test_the_page_policy_stops_a_script_escaping_would_have_missed(
    site: Site, open_page: OpenPage, tmp_path: Path
) -> None:
    html = site.page_of("approved").read_text(encoding="utf-8")
    injected = html.replace(
        "</main>",
        "<script>window.__pwned = 1</script><img src='https://example.invalid/x.png'></main>",
    )
    assert injected != html
    page_path = tmp_path / "injected.html"
    page_path.write_text(injected, encoding="utf-8")
    loaded = open_page(page_path)
    assert loaded.page.evaluate("typeof window.__pwned") == "undefined"
    blocked = [p for p in loaded.problems if "Content Security Policy" in p]
    assert len(blocked) >= 2, loaded.problems  # the script and the image, both refused
    # Playwright reports the image as requested, then failed: blocked by the policy
    # before anything left the machine.
    assert "failed request https://example.invalid/x.png: csp" in loaded.problems
