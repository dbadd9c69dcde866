"""Migrations: idempotent, race-free at startup, identical to the models; clear failures."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from adapters.storage import (
    Database,
    DatabaseUnavailable,
    PlanStore,
    RunStore,
    open_database,
    upgrade,
)
from adapters.storage.migrations import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    head_revision,
)
from adapters.storage.schema import metadata
from dee.devserver import free_port
from tests.integration.storage.test_storage_plans_runs import _plan

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_upgrade_is_idempotent(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert await current_revision(database) is None
        assert await upgrade(database) == head_revision() == "0014"
        assert await upgrade(database) == HEAD_REVISION
        assert await current_revision(database) == HEAD_REVISION
    finally:
        await database.dispose()


async def test_the_head_constant_is_alembics_head() -> None:
    # upgrade() skips Alembic when the database is at HEAD_REVISION: a new revision that
    # forgot to move the constant would never be applied to an existing database.
    assert head_revision() == HEAD_REVISION


def _downgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_a_database_behind_head_is_upgraded_past_the_fast_path(db_url: str) -> None:
    database = Database(db_url)
    try:
        await upgrade(database)
        async with database.transaction() as conn:  # a database the newest revision is new to
            await conn.run_sync(_downgrade_to, "0002")
        assert await current_revision(database) == "0002"
        assert await upgrade(database) == HEAD_REVISION
        assert await current_revision(database) == HEAD_REVISION
    finally:
        await database.dispose()


async def test_concurrent_startups_migrate_once(db_url: str) -> None:
    # Eight processes' worth of first connections to a brand-new database: on SQLite
    # they also race to switch the file into WAL mode, which ignores the busy timeout.
    databases = [Database(db_url) for _ in range(8)]
    try:
        # return_exceptions: a failure must not leave the other upgrades running on.
        revisions = await asyncio.gather(*(upgrade(db) for db in databases), return_exceptions=True)
    finally:
        for db in databases:
            await db.dispose()

    assert revisions == [HEAD_REVISION] * 8


async def test_concurrent_processes_migrate_once(db_url: str, cli_env: Mapping[str, str]) -> None:
    # Separate processes share no in-process lock: only the database's own locking (and,
    # on SQLite, the retried switch into WAL mode) keeps their first startups apart.
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dee",
            "db",
            "upgrade",
            env=dict(cli_env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(6)
    ]
    outcomes = [await process.communicate() for process in processes]

    for process, (stdout, stderr) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert stdout.decode().endswith(f"schema at revision {HEAD_REVISION}\n")
    database = Database(db_url)
    try:
        assert await current_revision(database) == HEAD_REVISION
    finally:
        await database.dispose()


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, type_, reflected, other: (
                    name not in ("alembic_version", "audit_retention_grant", "dee_roles")
                ),
            },
        )
        return list(compare_metadata(context, metadata))

    async with database.snapshot() as conn:
        assert await conn.run_sync(differences) == []


async def test_unreachable_postgresql_is_named() -> None:
    port = free_port()

    with pytest.raises(DatabaseUnavailable) as caught:
        await open_database(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")

    assert str(caught.value).startswith(
        f"cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:{port}/test: "
    )


async def test_unusable_urls_are_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(DatabaseUnavailable, match="unsupported backend 'mysql'"):
        Database("mysql://user@localhost/db")
    with pytest.raises(DatabaseUnavailable, match="not a valid URL"):
        Database("not a url")
    with pytest.raises(DatabaseUnavailable, match="cannot create the directory"):
        Database(f"sqlite:///{blocker}/sub/dee.db")


async def test_plain_driver_names_select_the_async_drivers(tmp_path: Path) -> None:
    sqlite = Database(f"sqlite:///{tmp_path}/x.db")
    postgres = Database("postgresql://u:secret@db.invalid:5432/dee?search_path=dee")
    try:
        assert sqlite.url.drivername == "sqlite+aiosqlite"
        assert postgres.url.drivername == "postgresql+asyncpg"
        assert postgres.search_path == "dee"
        assert "secret" not in postgres.display_url
    finally:
        await sqlite.dispose()
        await postgres.dispose()


async def test_first_sqlite_connections_racing_into_wal_mode(tmp_path: Path) -> None:
    # Each thread runs its own event loop, like separate processes: nothing in-process
    # orders their first connections. The switch into WAL mode ignores the busy
    # timeout, so without the retry about one round in twenty fails with "locked".
    def connect(url: str, barrier: threading.Barrier) -> str:
        async def first_connection() -> str:
            database = Database(url)
            try:
                barrier.wait()
                async with database.snapshot() as conn:
                    mode = await conn.exec_driver_sql("PRAGMA journal_mode")
                    return str(mode.scalar_one())
            finally:
                await database.dispose()

        return asyncio.run(first_connection())

    def rounds() -> None:
        for round_ in range(40):
            url = f"sqlite+aiosqlite:///{tmp_path / f'round-{round_}.db'}"
            barrier = threading.Barrier(8)
            with ThreadPoolExecutor(max_workers=8) as pool:
                modes = list(pool.map(connect, [url] * 8, [barrier] * 8))
            assert modes == ["wal"] * 8, f"round {round_}"

    await asyncio.to_thread(rounds)


async def test_an_index_created_before_the_migration_is_kept(db_url: str) -> None:
    # Earlier code created dee_sent_messages itself on first use; 0002 must adopt that
    # table, rows and all, instead of failing on "table already exists".
    def to_0001(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")

    database = Database(db_url)
    try:
        async with database.transaction() as conn:
            if database.search_path:
                await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{database.search_path}"')
            await conn.run_sync(to_0001)
            await conn.exec_driver_sql(
                "CREATE TABLE dee_sent_messages (message_key VARCHAR(64) PRIMARY KEY, "
                "tenant VARCHAR(255) NOT NULL, run_id VARCHAR(255) NOT NULL, "
                "step_id VARCHAR(255) NOT NULL, visit INTEGER NOT NULL, "
                "contact_id VARCHAR(255) NOT NULL, "
                "recorded_at TIMESTAMP WITH TIME ZONE NOT NULL)"
            )
            await conn.execute(
                text(
                    "INSERT INTO dee_sent_messages VALUES "
                    "('k1', 't', 'r1', 's', 0, 'c', '2026-01-01 00:00:00+00:00')"
                )
            )
        assert await upgrade(database) == HEAD_REVISION
        async with database.snapshot() as conn:
            rows = (await conn.exec_driver_sql("SELECT run_id FROM dee_sent_messages")).all()
            secrets = (await conn.exec_driver_sql("SELECT count(*) FROM dee_secrets")).scalar()
        assert [tuple(r) for r in rows] == [("r1",)] and secrets == 0
    finally:
        await database.dispose()


async def test_downgrade_to_0002_and_back(database: Database) -> None:
    # 0003 is PostgreSQL-only (the retention function and the stricter trigger); on
    # SQLite both directions only move the revision.
    def downgrade_to_0002(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")

    async def retention_function() -> tuple[object, object]:
        async with database.snapshot() as conn:
            found = await conn.exec_driver_sql(
                "SELECT to_regprocedure('dee_retention_delete(text, bigint, bigint, text, text)'),"
                " (SELECT proconfig FROM pg_proc WHERE oid = 'dee_refuse_change'::regproc)"
            )
            function, guard_config = found.one()
            return function, guard_config

    async with database.transaction() as conn:
        await conn.run_sync(downgrade_to_0002)
    assert await current_revision(database) == "0002"
    if database.dialect == "postgresql":
        assert await retention_function() == (None, None)

    assert await upgrade(database) == HEAD_REVISION
    if database.dialect == "postgresql":
        function, guard_config = await retention_function()
        assert function is not None
        assert guard_config == ["search_path=pg_catalog, pg_temp"]


async def test_rows_from_before_0008_say_they_keep_no_run_facts(database: Database) -> None:
    # Revision 0008 adds outcome, failure and exit_rule to the run row; a row written
    # before holds none, and says so (facts_kept false), so its run is read from the chain.
    # Stored at head (the default tenant's), kept by the downgrades to 0007.
    await PlanStore(database).put(_plan())
    async with database.transaction() as conn:
        await conn.run_sync(_downgrade_to, "0007")
    async with database.transaction() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO runs (run_id, tenant, plan_id, plan_version, contact_id, status, "
            "created_at, updated_at) VALUES ('run-old', 't', 'sales-sequence', 1, 'c', "
            "'COMPLETED', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    assert await upgrade(database) == HEAD_REVISION
    old = await RunStore(database).get("run-old")
    assert (old.status, old.outcome, old.failure, old.exit_rule) == ("COMPLETED", None, None, None)
    assert old.facts_kept is False
    # 0014 gave tenant t a copy of the plan its old run used.
    assert (await PlanStore(database, "t").get("sales-sequence")).version == 1
