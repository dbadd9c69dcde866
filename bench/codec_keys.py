"""The bench's payload codec: DEE's data converter with a fixed key, or none."""

from __future__ import annotations

from temporalio.converter import DataConverter

from dee.codec_config import CodecConfig
from dee.config import EngineConfig
from dee.connection import data_converter

# A fixed bench key (32 bytes, base64): the cost does not depend on the key.
BENCH_CODEC_KEYS = "bench-1:YmVuY2gtb25seS1jb2RlYy1rZXktMDAwMDAwMDAwMDA="


def bench_converter(keys: str) -> DataConverter:
    """DEE's data converter with ``keys`` (``dee.connection``), or the SDK's default."""
    if not keys:
        return DataConverter.default
    return data_converter(EngineConfig(codec=CodecConfig(keys=(keys,))))
