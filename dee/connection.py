"""Connecting to Temporal: one data converter, with the payload codec, for every client.

Every DEE process that exchanges payloads with Temporal (the worker, the engine and
so the CLI and the webhook receiver, the demo, the closing check, the replay of a run
fetched from the server) builds its client here, so they all encrypt with the same
key ring (``adapters.codec``). An exported history file is decoded with
``history_codec`` before anything reads it.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.converter import DataConverter

from adapters.codec import CodecError, EncryptionCodec, KeyRing, load_or_create_key_file
from dee.config import EngineConfig
from dee.errors import DocumentError, EngineError

KEY_FILE_NAME = "codec-keys"


def key_ring(config: EngineConfig) -> KeyRing:
    """The configured keys, else the key file (created with one new key if absent).

    Raises:
        DocumentError: the keys or the key file cannot be used (the message says why).
    """
    codec = config.codec
    try:
        if codec.keys:
            return KeyRing.parse(codec.keys, source="configuration codec.keys")
        return load_or_create_key_file(codec.key_file or config.data_dir / KEY_FILE_NAME)
    except CodecError as exc:
        raise DocumentError([str(exc)]) from None


def reading_codec(config: EngineConfig) -> EncryptionCodec:
    """A codec that decodes with ``config``'s keys, for offline readers of a history file.

    Unlike ``key_ring`` it creates no key file: without configured keys or an existing
    key file it reads unencrypted payloads only, and names the key id of any other.
    """
    codec = config.codec
    path = codec.key_file or config.data_dir / KEY_FILE_NAME
    if not codec.keys and not path.exists():
        return EncryptionCodec(KeyRing(()), encrypt=False)
    return EncryptionCodec(key_ring(config), encrypt=False)


def payload_codec(config: EngineConfig) -> EncryptionCodec:
    """The AES-256-GCM codec over ``config``'s key ring."""
    return EncryptionCodec(key_ring(config), encrypt=config.codec.encrypt)


def data_converter(config: EngineConfig) -> DataConverter:
    """Temporal's default converter with ``config``'s payload codec."""
    return dataclasses.replace(DataConverter.default, payload_codec=payload_codec(config))


async def connect(config: EngineConfig, *, address: str | None = None) -> Client:
    """A client of ``config``'s Temporal (or ``address``) with ``data_converter(config)``.

    Raises:
        DocumentError: the codec keys cannot be used.
        EngineError: Temporal cannot be reached.
    """
    converter = data_converter(config)  # a key problem is reported before any dialling
    target = address or config.temporal.address
    try:
        return await Client.connect(
            target, namespace=config.temporal.namespace, data_converter=converter
        )
    except RuntimeError as exc:  # temporalio's bare error when it cannot connect
        raise EngineError([f"cannot reach Temporal at {target}: {exc}"]) from None


__all__ = [
    "KEY_FILE_NAME",
    "connect",
    "data_converter",
    "key_ring",
    "payload_codec",
    "reading_codec",
]
