"""Signed checkpoints: the tamper table of issue 21, on SQLite and PostgreSQL.

Each tampering is done as a superuser would (the append-only triggers bypassed), then
both verifiers — ``AuditStore.verify`` (what ``dee audit verify`` runs) and the
standalone ``tools/verify_audit_chain.py`` on the exports — must name the run and the
seq. The signing key is the test's; the database never sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from storage_helpers import load_verifier, make_chain, unique

from adapters.storage import (
    AuditStore,
    Checkpoint,
    CheckpointSigner,
    CheckpointStore,
    Database,
    FileArchive,
    Retention,
    verify_keys,
)
from adapters.storage.checkpoints import CHECKPOINTS, checkpoint_of
from interpreter.chain import ChainedEntry, chain
from interpreter.trace import TraceEntry

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
KEYS = verify_keys([SIGNER.public_key])
ATTACKER = CheckpointSigner(Ed25519PrivateKey.generate())
tool = load_verifier()


@contextlib.asynccontextmanager
async def superuser(database: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction in which no append-only trigger fires, as a superuser can have it."""
    async with database.transaction() as conn:
        if database.dialect == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            return
        found = await conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_entries', 'audit_checkpoints')"
            )
        )
        triggers = [(row[0], row[1]) for row in found]
        for name, _ in triggers:
            await conn.execute(text(f'DROP TRIGGER "{name}"'))
        yield conn
        for _, sql in triggers:
            await conn.execute(text(sql))


async def run_sql(database: Database, statement: str, **params: object) -> None:
    async with superuser(database) as conn:
        await conn.execute(text(statement), params)


async def insert_entries(database: Database, entries: Sequence[ChainedEntry]) -> None:
    """Rows as the attacker writes them: straight into the table, no checkpoint."""
    await AuditStore(database).append(entries)


def closing(after: ChainedEntry) -> list[ChainedEntry]:
    end = TraceEntry(after.tick + 10, "done", "end", "completed", {})
    return chain(after.run_id, [end], start_seq=after.seq + 1, prev_hash=after.hash)


async def signed_run(database: Database, run_id: str, *, closed: bool = True) -> list[ChainedEntry]:
    """Nine entries appended in three signed batches (seq 3, 6, 9); the last ends the run."""
    store = AuditStore(database, signer=SIGNER)
    entries = make_chain(run_id, 8)
    entries += (
        closing(entries[-1])
        if closed
        else make_chain(run_id, 1, start_seq=9, prev_hash=entries[-1].hash)
    )
    for start in (0, 3, 6):
        await store.append(entries[start : start + 3])
    return entries


async def stored_checkpoints(database: Database, run_id: str) -> list[Checkpoint]:
    return await CheckpointStore(database).of_run(run_id)


async def dee_lines(
    database: Database, run_id: str, exported: Sequence[Checkpoint] = (), keys=KEYS
) -> list[str]:
    result = await AuditStore(database).verify(run_id, keys=keys, exported=exported)
    return result.problem_lines()


async def tool_lines(
    database: Database,
    tmp_path: Path,
    run_ids: Sequence[str],
    *,
    trusted: Sequence[Checkpoint] | None = None,
    key: Path | None = None,
    extra: Sequence[str] = (),
) -> tuple[int, list[str]]:
    """The standalone verifier on the runs' exports and a checkpoint export."""
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    files = []
    store = AuditStore(database)
    for run_id in run_ids:
        path = folder / f"{run_id}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            await store.export(run_id, out)
        files.append(str(path))
    if trusted is None:
        checkpoints, _ = await CheckpointStore(database).export(folder / "checkpoints.jsonl")
    else:
        checkpoints = folder / "trusted.jsonl"
        checkpoints.write_text("".join(cp.line() + "\n" for cp in trusted), encoding="utf-8")
    if key is None:
        key = folder / "key.pem"
        key.write_text(SIGNER.public_pem(), encoding="ascii")
    argv = ["--public-key", str(key), "--checkpoints", str(checkpoints), *extra, *files]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = tool.main(argv)
    return status, [line for line in out.getvalue().splitlines() if line.startswith("BROKEN")]


def named(lines: Sequence[str], run_id: str, seq: int, words: str) -> bool:
    return any(f"run {run_id}: entry seq {seq}: " in line and words in line for line in lines)


