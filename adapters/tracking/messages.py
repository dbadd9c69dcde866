"""The Message-ID index: which send a reply's ``In-Reply-To`` / ``References`` names.

A Message-ID is ``<idempotency_key@domain>`` and the key is a one-way hash of
``(run, step, visit)``, so it cannot be decoded: the send activity records the key
here before the message leaves, and the webhook receiver looks a reply's references
up. The row is written idempotently (a retried send writes the same row), and it is
written *before* sending, so no message can be out without its index entry.

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
        """Index one send (idempotent on its key)."""
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
            "recorded_at": datetime.now(UTC),
        }
        async with self._db.transaction() as conn:
            await conn.execute(insert.values(**values).on_conflict_do_nothing())

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
                    row["visit"], row["contact_id"],
                )  # fmt: skip
        return None


__all__ = ["SENT_MESSAGES", "MessageIndex", "SentMessage", "message_key"]
