"""The compose stack's database set-up, run for real on a private PostgreSQL cluster.

``scripts/postgres-init`` (what the postgres container runs on first start) creates
Temporal's and DEE's databases and roles; ``dee db migrate`` then migrates as
``dee_owner`` (no superuser, as in compose) and checks that ``dee_app`` finds the
schema current. The roles are then tried: the application appends but cannot delete,
and no role reaches the other's database. A private cluster, because the script
creates cluster-wide roles with fixed names that the shared server must not get.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from storage_helpers import make_chain, unique
from test_storage_cli import dee

from adapters.storage import AuditStore, open_database
from tests.integration.private_postgres import PrivatePostgres, _bin, private_postgres

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[3]
PASSWORDS = {
    "TEMPORAL_DB_PASSWORD": "t-secret",
    "DEE_OWNER_DB_PASSWORD": "o-secret",
    "DEE_APP_DB_PASSWORD": "a-secret",
    "DEE_RETENTION_DB_PASSWORD": "r-secret",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        env = {
            **os.environ,
            **PASSWORDS,
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "postgres",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(server.port),
            "PATH": f"{Path(_bin('psql')).parent}:{os.environ.get('PATH', '')}",
        }
        for script in sorted((ROOT / "scripts" / "postgres-init").glob("*.sh")):
            done = subprocess.run(
                ["sh", str(script)], env=env, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stderr
        yield server


def _url(server: PrivatePostgres, role: str, database: str = "dee") -> str:
    password = PASSWORDS.get(f"DEE_{role.removeprefix('dee_').upper()}_DB_PASSWORD", "")
    return f"postgresql+asyncpg://{role}:{password}@127.0.0.1:{server.port}/{database}"


def _env(server: PrivatePostgres, tmp_path: Path, **extra: str) -> Mapping[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    return {**env, "DEE_DATA_DIR": str(tmp_path / "data"), **extra}


async def test_migrate_as_the_owner_then_run_as_the_application_role(
    cluster: PrivatePostgres, tmp_path: Path
) -> None:
    app_url = _url(cluster, "dee_app")
    env = _env(
        cluster,
        tmp_path,
        DEE_DATABASE_URL=app_url,
        DEE_DATABASE_MIGRATION_URL=_url(cluster, "dee_owner"),
    )
    first, again = dee(env, tmp_path, "db", "migrate"), dee(env, tmp_path, "db", "migrate")
    for result in (first, again):
        assert result.returncode == 0, result.stderr
        assert "the application's connection" in result.stdout
    assert "o-secret" not in first.stdout + first.stderr  # passwords are never printed

    app = await open_database(app_url)
    try:
        run_id = unique()
        await AuditStore(app).append(make_chain(run_id, 3))
        assert (await AuditStore(app).verify(run_id)).entries == 3
    finally:
        await app.dispose()
    conn = await asyncpg.connect(app_url.replace("+asyncpg", ""))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_entries")
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_entries'"
        )
        assert owner == "dee_owner"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("role", "database"),
    [
        ("dee_app", "temporal"),
        ("dee_app", "temporal_visibility"),
        ("dee_retention", "temporal"),
        ("temporal", "dee"),
    ],
)
async def test_no_role_reaches_the_other_s_database(
    cluster: PrivatePostgres, role: str, database: str
) -> None:
    dsn = f"postgresql://{role}@127.0.0.1:{cluster.port}/{database}"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
        await asyncpg.connect(dsn)


async def test_dee_audit_archive_runs_as_the_retention_role(
    cluster: PrivatePostgres, tmp_path: Path
) -> None:
    owner = await open_database(_url(cluster, "dee_owner"))
    run_id = unique("old")
    try:
        async with owner.transaction() as conn:  # entries recorded 40 days ago
            for e in make_chain(run_id, 3):
                await conn.execute(
                    text(
                        "INSERT INTO audit_entries VALUES (:run_id, :seq, :tick, "
                        "now() - interval '40 days', :step_id, :action, :outcome, "
                        "CAST(:detail AS json), :prev_hash, :hash)"
                    ),
                    {**e.as_dict(), "detail": json.dumps(e.detail)},
                )
    finally:
        await owner.dispose()
    archive = f"file://{tmp_path / 'archive'}"
    base = {"DEE_DATABASE_URL": _url(cluster, "dee_app")}
    as_app = dee(_env(cluster, tmp_path, **base), tmp_path, "audit", "archive", "--days", "30",
                 "--to", archive)  # fmt: skip
    assert as_app.returncode == 1 and "Traceback" not in as_app.stderr
    assert "permission denied for function dee_retention_delete" in as_app.stderr
    env = _env(cluster, tmp_path, **base, DEE_DATABASE_RETENTION_URL=_url(cluster, "dee_retention"))
    archived = dee(env, tmp_path, "audit", "archive", "--days", "30", "--to", archive)
    assert archived.returncode == 0, archived.stderr
    assert archived.stdout.startswith("archived 3 entries of 1 runs")
    verified = dee(_env(cluster, tmp_path, **base), tmp_path, "audit", "verify", run_id)
    assert verified.returncode == 0, verified.stderr
