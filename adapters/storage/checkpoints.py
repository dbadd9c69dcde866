"""Storing and reading signed checkpoints (``audit_checkpoints``), and exporting them.

``sign_in`` runs inside ``AuditStore.append_in``'s transaction: the entries and the
checkpoint that signs them commit together, so no committed entry is ever unsigned
(docs/audit.md, "Signed checkpoints"). Pending entries (``audit_pending``) are not
signed: they are not part of the chain until a later batch commits them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import RowMapping, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage.checkpoint_format import (
    GENESIS,
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
)
from adapters.storage.database import Database
from adapters.storage.schema import AuditCheckpoint
from interpreter.chain import ChainedEntry
from interpreter.trace import closes_run

CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)
_PAGE = 5000


def checkpoint_of(row: RowMapping | Mapping[str, Any]) -> Checkpoint:
    return Checkpoint(
        key_id=row["key_id"], run_id=row["run_id"], n=row["n"], seq=row["seq"],
        head=row["head"], closed=bool(row["closed"]), time=row["signed_at"],
        prev=row["prev"], hash=row["hash"], sig=row["sig"],
    )  # fmt: skip


def _row(cp: Checkpoint) -> dict[str, Any]:
    return {
        "run_id": cp.run_id, "n": cp.n, "seq": cp.seq, "head": cp.head, "closed": cp.closed,
        "signed_at": cp.time, "key_id": cp.key_id, "prev": cp.prev, "hash": cp.hash,
        "sig": cp.sig,
    }  # fmt: skip


async def latest(conn: AsyncConnection, run_ids: Sequence[str]) -> dict[str, Checkpoint]:
    """Each run's newest checkpoint (by ``n``), for the runs that have one."""
    inner = CHECKPOINTS.alias("newer")
    newest = (
        select(func.max(inner.c.n)).where(inner.c.run_id == CHECKPOINTS.c.run_id)
    ).scalar_subquery()
    rows = await conn.execute(
        select(CHECKPOINTS).where(CHECKPOINTS.c.run_id.in_(run_ids), CHECKPOINTS.c.n == newest)
    )
    return {row["run_id"]: checkpoint_of(row) for row in rows.mappings()}


async def sign_in(
    conn: AsyncConnection, signer: CheckpointSigner, groups: Mapping[str, list[ChainedEntry]]
) -> list[Checkpoint]:
    """Sign each run's new head (its batch's last entry) in the caller's transaction.

    A run whose newest checkpoint already covers the batch (a retried append) gets
    none. ``closed`` is sticky: once an entry that ends the run is signed, every later
    checkpoint of the run says so.
    """
    newest = await latest(conn, sorted(groups))
    made: list[Checkpoint] = []
    for run_id in sorted(groups):  # a fixed order: concurrent batches lock alike
        group = groups[run_id]
        last, before = group[-1], newest.get(run_id)
        if before is not None and before.seq >= last.seq:
            continue
        closed = (before is not None and before.closed) or any(
            closes_run(e.action, e.outcome) for e in group
        )
        made.append(
            signer.sign(
                run_id=run_id,
                n=1 if before is None else before.n + 1,
                seq=last.seq,
                head=last.hash,
                closed=closed,
                prev=GENESIS if before is None else before.hash,
            )
        )
    if made:
        await conn.execute(insert(CHECKPOINTS), [_row(cp) for cp in made])
    return made


async def of_run(conn: AsyncConnection, run_id: str) -> list[Checkpoint]:
    rows = await conn.execute(
        select(CHECKPOINTS).where(CHECKPOINTS.c.run_id == run_id).order_by(CHECKPOINTS.c.n)
    )
    return [checkpoint_of(row) for row in rows.mappings()]


class CheckpointStore:
    """Reads the checkpoints table and exports it."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def of_run(self, run_id: str) -> list[Checkpoint]:
        """A run's stored checkpoints in ``n`` order (unverified: check them with a key)."""
        async with self._db.snapshot() as conn:
            return await of_run(conn, run_id)

    async def count(self) -> int:
        async with self._db.snapshot() as conn:
            query = select(func.count()).select_from(CHECKPOINTS)
            return int((await conn.execute(query)).scalar_one())

    async def lines(self) -> AsyncIterator[str]:
        """Every stored checkpoint as an export line, by run and ``n``."""
        async with self._db.snapshot() as conn:
            query = select(CHECKPOINTS).order_by(CHECKPOINTS.c.run_id, CHECKPOINTS.c.n)
            result = await conn.stream(query.execution_options(yield_per=_PAGE))
            async for row in result.mappings():
                yield checkpoint_of(row).line()

    async def export(self, to: Path) -> tuple[Path, int]:
        """Write every checkpoint to a new file ``to`` (or a new file inside directory ``to``).

        The file is created exclusively and made read-only: an export never replaces an
        earlier one (a write-once target would refuse that anyway). Returns the file
        written and how many checkpoints it holds.

        Raises:
            CheckpointError: the target exists, or cannot be written.
        """
        if to.is_dir():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            to = to / f"checkpoints-{stamp}.jsonl"
        count = 0
        try:
            fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise CheckpointError(f"{to}: exists; an export never overwrites one") from None
        except OSError as exc:
            raise CheckpointError(f"{to}: cannot create it: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                async for line in self.lines():
                    handle.write(line + "\n")
                    count += 1
                handle.flush()
                os.fsync(handle.fileno())
            to.chmod(0o444)
        except BaseException:
            to.unlink(missing_ok=True)
            raise
        return to, count


__all__ = ["CHECKPOINTS", "CheckpointStore", "checkpoint_of", "latest", "of_run", "sign_in"]
