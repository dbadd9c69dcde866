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
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from adapters.channels.base import EmailMessage, SendReceipt
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable

DEFAULT_BASE_URL = "https://api.postmarkapp.com"
_TOO_MANY_REQUESTS = 429


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


__all__ = ["DEFAULT_BASE_URL", "PostmarkEmailChannel"]
