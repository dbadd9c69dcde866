"""A bulk enrolment's workflow inputs, with the plan's JSON made once per batch.

Every ``RunInput`` of a bulk start carries the same plan snapshot. The SDK's
converter turns each input into a dict (``dataclasses.asdict``, which copies the
whole plan document) and then into JSON: measured in ``dee start --contacts``, that
was 40 % of the client's CPU per start (py-spy, 5,000 contacts), CPU taken from
the server and worker on the same machine. Here the plan's JSON is made once and
each start's payload is the small rest around it.

The payload is byte for byte what the SDK's default converter makes for the same
input (sorted keys, compact separators, the SDK's JSON encoder), so the workflow
reads it as it reads any start, and its history is the same. With any other
payload converter the input goes to the SDK unchanged; a payload codec (encryption,
compression) still applies to the finished payload either way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import (
    AdvancedJSONEncoder,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from activities import contracts as c
from adapters.json_text import encode_with

_FIELDS = sorted(f.name for f in dataclasses.fields(c.RunInput))
# The fields sorted before and after "plan", the one that is pasted in.
_BEFORE = [name for name in _FIELDS if name < "plan"]
_AFTER = [name for name in _FIELDS if name > "plan"]
_ENCODING = {"encoding": JSONPlainPayloadConverter().encoding.encode()}


# ``json.dumps`` as the SDK's JSON converter calls it, with the encoder made once
# (``json.dumps(cls=...)`` builds one per call, and ``encode`` a C encoder per call).
_dumps = encode_with(AdvancedJSONEncoder(separators=(",", ":"), sort_keys=True))


class InputEncoder:
    """Encodes the ``RunInput`` of each start of one plan snapshot (``document``)."""

    def __init__(self, converter: DataConverter, document: dict[str, Any]) -> None:
        self.document = document
        # Only the default converter's output is known here; any other gets the input.
        self._plan_json = (
            _dumps(document)
            if converter.payload_converter_class is DefaultPayloadConverter
            else None
        )

    def __call__(self, inp: c.RunInput) -> c.RunInput | RawValue:
        """The start argument for ``inp``: a finished payload when its plan is this
        batch's document (the same object), else ``inp`` itself for the SDK."""
        if self._plan_json is None or inp.plan is not self.document:
            return inp
        # Nested values need no asdict: the SDK's encoder turns a dataclass found
        # inside a dict or list into the same JSON asdict would have made.
        before = _dumps({name: getattr(inp, name) for name in _BEFORE})
        after = _dumps({name: getattr(inp, name) for name in _AFTER})
        text = f'{before[:-1]},"plan":{self._plan_json},{after[1:]}'
        return RawValue(Payload(metadata=_ENCODING, data=text.encode()))
