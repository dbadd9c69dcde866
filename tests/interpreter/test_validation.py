"""Each validation rule rejects its targeted mutation and names the step and field.

Most cases start from the valid sales plan (``plans/sales-sequence.yaml``), change
one thing in its document (or with ``model_copy(update=...)``) and check that
``validate`` reports a problem at exactly that step and field. A Hypothesis
property does the same on generated valid plans. Also here: every problem comes
back from one call, ``parse_plan`` locates shape errors, and ``PlanRegistry``
keeps published versions immutable.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from interpreter import (
    ContentRegistry,
    ExecutionPlan,
    Limits,
    PlanError,
    PlanRegistry,
    Problem,
    ensure_valid,
    parse_plan,
    simulate,
    steps,
    validate,
)

from .strategies import GeneratedPlan, generated_plans, registry_for

SALES = Path(__file__).resolve().parents[2] / "plans" / "sales-sequence.yaml"
Doc = dict[str, Any]

# Indexes into the sales plan document.
INTRO, WAIT, CHECK, WARM, COLD, CALL, END_REPLIED, END_FOLLOWED = range(8)


def sales_doc() -> Doc:
    return yaml.safe_load(SALES.read_text())


SALES_PLAN = parse_plan(sales_doc(), source=SALES.name)
REGISTRY = registry_for(SALES_PLAN)


def located(problems: list[Problem]) -> set[tuple[str | None, str]]:
    return {(p.step, p.field) for p in problems}


def problems_after(mutate: Callable[[Doc], object], **kwargs: Any) -> list[Problem]:
    doc = sales_doc()
    mutate(doc)
    plan = parse_plan(doc, source=SALES.name)
    return validate(plan, registry=kwargs.pop("registry", REGISTRY), **kwargs)


def assert_reported(
    problems: list[Problem], step: str | None, field: str, fragment: str = ""
) -> None:
    matching = [p for p in problems if p.step == step and p.field == field]
    assert matching, f"no problem at ({step!r}, {field!r}); got {located(problems)}"
    assert any(fragment in p.message for p in matching), [p.message for p in matching]
    assert all(p.plan == "sales-sequence" for p in problems)


def test_the_unmutated_sales_plan_is_valid() -> None:
    assert validate(SALES_PLAN, registry=REGISTRY) == []
    assert validate(SALES_PLAN) == []
    assert ensure_valid(SALES_PLAN, registry=REGISTRY) is SALES_PLAN
    assert (
        ContentRegistry(
            frozenset({"tmpl_intro", "tmpl_warm_follow_up", "tmpl_cold_follow_up"}),
            frozenset({"script_follow_up"}),
            frozenset({"vm_follow_up"}),
        )
        == REGISTRY
    )


# --- one mutation per rule, on the sales plan -------------------------------------------


def _set(*path: Any, value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _append_step(step: Doc, *edges: Doc) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["steps"].append(step)
        doc["transitions"].extend(edges)

    return mutate


def _cycle_without_exit(doc: Doc) -> None:
    # cold-follow-up -> cool-off -> cold-follow-up: a wait, but no branch to leave by
    doc["steps"].append({"type": "wait", "id": "cool-off", "duration": {"hours": 1}})
    doc["transitions"][6] = {"from": "cold-follow-up", "to": "cool-off"}
    doc["transitions"].append({"from": "cool-off", "to": "cold-follow-up"})


def _branch_that_never_leaves(doc: Doc) -> None:
    # intro -> wait -> check -> intro on every condition: no edge out of the cycle
    for cond in doc["steps"][CHECK]["conditions"]:
        cond["goto"] = "intro-email"
    doc["transitions"][2:5] = [{"from": "check-response", "to": "intro-email"}]


def _drop_default(doc: Doc) -> None:
    doc["steps"][CHECK]["conditions"].pop()
    del doc["transitions"][4]


def _default_not_last(doc: Doc) -> None:
    conditions = doc["steps"][CHECK]["conditions"]
    conditions[1], conditions[2] = conditions[2], conditions[1]


MUTATIONS: list[tuple[str, Callable[[Doc], object], str | None, str, str]] = [
    (
        "unreachable end step",
        _append_step({"type": "end", "id": "orphan", "outcome": "never"}),
        "orphan",
        "id",
        "unreachable from the first step 'intro-email'",
    ),
    (
        "unreachable send step with its own edge",
        _append_step(
            {"type": "sendEmail", "id": "orphan-email", "templateId": "tmpl_intro", "subject": "S"},
            {"from": "orphan-email", "to": "end-followed-up"},
        ),
        "orphan-email",
        "id",
        "unreachable",
    ),
    (
        "cycle that passes no wait",
        _set("steps", CHECK, "conditions", 2, "goto", value="check-response"),
        "check-response",
        "transitions",
        "passes no wait",
    ),
    (
        "cycle with no branch to leave by",
        _cycle_without_exit,
        "cold-follow-up",
        "transitions",
        "no way out",
    ),
    (
        "cycle whose branch never leaves it",
        _branch_that_never_leaves,
        "check-response",
        "transitions",
        "no way out",
    ),
    (
        "templateId not in the registry",
        _set("steps", INTRO, "templateId", value="tmpl_missing"),
        "intro-email",
        "templateId",
        "'tmpl_missing' is not in the template registry",
    ),
    (
        "scriptId not in the registry",
        _set("steps", CALL, "scriptId", value="script_missing"),
        "follow-up-call",
        "scriptId",
        "'script_missing' is not in the script registry",
    ),
    (
        "voicemail messageId not in the registry",
        _set("steps", CALL, "voicemail", "messageId", value="vm_missing"),
        "follow-up-call",
        "voicemail.messageId",
        "'vm_missing'",
    ),
    (
        "voicemail detection without a message",
        _set("steps", CALL, "voicemail", value={"detect": True}),
        "follow-up-call",
        "voicemail.messageId",
        "needs a messageId",
    ),
    ("branch without a default", _drop_default, "check-response", "conditions", "default"),
    (
        "branch with no conditions at all",
        _set("steps", CHECK, "conditions", value=[]),
        "check-response",
        "conditions",
        "",
    ),
    (
        "conditions after the default",
        _default_not_last,
        "check-response",
        "conditions[2]",
        "can never match",
    ),
    (
        "duplicate step id",
        _append_step({"type": "end", "id": "end-sequence", "outcome": "again"}),
        "end-sequence",
        "id",
        "duplicate",
    ),
    (
        "transition to an unknown step",
        _set("transitions", 5, "to", value="nowhere"),
        "warm-follow-up",
        "transitions[5].to",
        "unknown step 'nowhere'",
    ),
    (
        "branch goto to an unknown step",
        _set("steps", CHECK, "conditions", 1, "goto", value="nowhere"),
        "check-response",
        "conditions[1].goto",
        "unknown step 'nowhere'",
    ),
    (
        "transition from an unknown step",
        _set("transitions", 0, "from", value="ghost"),
        None,
        "transitions[0].from",
        "unknown step 'ghost'",
    ),
    (
        "non-end step without an outgoing edge",
        lambda doc: doc["transitions"].pop(5),
        "warm-follow-up",
        "transitions",
        "no outgoing edge",
    ),
    (
        "end step with an outgoing edge",
        lambda doc: doc["transitions"].append({"from": "end-sequence", "to": "intro-email"}),
        "end-sequence",
        "transitions[8]",
        "end step may not have an outgoing edge",
    ),
    (
        "send step with two outgoing edges",
        lambda doc: doc["transitions"].append({"from": "intro-email", "to": "end-sequence"}),
        "intro-email",
        "transitions[8]",
        "only a branch may have more than one outgoing edge",
    ),
    (
        "branch transition that is not one of its gotos",
        _set("transitions", 3, "to", value="follow-up-call"),
        "check-response",
        "transitions[3].to",
        "not one of the branch's gotos",
    ),
    (
        "empty subject",
        _set("steps", WARM, "subject", value="   "),
        "warm-follow-up",
        "subject",
        "empty",
    ),
    (
        "empty outcome",
        _set("steps", END_REPLIED, "outcome", value=""),
        "end-sequence",
        "outcome",
        "empty",
    ),
    (
        "malformed step id",
        _append_step({"type": "end", "id": "@orphan", "outcome": "x"}),
        "@orphan",
        "id",
        "step ids start with a letter or digit",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "step", "field", "fragment"),
    [pytest.param(*m[1:], id=m[0]) for m in MUTATIONS],
)
def test_each_rule_rejects_its_mutation(
    mutate: Callable[[Doc], object], step: str | None, field: str, fragment: str
) -> None:
    assert_reported(problems_after(mutate), step, field, fragment)


@pytest.mark.parametrize(
    "duration",
    [
        {"days": 0},
        {},
        {"seconds": 0, "minutes": 0},
        {"hours": -1},
        {"days": 2, "hours": -1},  # positive in total, negative in part
        {"days": -1, "hours": 30},
        {"days": 366},
        {"days": 365, "seconds": 1},
        {"hours": 365 * 24 + 1},
        {"seconds": 365 * 86_400 + 1},
    ],
)
def test_wait_durations_must_be_positive_and_within_the_limit(duration: dict[str, int]) -> None:
    problems = problems_after(_set("steps", WAIT, "duration", value=duration))
    assert_reported(problems, "wait-for-reply", "duration")
    assert located(problems) == {("wait-for-reply", "duration")}


@pytest.mark.parametrize("duration", [{"seconds": 1}, {"days": 365}, {"days": 364, "hours": 24}])
def test_wait_durations_at_the_edges_are_valid(duration: dict[str, int]) -> None:
    assert problems_after(_set("steps", WAIT, "duration", value=duration)) == []


def test_the_wait_limit_is_configurable() -> None:
    # the sales plan waits three and a half days
    assert_reported(
        validate(SALES_PLAN, registry=REGISTRY, limits=Limits(max_wait_days=3)),
        "wait-for-reply",
        "duration",
        "exceeds the limit of 3 days",
    )
    assert validate(SALES_PLAN, registry=REGISTRY, limits=Limits(max_wait_days=4)) == []


@pytest.mark.parametrize(
    "max_duration", [{"minutes": 0}, {}, {"minutes": -1, "seconds": 90}, {"minutes": 241}]
)
def test_call_durations_must_be_positive_and_within_the_call_limit(
    max_duration: dict[str, int],
) -> None:
    problems = problems_after(_set("steps", CALL, "maxDuration", value=max_duration))
    assert_reported(problems, "follow-up-call", "maxDuration")


@pytest.mark.parametrize(
    "caller_id",
    [
        "555-1234",
        "15551234567",
        "+1 555 123 4567",
        "+1-555-123-4567",
        "+0123456789",
        "+44",
        "+999123456",
        "+1555123456789012",
        "",
        "+15551234567\n",
    ],
)
def test_caller_id_must_be_e164(caller_id: str) -> None:
    problems = problems_after(_set("steps", CALL, "callerId", value=caller_id))
    assert_reported(problems, "follow-up-call", "callerId", "is not a valid E.164 number")
    assert located(problems) == {("follow-up-call", "callerId")}


@pytest.mark.parametrize("caller_id", ["+442071838750", "+33142685300", "+14155552671"])
def test_e164_caller_ids_are_accepted(caller_id: str) -> None:
    assert problems_after(_set("steps", CALL, "callerId", value=caller_id)) == []


@pytest.mark.parametrize(
    "reply_to",
    [
        "not-an-address",
        "Sales <sales@example.com>",
        "sales@example",
        "sales@@example.com",
        "sales example@example.com",
        "@example.com",
        "sales@example.com.",
        "sales@-example.com",
        "",
    ],
)
def test_reply_to_must_be_an_address(reply_to: str) -> None:
    problems = problems_after(_set("steps", WARM, "replyTo", value=reply_to))
    assert_reported(problems, "warm-follow-up", "replyTo", "is not a valid email address")
    assert located(problems) == {("warm-follow-up", "replyTo")}


def test_reply_to_with_a_trailing_newline_is_rejected() -> None:
    """A newline in a Reply-To header is header injection, not an address."""
    problems = problems_after(_set("steps", INTRO, "replyTo", value="sales@example.com\n"))
    assert_reported(problems, "intro-email", "replyTo", "is not a valid email address")


def test_step_id_with_a_trailing_newline_is_rejected() -> None:
    problems = problems_after(_append_step({"type": "end", "id": "extra\n", "outcome": "x"}))
    assert_reported(problems, "extra\n", "id", "step ids start with a letter or digit")


# The library's own diagnostics (Google's CEL since issue 23), with line and column;
# DEE's rules (unknown step ids, a boolean result) on its checked AST.
@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ('events.hasOpen("intro-email"', "1:29: Syntax error: missing ')' at '<EOF>'"),
        ("events.hasOpen(", "1:16: Syntax error: mismatched input '<EOF>'"),
        ("&& true", "1:1: Syntax error: extraneous input '&&'"),
        ("vars.x + 1", "a condition must be boolean, not int"),
        ('"a" > 1', "found no matching overload for '_>_' applied to '(string, int)'"),
        ("events.hasOpen(1)", "found no matching overload for 'hasOpen'"),
        ('events.hasOpen("intro-emial")', "unknown step 'intro-emial'"),
        ('run.visits("nowhere") > 1', "unknown step 'nowhere'"),
        ('events.hasSmile("intro-email")', "undeclared reference to 'hasSmile'"),
        ('sendSms("intro-email")', "undeclared reference to 'sendSms'"),
        ('contact.tier.shout() == "gold"', "undeclared reference to 'shout'"),
        ("unknown_var > 3", "undeclared reference to 'unknown_var'"),
    ],
)
def test_conditions_must_parse_type_check_and_call_known_functions(
    when: str, fragment: str
) -> None:
    problems = problems_after(_set("steps", CHECK, "conditions", 1, "when", value=when))
    assert_reported(problems, "check-response", "conditions[1].when", fragment)
    assert {p.step for p in problems} == {"check-response"}


@pytest.mark.parametrize(
    "when",
    [
        'bool("true")',  # the old runtime has no bool() conversion
        'matches(contact.tier, "^g")',  # ... nor the global form of matches()
        'contact.tier.lowerAscii() == "gold"',  # ... nor the strings extension
    ],
)
def test_standard_cel_the_old_runtime_cannot_evaluate_is_refused_only_on_it(when: str) -> None:
    """Validation must not pass a condition that can only fail when a run reaches it: on
    the old evaluator (``--legacy-cel``, runs recorded before issue 23) these are refused;
    on Google's CEL, which new runs use, they are standard CEL and valid."""
    mutate = _set("steps", CHECK, "conditions", 0, "when", value=when)
    old = problems_after(mutate, limits=Limits(google_cel=False))
    assert ("check-response", "conditions[0].when") in located(old)
    assert problems_after(mutate) == []


