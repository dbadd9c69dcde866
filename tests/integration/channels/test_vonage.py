"""The Vonage adapter against a local stand-in that verifies its JWT and request body."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.channels import ChannelRejected, ChannelUnavailable, VoiceCall
from adapters.channels.callbacks import (
    SignedEventParams,
    signed_event_url,
    verified_event_params,
)
from adapters.channels.vonage import VonageVoiceChannel
from tests.integration.channels.standins import vonage_api
from tests.integration.channels.standins.vonage_api import (
    CallRecord,
    VonageStandIn,
    running_vonage,
)
from tests.integration.channels.standins.vonage_events import EventScript

EVENT_URL = "https://hooks.example.com/webhooks/voice/vonage/r1/call/0"
KEY = b"webhook-signing-key"


@pytest.fixture(scope="module")
def _vonage() -> Iterator[VonageStandIn]:
    with running_vonage() as standin:
        yield standin


@pytest.fixture
def vonage(_vonage: VonageStandIn) -> VonageStandIn:
    _vonage.behaviour.reset()
    _vonage.clear()
    # The adapter's requests are what is tested here; hooks.example.com is not ours to call.
    _vonage.script = EventScript(post_events=False)
    return _vonage


@pytest.fixture
async def channel(vonage: VonageStandIn) -> AsyncIterator[VonageVoiceChannel]:
    ch = VonageVoiceChannel(
        vonage_api.APPLICATION_ID,
        vonage_api.PRIVATE_KEY_PEM,
        base_url=vonage.url,
        timeout=2,
        cost_per_minute=Decimal("0.0139"),
    )
    yield ch
    await ch.aclose()


def _call(
    *, detect: bool = False, caller: str = "+15551234567", key: bytes | None = KEY
) -> VoiceCall:
    return VoiceCall(
        to="+442071838750",
        caller_id=caller,
        script_text="Hello Ada, this is DEE.",
        max_duration_seconds=300,
        detect_voicemail=detect,
        voicemail_text="Sorry we missed you." if detect else None,
        idempotency_key="k" * 32,
        status_callback_url=EVENT_URL,
        callback_key=key,
    )


async def test_creates_the_call_with_an_ncco(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    receipt = await channel.place_call(_call())

    [body] = vonage.calls
    [event_url] = body.pop("event_url")
    assert body == {
        "to": [{"type": "phone", "number": "442071838750"}],
        "from": {"type": "phone", "number": "15551234567"},
        "ncco": [{"action": "talk", "text": "Hello Ada, this is DEE."}],
        "length_timer": 300,
        "event_method": "POST",
    }
    # Signed for its path even without detection: Vonage's signature does not cover it.
    url = urlsplit(event_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == EVENT_URL
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert list(query) == ["sig"]
    assert verified_event_params(url.path, query, KEY) == SignedEventParams(False, None)
    assert receipt.provider == "vonage"
    assert len(receipt.provider_message_id) == 36
    assert receipt.estimated_cost == Decimal("0.0139") * 5


async def test_the_number_called_is_one_canonical_e164_number(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    await channel.place_call(dataclasses.replace(_call(), to="+44 (0)20 7183 8750"))
    assert vonage.calls[0]["to"] == [{"type": "phone", "number": "442071838750"}]
    for to in ("+44 20 7183 8750; +1 212 555 0100", "+0123", "2071838750"):
        with pytest.raises(ChannelRejected) as err:
            await channel.place_call(dataclasses.replace(_call(), to=to))
        assert err.value.code == "invalid_number", to
    assert len(vonage.calls) == 1  # nothing more reached Vonage


async def test_voicemail_detection_asks_for_beep_detection(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    await channel.place_call(_call(detect=True))
    assert vonage.calls[0]["advanced_machine_detection"] == {
        "behavior": "continue",
        "mode": "detect_beep",
        "beep_timeout": 45,
    }
    # The voicemail text rides in the event URL with the detection flag, signed for that
    # path only.
    url = urlsplit(vonage.calls[0]["event_url"][0])
    assert f"{url.scheme}://{url.netloc}{url.path}" == EVENT_URL
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    expected = SignedEventParams(machine_detection=True, voicemail="Sorry we missed you.")
    assert verified_event_params(url.path, query, KEY) == expected
    for forged in (
        {**query, "voicemail": "Send money."},
        {k: v for k, v in query.items() if k != "voicemail"},  # the text dropped
        {**query, "sig": "\u00e9" * 22},  # not ASCII: refused, not a TypeError
    ):
        with pytest.raises(ValueError, match="not signed by DEE"):
            verified_event_params(url.path, forged, KEY)
    with pytest.raises(ValueError, match="not signed by DEE"):
        verified_event_params(url.path.replace("/r1/", "/r2/"), query, KEY)
    assert verified_event_params(url.path, {}, KEY) == SignedEventParams(bound=False)


@pytest.mark.parametrize(
    "moved",
    [
        "/webhooks/voice/vonage/r2/call/0",  # another run
        "/webhooks/voice/vonage/r1/other/0",  # another step
        "/webhooks/voice/vonage/r1/call/1",  # another visit
        "/webhooks/voice/twilio/r1/call/0",  # another provider
    ],
)
@pytest.mark.parametrize("detect", [False, True])
def test_an_event_url_verifies_at_its_own_path_only(moved: str, detect: bool) -> None:
    text = "Hi." if detect else None
    signed = signed_event_url(EVENT_URL, KEY, machine_detection=detect, voicemail=text)
    url = urlsplit(signed)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert verified_event_params(url.path, query, KEY) == SignedEventParams(detect, text)
    with pytest.raises(ValueError, match="not signed by DEE for this path"):
        verified_event_params(moved, query, KEY)
    for forged in (
        {**query, "amd": "1"} if not detect else {k: v for k, v in query.items() if k != "amd"},
        {**query, "amd": "yes"},
    ):
        with pytest.raises(ValueError, match="not signed by DEE"):
            verified_event_params(url.path, forged, KEY)
    with pytest.raises(ValueError, match="not signed by DEE"):
        verified_event_params(url.path, query, b"another-webhook-key")
    with pytest.raises(ValueError, match="needs machine detection"):
        signed_event_url(EVENT_URL, KEY, voicemail="Hi.")


def test_a_v2_event_url_of_a_call_placed_before_v3_still_verifies_at_its_path() -> None:
    """v2 signed detection calls' URLs only (the flag implied), bound to the path too."""
    path = urlsplit(EVENT_URL).path
    message = b"\x00".join((b"dee-voice-event-v2", path.encode(), b"+Hi."))
    mac = hmac.new(KEY, message, hashlib.sha256).digest()[:16]
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    query = {"amd": "1", "voicemail": "Hi.", "voicemail_sig": sig}
    assert verified_event_params(path, query, KEY) == SignedEventParams(True, "Hi.")
    with pytest.raises(ValueError, match="not signed by DEE"):
        verified_event_params(path.replace("/r1/", "/r2/"), query, KEY)


