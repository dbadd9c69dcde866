"""What-if: recorded runs played through another plan version.

``what_if_query`` backs ``Engine.what_if`` and ``dee replay --plan NEW.yaml --runs
QUERY``: the runs a Temporal visibility query selects, each from its audit chain as
the database stores it (or, where nothing is stored, as its history carries it).
``what_if_input`` is the same input for one decoded history (``dee replay --plan``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from activities import contracts as c
from adapters.storage.audit import AuditStore
from dee.config import EngineConfig
from dee.errors import EngineError
from dee.replay.from_audit import stored_chain
from dee.replay.from_history import (
    HistoryRun,
    decode_history,
    fetch_history,
    run_input_of,
    run_origin,
)
from interpreter import ExecutionPlan, MachineConfig, compile_plan
from interpreter.replay import RecordedRun, RunChange, WhatIfReport, what_if


def what_if_input(run: HistoryRun) -> RecordedRun:
    """``run`` for a what-if: its contact, variables, chain and origin."""
    inp = run.run_input
    return RecordedRun(inp.run_id, inp.contact, run.entries, inp.variables, run_origin(run))


def what_if_one(run: HistoryRun, plan: ExecutionPlan, start_at: int | None = None) -> RunChange:
    """The run's events and results played through ``plan`` to its end (as a simulation);
    ``start_at`` (epoch milliseconds) as if it started then instead."""
    inp = run.run_input
    config = MachineConfig(step_budget=inp.step_budget, tick_interval_ms=inp.tick_interval_ms)
    compiled = compile_plan(plan, inp.tick_interval_ms)
    report = what_if([what_if_input(run)], compiled, config=config, start_at=start_at)
    return report.changes[0]


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


async def _what_if_input_of(client: Client, audit: AuditStore, run_id: str) -> RecordedRun:
    """Run ``run_id`` for a what-if: its chain as stored from seq 1, else as its history
    carries it."""
    history = await fetch_history(client, run_id)
    run_input = run_input_of(history, f"run {run_id}")
    stored = await stored_chain(audit, run_id)
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
    client: Client,
    audit: AuditStore,
    settings: EngineConfig,
    plan: ExecutionPlan,
    query: str,
    *,
    limit: int | None = None,
    start_at: int | None = None,
) -> WhatIfReport:
    """See ``Engine.what_if``: the runs ``query`` selects played through ``plan``, with
    the step budget, tick and unit costs of ``settings``; ``start_at`` (epoch
    milliseconds) re-simulates every run as if it started then, instead of at its
    recorded origin.

    Raises:
        EngineError: the server refused the query, or a selected run's chain from seq 1
            is neither stored nor in its latest history.
    """
    ids = await selected_runs(client, query, limit)
    if audit.tenant is not None:  # a tenant's engine: the query may select others' runs
        mine = set(await audit.run_ids())
        ids = [run_id for run_id in ids if run_id in mine]
    runs = [await _what_if_input_of(client, audit, run_id) for run_id in ids]
    scheduler = settings.scheduler
    config = MachineConfig(
        step_budget=settings.step_budget, tick_interval_ms=scheduler.tick_interval
    )
    costs = unit_costs(settings, audit.tenant or settings.tenant)
    return what_if(
        runs,
        compile_plan(plan, scheduler.tick_interval),
        config=config,
        unit_costs=costs,
        start_at=start_at,
    )


def unit_costs(settings: EngineConfig, tenant: str) -> dict[str, Decimal]:
    """The estimates the tenant's sends are reserved at (``policies.tenants.<t>.costs``
    over the global ones), so a what-if prices the runs as their gate would."""
    own = settings.policies.tenants.get(tenant)
    per_email = settings.channels.email.cost_per_email
    per_minute = Decimal(settings.policies.cost_per_voice_minute)
    if own is not None:
        per_email = per_email if own.costs.per_email is None else own.costs.per_email
        if own.costs.per_voice_minute is not None:
            per_minute = own.costs.per_voice_minute
    # A call the run never made is estimated at one minute.
    return {"email": per_email, "voice": per_minute}
