"""Pending audit entries: what a workflow task wrote before its commit was known.

Internal to ``AuditStore``. A workflow task persists its entries through a local
activity that runs *before* the task is committed; if the task is then lost (a worker
SIGKILL, a dropped speculative update task), its retry recomputes those entries with
another ``workflow.now()`` and, under concurrent events, another order. So they are
not appended to ``audit_entries`` (append-only, where a difference is tampering) but
kept here, where each write of a run's pending tail replaces the previous one. A later
batch (from a later task, or from a regular activity whose input is committed history)
appends them to ``audit_entries`` and clears them from here. docs/audit.md has the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage import audit_append as _append
from adapters.storage.schema import AuditPending
from interpreter.chain import ChainedEntry

PENDING = cast(Table, AuditPending.__table__)


async def replace(
    conn: AsyncConnection,
    run_id: str,
    entries: Sequence[ChainedEntry],
    recorded_at: datetime,
    *,
    committed_through: int,
) -> None:
    """Make ``entries`` the run's whole pending tail, or, with none, drop what is committed.

    They must continue the run's stored committed chain: the caller appends the
    committed part of its batch first, in the same transaction. A batch with no pending
    entries (a regular activity's, all committed) drops only the pending rows up to
    ``committed_through``: a late retry of an activity must not erase a tail that a
    later task wrote meanwhile.

    Raises:
        AuditDivergence: The entries are not a contiguous chain continuing the stored one.
    """
    if entries:
        groups = _append.group_batch(entries)
        if list(groups) != [run_id]:
            raise ValueError(f"pending entries of run {run_id} name another run")
        await _append.check_links(conn, groups)
    if not entries:
        await conn.execute(
            delete(PENDING).where(PENDING.c.run_id == run_id, PENDING.c.seq <= committed_through)
        )
        return
    await conn.execute(delete(PENDING).where(PENDING.c.run_id == run_id))
    if entries:
        rows: list[dict[str, Any]] = []
        for e in entries:
            row = e.as_dict()
            row["recorded_at"] = recorded_at
            rows.append(row)
        await conn.execute(insert(PENDING), rows)


async def tail(conn: AsyncConnection, run_id: str, after_seq: int) -> list[dict[str, Any]]:
    """The run's pending rows past its last committed seq, in seq order.

    Rows at or below ``after_seq`` are stale (a late write of a task that was replaced
    after its successor's commit) and never shown.
    """
    rows = await conn.execute(
        select(PENDING)
        .where(PENDING.c.run_id == run_id, PENDING.c.seq > after_seq)
        .order_by(PENDING.c.seq)
    )
    return [dict(row) for row in rows.mappings()]


__all__ = ["PENDING", "replace", "tail"]
