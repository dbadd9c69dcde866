"""Where voice providers call DEE back: the one place the webhook paths are spelled.

Both sides import this module: the voice adapters build the URLs they hand to the
provider (status callbacks, the Twilio answer document), and the webhook receiver
routes and parses the same paths. Keeping both directions here means a path cannot
drift between sender and receiver.

A status path names the run, step and visit in clear (percent-encoded), so the
receiver can attribute a provider's event to the send that caused it without any
lookup table; what the receiver trusts is a signature that covers the path: Twilio's
own, and for Vonage, which signs only the body, DEE's (below).

Twilio answer documents: Twilio's TwiML has no conditional, so "speak the script to
a person, leave the voicemail message on a machine" needs TwiML chosen *after*
answering-machine detection. With synchronous AMD (``MachineDetection=
DetectMessageEnd``) Twilio holds the call until detection ends (for a machine, after
the greeting's beep) and then requests the call's ``Url`` with ``AnsweredBy``
(``human``, ``machine_end_beep``, ...). That URL carries both texts as query
parameters, so ``answer_twiml`` is a pure function of the request and the receiver
keeps no state. The texts are what the call speaks anyway; Twilio sees them either way.

Vonage event URLs: Vonage signs the body of its callbacks (a JWT with the body's hash),
not the URL, so a genuine event posted to another run's path would verify. Every
Vonage event URL therefore carries DEE's own HMAC (the webhook signing key) over the
route's path (provider, run, step, visit) and what the URL says about the call, and
the receiver refuses an event whose URL's signature is not for the path it came to:
a captured callback cannot be moved to another run, step or visit, and the check needs
no memory, so it holds across receiver restarts and processes. What the URL says:
voicemail detection has no answer-document fetch on Vonage, so the receiver leaves the
voicemail message by transferring the live call to a new NCCO; the text rides in the
event URL, with a flag saying the call uses machine detection (so the receiver waits
for the verdict instead of reporting ``answered``), and the receiver never speaks a
text it did not sign (``signed_event_url`` / ``verified_event_params``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit

from twilio.twiml.voice_response import VoiceResponse  # type: ignore[import-untyped]

# Route templates for the receiver, in the {name} syntax most routers accept.
VOICE_STATUS_ROUTE = "/webhooks/voice/{provider}/{run_id}/{step_id}/{visit}"
VOICE_ANSWER_ROUTE = VOICE_STATUS_ROUTE + "/answer"
VOICE_PATH_PREFIX = "/webhooks/voice/"
# Query parameters of the answer document URL.
SCRIPT_PARAM = "script"
VOICEMAIL_PARAM = "voicemail"
VOICEMAIL_SIGNATURE_PARAM = "voicemail_sig"
MACHINE_DETECTION_PARAM = "amd"
EVENT_SIGNATURE_PARAM = "sig"
# v3 (``sig``) signs every Vonage event URL: the path, the detection flag and the text.
# v2 (``voicemail_sig``) signed only detection calls' URLs (the flag implied), also
# bound to the path; still accepted for calls placed before v3. v1 (text only) is not.
_EVENT_MAC_VERSION = b"dee-voice-event-v3"
_V2_MAC_VERSION = b"dee-voice-event-v2"
# Twilio's AnsweredBy values that mean a machine is listening after its greeting.
_MACHINE_AFTER_GREETING = frozenset(
    {"machine_end_beep", "machine_end_silence", "machine_end_other"}
)


@dataclass(frozen=True)
class VoiceCallbackTarget:
    """The send a voice callback belongs to."""

    provider: str
    run_id: str
    step_id: str
    visit: int


def voice_status_path(provider: str, run_id: str, step_id: str, visit: int) -> str:
    """The status-callback path of one send, e.g. ``/webhooks/voice/twilio/r1/call/0``.

    Raises:
        ValueError: ``visit`` is negative or ``provider`` is not a plain word.
    """
    if visit < 0:
        raise ValueError(f"visit must be >= 0, got {visit}")
    if not provider.isidentifier():
        raise ValueError(f"provider {provider!r} is not a plain name")
    return VOICE_STATUS_ROUTE.format(
        provider=provider,
        run_id=quote(run_id, safe=""),
        step_id=quote(step_id, safe=""),
        visit=visit,
    )


def voice_status_url(base_url: str, provider: str, run_id: str, step_id: str, visit: int) -> str:
    """``base_url`` (the public webhook base, e.g. ``https://hooks.example.com``) plus the path."""
    return base_url.rstrip("/") + voice_status_path(provider, run_id, step_id, visit)


def parse_voice_path(provider: str, run_id: str, step_id: str, visit: str) -> VoiceCallbackTarget:
    """Decode the route's path parameters (as the router captured them, still encoded).

    Raises:
        ValueError: ``visit`` is not a non-negative integer.
    """
    if not visit.isdigit():
        raise ValueError(f"visit {visit!r} is not a non-negative integer")
    return VoiceCallbackTarget(provider, unquote(run_id), unquote(step_id), int(visit))


def answer_url(status_url: str, script: str, voicemail: str | None) -> str:
    """The URL Twilio fetches after detection: the status URL + ``/answer`` + both texts."""
    params = {SCRIPT_PARAM: script}
    if voicemail is not None:
        params[VOICEMAIL_PARAM] = voicemail
    return f"{status_url}/answer?{urlencode(params)}"


def answer_twiml(query: Mapping[str, str], answered_by: str | None) -> str:
    """The TwiML for an answered call: the voicemail for a machine, else the script.

    ``query`` is the answer URL's query parameters, ``answered_by`` Twilio's
    ``AnsweredBy`` form field. An unknown machine state (``machine_start``, ``fax``)
    gets nothing said: a message cut into a greeting is worse than none.
    """
    response = VoiceResponse()
    if answered_by in _MACHINE_AFTER_GREETING:
        voicemail = query.get(VOICEMAIL_PARAM)
        if voicemail:
            response.say(voicemail)
    elif answered_by in {None, "", "human", "unknown"}:
        response.say(query.get(SCRIPT_PARAM, ""))
    response.hangup()
    return str(response)


def canonical_voice_path(path: str) -> str:
    """``path`` from ``/webhooks/voice/`` on: what the public URL and the receiver share.

    A public URL may carry a path prefix (``https://example.com/dee``) that a reverse
    proxy strips, or not, before the receiver sees the request; signing and checking
    only the route's own part makes both agree either way. Run and step are quoted
    without ``/``, so the last occurrence of the prefix is the route's.
    """
    at = path.rfind(VOICE_PATH_PREFIX)
    return path[at:] if at >= 0 else path


def _event_mac(
    key: bytes, path: str, machine_detection: bool, voicemail: str | None, *, v2: bool = False
) -> str:
    # The path, the flag and the text's presence are in the MAC: none can be changed.
    text = b"-" if voicemail is None else b"+" + voicemail.encode()
    route = canonical_voice_path(path).encode()
    parts = (
        (_V2_MAC_VERSION, route, text)
        if v2  # v2 URLs were detection calls' only: the flag was implied
        else (_EVENT_MAC_VERSION, route, b"1" if machine_detection else b"0", text)
    )
    digest = hmac.new(key, b"\x00".join(parts), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SignedEventParams:
    """What DEE signed into a Vonage event URL: machine detection, the voicemail text.

    ``bound``: the URL carries DEE's signature for the path it was requested at. An
    URL without any (a call placed before every event URL was signed) is not bound,
    and the receiver must tie its events to the send some other way.
    """

    machine_detection: bool = False
    voicemail: str | None = None
    bound: bool = True


def signed_event_url(
    status_url: str, key: bytes, *, machine_detection: bool = False, voicemail: str | None = None
) -> str:
    """``status_url`` signed for its path, marked as a machine-detection call or not,
    with the voicemail text if any.

    The HMAC covers the route's path (``canonical_voice_path``), the flag and the text.

    Raises:
        ValueError: ``key`` is empty, or a voicemail text without machine detection.
    """
    if not key:
        raise ValueError("the callback signing key is empty")
    if voicemail is not None and not machine_detection:
        raise ValueError("a voicemail text needs machine detection")
    params = {MACHINE_DETECTION_PARAM: "1"} if machine_detection else {}
    if voicemail is not None:
        params[VOICEMAIL_PARAM] = voicemail
    path = urlsplit(status_url).path
    params[EVENT_SIGNATURE_PARAM] = _event_mac(key, path, machine_detection, voicemail)
    return f"{status_url}?{urlencode(params)}"


def verified_event_params(path: str, query: Mapping[str, str], key: bytes) -> SignedEventParams:
    """What an event URL carries, checked against the path it was requested at.

    ``path`` is the request's path as sent (still percent-encoded), with or without
    the public URL's prefix. No DEE parameter at all: ``bound=False`` (see
    ``SignedEventParams``).

    Raises:
        ValueError: A parameter is there but the signature is missing, not ASCII, or
            not for this path and these parameters.
    """
    names = (MACHINE_DETECTION_PARAM, VOICEMAIL_PARAM, EVENT_SIGNATURE_PARAM)
    if not any(name in query for name in (*names, VOICEMAIL_SIGNATURE_PARAM)):
        return SignedEventParams(bound=False)
    flag, voicemail = query.get(MACHINE_DETECTION_PARAM), query.get(VOICEMAIL_PARAM)
    v2 = EVENT_SIGNATURE_PARAM not in query and VOICEMAIL_SIGNATURE_PARAM in query
    given = query.get(VOICEMAIL_SIGNATURE_PARAM if v2 else EVENT_SIGNATURE_PARAM, "")
    detection = flag == "1"
    expected = _event_mac(key, path, detection, voicemail, v2=v2)
    # Ours are ASCII; compare_digest raises TypeError on any other str.
    genuine = given.isascii() and hmac.compare_digest(given, expected)
    if not genuine or flag not in (("1",) if v2 else ("1", None)):
        raise ValueError("the event URL is not signed by DEE for this path and parameters")
    return SignedEventParams(machine_detection=detection, voicemail=voicemail)


def script_twiml(script: str) -> str:
    """Inline TwiML for a call without machine detection: speak the script, hang up."""
    response = VoiceResponse()
    response.say(script)
    response.hangup()
    return str(response)


__all__ = [
    "EVENT_SIGNATURE_PARAM",
    "MACHINE_DETECTION_PARAM",
    "SCRIPT_PARAM",
    "VOICEMAIL_PARAM",
    "VOICEMAIL_SIGNATURE_PARAM",
    "VOICE_ANSWER_ROUTE",
    "VOICE_PATH_PREFIX",
    "VOICE_STATUS_ROUTE",
    "SignedEventParams",
    "VoiceCallbackTarget",
    "answer_twiml",
    "answer_url",
    "canonical_voice_path",
    "parse_voice_path",
    "script_twiml",
    "signed_event_url",
    "verified_event_params",
    "voice_status_path",
    "voice_status_url",
]
