"""``exitOn`` rules' ``when`` and ``waitForEvent``'s ``until`` are checked on Google's
CEL, the evaluator new runs use (issue 23), as branch conditions are; with
``Limits(google_cel=False)`` (plans of runs recorded before) they must also compile on
the old evaluator and call only functions it has."""

from __future__ import annotations

import copy
from typing import Any

from interpreter import Limits, Problem, parse_plan, validate

from .test_stop_validation import _base, _step

OLD, TODAY = Limits(google_cel=False), Limits()


def _problems(doc: dict[str, Any], limits: Limits = TODAY) -> list[Problem]:
    return validate(parse_plan(doc, source="stop.yaml"), limits=limits)


def _where(problems: list[Problem]) -> dict[tuple[str | None, str], str]:
    return {(p.step, p.field): p.message for p in problems}


def test_standard_cel_in_exit_rules_and_waits_is_valid_on_the_library_only() -> None:
    doc = copy.deepcopy(_base())
    doc["exitOn"][2]["when"] = 'dyn(contact.score) > 100 || size("Zoë") == 3'
    _step(doc, "await")["until"] = 'events.hasReply("intro") && contact.tier.lowerAscii() == "vip"'
    assert _problems(doc) == []
    old = _where(_problems(doc, OLD))
    assert "unknown function 'dyn'" in old[(None, "exitOn[2].when")]
    assert "unknown function 'lowerAscii'" in old[("await", "until")]


def test_a_broken_exit_rule_or_until_gets_the_librarys_caret() -> None:
    doc = copy.deepcopy(_base())
    doc["exitOn"][2]["when"] = 'events.hasReply("intro") &&'
    _step(doc, "await")["until"] = 'events.hasReply("nowhere")'
    found = _where(_problems(doc))
    assert set(found) == {(None, "exitOn[2].when"), ("await", "until")}
    when = found[(None, "exitOn[2].when")]
    assert when.startswith("does not compile: 1:") and "^" in when
    assert '| events.hasReply("intro") &&' in when
    assert "unknown step 'nowhere'" in found[("await", "until")]
