"""Revocation by reply on both databases: the opt-out a STOP reply records is recorded once
per event, denies the gate on every channel, and yields to a newer opt-in (no suppression
outlives it)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from adapters.policy import PolicyAdmin, PolicyGate
from adapters.policy.tables import CONSENT
from adapters.storage import Database
from dee.events.revocation import Revocations

from .helpers import NOON, send


async def _rows(database: Database) -> int:
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(CONSENT)) or 0)


async def test_a_stop_reply_denies_every_channel_once_until_a_newer_opt_in(
    database: Database,
) -> None:
    admin, gate, revocations = PolicyAdmin(database), PolicyGate(database), Revocations(database)
    await admin.grant_consent("acme", "c1", "voice", "form", "v1", NOON - timedelta(days=30))
    data = {"snippet": "STOP", "fromContact": True}

    first = await revocations.record("acme", "c1", "email.replied:abc", "email.replied", data)
    again = await revocations.record("acme", "c1", "email.replied:abc", "email.replied", data)
    assert first is not None and again is not None
    assert (first.source, first.channels) == ("reply:stop", ("email", "voice"))
    assert again.recorded_at == first.recorded_at  # the first delivery's records, not new ones
    assert await _rows(database) == 3  # the opt-in and one opt-out per channel

    for channel in ("email", "voice"):
        decision = await gate.evaluate(send(channel=channel, at=first.recorded_at))
        assert (decision.decision, decision.policy) == ("deny", "consent"), channel
        assert decision.reason is not None and "reply:stop" in decision.reason

    # Not a reply, or a reply that asks nothing: nothing recorded.
    other = {"snippet": "Yes, call me tomorrow"}
    assert await revocations.record("acme", "c1", "e2", "email.replied", other) is None
    assert await revocations.record("acme", "c1", "e3", "email.opened", {"text": "stop"}) is None
    assert await _rows(database) == 3

    # The contact opts in again later: the revocation was consent, not a suppression.
    later = first.recorded_at + timedelta(minutes=1)
    await admin.grant_consent("acme", "c1", "email", "form", "v2", later)
    decision = await gate.evaluate(send(channel="email", at=later + timedelta(minutes=1)))
    assert decision.decision == "allow", decision.reason
