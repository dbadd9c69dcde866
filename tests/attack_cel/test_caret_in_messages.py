"""A refused condition's message shows the library's caret under the line it points at
(issue 23), through ``dee plan validate`` and a ``PlanError`` alike; every other
character of the message stays escaped."""

from __future__ import annotations

from pathlib import Path

import yaml

from interpreter import PlanError, validate
from interpreter.errors import Problem
from tests.cli.test_cli import dee
from tests.interpreter.helpers import branch_plan

WHEN = "size(contact.name) == 3 &&\n  contact.x.startsWith(1)"
CARET = (
    " | contact.x.startsWith(1)\n".replace(" | ", " |   ", 1)
    + " | " + "." * 22 + "^"
)  # fmt: skip


def test_dee_plan_validate_prints_the_caret_under_the_condition(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text(yaml.safe_dump(branch_plan(WHEN).to_document()))
    refused = dee("plan", "validate", str(plan))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert (
        f"{plan}: p: step 'check': conditions[0].when: does not compile: 2:23: "
        "found no matching overload for 'startsWith' applied to '(dyn, int)'\n" + CARET
    ) in refused.stderr


def test_a_plan_error_keeps_the_caret_and_escapes_the_rest() -> None:
    problems = validate(branch_plan(WHEN))
    assert CARET in str(PlanError(problems))
    forged = Problem("p", "check", "when", "bad\nerror: forged line\u202e | x")
    assert str(forged) == "p: step 'check': when: bad\\x0aerror: forged line\\u202e | x"
