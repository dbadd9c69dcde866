"""PostgreSQL roles: what the application and retention roles may do, table by table.

Boundary: the grants migration 0011 makes (and later revisions extend), and the
checks that keep a role from being more than it claims. The running engine never
imports this module; only migrations and ``dee db migrate`` do.

Three roles (docs/database.md):

* the **owner** runs the migrations and owns the schema, the tables and the
  functions. Never used by the running engine.
* the **application** role (``dee_app``) connects the worker, the webhook receiver
  and the CLI. It gets exactly the privileges the stores use (``APP_PRIVILEGES``):
  INSERT and SELECT on the audit log, the plans and the consent records, which are
  append-only, and never DELETE, UPDATE, TRUNCATE or TRIGGER on them; it owns nothing
  and is no member of the owner, so it can neither alter, disable nor drop their
  triggers, nor become ``current_user`` = owner, which the retention guard trusts.
* the **retention** role (``dee_retention``) runs ``dee audit archive``: it reads the
  audit log and calls ``dee_retention_delete`` (SECURITY DEFINER, owned by the owner),
  and has no DELETE of its own.

Roles are cluster-wide while grants are per schema, so two DEE schemas in one cluster
must not share roles (one deployment's credentials would reach the other's tables):
without configured names, a schema other than ``public`` gets ``<schema>_app`` and
``<schema>_retention``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from adapters.storage.errors import StorageError

DEFAULT_APP_ROLE = "dee_app"
DEFAULT_RETENTION_ROLE = "dee_retention"

# PostgreSQL truncates identifiers at 63 bytes; a name must also be usable unquoted.
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Table by table, what the application does (grep the stores for the statements):
# INSERT ... ON CONFLICT DO UPDATE needs UPDATE on the columns it sets, DELETE only
# where a store deletes. Tables absent here that exist when 0011 runs (added by other
# revisions) get INSERT and SELECT; see ``grant_application``.
APP_PRIVILEGES: Mapping[str, str] = {
    "alembic_version": "SELECT",  # the start-up check that the schema is current
    "plans": "SELECT, INSERT",  # immutable
    "runs": "SELECT, INSERT, UPDATE",  # status and how the run ended
    "audit_entries": "SELECT, INSERT",  # append-only
    "audit_heads": "SELECT",  # moved only by dee_retention_delete
    "audit_pending": "SELECT, INSERT, DELETE",  # replaced wholesale per task
    "send_ledger": "SELECT, INSERT, UPDATE",  # intent, attempt, then outcome
    "consent_records": "SELECT, INSERT",  # append-only: a revocation is a new record
    "suppressions": "SELECT, INSERT, UPDATE, DELETE",  # dee suppress add/remove
    "send_limits": "SELECT, INSERT, UPDATE, DELETE",  # dee limits set/clear
    "send_counters": "SELECT, INSERT, UPDATE",
    "send_reservations": "SELECT, INSERT",
    "contact_sends": "SELECT, INSERT",  # + UPDATE (outcome, debt_ref, subject): 0012
    "budgets": "SELECT, INSERT, UPDATE",
    "budget_reservations": "SELECT, INSERT, UPDATE",
    # digest back-fill; an erasure deletes the contact's rows (dee.contacts)
    "dee_sent_messages": "SELECT, INSERT, DELETE, UPDATE (recipient_digest)",
    "dee_secrets": "SELECT, INSERT",  # insert-if-absent, never updated
    "dee_roles": "SELECT",
    "contact_keys": "SELECT, INSERT, UPDATE",  # an erasure destroys the wrapped key
    "audit_checkpoints": "SELECT, INSERT",  # append-only: the worker signs, nobody edits
}
RETENTION_PRIVILEGES: Mapping[str, str] = {
    "alembic_version": "SELECT",
    "audit_entries": "SELECT",
    "audit_heads": "SELECT",
    "dee_roles": "SELECT",
    "contact_keys": "SELECT, INSERT, UPDATE",  # an erasure destroys the wrapped key
}
RETENTION_FUNCTION = "dee_retention_delete(text, bigint, bigint, text, text)"


@dataclass(frozen=True, slots=True)
class DatabaseRoles:
    """The names of the application and retention roles (created when missing)."""

    app: str
    retention: str

    def __post_init__(self) -> None:
        for kind, name in (("application", self.app), ("retention", self.retention)):
            if not _ROLE_NAME.fullmatch(name):
                raise StorageError(
                    f"{kind} role name {name!r} is not usable: lower-case letters, digits "
                    "and _, at most 63, not starting with a digit"
                )
        if self.app == self.retention:
            raise StorageError(
                f"the application and retention roles must differ (both are {self.app!r}): "
                "the application role must not be able to call dee_retention_delete"
            )

    @classmethod
    def for_schema(
        cls, schema: str, app: str | None = None, retention: str | None = None
    ) -> DatabaseRoles:
        """The configured names, or the defaults for ``schema`` (see the module docstring)."""
        if schema == "public":
            return cls(app or DEFAULT_APP_ROLE, retention or DEFAULT_RETENTION_ROLE)
        return cls(app or f"{schema}_app", retention or f"{schema}_retention")


def _ident(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote_identifier(name))


def ensure_role(conn: Connection, name: str) -> None:
    """Create ``name`` (NOLOGIN: a group the login roles are granted) unless it exists.

    A deployment that creates its roles beforehand (``LOGIN PASSWORD ...``, as the
    compose init script does) needs no CREATEROLE for the migrating role.
    """
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
        return
    may = conn.execute(
        text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    ).scalar_one()
    if not may:
        raise StorageError(
            f"role {name} does not exist and the migrating role may not create it: create "
            f"it first (CREATE ROLE {name} LOGIN PASSWORD '...') or grant CREATEROLE"
        )
    conn.execute(text(f"CREATE ROLE {_ident(conn, name)} NOLOGIN"))


def check_unprivileged(conn: Connection, name: str, owner: str) -> None:
    """Refuse a role that could bypass the guards: superuser, owner, or owner's member.

    Also one with CREATEROLE (before PostgreSQL 16 it may grant itself membership in
    the owner, then ``SET ROLE`` to it) and a member of ``pg_write_all_data`` (UPDATE
    and DELETE on every table, whatever this module grants).
    """
    row = conn.execute(
        text(
            "SELECT rolsuper, rolbypassrls, rolname = :owner, pg_has_role(:name, :owner, 'MEMBER'),"
            " rolcreaterole, pg_has_role(:name, 'pg_write_all_data', 'MEMBER')"
            " FROM pg_roles WHERE rolname = :name"
        ),
        {"name": name, "owner": owner},
    ).one()
    problems = [
        what
        for flag, what in zip(
            row,
            ("is a superuser", "bypasses row security", "owns the tables", "is a member of "
             f"the owner {owner}", "may create roles (CREATEROLE: it can make itself a "
             "member of the owner)", "is a member of pg_write_all_data"),
            strict=True,
        )
        if flag
    ]  # fmt: skip
    if problems:
        raise StorageError(
            f"role {name} cannot be a restricted DEE role: it {' and '.join(problems)}; "
            "the append-only guards trust every such role (docs/database.md)"
        )


def table_owner(conn: Connection, table: str) -> str:
    return str(
        conn.execute(
            text(
                "SELECT tableowner FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename = :t"
            ),
            {"t": table},
        ).scalar_one()
    )


def grant_application(conn: Connection, roles: DatabaseRoles, schema: str) -> None:
    """Give each role exactly its privileges in ``schema`` (all others revoked first)."""
    owner = table_owner(conn, "audit_entries")
    for name in (roles.app, roles.retention):
        ensure_role(conn, name)
        check_unprivileged(conn, name, owner)
    s, app, ret = _ident(conn, schema), _ident(conn, roles.app), _ident(conn, roles.retention)
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    for table in sorted(tables):
        t = _ident(conn, table)
        conn.execute(text(f"REVOKE ALL ON TABLE {t} FROM {app}, {ret}"))
        # Another revision's table the map does not know: append-only by default.
        conn.execute(text(f"GRANT {APP_PRIVILEGES.get(table, 'SELECT, INSERT')} ON {t} TO {app}"))
        if table in RETENTION_PRIVILEGES:
            conn.execute(text(f"GRANT {RETENTION_PRIVILEGES[table]} ON {t} TO {ret}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {s} TO {app}, {ret}"))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA {s} FROM {app}, {ret}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {app}"))
    conn.execute(text(f"GRANT EXECUTE ON FUNCTION {RETENTION_FUNCTION} TO {ret}"))
    # Tables of later revisions: INSERT and SELECT unless that revision grants more.
    o = _ident(conn, owner)
    conn.execute(
        text(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
            f"GRANT SELECT, INSERT ON TABLES TO {app}"
        )
    )
    conn.execute(
        text(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {app}"
        )
    )
    _refuse_creators(conn, roles, schema)
    _refuse_inherited(conn, roles)


_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _refuse_inherited(conn: Connection, roles: DatabaseRoles) -> None:
    """Refuse a role that holds more than its grants through PUBLIC or another role.

    ``REVOKE`` takes back only what was granted to the role itself: a grant to PUBLIC
    (a default privilege of the owner, say) or to a role it is a member of would still
    let it UPDATE ``audit_heads`` (hiding a chain's start) or ``dee_roles``.
    """
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    extra: list[str] = []
    for table in sorted(tables):
        for name, granted in ((roles.app, APP_PRIVILEGES), (roles.retention, RETENTION_PRIVILEGES)):
            default = "SELECT, INSERT" if name == roles.app else ""
            allowed = {p.strip() for p in granted.get(table, default).split(",") if "(" not in p}
            for kind in _KINDS:
                if (
                    kind not in allowed
                    and conn.execute(
                        text("SELECT has_table_privilege(:r, :t, :k)"),
                        {"r": name, "t": f"{_ident(conn, table)}", "k": kind},
                    ).scalar_one()
                ):
                    extra.append(f"{name}: {kind} on {table}")
    if extra:
        raise StorageError(
            "roles hold privileges DEE did not grant (through PUBLIC or a role they are "
            f"members of): {'; '.join(extra)}; revoke them, then migrate again"
        )


def _refuse_creators(conn: Connection, roles: DatabaseRoles, schema: str) -> None:
    """A role that may CREATE in the schema could shadow what the SECURITY DEFINER
    function calls (an operator or function overload): refuse, e.g. CREATE for PUBLIC."""
    for name in (roles.app, roles.retention):
        if conn.execute(
            text("SELECT has_schema_privilege(:r, :s, 'CREATE')"), {"r": name, "s": schema}
        ).scalar_one():
            raise StorageError(
                f"role {name} may create objects in schema {schema} (granted to it or to "
                f"PUBLIC): REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC, then migrate again"
            )


def revoke_application(conn: Connection, roles: DatabaseRoles, schema: str) -> None:
    """Undo ``grant_application`` (the roles themselves stay: they are cluster-wide)."""
    owner = _ident(conn, table_owner(conn, "audit_entries"))
    s = _ident(conn, schema)
    for name in (roles.app, roles.retention):
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
            continue
        r = _ident(conn, name)
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}"))
        conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}"))
        conn.execute(text(f"REVOKE ALL ON FUNCTION {RETENTION_FUNCTION} FROM {r}"))
        conn.execute(text(f"REVOKE USAGE ON SCHEMA {s} FROM {r}"))
        for kind in ("TABLES", "SEQUENCES"):
            conn.execute(
                text(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s} "
                     f"REVOKE ALL ON {kind} FROM {r}")
            )  # fmt: skip


__all__ = [
    "APP_PRIVILEGES",
    "DEFAULT_APP_ROLE",
    "DEFAULT_RETENTION_ROLE",
    "RETENTION_PRIVILEGES",
    "DatabaseRoles",
    "grant_application",
    "revoke_application",
]
