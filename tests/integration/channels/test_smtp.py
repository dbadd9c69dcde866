"""SmtpEmailChannel against a real SMTP server: what arrives, and how failures map."""

from __future__ import annotations

import asyncio
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser

import aiosmtplib
import pytest
from aiosmtpd.smtp import Envelope

from adapters.channels import (
    ChannelRejected,
    ChannelUnavailable,
    EmailMessage,
    SmtpEmailChannel,
    message_id,
)
from tests.integration.mailsink import HOST, SmtpServer

MSG_ID = message_id("run-1", "intro", 1, "dee.example.com")


def make_message(**changes: object) -> EmailMessage:
    fields: dict[str, object] = {
        "to": "Ada Lovelace <ada@example.com>",
        "sender": "DEE Sales <sales@dee.example.com>",
        "subject": "Quick question, Ada",
        "text": "Hi Ada,\n\nShall we talk?\n",
        "html": "<p>Hi Ada,</p><p>Shall we talk?</p>\n",
        "reply_to": "replies+run-1@dee.example.com",
        "message_id": MSG_ID,
        "headers": {"X-DEE-Run": "run-1", "List-Unsubscribe": "<mailto:unsub@dee.example.com>"},
    }
    fields.update(changes)
    return EmailMessage(**fields)  # type: ignore[arg-type]


def parse(envelope: Envelope) -> MimeMessage:
    """The message as the server stored it, with wire CRLFs read back as newlines."""
    assert isinstance(envelope.content, bytes)
    content = envelope.content.replace(b"\r\n", b"\n")
    parsed = BytesParser(policy=email.policy.default).parsebytes(content)
    assert isinstance(parsed, MimeMessage)
    return parsed


def channel_for(port: int, **options: object) -> SmtpEmailChannel:
    return SmtpEmailChannel(HOST, port, **options)  # type: ignore[arg-type]


async def test_delivers_one_message_with_every_field(smtp_server: SmtpServer) -> None:
    channel = channel_for(smtp_server.port, cost_per_email=Decimal("0.0004"))
    date = "Mon, 06 Jan 2025 09:30:00 +0000"

    receipt = await channel.send(make_message(headers={"X-DEE-Run": "run-1", "Date": date}))

    assert receipt.provider == "smtp"
    assert receipt.provider_message_id == MSG_ID
    assert receipt.accepted is True
    assert receipt.estimated_cost == Decimal("0.0004")
    [envelope] = smtp_server.received
    assert envelope.mail_from == "sales@dee.example.com"
    assert envelope.rcpt_tos == ["ada@example.com"]
    msg = parse(envelope)
    assert msg["From"] == "DEE Sales <sales@dee.example.com>"
    assert msg["To"] == "ada@example.com"  # the one canonical mailbox RCPT TO names
    assert msg["Subject"] == "Quick question, Ada"
    assert msg["Reply-To"] == "replies+run-1@dee.example.com"
    assert msg["Message-ID"] == MSG_ID
    assert msg["Date"] == date
    assert msg["X-DEE-Run"] == "run-1"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == "Hi Ada,\n\nShall we talk?\n"
    assert html.get_content() == "<p>Hi Ada,</p><p>Shall we talk?</p>\n"


async def test_text_only_message_is_single_part_and_gets_a_date(smtp_server: SmtpServer) -> None:
    await channel_for(smtp_server.port).send(make_message(html=None, reply_to=None, headers={}))

    [envelope] = smtp_server.received
    msg = parse(envelope)
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()
    assert "Reply-To" not in msg
    assert msg["Date"].datetime is not None
    assert msg.get_content() == "Hi Ada,\n\nShall we talk?\n"


async def test_non_ascii_subject_and_body_arrive_intact(smtp_server: SmtpServer) -> None:
    message = make_message(subject="Grüße, Zoë — 10 €", text="Hallo Zoë, schöne Grüße.\n")

    await channel_for(smtp_server.port).send(message)

    msg = parse(smtp_server.received[0])
    assert msg["Subject"] == "Grüße, Zoë — 10 €"
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content() == "Hallo Zoë, schöne Grüße.\n"


