"""tools/verify_audit_chain.py: an independent verifier that agrees with interpreter.chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storage_helpers import as_dicts, load_verifier, make_chain

from interpreter.chain import verify as verify_chain

tool = load_verifier()
TOOL_PATH = Path(tool.__file__)
JSON_VALUES = st.one_of(
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=3),
)


def _as_tuple(broken: Any) -> tuple[Any, ...] | None:
    if broken is None:
        return None
    return (broken.run_id, broken.seq, broken.field, broken.expected, broken.actual)


def _agree(entries: list[dict[str, Any]]) -> tuple[Any, ...] | None:
    """Both verifiers' first break (run, seq, field, expected, actual), asserted equal."""
    ours = _as_tuple(verify_chain(entries))
    assert _as_tuple(tool.verify_run(entries)) == ours
    return ours


def test_good_chains_verify_with_both() -> None:
    for n in (1, 2, 17):
        assert _agree(as_dicts(make_chain("run-good", n))) is None


@pytest.mark.parametrize(
    ("field", "value", "expected_field"),
    [
        ("outcome", "bounced", "hash"),
        ("tick", 12345, "hash"),
        ("step_id", "elsewhere", "hash"),
        ("action", "send_voice", "hash"),
        ("detail", {"i": 4}, "hash"),
        ("hash", "0" * 64, "hash"),
        ("prev_hash", "1" * 64, "prev_hash"),
        ("seq", 99, "seq"),
    ],
)
def test_tampered_field_is_reported_identically(
    field: str, value: Any, expected_field: str
) -> None:
    entries = as_dicts(make_chain("run-t", 10))
    entries[4][field] = value

    broken = _agree(entries)

    assert broken is not None and broken[1:3] == (5, expected_field)


@pytest.mark.parametrize("change", ["delete", "duplicate", "swap", "truncate-head"])
def test_structural_tampering_is_reported_identically(change: str) -> None:
    entries = as_dicts(make_chain("run-s", 8))
    if change == "delete":
        del entries[3]
    elif change == "duplicate":
        entries.insert(3, dict(entries[3]))
    elif change == "swap":
        entries[3], entries[4] = entries[4], entries[3]
    else:
        entries = entries[2:]

    assert _agree(entries) is not None


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 12),
    position=st.integers(0, 11),
    field=st.sampled_from(
        ["seq", "tick", "step_id", "action", "outcome", "detail", "prev_hash", "hash"]
    ),
    value=JSON_VALUES,
)
def test_any_single_tamper_is_reported_identically(
    n: int, position: int, field: str, value: Any
) -> None:
    entries = as_dicts(make_chain("run-h", n))
    entry = entries[position % n]
    if field == "detail":
        value = {"tampered": value}
    elif field in ("seq", "tick"):
        value = value if isinstance(value, int) and not isinstance(value, bool) else 7
    else:
        value = value if isinstance(value, str) else "tampered"
    changed = entry[field] != value
    entry[field] = value

    broken = _agree(entries)

    assert (broken is None) == (not changed)


def _write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL_PATH), *args], capture_output=True, text=True, check=False
    )


def test_command_line_ok_and_broken(tmp_path: Path) -> None:
    good = as_dicts(make_chain("run-a", 3)) + as_dicts(make_chain("run-b", 2))
    bad = as_dicts(make_chain("run-c", 4))
    bad[2]["outcome"] = "forged"
    moved = as_dicts(make_chain("run-d", 3))
    moved[1]["run_id"] = "run-e"

    ok = _run(str(_write(tmp_path / "good.jsonl", good)))
    broken = _run(str(_write(tmp_path / "bad.jsonl", bad)))
    regrouped = _run(str(_write(tmp_path / "moved.jsonl", moved)))

    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "ok run run-a: 3 entries (seq 1..3)",
        "ok run run-b: 2 entries (seq 1..2)",
    ]
    assert broken.returncode == 1
    assert broken.stdout.startswith("BROKEN run run-c: entry seq 3: hash is ")
    assert regrouped.returncode == 1 and "run run-d: entry seq 2: seq" in regrouped.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "good.jsonl:2: not valid JSON"),
        ("[1, 2]\n", "good.jsonl:2: an entry is a JSON object, got list"),
        ('{"run_id": "r"}\n', "good.jsonl:2: field 'seq' is missing"),
        ("DUPLICATE", "good.jsonl:2: not valid JSON: duplicate key 'seq'"),
        ("NAN", "good.jsonl:2: not valid JSON: NaN is not JSON"),
        ("SEQ_TEXT", "good.jsonl:2: field 'seq' must be an integer"),
        ("DETAIL_LIST", "good.jsonl:2: field 'detail' must be a JSON object"),
        ("BIG_INT", "good.jsonl:2: field 'detail' cannot be canonicalized"),
    ],
)
def test_malformed_exports_are_named(tmp_path: Path, content: str, message: str) -> None:
    first, second = as_dicts(make_chain("run-m", 2))
    line = json.dumps(second)
    replacements = {
        "DUPLICATE": line[:-1] + ', "seq": 2}',
        "NAN": line.replace('"tick": 10', '"tick": NaN'),
        "SEQ_TEXT": line.replace('"seq": 2', '"seq": "2"'),
        "DETAIL_LIST": json.dumps({**second, "detail": [1]}),
        "BIG_INT": json.dumps({**second, "detail": {"n": 2**64}}),
    }
    path = tmp_path / "good.jsonl"
    path.write_text(json.dumps(first) + "\n" + replacements.get(content, content.rstrip()) + "\n")

    result = _run(str(path))

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path}/{message}")
    assert result.stdout == ""


def test_missing_and_empty_files_are_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")

    missing = _run(str(tmp_path / "nope.jsonl"))
    nothing = _run(str(empty))

    assert missing.returncode == 2 and "nope.jsonl: cannot read" in missing.stderr
    assert nothing.returncode == 2 and "no entries" in nothing.stderr
