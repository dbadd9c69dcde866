"""Signed checkpoints of audit chain heads (``audit_checkpoints``), append-only.

The worker signs a checkpoint of each run's chain head in the transaction that appends
the run's entries (``adapters.storage.checkpoints``). Like ``audit_entries`` the table
refuses UPDATE, DELETE and TRUNCATE through triggers; unlike it there is no retention
path: checkpoints are small and outlive the entries they sign.

Revision ID: 0010
Revises: 0009
Create Date: 2027-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "audit_checkpoints"
REFUSAL = "dee: {op} on audit_checkpoints refused: the table is append-only"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sig", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "n", name=op.f("pk_audit_checkpoints")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # dee_refuse_change (revisions 0001, 0003) refuses every change to any table
        # but a retention DELETE on audit_entries.
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION dee_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dee_refuse_change()"
        )
        return
    for name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL.format(op=name)}'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
