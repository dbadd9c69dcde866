"""Roles the migration must refuse: ones that could lift themselves past the guards.

On PostgreSQL 15 a role with CREATEROLE may ``GRANT <owner> TO`` itself and then
``SET ROLE`` to the owner, which may disable the append-only triggers; a member of
``pg_write_all_data`` may UPDATE and DELETE every table whatever the grants say.
"""

from __future__ import annotations

import uuid

import pytest

from adapters.storage import Database, DatabaseRoles, StorageError, upgrade
from adapters.storage.migrations import current_revision
from tests.integration.databases import PG_URL, drop_schema, require_postgres

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    ("attribute", "why"),
    [
        ("CREATEROLE", "may create roles"),
        ("IN ROLE pg_write_all_data", "is a member of pg_write_all_data"),
    ],
)
async def test_an_application_role_that_can_lift_itself_is_refused(
    attribute: str, why: str
) -> None:
    await require_postgres()
    name = f"dee_lift_{uuid.uuid4().hex[:10]}"
    app = f"{name}_app"
    admin = Database(PG_URL)
    try:
        async with admin.transaction() as conn:
            await conn.exec_driver_sql(f'CREATE ROLE "{app}" LOGIN {attribute}')
        db = Database(f"{PG_URL}?search_path={name}")
        try:
            with pytest.raises(StorageError, match=why):
                await upgrade(db, roles=DatabaseRoles(app, f"{name}_retention"))
            assert await current_revision(db) is None  # all or nothing
        finally:
            await db.dispose()
    finally:
        await admin.dispose()
        await drop_schema(name)
