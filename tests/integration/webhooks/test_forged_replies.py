"""Forged replies (issue 18, item 2): a reply is attributed to its send by the Message-ID it
names, and counts as the contact's reply only when it comes from the contact.

The attack: an outsider who can write to the reply address names a message of another
contact's run in ``In-Reply-To`` and ends that run as ``replied``. Message-IDs were an
unkeyed hash of ``(run, step, visit)``, computable by anyone who knows a run id, and
any reply naming one counted. Now the id is keyed with the webhook secret, and the
receiver records whether the reply's ``From`` is the address the message went to.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from adapters.channels import idempotency_key, message_id
from adapters.channels.base import keyed_message_key
from adapters.tracking.messages import SENT_MESSAGES, message_key
from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks.conftest import PASSWORD, SECRET, USER, Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, messages, tracked_plan

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def test_a_message_id_cannot_be_computed_without_the_webhook_secret() -> None:
    run = ("acme", "run-7", "intro", 0)
    key = keyed_message_key(SECRET.encode(), *run)
    # What an outsider who knows tenant, run, step and visit could compute before.
    assert key != idempotency_key("run-7", "intro", 0)
    assert key != keyed_message_key(b"another-secret", *run)
    assert key == keyed_message_key(SECRET.encode(), *run)  # stable: a retry reuses it
    others = {keyed_message_key(SECRET.encode(), *o) for o in
              [("acme", "run-7", "intro", 1), ("acme", "run-8", "intro", 0),
               ("other", "run-7", "intro", 0), ("acme", "run-7", "intro2", 0)]}  # fmt: skip
    assert key not in others and len(others) == 4
    assert message_id("run-7", "intro", 0, "x.example", key=SECRET.encode(), tenant="acme") == (
        f"<{key}@x.example>"
    )
    with pytest.raises(ValueError, match="empty"):
        keyed_message_key(b"", *run)


def _reply(original: str, sender: str, own_id: str, text: str) -> dict[str, object]:
    """A Postmark inbound reply naming ``original`` in In-Reply-To."""
    return {
        "From": sender,
        "Subject": "Re: Hi DEE",
        "StrippedTextReply": text,
        "Headers": [
            {"Name": "Message-ID", "Value": own_id},
            {"Name": "In-Reply-To", "Value": original},
        ],
    }


async def _replied(engine: Engine, run_id: str) -> list[tuple[str, object, str]]:
    """The run's replies: outcome, ``fromContact`` and the sender (opened: it is sealed)."""
    return [
        (e.outcome, e.detail["data"].get("fromContact"), data["from"])
        for e in await engine.get_timeline(run_id)
        if e.action == "event" and e.detail["type"] == "email.replied"
        for data in [(await engine.contacts.opened(run_id, e.detail))["data"]]
    ]


async def test_a_strangers_reply_to_a_genuine_message_does_not_end_the_run_as_replied(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    original = str(message["Message-ID"])
    key = message_key(original)
    # The id the message carries is the keyed one, not what anyone could compute.
    assert key == keyed_message_key(SECRET.encode(), "default", run.run_id, "intro", 1)
    guessed = f"<{idempotency_key(run.run_id, 'intro', 1)}@example.com>"
    forged = _reply(guessed, "mallory@evil.example", "<m-0@evil.example>", "Stop.")
    answer = await receiver.http.post("/webhooks/email/inbound", json=forged, headers=AUTH)
    assert answer.status_code == 404, answer.text  # the guessable id names nothing

    # The stranger saw the genuine message (forwarded, say) and replies to it.
    stranger = _reply(original, "Mallory <mallory@evil.example>", "<m-1@evil.example>", "Stop.")
    answer = await receiver.http.post("/webhooks/email/inbound", json=stranger, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["fromContact"] is False
    assert answer.json()["events"][0]["runs"] == [run.run_id]
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "silent")  # not "replied"
    assert await _replied(engine, run.run_id) == [
        ("ingested", False, "Mallory <mallory@evil.example>")
    ]


@pytest.mark.parametrize("indexed", ["with-digest", "before-digests"])
async def test_the_contacts_reply_ends_the_run_as_replied_after_a_strangers(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    receiver: Receiver,
    indexed: str,
) -> None:
    """``before-digests``: a message indexed before recipient digests existed; the
    receiver reads the contact's address from the run's start instead."""
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    original = str(message["Message-ID"])
    if indexed == "before-digests":
        async with engine.database.transaction() as conn:
            changed = await conn.execute(
                update(SENT_MESSAGES)
                .where(SENT_MESSAGES.c.run_id == run.run_id)
                .values(recipient_digest=None)
            )
            assert changed.rowcount == 1
    own_id = "<same-thread@lists.example>"  # a list relaying the contact's own reply
    relayed = _reply(original, "Ada via Sales <list@lists.example>", own_id, "Yes.")
    answer = await receiver.http.post("/webhooks/email/inbound", json=relayed, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["fromContact"] is False, answer.text
    # The contact's reply: another spelling of the address it went to, the same id.
    contact = _reply(original, '"Ada Lovelace" <ADA@Example.COM>', own_id, "Yes.")
    answer = await receiver.http.post("/webhooks/email/inbound", json=contact, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["fromContact"] is True, answer.text
    assert answer.json()["events"][0]["duplicate"] is False  # not shadowed by the relay
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "replied")
    assert await _replied(engine, run.run_id) == [
        ("ingested", False, "Ada via Sales <list@lists.example>"),
        ("ingested", True, '"Ada Lovelace" <ADA@Example.COM>'),
    ]
