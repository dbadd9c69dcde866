"""Hostile input to the runtime commands: one ``error:`` line, exit 1, nothing started or
written (issue 18, item 12). Every case is refused before a server or database is
reached, so the commands run in-process with the server-side calls replaced by spies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.interpreter.helpers import ROOT

from .test_cli import dee

SALES = str(ROOT / "plans" / "sales-sequence.yaml")
DEEP = '{"a":' * 5000 + "1" + "}" * 5000
HUGE_INT = '{"a":' + "9" * 5000 + "}"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What would have been sent to the engine (``dee start`` and ``dee event ingest``)."""
    calls: list[Any] = []

    async def start_all(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(args[2])  # the contacts
        return []

    async def call(config: Any, action: Any) -> Any:
        calls.append(action)
        raise AssertionError("the engine was called")

    monkeypatch.setattr("dee.cli.runs._start_all", start_all)
    monkeypatch.setattr("dee.cli.runs._call", call)
    return calls


def _refused(result: Any, expected: str) -> None:
    assert result.returncode == 1
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_csv_field_over_the_csv_size_limit_is_refused(tmp_path: Path, started: list[Any]) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email\nc-1," + "a" * 140_000 + "\n")
    _refused(
        dee("start", SALES, "--contacts", str(contacts)),
        f"{contacts}: line 2: not a valid CSV row: field larger than field limit (131072)",
    )
    assert started == []


def test_a_csv_that_is_not_utf8_is_refused(tmp_path: Path, started: list[Any]) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes("id,name\nc-1,Jos\xe9\n".encode("latin-1"))
    _refused(
        dee("start", SALES, "--contacts", str(contacts)),
        f"{contacts}: line 2: not UTF-8 text (invalid continuation byte); save the CSV as UTF-8",
    )
    assert started == []


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path: Path, started: list[Any]) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email\nc-1,a@example.com\n", encoding="utf-8-sig")
    result = dee("start", SALES, "--contacts", str(contacts))
    assert result.returncode == 0, result.stderr
    assert started == [[{"id": "c-1", "email": "a@example.com"}]]


def test_duplicate_ids_in_a_csv_are_refused_before_anything_starts(
    tmp_path: Path, started: list[Any]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email\nc-1,a@x.com\nc-2,b@x.com\nc-1,c@x.com\n")
    _refused(
        dee("start", SALES, "--contacts", str(contacts)),
        f"{contacts}: id 'c-1' is on more than one line: lines 2, 4",
    )
    assert started == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "line 1 column 321: nesting deeper than 64 levels"),
        (HUGE_INT, "a: integer of 5000 digits is out of range (at most 2^53-1 in magnitude)"),
    ],
    ids=["deep", "huge-int"],
)
@pytest.mark.parametrize("flag", ["--contact", "--vars"])
def test_hostile_contact_and_vars_json_is_refused(
    tmp_path: Path, started: list[Any], flag: str, text: str, problem: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    good = tmp_path / "contact.json"
    good.write_text('{"id": "c-1"}')
    args = ["--contact", str(bad)] if flag == "--contact" else ["--contact", str(good)]
    if flag == "--vars":
        args += ["--vars", str(bad)]
    _refused(dee("start", SALES, *args), f"{bad}: {problem}")
    assert started == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "line 1 column 321: nesting deeper than 64 levels"),
        (HUGE_INT, "a: integer of 5000 digits is out of range (at most 2^53-1 in magnitude)"),
    ],
    ids=["deep", "huge-int"],
)
def test_hostile_event_data_is_refused(started: list[Any], text: str, problem: str) -> None:
    result = dee("event", "ingest", "--type", "email.opened", "--contact", "c-1", "--data", text)
    _refused(result, f"--data: {problem}")
    assert started == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "line 1 column 321: nesting deeper than 64 levels"),
        (HUGE_INT, "a: integer of 5000 digits is out of range (at most 2^53-1 in magnitude)"),
    ],
    ids=["deep", "huge-int"],
)
def test_a_hostile_history_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    history = tmp_path / "history.json"
    history.write_text(text)
    _refused(dee("replay", "--history", str(history)), f"{history}: {problem}")


def test_audit_export_to_a_directory_is_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_storage(work: Any) -> Any:
        work.close()
        raise AssertionError("the database was reached")

    monkeypatch.setattr("dee.cli.audit.run_storage", no_storage)
    _refused(
        dee("audit", "export", "run-1", "--out", str(tmp_path)),
        f"{tmp_path}: is a directory, expected a file",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "export", "run-\udcff"),
        ("runs", "list", "--status", "x\udced\udcbf\udcbf"),
        ("plan", "validate", "\udcfe.yaml"),
    ],
    ids=["run-id", "status", "file-name"],
)
def test_an_argument_that_is_not_utf8_is_refused_naming_it(args: tuple[str, ...]) -> None:
    # Found by the fuzz harness: Python reads such bytes as lone surrogates, which then
    # failed in the database driver (or printing a file name) with a traceback.
    position = next(i for i, a in enumerate(args, 1) if not a.isascii())
    _refused(dee(*args), f"argument {position} ({args[position - 1]!a}) is not UTF-8 text")