def test_plan_level_step_limit_default_and_configurable() -> None:
    assert_reported(
        validate(SALES_PLAN, registry=REGISTRY, limits=Limits(max_steps=7)),
        None,
        "steps",
        "8 steps exceed the limit of 7",
    )
    assert validate(SALES_PLAN, registry=REGISTRY, limits=Limits(max_steps=8)) == []

    def chain_of(n: int) -> ExecutionPlan:
        waits = [steps.wait(id=f"w{i}", duration={"minutes": 1}) for i in range(n - 1)]
        return SALES_PLAN.model_copy(
            update={"steps": (*waits, steps.end(id="done", outcome="ok")), "transitions": "linear"}
        )

    assert validate(chain_of(100)) == []
    problems = validate(chain_of(101))
    assert_reported(problems, None, "steps", "101 steps exceed the limit of 100")


# --- mutations through model_copy(update=...) -----------------------------------------


def _with_step(index: int, **update: Any) -> ExecutionPlan:
    new_steps = list(SALES_PLAN.steps)
    new_steps[index] = new_steps[index].model_copy(update=update)
    return SALES_PLAN.model_copy(update={"steps": tuple(new_steps)})


@pytest.mark.parametrize(
    ("plan", "step", "field"),
    [
        (_with_step(INTRO, template_id="tmpl_nope"), "intro-email", "templateId"),
        (_with_step(INTRO, reply_to="sales at example.com"), "intro-email", "replyTo"),
        (_with_step(CALL, caller_id="+1 (555) 123-4567"), "follow-up-call", "callerId"),
        (_with_step(CALL, script_id="script_nope"), "follow-up-call", "scriptId"),
        (
            _with_step(
                WAIT, duration=SALES_PLAN.steps[WAIT].duration.model_copy(update={"days": 400})
            ),
            "wait-for-reply",
            "duration",
        ),
    ],
    ids=["templateId", "replyTo", "callerId", "scriptId", "duration"],
)
def test_model_copy_mutations_are_rejected(plan: ExecutionPlan, step: str, field: str) -> None:
    problems = validate(plan, registry=REGISTRY)
    assert_reported(problems, step, field)
    assert {p.step for p in problems} == {step}


