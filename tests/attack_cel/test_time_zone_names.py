"""A condition may not name a time zone for CEL's timestamp accessors: the library
reads the evaluating machine's time zone files for it (issue 23), so the branch would
depend on the worker, and a replay elsewhere could take another one."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from interpreter.cel_validate import check_condition_google

ROOT = Path(__file__).resolve().parents[2]
PARIS = 'timestamp("2026-07-01T12:00:00Z").getHours("Europe/Paris")'


def _hours_with(tzdir: str) -> str:
    code = (
        "from interpreter.cel_env import compile_condition as c\n"
        f"try: print(c({PARIS!r}).evaluate())\n"
        "except Exception as e: print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "TZDIR": tzdir},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_library_reads_the_machines_time_zone_files(tmp_path: Path) -> None:
    # The measurement the rule rests on: the same condition, two answers.
    assert _hours_with(str(tmp_path)) == "Invalid timezone"  # no files there
    assert _hours_with(str(files("tzdata") / "zoneinfo")) == "14"  # the pinned package's


@pytest.mark.parametrize(
    ("when", "named"),
    [
        (f"{PARIS} == 14", "the time zone 'Europe/Paris'"),
        ("timestamp(contact.t).getDayOfWeek(contact.tz) == 1", "a time zone"),
        ('timestamp(contact.t).getFullYear("GMT") == 2026', "the time zone 'GMT'"),
    ],
)
def test_a_named_zone_is_refused_at_its_place(when: str, named: str) -> None:
    [problem] = check_condition_google(when, step_ids=frozenset())
    assert f"() with {named} would read the time zone files" in problem.message
    assert problem.message.startswith("1:") and "^" in problem.message


@pytest.mark.parametrize("zone", ["", '"UTC"', '"+02:00"', '"-05:30"'])
def test_no_zone_utc_and_fixed_offsets_need_no_file(zone: str) -> None:
    when = f"timestamp(contact.t).getHours({zone}) > 9"
    assert check_condition_google(when, step_ids=frozenset()) == []
