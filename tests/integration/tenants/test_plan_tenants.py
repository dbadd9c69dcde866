"""Plans per tenant (revision 0014): each tenant registers, reads and starts its own plan
ids; another tenant's plan id is exactly an unknown one; the migration back-fills the
plans of existing runs, keeps every audit hash, and goes down and up again."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from temporalio.testing import WorkflowEnvironment

from adapters.storage import (
    AuditStore,
    Database,
    PlanStore,
    RunRecord,
    RunStore,
    StorageError,
    UnknownPlan,
    upgrade,
)
from adapters.storage.migrations import HEAD_REVISION, alembic_config, current_revision
from tests.integration.databases import cli_environment
from tests.integration.runtime.plans import one_email
from tests.integration.storage.storage_helpers import make_chain

from .conftest import CONTACT, ROOT, VARS, Tenants
from .test_isolation import dee

SHORT = one_email("shared-plan")  # v1, one body ...
LONG = one_email("shared-plan", wait_hours=48)  # ... and another under the same id and version


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


async def _message(call: object) -> str:
    with pytest.raises(UnknownPlan) as refused:
        await call  # type: ignore[misc]
    return str(refused.value)


async def test_each_tenant_has_its_own_plan_ids(database: Database) -> None:
    acme, globex = PlanStore(database, "acme"), PlanStore(database, "globex")
    assert SHORT.content_hash != LONG.content_hash
    assert await acme.put(SHORT) and await globex.put(LONG)  # no conflict across tenants
    with pytest.raises(StorageError, match="already stored"):  # within one, still immutable
        await acme.put(LONG)
    assert (await acme.get("shared-plan")).content_hash == SHORT.content_hash
    assert (await globex.get("shared-plan", 1)).content_hash == LONG.content_hash
    assert await acme.content_hash("shared-plan", 1) == SHORT.content_hash
    assert await PlanStore(database).versions("shared-plan") == []  # default holds none

    # acme's own plan id, read by globex, is refused word for word like a missing one.
    await acme.put(one_email("acme-only"))
    assert await globex.versions("acme-only") == []
    for call, missing in (
        (lambda s, p: s.get(p), "'{}' is not stored"),
        (lambda s, p: s.get(p, 1), "'{}' version 1 is not stored"),
        (lambda s, p: s.content_hash(p, 1), "'{}' version 1 is not stored"),
    ):
        foreign = await _message(call(globex, "acme-only"))
        unknown = await _message(call(globex, "no-such-plan"))
        assert foreign.replace("acme-only", "X") == unknown.replace("no-such-plan", "X")
        assert foreign.endswith(missing.format("acme-only"))

    # A run's plan is its own tenant's: globex has no `acme-only` to run.
    runs = RunStore(database)
    await runs.upsert(RunRecord("run-a", "acme", "acme-only", 1, "c", "RUNNING"))
    with pytest.raises(StorageError, match="plan acme-only version 1 is not stored"):
        await runs.upsert(RunRecord("run-g", "globex", "acme-only", 1, "c", "RUNNING"))


async def _plan_rows(database: Database) -> list[tuple[str, str, int, str]]:
    async with database.snapshot() as conn:
        rows = await conn.execute(
            text("SELECT tenant, plan_id, version, content_hash FROM plans ORDER BY 1, 2, 3")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _hashes(database: Database) -> list[tuple[str, int, str]]:
    async with database.snapshot() as conn:
        rows = await conn.execute(text("SELECT run_id, seq, hash FROM audit_entries ORDER BY 1, 2"))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_0014_gives_each_tenant_the_plans_its_runs_used_and_downgrades(
    database: Database,
) -> None:
    await PlanStore(database).put(SHORT)  # at head, the default tenant's: kept by the downgrade
    await PlanStore(database).put(one_email("unused"))
    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0013")
    # What 0013 held: one plan, runs of two tenants (and the default one) using it.
    for run_id, tenant in (("run-acme", "acme"), ("run-globex", "globex"), ("run-d", "default")):
        await RunStore(database).upsert(RunRecord(run_id, tenant, "shared-plan", 1, "c", "RUNNING"))
        await AuditStore(database).append(make_chain(run_id, 3), tenant=tenant)
    before = await _hashes(database)

    assert await upgrade(database) == HEAD_REVISION == "0014"
    short = SHORT.content_hash
    assert await _plan_rows(database) == [
        ("acme", "shared-plan", 1, short),
        ("default", "shared-plan", 1, short),
        ("default", "unused", 1, one_email("unused").content_hash),
        ("globex", "shared-plan", 1, short),
    ]
    if database.dialect == "sqlite":
        async with database.snapshot() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []
    assert await _hashes(database) == before
    assert all(r.ok for r in await AuditStore(database).verify_all())
    # Runs started before the migration resolve their plan in their own tenant.
    for run_id in ("run-acme", "run-globex", "run-d"):
        run = await RunStore(database).get(run_id)
        assert (await PlanStore(database, run.tenant).get(run.plan_id)).content_hash == short
    with pytest.raises(StorageError, match="append-only"):  # the rebuilt table is immutable
        async with database.transaction() as conn:
            await conn.execute(text("UPDATE plans SET name = 'x'"))
    with pytest.raises(StorageError, match="append-only"):
        async with database.transaction() as conn:
            await conn.execute(text("DELETE FROM plans"))

    async with database.transaction() as conn:
        await conn.run_sync(_migrate, "downgrade", "0013")
    async with database.snapshot() as conn:
        rows = await conn.execute(text("SELECT plan_id, version FROM plans ORDER BY 1"))
        assert [tuple(r) for r in rows] == [("shared-plan", 1), ("unused", 1)]
    assert await upgrade(database) == "0014"
    assert len(await _plan_rows(database)) == 4
    assert await _hashes(database) == before


async def test_the_downgrade_refuses_two_bodies_under_one_plan_version(
    database: Database,
) -> None:
    await PlanStore(database, "acme").put(SHORT)
    await PlanStore(database, "globex").put(LONG)
    with pytest.raises(Exception, match=r"cannot downgrade below 0014.*shared-plan v1"):
        async with database.transaction() as conn:
            await conn.run_sync(_migrate, "downgrade", "0013")
    assert await current_revision(database) == "0014"
    assert len(await _plan_rows(database)) == 2


async def test_two_tenants_start_their_own_bodies_of_one_plan_id(
    tenants: Tenants,
    env: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = tenants
    a = await t.acme.execute(one_email("own-plan"), contact=CONTACT, variables=VARS)
    g = await t.globex.execute(
        one_email("own-plan", wait_hours=24), contact=CONTACT, variables=VARS
    )
    await env.sleep(timedelta(minutes=1))
    # Each passed the worker's plan check against its own tenant's stored body.
    assert (await t.acme.get_run(a.run_id)).status != "FAILED"
    assert (await t.globex.get_run(g.run_id)).status == "WAITING"
    assert (await t.acme.plans.get("own-plan")).content_hash == one_email("own-plan").content_hash
    other = one_email("own-plan", wait_hours=24).content_hash
    assert (await t.globex.plans.get("own-plan")).content_hash == other

    # The CLI registers into the configured tenant, and reads only it.
    cli = {**cli_environment(t.db_url, tmp_path), "DEE_TENANT": "globex"}
    cli["DEE_TEMPLATES_DIR"] = str(ROOT / "templates")
    plan_file = tmp_path / "cli-plan.json"
    plan_file.write_text(json.dumps(one_email("cli-plan", wait_hours=5).to_document()))
    registered = await dee(monkeypatch, cli, tmp_path, ["plan", "register", str(plan_file)])
    assert registered.returncode == 0, registered.stderr
    with pytest.raises(UnknownPlan):
        await t.acme.plans.get("cli-plan")
    assert (await t.globex.plans.versions("cli-plan")) == [1]

    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-x", "email": "x@example.com"}))
    explain = ["policy", "explain", "--contact", str(contact), "--channel", "email", "--plan"]
    acme_cli = {**cli, "DEE_TENANT": "acme"}
    foreign = await dee(monkeypatch, acme_cli, tmp_path, [*explain, "cli-plan"])
    unknown = await dee(monkeypatch, acme_cli, tmp_path, [*explain, "no-such-plan"])
    assert foreign.returncode == unknown.returncode == 1
    assert foreign.stderr.replace("cli-plan", "X") == unknown.stderr.replace("no-such-plan", "X")
    assert "not stored" in foreign.stderr
    own = await dee(monkeypatch, cli, tmp_path, [*explain, "cli-plan"])
    assert own.returncode == 0, own.stderr
