"""The Message-ID index: which send a reply's ``In-Reply-To`` / ``References`` names.

A Message-ID is ``<key@domain>`` and the key is an HMAC of ``(tenant, run, step,
visit)`` under the webhook signing key (``channels.base.keyed_message_key``), so it
can be neither decoded nor computed by anyone who knows a run id: the send activity
records the key here before the message leaves, and the webhook receiver looks a
reply's references up. The row is written idempotently (a retried send writes the same
row), and it is written *before* sending, so no message can be out without its index
entry. Rows written before the key was keyed hold the old unkeyed keys, which still
match the replies to those messages: a lookup is by the stored key, whatever made it.

Each row also holds a keyed digest of the recipient's address
(``addresses.address_digest``), so the receiver can tell a reply from the contact
from a reply by anyone else; rows from before have none (``None``).

The table (``dee_sent_messages``) is part of the storage schema and its migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage import Database
from adapters.storage.schema import SentMessage as SentMessageRow

SENT_MESSAGES = cast(Table, SentMessageRow.__table__)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One indexed send."""

    message_key: str
    tenant: str
    run_id: str
    step_id: str
    visit: int
    contact_id: str
    recipient_digest: str | None = None


def message_key(msg_id: str) -> str | None:
    """The key (left part) of ``<key@domain>``, or ``None`` for anything else."""
    inner = msg_id.strip()
    if not (inner.startswith("<") and inner.endswith(">")):
        return None
    left, at, _domain = inner[1:-1].partition("@")
    return left if at and left and len(left) <= 64 else None


class MessageIndex:
    """Records and finds sent messages by their Message-ID key."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, sent: SentMessage) -> None:
        """Index one send (idempotent on its key).

        A row that exists without a recipient digest (written before digests were)
        gets this one: an operator's resend of such a message reuses its Message-ID.
        """
        insert = (postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert)(
            SENT_MESSAGES
        )
        values = {
            "message_key": sent.message_key,
            "tenant": sent.tenant,
            "run_id": sent.run_id,
            "step_id": sent.step_id,
            "visit": sent.visit,
            "contact_id": sent.contact_id,
            "recipient_digest": sent.recipient_digest,
            "recorded_at": datetime.now(UTC),
        }
        m = SENT_MESSAGES.c
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=[m.message_key],
            set_={"recipient_digest": insert.excluded.recipient_digest},
            where=m.recipient_digest.is_(None),
        )
        async with self._db.transaction() as conn:
            await conn.execute(statement)

    async def find(self, msg_ids: list[str]) -> SentMessage | None:
        """The first indexed send among ``msg_ids`` (In-Reply-To first, then References)."""
        keys = [k for k in (message_key(m) for m in msg_ids) if k is not None]
        if not keys:
            return None
        m = SENT_MESSAGES.c
        query = select(SENT_MESSAGES).where(m.message_key.in_(keys))
        async with self._db.snapshot() as conn:
            rows = {row.message_key: row for row in (await conn.execute(query)).mappings()}
        for key in keys:
            row = rows.get(key)
            if row is not None:
                return SentMessage(
                    row["message_key"], row["tenant"], row["run_id"], row["step_id"],
                    row["visit"], row["contact_id"], row["recipient_digest"],
                )  # fmt: skip
        return None


__all__ = ["SENT_MESSAGES", "MessageIndex", "SentMessage", "message_key"]
