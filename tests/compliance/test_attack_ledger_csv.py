"""Attacks on the ledger CSV reader (``dee policy ledger import``): hostile files end
in an error naming file, line and column, never a traceback or an unbounded read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dee.cli.ledger import MAX_BYTES, MAX_ROWS, parse_ledger_csv
from dee.errors import EngineError

HEADER = "contact_id,channel,at,outcome,debt_ref,subject,caller_id\n"
ROW = "c1,voice,2025-06-09T10:00:00Z,,D-9,,\n"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _errors(path: Path) -> list[str]:
    with pytest.raises(EngineError) as raised:
        parse_ledger_csv(path, now=NOW)
    return list(raised.value.lines)


def test_more_rows_than_one_import_holds_are_refused(tmp_path: Path) -> None:
    seed = tmp_path / "many.csv"
    seed.write_text(HEADER + ROW * (MAX_ROWS + 1))
    assert any(f"line {MAX_ROWS + 2}: more than {MAX_ROWS} rows" in e for e in _errors(seed))


def test_a_file_past_the_byte_limit_is_refused_unread(tmp_path: Path) -> None:
    seed = tmp_path / "huge.csv"
    seed.write_text(HEADER + "x" * MAX_BYTES)
    assert any(f"larger than {MAX_BYTES} bytes" in e for e in _errors(seed))


def test_bom_crlf_and_formula_text_are_read_as_plain_text(tmp_path: Path) -> None:
    # A spreadsheet's formula is data here: stored as written, never evaluated.
    seed = tmp_path / "excel.csv"
    seed.write_bytes(
        ("\ufeff" + HEADER + "=cmd|' /C calc'!A0,voice,2025-06-09T10:00:00Z,,,,\r\n").encode()
    )
    [row] = parse_ledger_csv(seed, now=NOW)
    assert row.contact_id == "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"contact_id,channel,at\nc\xe9,voice,2025-06-09T10:00:00Z\n", "cannot read the file"),
        (HEADER.encode() + b"c1,voice,2025-06-09T10:00:00,,,,\n", "line 2, column at"),
        (HEADER.encode() + b"c1,voice,2026-06-09T10:00:00Z,,,,\n", "is in the future"),
        (HEADER.encode() + b'c1,voice,"unterminated\n', "line"),
        (b"", "the file is empty"),
    ],
)
def test_hostile_files_name_the_problem(tmp_path: Path, content: bytes, error: str) -> None:
    seed = tmp_path / "bad.csv"
    seed.write_bytes(content)
    assert any(error in e for e in _errors(seed))
