"""How a batch of chained entries is appended: checks, the insert, and the comparison.

Internal to ``AuditStore.append``. Every function here runs inside the caller's one
transaction, so a refused batch leaves nothing behind.

The rules, in order:

1. The batch is, per run, a contiguous piece of a chain (seq +1, ``prev_hash`` links).
2. Its first entry continues what is stored: ``prev_hash`` equals the stored hash of
   ``seq - 1`` (or of the archived head, or the genesis hash at seq 1).
3. Rows are inserted with ``ON CONFLICT DO NOTHING``; when some already existed, the
   batch is compared field by field with what is stored, and any difference is
   refused (divergence or tampering).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, cast

import asyncpg
import rfc8785
from sqlalchemy import Table, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.json_text import encode_with
from adapters.storage.checkpoint_format import Checkpoint
from adapters.storage.errors import AuditDivergence
from adapters.storage.schema import AuditEntry, AuditHead
from interpreter.chain import GENESIS_HASH, ChainedEntry

ENTRIES = cast(Table, AuditEntry.__table__)
HEADS = cast(Table, AuditHead.__table__)
COMPARED = ("tick", "step_id", "action", "outcome", "detail", "prev_hash", "hash")

# One statement and one round trip per batch, whatever its size: the columns travel as
# nine arrays in asyncpg's binary protocol (with the batch's one tenant) and the
# statement is prepared once (a multi-row VALUES list would be compiled per batch
# size). No RETURNING: sending the inserted keys back doubled the statement's cost
# when measured (bench/audit_append.py), and the row count already says whether anything existed.
_PG_INSERT = """
INSERT INTO audit_entries
    (run_id, seq, tick, recorded_at, step_id, action, outcome, detail, prev_hash, hash, tenant)
SELECT r, s, t, $10::timestamptz, st, a, o, d::json, p, h, $11::text
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[]) AS u(r, s, t, st, a, o, d, p, h)
ON CONFLICT (run_id, seq) DO NOTHING
"""


# The same insert and, in the same round trip, a checkpoint of the run's new head signed
# on the guessed newest checkpoint: inserted only if that guess is the stored newest
# (``checkpoints.sign_in`` explains the guess). The counts say what each inserted.
_PG_INSERT_SIGNED = f"""
WITH e AS ({_PG_INSERT.strip()} RETURNING 1),
c AS (
    INSERT INTO audit_checkpoints
        (run_id, n, seq, head, closed, signed_at, key_id, prev, hash, sig)
    SELECT $12::text, $13::int, $14::int, $15::text, $16::boolean, $17::text, $18::text,
           $19::text, $20::text, $21::text
    WHERE coalesce((SELECT k.hash FROM audit_checkpoints k WHERE k.run_id = $12::text
                    ORDER BY k.n DESC LIMIT 1), repeat('0', 64)) = $19::text
    ON CONFLICT (run_id, n) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM c)
