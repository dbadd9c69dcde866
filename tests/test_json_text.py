"""``adapters.json_text.encode_with``: the same text as the encoder's own ``encode``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
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
# Infinities and NaN too (one encoder refuses them), and mappings JSON does not know
# (the audit encoder's ``default`` turns them into dicts; the SDK's refuses them).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=3).map(MappingProxyType)
    ),
    max_leaves=20,
)


def _outcome(encode: Callable[[Any], str], value: Any) -> tuple[str, str]:
    try:
        return "text", encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", sorted(ENCODERS))
@given(value=JSON)
def test_the_outcome_is_the_encoders_own(name: str, value: Any) -> None:
    encoder = ENCODERS[name]
    assert _outcome(encode_with(encoder), value) == _outcome(encoder.encode, value)


def test_default_still_applies_to_values_json_does_not_know() -> None:
    detail = MappingProxyType({"b": "é", "a": [1, 2.5, None]})
    assert detail_json(detail) == '{"b":"é","a":[1,2.5,null]}'
    with pytest.raises(TypeError, match="set is not JSON"):
        detail_json({"a": {1, 2}})


def test_refusals_are_the_encoders_own() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        detail_json({"a": math.nan})
