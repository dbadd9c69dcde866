"""Decoding every payload of an exported history, for readers that work offline.

DEE's own readers of a history (``dee replay``, re-execution, what-if) and Temporal's
``Replayer`` then see the payloads as the workflow wrote them, before the codec. Every
``Payload`` message anywhere in the events is found by walking the protobuf messages,
so a field a later API version adds is decoded too, not silently left encrypted.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec

_PAYLOAD = Payload.DESCRIPTOR.full_name
# Search attributes are indexed by the server, so they are never encoded.
_SKIP = {"temporal.api.common.v1.SearchAttributes"}


def _payloads(message: Message) -> Iterator[Payload]:
    if message.DESCRIPTOR.full_name in _SKIP:
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        kind = field.message_type
        assert kind is not None  # a message field has a message type
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                continue
            values = list(value.values())
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            if item.DESCRIPTOR.full_name == _PAYLOAD:
                yield item
            else:
                yield from _payloads(item)


async def decode_history_payloads(history: WorkflowHistory, codec: PayloadCodec) -> WorkflowHistory:
    """A copy of ``history`` with every payload decoded by ``codec``.

    Raises:
        CodecError: a payload names a key the codec lacks, or fails authentication.
    """
    events = []
    for event in history.events:
        copy = type(event)()
        copy.CopyFrom(event)
        events.append(copy)
    found = [p for event in events for p in _payloads(event)]
    if found:
        for payload, decoded in zip(found, await codec.decode(found), strict=True):
            if decoded is not payload:
                payload.CopyFrom(decoded)
    return WorkflowHistory(history.workflow_id, events)


__all__ = ["decode_history_payloads"]
