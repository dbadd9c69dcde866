"""The Twilio adapter (official SDK) against a local stand-in of the Twilio REST API.

The SDK reaches the stand-in through its own HTTP client hook (``http_client=``),
so what is tested is the SDK's real request: URL, basic auth, form fields.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.channels import ChannelRejected, ChannelUnavailable, VoiceCall
from adapters.channels.callbacks import (
    answer_twiml,
    parse_voice_path,
    voice_status_path,
    voice_status_url,
)
from adapters.channels.twilio_voice import TwilioVoiceChannel
from tests.integration.channels.standins import twilio_api
from tests.integration.channels.standins.twilio_api import TwilioStandIn, running_twilio
from tests.integration.channels.standins.twilio_callbacks import CallScript

STATUS_URL = voice_status_url("https://hooks.example.com", "twilio", "run:1", "call", 0)


@pytest.fixture(scope="module")
def _twilio() -> Iterator[TwilioStandIn]:
    with running_twilio() as standin:
        yield standin


@pytest.fixture
def twilio(_twilio: TwilioStandIn) -> TwilioStandIn:
    _twilio.behaviour.reset()
    _twilio.clear()
    # The adapter's requests are what is tested here; hooks.example.com is not ours to call.
    _twilio.script = CallScript(post_callbacks=False)
    return _twilio


@pytest.fixture
async def channel(twilio: TwilioStandIn) -> AsyncIterator[TwilioVoiceChannel]:
    ch = TwilioVoiceChannel(
        twilio_api.ACCOUNT_SID,
        twilio_api.AUTH_TOKEN,
        base_url=twilio.url,
        timeout=2,
        cost_per_minute=Decimal("0.014"),
    )
    yield ch
    await ch.aclose()


def _call(
    *, detect: bool = False, to: str = "+442071838750", caller: str = "+15551234567"
) -> VoiceCall:
    return VoiceCall(
        to=to,
        caller_id=caller,
        script_text="Hello Ada, this is DEE.",
        max_duration_seconds=150,
        detect_voicemail=detect,
        voicemail_text="Sorry we missed you." if detect else None,
        idempotency_key="k" * 32,
        status_callback_url=STATUS_URL,
    )


def _one(form: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in form.items()}


async def test_creates_the_call_with_inline_twiml(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    receipt = await channel.place_call(_call())

    [request] = twilio.behaviour.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.ACCOUNT_SID}/Calls.json"
    [form] = twilio.calls
    fields = _one(form)
    assert fields["To"] == "+442071838750"
    assert fields["From"] == "+15551234567"
    assert fields["TimeLimit"] == "150"
    assert "<Say>Hello Ada, this is DEE.</Say>" in fields["Twiml"]
    assert "MachineDetection" not in fields
    assert fields["StatusCallback"] == STATUS_URL
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert receipt.provider == "twilio"
    assert receipt.provider_message_id.startswith("CA")
    assert receipt.estimated_cost == Decimal("0.014") * 3  # 150 s is 3 started minutes


async def test_voicemail_detection_fetches_the_answer_document(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    await channel.place_call(_call(detect=True))

    fields = _one(twilio.calls[0])
    assert fields["MachineDetection"] == "DetectMessageEnd"
    assert "Twiml" not in fields
    url = urlsplit(fields["Url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == STATUS_URL + "/answer"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    # What Twilio gets back once it knows who answered:
    human = answer_twiml(query, "human")
    machine = answer_twiml(query, "machine_end_beep")
    assert "<Say>Hello Ada, this is DEE.</Say>" in human
    assert "Sorry we missed you." not in human
    assert "<Say>Sorry we missed you.</Say>" in machine
    assert "Hello Ada" not in machine
    assert "<Say>" not in answer_twiml(query, "fax")


def test_status_path_round_trips() -> None:
    path = voice_status_path("twilio", "run/with:odd chars", "call", 2)
    provider, run_id, step_id, visit = path.removeprefix("/webhooks/voice/").split("/")
    target = parse_voice_path(provider, run_id, step_id, visit)
    assert (target.provider, target.run_id, target.step_id, target.visit) == (
        "twilio",
        "run/with:odd chars",
        "call",
        2,
    )
    with pytest.raises(ValueError, match="visit"):
        parse_voice_path("twilio", "r", "s", "-1")


async def test_detection_without_webhook_url_is_refused(channel: TwilioVoiceChannel) -> None:
    call = _call(detect=True)
    call = VoiceCall(**{**call.__dict__, "status_callback_url": None})
    with pytest.raises(ChannelRejected) as err:
        await channel.place_call(call)
    assert err.value.code == "twilio_no_answer_url"


async def test_a_to_that_is_not_one_number_is_refused_before_any_request(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    # Twilio would answer 21211 to some of these; none may reach it (or dial a second
    # number): the adapter calls one canonical E.164 number or nothing.
    for to in ("+0123", "+44 20 7183 8750, +1 212 555 0100", "+44 20 7183 8750 ext 7", "07183"):
        with pytest.raises(ChannelRejected) as err:
            await channel.place_call(_call(to=to))
        assert err.value.code == "invalid_number", to
    assert twilio.calls == []


async def test_a_formatted_number_is_called_in_e164(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    await channel.place_call(_call(to="0044 (20) 7183-8750"))
    assert _one(twilio.calls[0])["To"] == "+442071838750"


async def test_unowned_caller_id_is_rejected(channel: TwilioVoiceChannel) -> None:
    with pytest.raises(ChannelRejected) as err:
        await channel.place_call(_call(caller="+15550000000"))
    assert err.value.code == "twilio_error_21210"


async def test_bad_credentials_are_rejected(twilio: TwilioStandIn) -> None:
    ch = TwilioVoiceChannel(twilio_api.ACCOUNT_SID, "wrong", base_url=twilio.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.place_call(_call())
    finally:
        await ch.aclose()
    assert err.value.code == "twilio_error_20003"


async def test_server_error_is_unavailable_and_not_retried(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    twilio.behaviour.outage = 503
    with pytest.raises(ChannelUnavailable) as err:
        await channel.place_call(_call())
    assert err.value.code == "twilio_http_503"
    assert len(twilio.behaviour.requests) == 1


async def test_slow_api_is_a_timeout(twilio: TwilioStandIn) -> None:
    twilio.behaviour.delay = 1.0
    ch = TwilioVoiceChannel(
        twilio_api.ACCOUNT_SID, twilio_api.AUTH_TOKEN, base_url=twilio.url, timeout=0.2
    )
    try:
        with pytest.raises(ChannelUnavailable) as err:
            await ch.place_call(_call())
    finally:
        await ch.aclose()
    assert err.value.code == "twilio_timeout"


# --- find_call: asking Twilio whether a call in doubt was placed --------------------

TO, CALLER = "+442071838750", "+15551234567"


async def test_a_queued_call_is_found_with_its_sid(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    began = datetime.now(UTC)
    receipt = await channel.place_call(_call())

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert (lookup.status, lookup.provider) == ("found", "twilio")
    assert lookup.provider_message_id == receipt.provider_message_id
    assert "queued" in lookup.detail
    lists = [urlsplit(r.path) for r in twilio.behaviour.requests if r.method == "GET"]
    assert {p.path for p in lists} == {f"/2010-04-01/Accounts/{twilio_api.ACCOUNT_SID}/Calls.json"}
    queries = [{k: v[0] for k, v in parse_qs(p.query).items()} for p in lists]
    # The SDK's start_time_after is Twilio's StartTime>=YYYY-MM-DD.
    assert {"To": TO, "From": CALLER, "StartTime>": began.date().isoformat()}.items() <= (
        queries[0].items()
    )
    assert {"To": TO, "From": CALLER, "Status": "queued"}.items() <= queries[1].items()


async def test_a_dialled_call_is_found_by_its_start_day(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    began = datetime.now(UTC)
    receipt = await channel.place_call(_call())
    twilio.dial(receipt.provider_message_id, "completed")

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert lookup.status == "found"
    assert lookup.provider_message_id == receipt.provider_message_id
    assert "completed" in lookup.detail


async def test_a_call_never_placed_is_not_found(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    began = datetime.now(UTC)
    await channel.place_call(_call(to="+442071838751"))  # someone else
    await channel.place_call(_call(caller="+15557654321"))  # from another caller id

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert lookup.status == "not_found"
    assert lookup.provider_message_id is None


async def test_a_call_created_before_the_attempt_is_not_the_one_in_doubt(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    receipt = await channel.place_call(_call())
    twilio.dial(receipt.provider_message_id)
    # Same day, same numbers, but an earlier send: a later attempt must not be hidden.
    lookup = await channel.find_call("k" * 32, TO, CALLER, datetime.now(UTC) + timedelta(1))
    assert lookup.status == "not_found"


async def test_a_lost_receipt_is_found_and_the_call_is_not_placed_twice(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    # The worker died after Twilio created the call: the SID never reached the audit log.
    attempt_began = datetime.now(UTC)
    await channel.place_call(_call())
    [record] = twilio.records
    twilio.dial(record.sid, "in-progress")

    retry = TwilioVoiceChannel(twilio_api.ACCOUNT_SID, twilio_api.AUTH_TOKEN, base_url=twilio.url)
    try:
        lookup = await retry.find_call("k" * 32, TO, CALLER, attempt_began)
    finally:
        await retry.aclose()

    assert (lookup.status, lookup.provider_message_id) == ("found", record.sid)
    assert len(twilio.calls) == 1  # asking placed nothing


async def test_list_pages_are_followed_and_the_earliest_call_is_named(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn
) -> None:
    began = datetime.now(UTC)
    for _ in range(101):  # more than one page of the lookup's 100
        await channel.place_call(_call())

    lookup = await channel.find_call("k" * 32, TO, CALLER, began)

    assert lookup.status == "found"
    assert lookup.provider_message_id == twilio.records[0].sid
    assert "101 calls match" in lookup.detail
    pages = [parse_qs(urlsplit(r.path).query) for r in twilio.behaviour.requests]
    statuses = [p.get("Page", ["0"])[0] for p in pages if p.get("Status") == ["queued"]]
    assert statuses == ["0", "1"]


@pytest.mark.parametrize("status", [500, 503])
async def test_an_outage_during_the_lookup_is_unavailable(
    channel: TwilioVoiceChannel, twilio: TwilioStandIn, status: int
) -> None:
    twilio.behaviour.outage = status
    with pytest.raises(ChannelUnavailable) as err:
        await channel.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
    assert err.value.code == f"twilio_http_{status}"


async def test_an_unreachable_api_during_the_lookup_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        ch = TwilioVoiceChannel(
            twilio_api.ACCOUNT_SID, twilio_api.AUTH_TOKEN, base_url=f"http://127.0.0.1:{port}"
        )
        try:
            with pytest.raises(ChannelUnavailable) as err:
                await ch.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
        finally:
            await ch.aclose()
    assert err.value.code == "twilio_connect_failed"


async def test_bad_credentials_cannot_list_calls(twilio: TwilioStandIn) -> None:
    ch = TwilioVoiceChannel(twilio_api.ACCOUNT_SID, "wrong", base_url=twilio.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.find_call("k" * 32, TO, CALLER, datetime.now(UTC))
    finally:
        await ch.aclose()
    assert err.value.code == "twilio_http_401"


def test_the_stand_in_list_takes_whole_days_and_known_filters(twilio: TwilioStandIn) -> None:
    url = f"{twilio.url}/2010-04-01/Accounts/{twilio_api.ACCOUNT_SID}/Calls.json"
    auth = (twilio_api.ACCOUNT_SID, twilio_api.AUTH_TOKEN)
    for params in (
        {"StartTime>": "2026-05-01T10:00:00Z"},
        {"Statuss": "queued"},
        {"PageSize": "1001"},
    ):
        assert httpx.get(url, params=params, auth=auth).status_code == 400, params
    ok = httpx.get(url, params={"StartTime>": "2026-05-01"}, auth=auth)
    assert ok.status_code == 200
    assert ok.json()["calls"] == [] and ok.json()["next_page_uri"] is None
