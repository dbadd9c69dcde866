"""``dee run``: every command on one run — ``timeline`` (from the audit log), ``status``,
and the operator actions ``pause``, ``resume``, ``cancel``, ``retry`` and ``resolve``."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from adapters.storage import LedgerRow
from dee.cli.common import ConfigOpt, JsonOpt, print_json, run_async
from dee.cli.db import run_storage, storage
from dee.cli.run_view import ByOpt, ReasonOpt, RunArg, call, show
from dee.config import load_config
from dee.engine import Engine, ExecutionRun
from dee.errors import DeeError, DocumentError, UnknownRunError
from dee.privacy_keys import privacy_for
from dee.runs.timeline import timeline_lines

if TYPE_CHECKING:
    from adapters.storage import ChainHead, Database, StoredEntry

# The storage package is imported inside the helpers: see dee/cli/db.py.

app = typer.Typer(help="Inspect and steer one run.", no_args_is_help=True)


Opened = dict[int, dict[str, Any]]


async def _timeline(run_id: str) -> tuple[list[StoredEntry], ChainHead | None, Opened]:
    from adapters.storage import AuditStore, UnknownRun  # noqa: PLC0415

    tenant = load_config().tenant
    async with storage() as database:
        store = AuditStore(database, tenant=tenant)  # the bound tenant's runs only
        try:
            entries = await store.timeline(run_id)
        except UnknownRun:  # unknown, or another tenant's: the same answer
            raise UnknownRunError(run_id, tenant) from None
        return entries, await store.head(run_id), await _opened(database, run_id, entries)


async def _opened(database: Database, run_id: str, entries: list[StoredEntry]) -> Opened:
    """The details holding sealed fields (a reply's sender, subject, text), opened with
    the contact's key: ``[erased]`` once erased, ``[sealed]`` without the master key."""
    from adapters.privacy import is_sealed  # noqa: PLC0415
    from adapters.storage import RunStore, UnknownRun  # noqa: PLC0415

    sealed = [e for e in entries if any(is_sealed(v) for v in _strings(e.detail))]
    if not sealed:
        return {}
    try:
        record = await RunStore(database).get(run_id)
        privacy = privacy_for(load_config(), database)
        return {
            e.seq: await privacy.opened(record.tenant, record.contact_id, dict(e.detail))
            for e in sealed
        }
    except (UnknownRun, DeeError, ValueError):  # no run row, no usable master key
        return {e.seq: _hidden(dict(e.detail)) for e in sealed}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _hidden(value: Any) -> Any:
    from adapters.privacy import is_sealed  # noqa: PLC0415

    if isinstance(value, dict):
        return {k: _hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v) for v in value]
    return "[sealed]" if is_sealed(value) else value


def _opened_line(detail: dict[str, Any]) -> str:
    inner = detail.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else detail
    shown = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items())
    return f"    {shown}"


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
    """Print a run's audit entries in order: tick, step, action, outcome, hash.

    An entry with sealed fields (a reply's sender, subject and text) is followed by
    them, opened with the contact's key (``[erased]`` after ``dee contact erase``);
    ``--json`` gives them as ``opened`` beside the stored (hashed) ``detail``.
    """
    entries, head, opened = run_storage(_timeline(run_id))
    if as_json:
        shown = [
            {**timeline_json(e), **({"opened": opened[e.seq]} if e.seq in opened else {})}
            for e in entries
        ]
        print_json(shown)
        return
    if head is not None:
        print(f"(entries 1..{head.seq} archived to {head.archive_uri})")
    for entry, line in zip(entries, timeline_lines(entries), strict=True):
        print(line)
        if entry.seq in opened:
            print(_opened_line(opened[entry.seq]))


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
        print_json({**asdict(run), "sends": [sent.as_dict() for sent in sends]})
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
    run_id: RunArg,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold a run before its next step."""
    show(run_async(call(config, lambda e: e.pause_run(run_id, by=by, reason=reason))), as_json)


@app.command("resume")
def resume(
    run_id: RunArg,
    by: ByOpt = "cli",
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resume a paused run."""
    show(run_async(call(config, lambda e: e.resume_run(run_id, by=by, reason=reason))), as_json)


@app.command("cancel")
def cancel(
    run_id: RunArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, audited).")],
    by: ByOpt = "cli",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a run for good."""
    show(run_async(call(config, lambda e: e.cancel_run(run_id, reason, by=by))), as_json)


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
    as_json: JsonOpt = False,
) -> None:
    """Retry the failed step of a failed run (once); an unknown send is looked up first."""
    show(
        run_async(call(config, lambda e: e.retry_run(run_id, by=by, reason=reason, resend=resend))),
        as_json,
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
    as_json: JsonOpt = False,
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

    show(run_async(call(config, action)), as_json)


__all__ = ["app"]
