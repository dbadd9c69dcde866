"""Revision 0013 on both backends: the audit entries stored before it get their run's
tenant, the chains' content is untouched (they verify before and after), the table
stays append-only, and the downgrade drops the column again; and every append path
stores the tenant it is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from adapters.storage import (
    AuditStore,
    CheckpointSigner,
    Database,
    PlanStore,
    RunRecord,
    RunStore,
    upgrade,
)
from adapters.storage.audit_append import COPY_THRESHOLD
from adapters.storage.checkpoint_format import verify_keys
from adapters.storage.checkpoints import of_run
from adapters.storage.migrations import alembic_config, current_revision
from dee.documents import load_plan
from tests.integration.storage.storage_helpers import continue_chain, make_chain

PLAN = load_plan(Path(__file__).resolve().parents[3] / "plans" / "sales-sequence.yaml")
CHAINS = {"run-acme": 3, "run-globex": 2, "run-orphan": 2, "erasures:globex": 1}


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


def _has_tenant(connection: Connection) -> bool:
    return "tenant" in {c["name"] for c in inspect(connection).get_columns("audit_entries")}


async def _hashes(database: Database) -> list[tuple[str, int, str]]:
    async with database.snapshot() as conn:
        rows = await conn.execute(text("SELECT run_id, seq, hash FROM audit_entries"))
        return sorted((r[0], r[1], r[2]) for r in rows)


async def test_0013_backfills_the_tenant_keeps_every_hash_and_downgrades(
    database: Database,
) -> None:
    await PlanStore(database).put(PLAN)  # at head: kept by the downgrade
    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0012")
        assert not await conn.run_sync(_has_tenant)
    for run_id, tenant in (("run-acme", "acme"), ("run-globex", "globex")):
        await RunStore(database).upsert(
            RunRecord(run_id, tenant, PLAN.id, PLAN.version, "c", "RUNNING")
        )
    unscoped = AuditStore(database)  # no tenant: what 0012's writers stored
    async with database.transaction() as conn:
        for run_id, n in CHAINS.items():
            entries = make_chain(run_id, n)
            for e in entries:  # 0012's columns only: the store of this code writes tenant
                await conn.execute(
                    text(
                        "INSERT INTO audit_entries (run_id, seq, tick, recorded_at, step_id, "
                        "action, outcome, detail, prev_hash, hash) VALUES (:run_id, :seq, "
                        ":tick, CURRENT_TIMESTAMP, :step_id, :action, :outcome, :detail, "
                        ":prev_hash, :hash)"
                    ),
                    {**e.as_dict(), "detail": json.dumps(dict(e.detail))},
                )
    before = await _hashes(database)

    await upgrade(database)
    assert await current_revision(database) == "0014"
    async with database.snapshot() as conn:
        rows = await conn.execute(text("SELECT DISTINCT run_id, tenant FROM audit_entries"))
        tenants = dict(tuple(r) for r in rows)
    assert tenants == {
        "run-acme": "acme", "run-globex": "globex", "run-orphan": None,
        "erasures:globex": "globex",
    }  # fmt: skip
    assert await _hashes(database) == before
    assert all(r.ok for r in await unscoped.verify_all())
    # The orphan names no tenant: the default tenant's, no named tenant's.
    assert await AuditStore(database, tenant="default").run_ids() == ["run-orphan"]
    assert await AuditStore(database, tenant="globex").run_ids() == [
        "erasures:globex",
        "run-globex",
    ]
    with pytest.raises(Exception, match="append-only"):  # the back-fill lifted nothing for good
        async with database.transaction() as conn:
            await conn.execute(text("UPDATE audit_entries SET tenant = 'acme'"))

    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0012")
        assert not await conn.run_sync(_has_tenant)
    assert await _hashes(database) == before
    await upgrade(database)


@pytest.mark.parametrize("signed", [False, True], ids=["plain", "signed"])
async def test_every_append_path_stores_the_tenant_given(database: Database, signed: bool) -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate()) if signed else None
    store = AuditStore(database, signer=signer)
    small, large = make_chain("run-small", 3), make_chain("run-large", COPY_THRESHOLD + 1)
    await store.append(small, tenant="acme")  # one run: PostgreSQL's one-statement paths
    await store.append(large, tenant="globex")  # PostgreSQL's COPY path
    await store.append(small + continue_chain(small, 1), tenant="acme")  # a repeat and one new
    await AuditStore(database, tenant="initech").append(make_chain("run-bound", 1))
    async with database.snapshot() as conn:
        rows = await conn.execute(
            text("SELECT run_id, tenant, count(*) FROM audit_entries GROUP BY run_id, tenant")
        )
        stored = {(r[0], r[1], r[2]) for r in rows}
    assert stored == {
        ("run-small", "acme", 4), ("run-large", "globex", COPY_THRESHOLD + 1),
        ("run-bound", "initech", 1),
    }  # fmt: skip
    assert all(r.ok for r in await store.verify_all())
    if signer is not None:  # exported checkpoints of another tenant's run are not acme's
        async with database.snapshot() as conn:
            exported = [cp for r in ("run-small", "run-large") for cp in await of_run(conn, r)]
        keys = verify_keys([signer.public_key])
        mine = await AuditStore(database, tenant="acme").verify_all(keys=keys, exported=exported)
        assert [(r.run_id, r.ok) for r in mine] == [("run-small", True)]
