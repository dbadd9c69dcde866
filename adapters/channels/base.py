"""Provider-neutral channel ports and the values that cross them.

A plan step says *what* to send; an ``EmailChannel`` or ``VoiceChannel`` says *how*.
Activities depend only on these protocols and values, so switching provider is a
configuration change. Everything here is pure: no I/O, clock or randomness, which is
why the idempotency key and Message-ID are derived from the run, never from the attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

from adapters.channels.errors import ChannelNotConfigured

# Headers the message carries as fields or that the MIME structure owns: letting
# ``headers`` set them would give two sources of truth for the same header.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "reply-to",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
# RFC 5322 field-name: printable US-ASCII except colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# A DNS host name; RFC 5322 allows more on the right of a msg-id, but a host name is
# what mail systems expect and it can never need quoting.
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_MSG_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
# The header carrying the signed reference to a send (``adapters.tracking`` sets it);
# HTTP email providers copy it into the metadata their event webhooks echo back.
REF_HEADER = "X-DEE-Ref"


def _frozen_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    for name, value in headers.items():
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set from the message's own fields")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} contains a line break")
    return MappingProxyType(dict(headers))


@dataclass(frozen=True)
class EmailMessage:
    """One email, ready to send: rendered text, addresses and a stable Message-ID.

    Raises:
        ValueError: ``message_id`` is not a ``<left@right>`` msg-id, or ``headers``
            names a reserved header (From, To, Subject, Reply-To, Message-ID, MIME
            structure), an invalid field name, or a value with a line break.
    """

    to: str
    sender: str
    subject: str
    text: str
    html: str | None
    reply_to: str | None
    message_id: str
    # Excluded from hashing so the value stays hashable; copied read-only so a
    # frozen message cannot change through the caller's dict.
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _MSG_ID.fullmatch(self.message_id):
            raise ValueError(f"message_id {self.message_id!r} is not an RFC 5322 msg-id")
        object.__setattr__(self, "headers", _frozen_headers(self.headers))


@dataclass(frozen=True)
class VoiceCall:
    """One outbound call: what to say, and what to do when a machine answers.

    ``callback_key`` signs what the status URL carries that the provider's own
    signature does not cover (Vonage signs its callbacks' bodies, not their URLs).
    """

    to: str
    caller_id: str
    script_text: str
    max_duration_seconds: int
    detect_voicemail: bool
    voicemail_text: str | None
    idempotency_key: str
    status_callback_url: str | None
    callback_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SendReceipt:
    """What the provider acknowledged. Failures are exceptions, never a receipt."""

    provider: str
    provider_message_id: str
    accepted: bool
    estimated_cost: Decimal


LookupStatus = Literal["found", "not_found", "cannot_ask"]


@dataclass(frozen=True)
class SendLookup:
    """What the provider says about a send whose outcome DEE does not know.

    ``found``: the provider holds the message or call (``provider_message_id`` is its
    id, as a receipt would have carried it). ``not_found``: the provider was asked and
    has no such send since the given moment. ``cannot_ask``: the provider keeps no
    record DEE can query (SMTP), so only an operator can decide. Failing to ask (the
    provider down or refusing the query) is an exception, never a lookup.

    Raises:
        ValueError: ``found`` without a provider id, or another status with one.
    """

    status: LookupStatus
    provider: str
    provider_message_id: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if (self.status == "found") != bool(self.provider_message_id):
            raise ValueError(
                f"a {self.status!r} lookup {'needs' if self.status == 'found' else 'has no'} "
                "provider_message_id"
            )


def lookup_since(since: datetime) -> datetime:
    """``since`` in UTC; a lookup window must be an instant, not a wall-clock reading.

    Raises:
        ValueError: ``since`` is naive (no time zone).
    """
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError(f"since must be timezone-aware, got {since!r}")
    return since.astimezone(UTC)


@runtime_checkable
class EmailChannel(Protocol):
    """Sends one email, once, and can say afterwards whether a message exists.

    ``send`` raises ``ChannelRejected`` or ``ChannelUnavailable``. ``find_sent`` asks
    the provider whether the message with this Message-ID went to ``to`` at or after
    ``since`` (pass a moment no later than the first attempt began, with room for
    clock skew); it raises the same errors when the provider cannot be asked now.
    """

    name: str

    async def send(self, message: EmailMessage) -> SendReceipt: ...

    async def find_sent(self, message_id: str, to: str, since: datetime) -> SendLookup: ...


@runtime_checkable
class VoiceChannel(Protocol):
    """Places one call, once, and can say afterwards whether a call exists.

    ``place_call`` raises ``ChannelRejected`` or ``ChannelUnavailable``. ``find_call``
    asks the provider for a call from ``caller_id`` to ``to`` created at or after
    ``since`` (no later than the first attempt began, with room for clock skew);
    ``idempotency_key`` is the send's key, for providers that can search by it. It
    raises the same errors when the provider cannot be asked now.
    """

    name: str

    async def place_call(self, call: VoiceCall) -> SendReceipt: ...

    async def find_call(
        self, idempotency_key: str, to: str, caller_id: str, since: datetime
    ) -> SendLookup: ...


class UnconfiguredVoiceChannel:
    """The voice channel when no provider is configured: every call is refused."""

    name = "unconfigured"

    async def place_call(self, call: VoiceCall) -> SendReceipt:
        """Refuse the call.

        Raises:
            ChannelNotConfigured: Always, with code ``no_voice_channel``.
        """
        raise ChannelNotConfigured("no voice channel configured", code="no_voice_channel")

    async def find_call(
        self, idempotency_key: str, to: str, caller_id: str, since: datetime
    ) -> SendLookup:
        """Answer ``cannot_ask``: with no provider configured there is nobody to ask.

        The call in doubt may have gone out through a provider configured at the
        time, so "not found" would be a guess.

        Raises:
            ValueError: ``since`` is naive.
        """
        lookup_since(since)
        return SendLookup(
            "cannot_ask", self.name, detail="no voice channel configured: nobody to ask"
        )


def idempotency_key(run_id: str, step_id: str, visit: int) -> str:
    """The send's idempotency key: same run, step and visit, same key, on every attempt.

    The key is the first 160 bits of ``sha256`` over the canonical JSON array
    ``[run_id, step_id, visit]`` (compact separators, ASCII, so no two inputs share an
    encoding), base32 in lower case: 32 characters of ``[a-z2-7]``, no padding. 160
    bits keep collisions out of reach while a ``Message-ID:`` header with a typical
    domain still fits on one line (longer lines get folded, which some receivers
    mishandle).

    Raises:
        ValueError: ``visit`` is negative.
    """
    if visit < 0:
        raise ValueError(f"visit must be >= 0, got {visit}")
    canonical = json.dumps([run_id, step_id, visit], separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(canonical.encode("ascii")).digest()[:20]
    return base64.b32encode(digest).decode("ascii").lower()


def keyed_message_key(key: bytes, tenant: str, run_id: str, step_id: str, visit: int) -> str:
    """The left part of a Message-ID that only the holder of ``key`` can compute.

    A reply names the message it answers by its Message-ID, and the receiver attributes
    the reply to the send the id was indexed for. An unkeyed hash of ``(run, step,
    visit)`` could be computed by anyone who knows or guesses a run id, and a reply
    naming it would be taken for that run's. This is HMAC-SHA256 under the webhook
    signing key over the canonical JSON ``[tenant, run_id, step_id, visit]``, in the
    same shape as ``idempotency_key`` (160 bits, base32, 32 characters), so it is as
    stable across retries and fits the same column and header line.

    Raises:
        ValueError: ``key`` is empty or ``visit`` is negative.
    """
    if not key:
        raise ValueError("the message-id key is empty")
    if visit < 0:
        raise ValueError(f"visit must be >= 0, got {visit}")
    canonical = json.dumps(
        [tenant, run_id, step_id, visit], separators=(",", ":"), ensure_ascii=True
    )
    tagged = b"dee-message-id-v1\x00" + canonical.encode("ascii")
    digest = hmac.new(key, tagged, hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode("ascii").lower()


def message_id(
    run_id: str,
    step_id: str,
    visit: int,
    domain: str,
    *,
    key: bytes | None = None,
    tenant: str = "",
) -> str:
    """A deterministic RFC 5322 msg-id, ``<left@domain>``.

    With ``key`` (the webhook signing key) the left part is ``keyed_message_key``:
    what every message that can be replied to carries. Without it, the unkeyed
    ``idempotency_key`` (senders that index no message, so no reply is matched by it).
    Recipients' systems de-duplicate on Message-ID, so an operator-driven resend of
    the same visit carries the same id as the first attempt.

    Raises:
        ValueError: ``domain`` is not a host name, ``visit`` is negative, or ``key`` is
            empty.
    """
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"message-id domain {domain!r} is not a host name")
    left = (
        idempotency_key(run_id, step_id, visit)
        if key is None
        else keyed_message_key(key, tenant, run_id, step_id, visit)
    )
    return f"<{left}@{domain.lower()}>"


__all__ = [
    "REF_HEADER",
    "RESERVED_HEADERS",
    "EmailChannel",
    "EmailMessage",
    "LookupStatus",
    "SendLookup",
    "SendReceipt",
    "UnconfiguredVoiceChannel",
    "VoiceCall",
    "VoiceChannel",
    "idempotency_key",
    "keyed_message_key",
    "lookup_since",
    "message_id",
]
