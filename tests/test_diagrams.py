"""Diagrams: the text matches LIFECYCLE, and the real Mermaid and Graphviz accept it.

Mermaid text is parsed by the Mermaid library under Node (tools/mermaid-check);
DOT is rendered by Graphviz ``dot``. Without them these tests skip, unless
REGISTRATION_FSM_REQUIRE_TOOLS is set (CI), where a missing tool fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from helpers import REG_ARN, REG_ID, REG_TYPE, TickingClock

from registration_fsm import (
    LIFECYCLE,
    InvalidArgument,
    InvalidArgumentType,
    LifecyclePolicy,
    Registration,
    RegistrationError,
    RegistrationStatus,
    RegistrationVersion,
    VersionStatus,
)
from registration_fsm.diagrams import DrawnEdge, build_model, render, to_dot, to_mermaid
from registration_fsm.errors import GraphvizNotFound, RenderError

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "tools" / "mermaid-check"
REQUIRED = os.environ.get("REGISTRATION_FSM_REQUIRE_TOOLS", "") not in ("", "0")
STAR = "[*]"
SVG = "{http://www.w3.org/2000/svg}"
Rel = tuple[str, str, str]


def _missing(what: str, how: str) -> None:
    message = f"{what} is not installed ({how})"
    if REQUIRED:
        pytest.fail(f"REGISTRATION_FSM_REQUIRE_TOOLS is set but {message}")
    pytest.skip(message)


class Mermaid:
    """The real Mermaid parser (tools/mermaid-check/parse.mjs) in one Node process."""

    def __init__(self, proc: subprocess.Popen[str], stderr: IO[bytes]) -> None:
        self.proc, self.stderr = proc, stderr

    def parse(self, text: str) -> dict[str, Any]:
        """What Mermaid parsed: states, relations and classes, or an ``error``."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(text) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            self.stderr.seek(0)
            pytest.fail(f"the Mermaid checker died: {self.stderr.read().decode()}")
        result: dict[str, Any] = json.loads(line)
        return result


@pytest.fixture(scope="module")
def mermaid() -> Iterator[Mermaid]:
    node = shutil.which("node")
    if node is None or not (CHECKER / "node_modules" / "mermaid").is_dir():
        _missing("Node or the Mermaid checker", "npm ci --prefix tools/mermaid-check")
    command = [str(node), str(CHECKER / "parse.mjs"), "--lines"]
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, encoding="utf-8"
        ) as proc,
    ):
        yield Mermaid(proc, stderr)


def expected_relations() -> list[Rel]:
    """LIFECYCLE's edges, read straight from the table, plus the terminal exits."""
    out: list[Rel] = []
    for e in LIFECYCLE:
        label = e.trigger if e.when is None else f"{e.trigger} ({e.when})"
        out.append((STAR if e.source is None else str(e.source), str(e.dest), label))
    out += [(str(s), STAR, "") for s in LIFECYCLE.terminal]
    return sorted(out)


def parsed_graph(result: dict[str, Any]) -> tuple[set[str], list[Rel]]:
    """(state ids, sorted relations) with [*] for Mermaid's start and end states."""
    kinds = {s["id"]: s["kind"] for s in result["states"]}
    name = {i: (STAR if k in ("start", "end") else i) for i, k in kinds.items()}
    states = {i for i, k in kinds.items() if k == "state"}
    rels = sorted((name[r["from"]], name[r["to"]], r["label"]) for r in result["relations"])
    return states, rels


def mermaid_problems(mermaid: Mermaid, text: str) -> list[str]:
    """Why Mermaid's reading of ``text`` differs from LIFECYCLE (empty: it matches)."""
    result = mermaid.parse(text)
    if "error" in result:
        return [f"Mermaid refused it: {result['error']}"]
    states, rels = parsed_graph(result)
    problems = [f"diagram type {result['diagramType']}"] * (result["diagramType"] != "stateDiagram")
    want_states = {str(s) for s in VersionStatus}
    problems += [f"missing state {s}" for s in sorted(want_states - states)]
    problems += [f"extra state {s!r}" for s in sorted(states - want_states)]
    want = expected_relations()
    problems += [f"missing edge {r}" for r in want if r not in rels]
    problems += [f"extra edge {r}" for r in rels if r not in want]
    if len(rels) != len(want):
        problems.append(f"{len(rels)} edges, expected {len(want)}")
    return problems


