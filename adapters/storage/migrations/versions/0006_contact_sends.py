"""The per-contact send cap's ledger (``contact_sends``).

Every send the policy gate allows is recorded with its contact and instant; the cap
counts a contact's rows in its window (by default 10 sends in 7 days, across all the
tenant's runs), so no plan, however it loops, sends a contact more than that.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "contact_sends",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_id", "visit", name="pk_contact_sends"),
    )
    op.create_index(
        "ix_contact_sends_tenant_contact_id_sent_at",
        "contact_sends",
        ["tenant", "contact_id", "sent_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_contact_sends_tenant_contact_id_sent_at", table_name="contact_sends")
    op.drop_table("contact_sends")
