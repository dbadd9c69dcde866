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
from dee.temporal_access import connect_options, failure_lines

KEY_FILE_NAME = "codec-keys"


def payload_codec(config: EngineConfig, *, encrypt: bool | None = None) -> EncryptionCodec:
    """The AES-256-GCM codec over ``config``'s keys (``encrypt``: default ``codec.encrypt``).

    The configured keys, else the key file (default ``<data_dir>/codec-keys``): read if
    it exists, created with one new key (0600) at the first payload written, so a
    command that is refused, or only reads, creates none.

    Raises:
        DocumentError: the keys or the key file cannot be used (the message says why).
    """
    codec = config.codec
    writes = codec.encrypt if encrypt is None else encrypt
    try:
        if codec.keys:
            ring = KeyRing.parse(codec.keys, source="configuration codec.keys")
            return EncryptionCodec(ring, encrypt=writes)
        path = codec.key_file or config.data_dir / KEY_FILE_NAME
        ring = load_or_create_key_file(path) if path.exists() else KeyRing(())
    except CodecError as exc:
        raise DocumentError([str(exc)]) from None
    return EncryptionCodec(ring, encrypt=writes, key_file=path)


def reading_codec(config: EngineConfig) -> EncryptionCodec:
    """A codec that only decodes, for offline readers of a history file: without keys
    it reads unencrypted payloads and names the key id of any other."""
    return payload_codec(config, encrypt=False)


def data_converter(config: EngineConfig) -> DataConverter:
    """Temporal's default converter with ``config``'s payload codec."""
    return dataclasses.replace(DataConverter.default, payload_codec=payload_codec(config))


async def connect(config: EngineConfig, *, address: str | None = None) -> Client:
    """A client of ``config``'s Temporal (or ``address``) with ``data_converter(config)``,
    over TLS and with an API key as ``config.temporal`` says (``dee.temporal_access``).

    Raises:
        DocumentError: the codec keys, or a TLS or API-key setting, cannot be used.
        EngineError: Temporal cannot be reached, or refused the connection (the lines
            name the setting to look at where the SDK's error points at one).
    """
    converter = data_converter(config)  # a key problem is reported before any dialling
    options = connect_options(config, address=address)
    target = options.target
    try:
        return await Client.connect(
            target,
            namespace=options.namespace,
            api_key=options.api_key,
            tls=options.tls,
            data_converter=converter,
        )
    except RuntimeError as exc:  # temporalio's bare error when it cannot connect
        raise EngineError(failure_lines(config, target, str(exc))) from None


__all__ = ["KEY_FILE_NAME", "connect", "data_converter", "payload_codec", "reading_codec"]
