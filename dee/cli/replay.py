"""``dee replay``: re-run a recorded run offline and show where it diverges.

``--history FILE.json`` needs neither a server nor a database; ``RUN_ID`` fetches
the run's history from the Temporal server in the configuration. ``--plan``
replays the run's inputs on another plan version (what-if).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dee.cli.common import ConfigOpt, JsonOpt, engine_session, run_async
from dee.documents import load_plan
from dee.errors import DocumentError, EngineError
from dee.replay_history import HistoryRun, decode_history, fetch_history, read_history, replay_run
from interpreter import ExecutionPlan, MachineConfig, PlanError, compile_plan, ensure_valid
from interpreter.replay import RecordedRun, ReplayResult, what_if

HistoryOpt = Annotated[
    Path | None,
    typer.Option("--history", help="An exported history (JSON); no server or database needed."),
]
PlanOpt = Annotated[
    Path | None,
    typer.Option("--plan", help="Replay on this plan version instead (what-if)."),
]
RunOpt = Annotated[
    str | None,
    typer.Argument(metavar="[RUN_ID]", help="A run whose history the server holds."),
]


async def _from_server(config: Path | None, run_id: str) -> HistoryRun:
    async with engine_session(config) as engine:
        history = await fetch_history(engine.client, run_id)
    return await decode_history(history, source=f"run {run_id}")


def _plan(path: Path) -> ExecutionPlan:
    plan = load_plan(path)
    try:
        return ensure_valid(plan)
    except PlanError as exc:
        raise DocumentError([f"{path}: {p}" for p in exc.problems]) from None


def _short(result: dict[str, Any] | None) -> str:
    if result is None:
        return "-"
    return f"[{result['tick']}] {result['action']} → {result['outcome']}"


def _print(console: Console, run: HistoryRun, result: ReplayResult, what_if: bool) -> None:
    inp = run.run_input
    kind = "what-if replay" if what_if else "replay"
    console.print(
        f"[bold]{kind}[/] of run [bold]{inp.run_id}[/] (contact {inp.contact.get('id', '?')}): "
        f"{len(run.entries)} audit entries, {run.carried} carried in the history"
    )
    table = Table("step", "visit", "recorded", "replayed", "")
    for s in result.steps:
        visit = (s.original or s.replayed or {}).get("visit", "")
        mark = "[green]=[/]" if s.identical else "[red]≠[/]"
        table.add_row(s.id, str(visit), _short(s.original), _short(s.replayed), mark)
    console.print(table)
    if result.identical:
        console.print("[green]identical[/]: every step and every audit hash replayed the same")
        return
    diffs = Table("step", "field", "expected (recorded)", "actual (replayed)", title="diffs")
    for d in result.diffs:
        diffs.add_row(d.step, d.field, json.dumps(d.expected), json.dumps(d.actual))
    console.print(diffs)
    console.print(f"[red]diverged[/]: {len(result.diffs)} difference(s)")


def _print_what_if(console: Console, run: HistoryRun, plan: ExecutionPlan) -> None:
    """The run's events and results played through ``plan`` to its end (as a simulation)."""
    inp = run.run_input
    recorded = RecordedRun(inp.run_id, inp.contact, run.entries, inp.variables)
    config = MachineConfig(step_budget=inp.step_budget, tick_interval_ms=inp.tick_interval_ms)
    report = what_if([recorded], compile_plan(plan, inp.tick_interval_ms), config=config)
    change = report.changes[0]
    where = f", first at step {change.first_divergence}" if change.first_divergence else ""
    console.print(
        f"on plan {plan.id} v{plan.version}: path {'changes' if change.diverged else 'unchanged'}"
        f"{where}; sends changed: {change.sends_changed}; "
        f"recorded cost difference: {change.cost_difference}"
    )


def replay(
    run_id: RunOpt = None,
    history: HistoryOpt = None,
    plan: PlanOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay a run offline and compare it step by step with what was recorded.

    On the run's own plan the comparison also covers today's workflow code (Temporal's
    Replayer re-runs it on the recorded history): exit status 1 on any divergence.
    A what-if (--plan) reports and exits 0.
    """
    if (run_id is None) == (history is None):
        raise EngineError(["give either RUN_ID or --history FILE.json"])
    other = None if plan is None else _plan(plan)
    if history is not None:
        text = read_history(history)
        run = run_async(decode_history(text, source=str(history)))
    else:
        assert run_id is not None
        run = run_async(_from_server(config, run_id))
    result = replay_run(run, other, workflow_code=other is None)
    if json_out:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        console = Console()
        _print(console, run, result, other is not None)
        if other is not None:
            _print_what_if(console, run, other)
    if other is not None and run.replay_error is not None:
        Console(stderr=True).print(
            f"warning: the workflow code does not replay this history: {run.replay_error}"
        )
    if other is None and not result.identical:
        raise typer.Exit(code=1)