async def test_unknown_recipient_is_rejected_permanently(smtp_server: SmtpServer) -> None:
    with pytest.raises(ChannelRejected) as caught:
        await channel_for(smtp_server.port).send(make_message(to="nobody@example.com"))

    assert caught.value.code == "smtp_rejected_recipient"
    assert "550 No such user" in str(caught.value)
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPRecipientsRefused)
    assert smtp_server.received == []


async def test_deferred_recipient_is_unavailable_not_rejected(smtp_server: SmtpServer) -> None:
    with pytest.raises(ChannelUnavailable) as caught:
        await channel_for(smtp_server.port).send(make_message(to="busy@example.com"))

    assert caught.value.code == "smtp_deferred_recipient"
    assert "451" in str(caught.value)
    assert not isinstance(caught.value, ChannelRejected)
    assert smtp_server.received == []


async def test_refused_data_is_rejected_permanently(smtp_server: SmtpServer) -> None:
    with pytest.raises(ChannelRejected) as caught:
        await channel_for(smtp_server.port).send(make_message(to="spamtrap@example.com"))

    assert caught.value.code == "smtp_rejected_data"
    assert "554" in str(caught.value)


async def test_nothing_listening_is_connection_refused(closed_port: int) -> None:
    with pytest.raises(ChannelUnavailable) as caught:
        await channel_for(closed_port, timeout=5.0).send(make_message())

    assert caught.value.code == "connection_refused"
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPConnectError)


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (no 220 greeting)."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()

    server = await asyncio.start_server(hold, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in connections:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()


async def test_silent_server_times_out() -> None:
    async with silent_server() as port:
        with pytest.raises(ChannelUnavailable) as caught:
            await channel_for(port, timeout=0.2).send(make_message())

    assert caught.value.code == "smtp_timeout"


async def test_unusable_address_is_rejected_before_connecting(closed_port: int) -> None:
    # The closed port proves no connection was tried: that would be connection_refused.
    with pytest.raises(ChannelRejected) as caught:
        await channel_for(closed_port).send(make_message(to="not an address"))

    assert caught.value.code == "invalid_address"


async def test_an_address_list_is_rejected_before_connecting(closed_port: int) -> None:
    for to in ("ada@example.com, victim@example.com", "ada@example.com; victim@example.com"):
        with pytest.raises(ChannelRejected) as caught:
            await channel_for(closed_port).send(make_message(to=to))
        assert caught.value.code == "invalid_address"


async def test_rcpt_to_and_the_to_header_name_the_same_canonical_mailbox(
    smtp_server: SmtpServer,
) -> None:
    await channel_for(smtp_server.port).send(make_message(to='Ada <"Ada"@EXAMPLE.com.>'))
    [envelope] = smtp_server.received
    assert envelope.rcpt_tos == ["Ada@example.com"]
    assert parse(envelope)["To"] == "Ada@example.com"


async def test_header_injection_is_rejected_before_connecting(closed_port: int) -> None:
    message = make_message(subject="Hello\r\nBcc: victim@example.com")

    with pytest.raises(ChannelRejected) as caught:
        await channel_for(closed_port).send(message)

    assert caught.value.code == "invalid_message"


def test_repr_keeps_credentials_out() -> None:
    channel = SmtpEmailChannel("smtp.example.com", 587, username="u", password="hunter2")

    assert "hunter2" not in repr(channel)


@pytest.mark.parametrize("options", [{"timeout": 0}, {"cost_per_email": Decimal("-1")}])
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        channel_for(25, **options)


async def test_smtp_cannot_be_asked_whether_a_message_was_accepted(
    smtp_server: SmtpServer,
) -> None:
    channel = channel_for(smtp_server.port)
    await channel.send(make_message())

    lookup = await channel.find_sent(MSG_ID, "ada@example.com", datetime.now(UTC))

    assert lookup.status == "cannot_ask"
    assert lookup.provider == "smtp"
    assert lookup.provider_message_id is None
    assert MSG_ID in lookup.detail  # what the operator looks for in the relay's logs
    assert len(smtp_server.handler.received) == 1  # asking sent nothing
