"""The database itself refuses changes to the audit log; tampering is pinpointed by verify.

To tamper, the tests switch the guard off the way only a database superuser can:
``ALTER TABLE ... DISABLE TRIGGER`` on PostgreSQL, dropping the trigger on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from storage_helpers import make_chain, tamper, unique

from adapters.storage import AuditStore, Database, PlanStore, StorageError
from dee.documents import load_plan
from interpreter.chain import entry_hash

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLANS_DIR = Path(__file__).resolve().parents[3] / "plans"


@contextmanager
def refused_by_the_database() -> Iterator[None]:
    """The statement is refused by the database's own trigger (the cause is its error)."""
    with pytest.raises(StorageError, match="append-only") as caught:
        yield
    assert isinstance(caught.value.__cause__, DBAPIError)


async def _stored_run(database: Database, n: int = 10) -> tuple[AuditStore, str]:
    store = AuditStore(database)
    run_id = unique()
    await store.append(make_chain(run_id, n))
    return store, run_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET outcome = 'bounced' WHERE run_id = :run_id AND seq = 3",
        "UPDATE audit_entries SET hash = prev_hash WHERE run_id = :run_id",
        "DELETE FROM audit_entries WHERE run_id = :run_id AND seq = 10",
        "DELETE FROM audit_entries WHERE run_id = :run_id",
    ],
)
async def test_update_and_delete_are_refused_by_the_database(
    database: Database, statement: str
) -> None:
    store, run_id = await _stored_run(database)

    with refused_by_the_database():
        async with database.transaction() as conn:
            await conn.execute(text(statement), {"run_id": run_id})

    assert (await store.verify(run_id)).entries == 10


async def test_emptying_the_table_is_refused(database: Database) -> None:
    store, run_id = await _stored_run(database)
    # Row triggers do not see TRUNCATE, so PostgreSQL has a statement trigger for it;
    # SQLite has no TRUNCATE, and its truncate optimisation is off when triggers exist.
    statement = (
        "TRUNCATE audit_entries"
        if database.dialect == "postgresql"
        else "DELETE FROM audit_entries"
    )

    with refused_by_the_database():
        async with database.transaction() as conn:
            await conn.execute(text(statement))

    assert await store.count(run_id) == 10


async def test_the_retention_switch_allows_delete_but_never_update(database: Database) -> None:
    _, run_id = await _stored_run(database)

    with refused_by_the_database():
        async with database.transaction() as conn:
            await _grant_retention(conn, database)
            await conn.execute(
                text("UPDATE audit_entries SET outcome = 'x' WHERE run_id = :r"), {"r": run_id}
            )


async def test_stored_plans_cannot_be_changed(database: Database) -> None:
    plan = load_plan(PLANS_DIR / "sales-sequence.yaml")
    await PlanStore(database).put(plan)

    for statement in ("UPDATE plans SET name = 'changed'", "DELETE FROM plans"):
        with refused_by_the_database():
            async with database.transaction() as conn:
                await conn.execute(text(statement))


async def test_tampered_outcome_is_pinpointed(database: Database) -> None:
    store, run_id = await _stored_run(database)

    await tamper(
        database,
        "UPDATE audit_entries SET outcome = 'bounced' WHERE run_id = :r AND seq = 7",
        r=run_id,
    )

    result = await store.verify(run_id)
    assert result.broken is not None
    assert (result.broken.run_id, result.broken.seq, result.broken.field) == (run_id, 7, "hash")
    assert result.entries == 6
    assert f"run {run_id}: entry seq 7: hash" in result.describe()
    await _assert_guard_restored(database, run_id)


async def test_rewritten_entry_with_recomputed_hash_breaks_the_next_link(
    database: Database,
) -> None:
    store, run_id = await _stored_run(database)
    original = (await store.entries(run_id))[6]
    forged = entry_hash(
        run_id=run_id,
        seq=7,
        tick=original.tick,
        step_id=original.step_id,
        action=original.action,
        outcome="bounced",
        detail=original.detail,
        prev_hash=original.prev_hash,
    )

    await tamper(
        database,
        "UPDATE audit_entries SET outcome = 'bounced', hash = :h WHERE run_id = :r AND seq = 7",
        r=run_id,
        h=forged,
    )

    broken = (await store.verify(run_id)).broken
    assert broken is not None
    assert (broken.seq, broken.field, broken.actual) == (8, "prev_hash", original.hash)


async def test_deleted_entry_is_pinpointed(database: Database) -> None:
    store, run_id = await _stored_run(database)

    await tamper(database, "DELETE FROM audit_entries WHERE run_id = :r AND seq = 5", r=run_id)

    broken = (await store.verify(run_id)).broken
    assert broken is not None
    assert (broken.seq, broken.field, broken.actual) == (5, "seq", "6")


async def test_verify_all_reports_only_the_tampered_run(database: Database) -> None:
    store, good = await _stored_run(database)
    _, bad = await _stored_run(database)
    await tamper(database, "UPDATE audit_entries SET tick = 1 WHERE run_id = :r AND seq = 2", r=bad)

    results = {r.run_id: r for r in await store.verify_all()}

    assert results[good].ok
    assert results[bad].broken is not None
    assert (results[bad].broken.seq, results[bad].broken.field) == (2, "hash")


async def _grant_retention(conn: AsyncConnection, database: Database) -> None:
    # What dee_retention_delete sets while it runs (the test runs as the table owner).
    if database.dialect == "postgresql":
        await conn.execute(text("SELECT set_config('dee.retention_function', 'on', true)"))
    else:
        await conn.execute(text("INSERT INTO audit_retention_grant (id) VALUES (1)"))


async def _assert_guard_restored(database: Database, run_id: str) -> None:
    with refused_by_the_database():
        async with database.transaction() as conn:
            await conn.execute(
                text("UPDATE audit_entries SET outcome = 'x' WHERE run_id = :r"), {"r": run_id}
            )