def approved_registration(clock: TickingClock) -> Registration:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    for trigger in ("submit", "begin_review", "require_authentication", "authenticate"):
        reg.fire(trigger, clock=clock)
    reg.fire("approve", clock=clock)
    return reg


def with_status(version: RegistrationVersion, status: str) -> RegistrationVersion:
    data = {**version.to_api(), "RegistrationVersionStatus": status}
    return RegistrationVersion.from_api(data, registration_id=REG_ID, registration_arn=REG_ARN)


# -- the model -------------------------------------------------------------


def test_model_draws_each_lifecycle_edge_once_and_marks_flags() -> None:
    model = build_model()
    assert [e.edge for e in model.edges] == list(LIFECYCLE.edges)
    assert all(isinstance(e, DrawnEdge) for e in model.edges)
    assert [s.id for s in model.states if s.initial] == ["DRAFT"]
    assert {s.id for s in model.states if s.terminal} == {str(s) for s in LIFECYCLE.terminal}
    checks = {(e.source, e.edge.trigger): e.guards for e in model.edges}
    assert checks["SUBMITTED", "discard"] == ("current version", "registration open")
    assert checks["DRAFT", "discard"] == ("current version", "registration open", "off by policy")
    assert checks["DRAFT", "submit"] == ("current version", "registration open")
    assert checks["REVIEWING", "approve"] == ("registration open",)  # AWS's: any version
    assert checks[None, "create"] == ()
    assert [e.edge for e in model.edges if not e.enabled] == [e for e in LIFECYCLE if e.optional]
    initiators = {e.edge.trigger: e.initiator for e in model.edges}
    assert {t for t, i in initiators.items() if i == "customer"} == {
        "create", "submit", "authenticate", "discard",
    }  # fmt: skip
    assert not any(s.current or s.visited for s in model.states)


def test_the_policy_drawn_turns_optional_edges_on() -> None:
    assert all(e.enabled for e in build_model(policy=LifecyclePolicy.permissive()).edges)
    policy = LifecyclePolicy.allow_draft_discard()
    model = build_model(policy=policy)
    off = [e.edge for e in model.edges if not e.enabled]
    assert off == [e for e in LIFECYCLE if e.optional and e.name != "draft_discard"]
    draft_discard = next(
        e for e in model.edges if (e.source, e.edge.trigger) == ("DRAFT", "discard")
    )
    assert draft_discard.guards[-1] == "on by policy"
    text = to_mermaid(show_guards=True, policy=policy)
    assert "DRAFT --> DISCARDED: discard [current version, registration open, on by policy]" in text
    assert "on by policy" in to_dot(show_guards=True, policy=policy)
    assert "off by policy" in to_dot(show_guards=True)
    assert to_mermaid(policy=policy) == to_mermaid()  # without show_guards, the same picture


def test_highlight_orders_history_by_time_and_numbers_the_path(clock: TickingClock) -> None:
    model = build_model(approved_registration(clock))
    path = sorted((e.step, e.source, e.dest) for e in model.edges if e.step is not None)
    assert path == [
        (1, None, "DRAFT"),
        (2, "DRAFT", "SUBMITTED"),
        (3, "SUBMITTED", "REQUIRES_AUTHENTICATION"),  # the first REVIEWING stamp was overwritten
        (4, "REQUIRES_AUTHENTICATION", "REVIEWING"),
        (5, "REVIEWING", "APPROVED"),
    ]
    assert [s.id for s in model.states if s.current] == ["APPROVED"]


def test_highlight_fills_an_unstamped_status_from_the_lifecycle(clock: TickingClock) -> None:
    reg = Registration.new(REG_ID, REG_ARN, REG_TYPE, clock=clock)
    for trigger in ("submit", "begin_review", "require_offline_review"):
        reg.fire(trigger, clock=clock)
    model = build_model(reg.current_version)
    on_path = {(e.source, e.dest) for e in model.edges if e.on_path}
    assert ("REVIEWING", "REQUIRES_OFFLINE_REVIEW") in on_path
    assert model.state("REQUIRES_OFFLINE_REVIEW").current


def test_unknown_status_becomes_an_extra_state(clock: TickingClock) -> None:
    version = with_status(approved_registration(clock).current_version, "NEW-THING 2")
    state = build_model(version).state("NEW-THING 2")
    assert (state.known, state.current, state.label) == (
        False,
        True,
        "NEW-THING 2 (unknown status)",
    )
    assert re.fullmatch(r"[A-Za-z_]\w*", state.id)