@pytest.mark.parametrize(
    ("missing", "step", "field"),
    [
        ("tmpl_warm_follow_up", "warm-follow-up", "templateId"),
        ("script_follow_up", "follow-up-call", "scriptId"),
        ("vm_follow_up", "follow-up-call", "voicemail.messageId"),
    ],
)
def test_registry_handed_to_the_validator_decides(missing: str, step: str, field: str) -> None:
    registry = ContentRegistry(
        REGISTRY.email_templates - {missing},
        REGISTRY.voice_scripts - {missing},
        REGISTRY.voice_messages - {missing},
    )
    problems = validate(SALES_PLAN, registry=registry)
    assert located(problems) == {(step, field)}
    assert f"'{missing}'" in problems[0].message


@pytest.mark.parametrize(
    ("key", "step", "field", "noun"),
    [
        (("email", "tmpl_warm_follow_up"), "warm-follow-up", "templateId", "template"),
        (("voice", "script_follow_up"), "follow-up-call", "scriptId", "script"),
        (("voice", "vm_follow_up"), "follow-up-call", "voicemail.messageId", "script"),
    ],
)
def test_what_the_registry_knows_is_wrong_with_content_is_reported_where_it_is_used(
    key: tuple[str, str], step: str, field: str, noun: str
) -> None:
    registry = dataclasses.replace(REGISTRY, unusable={key: ("x.txt.j2 line 1: outside",)})

    problems = validate(SALES_PLAN, registry=registry)

    assert [(p.step, p.field, p.message) for p in problems] == [
        (step, field, f"{noun} '{key[1]}' cannot be used: x.txt.j2 line 1: outside")
    ]


