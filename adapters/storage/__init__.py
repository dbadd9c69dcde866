"""Storage: plans, run bookkeeping, the hash-chained audit log, and the policy tables.

Boundary: SQLAlchemy 2 (async) over PostgreSQL (asyncpg) or SQLite (aiosqlite), Alembic
migrations, and the audit archive (a directory or S3). Callers get typed results and
``StorageError`` subclasses; no driver type escapes this package. Configuration is
passed in (a URL, an archive URI); nothing here reads the environment.
"""

from __future__ import annotations

from adapters.storage.archive import Archive, FileArchive, S3Archive, archive_for
from adapters.storage.audit import (
    AppendResult,
    AuditStore,
    ChainHead,
    StoredEntry,
    VerifyResult,
    export_line,
)
from adapters.storage.checkpoint_check import CheckpointProblem
from adapters.storage.checkpoint_format import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    load_public_key,
    load_signing_key,
    read_export,
    verify_keys,
)
from adapters.storage.checkpoints import CheckpointStore
from adapters.storage.database import Database, normalize_url
from adapters.storage.errors import (
    ArchiveError,
    AuditDivergence,
    DatabaseUnavailable,
    PlanConflict,
    SchemaBehind,
    StorageError,
    UnknownPlan,
    UnknownRun,
)
from adapters.storage.migrations import ensure_current, upgrade
from adapters.storage.plans import PlanStore
from adapters.storage.retention import ArchivedSegment, Retention, RetentionReport
from adapters.storage.roles import DatabaseRoles
from adapters.storage.runs import RunRecord, RunStore
from adapters.storage.secrets import SecretStore
from adapters.storage.send_ledger import LedgerRow, SendKey, SendLedger


async def open_database(
    url: str,
    *,
    search_path: str | None = None,
    migration_url: str | None = None,
    roles: DatabaseRoles | None = None,
) -> Database:
    """Open a database whose schema is current, migrating it where that is allowed.

    Args:
        url: Where to connect (on PostgreSQL, as the application role).
        search_path: PostgreSQL: the schema (overrides the URL's).
        migration_url: The owner's URL: when given, the schema is migrated through it
            first (in the same schema), then ``url`` is opened.
        roles: The roles a migration sets up (``adapters.storage.roles``).

    Raises:
        SchemaBehind: The schema is old and neither role may migrate it.
        DatabaseUnavailable: The URL is unusable or the database cannot be reached.
    """
    database = Database(url, search_path=search_path)
    try:
        if migration_url is not None:
            owner = Database(migration_url, search_path=database.search_path)
            try:
                await upgrade(owner, roles=roles)
            finally:
                await owner.dispose()
        await ensure_current(database, roles=roles)
    except BaseException:
        await database.dispose()
        raise
    return database


__all__ = [
    "AppendResult",
    "Archive",
    "ArchiveError",
    "ArchivedSegment",
    "AuditDivergence",
    "AuditStore",
    "ChainHead",
    "Checkpoint",
    "CheckpointError",
    "CheckpointProblem",
    "CheckpointSigner",
    "CheckpointStore",
    "Database",
    "DatabaseRoles",
    "DatabaseUnavailable",
    "FileArchive",
    "LedgerRow",
    "PlanConflict",
    "PlanStore",
    "Retention",
    "RetentionReport",
    "RunRecord",
    "RunStore",
    "S3Archive",
    "SchemaBehind",
    "SecretStore",
    "SendKey",
    "SendLedger",
    "StorageError",
    "StoredEntry",
    "UnknownPlan",
    "UnknownRun",
    "VerifyResult",
    "archive_for",
    "ensure_current",
    "export_line",
    "load_public_key",
    "load_signing_key",
    "normalize_url",
    "open_database",
    "read_export",
    "upgrade",
    "verify_keys",
]
