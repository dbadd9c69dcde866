"""Retention: archive audit entries older than the window, then remove them.

Boundary: the single privileged path that deletes audit rows. It works in two phases
so that a failed archive write deletes nothing at all:

1. For each run, the oldest stored entries recorded before the cutoff (a prefix of
   the stored chain, so the rest stays a chain) are verified and written to the
   archive as one JSON Lines object. A run whose chain does not verify is left alone
   and reported: archiving would launder a tampered segment.
2. Only when every write succeeded, one transaction removes the archived rows and
   records each run's new head (last archived seq and hash) in ``audit_heads``, from
   which ``AuditStore.verify`` continues.

The database refuses every other DELETE. On PostgreSQL the rows are removed by the
SECURITY DEFINER function ``dee_retention_delete`` (migration 0003), which re-checks
that the segment still starts at the head and ends in the archived hash, deletes it
and moves the head; the role running retention needs EXECUTE on it and SELECT, never
DELETE. SQLite has no roles: a DELETE passes while ``audit_retention_grant`` holds a
row, which this transaction inserts and removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage.archive import Archive, segment_key
from adapters.storage.audit import StoredEntry, export_line, read_head, select_run, stored_entry
from adapters.storage.audit_append import ENTRIES, HEADS
from adapters.storage.database import Database
from adapters.storage.errors import ArchiveError, StorageError
from interpreter.chain import GENESIS_HASH, ChainBreak
from interpreter.chain import verify as verify_chain


@dataclass(frozen=True, slots=True)
class ArchivedSegment:
    run_id: str
    first_seq: int
    last_seq: int
    last_hash: str
    key: str
    uri: str

    @property
    def entries(self) -> int:
        return self.last_seq - self.first_seq + 1


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a retention pass did: segments archived and removed, runs left alone."""

    cutoff: datetime
    archived: list[ArchivedSegment] = field(default_factory=list)
    refused: list[ChainBreak] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return sum(s.entries for s in self.archived)


class Retention:
    """Archive-then-delete for entries older than ``days``."""

    def __init__(self, database: Database, archive: Archive, *, days: int) -> None:
        if days < 1:
            raise StorageError(f"audit retention must be at least 1 day, got {days}")
        self._db = database
        self._archive = archive
        self._days = days

    async def run(self, *, now: datetime | None = None) -> RetentionReport:
        """One retention pass.

        Raises:
            ArchiveError: An archive write failed; no entry was removed.
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self._days)
        report = RetentionReport(cutoff)
        try:
            for run_id, last_seq in (await self._candidates(cutoff)).items():
                segment = await self._archive_run(run_id, last_seq, report)
                if segment is not None:
                    report.archived.append(segment)
        except ArchiveError:
            # Nothing was removed; drop this pass's copies so the next pass starts clean.
            for segment in report.archived:
                await self._archive.remove(segment.key)
            raise
        if report.archived:
            await self._remove(report.archived)
        return report

    async def _candidates(self, cutoff: datetime) -> dict[str, int]:
        """Per run, the last seq of the stored prefix recorded before the cutoff."""
        old = (
            select(ENTRIES.c.run_id, func.max(ENTRIES.c.seq))
            .where(ENTRIES.c.recorded_at < cutoff)
            .group_by(ENTRIES.c.run_id)
        )
        young = (
            select(ENTRIES.c.run_id, func.min(ENTRIES.c.seq))
            .where(ENTRIES.c.recorded_at >= cutoff)
            .group_by(ENTRIES.c.run_id)
        )
        async with self._db.snapshot() as conn:
            last_old = {row[0]: row[1] for row in await conn.execute(old)}
            first_young = {row[0]: row[1] for row in await conn.execute(young)}
        # A prefix only: an old entry after a young one (a clock step back) waits.
        return {
            run_id: min(last, first_young.get(run_id, last + 1) - 1)
            for run_id, last in sorted(last_old.items())
        }

    async def _archive_run(
        self, run_id: str, last_seq: int, report: RetentionReport
    ) -> ArchivedSegment | None:
        async with self._db.snapshot() as conn:
            head = await read_head(conn, run_id)
            rows = await conn.execute(select_run(run_id).where(ENTRIES.c.seq <= last_seq))
            segment = [stored_entry(row) for row in rows.mappings()]
        if not segment:
            return None
        start_seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
        broken = verify_chain(
            [e.as_dict() for e in segment], start_seq=start_seq, prev_hash=prev_hash
        )
        if broken is not None:
            report.refused.append(broken)
            return None
        return await self._write(run_id, segment)

    async def _write(self, run_id: str, segment: list[StoredEntry]) -> ArchivedSegment:
        first, last = segment[0], segment[-1]
        key = segment_key(run_id, first.seq, last.seq)
        data = "".join(export_line(e) + "\n" for e in segment).encode("utf-8")
        try:
            uri = await self._archive.write(key, data)
        except ArchiveError:
            raise
        except Exception as error:  # an Archive implementation that does not map its errors
            raise ArchiveError(f"cannot write {self._archive.uri}/{key}: {error}") from error
        return ArchivedSegment(run_id, first.seq, last.seq, last.hash, key, uri)

    async def _remove(self, segments: list[ArchivedSegment]) -> None:
        # The archive copies are kept even if this fails: a failed commit may still have
        # committed, and a duplicate copy is harmless where a missing one is not.
        async with self._db.transaction() as conn:
            if self._db.dialect == "postgresql":
                for segment in segments:
                    await _remove_through_function(conn, segment)
                return
            archived_at = datetime.now(UTC)
            await conn.execute(text("INSERT INTO audit_retention_grant (id) VALUES (1)"))
            for segment in segments:
                await _remove_segment_sqlite(conn, segment, archived_at)
            await conn.execute(text("DELETE FROM audit_retention_grant"))


def _changed(segment: ArchivedSegment) -> StorageError:
    return StorageError(
        f"run {segment.run_id}: entries {segment.first_seq}..{segment.last_seq} changed "
        "while they were archived (another retention pass?); nothing was removed"
    )


async def _remove_through_function(conn: AsyncConnection, segment: ArchivedSegment) -> None:
    """PostgreSQL: the function checks, deletes and moves the head, or raises."""
    removed = await conn.scalar(
        select(
            func.dee_retention_delete(
                segment.run_id, segment.first_seq, segment.last_seq, segment.last_hash, segment.uri
            )
        )
    )
    if removed != segment.entries:
        raise _changed(segment)


async def _remove_segment_sqlite(
    conn: AsyncConnection, segment: ArchivedSegment, archived_at: datetime
) -> None:
    removed = await conn.execute(
        delete(ENTRIES).where(
            ENTRIES.c.run_id == segment.run_id,
            ENTRIES.c.seq.between(segment.first_seq, segment.last_seq),
        )
    )
    statement = sqlite.insert(HEADS).values(
        run_id=segment.run_id,
        seq=segment.last_seq,
        hash=segment.last_hash,
        archived_at=archived_at,
        archive_uri=segment.uri,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["run_id"],
        set_={c: statement.excluded[c] for c in ("seq", "hash", "archived_at", "archive_uri")},
        where=HEADS.c.seq == segment.first_seq - 1,
    )
    moved = await conn.execute(statement)
    if removed.rowcount != segment.entries or moved.rowcount != 1:
        raise _changed(segment)


__all__ = ["ArchivedSegment", "Retention", "RetentionReport"]
