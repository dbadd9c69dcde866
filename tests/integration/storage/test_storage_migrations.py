"""Migrations: idempotent, race-free at startup, identical to the models; clear failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from adapters.storage import Database, DatabaseUnavailable, open_database, upgrade
from adapters.storage.migrations import current_revision, head_revision
from adapters.storage.schema import metadata
from dee.devserver import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_upgrade_is_idempotent(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert await current_revision(database) is None
        assert await upgrade(database) == head_revision() == "0001"
        assert await upgrade(database) == "0001"
        assert await current_revision(database) == "0001"
    finally:
        await database.dispose()


async def test_concurrent_startups_migrate_once(db_url: str) -> None:
    databases = [Database(db_url) for _ in range(4)]
    try:
        revisions = await asyncio.gather(*(upgrade(db) for db in databases))
    finally:
        for db in databases:
            await db.dispose()

    assert revisions == ["0001"] * 4


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, type_, reflected, other: (
                    name not in ("alembic_version", "audit_retention_grant")
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
