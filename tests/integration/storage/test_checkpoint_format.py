"""The checkpoint format: its signed bytes are RFC 8785, and any change breaks the seal."""

from __future__ import annotations

from dataclasses import replace

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.storage.checkpoint_format import (
    CheckpointSigner,
    signature_problem,
    signed_bytes,
    verify_keys,
)

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
KEYS = verify_keys([SIGNER.public_key])


@settings(max_examples=200, deadline=None)
@given(
    run_id=st.text(min_size=1, max_size=20),
    n=st.integers(1, 2**31),
    seq=st.integers(1, 2**31),
    closed=st.booleans(),
)
def test_signed_bytes_are_rfc8785(run_id: str, n: int, seq: int, closed: bool) -> None:
    cp = SIGNER.sign(run_id=run_id, n=n, seq=seq, head="a" * 64, closed=closed, prev="0" * 64)
    assert signed_bytes(cp.body()) == rfc8785.dumps(cp.body())
    assert signature_problem(cp, KEYS) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_id", "run-2"),
        ("n", 3),
        ("seq", 8),
        ("head", "c" * 64),
        ("closed", True),
        ("time", "2030-01-01T00:00:00.000000Z"),
        ("prev", "d" * 64),
        ("hash", "e" * 64),
        ("sig", "AAAA"),
    ],
)
def test_any_changed_field_breaks_the_seal(field: str, value: object) -> None:
    cp = SIGNER.sign(run_id="run-1", n=2, seq=7, head="a" * 64, closed=False, prev="b" * 64)
    assert signature_problem(replace(cp, **{field: value}), KEYS) is not None
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    assert "not a trusted public key" in str(
        signature_problem(replace(cp, key_id=other.key_id), KEYS)
    )
