"""Postmark email channel on its REST API (``POST /email``) over httpx.

Boundary: one ``EmailMessage`` in, one HTTP request out, a ``SendReceipt`` back whose
provider id is Postmark's ``MessageID``. Postmark has no idempotency-key header; its
de-duplication handle is the message itself, so the message's deterministic
``Message-ID`` travels as a custom header and a resend of the same visit carries the
same id to every receiving system. Every httpx failure and every error answer is
mapped here (``raise ... from exc``): a refusal of the request (401 token, 422
invalid message or inactive recipient, other 4xx) is ``ChannelRejected`` with
Postmark's own message; 429, 5xx, connection failures and timeouts are
``ChannelUnavailable``. Nothing is retried here.

A tracked message's signed send reference (the ``X-DEE-Ref`` header) also goes in the
message's ``Metadata``: Postmark echoes a message's metadata, not its headers, in its
delivery, bounce and complaint webhooks, which is how those events find their run.
Postmark limits metadata to 10 fields with names of at most 20 and values of at most
80 characters, and a reference is longer than 80, so it travels in ordered chunks
(``dee_ref_0``, ``dee_ref_1``, ...) that ``ref_from_metadata`` joins again.

Every message also carries its Message-ID in ``Metadata`` (``dee_message_id``, without
the angle brackets): Postmark's message search filters on one metadata field
(``GET /messages/outbound?metadata_dee_message_id=...``) but not on headers, so this
is how ``find_sent`` asks whether a send whose outcome was lost was accepted. That
field takes one of the ten, leaving nine for the reference.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from adapters.channels.base import (
    REF_HEADER,
    EmailMessage,
    SendLookup,
    SendReceipt,
    lookup_since,
)
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable
from adapters.channels.http_errors import http_failures, status_error
from adapters.channels.recipients import email_recipient

DEFAULT_BASE_URL = "https://api.postmarkapp.com"
_VENDOR = "postmark"
# The metadata keys the send reference is split over, and Postmark's limits on them.
REF_METADATA_PREFIX = "dee_ref_"
METADATA_MAX_FIELDS = 10
METADATA_MAX_VALUE = 80
# The metadata field naming the message, searched by ``find_sent``.
MESSAGE_ID_METADATA_KEY = "dee_message_id"
_REF_MAX_FIELDS = METADATA_MAX_FIELDS - 1
# Postmark's search reads ``fromdate`` as Eastern Time, not UTC.
_POSTMARK_TIME = ZoneInfo("America/New_York")
# Search pages: Postmark allows at most 500 per page and count + offset <= 10,000.
_SEARCH_PAGE = 100
_SEARCH_WINDOW = 10_000


def ref_metadata(ref: str) -> dict[str, str]:
    """``ref`` as Postmark metadata fields of at most 80 characters each.

    Raises:
        ChannelRejected: the reference would need more fields than Postmark allows.
    """
    chunks = [ref[i : i + METADATA_MAX_VALUE] for i in range(0, len(ref), METADATA_MAX_VALUE)]
    if len(chunks) > _REF_MAX_FIELDS:
        raise ChannelRejected(
            f"the send reference ({len(ref)} characters) does not fit Postmark's metadata "
            f"({_REF_MAX_FIELDS} fields of {METADATA_MAX_VALUE} characters beside the "
            "message id)",
            code="postmark_metadata_too_long",
        )
    return {f"{REF_METADATA_PREFIX}{n}": chunk for n, chunk in enumerate(chunks)}


def ref_from_metadata(metadata: object) -> str | None:
    """The send reference an event's ``Metadata`` carries (``None`` when it has none)."""
    if not isinstance(metadata, dict):
        return None
    parts: list[str] = []
    for n in range(METADATA_MAX_FIELDS):
        chunk = metadata.get(f"{REF_METADATA_PREFIX}{n}")
        if not isinstance(chunk, str) or not chunk:
            break
        parts.append(chunk)
    return "".join(parts) or None


