"""``dee replay``: re-run a recorded run offline and show where it diverges.

``--history FILE.json`` needs neither a server nor a database; ``RUN_ID`` fetches
the run's history from the Temporal server in the configuration and compares the
replay with the run's audit chain as the configured database stores it, as
``Engine.replay`` does (one flow, ``dee.replay.flow``). ``--plan``
replays the run's inputs on another plan version (what-if); with ``--runs QUERY``
it does so for every run a Temporal visibility query selects. A what-if computes
local times (waits until a time, send windows) from each run's recorded start
instant, or from ``--start-at``. ``--execute`` re-executes the workflow code in an
isolated time-skipping server. ``--rules``/``--preset`` re-decide the recorded sends
under a new rules version (``dee.cli.replay_rules``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dee.cli.common import (
    ConfigOpt,
    JsonOpt,
    config_of,
    engine_session,
    print_json,
    run_async,
    strict_json,
)
from dee.cli.replay_rules import PresetOpt, RulesOpt, rules_what_if
from dee.documents import load_plan
from dee.errors import DocumentError, EngineError
from interpreter import ExecutionPlan, PlanError, ensure_valid
from interpreter.local_time import parse_utc_iso
from interpreter.replay import RunChange, WhatIfReport

if TYPE_CHECKING:
    from dee.replay.flow import Replayed

# Replaying needs Temporal's worker (its Replayer) and, for --execute, its test
# server: imported in the commands below, so the rest of ``dee`` starts without them.

HistoryOpt = Annotated[
    Path | None,
    typer.Option("--history", help="An exported history (JSON); no server or database needed."),
]
PlanOpt = Annotated[
    Path | None,
    typer.Option("--plan", help="Replay on this plan version instead (what-if)."),
]
ExecuteOpt = Annotated[
    bool,
    typer.Option(
        "--execute",
        help="Also re-execute the workflow code in an isolated time-skipping server "
        "whose activities return the recorded results (no provider is contacted).",
    ),
]
RunsOpt = Annotated[
    str | None,
    typer.Option(
        "--runs",
        help="With --plan: every run this Temporal visibility query selects, e.g. "
        "\"DeePlanId = 'sales-sequence'\" ('' for all).",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="With --runs: at most this many runs.")
]
StartAtOpt = Annotated[
    str | None,
    typer.Option(
        "--start-at",
        metavar="ISO-8601",
        help="With --plan: re-simulate as if the run(s) started at this instant "
        "(e.g. 2026-01-09T23:00:00Z) instead of each run's recorded start; local times "
        "(waits until a time, send windows) move with it.",
    ),
]
RunOpt = Annotated[
    str | None,
    typer.Argument(
        metavar="[RUN_ID]",
        help="A run whose history the server holds; compared with its audit chain as "
        "the database stores it, where it does.",
    ),
]


async def _from_server(
    config: Path | None, run_id: str, plan: ExecutionPlan | None, execute: bool
) -> Replayed:
    from dee.audit_keys import verifying_keys  # noqa: PLC0415
    from dee.replay.flow import replay_from_server  # noqa: PLC0415 - see above
    from dee.tenants import not_foreign, unknown_in  # noqa: PLC0415

    async with engine_session(config) as engine, unknown_in(engine.config.tenant):
        await not_foreign(engine.runs, engine.config.tenant, run_id)
        return await replay_from_server(
            engine.client,
            engine.audit,
            run_id,
            plan=plan,
            workflow_code=plan is None,
            execute=execute,
            keys=verifying_keys(engine.config, None),
        )


async def _from_file(
    config: Path | None, path: Path, plan: ExecutionPlan | None, execute: bool
) -> Replayed:
    from dee.connection import reading_codec  # noqa: PLC0415 - see above
    from dee.replay.flow import replay_decoded  # noqa: PLC0415 - see above
    from dee.replay.from_history import decode_history, read_history  # noqa: PLC0415

    _strict_history(path)
    try:
        history = read_history(path)
    except ValueError as exc:
        # Only past the value count _strict_history lets through: an integer
        # beyond Python's digit limit that the strict check stopped short of.
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise DocumentError([f"{path}: {first}"]) from None
    # The file may hold encrypted payloads (``temporal workflow show -o json`` of a run):
    # decoded with the configured keys, and refused naming the key id without them.
    codec = reading_codec(config_of(config))
    run = await decode_history(history, source=str(path), codec=codec)
    return await replay_decoded(run, plan=plan, workflow_code=plan is None, execute=execute)


async def _bulk(
    config: Path | None,
    plan: ExecutionPlan,
    query: str,
    limit: int | None,
    start_at: int | None,
) -> WhatIfReport:
    from dee.replay.what_if import what_if_query  # noqa: PLC0415 - see above

    async with engine_session(config) as engine:
        return await what_if_query(
            engine.client, engine.audit, engine.config, plan, query, limit=limit, start_at=start_at
        )


def _start_at(text: str | None) -> int | None:
    """``--start-at`` as epoch milliseconds.

    Raises:
        EngineError: not an ISO-8601 instant with a UTC offset.
    """
    if text is None:
        return None
    try:
        return parse_utc_iso(text)
    except ValueError as exc:
        raise EngineError([f"--start-at {text!r}: {exc}"]) from None


def _print_bulk(console: Console, plan: ExecutionPlan, query: str, report: WhatIfReport) -> None:
    table = Table("run", "path", "first divergence", "sends changed", "cost difference")
    for change in report.changes:
        path = "[red]changes[/]" if change.diverged else "unchanged"
        first = change.first_divergence or "-"
        table.add_row(
            change.run_id, path, first, str(change.sends_changed), str(change.cost_difference)
        )
    console.print(
        f"what-if on plan [bold]{plan.id}[/] v{plan.version} over runs {query or '(all)'!r}"
    )
    console.print(table)
    console.print(
        f"{report.runs} run(s): {report.diverged} would take another path, "
        f"{report.sends_changed} send(s) would change, cost difference {report.cost_difference}"
    )


def _plan(path: Path) -> ExecutionPlan:
    plan = load_plan(path)
    try:
        return ensure_valid(plan)
    except PlanError as exc:
        raise DocumentError([f"{path}: {p}" for p in exc.problems]) from None


def _strict_history(path: Path) -> None:
    """Refuse a history file the strict decoder refuses, before ``read_history`` parses it
    with the stdlib (deep nesting or a 5,000-digit integer there is a traceback).

    A long run's history can hold more values than documents may (MAX_VALUES); that
    limit guards YAML alias expansion, which JSON has not, so it alone is let through.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # read_history reports these, naming the file
    try:
        strict_json(text, str(path))
    except DocumentError as exc:
        lines = [line for line in exc.lines if not line.startswith(f"{path}: more than ")]
        if lines:
            raise DocumentError(lines) from None


