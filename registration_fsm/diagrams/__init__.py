"""Diagrams of the version lifecycle: Mermaid and DOT text, SVG/PNG via Graphviz.

All three read :data:`~registration_fsm.LIFECYCLE` and take the same options:
``show_guards``, ``show_initiator``, ``show_inferred``, ``highlight`` (a version
or a registration) and ``policy``. Only :func:`render` needs Graphviz. Their
errors (``DiagramError``, ``GraphvizNotFound``, ``RenderError``) are in
:mod:`registration_fsm.errors`.
"""

from registration_fsm.diagrams.dot import to_dot
from registration_fsm.diagrams.mermaid import to_mermaid
from registration_fsm.diagrams.model import DiagramModel, DrawnEdge, State, build_model
from registration_fsm.diagrams.render import render

__all__ = [
    "DiagramModel",
    "DrawnEdge",
    "State",
    "build_model",
    "render",
    "to_dot",
    "to_mermaid",
]
