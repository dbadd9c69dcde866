"""The contact's ledger: what each attempt was about and how it ended (``contact_sends``).

The compliance rules count a contact's attempts per debt (Reg F), per subject (Florida,
Oklahoma) and per channel, and Reg F's conversation rule needs a call's outcome, so
each row gains ``debt_ref``, ``subject``, ``caller_id``, ``outcome`` (set when the call's
outcome is known) and ``source`` (``run``: placed by DEE; ``import``: a prior dialer's,
from ``dee policy ledger import``). Existing rows are DEE's own sends (``run``).

The index of 0006 (tenant, contact, sent_at) already serves "this contact's attempts
since T"; setting an outcome finds its row by the primary key.

PostgreSQL: the application role may now UPDATE ``outcome`` (set when known) and
``debt_ref`` and ``subject`` (cleared when the contact is erased: a debt reference is
the contact's personal data), and no other column.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)


def _app_role() -> str | None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    name = bind.execute(sa.text("SELECT role_name FROM dee_roles WHERE purpose = 'app'")).scalar()
    return None if name is None else bind.dialect.identifier_preparer.quote_identifier(name)


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (SQLite accepts a constant default), no rebuild.
    op.add_column("contact_sends", sa.Column("debt_ref", ID, nullable=True))
    op.add_column("contact_sends", sa.Column("subject", ID, nullable=True))
    op.add_column("contact_sends", sa.Column("caller_id", sa.String(64), nullable=True))
    op.add_column("contact_sends", sa.Column("outcome", sa.String(32), nullable=True))
    op.add_column(
        "contact_sends",
        sa.Column("source", sa.String(16), nullable=False, server_default="run"),
    )
    app = _app_role()
    if app is not None:
        op.execute(f"GRANT UPDATE (outcome, debt_ref, subject) ON contact_sends TO {app}")


def downgrade() -> None:
    app = _app_role()
    if app is not None:
        op.execute(f"REVOKE UPDATE (outcome, debt_ref, subject) ON contact_sends FROM {app}")
    # SQLite drops a column by rebuilding the table: batch mode does that on both.
    with op.batch_alter_table("contact_sends") as batch:
        for column in ("source", "outcome", "caller_id", "subject", "debt_ref"):
            batch.drop_column(column)
