"""``InputEncoder``: a bulk start's payload is the SDK's own, made with less work."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import (
    DataConverter,
    DefaultPayloadConverter,
    PayloadCodec,
)

from activities import contracts as c
from bench.plans import short_sales_plan
from dee.runs.start_payload import InputEncoder

DOCUMENT = short_sales_plan().to_document()
INPUTS = [
    c.RunInput("r-1", "acme", DOCUMENT, "sha256:abc", {"id": "c-1", "email": "a@example.com"}),
    c.RunInput(
        "r-2",
        "ünïcode",
        DOCUMENT,
        "h",
        {"id": "c-2", "name": 'Zoë "quoted" \u2603', "n": 3},
        {"product": "DEE", "nested": {"list": [1, 2.5, None, True]}},
        start_tick=7,
        tick_interval_ms=250,
        step_budget=9,
        search_attributes=False,
        origin_epoch_ms=1_700_000_000_000,
        state={"status": "WAITING"},
        chain_seq=4,
        chain_head="ff",
        unpersisted=[{"seq": 5, "detail": {}}],
    ),
]


def sdk_payload(inp: c.RunInput) -> Payload:
    [payload] = DataConverter.default.payload_converter.to_payloads([inp])
    return payload


@pytest.mark.parametrize("inp", INPUTS, ids=["plain", "every-field"])
def test_the_payload_is_byte_for_byte_the_sdk_s(inp: c.RunInput) -> None:
    encoded = InputEncoder(DataConverter.default, DOCUMENT)(inp)

    assert isinstance(encoded, RawValue)
    assert encoded.payload == sdk_payload(inp)
    [decoded] = DataConverter.default.payload_converter.from_payloads(
        [encoded.payload], [c.RunInput]
    )
    assert decoded == inp


def test_another_plan_document_goes_to_the_sdk_unchanged() -> None:
    other = dataclasses.replace(INPUTS[0], plan=dict(DOCUMENT))  # equal, but not this batch's

    assert InputEncoder(DataConverter.default, DOCUMENT)(other) is other


class _Converter(DefaultPayloadConverter):
    """A converter of the user's own: its output is not known to the encoder."""


def test_a_converter_of_the_user_s_own_gets_the_input() -> None:
    converter = DataConverter(payload_converter_class=_Converter)

    assert InputEncoder(converter, DOCUMENT)(INPUTS[0]) is INPUTS[0]


class _Base64(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": b"test/b64"}, data=base64.b64encode(p.SerializeToString())
            )
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload.FromString(base64.b64decode(p.data)) for p in payloads]


async def test_a_payload_codec_still_encodes_the_finished_payload() -> None:
    converter = DataConverter(payload_codec=_Base64())
    encoded: Any = InputEncoder(converter, DOCUMENT)(INPUTS[1])

    [sent] = await converter.encode([encoded])

    assert sent.metadata["encoding"] == b"test/b64"
    assert await converter.decode([sent], [c.RunInput]) == [INPUTS[1]]
