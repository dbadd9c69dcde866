"""Initial schema: plans, runs, the audit log and its heads, and the policy tables.

Also the triggers that make ``audit_entries`` append-only and ``plans`` immutable in
the database itself. The only way to remove audit rows is the retention path:

* PostgreSQL: a DELETE passes only in a transaction that ran
  ``SELECT set_config('dee.retention', 'on', true)`` (transaction-local).
* SQLite: a DELETE passes only while ``audit_retention_grant`` holds a row, which the
  retention path inserts and removes inside its own transaction (SQLite has no
  session settings a trigger can read).

Revision ID: 0001
Revises:
Create Date: 2026-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.storage.schema import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(255)
HASH = sa.String(64)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _refusal(op_name: str, table: str) -> str:
    return f"dee: {op_name} on {table} refused: the table is append-only"


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION dee_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_entries' AND TG_OP = 'DELETE'
       AND current_setting('dee.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'dee: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING HINT = 'audit entries are removed only by retention (dee audit archive)';
END;
$$
"""


def _postgresql_triggers() -> None:
    op.execute(PG_FUNCTION)
    for table in ("audit_entries", "plans"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dee_refuse_change()"
        )
        # Row triggers do not fire on TRUNCATE.
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dee_refuse_change()"
        )


# The f-strings below build DDL from constants of this module, never from input.
def _sqlite_triggers() -> None:
    op.execute("CREATE TABLE audit_retention_grant (id INTEGER PRIMARY KEY)")
    op.execute(
        "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        f"BEGIN SELECT RAISE(ABORT, '{_refusal('UPDATE', 'audit_entries')}'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "  # noqa: S608
        "WHEN NOT EXISTS (SELECT 1 FROM audit_retention_grant) "
        f"BEGIN SELECT RAISE(ABORT, '{_refusal('DELETE', 'audit_entries')}'); END"
    )
    for op_name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER plans_no_{op_name.lower()} BEFORE {op_name} ON plans "
            f"BEGIN SELECT RAISE(ABORT, '{_refusal(op_name, 'plans')}'); END"
        )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "version", name="pk_plans"),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("current_step", ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["plan_id", "plan_version"],
            ["plans.plan_id", "plans.version"],
            name="fk_runs_plan_id_plans",
        ),
    )
    op.create_index("ix_runs_tenant_status", "runs", ["tenant", "status"])
    op.create_index("ix_runs_tenant_contact_id", "runs", ["tenant", "contact_id"])
    op.create_table(
        "audit_entries",
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
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_recorded_at", "audit_entries", ["recorded_at"])
    op.create_table(
        "audit_heads",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=False),
        sa.Column("archive_uri", sa.String(2000), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_audit_heads"),
    )
    _policy_tables()
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _policy_tables() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("wording_version", sa.String(255), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_records"),
        sa.CheckConstraint("status IN ('opted_in', 'opted_out')", name="ck_consent_records_status"),
    )
    op.create_index(
        "ix_consent_records_tenant_contact_id_channel_recorded_at",
        "consent_records",
        ["tenant", "contact_id", "channel", "recorded_at"],
    )
    op.create_table(
        "suppressions",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("scope_key", ID, nullable=False),
        sa.Column("contact_key", ID, nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_suppressions"),
        sa.CheckConstraint("scope IN ('global', 'channel', 'plan')", name="ck_suppressions_scope"),
    )
    op.create_index(
        "ix_suppressions_tenant_scope_scope_key_contact_key",
        "suppressions",
        ["tenant", "scope", "scope_key", "contact_key"],
        unique=True,
    )
    op.create_index("ix_suppressions_tenant_contact_key", "suppressions", ["tenant", "contact_key"])
    op.create_table(
        "send_limits",
        sa.Column("tenant", ID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("daily_limit >= 0", name="ck_send_limits_non_negative"),
        sa.PrimaryKeyConstraint("tenant", "channel", name="pk_send_limits"),
    )
    op.create_table(
        "send_counters",
        sa.Column("tenant", ID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "channel", "day", name="pk_send_counters"),
    )
    op.create_table(
        "send_reservations",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_id", "visit", name="pk_send_reservations"),
    )
    op.create_index(
        "ix_send_reservations_tenant_channel_day",
        "send_reservations",
        ["tenant", "channel", "day"],
    )
    op.create_table(
        "budgets",
        sa.Column("tenant", ID, nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_micros", sa.BigInteger(), nullable=False),
        sa.Column("reserved_micros", sa.BigInteger(), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", "period_start", name="pk_budgets"),
        sa.CheckConstraint(
            "reserved_micros >= 0 AND spent_micros >= 0", name="ck_budgets_non_negative"
        ),
    )
    op.create_table(
        "budget_reservations",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("tenant", ID, nullable=False),
        sa.Column("budget_name", ID, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("estimate_micros", sa.BigInteger(), nullable=False),
        sa.Column("actual_micros", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_id", "visit", name="pk_budget_reservations"),
        sa.ForeignKeyConstraint(
            ["tenant", "budget_name", "period_start"],
            ["budgets.tenant", "budgets.name", "budgets.period_start"],
            name="fk_budget_reservations_tenant_budgets",
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'committed', 'released')",
            name="ck_budget_reservations_status",
        ),
    )
    op.create_index(
        "ix_budget_reservations_tenant_budget_name_period_start",
        "budget_reservations",
        ["tenant", "budget_name", "period_start"],
    )


def downgrade() -> None:
    for table in (
        "budget_reservations",
        "budgets",
        "send_reservations",
        "send_counters",
        "send_limits",
        "suppressions",
        "consent_records",
        "audit_heads",
        "audit_entries",
        "runs",
        "plans",
    ):
        # Dropping a table drops its triggers; neither backend fires row triggers on DROP.
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dee_refuse_change()")
    else:
        op.execute("DROP TABLE IF EXISTS audit_retention_grant")
