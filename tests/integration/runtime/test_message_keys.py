"""Message-IDs across the change to keyed ids: a send in doubt keeps the id it began with,
and an index row written before recipient digests gets one when its message is resent."""

from __future__ import annotations

import pytest

from activities.contracts import SendResponse
from activities.ledgered import LedgeredSend
from adapters.channels import SendLookup
from adapters.storage import Database, LedgerRow, SendKey, SendLedger
from adapters.tracking import MessageIndex, SentMessage

KEY = SendKey("run-1", "intro", 1)
OLD, NEW = "<oldunkeyed@example.com>", "<newkeyed@example.com>"


@pytest.mark.parametrize("earlier", ["failed", "unknown"])
async def test_a_send_begun_under_an_older_message_id_goes_out_under_it(
    database: Database, earlier: str
) -> None:
    """An operator's retry after the upgrade: the provider is asked about, and the
    message re-sent under, the id of the first attempt (recipients de-duplicate on it)."""
    ledger = SendLedger(database)
    assert await ledger.begin(KEY, channel="email", provider="smtp", message_key=OLD) is None
    await ledger.settle(KEY, earlier)  # type: ignore[arg-type]
    asked: list[str] = []
    sent: list[str] = []

    async def lookup(row: LedgerRow) -> SendLookup:
        asked.append(row.message_key)
        return SendLookup("not_found", "smtp", detail="no such message")

    async def call(message_key: str) -> SendResponse:
        sent.append(message_key)
        return SendResponse("delivered", 0, provider="smtp", provider_message_id=message_key)

    response = await LedgeredSend(ledger).send(
        KEY,
        channel="email",
        provider="smtp",
        message_key=NEW,
        resend=False,
        persisted=0,
        call=call,
        lookup=lookup,
    )
    assert response.status == "delivered"
    assert sent == [OLD]
    assert asked == ([OLD] if earlier == "unknown" else [])
    row = await ledger.get(KEY)
    assert row is not None and row.message_key == OLD


async def test_an_index_row_without_a_recipient_digest_gets_one_and_keeps_it(
    database: Database,
) -> None:
    index = MessageIndex(database)
    old = SentMessage("oldunkeyed", "acme", "run-1", "intro", 1, "c-1")  # before digests
    await index.record(old)
    found = await index.find([OLD])
    assert found == old and found.recipient_digest is None
    await index.record(SentMessage("oldunkeyed", "acme", "run-1", "intro", 1, "c-1", "d" * 64))
    await index.record(SentMessage("oldunkeyed", "acme", "run-1", "intro", 1, "c-1", "e" * 64))
    found = await index.find([OLD])
    assert found is not None and found.recipient_digest == "d" * 64  # set once, never moved
