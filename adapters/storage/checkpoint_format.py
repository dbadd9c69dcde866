"""Signed checkpoints of audit chain heads: the format, signing, and the signature check.

A checkpoint says, under the worker's Ed25519 key, "run R's chain ran through seq S,
whose hash is H". The database never holds the private key, so whoever can write to
the database can delete or reorder checkpoints but cannot make one: a chain rewritten
with recomputed hashes, cut short, extended or invented no longer matches what was
signed. The byte layout is documented in docs/audit.md; ``tools/verify_audit_chain.py``
re-implements it independently.

Checkpoints of one run form their own chain (``n`` = 1, 2, 3 …, ``prev`` = the hash
of checkpoint ``n - 1``), so a checkpoint deleted from the middle leaves a gap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from adapters.storage.errors import StorageError
from interpreter.chain import canonical_json

KIND = "dee-audit-checkpoint/1"
GENESIS = "0" * 64
SIGNED_FIELDS = ("kind", "key_id", "run_id", "n", "seq", "head", "closed", "time", "prev")


class CheckpointError(StorageError):
    """A signing key or a checkpoint export is unusable (the message says which and why)."""


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw 32-byte public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed checkpoint: the signed fields, their hash, and the signature."""

    key_id: str
    run_id: str
    n: int
    seq: int
    head: str
    closed: bool
    time: str
    prev: str
    hash: str
    sig: str

    def body(self) -> dict[str, Any]:
        """The signed fields (``kind`` included), as the signature covers them."""
        return {
            "kind": KIND, "key_id": self.key_id, "run_id": self.run_id, "n": self.n,
            "seq": self.seq, "head": self.head, "closed": self.closed, "time": self.time,
            "prev": self.prev,
        }  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash, "sig": self.sig}

    def line(self) -> str:
        """One JSON Lines record of the checkpoint export (no trailing newline)."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        return f"checkpoint {self.n} (seq {self.seq})"


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """What is hashed and signed: the RFC 8785 JSON of the signed fields.

    ``canonical_json`` is the chain's JCS encoder (the C encoder where it provably
    equals RFC 8785, pinned by a property test): a third of the pure ``rfc8785`` cost.
    """
    return canonical_json({name: body[name] for name in SIGNED_FIELDS})


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 key (the worker's; never the database's).

    ``made`` remembers the newest checkpoint signed per run (a guess only: its
    transaction may have rolled back, or another worker signed since), so the next
    append of the run can sign without reading first (``checkpoints.sign_in``).
    """

    MADE_LIMIT = 50_000

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.made: dict[str, Checkpoint] = {}

    def remember(self, cp: Checkpoint) -> None:
        if len(self.made) >= self.MADE_LIMIT:
            self.made.clear()  # a cold guess costs one read; memory must stay bounded
        self.made[cp.run_id] = cp

    def sign(
        self, *, run_id: str, n: int, seq: int, head: str, closed: bool, prev: str
    ) -> Checkpoint:
        stamp = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        body = {
            "kind": KIND, "key_id": self.key_id, "run_id": run_id, "n": n, "seq": seq,
            "head": head, "closed": closed, "time": stamp, "prev": prev,
        }  # fmt: skip
        message = signed_bytes(body)
        signature = base64.b64encode(self._key.sign(message)).decode("ascii")
        digest = hashlib.sha256(message).hexdigest()
        return Checkpoint(self.key_id, run_id, n, seq, head, closed, stamp, prev, digest, signature)

    def public_pem(self) -> str:
        return public_pem(self.public_key)

    def builds_on(self, cp: Checkpoint) -> bool:
        """Whether a stored checkpoint may be the base of the next one.

        The application role may INSERT checkpoints, so a stored row proves nothing by
        itself. One claiming this signer's key must verify under it. One naming another
        key may be an older worker key (rotation) that this signer cannot check: its
        fields must at least match its hash (a row with edited fields, or one copied
        from another run, does not).
        """
        if cp.key_id == self.key_id:
            return signature_problem(cp, {self.key_id: self.public_key}) is None
        return hashlib.sha256(signed_bytes(cp.body())).hexdigest() == cp.hash


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


