"""Encryption of Temporal payloads: AES-256-GCM under a key ring.

Boundary: the key ring (``keyring``: key ids and keys, parsed from configuration or
kept in a 0600 file the embedded default generates once), the ``PayloadCodec``
(``aesgcm``: new payloads under the newest key, any ring key decrypts, unencrypted
payloads pass through so histories written before encryption still replay), and the
offline decoding of a whole exported history (``history``). Everything here raises
``CodecError`` subclasses that name the key id concerned; ``dee`` turns them into the
messages a user reads.
"""

from __future__ import annotations

from adapters.codec.aesgcm import ENCODING, KEY_ID, EncryptionCodec
from adapters.codec.errors import CodecError, KeyRingError, TamperedPayload, UnknownKeyId
from adapters.codec.history import decode_history_payloads
from adapters.codec.keyring import KeyRing, generate_key_line, load_or_create_key_file

__all__ = [
    "ENCODING",
    "KEY_ID",
    "CodecError",
    "EncryptionCodec",
    "KeyRing",
    "KeyRingError",
    "TamperedPayload",
    "UnknownKeyId",
    "decode_history_payloads",
    "generate_key_line",
    "load_or_create_key_file",
]