def test_each_subject_is_checked_by_the_registry() -> None:
    def check(subject: str) -> list[str]:
        return [f"refused: {subject}"] if "{%" in subject else []

    problems = problems_after(
        _set("steps", WARM, "subject", value="{% extends 'voice/x' %}"),
        registry=dataclasses.replace(REGISTRY, check_subject=check),
    )

    assert [(p.step, p.field, p.message) for p in problems] == [
        ("warm-follow-up", "subject", "refused: {% extends 'voice/x' %}")
    ]


def test_a_terminating_loop_is_valid() -> None:
    """intro -> wait -> check -> (default) intro: the cycle has a wait and an exit."""
    doc = sales_doc()
    doc["steps"][CHECK]["conditions"][2]["goto"] = "intro-email"
    doc["transitions"][4] = {"from": "check-response", "to": "intro-email"}
    problems = validate(parse_plan(doc, source=SALES.name), registry=REGISTRY)
    # cold-follow-up and follow-up-call are no longer reached; nothing else is wrong
    assert located(problems) == {("cold-follow-up", "id"), ("follow-up-call", "id")}


def test_a_nested_loop_whose_inner_branch_leaves_the_inner_cycle_is_valid() -> None:
    """Every cycle passes a wait and a branch with an edge leaving that cycle.

    outer: nudge -> inner wait -> inner check -> outer wait -> outer check -> nudge
    inner: inner wait -> inner check -> inner wait; inner check leaves it to outer wait
    """
    plan = ExecutionPlan(
        id="nested",
        version=1,
        name="nested loops",
        metadata={"createdAt": "2026-01-15", "createdBy": "tests"},
        steps=(
            steps.send_email(id="nudge", template_id="tmpl_nudge", subject="Hi"),
            steps.wait(id="inner-wait", duration={"hours": 1}),
            steps.branch(
                id="inner-check",
                conditions=[
                    {"when": 'run.visits("inner-check") < 2', "goto": "inner-wait"},
                    {"when": "default", "goto": "outer-wait"},
                ],
            ),
            steps.wait(id="outer-wait", duration={"days": 1}),
            steps.branch(
                id="outer-check",
                conditions=[
                    {"when": 'run.visits("outer-check") < 2', "goto": "nudge"},
                    {"when": "default", "goto": "done"},
                ],
            ),
            steps.end(id="done", outcome="finished"),
        ),
    )
    assert validate(plan, registry=registry_for(plan)) == []
    assert simulate(plan, {"id": "c"}).status == "COMPLETED"