def test_highlight_rejects_other_objects() -> None:
    with pytest.raises(InvalidArgumentType, match="highlight") as info:
        to_mermaid(highlight="DRAFT")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


# -- Mermaid, parsed by the real library -----------------------------------


def test_mermaid_parses_to_exactly_the_lifecycle(mermaid: Mermaid) -> None:
    assert mermaid_problems(mermaid, to_mermaid()) == []


def test_mermaid_options_keep_the_graph_and_show_up_in_labels(
    mermaid: Mermaid, clock: TickingClock
) -> None:
    reg = approved_registration(clock)
    text = to_mermaid(show_guards=True, show_initiator=True, show_inferred=True, highlight=reg)
    result = mermaid.parse(text)
    states, rels = parsed_graph(result)
    assert states == {str(s) for s in VersionStatus}
    assert sorted((a, b) for a, b, _ in rels) == sorted((a, b) for a, b, _ in expected_relations())
    labels = {(a, b): label for a, b, label in rels}
    assert labels["SUBMITTED", "DISCARDED"] == (
        "«customer» discard [current version, registration open]"
    )
    assert labels["DRAFT", "DISCARDED"] == (
        "«customer» discard [current version, registration open, off by policy] (inferred)"
    )
    assert labels["REVIEWING", "REQUIRES_OFFLINE_REVIEW"] == (
        "«AWS» require_offline_review [registration open] (inferred)"
    )
    assert labels["REVIEWING", "APPROVED"] == "(5) «AWS» approve [registration open] (inferred)"
    assert labels["APPROVED", "ARCHIVED"] == "«AWS» archive [registration open]"
    classes = {s["id"]: s["classes"] for s in result["states"]}
    assert classes["APPROVED"] == ["current"]
    visited = {i for i, c in classes.items() if c == ["visited"]}
    assert visited == {"DRAFT", "SUBMITTED", "REQUIRES_AUTHENTICATION", "REVIEWING"}
    assert set(result["classes"]) == {"current", "visited"}


def test_mermaid_shows_an_unknown_status_as_a_node(mermaid: Mermaid, clock: TickingClock) -> None:
    version = with_status(approved_registration(clock).current_version, 'odd-"status"; x')
    result = mermaid.parse(to_mermaid(highlight=version))
    extra = [s for s in result["states"] if s["label"].endswith("(unknown status)")]
    assert [(s["label"], s["classes"]) for s in extra] == [
        ("odd-'status', x (unknown status)", ["current"])
    ]
    states, _ = parsed_graph(result)
    assert len(states) == len(build_model().states) + 1


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        # transitions-style id with a dash: Mermaid refuses it
        ("REQUIRES_AUTHENTICATION", "REQUIRES-AUTHENTICATION", "Mermaid refused it"),
        # an id with a space parses silently into two states and a wrong edge
        ("REVIEWING --> APPROVED", "IN REVIEW --> APPROVED", "extra state 'IN'"),
        # a dropped line parses fine: only the comparison notices
        ("    REVIEWING --> DENIED: deny\n", "", "missing edge ('REVIEWING', 'DENIED', 'deny')"),
        # ';' ends a statement, so the rest of a label becomes states
        ("ARCHIVED: archive", "ARCHIVED: archive; purge", "extra state 'purge'"),
    ],
)
def test_a_broken_mermaid_diagram_is_detected(
    mermaid: Mermaid, old: str, new: str, problem: str
) -> None:
    text = to_mermaid()
    assert old in text
    assert mermaid_problems(mermaid, text) == []
    problems = mermaid_problems(mermaid, text.replace(old, new))
    assert any(p.startswith(problem) for p in problems), problems


def _doc_blocks() -> list[str]:
    doc = (ROOT / "docs" / "diagrams.md").read_text(encoding="utf-8")
    return re.findall(r"```mermaid\n(.*?)```", doc, flags=re.DOTALL)


def test_docs_embed_the_default_diagrams() -> None:
    assert _doc_blocks() == [
        to_mermaid(),
        to_mermaid(show_guards=True, show_initiator=True, show_inferred=True),
        to_mermaid(level="registration", show_inferred=True),
    ]


