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
with a flag marking the call as a detection call, both signed with the call's
``callback_key`` (``callbacks.signed_event_url``).

Errors: 401/403 and other 4xx (but 429) are ``ChannelRejected`` with Vonage's
``title``/``detail``; 429, 5xx, connection failures and timeouts are
``ChannelUnavailable``. Nothing is retried here.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import jwt

from adapters.channels.base import SendReceipt, VoiceCall
from adapters.channels.callbacks import signed_event_url
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable

DEFAULT_BASE_URL = "https://api.nexmo.com"
_TOKEN_SECONDS = 300
_TOO_MANY_REQUESTS = 429
# Vonage's documented minimum wait for a voicemail beep.
_BEEP_TIMEOUT_SECONDS = 45
# A call uuid goes into a URL path: nothing but what Vonage's uuids are made of.
_CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")


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
            ChannelRejected: Vonage refused the request (bad credentials, invalid
                number or NCCO, any 4xx but 429).
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

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        try:
            return await self._client.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ChannelUnavailable(
                f"Vonage: no answer in time ({type(exc).__name__}); "
                "the request may or may not have taken effect",
                code="vonage_timeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(
                f"Vonage: {type(exc).__name__}: {exc}", code="vonage_connect_failed"
            ) from exc

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


def _body(call: VoiceCall) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": [{"type": "phone", "number": _number(call.to)}],
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
    text = call.voicemail_text or None
    if not call.detect_voicemail:
        return status_url
    if not call.callback_key:
        if text is not None:  # an unsigned text would be a text anyone could make us say
            raise ChannelRejected(
                "Vonage: a voicemail message needs a callback signing key",
                code="vonage_no_callback_key",
            )
        # Unmarked, the receiver reports "answered" as for a call without detection.
        return status_url
    # Marked as a detection call, so the receiver waits for the human/machine verdict.
    return signed_event_url(status_url, call.callback_key, text)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error(status: int, answer: dict[str, Any], what: str = "the call") -> ChannelError:
    detail = answer.get("detail") or answer.get("title") or "no detail"
    text = f"Vonage refused {what}: HTTP {status}: {detail}"
    if status == _TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return ChannelUnavailable(text, code=f"vonage_http_{status}")
    return ChannelRejected(text, code=f"vonage_http_{status}")


__all__ = ["DEFAULT_BASE_URL", "VonageVoiceChannel"]
