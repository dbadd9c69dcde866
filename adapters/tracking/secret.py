"""The webhook signing key: the configured one, else one DEE generated and stored.

Tracking tokens, the ``X-DEE-Ref`` header and signed callback parameters are all
HMACs under this key, and the worker (signing) and the receiver (verifying) must
agree on it. A configured ``webhooks.secret`` wins; without one the key is generated
on first use and kept in the database both processes already share, so tracking and
one-click unsubscribe work on embedded defaults instead of being skipped.
"""

from __future__ import annotations

from adapters.storage import Database, SecretStore

# The row name in ``dee_secrets``.
WEBHOOK_SECRET_NAME = "webhooks.secret"  # noqa: S105 - a row name, not a secret


async def signing_key(configured: str | None, database: Database) -> bytes:
    """The key to sign and verify webhook tokens with.

    Raises:
        StorageError: No key is configured and the database refused to store one.
    """
    if configured:
        return configured.encode()
    return await SecretStore(database).get_or_create(WEBHOOK_SECRET_NAME)


__all__ = ["WEBHOOK_SECRET_NAME", "signing_key"]
