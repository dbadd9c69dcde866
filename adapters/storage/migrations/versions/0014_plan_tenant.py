"""Plans per tenant: ``plans`` keyed by ``(tenant, plan_id, version)``, and a run's plan
is its own tenant's (``runs`` references ``plans`` by ``(tenant, plan_id, plan_version)``).

Back-fill: every stored plan becomes the ``default`` tenant's, and each other tenant
whose runs used a plan id gets a copy of that id's versions, so every stored run still
resolves its plan and its content hash (the audit chains are not touched). INSERTs only:
``plans`` stays immutable.

SQLite cannot change a key or a foreign key in place, so both tables are rebuilt
(https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes").
The order keeps a parent table from ever being dropped under child rows, so the rebuild
is correct with foreign keys on, as the runner and the tests' own downgrades run it
(``PRAGMA foreign_keys=OFF`` is a no-op inside their transaction): ``runs`` first loses
its foreign key (a batch copy), then ``plans`` is rebuilt and its immutability triggers
recreated, then ``runs`` gets the new foreign key, and ``PRAGMA foreign_key_check``
must come back empty or the revision fails and its transaction rolls back.
PostgreSQL alters the constraints in place (its triggers and grants stay).

The downgrade keeps one body per ``(plan_id, version)`` (the ``default`` tenant's, else
the first tenant's) and refuses when tenants hold different bodies under one id and
version: the old schema cannot hold both, and dropping one would orphan runs' plans.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
OLD_FK = "fk_runs_plan_id_plans"
NEW_FK = "fk_runs_tenant_plans"
_COLUMNS = "plan_id, version, name, content_hash, body, created_at"
# Each other tenant's copy of the plan ids its runs used (all their versions).
_COPIES = (
    f"INSERT INTO {{into}} (tenant, {_COLUMNS}) "  # noqa: S608 - constants of this module
    "SELECT used.tenant, p.plan_id, p.version, p.name, p.content_hash, p.body, p.created_at "
    "FROM plans p JOIN (SELECT DISTINCT tenant, plan_id FROM runs "
    "WHERE tenant <> 'default') used ON used.plan_id = p.plan_id"
)
# One row per (plan_id, version) for the downgrade: the default tenant's first.
_RANKED = (
    "SELECT tenant, plan_id, version, name, content_hash, body, created_at, "
    "row_number() OVER (PARTITION BY plan_id, version "
    "ORDER BY CASE WHEN tenant = 'default' THEN 0 ELSE 1 END, tenant) AS rank FROM plans"
)
_CONFLICTS = (
    "SELECT plan_id, version FROM plans GROUP BY plan_id, version "
    "HAVING count(DISTINCT content_hash) > 1 ORDER BY plan_id, version"
)
_REFUSAL = "dee: {op} on plans refused: the table is append-only"


def _plans_table(name: str, *, tenant: bool) -> None:
    key = ["tenant", "plan_id", "version"] if tenant else ["plan_id", "version"]
    op.create_table(
        name,
        *([sa.Column("tenant", ID, nullable=False)] if tenant else []),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name="pk_plans"),
    )


def _sqlite_replace_plans() -> None:
    """``plans_new`` becomes ``plans``, with revision 0001's immutability triggers."""
    op.execute("DROP TABLE plans")
    op.execute("ALTER TABLE plans_new RENAME TO plans")
    for name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER plans_no_{name.lower()} BEFORE {name} ON plans "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL.format(op=name)}'); END"
        )


def _sqlite_foreign_key_check() -> None:
    rows = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
    if rows:
        found = ", ".join(f"{r[0]} rowid {r[1]} -> {r[2]}" for r in rows[:5])
        raise RuntimeError(f"revision 0014: rows without their plan after the rebuild: {found}")


_NEW_COLUMNS = (["tenant", "plan_id", "plan_version"], ["tenant", "plan_id", "version"])
_OLD_COLUMNS = (["plan_id", "plan_version"], ["plan_id", "version"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(OLD_FK, "runs", type_="foreignkey")
        op.add_column("plans", sa.Column("tenant", ID, nullable=False, server_default="default"))
        op.alter_column("plans", "tenant", server_default=None)
        op.drop_constraint("pk_plans", "plans", type_="primary")
        op.create_primary_key("pk_plans", "plans", ["tenant", "plan_id", "version"])
        op.execute(_COPIES.format(into="plans"))
        op.create_foreign_key(NEW_FK, "runs", "plans", *_NEW_COLUMNS)
        return
    with op.batch_alter_table("runs", recreate="always") as batch:
        batch.drop_constraint(OLD_FK, type_="foreignkey")
    _plans_table("plans_new", tenant=True)
    op.execute(
        f"INSERT INTO plans_new (tenant, {_COLUMNS}) SELECT 'default', {_COLUMNS} FROM plans"  # noqa: S608
    )
    op.execute(_COPIES.format(into="plans_new"))
    _sqlite_replace_plans()
    with op.batch_alter_table("runs", recreate="always") as batch:
        batch.create_foreign_key(NEW_FK, "plans", *_NEW_COLUMNS)
    _sqlite_foreign_key_check()


def downgrade() -> None:
    conflicts = op.get_bind().exec_driver_sql(_CONFLICTS).all()
    if conflicts:
        which = ", ".join(f"{r[0]} v{r[1]}" for r in conflicts[:5])
        raise RuntimeError(
            f"cannot downgrade below 0014: tenants hold different bodies under one plan id "
            f"and version ({which}); the older schema holds one body per id and version"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(NEW_FK, "runs", type_="foreignkey")
        op.execute("ALTER TABLE plans DISABLE TRIGGER plans_append_only")
        op.execute(
            f"DELETE FROM plans USING ({_RANKED}) ranked WHERE ranked.rank > 1 "  # noqa: S608
            "AND plans.tenant = ranked.tenant AND plans.plan_id = ranked.plan_id "
            "AND plans.version = ranked.version"
        )
        op.execute("ALTER TABLE plans ENABLE TRIGGER plans_append_only")
        op.drop_constraint("pk_plans", "plans", type_="primary")
        op.drop_column("plans", "tenant")
        op.create_primary_key("pk_plans", "plans", ["plan_id", "version"])
        op.create_foreign_key(OLD_FK, "runs", "plans", *_OLD_COLUMNS)
        return
    with op.batch_alter_table("runs", recreate="always") as batch:
        batch.drop_constraint(NEW_FK, type_="foreignkey")
    _plans_table("plans_new", tenant=False)
    op.execute(
        f"INSERT INTO plans_new ({_COLUMNS}) SELECT {_COLUMNS} FROM ({_RANKED}) WHERE rank = 1"  # noqa: S608
    )
    _sqlite_replace_plans()
    with op.batch_alter_table("runs", recreate="always") as batch:
        batch.create_foreign_key(OLD_FK, "plans", *_OLD_COLUMNS)
    _sqlite_foreign_key_check()
