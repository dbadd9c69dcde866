"""Email tracking and the references that let inbound traffic find its run.

Boundary: pure token signing (``tokens``), pure rewriting of a rendered email
(``rewrite``: open pixel, click redirects, RFC 8058 unsubscribe headers), and the
Message-ID index (``messages``) that maps a reply's ``In-Reply-To`` back to the send,
the canonical form and keyed digest of an address that tell the contact's reply from
anyone else's (``addresses``), and the signing key itself (``secret``: configured, or
generated and stored).
``EmailTracking`` puts them together for the send activity. The webhook receiver
(``dee.webhooks``) verifies what this package signs.
"""

from __future__ import annotations

from adapters.tracking.email import REF_HEADER, EmailTracking, SendContext, TrackingSettings
from adapters.tracking.messages import MessageIndex, SentMessage
from adapters.tracking.secret import signing_key
from adapters.tracking.tokens import InvalidToken, Ref, sign, verify

__all__ = [
    "REF_HEADER",
    "EmailTracking",
    "InvalidToken",
    "MessageIndex",
    "Ref",
    "SendContext",
    "SentMessage",
    "TrackingSettings",
    "sign",
    "signing_key",
    "verify",
]
