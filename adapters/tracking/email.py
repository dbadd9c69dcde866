"""``EmailTracking``: what the send activity applies to a rendered email before sending.

* every message gets a Message-ID only the signing key can compute (``message_id``)
  and is indexed by it, with a keyed digest of its recipient, so a reply can be
  matched to its send and told apart from a reply by someone else;
* every message gets ``List-Unsubscribe`` (RFC 8058 one-click) and an ``X-DEE-Ref``
  header (a signed reference providers echo in their event webhooks), and, as the
  plan's ``tracking`` asks, an open pixel and click redirects.

There is always a signing key (``secret.signing_key``: configured, or generated and
stored in the database), so nothing here is ever skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adapters.channels.base import REF_HEADER, EmailMessage
from adapters.channels.base import message_id as build_message_id
from adapters.storage import Database
from adapters.tracking.addresses import address_digest
from adapters.tracking.messages import MessageIndex, SentMessage, message_key
from adapters.tracking.rewrite import (
    Links,
    html_from_text,
    track_html,
    track_text,
    unsubscribe_headers,
)
from adapters.tracking.secret import signing_key
from adapters.tracking.tokens import Ref, sign


@dataclass(frozen=True)
class TrackingSettings:
    """Where the webhook receiver is reachable from the internet, and the signing secret."""

    public_url: str
    secret: bytes

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("the tracking secret is empty")


@dataclass(frozen=True, slots=True)
class SendContext:
    """Which send a message belongs to."""

    tenant: str
    run_id: str
    step_id: str
    visit: int
    contact_id: str
    track_opens: bool
    track_clicks: bool


class EmailTracking:
    """Applies tracking to messages and indexes them (``index`` may be ``None`` in tests)."""

    def __init__(self, settings: TrackingSettings, index: MessageIndex | None) -> None:
        self._settings = settings
        self._index = index

    @classmethod
    async def create(cls, public_url: str, secret: str | None, database: Database) -> EmailTracking:
        """Tracking for a worker: the receiver's public URL, the configured secret (or,
        when ``None``, the one stored in ``database``), and the index in ``database``.

        Raises:
            StorageError: No secret is configured and none could be stored.
        """
        key = await signing_key(secret, database)
        return cls(TrackingSettings(public_url, key), MessageIndex(database))

    @property
    def secret(self) -> bytes:
        """The signing key (voice callbacks sign their parameters with it too)."""
        return self._settings.secret

    def message_id(self, send: SendContext, domain: str) -> str:
        """The send's Message-ID, keyed with the signing key (``keyed_message_key``).

        Raises:
            ValueError: ``domain`` is not a host name or the visit is negative.
        """
        return build_message_id(
            send.run_id, send.step_id, send.visit, domain,
            key=self._settings.secret, tenant=send.tenant,
        )  # fmt: skip

    async def prepare(self, message: EmailMessage, send: SendContext) -> EmailMessage:
        """The message as it must leave: tracked and indexed (index written first)."""
        if self._index is not None:
            key = message_key(message.message_id)
            assert key is not None  # EmailMessage validated it as <left@right>
            recipient = address_digest(self._settings.secret, message.to)
            await self._index.record(
                SentMessage(key, send.tenant, send.run_id, send.step_id, send.visit,
                            send.contact_id, recipient)
            )  # fmt: skip
        return self.rewrite(message, send)

    def rewrite(self, message: EmailMessage, send: SendContext) -> EmailMessage:
        """The pure part of ``prepare``: same inputs, byte-identical message."""
        secret = self._settings.secret
        ref = Ref(send.run_id, send.step_id, send.visit)
        links = Links(self._settings.public_url, secret, ref)
        text, html = message.text, message.html
        if send.track_opens and html is None:
            html = html_from_text(text)
        if send.track_clicks:
            text = track_text(text, links)
        if html is not None:
            html = track_html(html, links, opens=send.track_opens, clicks=send.track_clicks)
        headers = {**message.headers, **unsubscribe_headers(links)}
        headers[REF_HEADER] = sign(secret, "ref", ref)
        return replace(message, text=text, html=html, headers=headers)


__all__ = ["REF_HEADER", "EmailTracking", "SendContext", "TrackingSettings"]
