"""Attacks on ``dee policy explain`` (a real ``dee`` process): hostile ``--at``,
``--contact`` and ``--history`` end with a clear error naming the option or file and
field, no traceback, and no database written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_policy_explain import Dee


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ("--at 0001-01-01T00:00:00Z", "--at: '0001-01-01T00:00:00Z' is more than 100 years"),
        ("--at 9999-12-31T23:00:00Z", "--at: '9999-12-31T23:00:00Z' is more than 100 years"),
        ("--at 2026-01-05T15:00:00", "needs an offset"),
        ("--contact deep.json", "deep.json: line 1 column 65: nesting deeper than 64 levels"),
        ("--history types.json", "types.json: [0].at: an ISO 8601 date-time with an offset"),
    ],
)
def test_hostile_input_is_refused_and_nothing_is_written(
    tmp_path: Path, args: str, error: str
) -> None:
    dee = Dee(tmp_path)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "types.json").write_text(json.dumps([{"channel": "voice", "at": 1}]))
    if "--contact" not in args:
        args += " --contact c.json"

    result = dee(f"policy explain --channel voice {args}")

    assert result.returncode != 0
    assert error in result.stderr
    assert not (tmp_path / "dee.db").exists()
