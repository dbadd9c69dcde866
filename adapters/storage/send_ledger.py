"""The send ledger: each send's intent and attempts before the provider call, its outcome after.

Boundary: one row per send, keyed like its Message-ID / idempotency key by
``(run, step, visit)``. The send activity calls ``begin`` before it calls a provider and
``settle`` after; a call that finds an earlier attempt without an outcome knows the
provider may hold the message (a worker killed after the provider accepted it, a
completion lost on the way back), so it reports ``unknown`` instead of failing or
sending again. What is known here is shown by ``dee run status``; the audited record
of a send stays the run's hash chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import RowMapping, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage.database import Database
from adapters.storage.schema import SendLedgerEntry

LEDGER = cast(Table, SendLedgerEntry.__table__)
Outcome = Literal["delivered", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class SendKey:
    run_id: str
    step_id: str
    visit: int


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A send as the ledger knows it. ``outcome`` is ``None`` while an attempt is open."""

    run_id: str
    step_id: str
    visit: int
    channel: str
    provider: str
    message_key: str
    intent_at: datetime
    attempts: int
    attempted_at: datetime | None
    outcome: Outcome | None
    outcome_at: datetime | None
    provider_message_id: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape ``dee run status`` shows."""
        return {
            "stepId": self.step_id,
            "visit": self.visit,
            "channel": self.channel,
            "provider": self.provider,
            "messageKey": self.message_key,
            "intentAt": _iso(self.intent_at),
            "attempts": self.attempts,
            "attemptedAt": _iso(self.attempted_at),
            "outcome": self.outcome,
            "outcomeAt": _iso(self.outcome_at),
            "providerMessageId": self.provider_message_id,
            "detail": dict(self.detail),
        }


class SendLedger:
    """Reads and writes ``send_ledger`` rows."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def begin(
        self, key: SendKey, *, channel: str, provider: str, message_key: str
    ) -> LedgerRow | None:
        """Record the intent and a first attempt; return the earlier row instead if any.

        ``None``: this is the send's first attempt, recorded, and the caller may call the
        provider. A row: an earlier attempt exists and nothing was recorded now; the
        caller decides from it (a settled outcome is final; an open one is unknown).
        """
        now = datetime.now(UTC)
        async with self._db.transaction() as conn:
            existing = await _read(conn, key, lock=True)
            if existing is not None:
                return existing
            await conn.execute(
                insert(LEDGER).values(
                    run_id=key.run_id,
                    step_id=key.step_id,
                    visit=key.visit,
                    channel=channel,
                    provider=provider,
                    message_key=message_key,
                    intent_at=now,
                    attempts=1,
                    attempted_at=now,
                    outcome=None,
                    outcome_at=None,
                    provider_message_id=None,
                    detail={},
                )
            )
        return None

    async def attempt_again(self, key: SendKey, *, why: str) -> None:
        """Open a new attempt on a send whose earlier one is unknown (``why`` is kept)."""
        now = datetime.now(UTC)
        async with self._db.transaction() as conn:
            row = await _read(conn, key, lock=True)
            detail = dict(row.detail) if row is not None else {}
            detail.setdefault("reattempts", []).append({"at": _iso(now), "why": why})
            await conn.execute(
                update(LEDGER)
                .where(*_match(key))
                .values(
                    attempts=LEDGER.c.attempts + 1,
                    attempted_at=now,
                    outcome=None,
                    outcome_at=None,
                    detail=detail,
                )
            )

    async def settle(
        self,
        key: SendKey,
        outcome: Outcome,
        *,
        provider_message_id: str | None = None,
        note: Mapping[str, Any] | None = None,
    ) -> None:
        """Record what became of the open attempt."""
        async with self._db.transaction() as conn:
            row = await _read(conn, key, lock=True)
            if row is None:
                return
            detail = {**row.detail, **(note or {})}
            await conn.execute(
                update(LEDGER)
                .where(*_match(key))
                .values(
                    outcome=outcome,
                    outcome_at=datetime.now(UTC),
                    provider_message_id=provider_message_id or row.provider_message_id,
                    detail=detail,
                )
            )

    async def get(self, key: SendKey) -> LedgerRow | None:
        async with self._db.snapshot() as conn:
            return await _read(conn, key, lock=False)

    async def for_run(self, run_id: str) -> list[LedgerRow]:
        """A run's sends, in step and visit order."""
        async with self._db.snapshot() as conn:
            rows = await conn.execute(
                select(LEDGER)
                .where(LEDGER.c.run_id == run_id)
                .order_by(LEDGER.c.intent_at, LEDGER.c.step_id, LEDGER.c.visit)
            )
            return [_row(r) for r in rows.mappings()]


def _match(key: SendKey) -> tuple[Any, ...]:
    return (
        LEDGER.c.run_id == key.run_id,
        LEDGER.c.step_id == key.step_id,
        LEDGER.c.visit == key.visit,
    )


async def _read(conn: AsyncConnection, key: SendKey, *, lock: bool) -> LedgerRow | None:
    query = select(LEDGER).where(*_match(key))
    if lock and conn.dialect.name == "postgresql":
        # Two attempts of one send (a retry racing a slow first attempt) are serialized:
        # the second sees the first's attempt. SQLite's write transaction is exclusive.
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _row(row)


def _row(row: RowMapping) -> LedgerRow:
    return LedgerRow(
        row["run_id"], row["step_id"], row["visit"], row["channel"], row["provider"],
        row["message_key"], row["intent_at"], row["attempts"], row["attempted_at"],
        row["outcome"], row["outcome_at"], row["provider_message_id"], row["detail"] or {},
    )  # fmt: skip


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = ["LedgerRow", "Outcome", "SendKey", "SendLedger"]
