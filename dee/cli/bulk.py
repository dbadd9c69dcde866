"""``dee runs retry|resolve|cancel|pause|resume``: an operator action over the runs a
filter selects (``Engine.bulk``, ``dee.runs.bulk``).

A dry run by default: the count and a sample, nothing done. ``--yes`` acts, printing
one JSON line per run on stdout (``{"runId", "action", "ok", "error", "status"}``) as
each finishes, a progress bar on stderr when stderr is a terminal, and a summary on
stderr; the exit status is 1 when any run refused the action.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from dee.cli.common import ConfigOpt, JsonOpt, engine_session, run_async
from dee.cli.run_view import ByOpt
from dee.errors import DocumentError
from dee.runs.bulk import CONCURRENCY, SAMPLE, BulkOutcome, BulkRequest, BulkResult
from dee.runs.operator import Action
from dee.runs.reading import ExecutionRun
from dee.runs.run_filter import RunFilter

StatusOpt = Annotated[
    str | None, typer.Option("--status", help="Runs in this status, e.g. FAILED (exact).")
]
PlanOpt = Annotated[str | None, typer.Option("--plan", help="Runs of this plan id (exact).")]
VersionOpt = Annotated[
    int | None, typer.Option("--plan-version", help="Runs of this plan version (exact).")
]
StepOpt = Annotated[str | None, typer.Option("--step", help="Runs at this step id (exact).")]
FailureOpt = Annotated[
    str | None,
    typer.Option(
        "--failure",
        help="Failed runs whose failure kind or reason contains this text "
        "(substring, case-insensitive), e.g. channel_rejected or 550.",
    ),
]
QueryOpt = Annotated[
    str | None,
    typer.Option(
        "--query",
        help="A Temporal visibility query, e.g. \"DeePlanId = 'sales' AND DeeStep = 'call'\".",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", help="Act (without it: a dry run).")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", help="Runs acted on at a time (1-64).")
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", help="At most this many runs, newest first.")
]
SampleOpt = Annotated[int, typer.Option("--sample", help="Runs shown by a dry run.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audited on each run).")]


def _bulk(
    action: Action,
    where: RunFilter,
    request: BulkRequest,
    options: dict[str, Any],
    config: Path | None,
    as_json: bool,
) -> None:
    yes = bool(options.pop("yes"))  # --json shapes only the dry run: --yes prints JSON lines
    if yes:
        result = run_async(_act(action, where, request, options, config))
        _summary(result)
        if result.failed:
            raise typer.Exit(code=1)
        return
    result = run_async(_dry_run(action, where, request, options, config))
    _show_dry_run(result, where, as_json)


async def _dry_run(
    action: Action,
    where: RunFilter,
    request: BulkRequest,
    options: dict[str, Any],
    config: Path | None,
) -> BulkResult:
    async with engine_session(config) as engine:
        return await engine.bulk(action, where, request, dry_run=True, **options)


async def _act(
    action: Action,
    where: RunFilter,
    request: BulkRequest,
    options: dict[str, Any],
    config: Path | None,
) -> BulkResult:
    async with engine_session(config) as engine:
        # On stderr, and only on a terminal: stdout stays the JSON lines.
        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(f"{action} runs", total=None)

            def selected(count: int) -> None:
                bar.update(task, total=count)

            def done(outcome: BulkOutcome) -> None:
                sys.stdout.write(json.dumps(outcome.as_json(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
                bar.advance(task)

            return await engine.bulk(
                action, where, request, dry_run=False, on_selected=selected, on_outcome=done,
                **options,
            )  # fmt: skip


def _summary(result: BulkResult) -> None:
    failed = len(result.failed)
    print(
        f"{result.action}: {result.count} run(s) selected, {result.count - failed} done, "
        f"{failed} refused or failed",
        file=sys.stderr,
    )


def _sample_json(run: ExecutionRun) -> dict[str, Any]:
    return {
        "runId": run.run_id,
        "status": run.status,
        "step": run.current_step,
        "planId": run.plan_id,
        "planVersion": run.plan_version,
        "failure": dict(run.failure) if run.failure else None,
    }


def _show_dry_run(result: BulkResult, where: RunFilter, as_json: bool) -> None:
    if as_json:
        shown = {
            "action": result.action,
            "dryRun": True,
            "count": result.count,
            "sample": [_sample_json(r) for r in result.sample],
        }
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    # Plain lines (no wrapping): a run id or a failure is copied from here.
    print(
        f"{result.count} run(s) match {where.describe()} "
        f"(dry run, nothing done; add --yes to {result.action} them)"
    )
    for run in result.sample:
        failure = f"  failure: {run.failure.get('reason')}" if run.failure else ""
        print(
            f"  {run.run_id}  {run.status}  at {run.current_step or '-'}  "
            f"plan {run.plan_id} v{run.plan_version}{failure}"
        )
    if result.count > len(result.sample):
        print(f"  ... and {result.count - len(result.sample)} more")


def _filter(
    status: str | None,
    plan: str | None,
    plan_version: int | None,
    step: str | None,
    failure: str | None,
    query: str | None,
) -> RunFilter:
    return RunFilter(
        status=status, plan_id=plan, plan_version=plan_version, step=step, failure=failure,
        query=query,
    )  # fmt: skip


def _simple(action: Action, summary: str) -> Any:
    """A bulk command taking only the filter, ``--by`` and ``--reason``."""

    def command(
        status: StatusOpt = None,
        plan: PlanOpt = None,
        plan_version: VersionOpt = None,
        step: StepOpt = None,
        failure: FailureOpt = None,
        query: QueryOpt = None,
        yes: YesOpt = False,
        concurrency: ConcurrencyOpt = CONCURRENCY,
        limit: LimitOpt = None,
        sample: SampleOpt = SAMPLE,
        by: ByOpt = "cli",
        reason: ReasonOpt = "",
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        where = _filter(status, plan, plan_version, step, failure, query)
        options = {"yes": yes, "concurrency": concurrency, "limit": limit, "sample": sample}
        _bulk(action, where, BulkRequest(by=by, reason=reason), options, config, as_json)

    command.__doc__ = summary
    return command


def retry(
    status: StatusOpt = None,
    plan: PlanOpt = None,
    plan_version: VersionOpt = None,
    step: StepOpt = None,
    failure: FailureOpt = None,
    query: QueryOpt = None,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend",
            help="Send again although the provider cannot be asked whether an unknown "
            "attempt went out (SMTP); recorded on each run with --by and --reason.",
        ),
    ] = False,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = CONCURRENCY,
    limit: LimitOpt = None,
    sample: SampleOpt = SAMPLE,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retry the failed step of every failed run the filter selects (dry run without --yes)."""
    where = _filter(status, plan, plan_version, step, failure, query)
    options = {"yes": yes, "concurrency": concurrency, "limit": limit, "sample": sample}
    request = BulkRequest(by=by, reason=reason, resend=resend)
    _bulk("retry", where, request, options, config, as_json)