# --- all problems at once --------------------------------------------------------------


def test_every_problem_is_reported_in_one_call() -> None:
    def three_mistakes(doc: Doc) -> None:
        doc["steps"][INTRO]["templateId"] = "tmpl_missing"
        doc["steps"][WAIT]["duration"] = {"days": 0}
        doc["steps"][CALL]["callerId"] = "call me"

    problems = problems_after(three_mistakes)
    assert len(problems) >= 3
    assert {
        ("intro-email", "templateId"),
        ("wait-for-reply", "duration"),
        ("follow-up-call", "callerId"),
    } <= located(problems)
    with pytest.raises(PlanError) as raised:
        doc = sales_doc()
        three_mistakes(doc)
        ensure_valid(parse_plan(doc, source=SALES.name), registry=REGISTRY)
    assert list(raised.value.problems) == problems
    assert "step 'follow-up-call': callerId:" in str(raised.value)


def test_an_unknown_edge_does_not_hide_independent_graph_problems() -> None:
    """A dangling edge at one step says nothing about another step's missing edge."""

    def two_mistakes(doc: Doc) -> None:
        doc["transitions"][5]["to"] = "nowhere"  # warm-follow-up -> unknown step
        del doc["transitions"][7]  # follow-up-call now has no outgoing edge

    assert {
        ("warm-follow-up", "transitions[5].to"),
        ("follow-up-call", "transitions"),
    } <= located(problems_after(two_mistakes))


