"""The contact ledger: revision 0012 up and down, what the gate records, reads in order,
outcomes by rank, and idempotent imports (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection

from adapters.policy import PolicyConfig, PolicyGate
from adapters.policy.ledger import (
    LedgerRow,
    import_attempts,
    import_key,
    read_attempts,
    record_outcome,
)
from adapters.policy.request import GateRequest
from adapters.policy.rules.model import Attempt
from adapters.policy.tables import CONTACT_SENDS
from adapters.storage import Database, StorageError, upgrade
from adapters.storage.migrations import alembic_config, current_revision
from tests.integration.databases import login_role, role_url

from .helpers import NOON, send

pytestmark = pytest.mark.asyncio(loop_scope="session")
# Voice without consent on record (opt-out mode): these tests are about the ledger.
VOICE = PolicyConfig(consent_modes={"voice": "opt-out"})
NEW_COLUMNS = {"debt_ref", "subject", "caller_id", "outcome", "source"}


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("contact_sends")}


async def test_revision_0012_adds_the_ledger_columns_and_downgrades_keeping_the_rows(
    database: Database, db_url: str
) -> None:
    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0011")
        assert NEW_COLUMNS.isdisjoint(await conn.run_sync(_columns))
        # A send the gate counted before 0012: it becomes a ``run`` attempt.
        await conn.execute(
            text(
                "INSERT INTO contact_sends (run_id, step_id, visit, tenant, contact_id, "
                "channel, sent_at) VALUES ('old', 's', 0, 'acme', 'c1', 'voice', :at)"
            ),
            {"at": NOON.replace(tzinfo=None)},
        )
    assert await current_revision(database) == "0011"
    await upgrade(database)
    async with database.snapshot() as conn:
        assert await conn.run_sync(_columns) >= NEW_COLUMNS
        [old] = await read_attempts(conn, "acme", "c1", NOON - timedelta(days=1))
    assert old == Attempt("voice", NOON, source="run")

    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0011")
        assert NEW_COLUMNS.isdisjoint(await conn.run_sync(_columns))
        kept = await conn.scalar(select(func.count()).select_from(text("contact_sends")))
        # The index 0006 made, which reads "this contact's attempts since T", survives.
        indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("contact_sends"))
    assert kept == 1
    assert [i["column_names"] for i in indexes] == [["tenant", "contact_id", "sent_at"]]
    await upgrade(database)
    if database.dialect == "postgresql":  # SQLite has no roles to grant to
        await _only_the_outcome_and_erasable_fields_are_updatable(database, db_url)


async def _only_the_outcome_and_erasable_fields_are_updatable(
    database: Database, db_url: str
) -> None:
    async with database.snapshot() as conn:
        app = await conn.scalar(text("SELECT role_name FROM dee_roles WHERE purpose = 'app'"))
        check = text("SELECT has_column_privilege(:r, 'contact_sends', :c, 'UPDATE')")
        # The outcome is set when known; debt and subject are cleared by an erasure.
        for column in ("outcome", "debt_ref", "subject"):
            assert await conn.scalar(check, {"r": app, "c": column}), column
        for column in ("sent_at", "contact_id", "source", "channel", "tenant", "caller_id"):
            assert not await conn.scalar(check, {"r": app, "c": column}), column
    # As the application role: the outcome is set, the attempt's time cannot be moved.
    await login_role(str(app))
    as_app = Database(role_url(db_url, str(app)))
    try:
        async with as_app.transaction() as conn:
            assert await record_outcome(conn, "old", "s", "answered")
        with pytest.raises(StorageError, match="permission denied"):
            async with as_app.transaction() as conn:
                await conn.execute(CONTACT_SENDS.update().values(sent_at=NOON))
    finally:
        await as_app.dispose()


def _voice(run_id: str, at: datetime, **fields: object) -> GateRequest:
    base = send(channel="voice", run_id=run_id, at=at)
    return GateRequest(
        tenant=base.tenant,
        run_id=base.run_id,
        plan_id=base.plan_id,
        step_id=base.step_id,
        visit=base.visit,
        channel=base.channel,
        contact=base.contact,
        at=at,
        max_duration_seconds=base.max_duration_seconds,
        **fields,  # type: ignore[arg-type]
    )


async def test_the_gate_records_debt_subject_and_caller_and_reads_come_oldest_first(
    database: Database,
) -> None:
    gate = PolicyGate(database, VOICE)
    later = _voice("r-2", NOON + timedelta(hours=2), debt_ref="D-9", subject="loan")
    earlier = _voice("r-1", NOON, debt_ref="D-9", subject="loan", caller_id="+15551234567")
    assert (await gate.evaluate(later)).allowed
    assert (await gate.evaluate(earlier)).allowed
    assert (await gate.evaluate(send(run_id="r-3", at=NOON + timedelta(hours=1)))).allowed

    async with database.snapshot() as conn:
        found = await read_attempts(conn, "acme", "c1", NOON - timedelta(days=7))
        without = await read_attempts(
            conn, "acme", "c1", NOON - timedelta(days=7), exclude=("r-1", "send-1", 0)
        )
        since_later = await read_attempts(conn, "acme", "c1", NOON + timedelta(hours=2))
        other = await read_attempts(conn, "other", "c1", NOON - timedelta(days=7))
    assert found == (
        Attempt("voice", NOON, None, "D-9", "loan", "+15551234567", "run"),
        Attempt("email", NOON + timedelta(hours=1)),
        Attempt("voice", NOON + timedelta(hours=2), None, "D-9", "loan", None, "run"),
    )
    assert without == found[1:]
    assert since_later == found[2:]
    assert other == ()


async def test_an_outcome_is_set_by_rank_and_only_on_a_counted_send(database: Database) -> None:
    gate = PolicyGate(database, VOICE)
    assert (await gate.evaluate(_voice("run-o", NOON))).allowed
    second = send(channel="voice", run_id="run-o", visit=1, at=NOON + timedelta(hours=1))
    assert (await gate.evaluate(second)).allowed

    async with database.transaction() as conn:
        assert not await record_outcome(conn, "run-none", "send-1", "answered")
        # Without a visit: the step's latest counted send (visit 1).
        assert await record_outcome(conn, "run-o", "send-1", "completed")
        assert await record_outcome(conn, "run-o", "send-1", "answered")
        assert not await record_outcome(conn, "run-o", "send-1", "completed")  # ranks lower
        assert not await record_outcome(conn, "run-o", "send-1", "busy")
        assert await record_outcome(conn, "run-o", "send-1", "no_answer", visit=0)
        with pytest.raises(ValueError, match="unknown call outcome 'hung'"):
            await record_outcome(conn, "run-o", "send-1", "hung")
        found = await read_attempts(conn, "acme", "c1", NOON - timedelta(days=1))
    assert [a.outcome for a in found] == ["no_answer", "answered"]


def _rows() -> list[LedgerRow]:
    at = datetime(2025, 6, 9, 14, 0, tzinfo=UTC)
    return [
        LedgerRow("c1", Attempt("voice", at, "answered", "D-9", "loan", "+15550001111", "import")),
        LedgerRow("c1", Attempt("voice", at + timedelta(hours=1), None, "D-9", None, None)),
        LedgerRow("c2", Attempt("email", at, source="import")),
    ]


async def _count(database: Database) -> int:
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(CONTACT_SENDS)) or 0)


async def test_an_import_adds_each_row_once_under_a_content_key(database: Database) -> None:
    first = await import_attempts(database, "acme", _rows())
    again = await import_attempts(database, "acme", [*_rows(), _rows()[0]])
    other_tenant = await import_attempts(database, "other", _rows()[:1])

    assert (first.added, first.already) == (3, 0)
    assert (again.added, again.already) == (0, 4)
    assert (other_tenant.added, other_tenant.already) == (1, 0)
    assert await _count(database) == 4
    key = import_key("acme", _rows()[0])
    assert key.startswith("import:") and len(key) == len("import:") + 16
    # The same instant in another offset is the same row.
    shifted = _rows()[0].attempt.at.astimezone(timezone(timedelta(hours=2)))
    same = LedgerRow("c1", Attempt("voice", shifted, "answered", "D-9", "loan", "+15550001111"))
    assert import_key("acme", same) == key
    async with database.snapshot() as conn:
        found = await read_attempts(conn, "acme", "c1", NOON - timedelta(days=7))
    assert [(a.source, a.outcome, a.debt_ref) for a in found] == [
        ("import", "answered", "D-9"),
        ("import", None, "D-9"),
    ]
