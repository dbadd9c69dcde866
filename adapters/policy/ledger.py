"""The contact's ledger: every attempt to reach a contact, what it was about, how it ended.

The rows are ``contact_sends`` (revision 0012): the gate records each send it counts
(``contact_cap.count_contact_send``), with the send's debt, subject and caller id. A
call's outcome is set once it is known (``record_outcome``): ``record_call_events``
reads the call-status events a run took from its audit entries where the bookkeeper
persists them, the one place every ingested event passes (webhook, API or CLI). A
prior dialer's attempts are imported from a CSV seed (``import_attempts``,
``dee policy ledger import``). The compliance rules read a
contact's attempts (``read_attempts``) to count per debt, per subject and per channel.

Concurrency: ``lock_contact`` serialises the gate's read-count-insert for one contact.
On PostgreSQL it is a transaction-level advisory lock on (tenant, contact); on SQLite
the gate's transaction already holds the write lock (``BEGIN IMMEDIATE``).

Boundary: statements inside the caller's transaction, except ``import_attempts``,
which opens its own (all rows or none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.rules.model import CONVERSATION, Attempt
from adapters.policy.tables import CONTACT_SENDS, upsert
from adapters.storage.database import Database, Dialect
from interpreter.chain import Chainable
from interpreter.trace import RUN_SCOPE

# What a call-status event says about the call (``dee.webhooks`` maps each provider's
# statuses onto these event types). Higher ranks win: a verdict on who answered is
# never overwritten by the call's later "completed", and a busy or unanswered call's
# status is never overwritten by a bare "completed" either. A conversation ranks
# highest: an answering-machine verdict arriving after the person answered (callbacks
# out of order) must not erase it, or Reg F's seven quiet days would be lifted.
CALL_OUTCOMES: Final[Mapping[str, tuple[str, int]]] = {
    "voice.answered": (CONVERSATION, 4),
    "voice.voicemail": ("voicemail", 3),
    "voice.busy": ("busy", 2),
    "voice.no_answer": ("no_answer", 2),
    "voice.failed": ("failed", 2),
    "voice.completed": ("completed", 1),
}
OUTCOMES: Final = frozenset(outcome for outcome, _ in CALL_OUTCOMES.values())
_RANK: Final = {outcome: rank for outcome, rank in CALL_OUTCOMES.values()}
IMPORT_PREFIX: Final = "import:"
IMPORT_STEP: Final = "import"


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One attempt to import: whose, and the attempt (``source`` is set to ``import``)."""

    contact_id: str
    attempt: Attempt


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows added, and rows already in the ledger (imported before)."""

    added: int
    already: int


async def lock_contact(
    conn: AsyncConnection, dialect: Dialect, tenant: str, contact_id: str
) -> None:
    """Hold the contact's ledger until the transaction ends (PostgreSQL; see the module
    docstring). Taking it twice in one transaction is harmless (it stacks)."""
    if dialect == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(tenant, contact_id)}
        )


async def read_attempts(
    conn: AsyncConnection,
    tenant: str,
    contact_id: str,
    since: datetime,
    *,
    exclude: tuple[str, str, int] | None = None,
) -> tuple[Attempt, ...]:
    """The contact's attempts at or after ``since`` (every channel), oldest first.

    Args:
        exclude: A send's key ``(run, step, visit)`` left out: a send re-evaluated after
            it was counted must not be held back by its own attempt.
    """
    t = CONTACT_SENDS.c
    query = (
        select(
            t.run_id,
            t.step_id,
            t.visit,
            t.channel,
            t.sent_at,
            t.outcome,
            t.debt_ref,
            t.subject,
            t.caller_id,
            t.source,
        )
        .where(t.tenant == tenant, t.contact_id == contact_id, t.sent_at >= since)
        .order_by(t.sent_at, t.run_id, t.step_id, t.visit)
    )
    attempts = []
    for row in (await conn.execute(query)).mappings():
        if exclude is not None and (row["run_id"], row["step_id"], row["visit"]) == exclude:
            continue
        attempts.append(
            Attempt(
                channel=row["channel"],
                at=row["sent_at"],
                outcome=row["outcome"],
                debt_ref=row["debt_ref"],
                subject=row["subject"],
                caller_id=row["caller_id"],
                source=row["source"],
            )
        )
    return tuple(attempts)


async def record_outcome(
    conn: AsyncConnection, run_id: str, step_id: str, outcome: str, visit: int | None = None
) -> bool:
    """Set the outcome of a run's call: of ``visit``, else of the step's latest counted
    send. An outcome of lower rank (``CALL_OUTCOMES``) than the one recorded is ignored.

    Returns:
        Whether a row changed (``False``: no such send was counted, or it already
        holds an outcome that ranks higher or the same).
    """
    if outcome not in _RANK:
        raise ValueError(f"unknown call outcome {outcome!r}: one of {', '.join(sorted(OUTCOMES))}")
    t = CONTACT_SENDS.c
    query = select(t.visit, t.outcome).where(t.run_id == run_id, t.step_id == step_id)
    if visit is not None:
        query = query.where(t.visit == visit)
    row = (await conn.execute(query.order_by(t.visit.desc()).limit(1))).first()
    if row is None or row.outcome == outcome:
        return False
    if row.outcome is not None and _RANK.get(row.outcome, 0) > _RANK[outcome]:
        return False
    await conn.execute(
        CONTACT_SENDS.update()
        .where(t.run_id == run_id, t.step_id == step_id, t.visit == row.visit)
        .values(outcome=outcome)
    )
    return True


async def record_call_events(
    conn: AsyncConnection, run_id: str, entries: Iterable[Chainable]
) -> int:
    """Record the call outcomes a run's audit entries report: each call-status event
    the run took (``event``/``ingested``, scoped to the send step; ``CALL_OUTCOMES``).
    Other entries are ignored. Returns how many rows changed."""
    changed = 0
    for entry in entries:
        if (entry.action, entry.outcome) != ("event", "ingested") or entry.step_id == RUN_SCOPE:
            continue
        found = CALL_OUTCOMES.get(str(entry.detail.get("type")))
        if found is not None and await record_outcome(conn, run_id, entry.step_id, found[0]):
            changed += 1
    return changed


def import_key(tenant: str, row: LedgerRow) -> str:
    """The run id an imported row is stored under: the same row gets the same id."""
    normal = {"tenant": tenant, "contactId": row.contact_id, **row.attempt.as_json()}
    normal["at"] = row.attempt.at.astimezone(UTC).isoformat()
    normal.pop("source")
    body = json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return IMPORT_PREFIX + hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


async def import_attempts(db: Database, tenant: str, rows: Sequence[LedgerRow]) -> ImportResult:
    """Add a prior dialer's attempts to the ledger, all in one transaction; a row
    imported before (the same normalised row) is not added again."""
    keys: dict[str, dict[str, Any]] = {}
    for row in rows:
        a = row.attempt
        keys[import_key(tenant, row)] = {
            "step_id": IMPORT_STEP,
            "visit": 0,
            "tenant": tenant,
            "contact_id": row.contact_id,
            "channel": a.channel,
            "sent_at": a.at.astimezone(UTC),
            "outcome": a.outcome,
            "debt_ref": a.debt_ref,
            "subject": a.subject,
            "caller_id": a.caller_id,
            "source": "import",
        }
    added = 0
    async with db.transaction() as conn:
        for run_id, values in keys.items():
            statement = (
                upsert(db.dialect, CONTACT_SENDS)
                .values(run_id=run_id, **values)
                .on_conflict_do_nothing()
                .returning(CONTACT_SENDS.c.run_id)
            )
            if (await conn.execute(statement)).first() is not None:
                added += 1
    return ImportResult(added, len(rows) - added)


def _lock_key(tenant: str, contact_id: str) -> int:
    """A signed 64-bit key for the (tenant, contact) pair; a collision only serialises."""
    key = f"{tenant}\x00{contact_id}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)


__all__ = [
    "CALL_OUTCOMES",
    "IMPORT_PREFIX",
    "OUTCOMES",
    "ImportResult",
    "LedgerRow",
    "import_attempts",
    "import_key",
    "lock_contact",
    "read_attempts",
    "record_call_events",
    "record_outcome",
]
