"""``dee policy ledger import`` run as a user would (a subprocess): a valid file seeds
the ledger the gate counts, a re-import adds nothing, a bad file writes nothing and
names each bad line and column."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.policy.ledger import read_attempts
from adapters.policy.rules.model import Attempt
from adapters.storage import Database

from .helpers import ledger_rows, run_dee

pytestmark = pytest.mark.asyncio(loop_scope="session")

VALID = """contact_id,channel,at,outcome,debt_ref,subject,caller_id
c1,voice,2025-06-09T10:00:00-04:00,answered,D-9,loan,+15550001111
c1,voice,2025-06-10T14:30:00Z,,D-9,,
c2,email,2025-06-10T09:00:00+02:00,,,,
"""


async def test_a_valid_file_is_imported_once(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    seed = tmp_path / "dialer.csv"
    seed.write_text(VALID)

    first = run_dee(cli_env, tmp_path, "policy", "ledger", "import", str(seed), "--tenant", "acme")
    again = run_dee(cli_env, tmp_path, "policy", "ledger", "import", str(seed), "--tenant", "acme")

    assert first.returncode == 0, first.stderr
    assert (
        first.stdout
        == f"imported 3 attempts from {seed} for tenant acme (0 already in the ledger)\n"
    )
    assert again.returncode == 0, again.stderr
    assert "imported 0 attempts" in again.stdout and "(3 already in the ledger)" in again.stdout
    assert await ledger_rows(database) == 3
    since = datetime(2025, 6, 1, tzinfo=UTC)
    async with database.snapshot() as conn:
        c1 = await read_attempts(conn, "acme", "c1", since)
        c2 = await read_attempts(conn, "acme", "c2", since)
    at = datetime(2025, 6, 9, 14, 0, tzinfo=UTC)
    assert c1 == (
        Attempt("voice", at, "answered", "D-9", "loan", "+15550001111", "import"),
        Attempt("voice", at + timedelta(days=1, minutes=30), None, "D-9", None, None, "import"),
    )
    assert c2 == (Attempt("email", datetime(2025, 6, 10, 7, tzinfo=UTC), source="import"),)


@pytest.mark.parametrize(
    ("content", "errors"),
    [
        (
            VALID + "c3,sms,2025-06-10T09:00:00Z,,,,\n"
            "c4,voice,yesterday,,,,\n"
            ",voice,2025-06-10T09:00:00,hung,,,\n",
            [
                "line 5, column channel: 'sms' is not one of voice, email",
                "line 6, column at: 'yesterday' is not an ISO 8601 date-time",
                "line 7, column contact_id: must not be empty",
                "line 7, column at: '2025-06-10T09:00:00' needs an offset",
                "line 7, column outcome: 'hung' is not one of answered, busy, completed, "
                "failed, no_answer, voicemail (or empty)",
            ],
        ),
        (VALID + "c1,voice\n", ["line 5: 2 fields where the header has 7"]),
        (
            "contact_id,channel,when\nc1,voice,x\n",
            [
                "line 1, column 'when': unknown column",
                "line 1: column 'at' is required",
            ],
        ),
        ("", ["the file is empty (a header row is required)"]),
    ],
)
async def test_a_bad_file_writes_nothing_and_names_each_line_and_column(
    database: Database,
    cli_env: Mapping[str, str],
    tmp_path: Path,
    content: str,
    errors: list[str],
) -> None:
    seed = tmp_path / "bad.csv"
    seed.write_text(content)

    result = run_dee(cli_env, tmp_path, "policy", "ledger", "import", str(seed), "--tenant", "acme")

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == len(errors), result.stderr
    for line, error in zip(lines, errors, strict=True):
        assert line.startswith(f"error: {seed}: {error}"), (line, error)
    assert await ledger_rows(database) == 0


async def test_a_missing_file_is_an_error(cli_env: Mapping[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = run_dee(cli_env, tmp_path, "policy", "ledger", "import", str(missing), "--tenant", "a")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {missing}: cannot read the file: ")