async def test_an_untampered_database_verifies_with_both(
    database: Database, tmp_path: Path
) -> None:
    closed, open_run = unique(), unique()
    await signed_run(database, closed)
    await signed_run(database, open_run, closed=False)

    for run_id in (closed, open_run):
        result = await AuditStore(database).verify(run_id, keys=KEYS)
        assert result.ok, result.problem_lines()
        assert result.signed is not None and result.signed.seq == 9
        assert result.signed.closed is (run_id == closed)
        assert "signed through seq 9 (3 checkpoints" in result.describe()
    assert await tool_lines(database, tmp_path, [closed, open_run]) == (0, [])


async def test_each_append_signs_the_new_head_once(database: Database) -> None:
    run_id = unique()
    entries = await signed_run(database, run_id)
    store = AuditStore(database, signer=SIGNER)

    await store.append(entries[3:6])  # a retried activity: stored, already signed

    signed = await stored_checkpoints(database, run_id)
    assert [(cp.n, cp.seq, cp.head, cp.closed) for cp in signed] == [
        (1, 3, entries[2].hash, False),
        (2, 6, entries[5].hash, False),
        (3, 9, entries[8].hash, True),
    ]
    assert signed[1].prev == signed[0].hash and signed[2].prev == signed[1].hash
    assert {cp.key_id for cp in signed} == {SIGNER.key_id}


Tamper = Callable[[Database, str, list[ChainedEntry]], Awaitable[None]]


