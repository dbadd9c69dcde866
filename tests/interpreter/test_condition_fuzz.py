"""Hostile and generated conditions: typed errors only, bounded work, one rule.

Properties over generated expressions and data (issue 18, items 4 and 10):

* validation of any text, however deep or long, gives problems, never an exception;
* every condition that validates compiles, and on any contact and variables either
  answers or raises ``ConditionError``, within the cost limit (the bound is checked
  before the evaluator starts, so no example can run long);
* the left-to-right form answers as CEL does wherever CEL answers without an error
  that ``&&``/``||`` absorbed, and writes every other expression back unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cel
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter.cel_limits import COST, CelProblem
from interpreter.cel_validate import check_condition_google
from interpreter.conditions import compile_branch, evaluate_branch
from interpreter.errors import ConditionError
from interpreter.events import Event, EventSnapshot
from interpreter.legacy_cel.cost import UNKNOWN, data_bound, estimate
from interpreter.legacy_cel.strict import left_to_right
from interpreter.legacy_cel.syntax import parse
from interpreter.plan import BranchStep, Condition

STEPS = frozenset({"e", "call"})

# --- hostile text --------------------------------------------------------------------

OPENERS = ["(", "[", "{", "!", "-", "f(", "a.", "x[", "true ? ", "false ? 1 : ", '"', "1 + "]
CLOSERS = [")", "]", "}", "", ": 1", ", 1)", "]]", '"']
FRAGMENTS = [
    *OPENERS, *CLOSERS, "&&", "||", "==", "in", " ", "contact.tier", "vars.L", ".all(x, ",
    ".map(x, ", "has(", "1", "'a'", "\\", "//", "\n", "\ud800", "\x00", "0x", "1u", "1e9",
]  # fmt: skip

deep_text = st.builds(
    lambda opener, n, middle, closer: opener * n + middle + closer * n,
    st.sampled_from(OPENERS),
    st.integers(0, 12_000),
    st.sampled_from(["true", "1", "x", "", "contact.tier"]),
    st.sampled_from(CLOSERS),
)
hostile = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
    deep_text,
)


@settings(max_examples=150, deadline=None)
@given(hostile)
def test_any_text_gives_problems_never_an_exception(source: str) -> None:
    found = check_condition_google(source, step_ids=STEPS)
    assert all(isinstance(p, CelProblem) and p.message for p in found)


# --- generated conditions ------------------------------------------------------------

LISTS = ["(vars.L + [])", "(contact.tags + [])", "[1, 2, 3]", "[]", '["a", "b"]']
SCALARS = ["vars.n", "contact.tier", "vars.missing", "contact.address.city", "1", '"a"', "2.5"]
BOOLS = [
    "true", "false", "has(contact.tier)", 'events.hasOpen("e")', "vars.flag",
    '"a" in contact.tags', "vars.n > 1",
]  # fmt: skip


def _expressions(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return st.sampled_from(BOOLS + SCALARS)
    sub = _expressions(depth - 1)
    return st.one_of(
        st.sampled_from(BOOLS + SCALARS),
        st.tuples(sub, st.sampled_from(["&&", "||", "==", "!=", "<", "+", "/"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda e: f"!({e})"),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(
            st.sampled_from(LISTS), st.sampled_from(["all", "exists", "exists_one"]), sub
        ).map(lambda t: f"{t[0]}.{t[1]}(x, {t[2]} || x == vars.n)"),
        st.tuples(st.sampled_from(LISTS), sub).map(lambda t: f"{t[0]}.map(y, {t[1]}).size() > 0"),
        st.tuples(sub, st.sampled_from(LISTS)).map(lambda t: f"({t[0]} in {t[1]})"),
    )


conditions = _expressions(3)
values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b", "gold", ""])
)
data = st.fixed_dictionaries(
    {},
    optional={
        "L": st.one_of(st.lists(values, max_size=5), st.just(list(range(2000)))),
        "n": st.integers(-3, 3),
        "flag": st.booleans(),
        "tier": st.sampled_from(["gold", "silver"]),
        "tags": st.lists(st.sampled_from(["a", "b", "vip"]), max_size=400),
        "address": st.fixed_dictionaries({}, optional={"city": st.just("Paris")}),
    },
)


def _branch(when: str) -> Any:
    return compile_branch(
        BranchStep(
            id="b",
            conditions=(Condition(when=when, goto="yes"), Condition(when="default", goto="no")),
        )
    )


@settings(max_examples=200, deadline=None)
@given(conditions, data, data, st.booleans())
def test_an_accepted_condition_answers_or_fails_the_run_within_the_cost_limit(
    when: str, contact: dict[str, Any], variables: dict[str, Any], opened: bool
) -> None:
    if check_condition_google(when, step_ids=STEPS):
        return
    branch = _branch(when)  # whatever validates compiles
    events = (Event("email.opened", 1, "o", "e"),) if opened else ()
    try:
        _, cond = evaluate_branch(
            branch, snapshot=EventSnapshot(events), contact=contact, variables=variables, visits={}
        )
    except ConditionError as err:
        assert err.reason
        return
    roots = {"contact": data_bound(contact), "vars": data_bound(variables)}
    assert estimate(parse(when), roots).cost <= COST.value
    assert cond.goto in ("yes", "no")


# --- the left-to-right form ------------------------------------------------------------

CONTEXT = {
    "contact": {"tier": "gold", "tags": ["a", "vip"], "address": {}},
    "vars": {"L": [1, 2, 3], "n": 2, "flag": True},
    "events": {},
}
FUNCTIONS = {"hasOpen": lambda _events, _step: True}


def _cel(source: str) -> tuple[str, object]:
    try:
        context = cel.Context(variables=CONTEXT, functions=FUNCTIONS)
        return "value", cel.compile(source).execute(context)
    except Exception as exc:  # the runtime raises several builtin types
        return "error", type(exc).__name__


@settings(max_examples=300, deadline=None)
@given(conditions)
def test_the_left_to_right_form_answers_as_cel_where_cel_has_no_absorbed_error(
    when: str,
) -> None:
    original = _cel(when)
    strict = _cel(left_to_right(parse(when)))
    if original[0] == "value":
        # the same answer, or an error CEL's && / || had absorbed
        assert strict == original or strict[0] == "error", (when, original, strict)
    else:
        assert strict[0] == "error", (when, original, strict)  # never an error hidden


def _unplaced(node: Any) -> Any:
    """``node`` (a tree, or a tuple of trees) with every source offset set to 0."""
    if isinstance(node, tuple):
        return tuple(_unplaced(part) for part in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {f.name: _unplaced(getattr(node, f.name)) for f in dataclasses.fields(node)}
    return dataclasses.replace(node, **{**changes, "offset": 0})


@settings(max_examples=200, deadline=None)
@given(conditions.filter(lambda s: "&&" not in s and "||" not in s))
def test_an_expression_without_and_or_is_written_back_as_it_was_parsed(when: str) -> None:
    tree = parse(when)
    assert _unplaced(parse(left_to_right(tree))) == _unplaced(tree)


def test_the_static_estimate_knows_nothing_of_the_data() -> None:
    tree = parse("(vars.L + []).all(x, (vars.L + []).exists(y, x == y))")
    static = estimate(tree, {"contact": UNKNOWN, "vars": UNKNOWN})
    measured = estimate(tree, {"contact": UNKNOWN, "vars": data_bound({"L": list(range(50))})})
    assert static.scaled and static.cost < 50 < measured.cost
