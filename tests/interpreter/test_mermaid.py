"""``dee plan graph``: the Mermaid flowchart shows every way a run can go, and no text
from a plan can break it."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from interpreter import ExecutionPlan, parse_plan
from interpreter.mermaid import LABEL_CHARS, days_text, to_mermaid

from .helpers import load_example

# A node: our id, an opening shape, a quoted label, the closing shape.
_NODE = re.compile(r'^ +([sx]\d+)(\[|\{\{|\{|\(\[)"([^"]*)"(\]|\}\}|\}|\]\))$')
_EDGE = re.compile(r'^ +(s\d+) -->(?:\|"([^"]*)"\|)? (s\d+)$')
_GROUP = re.compile(r'^ +subgraph exitOn\["([^"]*)"\]$')
# What a label may hold: plain characters, entity codes and our own line breaks.
_LABEL = re.compile(r"^(?:[A-Za-z0-9 .,:_\-+*/=!?'@$^~()]|#\d+;|<br/>)*$")
_SHAPES = {"[": "]", "{{": "}}", "{": "}", "([": "])"}


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, str | None, str]]]:
    """Nodes (id -> label) and edges (from, label, to); fails on any line it cannot read."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str | None, str]] = []
    for line in lines[1:]:
        if node := _NODE.match(line):
            node_id, opens, label, closes = node.groups()
            assert _SHAPES[opens] == closes, line
            assert node_id not in nodes, line
            nodes[node_id] = label
        elif edge := _EDGE.match(line):
            edges.append((edge[1], edge[2], edge[3]))
        elif group := _GROUP.match(line):
            nodes["exitOn"] = group[1]
        else:
            assert line.strip() in ("end", "direction TB"), line
    for label in [*nodes.values(), *(e[1] for e in edges if e[1] is not None)]:
        assert _LABEL.match(label), label
        assert label.strip(), "Mermaid refuses an empty label"
    for src, _, dst in edges:
        assert src in nodes and dst in nodes, (src, dst)
    return nodes, edges


def decode(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label).replace("<br/>", "\n")


def test_every_example_plan_is_a_well_formed_flowchart() -> None:
    for name in (
        "sales-sequence.yaml",
        "collections-sequence.yaml",
        "notification.yaml",
        "sales-await-reply.yaml",
    ):
        plan = load_example(name)
        nodes, edges = parse(to_mermaid(plan))
        steps = [n for n in nodes if n.startswith("s")]
        assert len(steps) == len(plan.steps)
        assert {decode(nodes[n]).split("\n")[0] for n in steps} == {s.id for s in plan.steps}
        assert edges


def test_wait_for_event_has_a_labelled_edge_for_the_event_and_for_the_timeout() -> None:
    nodes, edges = parse(to_mermaid(load_example("sales-await-reply.yaml")))
    by_id = {decode(label).split("\n")[0]: n for n, label in nodes.items()}
    out = {decode(label or ""): dst for src, label, dst in edges if src == by_id["await-click"]}
    assert out == {
        'event: events.hasClick("intro-email")': by_id["warm-follow-up"],
        "timeout: 3d": by_id["next-morning"],
    }
    assert decode(nodes[by_id["next-morning"]]) == "next-morning\nwait until 09:30 mon-fri"
    assert "window 09:00-17:00 mon-fri" in decode(nodes[by_id["intro-email"]])


def test_exit_rules_are_listed_in_their_own_group_in_order() -> None:
    nodes, _ = parse(to_mermaid(load_example("collections-sequence.yaml")))
    rules = [decode(nodes[n]) for n in sorted(n for n in nodes if n.startswith("x"))]
    assert rules[0] == "on email.replied → exit engaged"
    assert rules[1] == "on voice.answered at first-call → exit engaged"
    assert rules[2].startswith('when events.hasBounce("reminder-email") && ')
    assert rules[2].endswith("... → exit unreachable")
    assert "exitOn" in nodes
    assert "exitOn" not in to_mermaid(load_example("notification.yaml"))


def test_weekday_runs_are_shortened() -> None:
    assert days_text(("mon", "tue", "wed", "thu", "fri")) == "mon-fri"
    assert days_text(("sun", "sat", "mon")) == "mon,sat,sun"
    assert days_text(("mon", "tue", "thu", "fri", "sat")) == "mon,tue,thu-sat"
    assert days_text(None) == "daily"


def _hostile_plan(text: str) -> ExecutionPlan:
    # Only the shape matters to the diagram: free text wherever a plan has free text.
    doc: dict[str, Any] = {
        "id": "p",
        "version": 1,
        "name": text,
        "metadata": {"createdAt": "2026-01-01", "createdBy": "t"},
        "exitOn": [{"event": text, "step": text, "when": text, "outcome": text}],
        "steps": [
            {"type": "sendEmail", "id": "a", "templateId": text, "subject": text},
            {
                "type": "waitForEvent",
                "id": "w",
                "until": text,
                "timeout": {"days": 1},
                "onEvent": "b",
                "onTimeout": "e",
            },
            {"type": "branch", "id": "b", "conditions": [{"when": text, "goto": "e"}]},
            {"type": "end", "id": "e", "outcome": text},
        ],
    }
    return parse_plan(doc, source="hostile")


_ATTACKS = [
    '"]; click s0 "javascript:alert(1)"',
    "a|b --> s9\nend\n%%{init: {'theme': 'dark'}}%%",
    "#quot; #35; <script>x</script> `md` \u202e\u0000",
    " \t\n",  # Mermaid refuses an empty label: a blank condition is a plain edge
]


@given(st.one_of(st.sampled_from(_ATTACKS), st.text(max_size=80)))
def test_no_text_from_a_plan_can_change_the_diagram(text: str) -> None:
    nodes, edges = parse(to_mermaid(_hostile_plan(text)))
    assert len(nodes) == 6 and len(edges) == 4  # 4 steps, 1 rule, its group
    shown = " ".join(text.split())
    if len(shown) <= LABEL_CHARS:  # short text is shown whole, and exactly
        (branch_edge,) = [label for src, label, _ in edges if src == "s2"]
        assert decode(branch_edge or "") == shown


def test_a_plan_not_yet_validated_is_drawn_as_it_stands() -> None:
    doc = load_example("sales-await-reply.yaml").to_document()
    next_morning = next(s for s in doc["steps"] if s["id"] == "next-morning")
    del next_morning["until"]
    nodes, _ = parse(to_mermaid(parse_plan(doc, source="draft")))
    assert "next-morning\nwait: no duration or until" in {decode(v) for v in nodes.values()}
