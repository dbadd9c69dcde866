"""Issue 18, items 7 and 9: documented limits on every identifier and text, and sizes.

The attacks: a step id of 300 characters and an outcome of 2,000 passed validation and
failed later, outside the audit (the audit's columns are 255 and 1,000 characters); NUL
and bidi controls in ids and outcomes; a 10,000-step plan took 20 s to validate and a
30,000-step one 330 s. Each is refused by validation now, naming plan, step, field and
the limit; the size is refused first, and every graph check is linear (asserted by
counting the edge look-ups in ``tests/bench_checks/test_validate_scale.py``, not by a
clock: the timings are ``bench/validate_speed.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from interpreter import Limits, PlanError, parse_plan, validate
from interpreter import limits as L

from .helpers import SALES_REGISTRY, load_example

SALES = load_example("sales-sequence.yaml")
Doc = dict[str, Any]


def sales_doc() -> Doc:
    return copy.deepcopy(SALES.to_document())


def rename_step(doc: Doc, old: str, new: str) -> None:
    """Rename a step of the sales plan everywhere it is named."""
    for step in doc["steps"]:
        if step["id"] == old:
            step["id"] = new
        for cond in step.get("conditions", ()):
            cond["goto"] = new if cond["goto"] == old else cond["goto"]
            cond["when"] = cond["when"].replace(f'"{old}"', f'"{new}"')
    for t in doc["transitions"]:
        t["from"] = new if t["from"] == old else t["from"]
        t["to"] = new if t["to"] == old else t["to"]


def problems_of(doc: Doc) -> list[tuple[str | None, str, str]]:
    plan = parse_plan(doc, source="attack.yaml")
    return [(p.step, p.field, p.message) for p in validate(plan, registry=SALES_REGISTRY)]


# --- item 7: the two attacks of the issue ------------------------------------------------


def test_a_300_character_step_id_is_refused_at_validation() -> None:
    long_id = "s" * 300  # letters only: the step-id pattern alone would let it through
    doc = sales_doc()
    rename_step(doc, "end-sequence", long_id)
    assert problems_of(doc) == [
        (long_id, "id", "a step id is 300 characters long; the limit is 100"),
    ]
    plan = parse_plan(doc, source="attack.yaml")
    [problem] = validate(plan, registry=SALES_REGISTRY)
    # Printed shortened, so an error line stays readable.
    assert str(problem) == (
        "sales-sequence: step '" + "s" * 60 + "… (300 characters)': id: "
        "a step id is 300 characters long; the limit is 100"
    )


def test_a_2000_character_outcome_is_refused_at_validation() -> None:
    doc = sales_doc()
    doc["steps"][6]["outcome"] = "r" * 2_000
    assert problems_of(doc) == [
        ("end-sequence", "outcome", "the outcome is 2000 characters long; the limit is 200"),
    ]


def test_ids_and_outcomes_at_their_limits_are_valid() -> None:
    doc = sales_doc()
    rename_step(doc, "end-sequence", "e" * L.STEP_ID)
    doc["steps"][6]["outcome"] = "o" * L.OUTCOME
    doc["id"] = "p" * L.PLAN_ID
    assert problems_of(doc) == []


CONTROL = "control, line-separator or bidirectional control characters"


@pytest.mark.parametrize(
    ("where", "value", "step", "field", "found"),
    [
        (("steps", 6, "outcome"), "replied\x00", "end-sequence", "outcome", "a NUL character"),
        (
            ("steps", 6, "outcome"),
            "rep\u202elied",
            "end-sequence",
            "outcome",
            "a bidirectional control character (U+202E) at position 4",
        ),
        (("steps", 6, "outcome"), "a\u2066b", "end-sequence", "outcome", "(U+2066)"),
        (("steps", 6, "outcome"), "a\u200fb", "end-sequence", "outcome", "(U+200F)"),
        (("steps", 6, "outcome"), "two\nlines", "end-sequence", "outcome", "a line break"),
        (("steps", 6, "outcome"), "a\x85b", "end-sequence", "outcome", "a control character"),
        (("id",), "sales\x00sequence", None, "id", "a NUL character"),
        (("name",), "Sales \u202eoutreach", None, "name", "(U+202E)"),
        (("metadata", "createdBy"), "ops\x1b[31m", None, "metadata.createdBy", "(U+001B)"),
        (("metadata", "description"), "a\x00b", None, "metadata.description", "a NUL"),
        (("steps", 0, "templateId"), "tmpl\u2067x", "intro-email", "templateId", "(U+2067)"),
        (("steps", 0, "subject"), "Hi\r\nBcc: x@example.com", "intro-email", "subject", "line"),
        (("steps", 0, "replyTo"), "sa\u202eles@example.com", "intro-email", "replyTo", "bidi"),
        (("steps", 5, "scriptId"), "script\x00", "follow-up-call", "scriptId", "a NUL"),
        (("transitions", 2, "condition"), "rep\nlied", None, "transitions[2].condition", "line"),
    ],
)
def test_control_and_bidi_characters_are_refused_naming_the_field(
    where: Sequence[str | int], value: str, step: str | None, field: str, found: str
) -> None:
    doc = sales_doc()
    target: Any = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    plan = parse_plan(doc, source="attack.yaml")
    problems = validate(plan, registry=SALES_REGISTRY)
    mine = [p for p in problems if (p.step, p.field) == (step, field)]
    assert mine, [str(p) for p in problems]
    fragment = "bidirectional control character" if found == "bidi" else found
    assert any(fragment in p.message and CONTROL in p.message for p in mine), mine
    for problem in problems:  # printed escaped: no raw control reaches a terminal
        assert not any(ch in str(problem) for ch in ("\x00", "\u202e", "\x1b", "\u2067"))


@pytest.mark.parametrize("step_id", ["a\x00b", "a\u202eb", "a\nb"])
def test_step_ids_with_controls_are_refused_by_the_step_id_rule(step_id: str) -> None:
    doc = sales_doc()
    rename_step(doc, "end-sequence", step_id)
    [(step, field, message)] = problems_of(doc)
    assert (step, field) == (step_id, "id")
    assert message.startswith("step ids start with a letter or digit")


def test_a_description_may_span_lines_and_hold_tabs() -> None:
    doc = sales_doc()
    doc["metadata"]["description"] = "First line\n\tindented second line"
    assert problems_of(doc) == []
    doc["metadata"]["description"] = "d" * (L.DESCRIPTION + 1)
    assert problems_of(doc) == [
        (None, "metadata.description", "the description is 2001 characters long; the limit is 2000")
    ]


def test_the_rules_as_they_were_skip_the_field_limits() -> None:
    """``Limits(hardened=False)`` is only for replaying runs admitted before the limits."""
    doc = sales_doc()
    doc["steps"][6]["outcome"] = "r" * 2_000
    plan = parse_plan(doc, source="attack.yaml")
    assert validate(plan, registry=SALES_REGISTRY, limits=Limits(hardened=False)) == []


# --- item 7 at the start: the values a run carries ------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"contact": {"id": "c\x001"}},
            "contact.id: the contact id contains a NUL character (U+0000) at position 2",
        ),
        (
            {"contact": {"id": "c" * 201}},
            "contact.id: the contact id is 201 characters long; the limit is 200",
        ),
        ({"contact": {"email": "a@example.com"}}, "contact.id: the contact id must be a string"),
        ({"contact": {"id": ""}}, "contact.id: the contact id must not be empty"),
        ({"tenant": "acme\u202e"}, "tenant: the tenant contains a bidirectional control"),
        ({"tenant": "t" * 65}, "tenant: the tenant is 65 characters long; the limit is 64"),
        ({"run_id": "run\n1"}, "runId: the run id contains a line break"),
        (
            {"contact": {"id": "c1", "ti\x00er": "gold"}},
            "contact: the name 'ti\\x00er' contains a NUL character",
        ),
        (
            {"variables": {"v" * 101: 1}},
            "variables: the name '" + "v" * 40 + "… (101 characters)' is 101 characters long",
        ),
    ],
)
def test_start_values_past_the_limits_are_named(values: dict[str, Any], expected: str) -> None:
    [problem] = L.start_problems(**values)
    assert problem.startswith(expected), problem


def test_start_values_within_the_limits_pass() -> None:
    assert (
        L.start_problems(
            run_id="run-" + "0" * 32,
            tenant="acme",
            contact={"id": "c" * L.CONTACT_ID, "tier": "gold", "名前": "Ann"},
            variables={"amount_due": 1_200},
        )
        == []
    )


def test_event_values_past_the_limits_are_named() -> None:
    assert L.event_problems(type="email.opened", event_id="evt-1", step_id="intro") == []
    assert L.event_problems(type="email\x00opened", step_id="s" * 101) == [
        "type: the event type contains a NUL character (U+0000) at position 6; identifiers "
        "and text may hold no control, line-separator or bidirectional control characters",
        "stepId: the step id is 101 characters long; the limit is 100",
    ]


# --- item 9: sizes first, then linear checks ------------------------------------------------


def _junk_plan(steps: int) -> Doc:
    """A plan of ``steps`` steps that breaks nearly every other rule too."""
    body: list[Doc] = [
        {"type": "sendEmail", "id": "dup", "templateId": "missing", "subject": ""}
        for _ in range(steps)
    ]
    return {
        "id": "big",
        "version": 1,
        "name": "big",
        "metadata": {"createdAt": "2026-01-01", "createdBy": "attacker"},
        "steps": body,
    }


def test_a_plan_over_the_step_limit_is_refused_before_any_other_check() -> None:
    plan = parse_plan(_junk_plan(101), source="big.yaml")
    problems = validate(plan, registry=SALES_REGISTRY)
    # Duplicate ids, unknown templates, empty subjects and no end: none was looked at.
    assert [(p.step, p.field, p.message) for p in problems] == [
        (None, "steps", "101 steps exceed the limit of 100"),
    ]
    wider = validate(plan, registry=SALES_REGISTRY, limits=Limits(max_steps=101))
    assert len(wider) > 100  # under a higher limit, the other rules do run


def test_a_30000_step_document_is_refused_before_it_is_even_parsed() -> None:
    doc = _junk_plan(0)
    doc["steps"] = [{"not": "a step"}] * 30_000  # 30,000 shape errors, were it parsed
    with pytest.raises(PlanError) as err:
        parse_plan(doc, source="huge.yaml")
    assert [str(p) for p in err.value.problems] == [
        "big: plan: steps: 30000 steps exceed the limit of 1000"
    ]


def test_oversized_transitions_and_branches_are_refused_before_parsing() -> None:
    doc = _junk_plan(1)
    doc["transitions"] = [{"from": "a", "to": "b"}] * (L.MAX_TRANSITIONS + 1)
    doc["steps"] = [{"type": "branch", "id": "b", "conditions": [{}] * (L.MAX_CONDITIONS + 1)}]
    with pytest.raises(PlanError) as err:
        parse_plan(doc, source="huge.yaml")
    assert [(p.field, p.message) for p in err.value.problems] == [
        ("transitions", "4001 transitions exceed the limit of 4000"),
    ]
    del doc["transitions"]
    with pytest.raises(PlanError) as err:
        parse_plan(doc, source="huge.yaml")
    assert [(p.field, p.message) for p in err.value.problems] == [
        ("steps[0].conditions", "51 conditions exceed the limit of 50 per branch"),
    ]
    doc["steps"] = [
        {"type": "branch", "id": f"b{i}", "conditions": [{}] * L.MAX_CONDITIONS} for i in range(61)
    ]
    with pytest.raises(PlanError) as err:
        parse_plan(doc, source="huge.yaml")
    assert [(p.field, p.message) for p in err.value.problems] == [
        ("steps", "3050 branch conditions exceed the limit of 3000 in a plan"),
    ]


def test_the_configurable_limits_stay_within_the_ceilings() -> None:
    assert Limits(max_steps=L.MAX_PLAN_STEPS).max_steps == 1_000
    with pytest.raises(ValueError, match=r"max_steps must be 1\.\.1000, got 1001"):
        Limits(max_steps=1_001)
    with pytest.raises(ValueError, match=r"max_wait_days must be 1\.\.3650"):
        Limits(max_wait_days=3_651)
    with pytest.raises(ValueError, match="min_send_loop_wait must be >= 0"):
        Limits(min_send_loop_wait=-1)


def test_operator_values_past_the_limits_are_named() -> None:
    assert L.operator_problems(by="ops", reason="line one\nline two") == []
    assert L.operator_problems(
        by="o\u202eps", reason="a\x00", resolution="end", target="x" * 201
    ) == [
        "by: who acts contains a bidirectional control character (U+202E) at position 2; "
        "identifiers and text may hold no control, line-separator or bidirectional control "
        "characters",
        "reason: the reason contains a NUL character (U+0000) at position 2; identifiers and "
        "text may hold no control, line-separator or bidirectional control characters",
        "target: the outcome is 201 characters long; the limit is 200",
    ]
