"""What the ``dee run`` and ``dee runs`` commands share: showing a run, calling the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dee.cli.common import engine_session, print_json
from dee.engine import ExecutionRun
from dee.runs.reading import describe_exit

RunArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run id.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who takes the action (audited).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audited).")]


def show(run: ExecutionRun, as_json: bool) -> None:
    """Print a run (``--json``: as JSON)."""
    if as_json:
        print_json(run)
        return
    console = Console()
    console.print(f"[bold]{run.run_id}[/bold]  {run.status}  at step {run.current_step or '-'}")
    console.print(
        f"  plan {run.plan_id} v{run.plan_version}, contact {run.contact_id}, tenant {run.tenant}"
    )
    if run.outcome:
        console.print(f"  outcome: {run.outcome}")
    if run.exit_rule:  # why it stopped: the plan's exit rule and the event that matched
        console.print(f"  ended by {describe_exit(run.exit_rule)}", highlight=False, markup=False)
    if run.failure:
        console.print(f"  failure at {run.failure.get('stepId')}: {run.failure.get('reason')}")
    if run.next_wake_tick is not None:
        console.print(f"  next wake-up at tick {run.next_wake_tick}")
    if run.temporal_status:
        console.print(f"  Temporal: {ended_by_temporal(run)}", highlight=False, markup=False)


def ended_by_temporal(run: ExecutionRun) -> str:
    """``execution TERMINATED: <why>``: what Temporal did to a run's execution."""
    return f"execution {run.temporal_status}: {run.temporal_reason}"


async def call(config: Path | None, action: Any) -> Any:
    """Run ``action`` with an engine connected for the command's configuration."""
    async with engine_session(config) as engine:
        return await action(engine)


__all__ = ["ByOpt", "ReasonOpt", "RunArg", "call", "ended_by_temporal", "show"]
