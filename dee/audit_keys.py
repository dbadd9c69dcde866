"""The public keys a chain's signed checkpoints are checked against (docs/audit.md).

Shared by ``dee audit verify``, ``dee replay`` and ``Engine.replay``, so each trusts
the same keys: those given, else the configured signing key's public half.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adapters.storage import load_public_key, load_signing_key, verify_keys
from adapters.storage.checkpoint_format import VerifyKeys
from dee.config import EngineConfig


def verifying_keys(config: EngineConfig, given: Sequence[Path] | None = None) -> VerifyKeys | None:
    """The trusted public keys: those given, else the configured signing key's, if it
    exists (``None``: no key anywhere, so the chains are checked without checkpoints)."""
    if given:
        return verify_keys(load_public_key(path) for path in given)
    key_file, _ = config.audit.signing_key(config.data_dir)
    if not key_file.exists():
        return None
    return verify_keys([load_signing_key(key_file, create=False).public_key])


__all__ = ["verifying_keys"]
