"""The storage-related settings the CLI's storage commands need, read from ``EngineConfig``.

One configuration for everything: the settings file (``$DEE_CONFIG``) and the ``DEE_*``
variables that ``dee.config.load_config`` reads. Nothing in ``adapters/`` or
``interpreter/`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dee.config import EngineConfig, load_config


@dataclass(frozen=True, slots=True)
class Settings:
    """DEE's storage settings.

    Attributes:
        data_dir: Where embedded state lives (``DEE_DATA_DIR``, default ``./data``).
        database_url: SQLAlchemy URL (``DEE_DATABASE_URL``); defaults to the embedded
            SQLite file ``<data_dir>/dee.db``. ``postgresql+asyncpg://...`` selects PostgreSQL.
            On PostgreSQL, the application role's connection.
        migration_url: The schema owner's URL (``DEE_DATABASE_MIGRATION_URL``), used by
            ``dee db migrate`` only; ``None``: migrate through ``database_url``.
        retention_url: The retention role's URL (``DEE_DATABASE_RETENTION_URL``), used
            by ``dee audit archive`` only; ``None``: ``database_url``.
        app_role, retention_role: The role names the migration sets up (``None``: the
            defaults of ``adapters.storage.roles``).
        audit_retention_days: Audit entries older than this many days are archived,
            then removed (``audit.retention.days``); ``None`` keeps them forever.
        audit_archive_to: Where archived entries go (``audit.archiveTo``):
            ``file:///dir`` or ``s3://bucket/prefix``.
    """

    data_dir: Path
    database_url: str
    migration_url: str | None = field(repr=False)
    retention_url: str | None = field(repr=False)
    app_role: str | None
    retention_role: str | None
    audit_retention_days: int | None
    audit_archive_to: str | None

    @classmethod
    def from_config(cls, config: EngineConfig) -> Settings:
        retention = config.audit.retention
        database = config.database_settings
        return cls(
            data_dir=config.data_dir,
            database_url=config.database_url,
            migration_url=database.migration_url,
            retention_url=database.retention_url,
            app_role=database.app_role,
            retention_role=database.retention_role,
            audit_retention_days=None if retention is None else retention.days,
            audit_archive_to=config.audit.archive_to,
        )

    @classmethod
    def load(cls) -> Settings:
        """From ``$DEE_CONFIG`` (if set) and the ``DEE_*`` variables."""
        return cls.from_config(load_config())


__all__ = ["Settings"]
