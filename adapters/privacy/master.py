"""The privacy master key: where it comes from, and the keys derived from it.

The master key never enters the database: a per-contact data key is stored only
wrapped by it, so a copy of the database alone opens nothing. It comes from the
configuration (``privacy.masterKey``, ``DEE_PRIVACY_MASTER_KEY``: 32 bytes in
base64url), or from a key file (``privacy.masterKeyFile``); the embedded default is
``<data dir>/privacy.key``, generated on first use with mode 0600. Two keys are
derived from it with HKDF-SHA256 (one secret to keep, two purposes that cannot be
confused): the pseudonym key (HMAC of compared values) and the wrapping key (AES-GCM
over the contact data keys).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.privacy.errors import MasterKeyError

KEY_BYTES = 32
KEY_FILE_NAME = "privacy.key"
_PSEUDONYM_INFO = b"dee/privacy/pseudonym/v1"
_WRAP_INFO = b"dee/privacy/wrap/v1"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


def decode_key(text: str, where: str) -> bytes:
    """32 key bytes from base64url text (padding optional).

    Raises:
        MasterKeyError: not base64url, or not 32 bytes.
    """
    value = text.strip()
    try:
        # validate: the lenient decoder drops characters outside the alphabet.
        key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{where}: not base64url key bytes") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{where}: {len(key)} bytes, a master key has {KEY_BYTES}")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def _from_file(path: Path, *, create: bool) -> bytes:
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: of two processes starting at once, one writes and both read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(encode_key(secrets.token_bytes(KEY_BYTES)) + "\n")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"privacy master key file {path}: cannot be read ({exc})") from None
    return decode_key(text, f"privacy master key file {path}")


@dataclass(frozen=True, slots=True)
class MasterKey:
    """The master key's two derived keys (the master itself is not kept)."""

    pseudonym_key: bytes
    wrapping_key: bytes

    @classmethod
    def of(cls, master: bytes) -> MasterKey:
        if len(master) != KEY_BYTES:
            raise MasterKeyError(f"a master key has {KEY_BYTES} bytes, not {len(master)}")
        return cls(_derive(master, _PSEUDONYM_INFO), _derive(master, _WRAP_INFO))

    @classmethod
    def load(cls, *, value: str | None, file: Path | None, data_dir: Path) -> MasterKey:
        """The configured key: ``value``, else ``file``, else the generated default file.

        Raises:
            MasterKeyError: the value or the file is unusable (a configured file must
                exist: only the default one is generated).
        """
        if value:
            return cls.of(decode_key(value, "privacy.masterKey"))
        if file is not None:
            return cls.of(_from_file(file, create=False))
        return cls.of(_from_file(data_dir / KEY_FILE_NAME, create=True))


__all__ = ["KEY_BYTES", "KEY_FILE_NAME", "MasterKey", "decode_key", "encode_key"]
