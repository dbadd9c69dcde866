"""Attacks on ``dee policy ledger import`` run as a user would (a subprocess): hostile
files end with a clear error naming line and column and write nothing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from adapters.storage import Database

from .helpers import ledger_rows, run_dee

pytestmark = pytest.mark.asyncio(loop_scope="session")
HEADER = "contact_id,channel,at,outcome,debt_ref,subject,caller_id"


async def test_an_attempt_dated_in_the_future_is_refused_with_its_line_and_nothing_is_written(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    # A mistyped year would count against the contact for ever (and 9999 leaves the
    # calendar when a cap adds its window).
    seed = tmp_path / "dialer.csv"
    seed.write_bytes(
        (
            "\ufeff" + HEADER + "\r\n"
            "c1,voice,2025-06-09T10:00:00-04:00,answered,D-9,,\r\n"
            "c1,voice,9999-12-31T12:00:00Z,,D-9,,\r\n"
        ).encode()
    )

    result = run_dee(cli_env, tmp_path, "policy", "ledger", "import", str(seed), "--tenant", "acme")

    assert result.returncode != 0
    assert "line 3, column at: '9999-12-31T12:00:00Z' is in the future" in result.stderr
    assert await ledger_rows(database) == 0
