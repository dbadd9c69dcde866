"""AES-256-GCM: a contact's fields sealed under its data key, data keys wrapped.

A sealed field is text, so it fits any JSON detail: ``sealed:v1:<generation>:<b64>``
where ``b64`` is base64url of a fresh 96-bit nonce followed by the ciphertext and
its tag. The associated data binds it to its tenant, contact and key generation: a
sealed value copied into another contact's record does not open there.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
NONCE_BYTES = 12
DATA_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(tenant: str, contact_id: str, generation: int, purpose: str) -> bytes:
    return f"{purpose}\x00{tenant}\x00{contact_id}\x00{generation}".encode()


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)


def wrap(wrapping_key: bytes, data_key: bytes, tenant: str, contact_id: str, gen: int) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(wrapping_key).encrypt(nonce, data_key, _aad(tenant, contact_id, gen, "wrap"))
    return _b64(nonce + sealed)


def unwrap(wrapping_key: bytes, wrapped: str, tenant: str, contact_id: str, gen: int) -> bytes:
    """The data key; ``ValueError`` when the master key is not the one that wrapped it."""
    try:
        raw = _unb64(wrapped)
        aad = _aad(tenant, contact_id, gen, "wrap")
        return AESGCM(wrapping_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except (binascii.Error, InvalidTag, ValueError):
        raise ValueError("the contact's data key does not open with this master key") from None


def seal(data_key: bytes, text: str, tenant: str, contact_id: str, gen: int) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = _aad(tenant, contact_id, gen, "field")
    return f"{PREFIX}{gen}:{_b64(nonce + AESGCM(data_key).encrypt(nonce, text.encode(), aad))}"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def generation_of(value: str) -> int | None:
    """The key generation a sealed value names (``None``: not a sealed value)."""
    if not is_sealed(value):
        return None
    gen, _, _ = value[len(PREFIX) :].partition(":")
    return int(gen) if gen.isdigit() else None


def open_sealed(data_key: bytes, value: str, tenant: str, contact_id: str) -> str:
    """The plain text; ``ValueError`` when the value was not sealed for this contact."""
    gen, _, body = value[len(PREFIX) :].partition(":")
    try:
        raw = _unb64(body)
        aad = _aad(tenant, contact_id, int(gen), "field")
        plain = AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        return plain.decode()
    except (binascii.Error, InvalidTag, ValueError, UnicodeDecodeError):
        raise ValueError("the sealed value does not open with the contact's key") from None


__all__ = [
    "PREFIX",
    "generation_of",
    "is_sealed",
    "new_data_key",
    "open_sealed",
    "seal",
    "unwrap",
    "wrap",
]
