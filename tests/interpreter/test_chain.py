"""The audit hash chain: documented byte layout, linking, and tamper detection."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from interpreter import GENESIS_HASH, TraceEntry, chain, simulate, verify
from interpreter.chain import canonical_json, entry_hash

from .helpers import sales_plan


def _entries() -> list[TraceEntry]:
    return list(simulate(sales_plan(), {"id": "c-1"}, []).entries)


def test_hash_matches_the_documented_layout_computed_independently() -> None:
    first = chain("run-1", _entries())[0]
    body = {k: v for k, v in first.as_dict().items() if k != "hash"}
    # For ASCII text and integers RFC 8785 is sorted keys without whitespace.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert first.hash == hashlib.sha256(canonical).hexdigest()
    assert first.prev_hash == GENESIS_HASH and first.seq == 1


def test_each_entry_links_to_the_previous_hash() -> None:
    chained = chain("run-1", _entries())
    for prev, cur in itertools.pairwise(chained):
        assert cur.prev_hash == prev.hash and cur.seq == prev.seq + 1
    assert verify([e.as_dict() for e in chained]) is None


def test_a_chain_continues_across_batches() -> None:
    entries = _entries()
    whole = chain("run-1", entries)
    head = chain("run-1", entries[:5])
    tail = chain("run-1", entries[5:], start_seq=6, prev_hash=head[-1].hash)
    assert [e.hash for e in head + tail] == [e.hash for e in whole]


def test_tampering_is_pinpointed_to_the_entry_and_field() -> None:
    rows = [e.as_dict() for e in chain("run-1", _entries())]
    rows[3]["outcome"] = "allowed-by-hand"
    broken = verify(rows)
    assert broken is not None
    assert (broken.run_id, broken.seq, broken.field) == ("run-1", 4, "hash")


def test_a_removed_entry_breaks_the_sequence() -> None:
    rows = [e.as_dict() for e in chain("run-1", _entries())]
    del rows[2]
    broken = verify(rows)
    assert broken is not None and (broken.seq, broken.field) == (3, "seq")


def test_a_relinked_entry_is_caught_by_its_prev_hash() -> None:
    rows = [e.as_dict() for e in chain("run-1", _entries())]
    rows[4]["prev_hash"] = "f" * 64
    broken = verify(rows)
    assert broken is not None and (broken.seq, broken.field) == (5, "prev_hash")


def test_the_run_id_is_part_of_the_hash() -> None:
    assert chain("run-1", _entries())[0].hash != chain("run-2", _entries())[0].hash


JSON_KEYS = st.text(max_size=6)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(JSON_KEYS, children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_the_fast_canonical_encoder_is_byte_identical_to_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ufb01": 2},  # UTF-16 and code-point key order differ here
        {"a": '\u2028\u2029\x7f\x00\x1f"\\'},
        {"n": 2**53 - 1, "f": 1e21, "g": 0.1, "z": -0.0},
    ],
)
def test_edge_cases_of_canonical_json(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


IDS = st.text(max_size=10)


@given(
    run_id=IDS,
    seq=st.integers(min_value=1, max_value=2**53 - 1),
    tick=st.integers(min_value=0, max_value=2**53 - 1),
    step_id=IDS,
    action=IDS,
    outcome=IDS,
    detail=st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=4),
    prev_hash=IDS,
)
def test_entry_hash_is_sha256_of_the_reference_canonical_json(
    run_id: str,
    seq: int,
    tick: int,
    step_id: str,
    action: str,
    outcome: str,
    detail: dict[str, object],
    prev_hash: str,
) -> None:
    fields = {
        "run_id": run_id,
        "seq": seq,
        "tick": tick,
        "step_id": step_id,
        "action": action,
        "outcome": outcome,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    expected = hashlib.sha256(rfc8785.dumps(fields)).hexdigest()
    assert entry_hash(**fields) == expected  # type: ignore[arg-type]


@given(
    run_id=IDS,
    start=st.integers(min_value=1, max_value=1000),
    prev=IDS,
    rows=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**53 - 1),
            IDS,
            IDS,
            IDS,
            st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=3),
        ),
        max_size=5,
    ),
)
def test_chain_hashes_equal_entry_hash_of_each_entry(
    run_id: str, start: int, prev: str, rows: list[tuple[int, str, str, str, dict[str, object]]]
) -> None:
    entries = [TraceEntry(t, s, a, o, d) for t, s, a, o, d in rows]
    chained = chain(run_id, entries, start_seq=start, prev_hash=prev)
    expected_prev = prev
    for seq, (entry, got) in enumerate(zip(entries, chained, strict=True), start=start):
        assert got.prev_hash == expected_prev
        assert got.hash == entry_hash(
            run_id=run_id, seq=seq, tick=entry.tick, step_id=entry.step_id, action=entry.action,
            outcome=entry.outcome, detail=entry.detail, prev_hash=expected_prev,
        )  # fmt: skip
        expected_prev = got.hash