async def test_detection_without_a_message_still_marks_the_event_url(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    await channel.place_call(dataclasses.replace(_call(detect=True), voicemail_text=None))
    url = urlsplit(vonage.calls[0]["event_url"][0])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert "voicemail" not in query
    assert verified_event_params(url.path, query, KEY) == SignedEventParams(True, None)


def test_the_signature_ignores_a_public_path_prefix() -> None:
    """A proxy may strip the public URL's prefix, or pass it on: both verify."""
    signed = signed_event_url(
        "https://example.com/dee/webhooks/voice/vonage/r1/call/0",
        KEY,
        machine_detection=True,
        voicemail="Hi.",
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(signed).query).items()}
    for seen in ("/dee/webhooks/voice/vonage/r1/call/0", "/webhooks/voice/vonage/r1/call/0"):
        assert verified_event_params(seen, query, KEY).voicemail == "Hi."


@pytest.mark.parametrize("detect", [False, True])
async def test_a_call_without_a_signing_key_is_refused(
    channel: VonageVoiceChannel, vonage: VonageStandIn, detect: bool
) -> None:
    """Its event URL could not be bound to the send: nothing is placed."""
    with pytest.raises(ChannelRejected) as err:
        await channel.place_call(_call(detect=detect, key=None))
    assert err.value.code == "vonage_no_callback_key"
    assert vonage.calls == []


