"""``dee audit verify`` flags a run whose row says it ended but whose chain has no closing
entry; runs still going are asked about at Temporal, and when Temporal cannot be
reached the command says so and still checks the rows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from storage_helpers import make_chain, unique

from adapters.storage import AuditStore, Database, PlanStore, RunRecord, RunStore
from dee.devserver import free_port
from interpreter.chain import chain
from interpreter.trace import RUN_SCOPE, TraceEntry
from tests.integration.runtime.plans import one_email

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLAN = one_email("open-chains")


def dee(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dee", *args],
        capture_output=True, text=True, env=dict(env), cwd=cwd, check=False, timeout=120,
    )  # fmt: skip


async def _run(database: Database, status: str, trace: list[TraceEntry] | None = None) -> str:
    run_id = unique()
    await RunStore(database).upsert(RunRecord(run_id, "default", PLAN.id, 1, "c-1", status))
    entries = make_chain(run_id, 3) if trace is None else chain(run_id, trace)
    await AuditStore(database).append(entries)
    return run_id


async def test_a_run_row_that_ended_without_a_closing_entry_fails_verify(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    await PlanStore(database).put(PLAN)
    closed = [
        TraceEntry(0, RUN_SCOPE, "start", "started", {"planId": PLAN.id}),
        TraceEntry(0, "done", "end", "sent"),
    ]
    unclosed = await _run(database, "COMPLETED")
    completed = await _run(database, "COMPLETED", closed)
    canceled = await _run(
        database, "CANCELED", [*closed[:1], TraceEntry(5, RUN_SCOPE, "cancel", "accepted")]
    )
    # An exit rule closes the chain; its "pending" announcement does not.
    exited = await _run(
        database,
        "COMPLETED",
        [
            *closed[:1],
            TraceEntry(4, RUN_SCOPE, "exit", "pending", {"inFlight": "send"}),
            TraceEntry(5, RUN_SCOPE, "exit", "replied", {"rule": 0}),
        ],
    )

    # No Temporal listens here: the run still going cannot be asked about.
    offline = {**cli_env, "DEE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}

    one = dee(offline, tmp_path, "audit", "verify", unclosed)
    by_exit = dee(offline, tmp_path, "audit", "verify", exited)
    good = dee(offline, tmp_path, "audit", "verify", completed)
    without_live = dee(offline, tmp_path, "audit", "verify", "--all")
    waiting = await _run(database, "WAITING")
    with_live = dee(offline, tmp_path, "audit", "verify", "--all")

    flagged = (
        f"error: run {unclosed}: ended (run row COMPLETED) without a closing audit entry "
        "(end, exit, cancel accepted or resolve end); the last is seq 3 (step-2 evaluate branch:no)"
    )
    assert (one.returncode, one.stdout, one.stderr) == (1, "", flagged + "\n")
    assert (good.returncode, good.stderr) == (0, "")
    assert (by_exit.returncode, by_exit.stderr) == (0, "")
    assert good.stdout == f"run {completed}: ok, 2 entries (seq 1..2)\n"
    # Every recorded run's row is final: Temporal is not needed, so not asked.
    assert without_live.returncode == 1
    assert sorted(without_live.stdout.splitlines()) == sorted(
        [
            f"run {completed}: ok, 2 entries (seq 1..2)",
            f"run {canceled}: ok, 2 entries (seq 1..2)",
            f"run {exited}: ok, 3 entries (seq 1..3)",
        ]
    )
    assert with_live.returncode == 1
    warning, error = with_live.stderr.splitlines()
    assert warning.startswith(
        f"warning: cannot reach Temporal at {offline['DEE_TEMPORAL_ADDRESS']}"
    )
    assert warning.endswith("; runs whose execution died there were not checked")
    assert error == flagged
    announced = await _run(
        database,
        "COMPLETED",
        [*closed[:1], TraceEntry(4, RUN_SCOPE, "exit", "pending", {"inFlight": "send"})],
    )
    only_announced = dee(offline, tmp_path, "audit", "verify", announced)
    assert (only_announced.returncode, only_announced.stdout) == (1, "")
    assert only_announced.stderr.endswith("the last is seq 2 (@run exit pending)\n")
    assert f"run {waiting}: ok, 3 entries (seq 1..3)" in with_live.stdout.splitlines()
