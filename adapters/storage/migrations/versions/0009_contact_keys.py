"""Per-contact data keys (wrapped), destroyed by erasure: ``contact_keys``.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_keys",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("contact_id", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "contact_id", "generation", name="pk_contact_keys"),
    )


def downgrade() -> None:
    op.drop_table("contact_keys")
