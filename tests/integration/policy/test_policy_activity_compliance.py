"""The ``check_policies`` activity carries the run's compliance block (presets, debt,
subject, caller id) from the workflow's request to the gate, and records a debt
reference the run could not resolve beside the decision."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activities.bookkeeping import Bookkeeper
from activities.contracts import AuditBatch, PolicyRequest, RunRow
from activities.policy import PolicyChecker
from adapters.policy import PolicyGate
from adapters.policy.ledger import read_attempts
from adapters.storage import Database, PlanStore
from dee.documents import load_plan

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLAN = load_plan(Path(__file__).resolve().parents[3] / "plans" / "sales-sequence.yaml")
CONTACT = {"id": "c1", "email": "ann@example.com", "timezone": "America/New_York"}


def _request(step: str, **compliance: Any) -> PolicyRequest:
    row = RunRow("run-cb", "acme", PLAN.id, PLAN.version, "c1", "RUNNING", step)
    at = int(datetime.now(UTC).timestamp() * 1000)
    return PolicyRequest(
        AuditBatch(row), "run-cb", "acme", PLAN.id, dict(CONTACT), "email", step, 1, at,
        **compliance,
    )  # fmt: skip


async def test_the_block_reaches_the_gate_and_the_ledger(database: Database) -> None:
    await PlanStore(database, "acme").put(PLAN)
    checker = PolicyChecker(Bookkeeper(database), PolicyGate(database))

    named = await checker.check(
        _request("mail-1", presets=["can-spam"], debt_ref="L-7", subject="Loan L-7")
    )
    missing = await checker.check(
        _request(
            "mail-2",
            presets=["can-spam"],
            debt_ref_problem="compliance.debtRef vars.loan: the run has no value there",
        )
    )
    old_form = await checker.check(_request("mail-3"))

    assert named.decision == missing.decision == old_form.decision == "allow"
    assert "can-spam.opt_out" in _rules(named) and "can-spam.opt_out" in _rules(missing)
    assert "debtRef" not in named.detail and "debtRef" not in old_form.detail
    assert missing.detail["debtRef"] == {
        "problem": "compliance.debtRef vars.loan: the run has no value there"
    }
    assert not any(rule.startswith("can-spam.") for rule in _rules(old_form))

    async with database.snapshot() as conn:
        attempts = await read_attempts(conn, "acme", "c1", datetime(2000, 1, 1, tzinfo=UTC))
    # A plan that names no subject records none: its calls count against every subject.
    assert [(a.debt_ref, a.subject) for a in attempts] == [
        ("L-7", "Loan L-7"),
        (None, None),
        (None, None),
    ]


def _rules(response: Any) -> list[str]:
    return [line["rule"] for line in response.detail["compliance"]["rules"]]


async def test_a_check_that_ran_late_records_the_instant_it_decided_at(database: Database) -> None:
    # Retried through an outage, the gate decides at its own (later) instant; the record
    # names it so a what-if re-decides there. A check on time records no instant, so two
    # equal runs keep equal records.
    await PlanStore(database, "acme").put(PLAN)
    checker = PolicyChecker(Bookkeeper(database), PolicyGate(database))
    on_time = await checker.check(_request("mail-on-time"))
    assert "checkedAt" not in on_time.detail

    late = _request("mail-late")
    late.at_epoch_ms -= 3_600_000  # the run asked an hour before the check ran
    before = datetime.now(UTC)
    response = await checker.check(late)
    checked = datetime.fromisoformat(response.detail["checkedAt"])
    assert before <= checked <= datetime.now(UTC)
