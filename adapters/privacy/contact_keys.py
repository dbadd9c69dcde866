"""The ``contact_keys`` table: each contact's data key, created at first use, destroyable.

A contact's personal values that must stay readable (a reply's sender, subject and
text) are sealed under its data key (``adapters.privacy.sealing``); the key is kept
wrapped by the master key. Erasure sets the wrapped key to NULL on every generation of
the contact: whatever was sealed under it, wherever it was copied (the audit chain,
archives, backups), can no longer be opened. The contact stays erased (its newest row
says so) until it is enrolled again, which starts a new generation with a new key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.privacy import sealing
from adapters.privacy.errors import ContactErased
from adapters.privacy.master import MasterKey
from adapters.storage import Database
from adapters.storage.schema import ContactKey

KEYS = cast(Table, ContactKey.__table__)
ERASED_TEXT = "[erased]"
UNREADABLE_TEXT = "[unreadable]"  # not sealed for this contact, or altered since


@dataclass(frozen=True, slots=True)
class KeyState:
    """A contact's newest key row: its generation, and when it was erased (if it was)."""

    generation: int
    erased_at: datetime | None


class ContactKeys:
    """Data keys per ``(tenant, contact)`` over one database, under one master key."""

    def __init__(self, database: Database, master: MasterKey) -> None:
        self._db = database
        self._master = master

    async def state(self, tenant: str, contact_id: str) -> KeyState | None:
        """The newest key row of the contact (``None``: it never had one)."""
        async with self._db.snapshot() as conn:
            row = await _newest(conn, tenant, contact_id)
        return None if row is None else KeyState(row.generation, row.erased_at)

    async def erased_among(self, tenant: str, contact_ids: Iterable[str]) -> set[str]:
        """Which of ``contact_ids`` are erased now (their newest row is)."""
        wanted = sorted(set(contact_ids))
        if not wanted:
            return set()
        k = KEYS.c
        newest = (
            select(k.contact_id, func.max(k.generation).label("gen"))
            .where(k.tenant == tenant, k.contact_id.in_(wanted))
            .group_by(k.contact_id)
            .subquery()
        )
        query = select(k.contact_id).join(
            newest, (k.contact_id == newest.c.contact_id) & (k.generation == newest.c.gen)
        )
        query = query.where(k.tenant == tenant, k.erased_at.is_not(None))
        async with self._db.snapshot() as conn:
            return set((await conn.execute(query)).scalars())

    async def seal(self, tenant: str, contact_id: str, text: str) -> str:
        """``text`` sealed under the contact's data key (created on first use).

        Raises:
            ContactErased: the contact is erased; nothing of it may be stored.
        """
        gen, key = await self._data_key(tenant, contact_id)
        return sealing.seal(key, text, tenant, contact_id, gen)

    async def open(self, tenant: str, contact_id: str, value: str) -> str:
        """A sealed value's text, or ``[erased]`` once its key is destroyed.

        ``[unreadable]``: the value was sealed for another contact, altered, or the
        key was wrapped under another master key.
        """
        gen = sealing.generation_of(value)
        if gen is None:
            return value
        k = KEYS.c
        query = select(k.wrapped_key).where(
            k.tenant == tenant, k.contact_id == contact_id, k.generation == gen
        )
        async with self._db.snapshot() as conn:
            wrapped = (await conn.execute(query)).scalar_one_or_none()
        if wrapped is None:
            return ERASED_TEXT
        try:
            data_key = sealing.unwrap(self._master.wrapping_key, wrapped, tenant, contact_id, gen)
            return sealing.open_sealed(data_key, value, tenant, contact_id)
        except ValueError:
            return UNREADABLE_TEXT

    async def erase(self, tenant: str, contact_id: str) -> bool:
        """Destroy every data key of the contact and mark it erased.

        Returns whether it was erased by this call (``False``: it already was).
        """
        now = datetime.now(UTC)
        k = KEYS.c
        async with self._db.transaction() as conn:
            row = await _newest(conn, tenant, contact_id)
            if row is not None and row.erased_at is not None and row.wrapped_key is None:
                return False
            if row is None:
                await conn.execute(_insert(self._db.dialect, tenant, contact_id, 1, None, now, now))
                return True
            mine = (k.tenant == tenant) & (k.contact_id == contact_id)
            await conn.execute(update(KEYS).where(mine).values(wrapped_key=None))
            await conn.execute(
                update(KEYS).where(mine, k.erased_at.is_(None)).values(erased_at=now)
            )
        return True

    async def enrol(self, tenant: str, contact_id: str) -> int:
        """Make the contact usable again (a new key after an erasure); its generation."""
        async with self._db.transaction() as conn:
            row = await _newest(conn, tenant, contact_id)
            if row is not None and row.erased_at is None:
                return int(row.generation)
            gen = 1 if row is None else int(row.generation) + 1
            await self._add(conn, tenant, contact_id, gen)
        return gen

    async def _data_key(self, tenant: str, contact_id: str) -> tuple[int, bytes]:
        async with self._db.snapshot() as conn:
            row = await _newest(conn, tenant, contact_id)
        if row is None:
            async with self._db.transaction() as conn:
                await self._add(conn, tenant, contact_id, 1)
                row = await _newest(conn, tenant, contact_id)
        if row is None or row.erased_at is not None or row.wrapped_key is None:
            raise ContactErased(tenant, contact_id)
        gen = int(row.generation)
        wrapping = self._master.wrapping_key
        return gen, sealing.unwrap(wrapping, row.wrapped_key, tenant, contact_id, gen)

    async def _add(self, conn: AsyncConnection, tenant: str, contact_id: str, gen: int) -> None:
        wrapped = sealing.wrap(
            self._master.wrapping_key, sealing.new_data_key(), tenant, contact_id, gen
        )
        now = datetime.now(UTC)
        # Two processes creating the same key at once: one row wins, both read it.
        await conn.execute(_insert(self._db.dialect, tenant, contact_id, gen, wrapped, now, None))


def _insert(
    dialect: str,
    tenant: str,
    contact_id: str,
    gen: int,
    wrapped: str | None,
    created: datetime,
    erased: datetime | None,
) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(KEYS)
    values = insert.values(
        tenant=tenant, contact_id=contact_id, generation=gen, wrapped_key=wrapped,
        created_at=created, erased_at=erased,
    )  # fmt: skip
    return values.on_conflict_do_nothing(index_elements=["tenant", "contact_id", "generation"])


async def _newest(conn: AsyncConnection, tenant: str, contact_id: str) -> Any:
    k = KEYS.c
    query = (
        select(k.generation, k.wrapped_key, k.erased_at)
        .where(k.tenant == tenant, k.contact_id == contact_id)
        .order_by(k.generation.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


__all__ = ["ERASED_TEXT", "KEYS", "UNREADABLE_TEXT", "ContactKeys", "KeyState"]
