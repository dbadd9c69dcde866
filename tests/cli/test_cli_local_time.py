"""``dee plan simulate --start-at``: the run's origin is an input, local times are shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interpreter.compiled import DEFAULT_START_AT_MS
from interpreter.local_time import parse_utc_iso
from tests.interpreter.helpers import ROOT

from .test_cli import dee

AWAIT = str(ROOT / "plans" / "sales-await-reply.yaml")
FRIDAY_EVENING = "2026-01-09T18:00:00-05:00"  # America/New_York, the plan's default zone


def _sends(doc: dict[str, object]) -> list[dict[str, object]]:
    trace = doc["trace"]
    assert isinstance(trace, list)
    return [e for e in trace if e["action"] == "send_email"]


def test_a_friday_evening_start_sends_on_monday_at_nine_local() -> None:
    result = dee("plan", "simulate", AWAIT, "--start-at", FRIDAY_EVENING, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    monday_nine = (
        parse_utc_iso("2026-01-12T09:00:00-05:00") - parse_utc_iso(FRIDAY_EVENING)
    ) // 1000
    assert _sends(doc)[0]["stepId"] == "intro-email" and _sends(doc)[0]["tick"] == monday_nine
    (deferral,) = [e for e in doc["trace"] if e["action"] == "window"]
    assert deferral["detail"]["opensLocal"] == "2026-01-12T09:00:00-05:00"
    assert doc["trace"][0]["detail"]["origin"] == "2026-01-09T23:00:00.000Z"


def test_the_table_shows_each_entry_at_its_local_time() -> None:
    result = dee("plan", "simulate", AWAIT, "--start-at", FRIDAY_EVENING)
    assert result.returncode == 0, result.stderr
    assert "time (America/New_York)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "send_email" in line]
    assert "Mon 2026-01-12 09:00" in rows[0]  # the window's opening
    assert "Thu 2026-01-15 09:30" in rows[1]  # three days on, then the next 09:30


def test_the_default_start_is_the_documented_instant() -> None:
    result = dee("plan", "simulate", AWAIT, "--json")
    doc = json.loads(result.stdout)
    assert parse_utc_iso(doc["trace"][0]["detail"]["origin"]) == DEFAULT_START_AT_MS
    assert result.stdout == dee("plan", "simulate", AWAIT, "--json").stdout
    help_text = dee("plan", "simulate", "--help").stdout
    assert "--start-at" in help_text and "2026-01-05T09:00:00.000Z" in help_text


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("tomorrow", "is not an ISO-8601 instant with a UTC offset"),
        ("2026-01-09T18:00:00", "is not an ISO-8601 instant with a UTC offset"),
        ("2026-02-30T09:00:00Z", "is not an ISO-8601 instant"),
        ("0001-01-01T00:00:00Z", "is outside 1970-01-01T00:00:00Z .. 9999-01-01T00:00:00Z"),
        ("2026\u202e" + "9" * 5000, "'2026\\u202e999"),  # escaped, and shortened below
    ],
)
def test_a_bad_start_is_a_usage_error_naming_the_option(value: str, problem: str) -> None:
    result = dee("plan", "simulate", AWAIT, "--start-at", value)
    assert result.returncode == 2 and result.stdout == ""
    assert "Invalid value for '--start-at'" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 1000


def test_a_contact_zone_moves_the_send_and_the_shown_times(tmp_path: Path) -> None:
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-1", "timezone": "Asia/Kolkata"}))
    result = dee("plan", "simulate", AWAIT, "--contact", str(contact), "--start-at", FRIDAY_EVENING)
    assert result.returncode == 0, result.stderr
    assert "time (Asia/Kolkata)" in result.stdout
    # Friday 18:00 in New York is Saturday 04:30 in Kolkata: the window opens Monday.
    rows = [line for line in result.stdout.splitlines() if "send_email" in line]
    assert "Mon 2026-01-12 09:00" in rows[0]