# --- parse_plan on malformed documents ---------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "step", "field", "fragment"),
    [
        pytest.param(
            _set("steps", INTRO, "templateID", value="tmpl_intro"),
            "intro-email",
            "templateID",
            "unknown field",
            id="unknown step field",
        ),
        pytest.param(
            _set("owner", value="me"), None, "owner", "unknown field", id="unknown plan field"
        ),
        pytest.param(
            _set("steps", WAIT, "duration", "days", value="three"),
            "wait-for-reply",
            "duration.days",
            "integer",
            id="wrong type in a step",
        ),
        pytest.param(
            _set("steps", WAIT, "duration", value="3d"),
            "wait-for-reply",
            "duration",
            "",
            id="wrong type for a nested object",
        ),
        pytest.param(
            _set("steps", CALL, "voicemail", "detect", value=[True]),
            "follow-up-call",
            "voicemail.detect",
            "boolean",
            id="wrong type deep in a step",
        ),
        pytest.param(
            _set("steps", INTRO, "type", value="sendSms"),
            "intro-email",
            "type",
            "type must be one of sendEmail, sendVoice, wait, waitForEvent, branch, end",
            id="unknown step type",
        ),
        pytest.param(
            lambda doc: doc["steps"][END_REPLIED].pop("outcome"),
            "end-sequence",
            "outcome",
            "required field is missing",
            id="missing step field",
        ),
        pytest.param(
            lambda doc: doc["steps"][CHECK]["conditions"][0].pop("goto"),
            "check-response",
            "conditions[0].goto",
            "required field is missing",
            id="missing condition field",
        ),
        pytest.param(
            lambda doc: doc["steps"][WARM].pop("id"),
            "steps[3]",
            "id",
            "required field is missing",
            id="missing step id names the index",
        ),
        pytest.param(
            lambda doc: doc.pop("metadata"),
            None,
            "metadata",
            "required field is missing",
            id="missing plan field",
        ),
        pytest.param(
            lambda doc: doc["transitions"][2].pop("to"),
            None,
            "transitions[2].to",
            "required field is missing",
            id="missing transition field",
        ),
    ],
)
def test_parse_plan_names_step_and_field_of_shape_errors(
    mutate: Callable[[Doc], object], step: str | None, field: str, fragment: str
) -> None:
    doc = sales_doc()
    mutate(doc)
    with pytest.raises(PlanError) as raised:
        parse_plan(doc, source=SALES.name)
    problems = list(raised.value.problems)
    assert_reported(problems, step, field, fragment)
    assert len(problems) == 1


def test_parse_plan_reports_every_shape_error_at_once() -> None:
    doc = sales_doc()
    doc["steps"][INTRO]["templateID"] = "x"
    doc["steps"][WAIT]["duration"] = {"days": "three"}
    doc["steps"][END_REPLIED].pop("outcome")
    with pytest.raises(PlanError) as raised:
        parse_plan(doc, source=SALES.name)
    assert {
        ("intro-email", "templateID"),
        ("wait-for-reply", "duration.days"),
        ("end-sequence", "outcome"),
    } <= located(list(raised.value.problems))


def test_parse_plan_names_the_source_when_the_document_is_not_a_mapping() -> None:
    with pytest.raises(PlanError) as raised:
        parse_plan(["not", "a", "plan"], source="bad.yaml")
    (problem,) = raised.value.problems
    assert (problem.plan, problem.step) == ("bad.yaml", None)
    assert "a list" in problem.message


def test_parse_plan_rejects_a_boolean_where_a_number_belongs() -> None:
    """``days: yes`` in YAML is a boolean, not a one-day wait."""
    doc = sales_doc()
    doc["steps"][WAIT]["duration"] = {"days": True}
    with pytest.raises(PlanError) as raised:
        parse_plan(doc, source=SALES.name)
    assert ("wait-for-reply", "duration.days") in located(list(raised.value.problems))


# --- the plan registry ----------------------------------------------------------------------


def test_plan_registry_accepts_the_identical_body_twice() -> None:
    registry = PlanRegistry()
    assert registry.register(SALES_PLAN) is SALES_PLAN
    same_body = parse_plan(sales_doc(), source="again.yaml")
    assert same_body is not SALES_PLAN
    assert registry.register(same_body) is SALES_PLAN
    assert registry.versions("sales-sequence") == [1]


def test_plan_registry_refuses_a_different_body_under_the_same_version() -> None:
    registry = PlanRegistry()
    registry.register(SALES_PLAN)
    doc = sales_doc()
    doc["steps"][WAIT]["duration"] = {"days": 2}
    changed = parse_plan(doc, source="changed.yaml")
    with pytest.raises(PlanError) as raised:
        registry.register(changed)
    (problem,) = raised.value.problems
    assert (problem.plan, problem.step, problem.field) == ("sales-sequence", None, "version")
    assert SALES_PLAN.content_hash in problem.message
    assert changed.content_hash in problem.message
    assert registry.get("sales-sequence", 1) is SALES_PLAN
    # a new version of the changed body is fine, and becomes the latest
    doc["version"] = 2
    v2 = registry.register(parse_plan(doc, source="v2.yaml"))
    assert registry.get("sales-sequence") is v2
    assert registry.versions("sales-sequence") == [1, 2]


