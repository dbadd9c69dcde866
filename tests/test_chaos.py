"""A short chaos run in the suite (``python -m bench.chaos`` is the long one): ``dee worker``
processes and the dev server SIGKILLed while the SMTP sink holds messages, then every
promise checked, and every send left ``unknown`` settled by an operator as DEE asks."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from bench.chaos import ChaosReport, ChaosSettings, chaos
from bench.chaos_sink import HoldingSink
from dee.engine import Engine
from dee.errors import EngineError
from tests.integration.waiting import until


async def _settle_unknowns(engine: Engine, sink: HoldingSink, report: ChaosReport) -> None:
    """Each unknown SMTP send: retry without --resend is refused; the operator checks the
    sink (the relay's log) and marks it sent, or resends it; every run then completes."""
    accepted = {(a.run_id, a.step_id) for a in sink.snapshot()}
    for listed in await engine.list_runs(status="FAILED", limit=1000):
        run = await engine.get_run(listed.run_id)  # the listing carries no failure reason
        failure = run.failure or {}
        assert str(failure.get("reason", "")).startswith("send_outcome_unknown"), failure
        with pytest.raises(EngineError, match="--resend"):
            await engine.retry_run(run.run_id, by="chaos-test")
        if (run.run_id, failure.get("stepId")) in accepted:
            await engine.resolve_run(
                run.run_id, resolution="mark_sent", target="", by="chaos-test", reason="in log"
            )
        else:
            await engine.retry_run(run.run_id, by="chaos-test", reason="not in log", resend=True)
    for run in await engine.list_runs(limit=1000):
        await until(
            partial(engine.get_run, run.run_id),
            lambda r: r.status == "COMPLETED",
            what=f"run {run.run_id} completing after the operators' decision",
            timeout=60,
            every=0.1,
        )
        assert (await engine.audit.verify(run.run_id)).ok
    # After the operators' decisions: still one message per Message-ID at the sink.
    assert sink.duplicates() == {}


async def test_workers_and_the_server_killed_mid_send_lose_nothing_and_send_once(
    tmp_path: Path,
) -> None:
    settings = ChaosSettings(
        runs=12, worker_kills=4, server_kills=1, hold_seconds=0.4, settle_seconds=240
    )
    report = await chaos(settings, tmp_path, aftermath=_settle_unknowns)

    assert report.violations() == {}
    assert (report.worker_kills, report.server_kills) == (4, 1)
    assert report.events_taken == 12
    assert report.completed + sum(report.failed_by_reason.values()) == 12
    assert set(report.failed_by_reason) <= {"send_outcome_unknown"}
    assert all(seconds < 30 for seconds in report.lost_send_to_failed_seconds)
