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
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from adapters.channels.base import REF_HEADER, EmailMessage, SendReceipt
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable

DEFAULT_BASE_URL = "https://api.postmarkapp.com"
_TOO_MANY_REQUESTS = 429
# The metadata keys the send reference is split over, and Postmark's limits on them.
REF_METADATA_PREFIX = "dee_ref_"
METADATA_MAX_FIELDS = 10
METADATA_MAX_VALUE = 80


def ref_metadata(ref: str) -> dict[str, str]:
    """``ref`` as Postmark metadata fields of at most 80 characters each.

    Raises:
        ChannelRejected: the reference would need more fields than Postmark allows.
    """
    chunks = [ref[i : i + METADATA_MAX_VALUE] for i in range(0, len(ref), METADATA_MAX_VALUE)]
    if len(chunks) > METADATA_MAX_FIELDS:
        raise ChannelRejected(
            f"the send reference ({len(ref)} characters) does not fit Postmark's metadata "
            f"({METADATA_MAX_FIELDS} fields of {METADATA_MAX_VALUE} characters)",
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
            ChannelRejected: Postmark refused the request (bad token, invalid message,
                inactive recipient, any other 4xx but 429).
            ChannelUnavailable: No answer (connection failure, timeout), 429, or 5xx.
        """
        try:
            response = await self._client.post("/email", json=_body(message, self._stream))
        except httpx.TimeoutException as exc:
            raise ChannelUnavailable(
                f"Postmark {self._base_url}: no answer in time ({type(exc).__name__}); "
                "the message may or may not have been accepted",
                code="postmark_timeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(
                f"Postmark {self._base_url}: {type(exc).__name__}: {exc}",
                code="postmark_connect_failed",
            ) from exc
        answer = _json(response)
        if response.status_code != httpx.codes.OK:
            raise _error(response.status_code, answer)
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


def _body(message: EmailMessage, stream: str) -> dict[str, Any]:
    headers = [{"Name": "Message-ID", "Value": message.message_id}]
    headers += [{"Name": name, "Value": value} for name, value in message.headers.items()]
    body: dict[str, Any] = {
        "From": message.sender,
        "To": message.to,
        "Subject": message.subject,
        "TextBody": message.text,
        "Headers": headers,
        "MessageStream": stream,
    }
    if message.html is not None:
        body["HtmlBody"] = message.html
    if message.reply_to is not None:
        body["ReplyTo"] = message.reply_to
    ref = message.headers.get(REF_HEADER)
    if ref:
        body["Metadata"] = ref_metadata(ref)
    return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error(status: int, answer: dict[str, Any]) -> ChannelError:
    error_code = answer.get("ErrorCode")
    detail = answer.get("Message") or "no message"
    text = f"Postmark refused the email: HTTP {status}, ErrorCode {error_code}: {detail}"
    if status == _TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return ChannelUnavailable(text, code=f"postmark_http_{status}")
    if status == httpx.codes.UNAUTHORIZED:
        return ChannelRejected(text, code="postmark_unauthorized")
    if error_code is not None:
        return ChannelRejected(text, code=f"postmark_error_{error_code}")
    return ChannelRejected(text, code=f"postmark_http_{status}")


__all__ = ["DEFAULT_BASE_URL", "PostmarkEmailChannel", "ref_from_metadata", "ref_metadata"]
