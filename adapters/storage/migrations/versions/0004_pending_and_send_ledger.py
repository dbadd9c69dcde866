"""Pending audit entries (``audit_pending``) and the send ledger (``send_ledger``).

``audit_pending`` holds the entries a workflow task wrote through a local activity
before its commit could be known; they move to the append-only ``audit_entries`` once
a later task (or a regular activity, whose input is committed history) confirms them.
It is deliberately mutable: replacing what an uncommitted task wrote is its purpose.

``send_ledger`` records each send's intent and attempt before the provider is called,
and its outcome after, so a send whose completion was lost is known to be ``unknown``
rather than reported failed (or sent again).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
HASH = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("action", ID, nullable=False),
        sa.Column("outcome", sa.String(1000), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", HASH, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_audit_pending"),
    )
    op.create_table(
        "send_ledger",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("message_key", sa.String(998), nullable=False),
        sa.Column("intent_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_at", UTCDateTime(), nullable=True),
        sa.Column("provider_message_id", sa.String(255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('delivered', 'failed', 'unknown')",
            name="ck_send_ledger_outcome",
        ),
        sa.PrimaryKeyConstraint("run_id", "step_id", "visit", name="pk_send_ledger"),
    )


def downgrade() -> None:
    op.drop_table("send_ledger")
    op.drop_table("audit_pending")
