"""A keyed digest of each indexed message's recipient (``dee_sent_messages.recipient_digest``).

The webhook receiver compares a reply's sender with it, so a reply from someone other
than the contact is recorded as such (``fromContact: false``). The column holds an
HMAC of the canonical address, never the address. Rows indexed before it stay
``NULL``; the receiver then compares with the run's contact instead.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch: SQLite cannot drop a column in place (downgrade); adding one it can.
    with op.batch_alter_table("dee_sent_messages") as table:
        table.add_column(sa.Column("recipient_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dee_sent_messages") as table:
        table.drop_column("recipient_digest")
