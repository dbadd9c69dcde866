"""Authenticating inbound requests: every route checks one of these before it parses.

* basic auth for the email provider's inbound and event webhooks (providers put the
  credentials in the URL they call; both are compared in constant time);
* Twilio's ``X-Twilio-Signature`` through the SDK's ``RequestValidator``;
* Vonage's signed callbacks: an HS256 JWT whose ``payload_hash`` is the body's
  SHA-256 and whose ``iat`` must be recent (older is a replay);
* the HMAC tokens of pixels and links are verified by ``adapters.tracking``.

``Refused`` carries the HTTP status and a message naming what was wrong.

A second sight of a request that verifies is not refused: it is the provider retrying
(a timeout, a lost answer), and its event goes in again under the same stable id,
which the run records as a duplicate. A copy sent to another run's path still is:
Twilio's signature covers the URL, and every Vonage event URL carries DEE's signature
for its path (``callbacks.verified_event_params``; Vonage signs only the body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

VONAGE_MAX_AGE_SECONDS = 300


class Refused(Exception):
    """A request the receiver turns away, with the status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def forbidden(message: str) -> Refused:
    return Refused(403, message)


def disabled(setting: str) -> Refused:
    """An endpoint whose credentials are not configured: 503, not 403.

    The fault is ours, not the caller's, and providers give up on a 403 (Postmark
    stops retrying) but retry a 503, so events survive until the setting is fixed.
    """
    return Refused(503, f"endpoint disabled: {setting} is not set")


def check_basic_auth(header: str | None, username: str | None, password: str | None) -> None:
    """Raises ``Refused`` (403) unless ``header`` carries exactly the configured pair.

    503 when no pair is configured (``disabled``).
    """
    if not username or not password:
        raise disabled("webhooks.username or webhooks.password")
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise forbidden("missing basic-auth credentials")
    try:
        given_user, colon, given_password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:  # binascii.Error, non-ASCII input and undecodable bytes alike
        raise forbidden("malformed basic-auth credentials") from None
    ok_user = hmac.compare_digest(given_user.encode(), username.encode())
    ok_password = hmac.compare_digest(given_password.encode(), password.encode())
    if not (colon and ok_user and ok_password):
        raise forbidden("wrong basic-auth credentials")


def check_twilio(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str | None
) -> None:
    """Raises ``Refused`` (403) unless Twilio signed ``url`` + ``params`` with the token."""
    if not auth_token:
        raise disabled("channels.voice.twilioAuthToken")
    if not signature:
        raise forbidden("missing X-Twilio-Signature")
    if not RequestValidator(auth_token).validate(url, dict(params), signature):
        raise forbidden("X-Twilio-Signature does not match the request")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vonage(secret: str | None, authorization: str | None, body: bytes, now: float) -> None:
    """Verify Vonage's signed callback: it signs the body, not the URL.

    Raises:
        Refused: 403 naming the failed check.
    """
    if not secret:
        raise disabled("webhooks.vonageSignatureSecret")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        raise forbidden("missing Vonage bearer token")
    head, claims_part, signature = token.split(".")
    try:
        header = json.loads(_unb64(head))
        claims = json.loads(_unb64(claims_part))
        given = _unb64(signature)
    except (ValueError, binascii.Error):
        raise forbidden("malformed Vonage token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise forbidden("Vonage token is not HS256")
    expected = hmac.new(secret.encode(), f"{head}.{claims_part}".encode(), hashlib.sha256)
    if not hmac.compare_digest(given, expected.digest()):
        raise forbidden("Vonage token signature does not match")
    if not isinstance(claims, dict):
        raise forbidden("malformed Vonage token claims")
    if claims.get("payload_hash") != hashlib.sha256(body).hexdigest():
        raise forbidden("Vonage token payload_hash does not match the body")
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or not (
        now - VONAGE_MAX_AGE_SECONDS <= issued <= now + 60
    ):
        raise forbidden("Vonage token is expired or not yet valid (replayed?)")


__all__ = [
    "Refused",
    "check_basic_auth",
    "check_twilio",
    "check_vonage",
    "forbidden",
]