def resolve(
    status: StatusOpt = None,
    plan: PlanOpt = None,
    plan_version: VersionOpt = None,
    step: StepOpt = None,
    failure: FailureOpt = None,
    query: QueryOpt = None,
    skip_to: Annotated[str | None, typer.Option("--skip-to", help="Continue at this step.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Complete with this outcome.")] = None,
    mark_sent: Annotated[
        bool,
        typer.Option("--mark-sent", help="The failed or unknown sends did go out (you checked)."),
    ] = False,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = CONCURRENCY,
    limit: LimitOpt = None,
    sample: SampleOpt = SAMPLE,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve every failed run the filter selects (dry run without --yes).

    Skip to a step, end with an outcome, or mark the failed send sent.
    """
    if sum((skip_to is not None, end is not None, mark_sent)) != 1:
        raise DocumentError(["give exactly one of --skip-to STEP, --end OUTCOME or --mark-sent"])
    resolution, target = ("skip", skip_to) if skip_to is not None else ("end", end)
    if mark_sent:
        resolution, target = "mark_sent", None
    where = _filter(status, plan, plan_version, step, failure, query)
    options = {"yes": yes, "concurrency": concurrency, "limit": limit, "sample": sample}
    request = BulkRequest(by=by, reason=reason, resolution=resolution, target=target)
    _bulk("resolve", where, request, options, config, as_json)


def register(app: typer.Typer) -> None:
    """Add the bulk commands to the ``dee runs`` group."""
    app.command("retry")(retry)
    app.command("resolve")(resolve)
    app.command("cancel")(
        _simple(
            "cancel",
            "Cancel every run the filter selects (--reason required; dry run without --yes).",
        )
    )
    app.command("pause")(
        _simple("pause", "Pause every run the filter selects (dry run without --yes).")
    )
    app.command("resume")(
        _simple("resume", "Resume every paused run the filter selects (dry run without --yes).")
    )


__all__ = ["register"]
