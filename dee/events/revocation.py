"""Revocation by reply: a reply saying STOP records the contact's opt-out on every channel.

Every event passes ``EventIngest.ingest``, which calls ``Revocations.record`` before it
delivers the event: a reply (``*.replied``) whose text holds a revocation
(``stop_words``) becomes an ``opted_out`` consent record for the contact on every
channel, source ``reply:<word>``, at the moment DEE took the reply in. The gate denies
on an opt-out in every consent mode until a newer opt-in, so the next send of any run
for the contact stops there; a suppression is not added (it would outlive a later
opt-in the contact gives).

Recorded before the event reaches a run, and whether or not a run is waiting for it,
so a run that resumes on the event already finds the opt-out. Idempotent per event id:
a provider's retry of the same reply finds the records of the first delivery (their
``detail.eventId``) and adds none. Two deliveries of one reply racing each other may
both record; a second opt-out row changes no decision.

A reply from an address other than the one the message went to (``fromContact``
false) revokes too: it names a message only its recipients saw, and honouring a
stranger's STOP costs a message, while ignoring a contact's STOP sent from another
mailbox breaks the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from adapters.policy import PolicyAdmin, PolicyError
from adapters.policy.keys import id_keys
from adapters.policy.tables import CONSENT
from adapters.storage import Database
from dee.errors import EngineError
from dee.events.stop_words import reply_text, stop_word
from interpreter.commands import CHANNELS
from interpreter.events import FROM_CONTACT

# The key under which the event's data records the revocation (the run's audit entry
# for the event then holds it); "reason" would be sealed as personal data.
REVOCATION = "revocation"


@dataclass(frozen=True, slots=True)
class Revocation:
    """The opt-out a reply recorded: the source, the channels, and when it took effect."""

    source: str
    channels: tuple[str, ...]
    recorded_at: datetime

    def as_data(self) -> dict[str, Any]:
        """As the event's data records it (``data.revocation``)."""
        return {
            "source": self.source,
            "channels": list(self.channels),
            "recordedAt": self.recorded_at.isoformat(),
        }


class Revocations:
    """Records the opt-outs replies ask for (see the module docstring)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._admin = PolicyAdmin(database)

    async def record(
        self,
        tenant: str,
        contact_id: str,
        event_id: str,
        event_type: str,
        data: Mapping[str, Any],
    ) -> Revocation | None:
        """Record the opt-out a reply event asks for; ``None`` when it asks for none.

        Raises:
            EngineError: the opt-out cannot be recorded for this contact (a bad id).
            StorageError: the database could not be reached (the caller retries).
        """
        text = reply_text(event_type, data)
        found = None if text is None else stop_word(text)
        if found is None:
            return None
        done = await self._recorded(tenant, contact_id, event_id)
        at = min(done.values(), default=datetime.now(UTC))
        detail = {
            "eventId": event_id,
            "eventType": event_type,
            "word": found.word,
            "leading": found.leading,
            FROM_CONTACT: data.get(FROM_CONTACT, True),
        }
        for channel in CHANNELS:
            if channel in done:
                continue
            try:
                await self._admin.revoke_consent(
                    tenant, contact_id, channel, found.source, at, detail=detail
                )
            except PolicyError as exc:
                raise EngineError([f"event: cannot record the reply's opt-out: {exc}"]) from None
        return Revocation(found.source, CHANNELS, at)

    async def _recorded(self, tenant: str, contact_id: str, event_id: str) -> dict[str, datetime]:
        """Channel -> when, for the opt-outs this event already recorded."""
        c = CONSENT.c
        query = select(c.channel, c.recorded_at, c.detail).where(
            c.tenant == tenant,
            c.contact_id.in_(id_keys(contact_id)),
            c.status == "opted_out",
            c.source.like("reply:%"),
        )
        async with self._db.snapshot() as conn:
            rows = (await conn.execute(query)).all()
        done: dict[str, datetime] = {}
        for channel, recorded_at, detail in rows:
            if isinstance(detail, Mapping) and detail.get("eventId") == event_id:
                at = recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC)
                done[channel] = at
        return done


__all__ = ["REVOCATION", "Revocation", "Revocations"]
