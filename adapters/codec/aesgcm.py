"""``EncryptionCodec``: Temporal's ``PayloadCodec`` over AES-256-GCM.

An encrypted payload's ``data`` is ``nonce (12 bytes) || ciphertext+tag`` of the whole
serialized original payload (its metadata included, so the encoding of the value is
hidden too); its metadata says ``encoding: binary/encrypted`` and which key
(``encryption-key-id``), the layout Temporal's samples use. The key id is also the
associated data, so a payload relabelled with another id fails authentication instead
of decrypting under the wrong key.

A payload without that encoding passes through unchanged both ways on decode: histories
written before encryption (the committed corpus, a run started by a plain
``temporal workflow start``) still decode and replay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from adapters.codec.errors import TamperedPayload, UnknownKeyId
from adapters.codec.keyring import KeyRing, load_or_create_key_file

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's newest key; decrypts with whichever key a payload names.

    Args:
        ring: The keys.
        encrypt: ``False`` writes payloads in plain text (still decrypting what the ring
            can read): for measuring the codec's cost, never for production.
        key_file: The embedded default's key file, which ``ring`` was read from (empty if
            the file did not exist yet). It is created at the first encode, so a command
            refused before it writes anything to Temporal leaves no file behind, and
            re-read when a payload names a key id the ring lacks (another process, a
            worker's first client, created it since).
    """

    def __init__(
        self, ring: KeyRing, *, encrypt: bool = True, key_file: Path | None = None
    ) -> None:
        self.encrypt = encrypt
        self.key_file = key_file
        self._use(ring)

    def _use(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not self.encrypt:
            return list(payloads)
        if not self.ring.keys and self.key_file is not None:
            self._use(load_or_create_key_file(self.key_file))
        return [self.encrypt_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt_one(p) for p in payloads]

    def encrypt_one(self, payload: Payload) -> Payload:
        key_id, _ = self.ring.newest
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None and self.key_file is not None and self.key_file.exists():
            self._use(load_or_create_key_file(self.key_file))
            cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyId(key_id, self.ring.ids)
        data = payload.data
        try:
            plain = cipher.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], key_id.encode())
        except (InvalidTag, ValueError):
            raise TamperedPayload(key_id) from None
        decoded = Payload()
        try:
            decoded.ParseFromString(plain)
        except Exception:  # authentic but not a payload: written by something else
            raise TamperedPayload(key_id) from None
        return decoded


__all__ = ["ENCODING", "KEY_ID", "EncryptionCodec"]
