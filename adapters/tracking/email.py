"""``EmailTracking``: what the send activity applies to a rendered email before sending.

* every message is indexed by its Message-ID key, so a reply can be matched;
* with a tracking secret configured: ``List-Unsubscribe`` (RFC 8058 one-click) on
  every message, an ``X-DEE-Ref`` header (a signed reference providers can echo in
  their event webhooks), and, as the plan's ``tracking`` asks, an open pixel and
  click redirects.

Without a secret nothing is rewritten: the plan's tracking flags cannot be honoured,
which is logged once per process rather than failing every send of a deployment
that has no webhook receiver.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from adapters.channels.base import EmailMessage
from adapters.storage import Database
from adapters.tracking.messages import MessageIndex, SentMessage, message_key
from adapters.tracking.rewrite import (
    Links,
    html_from_text,
    track_html,
    track_text,
    unsubscribe_headers,
)
from adapters.tracking.tokens import Ref, sign

REF_HEADER = "X-DEE-Ref"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackingSettings:
    """Where the webhook receiver is reachable from the internet, and the signing secret."""

    public_url: str
    secret: bytes | None


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
        self._warned = False

    @classmethod
    def create(cls, public_url: str, secret: str | None, database: Database) -> EmailTracking:
        """Tracking for a worker: the receiver's public URL, its secret, the index's database."""
        key = secret.encode() if secret else None
        return cls(TrackingSettings(public_url, key), MessageIndex(database))

    async def prepare(self, message: EmailMessage, send: SendContext) -> EmailMessage:
        """The message as it must leave: tracked and indexed (index written first)."""
        if self._index is not None:
            key = message_key(message.message_id)
            assert key is not None  # EmailMessage validated it as <left@right>
            await self._index.record(
                SentMessage(key, send.tenant, send.run_id, send.step_id, send.visit,
                            send.contact_id)
            )  # fmt: skip
        return self.rewrite(message, send)

    def rewrite(self, message: EmailMessage, send: SendContext) -> EmailMessage:
        """The pure part of ``prepare``: same inputs, byte-identical message."""
        secret = self._settings.secret
        if secret is None:
            if (send.track_opens or send.track_clicks) and not self._warned:
                self._warned = True
                log.warning("tracking requested but webhooks.secret is not set: not tracked")
            return message
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
