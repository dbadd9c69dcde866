"""One rule for errors in conditions, whatever the operator (issue 18, item 10).

The attack: ``contact.tier == "gold" && events.hasOpen("e")`` for a contact without
``tier`` quietly took the default branch — CEL's ``&&`` absorbs an error when the other
side is ``false`` — although the README promises that a missing field fails the run,
and the same field under ``==`` alone did fail it. Now a condition evaluates left to
right, ``&&``/``||``/``?:`` evaluate their right side only when the left does not
decide, and whatever is evaluated and fails fails the run, naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    Event,
    ExecutionPlan,
    MachineConfig,
    PlanMetadata,
    Status,
    compile_plan,
    ensure_valid,
    simulate,
    steps,
)
from interpreter.conditions import compile_branch, evaluate_branch
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from interpreter.plan import BranchStep, Condition

REPRO = 'contact.tier == "gold" && events.hasOpen("e")'
META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")


def _plan(when: str) -> ExecutionPlan:
    """An email ``e``, a day's wait, then a branch on ``when``."""
    return ensure_valid(
        ExecutionPlan(
            id="tiers",
            version=1,
            name="Tiers",
            metadata=META,
            steps=(
                steps.send_email(id="e", template_id="tmpl", subject="Hi"),
                steps.wait(id="w", duration={"days": 1}),
                steps.branch(
                    id="check",
                    conditions=[
                        {"when": when, "goto": "gold"},
                        {"when": "default", "goto": "other"},
                    ],
                ),
                steps.end(id="gold", outcome="gold"),
                steps.end(id="other", outcome="other"),
            ),
            transitions=[
                {"from": "e", "to": "w"},
                {"from": "w", "to": "check"},
                {"from": "check", "to": "gold"},
                {"from": "check", "to": "other"},
            ],
        )
    )


OPENED = (Event("email.opened", 10, "o-1", "e"),)


def _evaluation_error(trace: Any) -> str:
    [entry] = [e for e in trace.entries if e.action == "evaluate"]
    assert entry.outcome == "error", entry
    return str(entry.detail["error"])


def test_the_issue_reproduction_fails_the_run_naming_the_missing_field() -> None:
    trace = simulate(_plan(REPRO), {"id": "c1"}, OPENED)
    assert trace.status == Status.FAILED
    assert _evaluation_error(trace) == "missing field contact.tier"
    assert "other" not in trace.path and "gold" not in trace.path
    # without the open: CEL would have made it `error && false`, i.e. false
    trace = simulate(_plan(REPRO), {"id": "c1"})
    assert trace.status == Status.FAILED
    assert _evaluation_error(trace) == "missing field contact.tier"


@pytest.mark.parametrize(
    ("contact", "events", "outcome"),
    [
        ({"id": "c1", "tier": "gold"}, OPENED, "gold"),
        ({"id": "c1", "tier": "gold"}, (), "other"),
        ({"id": "c1", "tier": "silver"}, OPENED, "other"),
    ],
)
def test_a_contact_with_the_field_routes_as_before(
    contact: dict[str, Any], events: tuple[Event, ...], outcome: str
) -> None:
    trace = simulate(_plan(REPRO), contact, events)
    assert (trace.status, trace.outcome) == (Status.COMPLETED, outcome)


