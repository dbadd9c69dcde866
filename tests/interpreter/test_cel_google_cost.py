"""The cost bound and the limits of ``cel_limits`` on Google's CEL, estimated on the
library's checked AST: refused at validation when what a condition writes is too
costly, refused at run time when the run's data makes it so, whatever syntax it uses
(``dyn()``, optionals, the strings extension); hostile conditions get a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import Limits, steps, validate
from interpreter.cel_branch import evaluate_google
from interpreter.conditions import compile_branch
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from tests.interpreter.helpers import branch_plan

ON_GOOGLE = Limits(google_cel=True)
COST = "exceeds the evaluation cost limit of 100000 units"


def _problems(when: str) -> list[str]:
    return [str(p) for p in validate(branch_plan(when), limits=ON_GOOGLE)]


def _run(when: str, contact: dict[str, Any], **variables: Any) -> bool:
    step = steps.branch(
        id="check",
        conditions=[{"when": when, "goto": "yes"}, {"when": "default", "goto": "no"}],
    )
    index, _ = evaluate_google(
        compile_branch(step, google_cel=True),
        snapshot=EventSnapshot(()),
        contact=contact,
        variables=variables,
        visits={},
    )
    return index == 0


_BIG = "[" + ", ".join(str(i) for i in range(200)) + "]"


@pytest.mark.parametrize(
    "when",
    [
        f"{_BIG}.all(a, {_BIG}.exists(b, a + b == a * b))",
        f"dyn({_BIG}).all(a, dyn({_BIG}).exists(b, a == b))",
        f"optional.of({_BIG}).value().all(a, {_BIG}.exists(b, a == b))",
        # Each replace() with an empty pattern multiplies its text's length by 9 here:
        # 43 million characters.
        '"a"' + '.replace("", "abcdefgh")' * 8 + ".size() > 0",
        f'{_BIG}.exists(a, "x".split("").exists(b, {_BIG}.exists(c, a == c)))',
    ],
)
def test_a_condition_too_costly_before_any_data_is_refused_at_validation(when: str) -> None:
    problems = _problems(when)
    assert any(COST in p and "before any data is read" in p for p in problems), problems


@pytest.mark.parametrize(
    "when",
    [
        'contact.name.split("").exists(a, contact.name.split("").exists(b, a == b))',
        'dyn(contact.name).split("").map(p, p + p).size() > 0',
        'contact.?name.orValue("").split("").exists(a, a == "x" && contact.name.contains(a))',
        'contact.name.replace("", contact.name).size() > 0',
        f'{_BIG}.exists(i, contact.name.contains(string(i)) || vars.note.endsWith("x"))',
    ],
)
def test_the_runs_data_is_bounded_before_evaluation(when: str) -> None:
    assert _problems(when) == []  # validation knows no data: nothing to refuse yet
    _run(when, {"name": "Zoë"}, note="a")  # small data: evaluated (whatever it answers)
    with pytest.raises(ConditionError) as refused:
        _run(when, {"name": "n" * 120_000}, note="a")
    reason = refused.value.reason
    # The estimate's wording: refused by counting before evaluation, not by running it.
    assert reason.startswith(COST) and "on this run's contact and vars" in reason


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("(" * 40 + "true" + ")" * 40, "exceeds the nesting limit of 32 levels"),
        (" + ".join(["1"] * 100) + " > 0", "exceeds the nesting limit of 32 levels"),
        ("[" * 31 + "1" + "]" * 31 + " != []", "exceeds the nesting limit of 32 levels"),
        ('"' + "x" * 10_000 + '" == ""', "exceeds the expression length limit of 4096"),
        ('"' + "x" * 2_000 + '" == contact.a', "exceeds the string literal limit of 1024"),
        ("[" + ",".join(["0"] * 300) + "] == vars.l", "exceeds the literal size limit of 256"),
        ("[" + ",".join(["0"] * 700) + "] == vars.l", "exceeds the node count limit of 500"),
        ("[1].all(a, [2].all(b, [3].all(c, true)))", "exceeds the comprehension nesting limit"),
    ],
)
def test_a_hostile_condition_gets_a_clear_error_naming_the_limit(when: str, message: str) -> None:
    problems = _problems(when)
    assert any(message in p for p in problems), problems
    assert all("Traceback" not in p and "<input>:-1:-1" not in p for p in problems)
