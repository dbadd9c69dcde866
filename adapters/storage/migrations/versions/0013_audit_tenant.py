"""The audit log's tenant: ``audit_entries.tenant``, so a tenant's entries are found
(and kept from other tenants) without going through the run table.

Existing entries are back-filled from their run's row (``runs.tenant``), a tenant's
erasure chain (``erasures:<tenant>``) from its id; an entry whose run has no row stays
NULL, and the readers count it as the ``default`` tenant's (docs/tenants.md). New
entries get their run's tenant from the worker's persist.

The tenant is not hashed: the chain's content (``interpreter.chain.HASHED_FIELDS``)
is unchanged, so every stored chain still verifies and a replay recomputes the same
hashes. The column is an index of the run's identity, which the run row holds and a
run never changes (``RunStore``), not a fact the run decided.

The back-fill is the only UPDATE the audit table ever sees: the append-only triggers
are lifted for it inside this revision's transaction (PostgreSQL) or dropped and
recreated around it (SQLite), by the owner running the migration. The application
role's table-wide INSERT and SELECT (0011) cover the new column.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_audit_entries_tenant_run_id"
_BACKFILL = (
    "UPDATE audit_entries SET tenant = "
    "(SELECT runs.tenant FROM runs WHERE runs.run_id = audit_entries.run_id) "
    "WHERE tenant IS NULL"
)
# A tenant's erasure chain (``dee.contacts.erasure_chain``) has no run row: its id
# names the tenant.
_BACKFILL_ERASURES = (
    "UPDATE audit_entries SET tenant = substr(run_id, 10) "
    "WHERE tenant IS NULL AND run_id LIKE 'erasures:%'"
)
# As revision 0001 made it; recreated after the back-fill.
_SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'dee: UPDATE on audit_entries refused: the table is "
    "append-only'); END"
)


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, the triggers stay.
    op.add_column("audit_entries", sa.Column("tenant", sa.String(255), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
        op.execute(_BACKFILL)
        op.execute(_BACKFILL_ERASURES)
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute(_BACKFILL)
        op.execute(_BACKFILL_ERASURES)
        op.execute(_SQLITE_NO_UPDATE)
    op.create_index(INDEX, "audit_entries", ["tenant", "run_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="audit_entries")
    # SQLite 3.35+ drops a column in place (no rebuild that would lose the triggers).
    op.execute("ALTER TABLE audit_entries DROP COLUMN tenant")