async def test_play_voicemail_transfers_the_live_call(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    receipt = await channel.place_call(_call(detect=True))
    await channel.play_voicemail(receipt.provider_message_id, "Sorry we missed you.")
    ncco = [{"action": "talk", "text": "Sorry we missed you."}]
    assert vonage.transfers == [
        (
            receipt.provider_message_id,
            {"action": "transfer", "destination": {"type": "ncco", "ncco": ncco}},
        )
    ]
    with pytest.raises(ChannelRejected) as err:  # an ended or unknown call
        await channel.play_voicemail("00000000-0000-4000-8000-000000000000", "x")
    assert err.value.code == "vonage_http_404"
    with pytest.raises(ChannelRejected, match="not valid"):
        await channel.play_voicemail("../v1/calls", "x")


async def test_a_token_signed_with_another_key_is_rejected(vonage: VonageStandIn) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ch = VonageVoiceChannel(vonage_api.APPLICATION_ID, pem, base_url=vonage.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.place_call(_call())
    finally:
        await ch.aclose()
    assert err.value.code == "vonage_http_401"
    assert "Invalid token" in err.value.message


async def test_unlinked_number_is_rejected_with_the_detail(channel: VonageVoiceChannel) -> None:
    with pytest.raises(ChannelRejected) as err:
        await channel.place_call(_call(caller="+15550000000"))
    assert err.value.code == "vonage_http_400"
    assert "from must be a number linked" in err.value.message


async def test_server_error_is_unavailable(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    vonage.behaviour.outage = 500
    with pytest.raises(ChannelUnavailable) as err:
        await channel.place_call(_call())
    assert err.value.code == "vonage_http_500"
    assert len(vonage.behaviour.requests) == 1


def test_a_key_that_cannot_sign_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        VonageVoiceChannel(vonage_api.APPLICATION_ID, "not a key")


# --- find_call: asking Vonage whether a call in doubt was placed --------------------

TO, CALLER = "+442071838750", "+15551234567"


async def test_a_placed_call_is_found_with_its_uuid(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    began = datetime.now(UTC)
    receipt = await channel.place_call(_call())

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert (lookup.status, lookup.provider) == ("found", "vonage")
    assert lookup.provider_message_id == receipt.provider_message_id
    [listing] = [r for r in vonage.behaviour.requests if r.method == "GET"]
    target = urlsplit(listing.path)
    assert target.path == "/v1/calls"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query == {
        "date_start": began.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "page_size": "100",
        "record_index": "0",
        "order": "asc",
    }
    assert listing.headers["Authorization"].startswith("Bearer ")


async def test_a_call_never_placed_is_not_found(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    began = datetime.now(UTC)
    await channel.place_call(_call(caller="+15557654321"))  # another caller id
    other = dataclasses.replace(_call(), to="+442071838751")  # someone else
    await channel.place_call(other)

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert lookup.status == "not_found"
    assert lookup.provider_message_id is None


async def test_a_call_before_the_window_is_not_the_one_in_doubt(
    channel: VonageVoiceChannel,
) -> None:
    await channel.place_call(_call())
    lookup = await channel.find_call("k" * 32, TO, CALLER, datetime.now(UTC) + timedelta(1))
    assert lookup.status == "not_found"


async def test_a_lost_receipt_is_found_and_the_call_is_not_placed_twice(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    # The worker died after Vonage created the call: the uuid never reached the audit log.
    attempt_began = datetime.now(UTC)
    await channel.place_call(_call())

    retry = VonageVoiceChannel(
        vonage_api.APPLICATION_ID, vonage_api.PRIVATE_KEY_PEM, base_url=vonage.url
    )
    try:
        lookup = await retry.find_call("k" * 32, TO, CALLER, attempt_began)
    finally:
        await retry.aclose()

    [record] = vonage.records
    assert (lookup.status, lookup.provider_message_id) == ("found", record.uuid)
    assert len(vonage.calls) == 1  # asking placed nothing


async def test_list_pages_are_followed_and_the_earliest_call_is_named(
    channel: VonageVoiceChannel, vonage: VonageStandIn
) -> None:
    began = datetime.now(UTC)
    # Other contacts' calls fill the first page: put straight into the stand-in's list
    # (placing them through the adapter tested nothing more and took seconds).
    for _ in range(100):
        other = CallRecord(
            str(uuid.uuid4()), f"CON-{uuid.uuid4()}", "+442071838751", CALLER, datetime.now(UTC)
        )
        vonage.records.append(other)
    await channel.place_call(_call())
    await channel.place_call(_call())

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert lookup.status == "found"
    assert lookup.provider_message_id == vonage.records[100].uuid
    assert "2 calls match" in lookup.detail
    listings = [parse_qs(urlsplit(r.path).query) for r in vonage.behaviour.requests]
    assert [q["record_index"] for q in listings if "record_index" in q] == [["0"], ["100"]]


@pytest.mark.parametrize("status", [500, 503])
async def test_an_outage_during_the_lookup_is_unavailable(
    channel: VonageVoiceChannel, vonage: VonageStandIn, status: int
) -> None:
    vonage.behaviour.outage = status
    with pytest.raises(ChannelUnavailable) as err:
        await channel.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
    assert err.value.code == f"vonage_http_{status}"


async def test_an_unreachable_api_during_the_lookup_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        ch = VonageVoiceChannel(
            vonage_api.APPLICATION_ID,
            vonage_api.PRIVATE_KEY_PEM,
            base_url=f"http://127.0.0.1:{port}",
        )
        try:
            with pytest.raises(ChannelUnavailable) as err:
                await ch.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
        finally:
            await ch.aclose()
    assert err.value.code == "vonage_connect_failed"


async def test_a_key_of_another_application_cannot_list_calls(vonage: VonageStandIn) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ch = VonageVoiceChannel(vonage_api.APPLICATION_ID, pem, base_url=vonage.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
    finally:
        await ch.aclose()
    assert err.value.code == "vonage_http_401"
    assert "calls list" in err.value.message


def test_the_stand_in_list_checks_its_parameters(vonage: VonageStandIn) -> None:
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode(
        {"application_id": vonage_api.APPLICATION_ID, "iat": now, "jti": "j1"},
        vonage_api.PRIVATE_KEY_PEM,
        algorithm="RS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{vonage.url}/v1/calls"
    for params in (
        {"page_size": "101"},
        {"date_start": "2026-05-01 10:00:00"},
        {"order": "newest"},
        {"to": "442071838750"},
    ):
        assert httpx.get(url, params=params, headers=headers).status_code == 400, params
    ok = httpx.get(url, params={"date_start": "2026-05-01T10:00:00Z"}, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["count"] == 0 and ok.json()["_embedded"] == {"calls": []}
