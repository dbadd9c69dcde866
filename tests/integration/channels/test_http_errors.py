"""One vendor-error mapping: every HTTP provider fails the same way per status class.

Each adapter runs over httpx's in-memory transport answering one status (or failing
to answer), so the whole table is checked for Postmark, Twilio and Vonage alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from adapters.channels import ChannelError, ChannelRejected, ChannelUnavailable
from adapters.channels.postmark import PostmarkEmailChannel
from adapters.channels.twilio_voice import TwilioVoiceChannel
from adapters.channels.vonage import VonageVoiceChannel
from tests.integration.channels.standins import vonage_api
from tests.integration.channels.test_postmark import _message
from tests.integration.channels.test_twilio import _call
from tests.integration.channels.test_vonage import _call as _signed_call

Handler = Callable[[httpx.Request], httpx.Response]
# What each vendor says in a refusal's body, and the permanent code it maps to.
REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "postmark": ({"ErrorCode": 300, "Message": "Invalid email request"}, "postmark_error_300"),
    "twilio": ({"code": 21211, "message": "Invalid 'To'", "status": 400}, "twilio_error_21211"),
    "vonage": ({"title": "Bad Request", "detail": "Invalid number"}, "vonage_http_400"),
}


async def _failure(vendor: str, handler: Handler) -> ChannelError:
    """What the vendor's adapter raises when every request meets ``handler``."""
    transport = httpx.MockTransport(handler)
    base = "http://provider.invalid"
    channel: PostmarkEmailChannel | TwilioVoiceChannel | VonageVoiceChannel
    send: Awaitable[object]
    if vendor == "postmark":
        channel = PostmarkEmailChannel("token", base_url=base, transport=transport)
        send = channel.send(_message())
    elif vendor == "twilio":
        channel = TwilioVoiceChannel("AC" + "0" * 32, "token", base_url=base, transport=transport)
        send = channel.place_call(_call())
    else:
        key = vonage_api.PRIVATE_KEY_PEM
        channel = VonageVoiceChannel(
            vonage_api.APPLICATION_ID, key, base_url=base, transport=transport
        )
        send = channel.place_call(_signed_call())
    try:
        with pytest.raises(ChannelError) as caught:
            await send
    finally:
        await channel.aclose()
    return caught.value


VENDORS = pytest.mark.parametrize("vendor", sorted(REFUSALS))


@VENDORS
@pytest.mark.parametrize("status", [400, 422])
async def test_a_refusal_is_permanent_with_the_vendors_code(vendor: str, status: int) -> None:
    body, code = REFUSALS[vendor]
    if vendor == "vonage":
        code = f"vonage_http_{status}"
    err = await _failure(vendor, lambda _: httpx.Response(status, json={**body, "status": status}))
    assert type(err) is ChannelRejected
    assert err.code == code


@VENDORS
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_come_back_later_is_transient(vendor: str, status: int) -> None:
    body, _ = REFUSALS[vendor]
    err = await _failure(vendor, lambda _: httpx.Response(status, json={**body, "status": status}))
    assert type(err) is ChannelUnavailable
    assert err.code == f"{vendor}_http_{status}"


@VENDORS
@pytest.mark.parametrize(
    ("failure", "code"),
    [(httpx.ReadTimeout, "timeout"), (httpx.ConnectError, "connect_failed")],
)
async def test_no_answer_is_transient(vendor: str, failure: type[Exception], code: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure("no answer", request=request)  # type: ignore[call-arg]

    err = await _failure(vendor, fail)
    assert type(err) is ChannelUnavailable
    assert err.code == f"{vendor}_{code}"
    assert isinstance(err.__cause__, httpx.TransportError)  # the httpx error stays chained
