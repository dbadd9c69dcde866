"""``dee run``: every command on one run — ``timeline`` (from the audit log), ``status``,
and the operator actions ``pause``, ``resume``, ``cancel``, ``retry`` and ``resolve``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from adapters.storage import LedgerRow
from dee.cli.common import ConfigOpt, JsonOpt, run_async, to_json
from dee.cli.db import run_storage, storage
from dee.cli.run_view import ByOpt, ReasonOpt, RunArg, call, show
from dee.engine import Engine, ExecutionRun
from dee.errors import DocumentError
from dee.runs.timeline import timeline_lines

if TYPE_CHECKING:
    from adapters.storage import ChainHead, StoredEntry

# The storage package is imported inside the helpers: see dee/cli/db.py.

app = typer.Typer(help="Inspect and steer one run.", no_args_is_help=True)


async def _timeline(run_id: str) -> tuple[list[StoredEntry], ChainHead | None]:
    from adapters.storage import AuditStore  # noqa: PLC0415

    async with storage() as database:
        store = AuditStore(database)
        return await store.timeline(run_id), await store.head(run_id)


def timeline_json(entry: StoredEntry) -> dict[str, Any]:
    """One timeline entry for ``--json`` (camelCase, like ``dee plan simulate --json``)."""
    return {
        "seq": entry.seq,
        "tick": entry.tick,
        "recordedAt": entry.as_dict()["recorded_at"],
        "stepId": entry.step_id,
        "action": entry.action,
        "outcome": entry.outcome,
        "detail": dict(entry.detail),
        "prevHash": entry.prev_hash,
        "hash": entry.hash,
    }


@app.command()
def timeline(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (full hashes).")] = False,
) -> None:
    """Print a run's audit entries in order: tick, step, action, outcome, hash."""
    entries, head = run_storage(_timeline(run_id))
    if as_json:
        print(json.dumps([timeline_json(e) for e in entries], indent=2, ensure_ascii=False))
        return
    if head is not None:
        print(f"(entries 1..{head.seq} archived to {head.archive_uri})")
    for line in timeline_lines(entries):
        print(line)


@app.command("status")
def status(run_id: RunArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show a run's state (answers from storage when no worker is running), and what the
    send ledger knows of its sends: each intent, attempt and outcome.

    A run whose Temporal execution died shows DEAD and what Temporal said.
    """

    async def read(engine: Engine) -> tuple[ExecutionRun, list[LedgerRow]]:
        return await engine.get_run(run_id), await engine.sends(run_id)

    run, sends = run_async(call(config, read))
    if as_json:
        shown = json.loads(to_json(run))
        shown["sends"] = [sent.as_dict() for sent in sends]
        print(json.dumps(shown, indent=2))
        return
    show(run, False)
    console = Console(highlight=False)
    for sent in sends:
        console.print(
            f"  send {sent.step_id} #{sent.visit} via {sent.provider}: "
            f"{sent.outcome or 'attempt open (outcome not known)'}, "
            f"{sent.attempts} attempt(s), {sent.message_key}",
            markup=False,
        )
        reason = sent.detail.get("reason")
        if reason:
            console.print(f"    {reason}", markup=False)


@app.command("pause")
def pause(
    run_id: RunArg, by: ByOpt = "cli", reason: ReasonOpt = "", config: ConfigOpt = None
) -> None:
    """Hold a run before its next step."""
    show(run_async(call(config, lambda e: e.pause_run(run_id, by=by, reason=reason))), False)


@app.command("resume")
def resume(
    run_id: RunArg, by: ByOpt = "cli", reason: ReasonOpt = "", config: ConfigOpt = None
) -> None:
    """Resume a paused run."""
    show(run_async(call(config, lambda e: e.resume_run(run_id, by=by, reason=reason))), False)


@app.command("cancel")
def cancel(
    run_id: RunArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, audited).")],
    by: ByOpt = "cli",
    config: ConfigOpt = None,
) -> None:
    """Cancel a run for good."""
    show(run_async(call(config, lambda e: e.cancel_run(run_id, reason, by=by))), False)


@app.command("retry")
def retry(
    run_id: RunArg,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    resend: Annotated[
        bool,
        typer.Option(
            "--resend",
            help="Send again although the provider cannot be asked whether the unknown "
            "attempt went out (SMTP); recorded with --by and --reason.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Retry the failed step of a failed run (once); an unknown send is looked up first."""
    show(
        run_async(call(config, lambda e: e.retry_run(run_id, by=by, reason=reason, resend=resend))),
        False,
    )


@app.command("resolve")
def resolve(
    run_id: RunArg,
    skip_to: Annotated[str | None, typer.Option("--skip-to", help="Continue at this step.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Complete with this outcome.")] = None,
    mark_sent: Annotated[
        bool,
        typer.Option(
            "--mark-sent",
            help="The failed or unknown send did go out (you checked): continue after it.",
        ),
    ] = False,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Resolve a failed run: skip to a step, end it with an outcome, or mark its send sent."""
    if sum((skip_to is not None, end is not None, mark_sent)) != 1:
        raise DocumentError(["give exactly one of --skip-to STEP, --end OUTCOME or --mark-sent"])
    resolution, target = ("skip", skip_to) if skip_to else ("end", end)
    if mark_sent:
        resolution, target = "mark_sent", ""

    async def action(engine: Engine) -> ExecutionRun:
        assert target is not None
        return await engine.resolve_run(
            run_id, resolution=resolution, target=target, by=by, reason=reason
        )

    show(run_async(call(config, action)), False)


__all__ = ["app"]
