"""Attack on the path from the gate's allow to the call: a send activity whose attempts
a database outage held for an hour must not place the call on that old decision (it
may be past the calling window or a cap by then). Real send ledger, both backends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.contracts import SendResponse
from activities.ledgered import LedgeredSend
from adapters.channels import SendLookup
from adapters.storage import Database, LedgerRow, SendKey, SendLedger

pytestmark = pytest.mark.asyncio(loop_scope="session")
KEY = SendKey("run-1", "call", 0)


async def _send(database: Database, attempt: int, scheduled_ago: timedelta) -> list[str]:
    calls: list[str] = []

    async def call(message_key: str) -> SendResponse:
        calls.append(message_key)
        return SendResponse("delivered", 0, provider="twilio", provider_message_id="CA1")

    async def lookup(row: LedgerRow) -> SendLookup:
        raise AssertionError("nothing to look up: no earlier attempt")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=attempt, scheduled_time=datetime.now(UTC) - scheduled_ago
    )
    send = LedgeredSend(SendLedger(database)).send
    response = await env.run(
        send,
        KEY,
        channel="voice",
        provider="twilio",
        message_key="m-1",
        resend=False,
        persisted=0,
        call=call,
        lookup=lookup,
    )
    return [response.status, *(response.reason or "").split(":")[:1], *calls]


async def test_a_send_retried_for_an_hour_places_no_call(database: Database) -> None:
    result = await _send(database, attempt=40, scheduled_ago=timedelta(hours=1))

    assert result == ["failed", "stale_policy_decision"]
    row = await SendLedger(database).get(KEY)
    assert row is not None and row.outcome == "failed"


async def test_a_send_retried_within_minutes_still_calls(database: Database) -> None:
    assert await _send(database, attempt=2, scheduled_ago=timedelta(minutes=1)) == [
        "delivered",
        "",
        "m-1",
    ]
