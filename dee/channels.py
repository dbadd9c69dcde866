"""Choosing channel providers: configuration in, ``EmailChannel`` / ``VoiceChannel`` out.

This is the only place that knows which adapter a provider name means, so switching
SMTP to Postmark or Twilio to Vonage is a change to ``channels.*.provider`` and its
credentials, nothing else. Incomplete configuration is refused when the worker
starts, as a ``DocumentError`` naming the field and the variable that sets it, not
when the first run reaches a send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

from adapters.channels import (
    EmailChannel,
    SmtpEmailChannel,
    UnconfiguredVoiceChannel,
    VoiceChannel,
)
from adapters.channels.postmark import PostmarkEmailChannel
from adapters.channels.twilio_voice import TwilioVoiceChannel
from adapters.channels.vonage import VonageVoiceChannel
from dee.config import EmailConfig, EngineConfig, VoiceConfig
from dee.errors import DocumentError


@dataclass(frozen=True)
class Channels:
    """The configured providers, one per channel."""

    email: EmailChannel
    voice: VoiceChannel


def _missing(section: str, field: str, env: str, provider: str) -> DocumentError:
    return DocumentError(
        [
            f"configuration channels.{section}.{field}: required when "
            f"channels.{section}.provider is {provider} (or set {env})"
        ]
    )


def email_channel(cfg: EmailConfig) -> EmailChannel:
    """The email adapter ``cfg.provider`` names.

    Raises:
        DocumentError: A field the provider needs is missing or unusable.
    """
    if cfg.provider == "smtp":
        return SmtpEmailChannel(
            cfg.host,
            cfg.port,
            use_tls=cfg.use_tls,
            start_tls=cfg.start_tls,
            username=cfg.username,
            password=cfg.password,
            timeout=cfg.timeout_seconds,
            cost_per_email=cfg.cost_per_email,
        )
    if not cfg.postmark_server_token:
        raise _missing("email", "postmarkServerToken", "DEE_POSTMARK_SERVER_TOKEN", "postmark")
    return PostmarkEmailChannel(
        cfg.postmark_server_token,
        message_stream=cfg.postmark_message_stream,
        base_url=cfg.postmark_base_url,
        timeout=cfg.timeout_seconds,
        cost_per_email=cfg.cost_per_email,
    )


def voice_channel(cfg: VoiceConfig, cost_per_minute: Decimal) -> VoiceChannel:
    """The voice adapter ``cfg.provider`` names.

    Raises:
        DocumentError: A field the provider needs is missing or unusable.
    """
    if cfg.provider == "none":
        return UnconfiguredVoiceChannel()
    if cfg.provider == "twilio":
        if not cfg.twilio_account_sid:
            raise _missing("voice", "twilioAccountSid", "DEE_TWILIO_ACCOUNT_SID", "twilio")
        if not cfg.twilio_auth_token:
            raise _missing("voice", "twilioAuthToken", "DEE_TWILIO_AUTH_TOKEN", "twilio")
        return TwilioVoiceChannel(
            cfg.twilio_account_sid,
            cfg.twilio_auth_token,
            base_url=cfg.twilio_base_url,
            timeout=cfg.timeout_seconds,
            cost_per_minute=cost_per_minute,
        )
    if not cfg.vonage_application_id:
        raise _missing("voice", "vonageApplicationId", "DEE_VONAGE_APPLICATION_ID", "vonage")
    key = _vonage_key(cfg)
    try:
        return VonageVoiceChannel(
            cfg.vonage_application_id,
            key,
            base_url=cfg.vonage_base_url,
            timeout=cfg.timeout_seconds,
            cost_per_minute=cost_per_minute,
        )
    except ValueError as exc:
        raise DocumentError([f"configuration channels.voice.vonagePrivateKey: {exc}"]) from None


def _vonage_key(cfg: VoiceConfig) -> str:
    if cfg.vonage_private_key:
        return cfg.vonage_private_key
    path = cfg.vonage_private_key_file
    if path is None:
        raise _missing(
            "voice",
            "vonagePrivateKey",
            "DEE_VONAGE_PRIVATE_KEY or DEE_VONAGE_PRIVATE_KEY_FILE",
            "vonage",
        )
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(
            [f"configuration channels.voice.vonagePrivateKeyFile: cannot read {path}: {exc}"]
        ) from None


def build_channels(config: EngineConfig) -> Channels:
    """Both channels from ``config``; see ``email_channel`` and ``voice_channel``."""
    email = email_channel(config.channels.email)
    voice = voice_channel(config.channels.voice, config.policies.cost_per_voice_minute)
    return Channels(email=email, voice=voice)


@asynccontextmanager
async def open_channels(config: EngineConfig) -> AsyncIterator[Channels]:
    """``build_channels``, closing the adapters' connection pools on exit."""
    channels = build_channels(config)
    try:
        yield channels
    finally:
        for channel in (channels.email, channels.voice):
            aclose = getattr(channel, "aclose", None)
            if aclose is not None:
                await aclose()


__all__ = ["Channels", "build_channels", "email_channel", "open_channels", "voice_channel"]