def test_plan_registry_refuses_a_model_copy_with_a_different_body() -> None:
    """``model_copy(update=...)`` of a hashed plan must not inherit the old hash."""
    plan = parse_plan(sales_doc(), source=SALES.name)
    registry = PlanRegistry()
    registry.register(plan)
    original_hash = plan.content_hash  # e.g. recorded in a trace's planHash
    renamed = plan.model_copy(update={"name": "A different body"})
    assert renamed.canonical_json() != plan.canonical_json()
    assert renamed.content_hash != original_hash
    with pytest.raises(PlanError):
        registry.register(renamed)


# --- the same rules on generated valid plans ---------------------------------------------

BAD_CONDITIONS = (
    'events.hasOpen("x"',
    "events.hasSmile()",
    "vars.x + 1",
    'events.hasReply("no-such-step")',
    "run.visits(1) > 0",
    "frobnicate(vars.x)",
)
BAD_CALLER_IDS = ("555-1234", "+0123456", "+1 555 123 4567", "")
BAD_ADDRESSES = ("nobody", "a@b", "Sales <s@example.com>")
BAD_DURATIONS = ({"days": 0}, {"hours": -2}, {"days": 366}, {"days": 1, "minutes": -1})

Mutation = Callable[[Doc, GeneratedPlan, Any], tuple[str, set[str]]]


def _pick_step(doc: Doc, data: Any, kind: str, exclude: frozenset[str] = frozenset()) -> Doc:
    candidates = [s for s in doc["steps"] if s["type"] == kind and s["id"] not in exclude]
    return data.draw(st.sampled_from(candidates))


def _m_template(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "sendEmail")
    s["templateId"] = "tmpl_missing"
    return s["id"], {"templateId"}


def _m_reply_to(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "sendEmail")
    s["replyTo"] = data.draw(st.sampled_from(BAD_ADDRESSES))
    return s["id"], {"replyTo"}


def _m_script(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "sendVoice")
    s["scriptId"] = "script_missing"
    return s["id"], {"scriptId"}


def _m_caller(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "sendVoice")
    s["callerId"] = data.draw(st.sampled_from(BAD_CALLER_IDS))
    return s["id"], {"callerId"}


def _m_message(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "sendVoice")
    s["voicemail"] = {"detect": True, "messageId": "vm_missing"}
    return s["id"], {"voicemail.messageId"}


def _m_duration(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "wait")
    s["duration"] = data.draw(st.sampled_from(BAD_DURATIONS))
    return s["id"], {"duration"}


def _m_no_default(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "branch")
    s["conditions"].pop()  # generated branches end with their default
    return s["id"], {"conditions"}


def _m_bad_condition(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "branch")
    s["conditions"][0]["when"] = data.draw(st.sampled_from(BAD_CONDITIONS))
    return s["id"], {"conditions[0].when"}


def _m_unknown_goto(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "branch")
    i = data.draw(st.integers(0, len(s["conditions"]) - 1))
    s["conditions"][i]["goto"] = "nowhere"
    return s["id"], {f"conditions[{i}].goto"}


def _m_self_loop(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "branch", exclude=g.loop_members)
    s["conditions"][-1]["goto"] = s["id"]
    return s["id"], {"transitions"}


