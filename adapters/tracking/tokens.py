"""HMAC-signed references to one send: ``(run, step, visit)`` bound to a purpose.

A token is ``<payload>.<mac>``: the payload is the base64url JSON array
``[run_id, step_id, visit]`` (so the receiver needs no lookup), the MAC is
HMAC-SHA256 over a version tag, the purpose (``open``, ``click``, ``unsubscribe``,
``ref``), the payload and an optional bound value (the click's target URL), cut to
128 bits. Binding the purpose means a pixel URL seen in a forwarded email cannot be
replayed as an unsubscribe; binding the URL means a click token is no open redirect.
Everything is a pure function of its inputs, so a retried send renders the same
email, and verification compares in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

_VERSION = b"dee-track-v1"
_MAC_BYTES = 16
PURPOSES = frozenset({"open", "click", "unsubscribe", "ref"})


class InvalidToken(ValueError):
    """A token that is malformed, signed for another purpose, or not signed by us."""


@dataclass(frozen=True, slots=True)
class Ref:
    """The send a token points at."""

    run_id: str
    step_id: str
    visit: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, payload: str, bound: str) -> str:
    message = b"\x00".join((_VERSION, purpose.encode(), payload.encode(), bound.encode()))
    return _b64(hmac.new(secret, message, hashlib.sha256).digest()[:_MAC_BYTES])


def sign(secret: bytes, purpose: str, ref: Ref, bound: str = "") -> str:
    """The token for ``ref`` and ``purpose`` (and ``bound``, e.g. a click's URL).

    Raises:
        ValueError: unknown purpose, empty secret or negative visit.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if not secret:
        raise ValueError("the tracking secret is empty")
    if ref.visit < 0:
        raise ValueError(f"visit must be >= 0, got {ref.visit}")
    body = json.dumps([ref.run_id, ref.step_id, ref.visit], separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_mac(secret, purpose, payload, bound)}"


def verify(secret: bytes, purpose: str, token: str, bound: str = "") -> Ref:
    """The reference a genuine token carries.

    Raises:
        InvalidToken: with the reason (malformed or not ASCII, or a signature that does
            not match).
    """
    if not token.isascii():  # ours never are; compare_digest would raise on such a str
        raise InvalidToken("token is not ASCII (not a token of ours)")
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac:
        raise InvalidToken("token is not of the form <payload>.<signature>")
    if not hmac.compare_digest(mac, _mac(secret, purpose, payload, bound)):
        raise InvalidToken(f"token signature does not match (not a {purpose} token of ours)")
    try:
        run_id, step_id, visit = json.loads(_unb64(payload))
    except (ValueError, TypeError, binascii.Error):  # signed by us, so only a bug lands here
        raise InvalidToken("token payload is not [run, step, visit]") from None
    if not (isinstance(run_id, str) and isinstance(step_id, str) and isinstance(visit, int)):
        raise InvalidToken("token payload is not [run, step, visit]")
    if not (_is_text(run_id) and _is_text(step_id)):  # a lone surrogate: no run has it,
        raise InvalidToken("token payload is not valid text")  # and the database chokes
    return Ref(run_id, step_id, visit)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


__all__ = ["PURPOSES", "InvalidToken", "Ref", "sign", "verify"]
