"""The Postmark adapter against a local stand-in that checks requests like the real API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest

from adapters.channels import ChannelRejected, ChannelUnavailable, EmailMessage, message_id
from adapters.channels.postmark import PostmarkEmailChannel
from tests.integration.channels.standins import postmark_api
from tests.integration.channels.standins.postmark_api import PostmarkStandIn, running_postmark


@pytest.fixture(scope="module")
def _postmark() -> Iterator[PostmarkStandIn]:
    with running_postmark() as standin:
        yield standin


@pytest.fixture
def postmark(_postmark: PostmarkStandIn) -> PostmarkStandIn:
    _postmark.behaviour.reset()
    _postmark.sent.clear()
    return _postmark


@pytest.fixture
async def channel(postmark: PostmarkStandIn) -> AsyncIterator[PostmarkEmailChannel]:
    ch = PostmarkEmailChannel(
        postmark_api.TOKEN, base_url=postmark.url, timeout=2, cost_per_email=Decimal("0.0012")
    )
    yield ch
    await ch.aclose()


def _message(to: str = "ada@example.org", *, html: str | None = "<p>Hi</p>") -> EmailMessage:
    return EmailMessage(
        to=to,
        sender="Sales <sales@example.com>",
        subject="Introducing DEE",
        text="Hi Ada",
        html=html,
        reply_to="replies@example.com",
        message_id=message_id("run-1", "intro", 0, "example.com"),
        headers={"X-DEE-Run": "run-1"},
    )


async def test_sends_the_documented_request_and_returns_postmarks_id(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    receipt = await channel.send(_message())

    [request] = postmark.behaviour.requests
    assert request.headers["X-Postmark-Server-Token"] == postmark_api.TOKEN
    assert request.headers["Accept"] == "application/json"
    body = request.json()
    assert body == {
        "From": "Sales <sales@example.com>",
        "To": "ada@example.org",
        "Subject": "Introducing DEE",
        "TextBody": "Hi Ada",
        "HtmlBody": "<p>Hi</p>",
        "ReplyTo": "replies@example.com",
        "MessageStream": "outbound",
        "Headers": [
            {"Name": "Message-ID", "Value": message_id("run-1", "intro", 0, "example.com")},
            {"Name": "X-DEE-Run", "Value": "run-1"},
        ],
    }
    assert receipt.provider == "postmark"
    assert receipt.accepted
    assert receipt.estimated_cost == Decimal("0.0012")
    assert len(receipt.provider_message_id) == 36  # Postmark's MessageID (a UUID)


async def test_text_only_message_omits_html(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    await channel.send(_message(html=None))
    assert "HtmlBody" not in postmark.sent[0]


async def test_same_visit_carries_the_same_message_id_header(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    await channel.send(_message())
    await channel.send(_message())
    first, second = (s["Headers"][0] for s in postmark.sent)
    assert first == second


async def test_wrong_token_is_rejected_with_postmarks_message(postmark: PostmarkStandIn) -> None:
    ch = PostmarkEmailChannel("not-the-token", base_url=postmark.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.send(_message())
    finally:
        await ch.aclose()
    assert err.value.code == "postmark_unauthorized"
    assert "valid Server token" in err.value.message


async def test_inactive_recipient_is_a_permanent_rejection(
    channel: PostmarkEmailChannel,
) -> None:
    with pytest.raises(ChannelRejected) as err:
        await channel.send(_message(to=postmark_api.INACTIVE))
    assert err.value.code == "postmark_error_406"
    assert "inactive" in err.value.message


async def test_unverified_sender_is_rejected(postmark: PostmarkStandIn) -> None:
    ch = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url)
    msg = EmailMessage(
        to="ada@example.org",
        sender="someone@elsewhere.net",
        subject="s",
        text="t",
        html=None,
        reply_to=None,
        message_id="<a@b>",
    )
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.send(msg)
    finally:
        await ch.aclose()
    assert err.value.code == "postmark_error_400"


async def test_unknown_stream_is_rejected(postmark: PostmarkStandIn) -> None:
    ch = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url, message_stream="nope")
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.send(_message())
    finally:
        await ch.aclose()
    assert err.value.code == "postmark_error_1235"


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_unavailable(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn, status: int
) -> None:
    postmark.behaviour.outage = status
    with pytest.raises(ChannelUnavailable) as err:
        await channel.send(_message())
    assert err.value.code == f"postmark_http_{status}"
    assert len(postmark.behaviour.requests) == 1  # never retried


async def test_slow_api_is_a_timeout(postmark: PostmarkStandIn) -> None:
    postmark.behaviour.delay = 1.0
    ch = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url, timeout=0.2)
    try:
        with pytest.raises(ChannelUnavailable) as err:
            await ch.send(_message())
    finally:
        await ch.aclose()
    assert err.value.code == "postmark_timeout"


async def test_unreachable_api_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        ch = PostmarkEmailChannel(postmark_api.TOKEN, base_url=f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(ChannelUnavailable) as err:
                await ch.send(_message())
        finally:
            await ch.aclose()
    assert err.value.code == "postmark_connect_failed"


def test_token_stays_out_of_repr() -> None:
    ch = PostmarkEmailChannel("secret-token", base_url="http://127.0.0.1:9")
    assert "secret-token" not in repr(ch)


async def test_the_send_reference_rides_in_metadata(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    # Postmark's event webhooks echo Metadata, not headers: the reference must be there.
    message = _message()
    tracked = EmailMessage(
        **{**message.__dict__, "headers": {**message.headers, "X-DEE-Ref": "payload.mac"}}
    )
    await channel.send(tracked)
    assert postmark.sent[0]["Metadata"] == {"dee_ref_0": "payload.mac"}
    await channel.send(message)
    assert "Metadata" not in postmark.sent[1]  # untracked: no empty object either


def test_the_stand_in_refuses_metadata_that_is_not_a_flat_string_map(
    postmark: PostmarkStandIn,
) -> None:
    base = {"From": "s@example.com", "To": "a@example.org", "Subject": "x", "TextBody": "y"}
    headers = {"X-Postmark-Server-Token": postmark_api.TOKEN}
    for metadata in ({"ref": {"run": "r"}}, {"n": 1}, ["x"], {"K": "a", "k": "b"}):
        answer = httpx.post(
            f"{postmark.url}/email", json={**base, "Metadata": metadata}, headers=headers
        )
        assert answer.status_code == 422 and answer.json()["ErrorCode"] == 403, metadata
    ok = httpx.post(f"{postmark.url}/email", json={**base, "Metadata": {"k": "v"}}, headers=headers)
    assert ok.status_code == 200