def _m_duplicate(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = data.draw(st.sampled_from(doc["steps"]))
    doc["steps"].append(copy.deepcopy(s))
    return s["id"], {"id"}


def _m_unreachable(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    doc["steps"].append({"type": "end", "id": "orphan-end", "outcome": "never"})
    return "orphan-end", {"id"}


def _m_dangling_edge(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    non_branch = {s["id"] for s in doc["steps"] if s["type"] != "branch"}
    i = data.draw(
        st.sampled_from([i for i, t in enumerate(doc["transitions"]) if t["from"] in non_branch])
    )
    doc["transitions"][i]["to"] = "nowhere"
    return doc["transitions"][i]["from"], {f"transitions[{i}].to"}


def _m_no_outgoing(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    non_branch = {s["id"] for s in doc["steps"] if s["type"] != "branch"}
    i = data.draw(
        st.sampled_from([i for i, t in enumerate(doc["transitions"]) if t["from"] in non_branch])
    )
    return doc["transitions"].pop(i)["from"], {"transitions"}


def _m_end_with_edge(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "end")
    doc["transitions"].append({"from": s["id"], "to": doc["steps"][0]["id"]})
    return s["id"], {f"transitions[{len(doc['transitions']) - 1}]"}


def _m_branch_edge(doc: Doc, g: GeneratedPlan, data: Any) -> tuple[str, set[str]]:
    s = _pick_step(doc, data, "branch")
    gotos = {c["goto"] for c in s["conditions"]}
    to = data.draw(st.sampled_from([t["id"] for t in doc["steps"] if t["id"] not in gotos]))
    doc["transitions"].append({"from": s["id"], "to": to})
    return s["id"], {f"transitions[{len(doc['transitions']) - 1}].to"}


def _applicable(g: GeneratedPlan) -> list[Mutation]:
    kinds = {s.type for s in g.plan.steps}
    out: list[Mutation] = [_m_duplicate, _m_unreachable]
    if "sendEmail" in kinds:
        out += [_m_template, _m_reply_to]
    if "sendVoice" in kinds:
        out += [_m_script, _m_caller, _m_message]
    if "wait" in kinds:
        out.append(_m_duration)
    if "branch" in kinds:
        out += [_m_no_default, _m_bad_condition, _m_unknown_goto]
        if any(s.type == "branch" and s.id not in g.loop_members for s in g.plan.steps):
            out.append(_m_self_loop)
    if not g.linear:
        out.append(_m_end_with_edge)
        if kinds & {"sendEmail", "sendVoice", "wait"}:
            out += [_m_dangling_edge, _m_no_outgoing]
        if "branch" in kinds and len(g.plan.steps) > 2:
            out.append(_m_branch_edge)
    return out


@given(generated_plans(), st.data())
def test_a_random_mutation_of_a_valid_plan_names_the_mutated_step(
    generated: GeneratedPlan, data: Any
) -> None:
    assert validate(generated.plan, registry=generated.registry) == []
    mutation = data.draw(st.sampled_from(_applicable(generated)), label="mutation")
    event(mutation.__name__)
    doc = generated.plan.to_document()
    step, fields = mutation(doc, generated, data)
    mutated = parse_plan(doc, source="mutated.yaml")
    problems = validate(mutated, registry=generated.registry)
    assert any(p.step == step and p.field in fields for p in problems), (
        f"{mutation.__name__}: expected a problem at {step!r} in {fields}, got {located(problems)}"
    )


# Every mutation, and whether it needs explicit transitions; the test assumes the
# rest of what it needs (a voice step, a branch outside any loop ...).
EVERY_MUTATION: list[tuple[Mutation, bool]] = [
    (_m_template, False),
    (_m_reply_to, False),
    (_m_script, False),
    (_m_caller, False),
    (_m_message, False),
    (_m_duration, False),
    (_m_no_default, False),
    (_m_bad_condition, False),
    (_m_unknown_goto, False),
    (_m_self_loop, False),
    (_m_duplicate, False),
    (_m_unreachable, False),
    (_m_dangling_edge, True),
    (_m_no_outgoing, True),
    (_m_end_with_edge, True),
    (_m_branch_edge, True),
]


@pytest.mark.parametrize(
    ("mutation", "explicit"),
    [pytest.param(m, explicit, id=m.__name__[3:]) for m, explicit in EVERY_MUTATION],
)
@settings(max_examples=6)
@given(data=st.data())
def test_each_mutation_of_generated_plans_names_the_mutated_step(
    mutation: Mutation, explicit: bool, data: Any
) -> None:
    generated = data.draw(generated_plans(transitions="explicit" if explicit else None))
    assume(mutation in _applicable(generated))
    doc = generated.plan.to_document()
    step, fields = mutation(doc, generated, data)
    problems = validate(parse_plan(doc, source="mutated.yaml"), registry=generated.registry)
    assert any(p.step == step and p.field in fields for p in problems), (
        f"expected a problem at {step!r} in {fields}, got {located(problems)}"
    )


def test_two_cycles_that_only_exit_into_each_other_are_rejected() -> None:
    """Each cycle has a branch leaving it, yet no run could ever end."""
    from interpreter import ExecutionPlan, PlanMetadata, steps

    plan = ExecutionPlan(
        id="trap",
        version=1,
        name="Trap",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.wait(id="a", duration={"hours": 1}),
            steps.branch(
                id="hub",
                conditions=[
                    {"when": 'events.hasReply("a")', "goto": "b"},
                    {"when": "default", "goto": "c"},
                ],
            ),
            steps.wait(id="b", duration={"hours": 1}),
            steps.wait(id="c", duration={"hours": 1}),
            steps.end(id="never", outcome="unreachable-end"),
        ),
        transitions=(
            {"from": "a", "to": "hub"},
            {"from": "b", "to": "hub"},
            {"from": "c", "to": "a"},
        ),
    )
    problems = validate(plan)
    trapped = {p.step for p in problems if "can never reach an end step" in p.message}
    assert trapped == {"a", "hub", "b", "c"}
