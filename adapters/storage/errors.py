"""The storage layer's errors: one root, typed subclasses, each with a readable message.

Vendor exceptions (SQLAlchemy, asyncpg, aiosqlite, boto3) are mapped to these at the
edge with ``raise ... from exc`` so nothing above ``adapters/`` sees a driver type.
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of the storage errors; ``str(exc)`` is one line meant for a person."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached, or the URL does not name a usable database."""


class SchemaBehind(StorageError):
    """The schema is older than this code, and the connected role may not migrate it.

    The application role owns nothing, so it cannot migrate; the owner does that
    (``dee db migrate`` with the migration URL) before the application starts.
    """


class UnknownRun(StorageError):
    """No audit entry, head or run record exists for this run id."""

    def __init__(self, run_id: str, *, what: str = "no audit entries are stored for it") -> None:
        self.run_id = run_id
        super().__init__(f"unknown run {run_id!r}: {what}")


class UnknownPlan(StorageError):
    """No stored plan has this id (and version)."""


class PlanConflict(StorageError):
    """A different body was offered for a stored (plan id, version): plans are immutable."""


class AuditDivergence(StorageError):
    """An append disagrees with what is stored: divergence, or tampering.

    Attributes:
        run_id: The run concerned.
        seq: The first entry that disagrees.
        field: The first field that differs (``prev_hash`` for a broken link).
    """

    def __init__(self, run_id: str, seq: int, field: str, message: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.field = field
        super().__init__(f"run {run_id}: entry seq {seq}: {field}: {message}")


class ArchiveError(StorageError):
    """The archive could not be written (or is misconfigured); no entry was removed."""


__all__ = [
    "ArchiveError",
    "AuditDivergence",
    "DatabaseUnavailable",
    "PlanConflict",
    "SchemaBehind",
    "StorageError",
    "UnknownPlan",
    "UnknownRun",
]
