"""The Postmark adapter against a local stand-in that checks requests like the real API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.channels import ChannelRejected, ChannelUnavailable, EmailMessage, message_id
from adapters.channels.postmark import (
    PostmarkEmailChannel,
    message_id_metadata,
    ref_from_metadata,
    ref_metadata,
)
from tests.integration.channels.standins import postmark_api
from tests.integration.channels.standins.postmark_api import PostmarkStandIn, running_postmark


@pytest.fixture(scope="module")
def _postmark() -> Iterator[PostmarkStandIn]:
    with running_postmark() as standin:
        yield standin


@pytest.fixture
def postmark(_postmark: PostmarkStandIn) -> PostmarkStandIn:
    _postmark.behaviour.reset()
    _postmark.clear()
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
        # The message's own id, so a lookup can find it (find_sent).
        "Metadata": {"dee_message_id": message_id("run-1", "intro", 0, "example.com")[1:-1]},
    }
    assert receipt.provider == "postmark"
    assert receipt.accepted
    assert receipt.estimated_cost == Decimal("0.0012")
    assert len(receipt.provider_message_id) == 36  # Postmark's MessageID (a UUID)


async def test_postmark_gets_exactly_one_canonical_mailbox(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    # Postmark's To takes a comma-separated list: a list would be sent to every address.
    for to in (
        "ada@example.org, victim@example.com",
        "ada@example.org; victim@example.com",
        "team: ada@example.org, victim@example.com;",
        "ada@example.org (victim@example.com)",
        "ada@example.org\r\nCc: victim@example.com",
    ):
        with pytest.raises(ChannelRejected) as err:
            await channel.send(_message(to=to))
        assert err.value.code == "invalid_address", to
    assert postmark.behaviour.requests == []
    await channel.send(_message(to='Ada <"Ada"@EXAMPLE.org.>'))
    assert postmark.sent[0]["To"] == "Ada@example.org"


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
    assert ref_from_metadata(postmark.sent[0]["Metadata"]) == "payload.mac"
    assert postmark.sent[0]["Metadata"]["dee_ref_0"] == "payload.mac"
    await channel.send(message)
    assert ref_from_metadata(postmark.sent[1]["Metadata"]) is None  # untracked


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


def test_a_reference_leaves_one_metadata_field_for_the_message_id() -> None:
    assert len(ref_metadata("r" * 9 * 80)) == 9
    with pytest.raises(ChannelRejected) as err:
        ref_metadata("r" * (9 * 80 + 1))
    assert err.value.code == "postmark_metadata_too_long"


def test_the_message_id_metadata_fits_postmarks_value_limit() -> None:
    short = message_id("run-1", "intro", 0, "example.com")
    assert message_id_metadata(short) == short[1:-1]
    long_id = f"<{'k' * 32}@{'d' * 60}.example.com>"
    value = message_id_metadata(long_id)
    assert len(value) <= 80 and value == message_id_metadata(long_id)
    assert value != message_id_metadata(long_id.replace("k", "j"))


# --- find_sent: asking Postmark whether a send in doubt was accepted ---------------

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


async def test_an_accepted_message_is_found_with_postmarks_id(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    before = datetime.now(UTC)
    receipt = await channel.send(_message())

    lookup = await channel.find_sent(_message().message_id, "ada@example.org", before)

    assert lookup.status == "found"
    assert lookup.provider == "postmark"
    assert lookup.provider_message_id == receipt.provider_message_id
    search = postmark.behaviour.requests[-1]
    assert search.method == "GET"
    assert urlsplit(search.path).path == "/messages/outbound"
    query = {k: v[0] for k, v in parse_qs(urlsplit(search.path).query).items()}
    assert query["recipient"] == "ada@example.org"
    assert query["metadata_dee_message_id"] == _message().message_id[1:-1]
    assert query["messagestream"] == "outbound"
    # Postmark reads fromdate as Eastern Time.
    assert query["fromdate"] == before.astimezone(postmark_api.EASTERN).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


async def test_a_message_never_sent_is_not_found(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    await channel.send(_message())  # another visit's message to the same person
    other = message_id("run-1", "intro", 1, "example.com")

    lookup = await channel.find_sent(other, "ada@example.org", SINCE)

    assert lookup.status == "not_found"
    assert lookup.provider_message_id is None


async def test_a_message_to_someone_else_or_before_the_window_is_not_found(
    channel: PostmarkEmailChannel,
) -> None:
    await channel.send(_message())
    msg_id = _message().message_id

    elsewhere = await channel.find_sent(msg_id, "grace@example.org", SINCE)
    later = await channel.find_sent(msg_id, "ada@example.org", datetime.now(UTC) + timedelta(1))

    assert (elsewhere.status, later.status) == ("not_found", "not_found")


async def test_the_lookup_searches_the_channels_own_stream(postmark: PostmarkStandIn) -> None:
    broadcast = PostmarkEmailChannel(
        postmark_api.TOKEN, base_url=postmark.url, message_stream="broadcast"
    )
    transactional = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url)
    try:
        await broadcast.send(_message())
        msg_id = _message().message_id
        assert (await broadcast.find_sent(msg_id, "ada@example.org", SINCE)).status == "found"
        assert (await transactional.find_sent(msg_id, "ada@example.org", SINCE)).status == (
            "not_found"
        )
    finally:
        await broadcast.aclose()
        await transactional.aclose()


async def test_a_display_name_in_to_searches_the_bare_address(
    channel: PostmarkEmailChannel,
) -> None:
    await channel.send(_message(to="Ada Lovelace <ada@example.org>"))
    lookup = await channel.find_sent(_message().message_id, "Ada Lovelace <ada@example.org>", SINCE)
    assert lookup.status == "found"


async def test_a_lost_receipt_is_found_and_nothing_is_sent_twice(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    # The worker died after Postmark accepted the message: the receipt is gone.
    attempt_began = datetime.now(UTC)
    await channel.send(_message())
    assert len(postmark.sent) == 1

    # The operator's retry asks first, on a fresh channel as a new worker would.
    retry = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url)
    try:
        lookup = await retry.find_sent(_message().message_id, "ada@example.org", attempt_began)
    finally:
        await retry.aclose()

    assert lookup.status == "found"
    assert lookup.provider_message_id == postmark.outbound[0]["MessageID"]
    assert len(postmark.sent) == 1  # asking is not sending


async def test_search_pages_are_followed(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    # More sends of one visit than a search page holds (say, resent by hand outside DEE).
    for _ in range(101):
        await channel.send(_message())

    lookup = await channel.find_sent(_message().message_id, "ada@example.org", SINCE)

    assert lookup.status == "found"
    assert lookup.provider_message_id == postmark.outbound[0]["MessageID"]  # the earliest
    assert "101 messages" in lookup.detail
    searches = [r for r in postmark.behaviour.requests if r.method == "GET"]
    pages = [{k: v[0] for k, v in parse_qs(urlsplit(r.path).query).items()} for r in searches]
    assert [(p["offset"], p["count"]) for p in pages] == [("0", "100"), ("100", "100")]


async def test_the_lookup_checks_what_the_search_answers(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn
) -> None:
    # A search that ignored the metadata filter would list every message to Ada.
    await channel.send(_message())
    postmark.outbound[0]["Metadata"] = {"dee_message_id": "someone-else@example.com"}
    lookup = await channel.find_sent(_message().message_id, "ada@example.org", SINCE)
    assert lookup.status == "not_found"


@pytest.mark.parametrize("status", [500, 503])
async def test_an_outage_during_the_lookup_is_unavailable(
    channel: PostmarkEmailChannel, postmark: PostmarkStandIn, status: int
) -> None:
    postmark.behaviour.outage = status
    with pytest.raises(ChannelUnavailable) as err:
        await channel.find_sent(_message().message_id, "ada@example.org", SINCE)
    assert err.value.code == f"postmark_http_{status}"


async def test_an_unreachable_api_during_the_lookup_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        ch = PostmarkEmailChannel(postmark_api.TOKEN, base_url=f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(ChannelUnavailable) as err:
                await ch.find_sent(_message().message_id, "ada@example.org", SINCE)
        finally:
            await ch.aclose()
    assert err.value.code == "postmark_connect_failed"


async def test_a_wrong_token_cannot_search(postmark: PostmarkStandIn) -> None:
    ch = PostmarkEmailChannel("not-the-token", base_url=postmark.url)
    try:
        with pytest.raises(ChannelRejected) as err:
            await ch.find_sent(_message().message_id, "ada@example.org", SINCE)
    finally:
        await ch.aclose()
    assert err.value.code == "postmark_unauthorized"
    assert "message search" in err.value.message


async def test_a_naive_since_is_refused(channel: PostmarkEmailChannel) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await channel.find_sent(_message().message_id, "ada@example.org", datetime(2026, 1, 1))  # noqa: DTZ001


def test_the_stand_in_search_requires_paging_and_known_filters(
    postmark: PostmarkStandIn,
) -> None:
    headers = {"X-Postmark-Server-Token": postmark_api.TOKEN, "Accept": "application/json"}
    url = f"{postmark.url}/messages/outbound"
    for params in (
        {},
        {"count": "501", "offset": "0"},
        {"count": "500", "offset": "9600"},
        {"count": "1", "offset": "0", "recipeint": "a@example.org"},
        {"count": "1", "offset": "0", "metadata_a": "1", "metadata_b": "2"},
    ):
        answer = httpx.get(url, params=params, headers=headers)
        assert answer.status_code == 422, params
    ok = httpx.get(url, params={"count": "1", "offset": "0"}, headers=headers)
    assert ok.status_code == 200 and ok.json() == {"TotalCount": 0, "Messages": []}


async def test_a_send_that_timed_out_but_was_accepted_is_found(
    postmark: PostmarkStandIn,
) -> None:
    # The answer never came back, but Postmark went on and accepted the message.
    attempt_began = datetime.now(UTC)
    postmark.behaviour.delay = 0.5
    slow = PostmarkEmailChannel(postmark_api.TOKEN, base_url=postmark.url, timeout=0.1)
    try:
        with pytest.raises(ChannelUnavailable) as err:
            await slow.send(_message())
        assert err.value.code == "postmark_timeout"
        postmark.behaviour.wait_idle()
        postmark.behaviour.delay = 0.0
        lookup = await slow.find_sent(_message().message_id, "ada@example.org", attempt_began)
    finally:
        await slow.aclose()
    assert lookup.status == "found"
    assert lookup.provider_message_id == postmark.outbound[0]["MessageID"]
    assert len(postmark.sent) == 1
