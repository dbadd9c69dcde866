"""Least privilege on PostgreSQL: what the application and retention roles may not do.

Each test schema's migration sets up ``<schema>_app`` and ``<schema>_retention``
(``adapters.storage.roles``); the tests let them log in (the test server trusts
loopback) and try, as those roles, every way the issue names to change the audit log
or the consent records. Each refusal is checked twice: the database's error, and the
rows still as they were. Consent's append-only triggers are also checked on SQLite.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from storage_helpers import make_chain, unique
from test_storage_cli import dee

from adapters.policy import PolicyAdmin
from adapters.storage import (
    AuditStore,
    Database,
    DatabaseRoles,
    FileArchive,
    Retention,
    SchemaBehind,
    StorageError,
    open_database,
    upgrade,
)
from adapters.storage.migrations import HEAD_REVISION, current_revision
from adapters.storage.roles import APP_PRIVILEGES, RETENTION_PRIVILEGES
from tests.integration.databases import (
    PG_URL,
    cli_environment,
    drop_schema,
    empty_database_url,
    login_role,
    migrated,
    require_postgres,
    role_url,
)
from tests.integration.storage.test_storage_migrations import _downgrade_to

pytestmark = pytest.mark.asyncio(loop_scope="session")
RETENTION_FUNCTION = "dee_retention_delete(text, bigint, bigint, text, text)"
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


@dataclass
class Schema:
    owner: Database
    name: str
    app_url: str
    retention_url: str
    run_id: str
    entries: int

    def dsn(self, url: str) -> str:
        return url.replace("postgresql+asyncpg://", "postgresql://", 1).split("?")[0]


@pytest.fixture
async def schema(tmp_path: Path) -> AsyncIterator[Schema]:
    """A migrated schema holding one run's chain, one plan and one consent record."""
    async with (
        empty_database_url("postgresql", tmp_path, "dee_roles") as url,
        migrated(url) as owner,
    ):
        name = owner.search_path
        assert name is not None
        for role in (f"{name}_app", f"{name}_retention"):
            await login_role(role)
        run_id = unique()
        await AuditStore(owner).append(make_chain(run_id, 5))
        await PolicyAdmin(owner).grant_consent("t", "c-1", "voice", "form", "v1", NOON)
        yield Schema(
            owner,
            name,
            role_url(url, f"{name}_app"),
            role_url(url, f"{name}_retention"),
            run_id,
            5,
        )


async def _connect(schema: Schema, url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(
        schema.dsn(url), server_settings={"search_path": schema.name}
    )
    return conn


async def _rows(schema: Schema) -> tuple[int, int, int, str]:
    async with schema.owner.snapshot() as conn:
        counts = await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM audit_entries), (SELECT count(*) FROM plans),"
                " (SELECT count(*) FROM consent_records),"
                " (SELECT string_agg(hash, ',' ORDER BY seq) FROM audit_entries)"
            )
        )
        row = counts.one()
        return int(row[0]), int(row[1]), int(row[2]), str(row[3])


async def test_each_role_holds_exactly_its_privileges_table_by_table(schema: Schema) -> None:
    app, retention = f"{schema.name}_app", f"{schema.name}_retention"
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    async with schema.owner.snapshot() as conn:
        tables = (
            await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ).scalars()
        for table in tables:
            for role, granted in ((app, APP_PRIVILEGES), (retention, RETENTION_PRIVILEGES)):
                # Table-level only: "UPDATE (column)" is a column grant, checked below.
                expected = {p.strip() for p in granted.get(table, "").split(",") if "(" not in p}
                for kind in kinds:
                    has = await conn.scalar(
                        text("SELECT has_table_privilege(:r, :t, :k)"),
                        {"r": role, "t": table, "k": kind},
                    )
                    assert has == (kind in expected), (role, table, kind)
            owner = await conn.scalar(
                text(
                    "SELECT tableowner FROM pg_tables "
                    "WHERE schemaname = current_schema() AND tablename = :t"
                ),
                {"t": table},
            )
            assert owner not in (app, retention)
        # dee_sent_messages: only the digest column may be updated (its back-fill).
        assert await conn.scalar(
            text(
                "SELECT has_column_privilege(:r, 'dee_sent_messages', 'recipient_digest', 'UPDATE')"
            ),
            {"r": app},
        )
        assert not await conn.scalar(
            text("SELECT has_column_privilege(:r, 'dee_sent_messages', 'run_id', 'UPDATE')"),
            {"r": app},
        )
        execute = text("SELECT has_function_privilege(:r, :f, 'EXECUTE')")
        assert await conn.scalar(execute, {"r": retention, "f": RETENTION_FUNCTION})
        assert not await conn.scalar(execute, {"r": app, "f": RETENTION_FUNCTION})
        recorded = (await conn.execute(text("SELECT purpose, role_name FROM dee_roles"))).all()
    assert sorted(tuple(r) for r in recorded) == [("app", app), ("retention", retention)]


