"""The key ring: named AES-256 keys, the newest encrypts, every one decrypts.

A key is written ``ID:KEY``, ``KEY`` being 32 bytes in (url-safe or standard) base64;
a ring is such entries in order, oldest first (comma- or line-separated in one
string). Rotation is adding a new entry at the end: new payloads use it, payloads
under the older ids stay readable for as long as those entries are kept.

The embedded default (no keys configured) keeps one generated key in a file under the
data directory, created once with mode 0600 — beside, never inside, the database, so a
copy of the database alone does not read Temporal's payloads.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from adapters.codec.errors import KeyRingError

KEY_BYTES = 32  # AES-256
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Keys by id, in the order given; ``newest`` (the last) encrypts.

    An empty ring only reads: unencrypted payloads pass, encrypted ones are refused
    naming their key id (an offline reader given no keys).
    """

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        ids = [key_id for key_id, _ in self.keys]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise KeyRingError(f"codec key id(s) given twice: {', '.join(repeated)}")

    @property
    def newest(self) -> tuple[str, bytes]:
        if not self.keys:
            raise KeyRingError("the codec key ring is empty: no key to encrypt with")
        return self.keys[-1]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self.keys)

    def key(self, key_id: str) -> bytes | None:
        for known, key in self.keys:
            if known == key_id:
                return key
        return None

    @classmethod
    def parse(cls, entries: Iterable[str], *, source: str = "codec.keys") -> KeyRing:
        """A ring from ``ID:KEY`` entries (blank entries and ``#`` comments skipped).

        Raises:
            KeyRingError: an entry is malformed; the message names its position, never the key.
        """
        keys = []
        for n, raw in enumerate(entries, 1):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise KeyRingError(
                    f"{source}: entry {n} is not ID:KEY with an id of letters, digits, '.', "
                    "'_' or '-' (at most 64)"
                )
            keys.append((key_id, _decode_key(encoded.strip(), f"{source}: key {key_id!r}")))
        if not keys:
            raise KeyRingError(f"{source}: no keys; give at least one ID:KEY")
        return cls(tuple(keys))

    @classmethod
    def from_text(cls, text: str, *, source: str) -> KeyRing:
        """A ring from one string: entries separated by commas or new lines (``#`` starts
        a comment line)."""
        lines = (line for line in text.splitlines() if not line.strip().startswith("#"))
        return cls.parse([part for line in lines for part in line.split(",")], source=source)


def _decode_key(encoded: str, where: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{where} is not base64") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"{where} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
    return key


def generate_key_line(key_id: str) -> str:
    """A new ``ID:KEY`` entry with a random 256-bit key (``dee codec-key``, the key file)."""
    if not _KEY_ID.match(key_id):
        raise KeyRingError(f"key id {key_id!r}: letters, digits, '.', '_' or '-' (at most 64)")
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def load_or_create_key_file(path: Path, *, first_id: str = "local-1") -> KeyRing:
    """The ring kept in ``path``, created with one new key (mode 0600) if absent.

    Creation is exclusive (``O_EXCL``), so two processes starting together on a fresh
    data directory end up with the one key the first wrote.

    Raises:
        KeyRingError: the file cannot be read or created, is readable by others, or
            holds a malformed entry.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise KeyRingError(f"{path}: cannot create the codec key file: {exc.strerror}") from None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write("# DEE payload codec keys, oldest first; the last one encrypts.\n")
            out.write(generate_key_line(first_id) + "\n")
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyRingError(f"{path}: cannot read the codec key file: {exc}") from None
    if mode & 0o077:
        raise KeyRingError(
            f"{path}: the codec key file is readable by others (mode {mode:o}); chmod 600 it"
        )
    return KeyRing.from_text(text, source=str(path))


__all__ = ["KEY_BYTES", "KeyRing", "generate_key_line", "load_or_create_key_file"]