def message_id_metadata(message_id: str) -> str:
    """The ``dee_message_id`` metadata value of a message: its msg-id without brackets.

    A msg-id longer than a metadata value allows (a very long domain) is named by its
    SHA-256 instead; either way the value is a function of the Message-ID alone, so a
    lookup computes it without the message.
    """
    bare = message_id.removeprefix("<").removesuffix(">")
    if len(bare) <= METADATA_MAX_VALUE:
        return bare
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


class PostmarkEmailChannel:
    """Sends email through Postmark's ``/email`` endpoint.

    Args:
        server_token: The Postmark server's API token (``X-Postmark-Server-Token``).
        message_stream: The transactional or broadcast stream to send on.
        base_url: The API root; tests point it at a local stand-in.
        timeout: Seconds allowed for connecting and for the answer.
        cost_per_email: The estimate reported on every receipt.
        transport: An httpx transport, for embedding; default is the network.
    """

    name = "postmark"

    def __init__(
        self,
        server_token: str,
        *,
        message_stream: str = "outbound",
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        cost_per_email: Decimal = Decimal("0"),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not server_token:
            raise ValueError("a Postmark server token is required")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._stream = message_stream
        self._base_url = base_url.rstrip("/")
        self._cost = cost_per_email
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers={
                "Accept": "application/json",
                "X-Postmark-Server-Token": server_token,
            },
            timeout=timeout,
            transport=transport,
            # A redirect from an API endpoint is not an answer we understand.
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        # The token stays out of logs and tracebacks.
        return f"PostmarkEmailChannel(base_url={self._base_url!r}, stream={self._stream!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def send(self, message: EmailMessage) -> SendReceipt:
        """Send ``message`` once.

        Raises:
            ChannelRejected: ``to`` is not exactly one mailbox (nothing is sent), or
                Postmark refused the request (bad token, invalid message, inactive
                recipient, any other 4xx but 429).
            ChannelUnavailable: No answer (connection failure, timeout), 429, or 5xx.
        """
        body = _body(message, self._stream)  # refuses a ``to`` that is not one mailbox
        answer = await self._request(
            "POST",
            "/email",
            "the email",
            "; the message may or may not have been accepted",
            json=body,
        )
        error_code = answer.get("ErrorCode")
        provider_id = answer.get("MessageID")
        if error_code != 0 or not isinstance(provider_id, str) or not provider_id:
            # 200 without a clean success body: whether Postmark queued the message is
            # unknown, which is exactly what "unavailable" tells the operator.
            raise ChannelUnavailable(
                f"Postmark answered 200 without a MessageID (ErrorCode {error_code!r}: "
                f"{answer.get('Message', '')})",
                code="postmark_bad_response",
            )
        return SendReceipt(
            provider=self.name,
            provider_message_id=provider_id,
            accepted=True,
            estimated_cost=self._cost,
        )

    async def _request(
        self, method: str, path: str, what: str, doubt: str = "", **kwargs: Any
    ) -> dict[str, Any]:
        """One call to Postmark, its errors mapped at the edge; the 200 answer's JSON.

        ``doubt`` is added to a timeout's message (a send may have been accepted).
        """
        with http_failures(_VENDOR, f"Postmark {self._base_url}", what, doubt):
            response = await self._client.request(method, path, **kwargs)
        answer = _json(response)
        if response.status_code != httpx.codes.OK:
            raise _error(response.status_code, answer, what)
        return answer

    async def find_sent(self, message_id: str, to: str, since: datetime) -> SendLookup:
        """Ask Postmark whether it accepted the message with ``message_id`` for ``to``.

        Searches the outbound messages of this stream (``GET /messages/outbound``)
        sent to ``to`` from ``since`` on, filtered by the ``dee_message_id`` metadata
        every send carries, and checks each answer's metadata and recipients itself:
        a filter the API ignored must not turn every message to ``to`` into a match.
        Messages older than the server's retention (45 days by default) are gone.

        Raises:
            ValueError: ``since`` is naive.
            ChannelRejected: Postmark refused the query (bad token, invalid filter).
            ChannelUnavailable: No answer, 429, 5xx, or an answer without a message list.
        """
        start = lookup_since(since)
        recipient = email_recipient(to)
        wanted = message_id_metadata(message_id)
        params: dict[str, str | int] = {
            "recipient": recipient,
            "fromdate": start.astimezone(_POSTMARK_TIME).strftime("%Y-%m-%dT%H:%M:%S"),
            "messagestream": self._stream,
            f"metadata_{MESSAGE_ID_METADATA_KEY}": wanted,
        }
        matches: list[dict[str, Any]] = []
        offset, total = 0, 1
        while offset < min(total, _SEARCH_WINDOW):
            count = min(_SEARCH_PAGE, _SEARCH_WINDOW - offset)
            page, total = await self._search({**params, "count": count, "offset": offset})
            matches += [m for m in page if _is_the_message(m, wanted, recipient)]
            if not page:
                break
            offset += len(page)
        if not matches and total > _SEARCH_WINDOW:
            return SendLookup(
                "cannot_ask",
                self.name,
                detail=f"{total} messages match the search and Postmark serves only the "
                f"first {_SEARCH_WINDOW}",
            )
        if not matches:
            return SendLookup(
                "not_found",
                self.name,
                detail=f"no message {message_id} to {recipient} on stream {self._stream} "
                f"since {start.isoformat()}",
            )
        # Newest first: the last is the earliest, the one the lost attempt created.
        first = matches[-1]
        more = f"; {len(matches)} messages carry this Message-ID" if len(matches) > 1 else ""
        return SendLookup(
            "found",
            self.name,
            str(first["MessageID"]),
            detail=f"status {first.get('Status', '?')}, received {first.get('ReceivedAt', '?')}"
            + more,
        )

    async def _search(self, params: dict[str, str | int]) -> tuple[list[dict[str, Any]], int]:
        answer = await self._request(
            "GET", "/messages/outbound", "the message search", params=params
        )
        messages, total = answer.get("Messages"), answer.get("TotalCount")
        if not isinstance(messages, list) or not isinstance(total, int):
            raise ChannelUnavailable(
                "Postmark answered the message search without Messages and TotalCount",
                code="postmark_bad_response",
            )
        return [m if isinstance(m, dict) else {} for m in messages], total


def _is_the_message(found: dict[str, Any], wanted: str, recipient: str) -> bool:
    if not isinstance(found.get("MessageID"), str) or not found["MessageID"]:
        return False
    metadata = found.get("Metadata")
    if not isinstance(metadata, dict) or metadata.get(MESSAGE_ID_METADATA_KEY) != wanted:
        return False
    recipients = found.get("Recipients")
    return isinstance(recipients, list) and any(
        isinstance(r, str) and r.lower() == recipient.lower() for r in recipients
    )


def _body(message: EmailMessage, stream: str) -> dict[str, Any]:
    headers = [{"Name": "Message-ID", "Value": message.message_id}]
    headers += [{"Name": name, "Value": value} for name, value in message.headers.items()]
    body: dict[str, Any] = {
        "From": message.sender,
        # One canonical mailbox: Postmark would send to every address of a list.
        "To": email_recipient(message.to),
        "Subject": message.subject,
        "TextBody": message.text,
        "Headers": headers,
        "MessageStream": stream,
    }
    if message.html is not None:
        body["HtmlBody"] = message.html
    if message.reply_to is not None:
        body["ReplyTo"] = message.reply_to
    metadata = {MESSAGE_ID_METADATA_KEY: message_id_metadata(message.message_id)}
    ref = message.headers.get(REF_HEADER)
    if ref:
        metadata.update(ref_metadata(ref))
    body["Metadata"] = metadata
    return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error(status: int, answer: dict[str, Any], what: str = "the email") -> ChannelError:
    error_code = answer.get("ErrorCode")
    detail = answer.get("Message") or "no message"
    text = f"Postmark refused {what}: HTTP {status}, ErrorCode {error_code}: {detail}"
    code = None
    if status == httpx.codes.UNAUTHORIZED:
        code = "postmark_unauthorized"
    elif error_code is not None:
        code = f"postmark_error_{error_code}"
    return status_error(_VENDOR, status, text, code)


__all__ = [
    "DEFAULT_BASE_URL",
    "MESSAGE_ID_METADATA_KEY",
    "PostmarkEmailChannel",
    "message_id_metadata",
    "ref_from_metadata",
    "ref_metadata",
]
