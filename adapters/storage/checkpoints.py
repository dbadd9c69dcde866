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

from sqlalchemy import RowMapping, Table, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


def guess(signer: CheckpointSigner, group: list[ChainedEntry]) -> Checkpoint | None:
    """The checkpoint of ``group``'s head on the run's newest checkpoint as the signer
    guesses it (none before a run's first batch), or ``None`` when it must be read.

    A retry's "already signed" is never guessed: the signer's memory may hold a
    checkpoint whose transaction rolled back.
    """
    before = None if group[0].seq == 1 else signer.made.get(group[0].run_id)
    if group[0].seq != 1 and (
        before is None or before.seq >= group[-1].seq or before.seq != group[0].seq - 1
    ):
        return None
    return _sign(signer, group, before)


async def sign_in(
    conn: AsyncConnection,
    signer: CheckpointSigner,
    groups: Mapping[str, list[ChainedEntry]],
    *,
    tried: Mapping[str, Checkpoint | None] | None = None,
) -> list[Checkpoint]:
    """Sign each run's new head (its batch's last entry) in the caller's transaction.

    One statement per run when the run's newest checkpoint can be guessed (``guess``):
    the insert itself checks the guess against the table and inserts nothing when it
    was wrong (a rolled-back append, another worker's checkpoint in between). Then,
    and for every other run, the newest checkpoint is read and the head signed on it.
    A run whose newest checkpoint already covers the batch (a retried append) gets
    none. ``tried``: runs whose guess the caller already inserted (the checkpoint) or
    failed to (``None``), on PostgreSQL in the statement that inserted the entries.
    """
    made: list[Checkpoint] = []
    unknown: list[str] = []
    tried = tried or {}
    for run_id in sorted(groups):  # a fixed order: concurrent batches lock alike
        if run_id in tried:
            done = tried[run_id]
            made.extend([] if done is None else [done])
            unknown.extend([run_id] if done is None else [])
            continue
        cp = guess(signer, groups[run_id])
        if cp is not None and await _insert_if_newest(conn, cp):
            made.append(cp)
        else:
            unknown.append(run_id)
    bases = await _bases(conn, signer, unknown) if unknown else {}
    for run_id in unknown:
        group, (n, before) = groups[run_id], bases.get(run_id, (1, None))
        if before is not None and _covers(signer, before, group):
            continue
        _refuse_gap(run_id, before, group)
        cp = _sign(signer, group, before, n=n)
        await conn.execute(insert(CHECKPOINTS), [_row(cp)])
        made.append(cp)
    for cp in made:
        signer.remember(cp)
    return made


async def _bases(
    conn: AsyncConnection, signer: CheckpointSigner, run_ids: Sequence[str]
) -> dict[str, tuple[int, Checkpoint | None]]:
    """Per run: the ``n`` of its next checkpoint and the newest checkpoint to build on.

    They differ from "newest + 1" and "newest" only when someone inserted rows the
    signer does not accept (a made-up or copied signature, a run "closed" early, a seq
    or ``n`` far ahead): the next checkpoint takes the first free ``n`` after the
    accepted one and links to, and trusts, only that one, so such a row can neither
    stop the real entries being signed nor change what they claim. Both verifiers name
    the row as forged.
    """
    bases: dict[str, tuple[int, Checkpoint | None]] = {}
    for run_id, newest in (await latest(conn, run_ids)).items():
        if signer.builds_on(newest):
            bases[run_id] = (newest.n + 1, newest)
            continue
        stored = await of_run(conn, run_id)
        accepted = [cp for cp in stored if signer.builds_on(cp)]
        before = accepted[-1] if accepted else None
        taken, n = {cp.n for cp in stored}, 1 if before is None else before.n + 1
        while n in taken:
            n += 1
        bases[run_id] = (n, before)
    return bases


def _refuse_gap(run_id: str, before: Checkpoint | None, group: list[ChainedEntry]) -> None:
    """Refuse to sign a head above entries no accepted checkpoint signs.

    Every committed batch is signed with its entries, so a stored entry between the
    newest accepted checkpoint and this batch was appended by someone else (the
    application role may INSERT); a writer that chains onto the stored head (the
    erasure chain) would otherwise vouch for it. A run with no checkpoint at all is
    one recorded before revision 0010 (``dee audit checkpoints adopt``) and is let be.

    Raises:
        CheckpointError: naming the run and the unsigned entries.
    """
    if before is None or before.seq >= group[0].seq - 1:
        return
    raise CheckpointError(
        f"run {run_id}: entries seq {before.seq + 1}..{group[0].seq - 1} are not signed "
        f"(the newest accepted checkpoint signs seq {before.seq}): someone else appended "
        "them; refusing to sign a head above them (docs/audit.md)"
    )


def _covers(signer: CheckpointSigner, before: Checkpoint, group: list[ChainedEntry]) -> bool:
    """Whether ``before`` already signs ``group`` (a retried append signs nothing).

    Only a checkpoint this signer authenticated may say so from its seq alone; one of
    another key (unverifiable here) must sign the very head of an entry in the batch.
    """
    if before.seq < group[-1].seq:
        return False
    if before.key_id == signer.key_id:
        return True
    offset = before.seq - group[0].seq
    return 0 <= offset < len(group) and group[offset].hash == before.head


def _sign(
    signer: CheckpointSigner,
    group: list[ChainedEntry],
    before: Checkpoint | None,
    *,
    n: int | None = None,
) -> Checkpoint:
    last = group[-1]
    # "closed" stays true only on the signer's own word: a row of another key may be
    # an inserted one claiming the run ended.
    closed = (before is not None and before.closed and before.key_id == signer.key_id) or any(
        closes_run(e.action, e.outcome) for e in group
    )
    if n is None:
        n = 1 if before is None else before.n + 1
    return signer.sign(
        run_id=last.run_id,
        n=n,
        seq=last.seq,
        head=last.hash,
        closed=closed,
        prev=GENESIS if before is None else before.hash,
    )


async def _insert_if_newest(conn: AsyncConnection, cp: Checkpoint) -> bool:
    """Insert ``cp`` only if its ``prev`` is the run's newest stored checkpoint's hash."""
    newest = (
        select(CHECKPOINTS.c.hash)
        .where(CHECKPOINTS.c.run_id == cp.run_id)
        .order_by(CHECKPOINTS.c.n.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = _row(cp)
    values = select(*(literal(row[c.name], type_=c.type) for c in CHECKPOINTS.c)).where(
        func.coalesce(newest, GENESIS) == cp.prev
    )
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(CHECKPOINTS)
        .from_select([c.name for c in CHECKPOINTS.c], values)
        .on_conflict_do_nothing(index_elements=["run_id", "n"])
    )
    result = await conn.execute(statement)
    return bool(result.rowcount == 1)


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


__all__ = [
    "CHECKPOINTS",
    "CheckpointStore",
    "checkpoint_of",
    "guess",
    "latest",
    "of_run",
    "sign_in",
]