"""  # noqa: S608 - built from this module's constants only


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# One C encoder for all calls (``adapters.json_text``): this runs once per stored entry.
_detail_encode = encode_with(
    json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain)
)


def detail_json(detail: Mapping[str, Any]) -> str:
    """The JSON text stored for ``detail`` (any JSON text works: the hash is over JCS)."""
    return _detail_encode(detail)


def group_batch(entries: Sequence[ChainedEntry]) -> dict[str, list[ChainedEntry]]:
    """Group by run and check each group is a contiguous, linked piece of chain."""
    groups: dict[str, list[ChainedEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.run_id, []).append(entry)
    for run_id, group in groups.items():
        if group[0].seq < 1:
            raise AuditDivergence(run_id, group[0].seq, "seq", "seq starts at 1")
        for before, entry in pairwise(group):
            if entry.seq != before.seq + 1:
                raise AuditDivergence(
                    run_id, entry.seq, "seq", f"the batch is not contiguous (follows {before.seq})"
                )
            if entry.prev_hash != before.hash:
                raise AuditDivergence(
                    run_id, entry.seq, "prev_hash", "does not link to the batch's previous entry"
                )
    return groups


# Rule 2's lookups in one prepared statement and one round trip: each run's stored
# hash at ``seq - 1`` (none at seq 1) beside its archived head, if any. A stored
# predecessor lies above any archived head, so reading both changes no verdict.
_PG_LINKS = """
SELECT u.r, e.hash, h.seq, h.hash, h.archive_uri
FROM unnest($1::text[], $2::int[]) AS u(r, s)
LEFT JOIN audit_entries e ON e.run_id = u.r AND e.seq = u.s
LEFT JOIN audit_heads h ON h.run_id = u.r
"""


async def check_links(conn: AsyncConnection, groups: Mapping[str, list[ChainedEntry]]) -> None:
    """Refuse a batch whose first entry does not continue the stored chain."""
    firsts = {run_id: group[0] for run_id, group in groups.items()}
    if conn.dialect.name == "postgresql":
        result = await conn.exec_driver_sql(
            _PG_LINKS, ([*firsts], [e.seq - 1 for e in firsts.values()])
        )
        for row in result:
            run_id, stored_hash, head_seq, head_hash, uri = tuple(row)
            head = None if head_seq is None else (head_seq, head_hash, uri)
            _check_first(run_id, firsts[run_id], stored_hash, head)
        return
    wanted = [(run_id, e.seq - 1) for run_id, e in firsts.items() if e.seq > 1]
    stored: dict[str, str] = {}
    if wanted:
        rows = await conn.execute(
            select(ENTRIES.c.run_id, ENTRIES.c.hash).where(
                tuple_(ENTRIES.c.run_id, ENTRIES.c.seq).in_(wanted)
            )
        )
        stored = {row[0]: row[1] for row in rows}
    unlinked = [run_id for run_id in firsts if run_id not in stored]
    heads: dict[str, tuple[int, str, str]] = {}
    if unlinked:
        head_rows = await conn.execute(
            select(HEADS.c.run_id, HEADS.c.seq, HEADS.c.hash, HEADS.c.archive_uri).where(
                HEADS.c.run_id.in_(unlinked)
            )
        )
        heads = {row[0]: (row[1], row[2], row[3]) for row in head_rows}
    for run_id, first in firsts.items():
        _check_first(run_id, first, stored.get(run_id), heads.get(run_id))


def _check_first(
    run_id: str, first: ChainedEntry, stored: str | None, head: tuple[int, str, str] | None
) -> None:
    if head is not None and first.seq <= head[0]:
        raise AuditDivergence(
            run_id,
            first.seq,
            "seq",
            f"entries up to seq {head[0]} were archived to {head[2]}; "
            "they cannot be appended again",
        )
    if first.seq == 1:
        expected = GENESIS_HASH
    elif stored is not None:
        expected = stored
    elif head is not None and head[0] == first.seq - 1:
        expected = head[1]
    else:
        raise AuditDivergence(
            run_id,
            first.seq,
            "seq",
            f"entry seq {first.seq - 1} is not stored: a run's entries are appended in order",
        )
    if first.prev_hash != expected:
        raise AuditDivergence(
            run_id,
            first.seq,
            "prev_hash",
            f"is {first.prev_hash}, but the stored entry before it has hash {expected}",
        )


_COPY_COLUMNS = (
    "run_id", "seq", "tick", "recorded_at", "step_id", "action", "outcome", "detail",
    "prev_hash", "hash", "tenant",
)  # fmt: skip
# A session-local staging table for batches that may repeat stored rows: binary COPY
# into it is the cheapest way to move rows, and one INSERT ... SELECT then keeps the
# ON CONFLICT semantics.
_STAGE = "dee_audit_stage"
_CREATE_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS dee_audit_stage
    (LIKE audit_entries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
_FROM_STAGE = """
INSERT INTO audit_entries
    (run_id, seq, tick, recorded_at, step_id, action, outcome, detail, prev_hash, hash, tenant)
