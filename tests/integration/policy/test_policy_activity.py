"""The ``check_policies`` activity: a channel it does not know is denied, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.bookkeeping import Bookkeeper
from activities.contracts import AuditBatch, PolicyRequest, RunRow
from activities.policy import PolicyChecker
from adapters.policy import PolicyGate
from adapters.storage import Database, PlanStore
from dee.documents import load_plan

from .helpers import NOON, counted, reservations

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLAN = load_plan(Path(__file__).resolve().parents[3] / "plans" / "sales-sequence.yaml")


def _request(channel: str) -> PolicyRequest:
    row = RunRow("run-ch", "acme", PLAN.id, PLAN.version, "c1", "RUNNING", "send-1")
    contact = {"id": "c1", "phone": "+12125550123", "timezone": "America/New_York"}
    at = int(NOON.timestamp() * 1000)
    return PolicyRequest(
        AuditBatch(row), "run-ch", "acme", PLAN.id, contact, channel, "send-1", 1, at, 120
    )


async def test_an_unknown_channel_is_denied_not_checked_as_voice(database: Database) -> None:
    await PlanStore(database, "acme").put(PLAN)
    checker = PolicyChecker(Bookkeeper(database), PolicyGate(database))

    refused = await checker.check(_request("sms"))
    assert (refused.decision, refused.policy) == ("deny", "channel")
    assert refused.reason == "unknown channel 'sms' (known: email, voice)"
    assert await reservations(database) == 0  # nothing was counted as a call
    assert await counted(database, channel="voice") == 0

    # The same request on a known channel reaches the gate (voice needs consent).
    voice = await checker.check(_request("voice"))
    assert (voice.decision, voice.policy) == ("deny", "consent")
