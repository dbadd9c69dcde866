"""The Message-ID index (``dee_sent_messages``) and DEE's own secrets (``dee_secrets``).

The index used to be created by ``adapters.tracking`` itself on first use, so a
database that already sent tracked email has the table: it is kept as it is (same
columns) rather than created again.

``dee_secrets`` holds keys DEE generates when none is configured, such as the webhook
signing key, so the worker and the webhook receiver share it through the database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("dee_sent_messages"):
        op.create_table(
            "dee_sent_messages",
            sa.Column("message_key", sa.String(64), nullable=False),
            sa.Column("tenant", ID, nullable=False),
            sa.Column("run_id", ID, nullable=False),
            sa.Column("step_id", ID, nullable=False),
            sa.Column("visit", sa.Integer(), nullable=False),
            sa.Column("contact_id", ID, nullable=False),
            sa.Column("recorded_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("message_key", name="pk_dee_sent_messages"),
        )
    op.create_table(
        "dee_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_dee_secrets"),
    )


def downgrade() -> None:
    op.drop_table("dee_secrets")
    op.drop_table("dee_sent_messages")
