"""``dee run``: look at runs (for now: the timeline from the audit log)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dee.cli.db import run_storage, storage
from dee.cli.runs import attach
from interpreter import RUN_SCOPE

if TYPE_CHECKING:
    from adapters.storage import ChainHead, StoredEntry

# The storage package is imported inside the helpers: see dee/cli/db.py.

app = typer.Typer(help="Inspect runs.", no_args_is_help=True)


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


def timeline_lines(entries: list[StoredEntry]) -> list[str]:
    """``[tick 259200] step:wait-3-days → action:wait → outcome:completed hash:7b1c...``.

    Columns are padded to the widest value so the arrows line up; run-level entries
    show ``run:<run id>`` where step entries show ``step:<step id>``.
    """
    rows = [
        (
            f"[tick {e.tick}]",
            f"run:{e.run_id}" if e.step_id == RUN_SCOPE else f"step:{e.step_id}",
            f"action:{e.action}",
            f"outcome:{e.outcome}",
            f"hash:{e.hash[:4]}...",
        )
        for e in entries
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    return [
        f"{tick:<{widths[0]}} {step:<{widths[1]}} → {action:<{widths[2]}} → "
        f"{outcome:<{widths[3]}} {digest}"
        for tick, step, action, outcome, digest in rows
    ]


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


# The operator commands (status, pause, ...) live beside ``dee start``; added once, here,
# after ``timeline`` so the help lists them in the same order as before.
attach(app)

__all__ = ["app", "timeline_lines"]