def _short(result: dict[str, Any] | None) -> str:
    if result is None:
        return "-"
    return f"[{result['tick']}] {result['action']} → {result['outcome']}"


def _print(console: Console, replayed: Replayed, what_if: bool, executed: bool) -> None:
    run, result = replayed.run, replayed.result
    inp = run.run_input
    kind = "what-if replay" if what_if else "replay"
    chain = " (the chain as stored)" if replayed.stored else ""
    console.print(
        f"[bold]{kind}[/] of run [bold]{inp.run_id}[/] (contact {inp.contact.get('id', '?')}): "
        f"{len(run.entries)} audit entries{chain}, {run.carried} carried in the history"
    )
    table = Table("step", "visit", "recorded", "replayed", "")
    for s in result.steps:
        visit = (s.original or s.replayed or {}).get("visit", "")
        mark = "[green]=[/]" if s.identical else "[red]≠[/]"
        table.add_row(s.id, str(visit), _short(s.original), _short(s.replayed), mark)
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    if result.identical:
        again = "; the workflow code re-executed to the same chain" if executed else ""
        console.print(
            f"[green]identical[/]: every step and every audit hash replayed the same{again}"
        )
        return
    diffs = Table("step", "field", "expected (recorded)", "actual (replayed)", title="diffs")
    for d in result.diffs:
        field = d.field if d.cause is None else f"{d.field} ({d.cause})"
        diffs.add_row(d.step, field, json.dumps(d.expected), json.dumps(d.actual))
    console.print(diffs)
    console.print(f"[red]diverged[/]: {len(result.diffs)} difference(s)")


