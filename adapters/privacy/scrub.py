"""Erasure's database part: the plain personal values left outside the audit chain.

The audit chain holds none (pseudonyms and sealed fields only, written so at the
edge), and its sealed fields die with the contact's key. What remains is in mutable
tables: a suppression of the contact's address (kept, so the address stays
blocked, but under its keyed pseudonym), the Message-ID index rows of its sends
(deleted: their runs are gone), and reasons a provider or an older version wrote in
plain words into the send ledger and the run rows (redacted). Consent records are
keyed by the opaque contact id and carry no personal values (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.addresses import AddressError, canonical_email, canonical_phone
from adapters.privacy.pseudonyms import Pseudonyms, Redactor
from adapters.storage import Database
from adapters.storage.schema import (
    ConsentRecord,
    ContactSend,
    Run,
    SendLedgerEntry,
    SentMessage,
    Suppression,
)

SUPPRESSIONS = cast(Table, Suppression.__table__)
SENT = cast(Table, SentMessage.__table__)
LEDGER = cast(Table, SendLedgerEntry.__table__)
RUNS = cast(Table, Run.__table__)
CONSENT = cast(Table, ConsentRecord.__table__)
CONTACT_SENDS = cast(Table, ContactSend.__table__)


@dataclass(frozen=True, slots=True)
class ScrubReport:
    """What erasure changed in the database's mutable tables."""

    suppressions_pseudonymised: int = 0
    sent_messages_deleted: int = 0
    ledger_rows_redacted: int = 0
    run_rows_redacted: int = 0
    attempts_cleared: int = 0


def address_keys(contacts: Sequence[Mapping[str, Any]]) -> set[str]:
    """The suppression keys of the contacts' addresses (canonical, as the gate matches)."""
    keys: set[str] = set()
    for contact in contacts:
        try:
            email = contact.get("email")
            if isinstance(email, str) and email:
                keys.add(canonical_email(email).lower())
            phone = contact.get("phone")
            if isinstance(phone, str) and phone:
                keys.add(canonical_phone(phone, contact.get("country")))
        except AddressError:
            continue
    return keys


def _redact(redactors: Sequence[Redactor], value: Any) -> Any:
    for redactor in redactors:
        value = redactor.tree(value)
    return value


async def known_contact(database: Database, tenant: str, contact_id: str) -> bool:
    """Whether any consent, suppression or send record names the contact id."""
    queries = [
        select(CONSENT.c.id).where(CONSENT.c.tenant == tenant, CONSENT.c.contact_id == contact_id),
        select(SUPPRESSIONS.c.id).where(
            SUPPRESSIONS.c.tenant == tenant, SUPPRESSIONS.c.contact_key == contact_id
        ),
        select(CONTACT_SENDS.c.run_id).where(
            CONTACT_SENDS.c.tenant == tenant, CONTACT_SENDS.c.contact_id == contact_id
        ),
    ]
    async with database.snapshot() as conn:
        for query in queries:
            if (await conn.execute(query.limit(1))).first() is not None:
                return True
    return False


async def scrub(
    database: Database,
    pseudonyms: Pseudonyms,
    *,
    tenant: str,
    contact_id: str,
    run_ids: Sequence[str],
    contacts: Sequence[Mapping[str, Any]],
) -> ScrubReport:
    """Pseudonymise, delete or redact the contact's plain values (see the module notes)."""
    redactors = [pseudonyms.redactor(c) for c in contacts]
    async with database.transaction() as conn:
        keys = address_keys(contacts)
        suppressed = await _suppressions(conn, pseudonyms, tenant, keys, redactors)
        sent = await conn.execute(
            delete(SENT).where(SENT.c.tenant == tenant, SENT.c.contact_id == contact_id)
        )
        ledger = await _redact_rows(conn, LEDGER, ("detail",), run_ids, redactors)
        runs = await _redact_rows(conn, RUNS, ("failure", "outcome"), run_ids, redactors)
        # The contact's attempts stay counted (an erased contact is denied anyway), but
        # what they were about (an account number, a subject) is the contact's data.
        attempts = await conn.execute(
            update(CONTACT_SENDS)
            .where(
                CONTACT_SENDS.c.tenant == tenant,
                CONTACT_SENDS.c.contact_id == contact_id,
                (CONTACT_SENDS.c.debt_ref.is_not(None)) | (CONTACT_SENDS.c.subject.is_not(None)),
            )
            .values(debt_ref=None, subject=None)
        )
    return ScrubReport(suppressed, sent.rowcount or 0, ledger, runs, attempts.rowcount or 0)


async def _suppressions(
    conn: AsyncConnection,
    pseudonyms: Pseudonyms,
    tenant: str,
    keys: set[str],
    redactors: Sequence[Redactor],
) -> int:
    s = SUPPRESSIONS.c
    if not keys:
        return 0
    rows = (
        await conn.execute(select(SUPPRESSIONS).where(s.tenant == tenant, s.contact_key.in_(keys)))
    ).mappings()
    changed = 0
    for row in list(rows):
        hidden = pseudonyms.of(row["contact_key"])
        twin = select(s.id).where(
            s.tenant == tenant,
            s.scope == row["scope"],
            s.scope_key == row["scope_key"],
            s.contact_key == hidden,
        )
        if (await conn.execute(twin)).first() is not None:  # already kept as a pseudonym
            await conn.execute(delete(SUPPRESSIONS).where(s.id == row["id"]))
        else:
            reason = _redact(redactors, str(row["reason"]).replace(row["contact_key"], hidden))
            await conn.execute(
                update(SUPPRESSIONS)
                .where(s.id == row["id"])
                .values(contact_key=hidden, reason=reason)
            )
        changed += 1
    return changed


async def _redact_rows(
    conn: AsyncConnection,
    table: Table,
    columns: tuple[str, ...],
    run_ids: Sequence[str],
    redactors: Sequence[Redactor],
) -> int:
    if not run_ids or not redactors:
        return 0
    cols = [table.c[name] for name in columns]
    query = select(table.c.run_id, *table.primary_key.columns, *cols).where(
        table.c.run_id.in_(list(run_ids))
    )
    changed = 0
    for row in list((await conn.execute(query)).mappings()):
        new = {name: _redact(redactors, row[name]) for name in columns}
        if all(new[name] == row[name] for name in columns):
            continue
        key = [col == row[col.name] for col in table.primary_key.columns]
        await conn.execute(update(table).where(*key).values(**new))
        changed += 1
    return changed


__all__ = ["ScrubReport", "address_keys", "known_contact", "scrub"]