_TRIGGER = "audit_entries_append_only"
# (statement, the error's words); each is run alone, as the application role.
REFUSED = {
    "update": ("UPDATE audit_entries SET outcome = 'x'", "permission denied for table"),
    "delete": ("DELETE FROM audit_entries", "permission denied for table"),
    "truncate": ("TRUNCATE audit_entries", "permission denied for table"),
    "disable trigger": (f"ALTER TABLE audit_entries DISABLE TRIGGER {_TRIGGER}", "must be owner"),
    "disable all triggers": ("ALTER TABLE audit_entries DISABLE TRIGGER ALL", "must be owner"),
    "drop trigger": (f"DROP TRIGGER {_TRIGGER} ON audit_entries", "must be owner"),
    "drop table": ("DROP TABLE audit_entries", "must be owner"),
    "take ownership": ("ALTER TABLE audit_entries OWNER TO CURRENT_USER", "must be owner"),
    "replace the guard": (
        "CREATE OR REPLACE FUNCTION dee_refuse_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN OLD; END $$",
        "permission denied for schema",
    ),
    "create a trigger": (
        "CREATE TRIGGER t BEFORE INSERT ON audit_entries FOR EACH ROW "
        "EXECUTE FUNCTION dee_refuse_change()",
        "permission denied for table",
    ),
    "replication role": ("SET session_replication_role = replica", "permission denied to set"),
    "retention flag, then delete": (
        "BEGIN; SET LOCAL dee.retention_function = 'on'; DELETE FROM audit_entries; COMMIT",
        "permission denied for table",
    ),
    "call the retention function": (
        f"SELECT dee_retention_delete('{{run}}', 1, 5, '{'0' * 64}', 'file:///x')",
        "permission denied for function",
    ),
    "forge a head": (
        "INSERT INTO audit_heads VALUES ('{run}', 5, 'x', now(), 'file:///x')",
        "permission denied for table",
    ),
    "shadow an object in the schema": (
        "CREATE TABLE audit_heads_shadow (x int)",
        "permission denied for schema",
    ),
    "update consent": ("UPDATE consent_records SET status = 'opted_out'", "permission denied"),
    "delete consent": ("DELETE FROM consent_records", "permission denied for table"),
    "truncate consent": ("TRUNCATE consent_records", "permission denied for table"),
    "update a plan": ("UPDATE plans SET name = 'x'", "permission denied for table"),
    "delete the version": ("DELETE FROM alembic_version", "permission denied for table"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_the_application_role_is_refused(schema: Schema, case: str) -> None:
    statement, words = REFUSED[case]
    before = await _rows(schema)
    conn = await _connect(schema, schema.app_url)
    try:
        with pytest.raises(asyncpg.PostgresError, match=words) as refused:
            await conn.execute(statement.replace("{run}", schema.run_id))
        assert refused.value.sqlstate == "42501"  # insufficient_privilege, every time
    finally:
        await conn.close()
    assert await _rows(schema) == before
    async with schema.owner.snapshot() as check:
        enabled = await check.scalar(
            text("SELECT tgenabled::text FROM pg_trigger WHERE tgname = :t"), {"t": _TRIGGER}
        )
    assert enabled == "O"  # the guard still fires


async def test_misgranted_delete_still_meets_the_triggers(schema: Schema) -> None:
    # An operator who grants too much: the triggers, not the grants, are the last word.
    async with schema.owner.transaction() as conn:
        await conn.exec_driver_sql(
            f'GRANT UPDATE, DELETE ON audit_entries, consent_records TO "{schema.name}_app"'
        )
    before = await _rows(schema)
    conn = await _connect(schema, schema.app_url)
    try:
        for statement in (
            "DELETE FROM audit_entries",
            "UPDATE consent_records SET status = 'opted_out'",
            "DELETE FROM consent_records",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                async with conn.transaction():
                    await conn.execute("SET LOCAL dee.retention_function = 'on'")
                    await conn.execute(statement)
    finally:
        await conn.close()
    assert await _rows(schema) == before


async def test_the_application_role_appends_reads_and_records_consent(schema: Schema) -> None:
    app = await open_database(schema.app_url)
    try:
        store = AuditStore(app)
        small, large = unique("small"), unique("large")
        await store.append(make_chain(small, 3))
        await store.append(make_chain(large, 80))  # past COPY_THRESHOLD: COPY and staging
        await store.append(make_chain(large, 80))  # again: a no-op through the stage table
        assert (await store.verify(small)).ok and (await store.verify(large)).entries == 80
        admin = PolicyAdmin(app)
        await admin.revoke_consent("t", "c-1", "voice", "reply-stop", NOON + timedelta(hours=1))
        await admin.suppress("t", "global", None, "c-1", "asked", "api")
        await admin.suppress("t", "global", None, "c-1", "asked again", "api")  # upsert
        await admin.unsuppress("t", "global", None, "c-1")
        await admin.set_budget("t", "b", NOON.date(), NOON.date(), "USD", Decimal(5))
        await admin.set_budget("t", "b", NOON.date(), NOON.date(), "USD", Decimal(6))
        await admin.set_daily_limit("t", "email", 5)
        await admin.set_daily_limit("t", "email", None)
    finally:
        await app.dispose()
    async with schema.owner.snapshot() as conn:
        statuses = (
            await conn.execute(text("SELECT status FROM consent_records ORDER BY recorded_at"))
        ).scalars()
        assert list(statuses) == ["opted_in", "opted_out"]  # a revocation is a new record


async def test_retention_runs_as_its_role_and_not_as_the_application(
    schema: Schema, tmp_path: Path
) -> None:
    later = datetime.now(UTC) + timedelta(days=40)
    app, retention = Database(schema.app_url), Database(schema.retention_url)
    try:
        with pytest.raises(StorageError, match="permission denied for function"):
            await Retention(app, FileArchive(tmp_path / "a"), days=30).run(now=later)
        report = await Retention(retention, FileArchive(tmp_path / "r"), days=30).run(now=later)
        assert report.entries == schema.entries and not report.refused
        verified = await AuditStore(app).verify(schema.run_id)
        assert verified.ok and verified.head is not None and verified.head.seq == 5
        assert verified.entries == 0
    finally:
        await app.dispose()
        await retention.dispose()


async def test_an_application_role_does_not_migrate_it_refuses_to_start(
    schema: Schema, tmp_path: Path
) -> None:
    # The schema claims an older revision: the application must not try to migrate.
    async with schema.owner.transaction() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0008'")
    with pytest.raises(
        SchemaBehind, match=f"at revision 0008, but this DEE needs revision {HEAD_REVISION}"
    ):
        await open_database(schema.app_url)
    env = {**cli_environment(schema.app_url, tmp_path)}
    listed = dee(env, tmp_path, "audit", "verify", "--all")
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    assert "run `dee db migrate` with the owner's URL" in listed.stderr
    assert await current_revision(schema.owner) == "0008"  # nothing was attempted


async def test_dee_db_migrate_runs_as_the_owner_then_the_application_starts(
    schema: Schema, tmp_path: Path
) -> None:
    async with schema.owner.transaction() as conn:
        await conn.run_sync(_downgrade_to, "0008")
    with pytest.raises(SchemaBehind):
        await open_database(schema.app_url)
    env: Mapping[str, str] = {
        **cli_environment(schema.app_url, tmp_path),
        "DEE_DATABASE_MIGRATION_URL": f"{PG_URL}?search_path={schema.name}",
    }
    migrated_ = dee(env, tmp_path, "db", "migrate")
    assert migrated_.returncode == 0, migrated_.stderr
    assert f"schema at revision {HEAD_REVISION}" in migrated_.stdout
    assert "finds it current" in migrated_.stdout
    app = await open_database(schema.app_url)
    await app.dispose()


async def test_a_role_that_could_bypass_the_guards_is_refused(tmp_path: Path) -> None:
    await require_postgres()
    name = f"dee_own_{uuid.uuid4().hex[:10]}"
    owner, member = f"{name}_owner", f"{name}_member"
    admin = Database(PG_URL)
    try:
        async with admin.transaction() as conn:
            # A non-superuser owner, as in production, with a role that is its member.
            await conn.exec_driver_sql(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
            await conn.exec_driver_sql(f'CREATE SCHEMA "{name}" AUTHORIZATION "{owner}"')
            await conn.exec_driver_sql(f'CREATE ROLE "{member}" IN ROLE "{owner}"')
        owner_db = Database(f"{role_url(PG_URL, owner)}?search_path={name}")
        try:
            for bad, why in ((member, "is a member of the owner"), ("postgres", "is a superuser")):
                roles = DatabaseRoles(bad, f"{name}_retention")
                with pytest.raises(StorageError, match=why):
                    await upgrade(owner_db, roles=roles)
                assert await current_revision(owner_db) is None  # all or nothing
            # Named roles that do not exist yet are created by the (CREATEROLE) owner.
            roles = DatabaseRoles(f"{name}_web", f"{name}_arch")
            assert await upgrade(owner_db, roles=roles) == HEAD_REVISION
            async with owner_db.snapshot() as conn:
                login = await conn.scalar(
                    text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": roles.app}
                )
            assert login is False  # a group role: the login roles are granted it
        finally:
            await owner_db.dispose()
    finally:
        await admin.dispose()
        await drop_schema(name, f"{name}_web", f"{name}_arch", member, owner)


@pytest.mark.parametrize(
    "statement", ["UPDATE consent_records SET status = 'opted_out'", "DELETE FROM consent_records"]
)
async def test_consent_records_are_append_only_on_both_backends(
    database: Database, statement: str
) -> None:
    admin = PolicyAdmin(database)
    await admin.grant_consent("t", "c-1", "voice", "form", "v1", NOON)
    with pytest.raises(StorageError, match="on consent_records refused: the table is append-only"):
        async with database.transaction() as conn:  # as the owner: the trigger still refuses
            await conn.exec_driver_sql(statement)
    await admin.revoke_consent("t", "c-1", "voice", "reply-stop", NOON + timedelta(hours=1))
    async with database.snapshot() as conn:
        rows = (await conn.exec_driver_sql("SELECT status FROM consent_records")).all()
    assert sorted(r[0] for r in rows) == ["opted_in", "opted_out"]


async def test_dee_db_migrate_grants_to_the_configured_role_names(tmp_path: Path) -> None:
    async with empty_database_url("postgresql", tmp_path, "dee_named") as url:
        schema = url.rsplit("=", 1)[1]
        web, arch = f"{schema}_web", f"{schema}_arch"
        try:
            env = {
                **cli_environment(url, tmp_path),
                "DEE_DATABASE_APP_ROLE": web,
                "DEE_DATABASE_RETENTION_ROLE": arch,
            }
            result = dee(env, tmp_path, "db", "migrate")
            assert result.returncode == 0, result.stderr
            database = Database(url)
            try:
                async with database.snapshot() as conn:
                    rows = (await conn.execute(text("SELECT role_name FROM dee_roles"))).scalars()
                    assert sorted(rows) == sorted([web, arch])
                    may = await conn.scalar(
                        text("SELECT has_table_privilege(:r, 'audit_entries', 'INSERT')"),
                        {"r": web},
                    )
                    assert may is True
                    defaults = await conn.scalar(
                        text("SELECT count(*) FROM pg_roles WHERE rolname = :r"),
                        {"r": f"{schema}_app"},
                    )
                    assert defaults == 0  # the schema's default names were not used
            finally:
                await database.dispose()
        finally:
            await drop_schema(schema, web, arch)