MISSING_TIER = "missing field contact.tier"
# Every operator, with a contact that has no ``tier``, no ``tags`` and an empty
# ``address``; the variables have no ``limit``. "yes"/"no" is the branch taken.
RULE = [
    ('contact.tier == "gold"', MISSING_TIER),
    ('contact.tier != "gold"', MISSING_TIER),
    ('contact.tier < "m"', MISSING_TIER),
    ('"vip" in contact.tags', "missing field contact.tags"),
    ("!(contact.tier == 'gold')", MISSING_TIER),
    ('contact.tier == "gold" ? true : false', MISSING_TIER),
    ("size(contact.tier) > 0", MISSING_TIER),
    ('contact["tier"] == "gold"', MISSING_TIER),
    ('contact.address.city == "Paris"', "missing field contact.address.city"),
    ("vars.limit > 3", "missing field vars.limit"),
    # && and ||: the left side is evaluated first, whatever the right side would say
    ('contact.tier == "gold" && false', MISSING_TIER),
    ('contact.tier == "gold" || true', MISSING_TIER),
    ('events.hasOpen("e") || contact.tier == "gold"', MISSING_TIER),
    ('true && contact.tier == "gold"', MISSING_TIER),
    ('contact.tier == "gold" && events.hasOpen("e") && true', MISSING_TIER),
    # ... and the right side only when the left does not decide
    ('false && contact.tier == "gold"', "no"),
    ('true || contact.tier == "gold"', "yes"),
    ('events.hasOpen("e") && contact.tier == "gold"', "no"),
    ('false ? contact.tier == "gold" : true', "yes"),
    # has() is the guard
    ('has(contact.tier) && contact.tier == "gold"', "no"),
    ('!has(contact.tier) || contact.tier == "gold"', "yes"),
    ('has(contact.tier) ? contact.tier == "gold" : false', "no"),
    ("has(contact.address.city)", "no"),
    # comprehensions stop at the first deciding element, and fail at an error before it
    ('[1, 2].exists(x, x == 1 || contact.tier == "gold")', "yes"),
    ('[1, 2].exists(x, x == 2 || contact.tier == "gold")', MISSING_TIER),
    # a comprehension variable named like a root is not the contact
    ('[{"tier": 1}].all(contact, contact.tier == 1)', "yes"),
]


def _evaluate(when: str, contact: dict[str, Any], variables: dict[str, Any]) -> str:
    branch = compile_branch(
        BranchStep(
            id="b",
            conditions=(Condition(when=when, goto="yes"), Condition(when="default", goto="no")),
        )
    )
    try:
        _, cond = evaluate_branch(
            branch, snapshot=EventSnapshot(()), contact=contact, variables=variables, visits={}
        )
    except ConditionError as err:
        return err.reason
    return cond.goto


@pytest.mark.parametrize(("when", "expected"), RULE)
def test_one_rule_for_every_operator(when: str, expected: str) -> None:
    assert _evaluate(when, {"id": "c1", "address": {}}, {}) == expected


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("1 / vars.zero == 1 && false", "division by zero"),
        ("[1][vars.two] == 1 && false", "out of bounds"),
        ("int(vars.word) == 1 && false", "string parse error"),
        ("vars.one && false", "No such overload"),  # `&&` needs booleans on both sides
        ("(true && vars.one) == 1", "No such overload"),
    ],
)
def test_every_other_error_follows_the_same_rule(when: str, reason: str) -> None:
    variables = {"zero": 0, "two": 2, "word": "x", "one": 1}
    assert reason.lower() in _evaluate(when, {"id": "c1"}, variables).lower()


# --- runs recorded before the rule -------------------------------------------------------


def test_runs_decided_before_the_rule_replay_by_the_old_one() -> None:
    """``conditions_today`` False is what the workflow answers while replaying a history
    recorded before the rule (``workflow.patched``): the old decision comes back."""
    old = MachineConfig(conditions_today=lambda: False)
    trace = simulate(_plan(REPRO), {"id": "c1"}, config=old)
    assert (trace.status, trace.outcome) == (Status.COMPLETED, "other")
    trace = simulate(_plan('contact.tier == "gold"'), {"id": "c1"}, config=old)
    assert _evaluation_error(trace) == "no such key: 'tier'"  # the old message, byte for byte


def test_the_rule_is_asked_about_only_when_a_condition_fails() -> None:
    """A run records the workflow's patch marker only when it needs the new rule."""
    asked: list[bool] = []

    def today() -> bool:
        asked.append(True)
        return True

    config = MachineConfig(conditions_today=today)
    plan = compile_plan(_plan(REPRO))
    assert simulate(plan, {"id": "c1", "tier": "gold"}, OPENED, config=config).outcome == "gold"
    assert asked == []
    assert simulate(plan, {"id": "c1"}, config=config).status == Status.FAILED
    assert asked == [True]
