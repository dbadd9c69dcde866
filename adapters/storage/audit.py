"""The audit store: append chained entries, read them back, verify and export them.

Boundary: persistence only. Entries are chained (hashed) by the caller with
``interpreter.chain`` — the workflow computes them so that a replay recomputes the
same hashes — and ``append`` stores them as given; ``verify`` recomputes every hash
and link from the stored fields. The export layout is documented in docs/audit.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import RowMapping, func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage import audit_append as _append
from adapters.storage import audit_pending as _pending
from adapters.storage import audit_scope as _scope
from adapters.storage import checkpoints as _checkpoints
from adapters.storage.audit_append import ENTRIES, HEADS
from adapters.storage.audit_results import ChainHead, VerifyResult
from adapters.storage.checkpoint_check import CheckpointProblem, SignedHeads, trusted_chain
from adapters.storage.checkpoint_format import Checkpoint, CheckpointSigner, VerifyKeys
from adapters.storage.database import Database
from adapters.storage.errors import UnknownRun
from interpreter.chain import GENESIS_HASH, ChainBreak, ChainedEntry
from interpreter.chain import verify as verify_chain

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An audit entry as stored: the chained fields plus when it was recorded."""

    run_id: str
    seq: int
    tick: int
    recorded_at: datetime
    step_id: str
    action: str
    outcome: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str
    # Written by a workflow task whose commit was not yet known (``audit_pending``).
    pending: bool = False

    def chained(self) -> ChainedEntry:
        return ChainedEntry(
            self.run_id, self.seq, self.tick, self.step_id, self.action, self.outcome,
            self.detail, self.prev_hash, self.hash,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """The export layout: the chained fields and ``recorded_at`` (ISO 8601, UTC)."""
        out = self.chained().as_dict()
        out["recorded_at"] = self.recorded_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True, slots=True)
class AppendResult:
    inserted: int
    existing: int