def _print_what_if(console: Console, plan: ExecutionPlan, change: RunChange) -> None:
    where = f", first at step {change.first_divergence}" if change.first_divergence else ""
    console.print(
        f"on plan {plan.id} v{plan.version}: path {'changes' if change.diverged else 'unchanged'}"
        f"{where}; sends changed: {change.sends_changed}; "
        f"recorded cost difference: {change.cost_difference}"
    )
    ended = "still open" if change.ended_at is None else f"at tick {change.ended_at}"
    console.print(
        f"outcome: {change.outcome_before or 'open'} → {change.outcome_after or 'open'} ({ended})"
    )
    for s in change.sends_dropped:
        console.print(f"  not sent: {s.step} (recorded at tick {s.tick})")
    for s in change.sends_added:
        console.print(f"  sent anew: {s.step} at tick {s.tick}")
    for before, after in change.sends_moved:
        console.print(f"  moved: {before.step} from tick {before.tick} to tick {after.tick}")


def replay(
    run_id: RunOpt = None,
    history: HistoryOpt = None,
    plan: PlanOpt = None,
    runs: RunsOpt = None,
    limit: LimitOpt = None,
    execute: ExecuteOpt = False,
    start_at: StartAtOpt = None,
    rules: RulesOpt = None,
    preset: PresetOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay a run offline and compare it step by step with what was recorded.

    On the run's own plan the comparison also covers today's workflow code (Temporal's
    Replayer re-runs it on the recorded history; --execute also re-executes it in
    isolation): exit status 1 on any divergence. A what-if (--plan, for one run or
    for every run --runs selects) reports and exits 0, as does a what-if on a new rules
    version (--rules SETTINGS.yaml and/or --preset NAME: the recorded sends re-decided).
    """
    if rules is not None or preset is not None:
        if plan is not None or history is not None or execute or start_at is not None:
            raise EngineError(
                [
                    "--rules/--preset go with RUN_ID or --runs alone (not --plan, --history, "
                    "--execute or --start-at)"
                ]
            )
        rules_what_if(config, rules, preset, run_id, runs, limit, json_out)
        return
    if start_at is not None and plan is None:
        raise EngineError(["--start-at goes with --plan NEW.yaml (a what-if)"])
    start_ms = _start_at(start_at)
    if runs is not None:
        if plan is None or run_id is not None or history is not None:
            raise EngineError(["--runs QUERY goes with --plan NEW.yaml and no RUN_ID or --history"])
        new_plan = _plan(plan)
        report = run_async(_bulk(config, new_plan, runs, limit, start_ms))
        if json_out:
            print_json({**report.as_dict(), "changes": [c.as_dict() for c in report.changes]})
        else:
            _print_bulk(Console(), new_plan, runs, report)
        return
    if (run_id is None) == (history is None):
        raise EngineError(["give either RUN_ID or --history FILE.json"])
    other = None if plan is None else _plan(plan)
    if execute and other is not None:
        raise EngineError(["--execute re-executes the run on its own plan; leave out --plan"])
    if history is not None:
        replayed = run_async(_from_file(config, history, other, execute))
    else:
        assert run_id is not None
        replayed = run_async(_from_server(config, run_id, other, execute))
    run, result = replayed.run, replayed.result
    if other is None:
        change = None
    else:
        from dee.replay.what_if import what_if_one  # noqa: PLC0415 - see above

        change = what_if_one(run, other, start_ms)
    if json_out:
        out = result.as_dict()
        if change is not None:
            out["whatIf"] = change.as_dict()
        print_json(out)
    else:
        console = Console()
        _print(console, replayed, other is not None, execute)
        if other is not None and change is not None:
            _print_what_if(console, other, change)
    if other is not None and run.replay_error is not None:
        Console(stderr=True).print(
            f"warning: the workflow code does not replay this history: {run.replay_error}"
        )
    if other is None and not result.identical:
        raise typer.Exit(code=1)
