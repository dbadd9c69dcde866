"""``RunFilter`` on its own: what each criterion matches, and what it refuses."""

from __future__ import annotations

from adapters.storage import RunRecord
from dee.runs.run_filter import RunFilter

FAILED = RunRecord(
    run_id="r-1", tenant="default", plan_id="sales", plan_version=2, contact_id="c-1",
    status="FAILED", current_step="mail",
    failure={"stepId": "mail", "kind": "send_failed", "reason": "SMTP refused: 550 Relay down"},
)  # fmt: skip
WAITING = RunRecord(
    run_id="r-2", tenant="default", plan_id="sales", plan_version=2, contact_id="c-2",
    status="WAITING", current_step="pause",
)  # fmt: skip


def test_each_criterion_must_match() -> None:
    assert RunFilter(status="FAILED", plan_id="sales", plan_version=2, step="mail").matches(FAILED)
    assert not RunFilter(status="FAILED").matches(WAITING)
    assert not RunFilter(plan_id="sales", plan_version=1).matches(FAILED)
    assert not RunFilter(plan_id="sale").matches(FAILED)  # a plan id is exact
    assert not RunFilter(step="mai").matches(FAILED)  # so is a step
    assert RunFilter(step="pause").matches(WAITING)


def test_failure_is_a_case_insensitive_substring_of_kind_or_reason() -> None:
    for text in ("550", "relay DOWN", "send_failed", "SEND_"):
        assert RunFilter(failure=text).matches(FAILED), text
    assert not RunFilter(failure="551").matches(FAILED)
    assert not RunFilter(failure="").matches(WAITING)  # a run with no failure never
    assert not RunFilter(failure="a").matches(WAITING)


def test_empty_and_malformed_filters_are_refused_naming_the_criterion() -> None:
    for empty in (RunFilter(), RunFilter(failure=" "), RunFilter(query="")):
        assert empty.is_empty()
        assert "an empty filter is refused" in empty.problems()[0]
    assert RunFilter(status="FAILED").problems() == []
    assert RunFilter(status="Failed").problems()[0].startswith("status: 'Failed' is not")
    assert RunFilter(plan_version=0).problems()[0].startswith("plan version: 0")
    assert RunFilter(plan_id="a\x00b").problems()[0].startswith("plan: ")
    assert RunFilter(step="x" * 101).problems()[0].startswith("step: ")
    assert RunFilter(query="DeeStatus = 'FAILED'\x00").problems()[0].startswith("query: ")
    assert RunFilter(failure="x" * 501).problems()[0].startswith("failure: ")
    described = RunFilter(status="FAILED", plan_id="sales", failure="550").describe()
    assert described == "status FAILED, plan sales, failure containing '550'"