SELECT run_id, seq, tick, recorded_at, step_id, action, outcome, detail, prev_hash, hash, tenant
FROM dee_audit_stage
ON CONFLICT (run_id, seq) DO NOTHING
"""
COPY_THRESHOLD = 64  # below this, one statement's round trip beats COPY's two


def _columns(entries: Sequence[ChainedEntry]) -> tuple[list[Any], ...]:
    """The nine arrays ``_PG_INSERT`` takes, in its parameter order."""
    return (
        [e.run_id for e in entries],
        [e.seq for e in entries],
        [e.tick for e in entries],
        [e.step_id for e in entries],
        [e.action for e in entries],
        [e.outcome for e in entries],
        [detail_json(e.detail) for e in entries],
        [e.prev_hash for e in entries],
        [e.hash for e in entries],
    )


async def insert_postgresql(
    conn: AsyncConnection,
    entries: Sequence[ChainedEntry],
    recorded_at: datetime,
    tenant: str | None = None,
) -> int:
    """Insert what is new; return how many rows were inserted. ``tenant``: the runs'
    tenant, stored beside each entry (not hashed; revision 0013)."""
    if len(entries) >= COPY_THRESHOLD:
        return await _insert_by_copy(conn, entries, recorded_at, tenant)
    columns = _columns(entries)
    result = await conn.exec_driver_sql(_PG_INSERT, (*columns, recorded_at, tenant))
    return int(result.rowcount)


async def insert_postgresql_signed(
    conn: AsyncConnection,
    entries: Sequence[ChainedEntry],
    recorded_at: datetime,
    checkpoint: Checkpoint,
    tenant: str | None = None,
) -> tuple[int, bool]:
    """``insert_postgresql`` for a small one-run batch, with its checkpoint in the same
    statement; returns the rows inserted and whether the checkpoint was."""
    columns = _columns(entries)
    cp = checkpoint
    signed = (cp.run_id, cp.n, cp.seq, cp.head, cp.closed, cp.time, cp.key_id, cp.prev, cp.hash)
    params = (*columns, recorded_at, tenant, *signed, cp.sig)
    result = await conn.exec_driver_sql(_PG_INSERT_SIGNED, params)
    inserted, checkpointed = tuple(result.one())
    return int(inserted), bool(checkpointed)


async def _insert_by_copy(
    conn: AsyncConnection,
    entries: Sequence[ChainedEntry],
    recorded_at: datetime,
    tenant: str | None,
) -> int:
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    records = [
        (e.run_id, e.seq, e.tick, recorded_at, e.step_id, e.action, e.outcome,
         detail_json(e.detail), e.prev_hash, e.hash, tenant)
        for e in entries
    ]  # fmt: skip
    # Optimistic: a fresh batch (the normal case) is copied straight into the table.
    # A row that already exists makes COPY fail as a whole; the savepoint undoes it
    # and the staged INSERT ... ON CONFLICT sorts new rows from re-appended ones.
    await driver.execute("SAVEPOINT dee_audit_copy")
    try:
        await driver.copy_records_to_table("audit_entries", records=records, columns=_COPY_COLUMNS)
    except asyncpg.UniqueViolationError:
        await driver.execute("ROLLBACK TO SAVEPOINT dee_audit_copy")
    else:
        await driver.execute("RELEASE SAVEPOINT dee_audit_copy")
        return len(records)
    await driver.execute(_CREATE_STAGE)
    await driver.copy_records_to_table(_STAGE, records=records, columns=_COPY_COLUMNS)
    status: str = await driver.execute(_FROM_STAGE)
    await driver.execute(
        "TRUNCATE dee_audit_stage"
    )  # the next batch in this transaction starts clean
    return int(status.rsplit(" ", 1)[-1])


async def insert_sqlite(
    conn: AsyncConnection,
    groups: Mapping[str, list[ChainedEntry]],
    recorded_at: datetime,
    tenant: str | None = None,
) -> int:
    """Insert what is new; return how many rows were inserted.

    Safe without ON CONFLICT because the transaction is ``BEGIN IMMEDIATE``: no other
    writer can insert between the read and the insert.
    """
    rows: list[dict[str, Any]] = []
    for run_id, group in groups.items():
        found = await conn.execute(
            select(ENTRIES.c.seq).where(
                ENTRIES.c.run_id == run_id, ENTRIES.c.seq.between(group[0].seq, group[-1].seq)
            )
        )
        stored = set(found.scalars())
        rows.extend(_row(e, recorded_at, tenant) for e in group if e.seq not in stored)
    if rows:
        await conn.execute(insert(ENTRIES), rows)
    return len(rows)


def _row(e: ChainedEntry, recorded_at: datetime, tenant: str | None) -> dict[str, Any]:
    row = e.as_dict()
    row["recorded_at"] = recorded_at
    row["tenant"] = tenant
    return row


async def refuse_differences(conn: AsyncConnection, entries: Sequence[ChainedEntry]) -> None:
    """Compare a batch with the stored rows; raise on the first difference.

    Called only when some rows already existed. Which ones is not known (finding out
    would cost the insert a RETURNING), so the whole batch is compared: rows this
    transaction just inserted match trivially.
    """
    by_run: dict[str, dict[int, ChainedEntry]] = {}
    for e in entries:
        by_run.setdefault(e.run_id, {})[e.seq] = e
    for run_id, offered in by_run.items():
        rows = await conn.execute(
            select(ENTRIES)
            # A run's entries in a batch are contiguous (group_batch checked it).
            .where(ENTRIES.c.run_id == run_id, ENTRIES.c.seq.between(min(offered), max(offered)))
            .order_by(ENTRIES.c.seq)
        )
        for row in rows.mappings():
            entry = offered[row["seq"]]
            for name in COMPARED:
                if not _same(name, row[name], getattr(entry, name)):
                    raise AuditDivergence(
                        run_id,
                        entry.seq,
                        name,
                        f"a different entry is already stored at this seq "
                        f"(stored {_short(row[name])}, offered {_short(getattr(entry, name))})",
                    )


def _same(name: str, stored: Any, offered: Any) -> bool:
    if name == "detail":
        # Compare as the hash sees them: 1 and 1.0 are the same JSON number, 1 and true are not.
        return bool(rfc8785.dumps(stored) == rfc8785.dumps(_plain_deep(offered)))
    return bool(stored == offered)


def _plain_deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_deep(v) for v in value]
    return value


def _short(value: Any) -> str:
    text = detail_json(value) if isinstance(value, Mapping) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "check_links",
    "detail_json",
    "group_batch",
    "insert_postgresql",
    "insert_sqlite",
    "refuse_differences",
]
