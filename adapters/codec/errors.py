"""The codec's errors: one root, each subclass naming what a user must fix."""

from __future__ import annotations

_SHOWN = 64  # a key id is a short label; a hostile payload's "id" is not echoed whole


def _shown(key_id: str) -> str:
    return (
        repr(key_id) if len(key_id) <= _SHOWN else f"{key_id[:_SHOWN]!r}... ({len(key_id)} chars)"
    )


class CodecError(Exception):
    """Root of the payload codec's errors; the message is meant for a user."""


class KeyRingError(CodecError):
    """The configured keys (or the key file) cannot be used: the message says which and why."""


class UnknownKeyId(CodecError):
    """A payload is encrypted under a key id the ring does not hold."""

    def __init__(self, key_id: str, known: tuple[str, ...]) -> None:
        self.key_id = key_id
        held = ", ".join(known) if known else "none"
        shown = _shown(key_id)
        super().__init__(
            f"a payload is encrypted with key id {shown}, which the codec key ring does not "
            f"hold (it holds: {held}); configure that key (codec.keys / DEE_CODEC_KEYS)"
        )


class TamperedPayload(CodecError):
    """An encrypted payload fails authentication: altered, truncated, or another key's."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        shown = _shown(key_id)
        super().__init__(
            f"a payload encrypted with key id {shown} fails authentication: it was altered "
            "or truncated, or that id names a different key here than where it was written"
        )
