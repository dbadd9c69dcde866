"""Plan validation on Google's CEL (``Limits(google_cel=True)``): the library decides
what parses and type-checks, DEE's rules and the limits of ``cel_limits`` still hold,
and each problem names plan, step and field."""

from __future__ import annotations

from interpreter import Limits, validate
from tests.interpreter.helpers import branch_plan

ON_GOOGLE = Limits(google_cel=True)


def _problems(when: str, limits: Limits = ON_GOOGLE) -> list[str]:
    return [str(p) for p in validate(branch_plan(when), limits=limits)]


def test_standard_cel_the_old_checker_refuses_is_accepted_on_the_library() -> None:
    when = "dyn(contact.balance) > 100 && contact.?nickname.hasValue()"
    assert _problems(when) == []
    assert _problems(when, Limits(google_cel=False)) != []  # the switch is what changes it


def test_a_compile_error_names_the_field_with_line_column_and_caret() -> None:
    [problem] = _problems("contact.age >")
    assert "step 'check': conditions[0].when: does not compile: 1:" in problem
    assert " | contact.age >" in problem and "^" in problem


def test_dees_rules_hold_on_the_library() -> None:
    [unknown] = _problems('events.hasOpen("nowhere")')
    assert "refers to unknown step 'nowhere'" in unknown
    [not_bool] = _problems("1 + 2")
    assert "must be boolean, not int" in not_bool
    [ranged] = _problems("contact.address.exists(k, k == 'city')")
    assert "may not range over a" in ranged


def test_the_length_limit_is_checked_before_the_library_reads_it() -> None:
    [problem] = _problems("true || " * 600 + "true")
    assert "exceeds the expression length limit of 4096 characters" in problem


def test_the_node_count_is_counted_on_the_librarys_tree() -> None:
    when = " || ".join(f"dyn(contact.a{i}) == {i}" for i in range(120))
    assert any("exceeds the node count limit of 500 nodes" in p for p in _problems(when))


def test_nesting_past_the_librarys_limit_is_refused() -> None:
    when = "(" * 40 + "true" + ")" * 40
    [problem] = _problems(when)
    assert "conditions[0].when: does not compile" in problem


def test_the_static_cost_and_comprehension_limits_still_apply() -> None:
    nested = "[1].all(a, [2].all(b, [3].all(c, true)))"
    assert any("comprehension nesting limit of 2" in p for p in _problems(nested))
    big = "[" + ", ".join(str(i) for i in range(200)) + "]"
    costly = f"{big}.all(a, {big}.exists(b, a + b == a * b))"
    assert any("exceeds the evaluation cost limit" in p for p in _problems(costly))
