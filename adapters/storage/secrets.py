"""Secrets DEE generates for itself and keeps in the database (``dee_secrets``).

A deployment that configures no webhook signing key still needs one, and every
process (workers, the webhook receiver) must use the same: the worker signs the
tracking links and callback parameters that the receiver verifies. The first process
to ask generates a random key and inserts it *if absent*; whoever loses that race
reads the winner's row in the same transaction, so concurrent first starts agree.
A stored secret is never replaced: links already sent keep verifying.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.database import Database
from adapters.storage.errors import StorageError
from adapters.storage.schema import Secret

SECRETS = cast(Table, Secret.__table__)
SECRET_BYTES = 32


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _decode(name: str, value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        key = b""
    if not key:
        raise StorageError(f"stored secret {name!r} in dee_secrets is not base64url key bytes")
    return key


class SecretStore:
    """Generated secrets by name, over one database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get_or_create(self, name: str, size: int = SECRET_BYTES) -> bytes:
        """The secret ``name``, generated (``size`` random bytes) and stored on first use.

        Raises:
            StorageError: The database refused the write or holds an unusable value.
            DatabaseUnavailable: The database cannot be reached.
        """
        query = select(SECRETS.c.value).where(SECRETS.c.name == name)
        async with self._db.snapshot() as conn:
            found = (await conn.execute(query)).scalar_one_or_none()
        if found is not None:
            return _decode(name, found)
        insert = (postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert)(
            SECRETS
        ).values(name=name, value=_encode(secrets.token_bytes(size)), created_at=datetime.now(UTC))
        # One transaction: on PostgreSQL (READ COMMITTED) the conflicting INSERT waits for
        # the other process's commit and the SELECT then sees its row; on SQLite the
        # write lock of BEGIN IMMEDIATE serializes the two transactions outright.
        async with self._db.transaction() as conn:
            await conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            stored = (await conn.execute(query)).scalar_one()
        return _decode(name, stored)


__all__ = ["SECRETS", "SECRET_BYTES", "SecretStore"]
