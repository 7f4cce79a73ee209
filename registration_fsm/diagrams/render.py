"""Render the lifecycle to SVG or PNG with the Graphviz ``dot`` executable."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Literal

from registration_fsm.diagrams.dot import to_dot
from registration_fsm.domain.lifecycle import DEFAULT_POLICY, LifecyclePolicy
from registration_fsm.errors import GraphvizNotFound, InvalidArgument, RenderError

if TYPE_CHECKING:
    from registration_fsm.diagrams.model import Highlight, Level

Format = Literal["svg", "png"]
FORMATS: tuple[Format, ...] = ("svg", "png")

#: Environment variable naming the ``dot`` executable (default: ``dot`` on PATH).
DOT_ENV = "REGISTRATION_FSM_DOT"
INSTALL_HINT = (
    "install the Graphviz system package (Debian/Ubuntu: apt-get install graphviz; "
    "Fedora: dnf install graphviz; macOS: brew install graphviz), "
    f"or point {DOT_ENV} at the dot executable (pip cannot install it); "
    "to_dot() and to_mermaid() do not need it"
)


def find_dot(executable: str | None = None) -> str:
    """The path of ``dot``: ``executable``, else ``$REGISTRATION_FSM_DOT``, else PATH."""
    wanted = executable or os.environ.get(DOT_ENV) or "dot"
    found = shutil.which(wanted)
    if found is None:
        raise GraphvizNotFound(wanted, INSTALL_HINT)
    return found


def render_dot(
    dot_text: str, format: Format, *, executable: str | None = None, timeout: float = 60
) -> bytes:
    """Run ``dot -T<format>`` on DOT text and return its output."""
    if format not in FORMATS:
        raise InvalidArgument(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    dot = find_dot(executable)
    try:
        done = subprocess.run(
            [dot, f"-T{format}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GraphvizNotFound(dot, INSTALL_HINT) from None
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RenderError(f"cannot run {dot}: {err}") from err
    if done.returncode != 0 or not done.stdout:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(
            f"{dot} -T{format} failed with status {done.returncode}: {stderr}",
            returncode=done.returncode,
        )
    return done.stdout


def render(
    format: Format = "svg",
    *,
    show_guards: bool = False,
    show_initiator: bool = False,
    show_inferred: bool = False,
    highlight: Highlight = None,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    executable: str | None = None,
    level: Level = "version",
) -> bytes:
    """The lifecycle diagram as SVG or PNG bytes (options as for :func:`to_dot`).

    Raises :class:`GraphvizNotFound` if ``dot`` is not installed, and
    :class:`RenderError` if it fails.
    """
    text = to_dot(
        show_guards=show_guards,
        show_initiator=show_initiator,
        show_inferred=show_inferred,
        highlight=highlight,
        policy=policy,
        level=level,
    )
    return render_dot(text, format, executable=executable)


__all__ = [
    "DOT_ENV",
    "FORMATS",
    "Format",
    "find_dot",
    "render",
    "render_dot",
]
