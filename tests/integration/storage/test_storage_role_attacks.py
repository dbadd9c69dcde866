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


async def test_privileges_held_through_public_are_refused() -> None:
    # The owner's default privileges give PUBLIC everything on the tables it makes:
    # the revokes of revision 0011 do not reach PUBLIC, so the application role could
    # UPDATE audit_heads (move a chain's start) or dee_roles.
    await require_postgres()
    name = f"dee_pub_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    try:
        async with admin.transaction() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
            await conn.exec_driver_sql(
                f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{name}" GRANT ALL ON TABLES TO PUBLIC'
            )
        db = Database(f"{PG_URL}?search_path={name}")
        try:
            with pytest.raises(StorageError, match=f"{name}_app: UPDATE on audit_heads"):
                await upgrade(db)
            assert await current_revision(db) is None
        finally:
            await db.dispose()
    finally:
        async with admin.transaction() as conn:
            await conn.exec_driver_sql(
                f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{name}" REVOKE ALL ON TABLES FROM PUBLIC'
            )
        await admin.dispose()
        await drop_schema(name)
