"""The Engine's replay operations: one run against its record, many runs on a new plan.

``replay_stored`` backs ``Engine.replay``: the pure interpreter on the run's recorded
inputs against the stored audit chain, Temporal's Replayer on its history and, with
``dry_run=False``, the workflow code re-executed in an isolated time-skipping server
(``dee.reexecute``). ``what_if_query`` backs ``Engine.what_if`` and
``dee replay --plan NEW.yaml --runs QUERY``: the runs a Temporal visibility query
selects, played through another plan version.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.service import RPCError

from activities import contracts as c
from dee.errors import EngineError
from dee.reexecute import reexecuted_against_record
from dee.replay_history import (
    HistoryRun,
    decode_history,
    fetch_history,
    replay_run,
    run_input_of,
    with_stored_chain,
)
from interpreter import ExecutionPlan, MachineConfig, compile_plan
from interpreter.replay import RecordedRun, ReplayResult, WhatIfReport, what_if

if TYPE_CHECKING:
    from dee.engine import Engine


async def replay_stored(
    engine: Engine, run_id: str, *, dry_run: bool, plan: ExecutionPlan | None
) -> ReplayResult:
    """See ``Engine.replay``."""
    history = await fetch_history(engine.client, run_id)
    run = await decode_history(history, source=f"run {run_id}")
    own_input = run.run_input
    stored = [e.chained().as_dict() for e in await engine.get_timeline(run_id)]
    if stored:
        run = with_stored_chain(run, stored)
    result = replay_run(run, plan, workflow_code=not dry_run)
    if dry_run or plan is not None:
        return result
    return await reexecuted_against_record(run, result, own_input)


def visibility_query(query: str) -> str:
    """``query`` restricted to DEE's plan runs (an empty query selects them all)."""
    kind = f'WorkflowType = "{c.WORKFLOW_NAME}"'
    return f"{kind} AND ({query})" if query.strip() else kind


async def selected_runs(client: Client, query: str, limit: int | None) -> list[str]:
    """The run ids (workflow ids) a visibility query selects, newest first, once each.

    Raises:
        EngineError: the server refused the query (its message names the problem).
    """
    ids: list[str] = []
    seen: set[str] = set()
    try:
        async for execution in client.list_workflows(visibility_query(query)):
            if execution.id in seen:
                continue  # several Temporal runs of one continued-as-new DEE run
            seen.add(execution.id)
            ids.append(execution.id)
            if limit is not None and len(ids) >= limit:
                break
    except RPCError as exc:
        raise EngineError([f"--runs {query!r}: the server refused the query: {exc}"]) from None
    return ids


async def _recorded(engine: Engine, run_id: str) -> RecordedRun:
    history = await fetch_history(engine.client, run_id)
    run_input = run_input_of(history, f"run {run_id}")
    stored = [e.chained().as_dict() for e in await engine.get_timeline(run_id)]
    entries: list[dict[str, Any]]
    if stored and stored[0].get("seq") == 1:
        entries = stored
    elif run_input.state is None:  # nothing stored: the history holds the whole run
        run: HistoryRun = await decode_history(history, source=f"run {run_id}")
        entries = run.entries
    else:
        raise EngineError(
            [
                f"run {run_id}: its audit chain from seq 1 is neither stored nor in its "
                "latest history (it continued as new, or retention archived its head)"
            ]
        )
    # The origin the run's local times counted from, for a start entry that does not
    # record it (a plan without local times, re-simulated on one that has them).
    origin = run_input.calendar_origin_ms or run_input.origin_epoch_ms
    if origin is None and history.events:
        origin = int(history.events[0].event_time.ToMilliseconds())
    return RecordedRun(run_id, run_input.contact, entries, run_input.variables, origin)


async def what_if_query(
    engine: Engine,
    plan: ExecutionPlan,
    query: str,
    *,
    limit: int | None = None,
    start_at: int | None = None,
) -> WhatIfReport:
    """See ``Engine.what_if``; ``start_at`` (epoch milliseconds) re-simulates every run
    as if it started then, instead of at its recorded origin."""
    ids = await selected_runs(engine.client, query, limit)
    runs = [await _recorded(engine, run_id) for run_id in ids]
    scheduler = engine.config.scheduler
    config = MachineConfig(
        step_budget=engine.config.step_budget, tick_interval_ms=scheduler.tick_interval
    )
    costs = {
        "email": engine.config.channels.email.cost_per_email,
        # A call the run never made is estimated at one minute.
        "voice": Decimal(engine.config.policies.cost_per_voice_minute),
    }
    return what_if(
        runs,
        compile_plan(plan, scheduler.tick_interval),
        config=config,
        unit_costs=costs,
        start_at=start_at,
    )