async def changed_entry(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    await run_sql(
        db, "UPDATE audit_entries SET outcome = 'bounced' WHERE run_id = :r AND seq = 5", r=run_id
    )


async def deleted_middle_entry(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    await run_sql(db, "DELETE FROM audit_entries WHERE run_id = :r AND seq = 5", r=run_id)


async def truncated_tail(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    await run_sql(db, "DELETE FROM audit_entries WHERE run_id = :r AND seq >= 7", r=run_id)


async def rewritten_with_recomputed_hashes(
    db: Database, run_id: str, entries: list[ChainedEntry]
) -> None:
    await run_sql(db, "DELETE FROM audit_entries WHERE run_id = :r AND seq >= 4", r=run_id)
    forged = [replace(e, outcome="failed") if e.seq == 4 else e for e in entries[3:]]
    await insert_entries(db, chain(run_id, forged, start_seq=4, prev_hash=entries[2].hash))


async def appended_after_close(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    await insert_entries(db, make_chain(run_id, 1, start_seq=10, prev_hash=entries[-1].hash))


async def deleted_checkpoint(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    await run_sql(db, "DELETE FROM audit_checkpoints WHERE run_id = :r AND n = 2", r=run_id)


async def edited_checkpoint(db: Database, run_id: str, entries: list[ChainedEntry]) -> None:
    # Rewrite the tail, then point the closing checkpoint at the new head.
    await run_sql(db, "DELETE FROM audit_entries WHERE run_id = :r AND seq >= 7", r=run_id)
    forged = chain(
        run_id,
        [replace(e, outcome="failed") for e in entries[6:]],
        start_seq=7,
        prev_hash=entries[5].hash,
    )
    await insert_entries(db, forged)
    await run_sql(
        db,
        "UPDATE audit_checkpoints SET head = :h WHERE run_id = :r AND n = 3",
        h=forged[-1].hash,
        r=run_id,
    )


async def checkpoint_signed_by_another_key(
    db: Database, run_id: str, entries: list[ChainedEntry]
) -> None:
    extra = make_chain(run_id, 1, start_seq=10, prev_hash=entries[-1].hash)
    last = (await stored_checkpoints(db, run_id))[-1]
    fake = ATTACKER.sign(
        run_id=run_id, n=4, seq=10, head=extra[0].hash, closed=True, prev=last.hash
    )
    async with superuser(db) as conn:
        await conn.execute(CHECKPOINTS.insert(), [checkpoint_row(fake)])
    await insert_entries(db, extra)


def checkpoint_row(cp: Checkpoint) -> dict[str, object]:
    row = {
        name: getattr(cp, name)
        for name in ("run_id", "n", "seq", "head", "closed", "key_id", "prev", "hash", "sig")
    }
    return {**row, "signed_at": cp.time}


# (tampering, the seq both verifiers must name, words in the DEE line, words in the tool's)
TAMPER_TABLE: list[tuple[Tamper, int, str, str]] = [
    (changed_entry, 5, "hash is", "hash is"),
    (deleted_middle_entry, 5, "seq is '6'", "seq is '6'"),
    (truncated_tail, 7, "entries seq 7..9 are missing", "entries seq 7..9 are missing"),
    (rewritten_with_recomputed_hashes, 6, "rewritten after seq 3", "rewritten after seq 3"),
    (appended_after_close, 10, "are not signed", "are not signed"),
    (
        deleted_checkpoint,
        4,
        "checkpoint 2 is missing (deleted)",
        "checkpoint 2 is missing (deleted)",
    ),
    (
        edited_checkpoint,
        9,
        "is forged: its hash does not match",
        "is forged: its hash does not match",
    ),
    (
        checkpoint_signed_by_another_key,
        10,
        "is forged: signed with key",
        "is forged: signed with key",
    ),
]


@pytest.mark.parametrize(
    ("tampering", "seq", "dee_words", "tool_words"),
    TAMPER_TABLE,
    ids=[row[0].__name__ for row in TAMPER_TABLE],
)
async def test_each_tampering_is_named_by_both_verifiers(
    database: Database, tmp_path: Path, tampering: Tamper, seq: int, dee_words: str, tool_words: str
) -> None:
    run_id, bystander = unique(), unique()
    entries = await signed_run(database, run_id)
    await signed_run(database, bystander)

    await tampering(database, run_id, entries)

    ours = await dee_lines(database, run_id)
    assert named(ours, run_id, seq, dee_words), ours
    status, theirs = await tool_lines(database, tmp_path, [run_id, bystander])
    assert status == 1 and named(theirs, run_id, seq, tool_words), theirs
    assert not any(bystander in line for line in [*ours, *theirs])
    assert (await AuditStore(database).verify(bystander, keys=KEYS)).ok


async def test_entries_appended_to_an_open_run_are_unsigned_too(
    database: Database, tmp_path: Path
) -> None:
    run_id = unique()
    entries = await signed_run(database, run_id, closed=False)
    await insert_entries(database, make_chain(run_id, 2, start_seq=10, prev_hash=entries[-1].hash))

    ours = await dee_lines(database, run_id)
    assert named(ours, run_id, 10, "entries seq 10..11 are not signed"), ours
    assert "closed the run" not in ours[0]
    status, theirs = await tool_lines(database, tmp_path, [run_id])
    assert status == 1 and named(theirs, run_id, 10, "entries seq 10..11 are not signed"), theirs


async def test_a_fabricated_run_is_named(database: Database, tmp_path: Path) -> None:
    run_id = unique("invented")
    await insert_entries(database, make_chain(run_id, 4))  # the app role may INSERT

    ours = await dee_lines(database, run_id)
    assert named(ours, run_id, 1, "no signed checkpoint"), ours
    status, theirs = await tool_lines(database, tmp_path, [run_id])
    assert status == 1 and named(theirs, run_id, 1, "no signed checkpoint"), theirs


async def test_a_tail_deleted_with_its_checkpoint_is_caught_against_the_export(
    database: Database, tmp_path: Path
) -> None:
    run_id = unique()
    await signed_run(database, run_id)
    exported = await stored_checkpoints(database, run_id)  # what the export holds

    await run_sql(database, "DELETE FROM audit_entries WHERE run_id = :r AND seq >= 7", r=run_id)
    await run_sql(database, "DELETE FROM audit_checkpoints WHERE run_id = :r AND n = 3", r=run_id)

    # The database alone now tells a consistent, shorter story: that is what the export is for.
    assert await dee_lines(database, run_id) == []
    ours = await dee_lines(database, run_id, exported)
    assert named(
        ours, run_id, 9, "checkpoint 3 (seq 9) is in the export but not in the database"
    ), ours
    assert named(ours, run_id, 7, "entries seq 7..9 are missing"), ours
    status, theirs = await tool_lines(database, tmp_path, [run_id], trusted=exported)
    assert status == 1 and named(theirs, run_id, 7, "entries seq 7..9 are missing"), theirs


async def test_a_whole_deleted_run_is_caught_against_the_export(
    database: Database, tmp_path: Path
) -> None:
    gone, kept = unique(), unique()
    await signed_run(database, gone)
    await signed_run(database, kept)
    exported = [
        *await stored_checkpoints(database, gone),
        *await stored_checkpoints(database, kept),
    ]

    await run_sql(database, "DELETE FROM audit_entries WHERE run_id = :r", r=gone)
    await run_sql(database, "DELETE FROM audit_checkpoints WHERE run_id = :r", r=gone)

    results = await AuditStore(database).verify_all(keys=KEYS, exported=exported)
    lines = [line for r in results for line in r.problem_lines()]
    assert named(lines, gone, 1, "entries seq 1..9 are missing"), lines
    status, theirs = await tool_lines(
        database, tmp_path, [kept], trusted=exported, extra=["--complete"]
    )
    assert status == 1 and named(theirs, gone, 1, "no FILE holds it"), theirs


async def test_a_verifier_with_the_wrong_public_key_refuses(
    database: Database, tmp_path: Path
) -> None:
    run_id = unique()
    await signed_run(database, run_id)

    ours = await dee_lines(database, run_id, keys=verify_keys([ATTACKER.public_key]))
    assert named(ours, run_id, 3, "checkpoint 1 (seq 3) is forged: signed with key"), ours
    assert named(ours, run_id, 1, "no signed checkpoint"), ours
    wrong = tmp_path / "wrong.pem"
    wrong.write_text(ATTACKER.public_pem(), encoding="ascii")
    status, theirs = await tool_lines(database, tmp_path, [run_id], key=wrong)
    assert status == 1 and named(theirs, run_id, 3, "is forged: signed with key"), theirs


async def test_checkpoints_are_append_only(database: Database) -> None:
    run_id = unique()
    await signed_run(database, run_id)
    for statement in (
        "UPDATE audit_checkpoints SET seq = 1 WHERE run_id = :r",
        "DELETE FROM audit_checkpoints WHERE run_id = :r",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with database.transaction() as conn:
                await conn.execute(text(statement), {"r": run_id})
    assert len(await stored_checkpoints(database, run_id)) == 3


async def test_a_stored_row_is_its_checkpoint_exactly(database: Database) -> None:
    run_id = unique()
    await signed_run(database, run_id)
    async with database.snapshot() as conn:
        rows = (
            await conn.execute(CHECKPOINTS.select().where(CHECKPOINTS.c.run_id == run_id))
        ).mappings()
        again = [checkpoint_of(row) for row in rows]
    export_lines = [line async for line in CheckpointStore(database).lines() if run_id in line]
    assert [cp.line() for cp in sorted(again, key=lambda cp: cp.n)] == export_lines


async def test_a_stale_guess_never_breaks_the_checkpoint_chain(database: Database) -> None:
    # Two workers share the key; each remembers only the checkpoints it made, and one
    # of those belongs to an append that rolled back.
    key = Ed25519PrivateKey.generate()
    one, two = CheckpointSigner(key), CheckpointSigner(key)
    first, second = AuditStore(database, signer=one), AuditStore(database, signer=two)
    run_id = unique()
    entries = make_chain(run_id, 12)
    await first.append(entries[:3])
    await second.append(entries[3:6])
    await first.append(entries[6:9])  # its guess (checkpoint 1) is stale
    with pytest.raises(RuntimeError, match="after the append"):
        async with database.transaction() as conn:
            await second.append_in(conn, entries[9:12])
            raise RuntimeError("the run row failed after the append")
    assert two.made[run_id].n == 4  # remembered, never stored
    await second.append(entries[9:12])
    await first.append(entries[6:9])  # a late retry of a signed batch: no new checkpoint

    signed = await stored_checkpoints(database, run_id)
    assert [(cp.n, cp.seq) for cp in signed] == [(1, 3), (2, 6), (3, 9), (4, 12)]
    result = await AuditStore(database).verify(run_id, keys=verify_keys([one.public_key]))
    assert result.ok, result.problem_lines()


async def test_retention_keeps_the_checkpoints_and_the_rest_still_verifies(
    database: Database, tmp_path: Path
) -> None:
    # Retention archives a prefix (seq 1..6, signed at 3 and 6) and leaves 7..9.
    run_id = unique()
    entries = make_chain(run_id, 9)
    store = AuditStore(database, signer=SIGNER)
    await store.append(entries[:3])
    await store.append(entries[3:6])
    await asyncio.sleep(0.01)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await store.append(entries[6:])
    await Retention(database, FileArchive(tmp_path / "archive"), days=30).run(
        now=moment + timedelta(days=30)
    )

    result = await AuditStore(database).verify(run_id, keys=KEYS)
    assert result.ok and (result.first_seq, result.entries) == (7, 3), result.problem_lines()
    assert result.signed is not None and result.signed.seq == 9
    await run_sql(database, "DELETE FROM audit_entries WHERE run_id = :r AND seq = 9", r=run_id)
    ours = await dee_lines(database, run_id)
    assert named(ours, run_id, 9, "entries seq 9..9 are missing"), ours
