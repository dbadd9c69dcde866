"""The storage-related settings the CLI's storage commands need, read from ``EngineConfig``.

One configuration for everything: the settings file (``$DEE_CONFIG``) and the ``DEE_*``
variables that ``dee.config.load_config`` reads. Nothing in ``adapters/`` or
``interpreter/`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dee.config import EngineConfig, load_config


@dataclass(frozen=True, slots=True)
class Settings:
    """DEE's storage settings.

    Attributes:
        data_dir: Where embedded state lives (``DEE_DATA_DIR``, default ``./data``).
        database_url: SQLAlchemy URL (``DEE_DATABASE_URL``); defaults to the embedded
            SQLite file ``<data_dir>/dee.db``. ``postgresql+asyncpg://...`` selects PostgreSQL.
        audit_retention_days: Audit entries older than this many days are archived,
            then removed (``audit.retention.days``); ``None`` keeps them forever.
        audit_archive_to: Where archived entries go (``audit.archiveTo``):
            ``file:///dir`` or ``s3://bucket/prefix``.
    """

    data_dir: Path
    database_url: str
    audit_retention_days: int | None
    audit_archive_to: str | None

    @classmethod
    def from_config(cls, config: EngineConfig) -> Settings:
        retention = config.audit.retention
        return cls(
            data_dir=config.data_dir,
            database_url=config.database_url,
            audit_retention_days=None if retention is None else retention.days,
            audit_archive_to=config.audit.archive_to,
        )

    @classmethod
    def load(cls) -> Settings:
        """From ``$DEE_CONFIG`` (if set) and the ``DEE_*`` variables."""
        return cls.from_config(load_config())


__all__ = ["Settings"]