def test_every_mermaid_block_in_the_docs_parses(mermaid: Mermaid) -> None:
    assert mermaid_problems(mermaid, _doc_blocks()[0]) == []
    for block in _doc_blocks()[1:]:
        assert "error" not in mermaid.parse(block)


# -- Graphviz ----------------------------------------------------------------


def _require_dot() -> None:
    if shutil.which("dot") is None:
        _missing("Graphviz dot", "apt-get install graphviz")


def _svg_graph(svg: bytes) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """({node id: label}, {(source, dest): label}) read back from Graphviz's SVG."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        text = " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        if g.get("class") == "node":
            nodes[title] = text
        elif g.get("class") == "edge":
            source, dest = title.split("->")
            edges[source, dest] = text
    return nodes, edges


def test_dot_renders_every_state_and_edge_to_svg(clock: TickingClock) -> None:
    _require_dot()
    odd = 'NEW "THING" \\N <b>&'  # quotes, a DOT escape and markup survive
    version = with_status(approved_registration(clock).current_version, odd)
    nodes, edges = _svg_graph(render("svg", show_guards=True, highlight=version))
    unknown = build_model(version).state(odd).id
    assert set(nodes) == {str(s) for s in VersionStatus} | {"__start__", unknown}
    assert all(nodes[str(s)] == str(s) for s in VersionStatus)
    assert nodes[unknown] == f"{odd} (unknown status)"
    want = {(a.replace(STAR, "__start__"), b, label) for a, b, label in expected_relations()}
    want = {w for w in want if w[1] != STAR}  # DOT draws terminal states with a double border
    assert set(edges) == {(a, b) for a, b, _ in want}
    assert len(edges) == len(want)
    for a, b, label in want:
        assert label in edges[a, b]
    assert edges["SUBMITTED", "DISCARDED"] == "discard [current version, registration open]"
    assert edges["REVIEWING", "APPROVED"] == "(5) approve [registration open]"


def test_dot_marks_initiator_and_inferred_edges() -> None:
    _require_dot()
    text = to_dot(show_initiator=True, show_inferred=True)
    assert text.count('style="dashed"') == sum(1 for e in LIFECYCLE if not e.documented)
    svg = render("svg", show_initiator=True, show_inferred=True).decode()
    assert "stroke-dasharray" in svg
    assert "blue: customer, orange: AWS" in svg


def test_png_render_gives_png_bytes() -> None:
    _require_dot()
    assert render("png").startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_graphviz_is_a_clear_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GraphvizNotFound, match=r"apt-get install graphviz") as info:
        render("svg", executable="/nonexistent/bin/dot")
    assert isinstance(info.value, RegistrationError)
    monkeypatch.setenv("REGISTRATION_FSM_DOT", "no-such-dot-executable")
    with pytest.raises(GraphvizNotFound, match="no-such-dot-executable"):
        render("png")


def test_failing_dot_and_bad_format_are_reported() -> None:
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' executable")
    with pytest.raises(RenderError, match="failed with status 1"):
        render("svg", executable=false)
    with pytest.raises(InvalidArgument, match="format"):
        render("pdf")  # type: ignore[arg-type]


# -- the registration's statuses (level="registration") --------------------------------------


def expected_registration_relations() -> list[Rel]:
    """Every change of registration status, from the tables: create, the graph, the exits."""
    out: list[Rel] = [(STAR, "CREATED", "create")]
    for e in LIFECYCLE.registration_graph():
        source = "ANY_STATUS" if e.source is None else str(e.source)
        out.append((source, str(e.dest), e.label))
    out.append(("DELETED", STAR, ""))
    return sorted(out)


def test_the_registration_model_draws_the_tables() -> None:
    model = build_model(level="registration")
    assert model.level == "registration"
    assert [e.edge for e in model.edges[1:]] == list(LIFECYCLE.registration_graph())
    assert (model.edges[0].source, model.edges[0].dest, model.edges[0].label) == (
        None, "CREATED", "create",
    )  # fmt: skip
    assert [s.status for s in model.states] == [*map(str, RegistrationStatus), "(any)"]
    assert [s.id for s in model.states if s.initial] == ["CREATED"]
    assert [s.id for s in model.states if s.terminal] == ["DELETED"]
    assert [s.id for s in model.states if s.pseudo] == ["ANY_STATUS"]
    off = {(e.source, e.label, e.dest) for e in model.edges if not e.enabled}
    assert ("REVIEWING", "provision", "PROVISIONING") in off  # the default: no provisioning
    assert ("PROVISIONING", "complete_provisioning", "COMPLETE") in off
    assert ("CREATED", "discard", "REQUIRES_UPDATES") in off  # DRAFT discard: optional
    assert ("REVIEWING", "approve", "COMPLETE") not in off
    guards = {(e.source, e.label): e.guards for e in model.edges}
    assert guards["REVIEWING", "provision"] == ("with approve", "provisioning off")
    assert guards["CREATED", "submit"] == ("current version",)
    everything = LifecyclePolicy.permissive(provisioning=True)
    on = build_model(level="registration", policy=everything)
    assert {(e.source, e.label) for e in on.edges if not e.enabled} == {
        ("REVIEWING", "approve"), ("REQUIRES_AUTHENTICATION", "approve"),  # every type provisions
    }  # fmt: skip
    assert on.edges[0].guards == ()


def test_the_registration_model_highlights_a_registration(clock: TickingClock) -> None:
    reg = approved_registration(clock)
    model = build_model(reg, level="registration")
    assert [s.id for s in model.states if s.current] == ["COMPLETE"]
    assert not any(e.on_path for e in model.edges)
    odd = Registration.from_api(
        reg.to_api() | {"RegistrationStatus": "ON HOLD"}, reg.versions_to_api()
    )
    state = build_model(odd, level="registration").state("ON HOLD")
    assert (state.known, state.current, state.label) == (False, True, "ON HOLD (unknown status)")
    with pytest.raises(InvalidArgumentType, match="highlight a Registration"):
        build_model(reg.current_version, level="registration")
    with pytest.raises(InvalidArgument, match="level must be one of version, registration"):
        to_mermaid(level="everything")  # type: ignore[arg-type]


def test_mermaid_parses_the_registration_diagram_to_exactly_the_tables(
    mermaid: Mermaid, clock: TickingClock
) -> None:
    result = mermaid.parse(to_mermaid(level="registration"))
    assert "error" not in result, result
    states, rels = parsed_graph(result)
    assert states == {str(s) for s in RegistrationStatus} | {"ANY_STATUS"}
    assert rels == expected_registration_relations()
    reg = approved_registration(clock)
    text = to_mermaid(
        level="registration", show_guards=True, show_initiator=True, show_inferred=True,
        highlight=reg,
    )  # fmt: skip
    result = mermaid.parse(text)
    labels = {(a, b, label) for a, b, label in parsed_graph(result)[1]}
    assert ("CLOSED", "DELETED", "«customer» delete") in labels
    assert ("ANY_STATUS", "DELETED", "«customer» delete (inferred)") in labels
    assert (
        "REVIEWING", "PROVISIONING", "«AWS» provision [with approve, provisioning off] (inferred)",
    ) in labels  # fmt: skip
    classes = {s["id"]: s["classes"] for s in result["states"]}
    assert classes["COMPLETE"] == ["current"]
    labels_of = {s["id"]: s["label"] for s in result["states"]}
    assert labels_of["ANY_STATUS"] == "any other status"


def _svg_edges(svg: bytes) -> list[tuple[str, str, str]]:
    """Every (source, dest, label) Graphviz drew, duplicates kept."""
    out = []
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") == "edge":
            source, dest = (g.findtext(f"{SVG}title") or "").split("->")
            out.append((source, dest, " ".join(t.text or "" for t in g.iter(f"{SVG}text"))))
    return sorted(out)


def test_dot_renders_the_registration_diagram() -> None:
    _require_dot()
    svg = render("svg", level="registration")
    nodes, _ = _svg_graph(svg)
    assert set(nodes) == {str(s) for s in RegistrationStatus} | {"ANY_STATUS", "__start__"}
    assert nodes["ANY_STATUS"] == "any other status"
    want = [
        (a.replace(STAR, "__start__"), b, label)
        for a, b, label in expected_registration_relations()
        if b != STAR
    ]
    assert _svg_edges(svg) == sorted(want)
    text = to_dot(level="registration", show_inferred=True)
    assert text.startswith("digraph registration_lifecycle {")
    assert text.count('style="dashed"') == sum(
        1 for e in (*LIFECYCLE.registration_graph(),) if not e.documented
    )
    assert '"ANY_STATUS" [label="any other status", style="rounded,dashed"]' in text
    assert render("png", level="registration").startswith(b"\x89PNG")
