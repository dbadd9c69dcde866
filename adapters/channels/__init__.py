"""Channels: provider-neutral ports (email, voice) and their provider adapters.

Boundary: callers see ``EmailMessage`` / ``VoiceCall`` in, ``SendReceipt`` out (and
``SendLookup`` from asking a provider whether a send in doubt exists), and
``ChannelError`` subclasses on failure; no provider type or exception leaves this
package. Adapters send exactly once and never retry: retry is an audited operator
action, decided above this layer. Configuration is passed in; nothing here reads the
environment.
"""

from __future__ import annotations

from adapters.channels.base import (
    RESERVED_HEADERS,
    EmailChannel,
    EmailMessage,
    LookupStatus,
    SendLookup,
    SendReceipt,
    UnconfiguredVoiceChannel,
    VoiceCall,
    VoiceChannel,
    idempotency_key,
    message_id,
)
from adapters.channels.errors import (
    ChannelError,
    ChannelNotConfigured,
    ChannelRejected,
    ChannelUnavailable,
)
from adapters.channels.smtp import SmtpEmailChannel

__all__ = [
    "RESERVED_HEADERS",
    "ChannelError",
    "ChannelNotConfigured",
    "ChannelRejected",
    "ChannelUnavailable",
    "EmailChannel",
    "EmailMessage",
    "LookupStatus",
    "SendLookup",
    "SendReceipt",
    "SmtpEmailChannel",
    "UnconfiguredVoiceChannel",
    "VoiceCall",
    "VoiceChannel",
    "idempotency_key",
    "message_id",
]