VerifyKeys = Mapping[str, Ed25519PublicKey]


def verify_keys(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id(k): k for k in keys}


def signature_problem(cp: Checkpoint, keys: VerifyKeys) -> str | None:
    """Why ``cp`` is not authentic under ``keys`` (``None`` when it is)."""
    public = keys.get(cp.key_id)
    if public is None:
        return f"signed with key {cp.key_id!r}, which is not a trusted public key"
    message = signed_bytes(cp.body())
    if hashlib.sha256(message).hexdigest() != cp.hash:
        return "its hash does not match its fields"
    try:
        public.verify(base64.b64decode(cp.sig, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not verify"
    return None


def parse_checkpoint(value: Any, where: str) -> Checkpoint:
    """A checkpoint from its JSON object (one export line), its field types checked.

    Raises:
        CheckpointError: naming ``where`` and the bad field.
    """
    if not isinstance(value, dict):
        raise CheckpointError(f"{where}: a checkpoint is a JSON object")
    expected: dict[str, type] = {
        "kind": str, "key_id": str, "run_id": str, "n": int, "seq": int, "head": str,
        "closed": bool, "time": str, "prev": str, "hash": str, "sig": str,
    }  # fmt: skip
    for name, kind in expected.items():
        item = value.get(name)
        if type(item) is not kind:
            raise CheckpointError(f"{where}: field {name!r} must be a {kind.__name__}")
    if value["kind"] != KIND:
        raise CheckpointError(f"{where}: kind is {value['kind']!r}, expected {KIND!r}")
    fields = {name: value[name] for name in expected if name != "kind"}
    return Checkpoint(**fields)


def read_export(paths: Iterable[Path]) -> list[Checkpoint]:
    """Every checkpoint in export files (a directory: its ``*.jsonl`` files, by name)."""
    found: list[Checkpoint] = []
    for path in paths:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CheckpointError(f"{file}: cannot read the checkpoint export: {exc}") from None
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        value = json.loads(line)
                    except ValueError as exc:
                        raise CheckpointError(f"{file}:{number}: not valid JSON: {exc}") from None
                    except RecursionError:  # hostile nesting: json recurses per level
                        raise CheckpointError(
                            f"{file}:{number}: not valid JSON: nested too deeply"
                        ) from None
                    found.append(parse_checkpoint(value, f"{file}:{number}"))
    return found


def load_signing_key(path: Path, *, create: bool) -> CheckpointSigner:
    """The signer for the key file at ``path``; with ``create``, generate it when missing.

    A generated key is written with mode 0600 and published atomically (a hard link of
    a finished file), so two processes starting together end up with the same key.

    Raises:
        CheckpointError: the file is missing (and not to be generated), unreadable, or
            not an unencrypted Ed25519 private key in PEM.
    """
    if not path.exists():
        if not create:
            raise CheckpointError(f"audit signing key {path} does not exist")
        _generate(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"audit signing key {path}: cannot load it: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"audit signing key {path}: not an Ed25519 private key")
    return CheckpointSigner(key)


def _generate(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process published its key first: use that one
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise CheckpointError(f"audit signing key {path}: cannot create it: {exc}") from None


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key (as ``dee audit public-key`` writes it), or its private key's half."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"public key {path}: cannot read it: {exc}") from None
    try:
        key: Any = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"public key {path}: not a PEM key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"public key {path}: not an Ed25519 key")
    return key


__all__ = [
    "GENESIS",
    "KIND",
    "Checkpoint",
    "CheckpointError",
    "CheckpointSigner",
    "VerifyKeys",
    "key_id",
    "load_public_key",
    "load_signing_key",
    "parse_checkpoint",
    "public_pem",
    "read_export",
    "signature_problem",
    "signed_bytes",
    "verify_keys",
]
