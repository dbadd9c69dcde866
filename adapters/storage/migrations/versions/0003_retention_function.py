"""PostgreSQL: audit rows are deleted only through ``dee_retention_delete``.

Until now the append-only trigger let a DELETE through in any transaction that set
``dee.retention``, a setting every role that can connect may set, so any role with
DELETE on ``audit_entries`` could erase entries. From this revision on:

* ``dee_retention_delete(run_id, first_seq, last_seq, last_hash, archive_uri)`` is the
  only way to delete audit rows. It is ``SECURITY DEFINER`` (it runs as its owner, the
  role that ran the migrations and owns the tables), its ``search_path`` is pinned to
  this schema, and ``EXECUTE`` is revoked from ``PUBLIC``: the operator grants it to
  the role that runs retention. It deletes exactly what retention needs: the next
  segment of one run's chain, starting right after the recorded head, only if the
  stored segment still links up and ends in the hash that was archived, and it moves
  the head to that segment's last entry in the same statement.
* The trigger lets a DELETE on ``audit_entries`` through only when both hold:
  ``dee.retention_function`` is ``on`` and ``current_user`` owns the table. The setting
  alone proves nothing (anyone may set it), and ownership alone would let the owner
  delete by hand; together they hold only inside the function: it turns the flag on
  around its own DELETE and back off before it returns (an error rolls the setting
  back with the transaction or savepoint), and while it runs ``current_user`` is its
  owner. (Not a function-level ``SET``: PostgreSQL 15 lets only a superuser put an
  unregistered setting there, and the owner need not be one; see migration 0011.)
  A role that does not own the table cannot become ``current_user`` = owner except
  through a SECURITY DEFINER function of the owner, and this is the only one. The
  owner and superusers can still disable the trigger: they are trusted by
  construction, so the application role must own nothing and be no member of the owner.

The trigger function also gets a pinned ``search_path``, so a caller's own
``search_path`` cannot shadow ``current_setting`` or ``pg_class`` inside it.

SQLite keeps the ``audit_retention_grant`` mechanism of 0001: it has no roles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "dee_retention_delete(text, bigint, bigint, text, text)"

GUARD = """
CREATE OR REPLACE FUNCTION dee_refuse_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Only dee_retention_delete can satisfy both conditions: see migration 0003.
    IF TG_TABLE_NAME = 'audit_entries' AND TG_OP = 'DELETE'
       AND current_setting('dee.retention_function', true) = 'on'
       AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c
                           WHERE c.oid = TG_RELID) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'dee: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING HINT = 'audit entries are removed only by retention (dee audit archive)';
END;
$$
"""

# The trigger function as revision 0001 made it, restored by the downgrade.
GUARD_0001 = """
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

# {schema} is the migrated schema, quoted as an identifier; nothing else is substituted.
# Rows are locked (head, then the segment) before they are checked, so two retention
# passes on one run serialize and the second finds the segment gone and fails.
RETENTION_FUNCTION = """
CREATE FUNCTION dee_retention_delete(
    p_run_id text, p_first_seq bigint, p_last_seq bigint, p_last_hash text, p_archive_uri text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
DECLARE
    v_flag text := current_setting('dee.retention_function', true);
    v_head record;
    v_head_seq bigint := 0;
    v_expected_seq bigint;
    v_expected_prev text := repeat('0', 64);
    v_entry record;
    v_removed bigint;
    v_moved bigint;
BEGIN
    IF p_run_id IS NULL OR p_first_seq IS NULL OR p_last_seq IS NULL OR p_last_hash IS NULL
       OR coalesce(p_archive_uri, '') = '' OR p_first_seq < 1 OR p_last_seq < p_first_seq THEN
        RAISE EXCEPTION 'dee: retention of run % refused: invalid segment %..% (archive %)',
            p_run_id, p_first_seq, p_last_seq, coalesce(p_archive_uri, 'missing');
    END IF;
    SELECT h.seq, h.hash INTO v_head FROM audit_heads h WHERE h.run_id = p_run_id FOR UPDATE;
    IF FOUND THEN
        v_head_seq := v_head.seq;
        v_expected_prev := v_head.hash;
    END IF;
    IF p_first_seq <> v_head_seq + 1 THEN
        RAISE EXCEPTION 'dee: retention of run % refused: entries %..% do not start right '
            'after the archived head (seq %)', p_run_id, p_first_seq, p_last_seq, v_head_seq;
    END IF;
    v_expected_seq := p_first_seq;
    FOR v_entry IN
        SELECT e.seq, e.prev_hash, e.hash FROM audit_entries e
        WHERE e.run_id = p_run_id AND e.seq <= p_last_seq ORDER BY e.seq FOR UPDATE
    LOOP
        IF v_entry.seq <> v_expected_seq OR v_entry.prev_hash <> v_expected_prev THEN
            RAISE EXCEPTION 'dee: retention of run % refused: entries %..% changed while they '
                'were archived (another retention pass?) at seq %',
                p_run_id, p_first_seq, p_last_seq, v_entry.seq;
        END IF;
        v_expected_seq := v_expected_seq + 1;
        v_expected_prev := v_entry.hash;
    END LOOP;
    IF v_expected_seq <> p_last_seq + 1 OR v_expected_prev <> p_last_hash THEN
        RAISE EXCEPTION 'dee: retention of run % refused: entries %..% changed while they '
            'were archived (another retention pass?)', p_run_id, p_first_seq, p_last_seq;
    END IF;
    PERFORM set_config('dee.retention_function', 'on', true);
    DELETE FROM audit_entries e
        WHERE e.run_id = p_run_id AND e.seq BETWEEN p_first_seq AND p_last_seq;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    PERFORM set_config('dee.retention_function', coalesce(v_flag, ''), true);
    INSERT INTO audit_heads AS h (run_id, seq, hash, archived_at, archive_uri)
        VALUES (p_run_id, p_last_seq, p_last_hash, now(), p_archive_uri)
        ON CONFLICT (run_id) DO UPDATE
            SET seq = excluded.seq, hash = excluded.hash,
                archived_at = excluded.archived_at, archive_uri = excluded.archive_uri
            WHERE h.seq = v_head_seq;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_removed <> p_last_seq - p_first_seq + 1 OR v_moved <> 1 THEN
        RAISE EXCEPTION 'dee: retention of run % refused: entries %..% changed while they '
            'were archived (another retention pass?)', p_run_id, p_first_seq, p_last_seq;
    END IF;
    RETURN v_removed;
END;
$$
"""


def _schema() -> str:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    return str(bind.dialect.identifier_preparer.quote_identifier(schema))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GUARD)
    op.execute(RETENTION_FUNCTION.format(schema=_schema()))
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    op.execute(GUARD_0001)
