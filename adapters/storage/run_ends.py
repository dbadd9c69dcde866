"""Open chains: recorded runs whose stored audit chain has no closing entry.

A run's workflow closes its chain with the entry that ends the run (see
``interpreter/machine_enter.py``, ``machine_exits.py``, ``machine_operator.py``): an end
step's ``end``, a plan's exit rule (``exit`` with the rule's outcome: ``pending`` and
``error`` are reserved for the entries that end nothing), the operator's ``cancel``
(``accepted``) or ``resolve`` (``end``). A run that ended without one ended
unaccounted for: its execution died, or entries are missing. A run with an archived
head is left out: its closing entry may be in the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage import audit_pending
from adapters.storage.audit_append import ENTRIES, HEADS
from adapters.storage.database import Database
from adapters.storage.runs import RUNS
from interpreter.trace import CLOSING

_CLOSING = or_(
    *(
        and_(
            ENTRIES.c.action == action,
            true() if only is None else ENTRIES.c.outcome.in_(list(only)),
            true() if not never else ENTRIES.c.outcome.not_in(list(never)),
        )
        for action, (only, never) in CLOSING.items()
    )
)
_CHUNK = 500  # run ids per IN list: well under every driver's parameter limit


@dataclass(frozen=True, slots=True)
class OpenChain:
    """A recorded run without a closing entry, and the last entry it has (if any)."""

    run_id: str
    status: str  # the run row's status
    last_seq: int | None = None
    last_step: str | None = None
    last_action: str | None = None
    last_outcome: str | None = None


async def open_chains(
    database: Database,
    *,
    run_ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> list[OpenChain]:
    """The recorded runs (of ``run_ids``, in ``statuses``) with no closing entry stored.

    One query per 500 run ids (one in all without ``run_ids``), sorted by run id.
    """
    query = select(RUNS.c.run_id, RUNS.c.status).where(
        ~exists().where(ENTRIES.c.run_id == RUNS.c.run_id, _CLOSING),
        ~exists().where(HEADS.c.run_id == RUNS.c.run_id),
    )
    if statuses is not None:
        query = query.where(RUNS.c.status.in_(list(statuses)))
    chunks = [None] if run_ids is None else _chunks(sorted(set(run_ids)))
    found: list[tuple[str, str]] = []
    async with database.snapshot() as conn:
        for chunk in chunks:
            selected = query if chunk is None else query.where(RUNS.c.run_id.in_(chunk))
            found += [(row[0], row[1]) for row in await conn.execute(selected)]
        return [await _with_last(conn, run_id, status) for run_id, status in sorted(found)]


def _chunks(run_ids: list[str]) -> list[list[str] | None]:
    return [run_ids[i : i + _CHUNK] for i in range(0, len(run_ids), _CHUNK)]


async def _with_last(conn: AsyncConnection, run_id: str, status: str) -> OpenChain:
    last = (
        await conn.execute(
            select(ENTRIES.c.seq, ENTRIES.c.step_id, ENTRIES.c.action, ENTRIES.c.outcome)
            .where(ENTRIES.c.run_id == run_id)
            .order_by(ENTRIES.c.seq.desc())
            .limit(1)
        )
    ).first()
    # A run whose execution died at rest leaves its last task's entries pending.
    tail = await audit_pending.tail(conn, run_id, last[0] if last is not None else 0)
    if tail:
        end = tail[-1]
        return OpenChain(run_id, status, end["seq"], end["step_id"], end["action"], end["outcome"])
    if last is None:
        return OpenChain(run_id, status)
    return OpenChain(run_id, status, last[0], last[1], last[2], last[3])


__all__ = ["OpenChain", "open_chains"]
