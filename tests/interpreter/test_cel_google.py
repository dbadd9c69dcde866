"""Conditions on Google's CEL (``interpreter.cel_env``): compile, DEE's rules, evaluate."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from interpreter.cel_env import (
    CEL_IMPLEMENTATION,
    Activation,
    ConditionError,
    compile_condition,
    rule_problems,
)
from interpreter.events import Event, EventSnapshot

STEPS = frozenset({"intro", "call"})


def _value(source: str, **activation: object) -> object:
    return compile_condition(source).evaluate(Activation(**activation))  # type: ignore[arg-type]


def test_the_recorded_implementation_is_the_installed_one() -> None:
    assert f"cel-expr-python {version('cel-expr-python')}" == CEL_IMPLEMENTATION


@pytest.mark.parametrize(
    ("source", "contact", "expected"),
    [
        ('size("Zoë") == 3', {}, True),
        ("size(contact.name) == 3", {"name": "Zoë"}, True),
        ("dyn(contact.balance) > 100", {"balance": 150}, True),
        ("contact.balance > 100.5", {"balance": 150}, True),
        ('contact.email.lowerAscii().endsWith("@example.com")', {"email": "A@EXAMPLE.COM"}, True),
        (
            'timestamp("2026-01-01T00:00:00Z") < timestamp(contact.due)',
            {"due": "2026-02-01T00:00:00Z"},
            True,
        ),
        ('duration("90m") > duration("1h")', {}, True),
        ("[1, 2, 3].all(e, 6 / (2 - e) == 6)", {}, False),
        ("type(1) == int && type(contact) == map", {}, True),
        ('{1: "a", 2u: "b"}[2] == "b"', {}, True),
        ('contact[?"tier"].orValue("none") == "none"', {}, True),
        ('"%s is %d".format([contact.name, 3]) == "Zoë is 3"', {"name": "Zoë"}, True),
    ],
)
def test_standard_cel_evaluates_as_the_specification_says(
    source: str, contact: dict[str, object], expected: object
) -> None:
    assert _value(source, contact=contact) == expected


def test_an_overflow_is_an_error_not_a_value() -> None:
    with pytest.raises(ConditionError, match="overflow"):
        _value("-(-9223372036854775808) > 0")


def test_a_missing_key_names_it() -> None:
    with pytest.raises(ConditionError, match='"tier"'):
        _value('contact.tier == "gold"', contact={})


def test_member_functions_answer_from_the_activation() -> None:
    snapshot = EventSnapshot((Event(type="email.opened", tick=1, step_id="intro"),))
    source = 'events.hasOpen("intro") && !events.hasReply("intro") && run.visits("call") == 2'
    assert _value(source, events=snapshot, visits={"call": 2}) is True
    assert _value(source, events=snapshot, visits={"call": 1}) is False
    assert _value('events.hasOpen("intro")') is False


def test_a_syntax_error_carries_the_library_position_and_caret() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition("contact.a ==\n  ")
    assert (caught.value.line, caught.value.column) == (2, 3)
    assert caught.value.caret.splitlines()[-1].endswith("^")


def test_functions_only_apply_to_their_receivers() -> None:
    with pytest.raises(ConditionError, match="hasOpen"):
        compile_condition('contact.hasOpen("intro")')
    with pytest.raises(ConditionError, match="hasOpn"):
        compile_condition('events.hasOpn("intro")')


def test_dee_rules_name_unknown_steps_non_booleans_and_unordered_ranges() -> None:
    source = 'events.hasOpen("intro") ||\n  events.hasReply("intr0")'
    [unknown] = rule_problems(compile_condition(source), STEPS)
    assert (unknown.line, unknown.column) == (2, 18)
    assert "unknown step 'intr0'" in str(unknown)
    [not_bool] = rule_problems(compile_condition("1 + 2"), STEPS)
    assert "must be boolean, not int" in str(not_bool)
    for ranged in ("contact.tags.map(t, t)[0] == 1", '{"a": 1}.filter(k, true).size() == 1'):
        [problem] = rule_problems(compile_condition(ranged), STEPS)
        assert "may not range over" in problem.message
    assert rule_problems(compile_condition("[3, 1].map(x, x)[0] == 3"), STEPS) == []
    [problem] = rule_problems(compile_condition("contact.all(k, k != '')"), STEPS)
    assert "may not range over a map" in problem.message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (2**70, "an integer of 71 bits"),
        ("\ud800", "lone surrogate"),
        ({1, 2}, "type set is not JSON"),
        (float("nan"), "not a finite number"),
    ],
)
def test_a_value_cel_cannot_hold_is_named_by_its_field(value: object, reason: str) -> None:
    with pytest.raises(ConditionError, match=reason) as caught:
        _value("contact.x == contact.x", contact={"x": value})
    assert caught.value.message.startswith("contact.x: ")


def test_a_value_without_a_python_form_is_the_library_value() -> None:
    assert str(compile_condition("optional.of(1)").evaluate()) == "optional.of(1)"
    with pytest.raises(ConditionError, match="divide by zero"):
        compile_condition("1 / 0 == 1").evaluate()
