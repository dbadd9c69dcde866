"""``adapters.json_text.encode_with``: the same text as the encoder's own ``encode``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.converter import AdvancedJSONEncoder

from adapters.json_text import encode_with
from adapters.storage.audit_append import detail_json


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


ENCODERS = {
    "audit detail": json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain
    ),
    "SDK payload": AdvancedJSONEncoder(separators=(",", ":"), sort_keys=True),
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("name", sorted(ENCODERS))
@given(value=JSON)
def test_the_text_is_the_encoders_own(name: str, value: Any) -> None:
    encoder = ENCODERS[name]
    assert encode_with(encoder)(value) == encoder.encode(value)


def test_default_still_applies_to_values_json_does_not_know() -> None:
    detail = MappingProxyType({"b": "é", "a": [1, 2.5, None]})
    assert detail_json(detail) == '{"b":"é","a":[1,2.5,null]}'
    with pytest.raises(TypeError, match="set is not JSON"):
        detail_json({"a": {1, 2}})


def test_refusals_are_the_encoders_own() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        detail_json({"a": math.nan})
