"""Least privilege: the application and retention roles; ``consent_records`` append-only.

PostgreSQL: the application role (default ``dee_app``) and the retention role
(``dee_retention``) are created when missing (NOLOGIN) and given exactly what
``adapters.storage.roles`` lists, table by table; the names are recorded in
``dee_roles`` so later revisions can grant their own tables. The migration refuses a
role that is a superuser, the owner or a member of it: the guards trust those.

Both backends: ``consent_records`` gets the append-only triggers ``plans`` has (a
revocation is a new ``opted_out`` record; the policy admin only ever inserted). On
PostgreSQL its trigger uses ``dee_refuse_change`` (0001/0003), which lets nothing but
retention's audit DELETE through. SQLite has no roles: the triggers are its only
guard, and any process that can open the file can drop them (docs/database.md).

``dee_retention_delete`` is redefined as 0003 now defines it (the flag set in its
body, not in a function-level ``SET``), so that an owner who is no superuser can
create it on PostgreSQL 15 and later; databases migrated before get the same body.

The role names come from ``config.attributes["dee_roles"]`` (``dee db migrate`` puts
the configured ones there), else ``DatabaseRoles.for_schema``.

Revision ID: 0011
Revises: 0010
Create Date: 2027-02-01
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from adapters.storage.roles import DatabaseRoles, grant_application, revoke_application

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "dee: {op} on consent_records refused: the table is append-only"


def _roles(schema: str) -> DatabaseRoles:
    given = context.config.attributes.get("dee_roles")
    if isinstance(given, DatabaseRoles):
        return given
    return DatabaseRoles.for_schema(schema)


def _schema() -> str:
    return str(op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one())


def _retention_function(schema: str) -> str:
    # Alembic loads revision files by path, not as a package's modules: do the same.
    path = Path(__file__).with_name("0003_retention_function.py")
    spec = importlib.util.spec_from_file_location("dee_revision_0003", path)
    assert spec is not None and spec.loader is not None
    earlier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(earlier)
    text = str(earlier.RETENTION_FUNCTION).format(schema=schema)
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER consent_records_no_{name.lower()} BEFORE {name} "
                f"ON consent_records BEGIN SELECT RAISE(ABORT, '{_REFUSAL.format(op=name)}'); END"
            )
        return
    op.execute(
        "CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records "
        "FOR EACH ROW EXECUTE FUNCTION dee_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records "
        "FOR EACH STATEMENT EXECUTE FUNCTION dee_refuse_change()"
    )
    op.create_table(
        "dee_roles",
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("role_name", sa.String(63), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name="pk_dee_roles"),
    )
    schema = _schema()
    op.execute(_retention_function(bind.dialect.identifier_preparer.quote_identifier(schema)))
    roles = _roles(schema)
    op.bulk_insert(
        sa.table("dee_roles", sa.column("purpose"), sa.column("role_name")),
        [
            {"purpose": "app", "role_name": roles.app},
            {"purpose": "retention", "role_name": roles.retention},
        ],
    )
    grant_application(bind, roles, schema)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS consent_records_no_{name}")
        return
    rows = bind.execute(sa.text("SELECT purpose, role_name FROM dee_roles")).all()
    names = {str(r[0]): str(r[1]) for r in rows}
    if {"app", "retention"} <= names.keys():
        revoke_application(bind, DatabaseRoles(names["app"], names["retention"]), _schema())
    op.drop_table("dee_roles")
    op.execute("DROP TRIGGER IF EXISTS consent_records_no_truncate ON consent_records")
    op.execute("DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records")
