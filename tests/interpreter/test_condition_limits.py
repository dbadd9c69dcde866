"""Conditions cannot stall a worker (issue 18, item 4).

The attack: ``L.all(a, L.all(b, L.all(c, L.all(d, true))))`` with ``L`` of 100
elements validated, then held a worker at 100 % CPU (10^8 steps) until the
execution was terminated. Now what a condition writes is bounded at validation
(``cel_limits``: length, nodes, nesting, comprehension nesting, literal sizes, a cost
estimate), and what the run's data would make it cost is bounded before each
evaluation: over the limit, the run fails with the reason recorded. Both are decided
by counting, never by a clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    ExecutionPlan,
    Limits,
    PlanError,
    PlanMetadata,
    Problem,
    Status,
    ensure_valid,
    simulate,
    steps,
    validate,
)
from interpreter.cel_limits import (
    COMPREHENSION_NESTING,
    COST,
    LITERAL_ELEMENTS,
    NESTING,
    NODES,
    SOURCE_LENGTH,
    STRING_LITERAL,
)
from interpreter.legacy_cel.lexer import CelSyntaxError
from interpreter.legacy_cel.syntax import parse

META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")
L100 = "[" + ", ".join(str(i) for i in range(100)) + "]"
ISSUE = f"{L100}.all(a, {L100}.all(b, {L100}.all(c, {L100}.all(d, true))))"
# The same shape over data the plan cannot see at validation: a list in the variables.
L = "(vars.L + [])"  # (a bare vars.L is refused: a comprehension over an untyped value)
ISSUE_OVER_DATA = f"{L}.all(a, {L}.all(b, {L}.all(c, {L}.all(d, true))))"
TWO_DEEP_OVER_DATA = f"{L}.all(a, {L}.all(b, a + b >= 0))"


def _plan(when: str) -> ExecutionPlan:
    return ExecutionPlan(
        id="costly",
        version=1,
        name="Costly",
        metadata=META,
        steps=(
            steps.branch(
                id="check",
                conditions=[{"when": when, "goto": "yes"}, {"when": "default", "goto": "no"}],
            ),
            steps.end(id="yes", outcome="yes"),
            steps.end(id="no", outcome="no"),
        ),
    )


# DEE's own checker: how plans of runs recorded before issue 23 are checked.
LEGACY = Limits(google_cel=False)
TODAY = Limits()


def _problems(when: str, limits: Limits = TODAY) -> list[Problem]:
    return validate(_plan(when), limits=limits)


def _messages(when: str, limits: Limits = TODAY) -> list[str]:
    found = _problems(when, limits)
    assert all(
        (p.plan, p.step, p.field) == ("costly", "check", "conditions[0].when") for p in found
    )
    return [p.message for p in found]


def test_the_issue_reproduction_is_refused_at_validation_naming_the_limits() -> None:
    with pytest.raises(PlanError) as caught:
        ensure_valid(_plan(ISSUE))
    assert [str(p) for p in caught.value.problems] == [
        "costly: step 'check': conditions[0].when: exceeds the comprehension nesting limit "
        "of 2 levels: comprehensions nest 4 deep",
        "costly: step 'check': conditions[0].when: exceeds the evaluation cost limit of "
        "100000 units: an estimated 811111104 before any data is read (the ranges of "
        "nested comprehensions multiply, string functions grow text)",
    ]


def test_the_reproduction_over_data_is_refused_at_validation_too() -> None:
    assert _messages(ISSUE_OVER_DATA) == [
        COMPREHENSION_NESTING.exceeded("comprehensions nest 4 deep")
    ]


def test_a_comprehension_over_data_too_big_for_the_limit_fails_the_run_with_the_reason() -> None:
    """Validated (two levels, the data unknown); a thousand elements make it 10^7 units:
    refused before the evaluator starts, so the run fails at once instead of hanging."""
    plan = ensure_valid(_plan(TWO_DEEP_OVER_DATA))
    trace = simulate(plan, {"id": "c1"}, variables={"L": list(range(1000))})
    assert trace.status == Status.FAILED
    [evaluation] = [e for e in trace.entries if e.action == "evaluate"]
    assert evaluation.outcome == "error"
    assert evaluation.detail["error"] == COST.exceeded(
        "an estimated 18018010 on this run's contact and vars"
    )
    [failure] = [e for e in trace.entries if (e.action, e.outcome) == ("run", "failed")]
    assert failure.detail["kind"] == "condition_error"
    assert "evaluation cost limit of 100000 units" in failure.detail["cause"]


def test_the_same_condition_on_small_data_runs() -> None:
    plan = ensure_valid(_plan(TWO_DEEP_OVER_DATA))
    trace = simulate(plan, {"id": "c1"}, variables={"L": list(range(10))})
    assert (trace.status, trace.outcome) == (Status.COMPLETED, "yes")


@pytest.mark.parametrize(
    ("variables", "allowed"),
    [
        ({"tags": ["a"] * 50, "ids": list(range(50))}, True),
        # only what the condition reads counts: a big unrelated list does not
        ({"tags": ["a"] * 50, "ids": list(range(50)), "history": list(range(10**5))}, True),
        ({"tags": ["a"] * 50, "ids": list(range(5000))}, False),
        # long text compared in the inner loop costs its length
        ({"tags": ["a" * 10**5] * 50, "ids": list(range(50))}, False),
    ],
)
def test_the_run_time_bound_measures_what_the_condition_reads(
    variables: dict[str, Any], allowed: bool
) -> None:
    when = "(vars.tags + []).exists(t, (vars.ids + []).exists(i, string(i) == t))"
    trace = simulate(ensure_valid(_plan(when)), {"id": "c1"}, variables=variables)
    assert (trace.status == Status.COMPLETED) is allowed, trace.entries[-1]


@pytest.mark.parametrize(("size", "allowed"), [(100, True), (10**6, False)])
def test_many_reads_of_large_data_are_measured_too(size: int, allowed: bool) -> None:
    """No comprehension, but twenty comparisons of two megabytes of text each."""
    when = " || ".join(["vars.s == vars.t"] * 20)
    variables = {"s": "x" * size, "t": "y" * size}
    trace = simulate(ensure_valid(_plan(when)), {"id": "c1"}, variables=variables)
    assert (trace.status == Status.COMPLETED) is allowed, trace.entries[-1]


# --- each static limit ---------------------------------------------------------------


def _list(n: int) -> str:
    return "[" + ", ".join("1" for _ in range(n)) + "]"


def _map(n: int) -> str:
    return "{" + ", ".join(f"{i}: 1" for i in range(n)) + "}"


@pytest.mark.parametrize(
    ("when", "message", "google"),
    [
        (
            "true || " + " || ".join(["vars.a == 1"] * 500),
            SOURCE_LENGTH.exceeded("it has 7504"),
            SOURCE_LENGTH.exceeded("it has 7504"),
        ),
        (
            "1 in " + _list(300),
            LITERAL_ELEMENTS.exceeded("the list at column 6 has 300"),
            LITERAL_ELEMENTS.exceeded("the list at 1:6 has 300"),
        ),
        # a map of 257 entries is over the node count too (the library's AST counted first)
        (
            "1 in " + _map(257),
            LITERAL_ELEMENTS.exceeded("the map at column 6 has 257"),
            NODES.exceeded("it has 517"),
        ),
        (
            f'vars.s == "{"x" * 1025}"',
            STRING_LITERAL.exceeded("the literal at column 11 has 1025"),
            STRING_LITERAL.exceeded("the literal at 1:11 has 1025"),
        ),
        (
            f'vars.b == b"{"x" * 2000}"',
            STRING_LITERAL.exceeded("the literal at column 11 has 2000"),
            STRING_LITERAL.exceeded("the literal at 1:11 has 2000"),
        ),
        (
            " || ".join(["vars.a == [1, 2, 3]"] * 100),
            NODES.exceeded("it has 799"),
            NODES.exceeded("it has 799"),
        ),
        (
            "[1].all(a, [1].all(b, [1].all(c, true)))",
            COMPREHENSION_NESTING.exceeded("comprehensions nest 3 deep"),
            COMPREHENSION_NESTING.exceeded("comprehensions nest 3 deep"),
        ),
        (
            f"{_list(200)}.all(a, {_list(200)}.exists(b, a + b + a + b > 9))",
            COST.exceeded(
                "an estimated 1000802 before any data is read "
                "(the ranges of nested comprehensions multiply)"
            ),
            COST.exceeded(
                "an estimated 1242204 before any data is read "
                "(the ranges of nested comprehensions multiply, string functions grow text)"
            ),
        ),
    ],
    ids=["length", "list", "map", "string", "bytes", "nodes", "comprehensions", "cost"],
)
def test_each_static_limit_is_refused_naming_the_limit_and_its_value(
    when: str, message: str, google: str
) -> None:
    # Refused on Google's CEL, located as line:column, whichever evaluator the plan is
    # for (DEE's old checker, which worded it as ``message``, is deleted: issue 23).
    assert google in _messages(when)
    assert google in _messages(when, LEGACY)
    del message  # how DEE's old checker (deleted) worded it, kept beside the library's


def test_within_every_limit_is_accepted() -> None:
    literal = _list(LITERAL_ELEMENTS.value)
    assert _messages(f"{literal}.all(a, [1, 2].exists(b, a == b))") == []
    assert _messages(f'vars.s == "{"x" * STRING_LITERAL.value}"') == []
    assert _messages("[1].all(a, [1].all(b, a == b))") == []


@pytest.mark.parametrize(
    "when",
    [
        "(" * 10_000 + "true" + ")" * 10_000,
        "[" * 10_000,
        "!" * 4000 + "true",
        "f(" * 2000,
        "a" + ".b" * 2000,
        "false ? false : " * 255 + "true",
        "1" + " + 1" * 1000 + " > 0",
    ],
    ids=["parens", "brackets", "negations", "calls", "selections", "ternaries", "sums"],
)
def test_deep_nesting_is_a_clean_problem_never_a_recursion_error(when: str) -> None:
    # Google's CEL refuses past its own 32 levels, before DEE's ``MAX_NESTING``; its
    # parser folds a run of ``!`` into one (an even count: none), so that one is valid.
    found = _messages(when)
    if when.startswith("!"):
        assert found == []
        # For the old evaluator the old parser (48 levels) still has the last word.
        [message] = _messages(when, LEGACY)
        assert "does not parse on the old evaluator" in message and "nests deeper" in message
        return
    assert _messages(when, LEGACY) == found
    [message] = found
    assert SOURCE_LENGTH.name in message or (
        message.startswith("does not compile:") and "nesting limit of 32 levels" in message
    ), message


@pytest.mark.parametrize(
    "source",
    ["(" * 10_000 + "1" + ")" * 10_000, "[" * 10_000 + "]" * 10_000, "-" * 10_000 + "x"],
)
def test_the_parser_itself_refuses_deep_nesting_cleanly_at_any_length(source: str) -> None:
    """Whatever reaches the parser without the length check (a plan compiled without
    validation) gets a syntax error, not a RecursionError."""
    with pytest.raises(CelSyntaxError, match="nests deeper than"):
        parse(source)


def test_a_nesting_the_left_to_right_form_cannot_keep_is_refused_by_name() -> None:
    """``&&`` and ``||`` become ``?:`` for the old evaluator; a nesting that form could
    not keep is refused first by the library's 32 levels, below the old parser's."""
    when = "[" * 47 + "true && false" + "]" * 47 + " == []"
    [message] = _messages(when, LEGACY)
    assert "exceeds the nesting limit of 32 levels" in message
    assert NESTING.value > 32
