"""Diagrams of the version lifecycle: Mermaid and DOT text, SVG/PNG via Graphviz.

All three read :data:`~registration_fsm.domain.lifecycle.LIFECYCLE` and take the
same options: ``show_guards``, ``show_cause``, ``show_inferred`` and
``highlight`` (a version or a registration). Only :func:`render` needs Graphviz.
"""

from registration_fsm.diagrams.dot import to_dot
from registration_fsm.diagrams.mermaid import to_mermaid
from registration_fsm.diagrams.model import DiagramModel, Edge, State, build_model
from registration_fsm.diagrams.render import (
    DiagramError,
    GraphvizNotFound,
    RenderError,
    render,
)

__all__ = [
    "DiagramError",
    "DiagramModel",
    "Edge",
    "GraphvizNotFound",
    "RenderError",
    "State",
    "build_model",
    "render",
    "to_dot",
    "to_mermaid",
]
