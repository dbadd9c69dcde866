"""Channel values, ports and errors: the provider-neutral surface activities depend on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import adapters.channels
from adapters.channels import (
    ChannelError,
    ChannelNotConfigured,
    ChannelRejected,
    EmailChannel,
    EmailMessage,
    SendLookup,
    SmtpEmailChannel,
    UnconfiguredVoiceChannel,
    VoiceCall,
    VoiceChannel,
    idempotency_key,
    message_id,
)
from adapters.channels.base import lookup_since

# RFC 5322 msg-id with dot-atom-text on both sides (no obsolete or quoted forms).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"<{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*>")


def test_public_api_is_pinned() -> None:
    assert sorted(adapters.channels.__all__) == [
        "ChannelError",
        "ChannelNotConfigured",
        "ChannelRejected",
        "ChannelUnavailable",
        "EmailChannel",
        "EmailMessage",
        "LookupStatus",
        "RESERVED_HEADERS",
        "SendLookup",
        "SendReceipt",
        "SmtpEmailChannel",
        "UnconfiguredVoiceChannel",
        "VoiceCall",
        "VoiceChannel",
        "idempotency_key",
        "message_id",
    ]


def test_message_id_is_deterministic_and_well_formed() -> None:
    first = message_id("run-42", "send_intro", 1, "mail.example.com")

    assert first == message_id("run-42", "send_intro", 1, "mail.example.com")
    assert MSG_ID.fullmatch(first)
    assert first == f"<{idempotency_key('run-42', 'send_intro', 1)}@mail.example.com>"
    assert re.fullmatch(r"[a-z2-7]{32}", idempotency_key("run-42", "send_intro", 1))


@pytest.mark.parametrize(
    "other",
    [
        ("run-42", "send_intro", 2, "mail.example.com"),
        ("run-42", "send_other", 1, "mail.example.com"),
        ("run-43", "send_intro", 1, "mail.example.com"),
        ("run-42", "send_intro", 1, "other.example.com"),
    ],
)
def test_message_id_differs_when_any_part_differs(other: tuple[str, str, int, str]) -> None:
    assert message_id(*other) != message_id("run-42", "send_intro", 1, "mail.example.com")


def test_key_encoding_is_unambiguous() -> None:
    # Naive concatenation would give both of these the same key.
    assert idempotency_key("a", "b:c", 1) != idempotency_key("a:b", "c", 1)
    assert idempotency_key("run", "step1", 1) != idempotency_key("run", "step", 11)


@pytest.mark.parametrize("domain", ["", "bad domain", "-x.example.com", "a@b", "x..y"])
def test_message_id_refuses_a_domain_that_is_not_a_host_name(domain: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        message_id("run", "step", 1, domain)


def test_negative_visit_is_refused() -> None:
    with pytest.raises(ValueError, match="visit"):
        idempotency_key("run", "step", -1)


def email(**changes: object) -> EmailMessage:
    fields: dict[str, object] = {
        "to": "ada@example.com",
        "sender": "sales@example.com",
        "subject": "Hi",
        "text": "Hello",
        "html": None,
        "reply_to": None,
        "message_id": message_id("run", "step", 1, "example.com"),
    }
    fields.update(changes)
    return EmailMessage(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Subject", "message-id", "REPLY-TO", "Content-Type", "From"])
def test_headers_cannot_override_the_message_fields(name: str) -> None:
    with pytest.raises(ValueError, match="set from the message"):
        email(headers={name: "x"})


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"X-Run": "a\r\nBcc: victim@example.com"}, "line break"),
        ({"X Run": "a"}, "invalid header name"),
        ({"X-Run:": "a"}, "invalid header name"),
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        email(headers=headers)


@pytest.mark.parametrize("bad_id", ["abc@example.com", "<abc>", "<a b@example.com>", ""])
def test_message_id_field_must_be_a_msg_id(bad_id: str) -> None:
    with pytest.raises(ValueError, match="msg-id"):
        email(message_id=bad_id)


def test_message_headers_are_a_read_only_copy() -> None:
    headers = {"X-Run": "run"}
    message = email(headers=headers)
    headers["X-Run"] = "changed"

    assert message.headers == {"X-Run": "run"}
    with pytest.raises(TypeError):
        message.headers["X-Run"] = "x"  # type: ignore[index]
    assert hash(message) == hash(email(headers={"X-Other": "y"}))


async def test_unconfigured_voice_channel_refuses_every_call() -> None:
    channel = UnconfiguredVoiceChannel()
    call = VoiceCall(
        to="+15551230000",
        caller_id="+15559870000",
        script_text="Hello",
        max_duration_seconds=60,
        detect_voicemail=True,
        voicemail_text=None,
        idempotency_key=idempotency_key("run", "call", 1),
        status_callback_url=None,
    )

    with pytest.raises(ChannelNotConfigured) as caught:
        await channel.place_call(call)

    assert caught.value.code == "no_voice_channel"
    assert str(caught.value) == "no voice channel configured"
    assert isinstance(caught.value, ChannelRejected)
    assert isinstance(caught.value, ChannelError)


def test_adapters_satisfy_the_ports() -> None:
    assert isinstance(UnconfiguredVoiceChannel(), VoiceChannel)
    assert isinstance(SmtpEmailChannel("localhost", 25), EmailChannel)
    assert not isinstance(SmtpEmailChannel("localhost", 25), VoiceChannel)


def test_errors_carry_code_and_message() -> None:
    error = ChannelRejected("address does not exist", code="smtp_rejected_recipient")

    assert error.code == "smtp_rejected_recipient"
    assert str(error) == "address does not exist"
    assert "smtp_rejected_recipient" in repr(error)


def test_receipt_cost_is_a_decimal() -> None:
    receipt = adapters.channels.SendReceipt("smtp", "<a@b>", True, Decimal("0.001"))

    assert receipt.estimated_cost + Decimal("0.002") == Decimal("0.003")


def test_a_found_lookup_names_the_providers_id_and_only_then() -> None:
    found = SendLookup("found", "postmark", "b7bc2f4a", "status Sent")
    assert (found.status, found.provider_message_id) == ("found", "b7bc2f4a")
    assert SendLookup("not_found", "twilio").provider_message_id is None
    with pytest.raises(ValueError, match="needs provider_message_id"):
        SendLookup("found", "postmark")
    with pytest.raises(ValueError, match="has no provider_message_id"):
        SendLookup("cannot_ask", "smtp", "<a@b>")


def test_a_lookup_window_starts_at_an_instant() -> None:
    paris = timezone(timedelta(hours=2))
    assert lookup_since(datetime(2026, 5, 1, 12, tzinfo=paris)) == datetime(
        2026, 5, 1, 10, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        lookup_since(datetime(2026, 5, 1, 12))  # noqa: DTZ001


async def test_the_unconfigured_voice_channel_cannot_be_asked() -> None:
    lookup = await UnconfiguredVoiceChannel().find_call(
        idempotency_key("run", "call", 1), "+15551230000", "+15559870000", datetime.now(UTC)
    )
    assert (lookup.status, lookup.provider, lookup.provider_message_id) == (
        "cannot_ask",
        "unconfigured",
        None,
    )
