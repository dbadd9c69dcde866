"""How a run ended, kept on its row: ``outcome``, ``failure``, ``exit_rule``.

The workflow's persist folds them from the audit entries it stores
(``adapters.storage.run_facts``), so reading an ended run no longer scans its whole
audit timeline. Rows written before this revision have ``facts_kept`` false and are
read from the audit chain as before; nothing is back-filled (a run that was started
before keeps reading its facts from the chain).

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("outcome", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("failure", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("exit_rule", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("facts_kept", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for name in ("facts_kept", "exit_rule", "failure", "outcome"):
            batch.drop_column(name)
