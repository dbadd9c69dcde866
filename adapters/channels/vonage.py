"""Vonage voice channel on its Voice API (``POST /v1/calls``) over httpx.

The second voice provider, there to prove that plans do not depend on the first:
the same ``VoiceCall`` becomes a Vonage call with an inline NCCO. Vonage
authenticates applications with a short-lived JWT (RS256, signed with the
application's private key, claims ``application_id``, ``iat``, ``exp``, ``jti``),
minted per request with PyJWT.

What a call does: the NCCO speaks the script (``talk``); ``length_timer`` caps the
call at the step's ``maxDuration``; call events go to the send's status URL
(``event_url``), which names run, step and visit. With ``detect_voicemail`` the call
asks for advanced machine detection in beep mode, and the receiver learns
``human``/``machine`` and the beep from the events. Vonage gives no TwiML-like fetch
carrying the detection result, so the voicemail message is left by the receiver:
at the beep it transfers the live call to a new NCCO that speaks the message
(``play_voicemail``, ``PUT /v1/calls/{uuid}``). The text travels in the event URL
with a flag marking the call as a detection call. Every event URL is signed with the
call's ``callback_key`` for its path (``callbacks.signed_event_url``): Vonage signs only
the events' bodies, so that signature is what binds an event to its run, step and visit.

Lookup (``find_call``): Vonage keeps no client reference on a call and its list
endpoint (``GET /v1/calls``) filters by time and status but not by number, so the
lookup reads every call since the attempt began (``date_start``, oldest first,
``page_size``/``record_index`` pages) and keeps the outbound ones from DEE's number
to the contact.

Errors: 401/403 and other 4xx (but 429) are ``ChannelRejected`` with Vonage's
``title``/``detail``; 429, 5xx, connection failures and timeouts are
``ChannelUnavailable``. Nothing is retried here.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import jwt

from adapters.channels.base import SendLookup, SendReceipt, VoiceCall, lookup_since
from adapters.channels.callbacks import signed_event_url
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable
from adapters.channels.http_errors import http_failures, status_error
from adapters.channels.recipients import call_recipient

DEFAULT_BASE_URL = "https://api.nexmo.com"
_TOKEN_SECONDS = 300
_VENDOR = "vonage"
# Vonage's documented minimum wait for a voicemail beep.
_BEEP_TIMEOUT_SECONDS = 45
# A call uuid goes into a URL path: nothing but what Vonage's uuids are made of.
_CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Calls list paging: Vonage's largest page, and how many pages a lookup reads at most.
_LIST_PAGE = 100
_LIST_MAX_PAGES = 20


class VonageVoiceChannel:
    """Places calls through the Vonage Voice API.

    Args:
        application_id: The Vonage application the calls belong to.
        private_key: The application's RSA private key (PEM text).
        base_url: The API origin; tests point it at a local stand-in.
        timeout: Seconds allowed for the create request.
        cost_per_minute: The estimate per started minute of the call's cap.
        transport: An httpx transport, for embedding.

    Raises:
        ValueError: An id or key is missing, or the key is not a usable PEM key.
    """

    name = "vonage"

    def __init__(
        self,
        application_id: str,
        private_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        cost_per_minute: Decimal = Decimal("0"),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not application_id or not private_key:
            raise ValueError("a Vonage application id and private key are required")
        self._application_id = application_id
        self._key = private_key
        try:  # fail at start-up, not at the first call, on a key that cannot sign
            self._token()
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise ValueError(f"the Vonage private key cannot sign RS256 tokens: {exc}") from exc
        self._base_url = base_url.rstrip("/")
        self._cost_per_minute = cost_per_minute
        self._client = httpx.AsyncClient(
            base_url=self._base_url, timeout=timeout, transport=transport, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"VonageVoiceChannel(application_id={self._application_id!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` has run (the channel cannot be used after)."""
        return self._client.is_closed

    async def place_call(self, call: VoiceCall) -> SendReceipt:
        """Create the call once.

        Raises:
            ChannelRejected: ``to`` is no possible E.164 number (nothing is sent), or
                Vonage refused the request (bad credentials, invalid number or NCCO,
                any 4xx but 429).
            ChannelUnavailable: No answer (connection failure, timeout), 429, or 5xx.
        """
        response = await self._request("POST", "/v1/calls", _body(call))
        answer = _json(response)
        if response.status_code not in (httpx.codes.OK, httpx.codes.CREATED):
            raise _error(response.status_code, answer)
        call_uuid = answer.get("uuid")
        if not isinstance(call_uuid, str) or not call_uuid:
            raise ChannelUnavailable(
                f"Vonage answered {response.status_code} without a call uuid",
                code="vonage_bad_response",
            )
        minutes = math.ceil(call.max_duration_seconds / 60)
        return SendReceipt(
            provider=self.name,
            provider_message_id=call_uuid,
            accepted=True,
            estimated_cost=self._cost_per_minute * minutes,
        )

    async def find_call(
        self, idempotency_key: str, to: str, caller_id: str, since: datetime
    ) -> SendLookup:
        """Ask Vonage for an outbound call from ``caller_id`` to ``to`` since ``since``.

        ``idempotency_key`` is not searchable on Vonage (see the module notes). Any
        such call counts as the one in doubt; with several, the earliest is named.

        Raises:
            ValueError: ``since`` is naive.
            ChannelRejected: Vonage refused the query (bad credentials, any 4xx but 429).
            ChannelUnavailable: No answer, 429, 5xx, or an answer without a call list.
        """
        start = lookup_since(since).replace(microsecond=0)  # date_start has whole seconds
        want_to, want_from = _number(call_recipient(to)), _number(caller_id)
        params: dict[str, str | int] = {
            "date_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "page_size": _LIST_PAGE,
            "order": "asc",
        }
        matches: list[dict[str, Any]] = []
        index, count = 0, 1
        for _ in range(_LIST_MAX_PAGES):
            if index >= count:
                break
            calls, count = await self._list_calls({**params, "record_index": index})
            matches += [c for c in calls if _placed(c, want_to, want_from)]
            if not calls:
                break
            index += len(calls)
        else:
            if index < count and not matches:
                return SendLookup(
                    "cannot_ask",
                    self.name,
                    detail=f"{count} calls since {start.isoformat()}: too many to read",
                )
        if not matches:
            return SendLookup(
                "not_found",
                self.name,
                detail=f"no call from {caller_id} to {to} since {start.isoformat()}",
            )
        first = matches[0]  # oldest first: the one the lost attempt created
        more = f"; {len(matches)} calls match" if len(matches) > 1 else ""
        return SendLookup(
            "found", self.name, str(first["uuid"]), detail=f"status {first.get('status')}{more}"
        )

    async def _list_calls(self, params: dict[str, str | int]) -> tuple[list[dict[str, Any]], int]:
        response = await self._request("GET", "/v1/calls", params=params)
        answer = _json(response)
        if response.status_code != httpx.codes.OK:
            raise _error(response.status_code, answer, "the calls list")
        embedded = answer.get("_embedded")
        calls = embedded.get("calls") if isinstance(embedded, dict) else None
        count = answer.get("count")
        if not isinstance(calls, list) or not isinstance(count, int):
            raise ChannelUnavailable(
                "Vonage answered the calls list without _embedded.calls and count",
                code="vonage_bad_response",
            )
        return [c if isinstance(c, dict) else {} for c in calls], count

    async def play_voicemail(self, call_uuid: str, text: str) -> None:
        """Leave ``text`` on a live call: transfer it to an NCCO that speaks it.

        Raises:
            ChannelRejected: Vonage refused (unknown or ended call, bad NCCO, 4xx).
            ChannelUnavailable: No answer, 429, or 5xx.
        """
        if not _CALL_UUID.fullmatch(call_uuid):
            raise ChannelRejected(
                f"Vonage call uuid {call_uuid!r} is not valid", code="vonage_uuid"
            )
        body = {
            "action": "transfer",
            "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": text}]},
        }
        response = await self._request("PUT", f"/v1/calls/{call_uuid}", body)
        if response.status_code not in (httpx.codes.OK, httpx.codes.NO_CONTENT):
            raise _error(response.status_code, _json(response), "the voicemail transfer")

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str | int] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        doubt = "; the request may or may not have taken effect"
        with http_failures(_VENDOR, "Vonage", f"{method} {path}", doubt):
            return await self._client.request(
                method, path, json=body, params=params, headers=headers
            )

    def _token(self) -> str:
        # I/O-side code: the wall clock and a random jti are what Vonage requires.
        now = int(time.time())
        claims = {
            "application_id": self._application_id,
            "iat": now,
            "exp": now + _TOKEN_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256")


def _number(e164: str) -> str:
    # Vonage writes numbers in E.164 without the leading plus.
    return e164.removeprefix("+")


def _placed(call: dict[str, Any], to: str, caller_id: str) -> bool:
    def number(endpoint: object) -> object:
        return endpoint.get("number") if isinstance(endpoint, dict) else None

    return (
        isinstance(call.get("uuid"), str)
        and bool(call["uuid"])
        and call.get("direction") == "outbound"
        and number(call.get("to")) == to
        and number(call.get("from")) == caller_id
    )


def _body(call: VoiceCall) -> dict[str, Any]:
    body: dict[str, Any] = {
        # One canonical E.164 number (refused before any request when it is not one).
        "to": [{"type": "phone", "number": _number(call_recipient(call.to))}],
        "from": {"type": "phone", "number": _number(call.caller_id)},
        "ncco": [{"action": "talk", "text": call.script_text}],
        "length_timer": call.max_duration_seconds,
    }
    if call.status_callback_url is not None:
        body["event_url"] = [_event_url(call, call.status_callback_url)]
        body["event_method"] = "POST"
    if call.detect_voicemail:
        body["advanced_machine_detection"] = {
            "behavior": "continue",
            "mode": "detect_beep",
            "beep_timeout": _BEEP_TIMEOUT_SECONDS,
        }
    return body


def _event_url(call: VoiceCall, status_url: str) -> str:
    if not call.callback_key:
        # Vonage signs the events' bodies, not the URL: unsigned, the URL would not bind
        # them to this send, and the receiver refuses such events.
        raise ChannelRejected(
            "Vonage: the call's event URL needs a callback signing key",
            code="vonage_no_callback_key",
        )
    # A detection call is marked, so the receiver waits for the human/machine verdict.
    detect = call.detect_voicemail
    text = (call.voicemail_text or None) if detect else None
    return signed_event_url(status_url, call.callback_key, machine_detection=detect, voicemail=text)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error(status: int, answer: dict[str, Any], what: str = "the call") -> ChannelError:
    detail = answer.get("detail") or answer.get("title") or "no detail"
    text = f"Vonage refused {what}: HTTP {status}: {detail}"
    return status_error(_VENDOR, status, text)


__all__ = ["DEFAULT_BASE_URL", "VonageVoiceChannel"]
