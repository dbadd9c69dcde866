"""The compiled plan a run's admission caches (``compiled_snapshot``, once per plan text
per process) is keyed by the evaluator too (``Limits.google_cel``): a run on Google's CEL
and one on the old evaluator of the same plan never share one (issue 23)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from interpreter import MachineConfig, PlanError, simulate
from interpreter.machine import compiled_snapshot
from interpreter.validation import ADMISSION

from .helpers import branch_plan

GOOGLE, OLD = replace(ADMISSION, google_cel=True), replace(ADMISSION, google_cel=False)
ZOE = {"id": "c-1", "name": "Zoë"}


def test_the_same_plan_text_compiles_for_each_evaluator() -> None:
    doc = branch_plan("size(contact.name) == 3").to_document()
    on_google = compiled_snapshot(doc, 1000, source="run g", limits=GOOGLE)
    on_old = compiled_snapshot(doc, 1000, source="run o", limits=OLD)
    assert on_google is not on_old
    assert compiled_snapshot(doc, 1000, source="again", limits=GOOGLE) is on_google  # cached
    google_run = simulate(on_google, ZOE, config=MachineConfig(google_cel=True))
    old_run = simulate(on_old, ZOE, config=MachineConfig(google_cel=False))
    assert (google_run.outcome, old_run.outcome) == ("yes", "no")


def test_a_plan_valid_only_on_google_cel_is_refused_for_the_old_one_even_once_cached() -> None:
    doc = branch_plan("dyn(contact.balance) > 100").to_document()
    compiled_snapshot(doc, 1000, source="run g", limits=GOOGLE)
    with pytest.raises(PlanError) as caught:
        compiled_snapshot(doc, 1000, source="run o", limits=OLD)
    assert "unknown function 'dyn'" in str(caught.value)


def test_an_overload_the_old_runtime_lacks_fails_the_old_run_cleanly() -> None:
    """The gap the old checker's deletion leaves (``legacy_cel.functions``): ``string()``
    exists on the old runtime but not for a bool, so the plan validates for it; a run
    reaching the condition fails with the condition named, and Google's CEL answers."""
    doc = branch_plan('string(true) == "true"').to_document()
    on_old = compiled_snapshot(doc, 1000, source="run o", limits=OLD)
    old_run = simulate(on_old, ZOE, config=MachineConfig(google_cel=False))
    assert old_run.status == "FAILED"
    [error] = [e for e in old_run.entries if e.action == "evaluate" and e.outcome == "error"]
    assert error.step_id == "check" and "function: 'string'" in str(error.detail["error"])
    on_google = compiled_snapshot(doc, 1000, source="run g", limits=GOOGLE)
    assert simulate(on_google, ZOE, config=MachineConfig(google_cel=True)).outcome == "yes"
