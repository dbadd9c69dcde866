"""Twilio voice channel on the official ``twilio`` SDK (``calls.create``).

Boundary: one ``VoiceCall`` in, one ``POST .../Calls.json`` out, a ``SendReceipt``
back whose provider id is the call SID. The SDK talks through ``HttpxTwilioClient``,
an implementation of the SDK's own ``AsyncHttpClient`` hook (``Client(http_client=...)``):
it keeps one HTTP stack (httpx) across providers, never retries (the SDK's aiohttp
client can), and can send the SDK's requests to another origin, which is how tests
reach a local stand-in of the Twilio REST API without touching SDK internals.

What a call does: without machine detection the TwiML is inline (speak the script,
hang up). With ``detect_voicemail`` the call uses synchronous answering-machine
detection (``MachineDetection=DetectMessageEnd``): Twilio waits for a machine's
greeting to end, then fetches the call's ``Url`` with ``AnsweredBy``; that URL is
DEE's answer document (``callbacks.answer_url``), which speaks the script to a person
and the voicemail message after the beep. Status callbacks (initiated, ringing,
answered, completed) go to the send's status URL, which names run, step and visit:
Twilio has no idempotency key for creating calls, so the URL is how the receiver ties
every event to exactly one send.

Lookup (``find_call``): Twilio keeps neither an idempotency key nor the status URL on
the call resource, so a call in doubt is recognised by what the list endpoint filters
on (``GET .../Calls.json?To=..&From=..&StartTime>=..``): from DEE's caller id to the
contact, created at or after the attempt began. ``StartTime`` filters by day, and a
call not dialled yet has no start time, so the lookup lists the calls started since
that day plus those still ``queued``, then keeps those created since the instant.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http import AsyncHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from adapters.channels.base import SendLookup, SendReceipt, VoiceCall, lookup_since
from adapters.channels.callbacks import answer_url, script_twiml
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable
from adapters.channels.http_errors import http_failures, status_error
from adapters.channels.recipients import call_recipient

_log = logging.getLogger(__name__)
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
_VENDOR = "twilio"
# Calls list paging: records per page, and how many pages a lookup reads at most.
_LIST_PAGE = 100
_LIST_MAX_PAGES = 20


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """The SDK's async HTTP hook on httpx, optionally re-rooted at ``base_url``.

    Args:
        timeout: Seconds allowed for connecting and for the answer.
        base_url: When set, every request goes to this origin (same path and query)
            instead of ``*.twilio.com``.
        transport: An httpx transport, for embedding.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(logger=_log, is_async=True, timeout=timeout)
        self._origin = urlsplit(base_url) if base_url else None
        self._client = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=False
        )

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Perform one request for the SDK; httpx errors propagate to the channel."""
        answer = await self._client.request(
            method,
            self._rooted(uri),
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            follow_redirects=allow_redirects,
        )
        return Response(answer.status_code, answer.text, answer.headers)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _rooted(self, uri: str) -> str:
        if self._origin is None:
            return uri
        parts = urlsplit(uri)
        base_path = self._origin.path.rstrip("/")
        return urlunsplit(
            (self._origin.scheme, self._origin.netloc, base_path + parts.path, parts.query, "")
        )


class TwilioVoiceChannel:
    """Places calls through Twilio's Programmable Voice API.

    Args:
        account_sid: The account (``AC...``) the calls are billed to.
        auth_token: The account's auth token (HTTP basic auth password).
        base_url: The REST API origin; tests point it at a local stand-in.
        timeout: Seconds allowed for the create request.
        cost_per_minute: The estimate per started minute of the call's cap.
        transport: An httpx transport, for embedding.
    """

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        cost_per_minute: Decimal = Decimal("0"),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("a Twilio account SID and auth token are required")
        self._http = HttpxTwilioClient(timeout=timeout, base_url=base_url, transport=transport)
        # ``environment={}``: configuration is passed in, never read from TWILIO_* here.
        self._client = Client(account_sid, auth_token, http_client=self._http, environment={})
        self._sid = account_sid
        self._cost_per_minute = cost_per_minute

    def __repr__(self) -> str:
        return f"TwilioVoiceChannel(account_sid={self._sid!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def place_call(self, call: VoiceCall) -> SendReceipt:
        """Create the call once.

        Raises:
            ChannelRejected: ``to`` is no possible E.164 number (nothing is sent),
                Twilio refused the request (invalid number, unverified caller id, bad
                credentials, any 4xx but 429), or voicemail detection was asked for
                without a webhook URL to serve the answer document.
            ChannelUnavailable: No answer (connection failure, timeout), 429, or 5xx.
        """
        options: dict[str, object] = {"to": call_recipient(call.to), "from_": call.caller_id}
        options["time_limit"] = call.max_duration_seconds
        if call.status_callback_url is not None:
            options["status_callback"] = call.status_callback_url
            options["status_callback_event"] = list(STATUS_EVENTS)
            options["status_callback_method"] = "POST"
        if call.detect_voicemail:
            if call.status_callback_url is None:
                raise ChannelRejected(
                    "voicemail detection needs webhooks.public_url: Twilio fetches the "
                    "answer document from DEE once it knows who answered",
                    code="twilio_no_answer_url",
                )
            options["machine_detection"] = "DetectMessageEnd"
            options["url"] = answer_url(
                call.status_callback_url, call.script_text, call.voicemail_text
            )
        else:
            options["twiml"] = script_twiml(call.script_text)
        doubt = "; the call may or may not have been placed"
        try:
            with http_failures(_VENDOR, "Twilio", "the call", doubt):
                created = await self._client.calls.create_async(**options)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _error(exc) from exc
        except (TwilioException, ValueError) as exc:  # an answer the SDK could not read
            raise ChannelUnavailable(
                f"Twilio: unreadable answer: {exc}", code="twilio_bad_response"
            ) from exc
        minutes = math.ceil(call.max_duration_seconds / 60)
        return SendReceipt(
            provider=self.name,
            provider_message_id=str(created.sid),
            accepted=True,
            estimated_cost=self._cost_per_minute * minutes,
        )

    async def find_call(
        self, idempotency_key: str, to: str, caller_id: str, since: datetime
    ) -> SendLookup:
        """Ask Twilio for a call from ``caller_id`` to ``to`` created since ``since``.

        ``idempotency_key`` is not searchable on Twilio (see the module notes). Any
        such call counts as the one in doubt; with several, the earliest is named.

        Raises:
            ValueError: ``since`` is naive.
            ChannelRejected: Twilio refused the query (bad credentials, any 4xx but 429).
            ChannelUnavailable: No answer, 429, 5xx, or an unreadable answer.
        """
        # RFC 2822 times carry whole seconds: compare at that precision.
        start = lookup_since(since).replace(microsecond=0)
        to = call_recipient(to)
        calls: dict[str, Any] = {}
        complete = True
        for window in ({"start_time_after": start.date().isoformat()}, {"status": "queued"}):
            complete &= await self._list_calls(calls, to=to, from_=caller_id, **window)
        # Twilio lists newest first and its times have whole seconds: reversed list
        # order, stably sorted by creation, puts the earliest call first.
        mine = sorted(
            (c for c in reversed(calls.values()) if _placed(c, to, caller_id, start)),
            key=lambda c: c.date_created,
        )
        if not mine:
            if not complete:
                return SendLookup(
                    "cannot_ask",
                    self.name,
                    detail=f"more than {_LIST_PAGE * _LIST_MAX_PAGES} calls from {caller_id} "
                    f"to {to} since {start.date()}: too many to read",
                )
            return SendLookup(
                "not_found",
                self.name,
                detail=f"no call from {caller_id} to {to} since {start.isoformat()}",
            )
        first = mine[0]
        more = f"; {len(mine)} calls match" if len(mine) > 1 else ""
        return SendLookup(
            "found",
            self.name,
            str(first.sid),
            detail=f"status {first.status}, created {first.date_created.isoformat()}" + more,
        )

    async def _list_calls(self, into: dict[str, Any], **filters: str) -> bool:
        """Read every page of one filtered list into ``into``; ``False`` if cut short."""
        try:
            with http_failures(_VENDOR, "Twilio", "the calls list"):
                page = await self._client.calls.page_async(page_size=_LIST_PAGE, **filters)
                for _ in range(_LIST_MAX_PAGES):
                    into.update((call.sid, call) for call in page)
                    page = await page.next_page_async()
                    if page is None:
                        return True
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _error(exc, "the calls list") from exc
        except (TwilioException, ValueError) as exc:
            raise _page_error(exc) from exc
        return False


def _placed(call: Any, to: str, caller_id: str, start: datetime) -> bool:
    # The list was filtered by To and From already; checked again so that a filter
    # the API dropped cannot make someone else's call look like ours.
    created = call.date_created
    return (
        call.to == to
        and getattr(call, "_from", None) == caller_id
        and isinstance(created, datetime)
        and created >= start
    )


def _page_error(exc: TwilioException | ValueError) -> ChannelError:
    # A list page that is not 200 comes back from the SDK as a bare TwilioException
    # carrying the HTTP response, not as a TwilioRestException.
    response = next((a for a in exc.args if isinstance(a, Response)), None)
    if response is None:
        return ChannelUnavailable(f"Twilio: unreadable answer: {exc}", code="twilio_bad_response")
    status = int(response.status_code)
    text = f"Twilio refused the calls list: HTTP {status}: {response.text[:200]}"
    return status_error(_VENDOR, status, text)


def _error(
    exc: TwilioRestException | TwilioServiceException, what: str = "the call"
) -> ChannelError:
    status = int(exc.status)
    service = isinstance(exc, TwilioServiceException)
    detail = (exc.detail or exc.title) if service else exc.msg
    text = f"Twilio refused {what}: HTTP {status}, error {exc.code}: {detail}"
    return status_error(_VENDOR, status, text, f"twilio_error_{exc.code}")


__all__ = ["STATUS_EVENTS", "HttpxTwilioClient", "TwilioVoiceChannel"]