def export_line(entry: StoredEntry) -> str:
    """One JSON Lines record of the export format (no trailing newline)."""
    return json.dumps(
        entry.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


class AuditStore:
    """Appends to and reads from the hash-chained, append-only audit table.

    With a ``signer`` (the worker's), every append also signs a checkpoint of each
    run's new head, in the same transaction (``checkpoints.sign_in``).

    With a ``tenant`` the store is that tenant's (an engine's, the CLI's): its reads see
    only the tenant's runs (``audit_scope``), another tenant's run is ``UnknownRun``,
    and its appends are stored under the tenant. Without one (the worker, retention)
    it sees every run, and an append names its runs' tenant itself.
    """

    def __init__(
        self,
        database: Database,
        *,
        signer: CheckpointSigner | None = None,
        tenant: str | None = None,
    ) -> None:
        self._db = database
        self._signer = signer
        self.tenant = tenant

    async def append(
        self, entries: Sequence[ChainedEntry], *, tenant: str | None = None
    ) -> AppendResult:
        """Store a batch of chained entries (any runs) in one transaction.

        Idempotent: entries already stored identically are skipped. Nothing is written
        when any entry is refused. ``tenant``: the runs' tenant, stored beside each
        entry and not hashed (default: the store's).

        Raises:
            AuditDivergence: An entry differs from the one stored at its ``(run_id, seq)``,
                the batch is not a contiguous chain, or it does not continue the stored
                chain (names the run, seq and field).
        """
        if not entries:
            return AppendResult(0, 0)
        async with self._db.transaction() as conn:
            return await self.append_in(conn, entries, tenant=tenant)

    async def append_in(
        self, conn: AsyncConnection, entries: Sequence[ChainedEntry], *, tenant: str | None = None
    ) -> AppendResult:
        """``append`` inside the caller's transaction (a run row can share it)."""
        if not entries:
            return AppendResult(0, 0)
        tenant = tenant or self.tenant
        groups = _append.group_batch(entries)
        recorded_at = datetime.now(UTC)
        await _append.check_links(conn, groups)
        tried: dict[str, Checkpoint | None] = {}
        if self._db.dialect == "postgresql":
            # Runs in a fixed order: two batches touching the same runs then take
            # their row locks in the same order and cannot deadlock.
            ordered = [e for run_id in sorted(groups) for e in groups[run_id]]
            early = self._early_checkpoint(groups, len(ordered))
            if early is None:
                inserted = await _append.insert_postgresql(conn, ordered, recorded_at, tenant)
            else:  # the worker's common case: one round trip for entries and checkpoint
                inserted, signed = await _append.insert_postgresql_signed(
                    conn, ordered, recorded_at, early, tenant
                )
                tried[early.run_id] = early if signed else None
        else:
            inserted = await _append.insert_sqlite(conn, groups, recorded_at, tenant)
        if inserted < len(entries):
            await _append.refuse_differences(conn, entries)
        if self._signer is not None:
            await _checkpoints.sign_in(conn, self._signer, groups, tried=tried)
        return AppendResult(inserted, len(entries) - inserted)

    def _early_checkpoint(
        self, groups: dict[str, list[ChainedEntry]], count: int
    ) -> Checkpoint | None:
        if self._signer is None or len(groups) != 1 or count >= _append.COPY_THRESHOLD:
            return None
        return _checkpoints.guess(self._signer, next(iter(groups.values())))

    async def stage_in(
        self,
        conn: AsyncConnection,
        run_id: str,
        pending: Sequence[ChainedEntry],
        *,
        committed_through: int,
    ) -> None:
        """Replace the run's pending tail (see ``audit_pending``) in the caller's transaction.

        Call after appending the batch's committed entries, which the tail continues.
        """
        await _pending.replace(
            conn, run_id, pending, datetime.now(UTC), committed_through=committed_through
        )

    async def entries(self, run_id: str) -> list[ChainedEntry]:
        """A run's stored entries in seq order (``UnknownRun`` when it has none)."""
        return [e.chained() for e in await self.timeline(run_id)]

    async def timeline(self, run_id: str) -> list[StoredEntry]:
        """A run's stored entries in seq order, with the time each was recorded.

        The committed entries, then the pending tail (``StoredEntry.pending``).
        """
        async with self._db.snapshot() as conn:
            await self._visible(conn, run_id)
            head = await read_head(conn, run_id)
            rows = await conn.execute(select_run(run_id))
            found = [stored_entry(row) for row in rows.mappings()]
            last = found[-1].seq if found else (head.seq if head else 0)
            tail = await _pending.tail(conn, run_id, last)
            found.extend(stored_entry(row, pending=True) for row in tail)
        if not found and head is None:
            raise UnknownRun(run_id)
        return found

    async def head(self, run_id: str) -> ChainHead | None:
        """The archived head of a run's chain, when retention archived part of it."""
        async with self._db.snapshot() as conn:
            await self._visible(conn, run_id)
            return await read_head(conn, run_id)

    async def run_ids(self) -> list[str]:
        """Every run with stored entries or an archived head, sorted (a tenant's store:
        the tenant's)."""
        return await self._own([])

    async def _own(self, extra: Iterable[str]) -> list[str]:
        """The stored runs and ``extra``, sorted, less other tenants' in a tenant's store."""
        query = union(
            select(ENTRIES.c.run_id).distinct(),
            select(HEADS.c.run_id),
            select(_pending.PENDING.c.run_id).distinct(),
            select(_checkpoints.CHECKPOINTS.c.run_id).distinct(),
        )
        async with self._db.snapshot() as conn:
            found = sorted({*(await conn.execute(query)).scalars(), *extra})
            if self.tenant is None:
                return found
            owners = await _scope.owners(conn)
        return [r for r in found if _scope.owner(owners, r) == self.tenant]

    async def verify(
        self,
        run_id: str,
        *,
        keys: VerifyKeys | None = None,
        exported: Sequence[Checkpoint] = (),
    ) -> VerifyResult:
        """Recompute every hash and link of a run's stored chain.

        Starts from the genesis hash, or from the archived head when retention moved
        the older entries out. Reads in pages, so a long chain does not fill memory.
        With ``keys`` (trusted public keys) the run's signed checkpoints are checked
        too, together with the ``exported`` copies of them (``checkpoint_check``).
        """
        async with self._db.snapshot() as conn:
            await self._visible(conn, run_id)
            head = await read_head(conn, run_id)
            first_seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
            signed: SignedHeads | None = None
            problems: list[CheckpointProblem] = []
            stored_checkpoints: list[Checkpoint] = []
            if keys is not None:
                stored_checkpoints = await _checkpoints.of_run(conn, run_id)
                chain, problems = trusted_chain(run_id, stored_checkpoints, keys, exported)
                archived = head.hash if head else None
                signed = SignedHeads(run_id, chain, first_seq=first_seq, archived_hash=archived)
            checked = 0
            broken: ChainBreak | None = None
            result = await conn.stream(select_run(run_id).execution_options(yield_per=_PAGE))
            async for page in result.mappings().partitions():
                dicts = [dict(row) for row in page]
                broken = verify_chain(dicts, start_seq=first_seq + checked, prev_hash=prev_hash)
                if signed is not None:
                    good = len(dicts) if broken is None else broken.seq - first_seq - checked
                    signed.see(dicts[:good])
                if broken is not None:
                    checked = broken.seq - first_seq
                    break
                checked += len(dicts)
                prev_hash = dicts[-1]["hash"]
            await result.close()
            pending = 0
            if broken is None:
                if signed is not None:  # where the committed chain ends, before the tail
                    signed.finish(first_seq + checked - 1, first_seq)
                # the pending tail must continue the committed chain
                tail = await _pending.tail(conn, run_id, first_seq + checked - 1)
                broken = verify_chain(tail, start_seq=first_seq + checked, prev_hash=prev_hash)
                pending = len(tail) if broken is None else broken.seq - first_seq - checked
                checked += pending
        known = checked or head is not None or stored_checkpoints or exported
        if not known and broken is None:
            raise UnknownRun(run_id)
        if signed is not None:
            problems += signed.problems
        return VerifyResult(
            run_id, checked, first_seq, head, broken, pending, tuple(problems),
            None if signed is None else signed.newest,
        )  # fmt: skip

    async def verify_all(
        self, *, keys: VerifyKeys | None = None, exported: Sequence[Checkpoint] = ()
    ) -> list[VerifyResult]:
        """Verify every run (each in its own snapshot), in run id order.

        Runs that only the ``exported`` checkpoints know of are verified too: their
        entries and checkpoints were deleted from the database. A tenant's store verifies
        the tenant's runs only (an exported run nothing else names: the default tenant's).
        """
        by_run: dict[str, list[Checkpoint]] = {}
        for cp in exported:
            by_run.setdefault(cp.run_id, []).append(cp)
        run_ids = await self._own(by_run)
        return [
            await self.verify(run_id, keys=keys, exported=by_run.get(run_id, ()))
            for run_id in run_ids
        ]

    async def export_lines(self, run_id: str) -> AsyncIterator[str]:
        """The run's stored entries as export-format lines (``UnknownRun`` first, if so)."""
        async with self._db.snapshot() as conn:
            await self._visible(conn, run_id)
            head = await read_head(conn, run_id)
            result = await conn.stream(select_run(run_id).execution_options(yield_per=_PAGE))
            seen = False
            async for row in result.mappings():
                seen = True
                yield export_line(stored_entry(row))
            if not seen and head is None:
                raise UnknownRun(run_id)

    async def export(self, run_id: str, out: TextIO) -> int:
        """Write the run's export to ``out``; return the number of entries written."""
        count = 0
        async for line in self.export_lines(run_id):
            out.write(line + "\n")
            count += 1
        return count

    async def count(self, run_id: str | None = None) -> int:
        """How many entries are stored (for one run, or in all)."""
        query = select(func.count()).select_from(ENTRIES)
        if run_id is not None:
            query = query.where(ENTRIES.c.run_id == run_id)
        if self.tenant is not None:
            query = query.where(_scope.entries_of(self.tenant))
        async with self._db.snapshot() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def _visible(self, conn: AsyncConnection, run_id: str) -> None:
        """``UnknownRun`` when the store is a tenant's and the run is another's."""
        if self.tenant is not None and await _scope.owner_of(conn, run_id) != self.tenant:
            raise UnknownRun(run_id)


def select_run(run_id: str) -> Any:
    return select(ENTRIES).where(ENTRIES.c.run_id == run_id).order_by(ENTRIES.c.seq)


def stored_entry(row: RowMapping | Mapping[str, Any], *, pending: bool = False) -> StoredEntry:
    return StoredEntry(
        run_id=row["run_id"],
        seq=row["seq"],
        tick=row["tick"],
        recorded_at=row["recorded_at"],
        step_id=row["step_id"],
        action=row["action"],
        outcome=row["outcome"],
        detail=row["detail"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        pending=pending,
    )


async def read_head(conn: AsyncConnection, run_id: str) -> ChainHead | None:
    row = (await conn.execute(select(HEADS).where(HEADS.c.run_id == run_id))).mappings().first()
    if row is None:
        return None
    return ChainHead(row["run_id"], row["seq"], row["hash"], row["archived_at"], row["archive_uri"])


__all__ = ["AppendResult", "AuditStore", "ChainHead", "StoredEntry", "VerifyResult", "export_line"]
