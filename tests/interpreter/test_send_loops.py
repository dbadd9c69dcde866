"""Issue 18, item 13: a loop that sends must wait long enough and have a real way out.

The attack: a plan whose loop sends an email, waits an hour, and whose only exit is
``when: "false"`` passed validation and sent until the step budget stopped it (334
emails in simulation). Now a cycle through a send must pass a wait of at least
``Limits.min_send_loop_wait`` (a day by default) on every round, and a condition that
is false by its text alone is no way out. A loop that waits a day and leaves on a real
condition (the notification plan's bounded re-send) is still valid and still runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import ExecutionPlan, Limits, PlanMetadata, simulate, steps, validate
from interpreter.constant_conditions import always_false
from interpreter.cycles import TRAPPED

from .helpers import load_example
from .strategies import registry_for


def _loop(*, wait: dict[str, int], leave_when: str, exit_first: bool = True) -> ExecutionPlan:
    """nudge -> pause -> check(leave | back to nudge) -> done."""
    conditions: list[dict[str, str]] = [
        {"when": leave_when, "goto": "done"},
        {"when": "default", "goto": "nudge"},
    ]
    if not exit_first:  # stay on a condition, leave by default
        conditions = [{"when": leave_when, "goto": "nudge"}, {"when": "default", "goto": "done"}]
    return ExecutionPlan(
        id="nagging",
        version=1,
        name="nagging",
        metadata=PlanMetadata(created_at="2026-01-15", created_by="tests"),
        steps=(
            steps.send_email(id="nudge", template_id="tmpl_nudge", subject="Hi"),
            steps.wait(id="pause", duration=wait),
            steps.branch(id="check", conditions=conditions),
            steps.end(id="done", outcome="gave-up"),
        ),
    )


def _found(plan: ExecutionPlan, **limits: Any) -> list[tuple[str | None, str, str]]:
    found = validate(plan, registry=registry_for(plan), limits=Limits(**limits))
    return [(p.step, p.field, p.message) for p in found]


def test_the_issues_plan_is_refused_naming_the_cycle_and_what_it_lacks() -> None:
    plan = _loop(wait={"hours": 1}, leave_when="false")
    assert _found(plan) == [
        (
            "nudge",
            "transitions",
            "a cycle through [check, nudge, pause] sends (nudge) without passing a wait of at "
            "least 1 day: a loop that sends must wait that long on every round",
        ),
        (
            "check",
            "transitions",
            "a cycle through [check, nudge, pause] sends (nudge) and has no way out to an end "
            'step (a condition that is always false, like when: "false", is no way out)',
        ),
    ]


@pytest.mark.parametrize(
    "leave_when",
    ["false", " false ", "!true", "1 > 2", '"a" == "b"', "false && vars.x > 1",
     "vars.x > 1 && false", "false || false", "true ? false : false", "(false)"],
)  # fmt: skip
def test_an_exit_that_is_false_by_its_text_is_no_way_out(leave_when: str) -> None:
    plan = _loop(wait={"days": 1}, leave_when=leave_when)
    [(step, field, message)] = _found(plan)
    assert (step, field) == ("check", "transitions")
    assert "has no way out to an end step" in message


def test_staying_on_a_constant_true_condition_is_no_way_out_either() -> None:
    # check(true -> nudge | default -> done): the default is never reached.
    plan = _loop(wait={"days": 1}, leave_when="false", exit_first=False)
    assert _found(plan) == []  # leaving by default, staying only "when false": fine
    stuck = ExecutionPlan.model_validate(
        {
            **plan.to_document(),
            "steps": [
                *plan.to_document()["steps"][:2],
                {
                    "type": "branch",
                    "id": "check",
                    "conditions": [
                        {"when": "false", "goto": "done"},
                        {"when": "default", "goto": "nudge"},
                    ],
                },
                plan.to_document()["steps"][3],
            ],
        }
    )
    assert "has no way out" in _found(stuck)[0][2]


@pytest.mark.parametrize(
    "leave_when",
    ['events.hasReply("nudge")', "vars.x > 1 || false", 'run.visits("check") >= 3', "1 > vars.x"],
)
def test_an_exit_that_reads_the_run_is_a_way_out(leave_when: str) -> None:
    assert _found(_loop(wait={"days": 1}, leave_when=leave_when)) == []


def test_a_short_wait_in_a_loop_that_sends_is_refused_even_with_a_way_out() -> None:
    plan = _loop(wait={"hours": 23, "minutes": 59}, leave_when='run.visits("check") >= 3')
    [(step, field, message)] = _found(plan)
    assert (step, field) == ("nudge", "transitions")
    assert "without passing a wait of at least 1 day" in message


def test_the_shortest_wait_is_configurable() -> None:
    plan = _loop(wait={"hours": 1}, leave_when='run.visits("check") >= 3')
    assert _found(plan, min_send_loop_wait=3_600) == []
    [(_, _, message)] = _found(plan, min_send_loop_wait=7_200)
    assert "a wait of at least 2 hours" in message


def test_a_loop_that_only_waits_is_not_held_to_the_send_rule() -> None:
    plan = ExecutionPlan(
        id="poll",
        version=1,
        name="poll",
        metadata=PlanMetadata(created_at="2026-01-15", created_by="tests"),
        steps=(
            steps.wait(id="pause", duration={"minutes": 5}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'run.visits("check") >= 3', "goto": "done"},
                    {"when": "default", "goto": "pause"},
                ],
            ),
            steps.end(id="done", outcome="done"),
        ),
    )
    assert _found(plan) == []
    # ... but a waiting loop whose only exit is "false" still cannot end.
    trapped = ExecutionPlan.model_validate(
        {
            **plan.to_document(),
            "steps": [
                plan.to_document()["steps"][0],
                {
                    "type": "branch",
                    "id": "check",
                    "conditions": [
                        {"when": "false", "goto": "done"},
                        {"when": "default", "goto": "pause"},
                    ],
                },
                plan.to_document()["steps"][2],
            ],
        }
    )
    assert {(s, m) for s, _, m in _found(trapped)} == {("pause", TRAPPED), ("check", TRAPPED)}


def test_every_round_through_the_send_must_pass_a_long_wait() -> None:
    """Two cycles through one send: a daily one and a short cut back past the long wait."""
    plan = ExecutionPlan(
        id="shortcut",
        version=1,
        name="shortcut",
        metadata=PlanMetadata(created_at="2026-01-15", created_by="tests"),
        steps=(
            steps.send_email(id="nudge", template_id="tmpl_nudge", subject="Hi"),
            steps.wait(id="minute", duration={"minutes": 1}),
            steps.branch(
                id="quick",
                conditions=[
                    {"when": 'events.hasOpen("nudge")', "goto": "nudge"},
                    {"when": "default", "goto": "day"},
                ],
            ),
            steps.wait(id="day", duration={"days": 1}),
            steps.branch(
                id="daily",
                conditions=[
                    {"when": 'run.visits("daily") >= 3', "goto": "done"},
                    {"when": "default", "goto": "nudge"},
                ],
            ),
            steps.end(id="done", outcome="done"),
        ),
    )
    [(step, _, message)] = _found(plan)
    assert step == "nudge"
    # The short cut is named, not the whole tangle of loops around it.
    assert message.startswith("a cycle through [minute, nudge, quick] sends (nudge) without")


def test_the_example_plans_with_a_daily_loop_still_validate_and_run() -> None:
    notification = load_example("notification.yaml")
    assert _found(notification) == []
    trace = simulate(notification, {"id": "c-1"})
    assert trace.status == "COMPLETED" and trace.outcome == "unread-after-3-sends"
    assert trace.path.count("notice") == 3
    for name in ("sales-sequence.yaml", "collections-sequence.yaml"):
        assert _found(load_example(name)) == []


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("false", True),
        ("true", False),
        ("!false", False),
        ("1 == 2", True),
        ("1 == 1u", False),  # mixed kinds are CEL's business (an error at run time)
        ("2.0 < 1.0", True),
        ('"b" < "a"', True),
        ("null == null", False),
        ("false ? true : false", True),
        ("vars.x ? false : false", True),
        ("vars.x", False),
        ('events.hasReply("a") && false', True),
        ('events.hasReply("a") || false', False),
        ("does not parse (", False),
    ],
)
def test_what_counts_as_false_by_its_text(when: str, expected: bool) -> None:
    assert always_false(when) is expected
