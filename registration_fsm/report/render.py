"""The report as HTML pages (Jinja2, autoescaped) and writing them safely.

Each page is self-contained: its CSS inline, each diagram an inline SVG, no
script, font or image to fetch; a Content-Security-Policy (``default-src 'none'``,
the one stylesheet by hash) makes the browser refuse anything else. Every value
from AWS or a user goes through Jinja2's autoescaping; the diagrams are Graphviz's
SVG with only SVG elements kept.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from registration_fsm.errors import InvalidArgument, MissingDependency
from registration_fsm.report.diagram import svg_markup, when
from registration_fsm.report.model import INDEX_PAGE, RegistrationView, Report

if TYPE_CHECKING:
    import jinja2

#: What :func:`write_report` writes: a directory of pages, or one registration's page.
Layout = Literal["directory", "file"]
HTML_SUFFIXES = (".html", ".htm")


@functools.cache
def _environment() -> jinja2.Environment:
    try:
        import jinja2
    except ImportError:
        raise MissingDependency(
            "the HTML report needs jinja2 (pip install 'jinja2>=3.1')"
        ) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("registration_fsm.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["days"] = _days
    return env


def _days(value: float) -> str:
    return f"{value:g} day" + ("" if value == 1 else "s")


@functools.cache
def _css() -> tuple[str, str]:
    """The stylesheet and its CSP source (``sha256-...``)."""
    text = (
        resources.files("registration_fsm.report")
        .joinpath("templates/report.css")
        .read_text(encoding="utf-8")
    )
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def _version() -> str:
    try:
        return metadata.version("registration-fsm")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _page(template: str, report: Report, **values: object) -> str:
    from markupsafe import Markup

    css, css_hash = _css()
    return (
        _environment()
        .get_template(template)
        .render(report=report, css=Markup(css), css_hash=css_hash, version=_version(), **values)
    )


def diagrams(reg: RegistrationView, *, executable: str | None = None) -> dict[int, str]:
    """Each version's diagram as inline SVG markup (runs Graphviz's ``dot``)."""
    from registration_fsm.diagrams.render import render_dot

    return {
        v.number: svg_markup(render_dot(v.dot, "svg", executable=executable), label=v.title)
        for v in reg.versions
    }


def render_registration(
    report: Report, reg: RegistrationView, *, index: str | None = INDEX_PAGE,
    executable: str | None = None,
) -> str:  # fmt: skip
    """One registration's page; ``index`` is the overview's address (None: no link)."""
    from markupsafe import Markup

    svgs = {n: Markup(svg) for n, svg in diagrams(reg, executable=executable).items()}
    return _page("registration.html", report, reg=reg, svgs=svgs, index=index)


def render_overview(report: Report) -> str:
    """The overview page, linking to each registration's page."""
    return _page("overview.html", report)


def render_pages(
    report: Report, layout: Layout = "directory", *, executable: str | None = None
) -> dict[str, str]:
    """File name to HTML: the overview and every registration's page (``"directory"``),
    or the one registration's page, without a link to an overview (``"file"``)."""
    if layout == "file":
        if len(report.registrations) != 1:
            raise InvalidArgument(
                f"a one-file report shows one registration; this one has "
                f"{len(report.registrations)} (write a directory instead)"
            )
        (reg,) = report.registrations
        return {reg.page: render_registration(report, reg, index=None, executable=executable)}
    pages = {INDEX_PAGE: render_overview(report)}
    for reg in report.registrations:
        pages[reg.page] = render_registration(report, reg, executable=executable)
    return pages


def layout_for(output: str | os.PathLike[str]) -> Layout:
    """``"file"`` for a path ending in .html/.htm that is not a directory, else ``"directory"``."""
    path = Path(output)
    if path.suffix.lower() in HTML_SUFFIXES and not (path.is_dir() and not path.is_symlink()):
        return "file"
    return "directory"


def write_report(
    report: Report,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
    executable: str | None = None,
) -> list[Path]:
    """Write the report to ``output`` (see :func:`layout_for`); returns the files written.

    Every page is rendered first, then written to a temporary file beside its target
    and renamed into place: a failure leaves no partial page and, when it happens
    before the renames, nothing changed. A new directory appears whole (built under
    a temporary name). An existing file is replaced only with ``force``; an output
    path (or a page in the directory) that is a symlink is refused, and so is
    replacing any path in ``protect`` (the store). Other files in an existing
    directory are left alone. Raises :class:`InvalidArgument` for those refusals and
    :class:`OSError` when the file system fails.
    """
    target = Path(output)
    layout = layout_for(target)
    pages = render_pages(report, layout, executable=executable)
    kept = [Path(p) for p in protect]
    if target.is_symlink():
        raise InvalidArgument(f"{target} is a symbolic link; refusing to write through it")
    if layout == "file":
        (html,) = pages.values()
        _check_target(target, force, kept)
        _replace_all({target: html})
        return [target]
    if target.exists() and not target.is_dir():
        raise InvalidArgument(
            f"{target} exists and is not a directory (a one-file report needs a .html name)"
        )
    if not target.exists():
        return _new_directory(target, pages)
    files = {target / name: html for name, html in pages.items()}
    for path in files:
        _check_target(path, force, kept)
    _replace_all(files)
    return sorted(files)


def _check_target(path: Path, force: bool, protect: list[Path]) -> None:
    if path.is_symlink():
        raise InvalidArgument(f"{path} is a symbolic link; refusing to write through it")
    if not path.exists():
        return
    if not path.is_file():
        raise InvalidArgument(f"{path} exists and is not a regular file")
    for kept in protect:
        if kept.exists() and path.samefile(kept):
            raise InvalidArgument(f"{path} is the store the report reads; refusing to replace it")
    if not force:
        raise InvalidArgument(f"{path} exists; use --force to replace it")


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (it must not exist; a symlink is not followed) with ``text``, synced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            fd = -1
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    finally:
        if fd >= 0:
            os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_all(files: Mapping[Path, str]) -> None:
    temps: dict[Path, Path] = {}
    try:
        for path, text in files.items():
            temp = temps[path] = _temp_name(path)
            _write_new(temp, text)
        for path, temp in temps.items():
            os.replace(temp, path)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    for parent in {p.parent for p in files}:
        _sync_dir(parent)


def _new_directory(target: Path, pages: Mapping[str, str]) -> list[Path]:
    parent = target.parent
    if not parent.is_dir():
        raise InvalidArgument(f"cannot create {target}: {parent} is not a directory")
    temp = _temp_name(target)
    os.mkdir(temp, 0o777)
    try:
        for name, html in pages.items():
            _write_new(temp / name, html)
        _sync_dir(temp)
        os.rename(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _sync_dir(parent)
    return sorted(target / name for name in pages)


__all__ = [
    "HTML_SUFFIXES",
    "Layout",
    "diagrams",
    "layout_for",
    "render_overview",
    "render_pages",
    "render_registration",
    "write_report",
]
