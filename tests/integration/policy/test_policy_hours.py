"""``next_opening`` (pure): fixed cases around daylight-saving transitions, and a
Hypothesis property checked against an independent minute-by-minute scan.

No database here: ``hours`` is a pure function; the gate's use of it is tested on both
backends in ``test_policy_gate.py``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.policy import HoursWindow, next_opening

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(1, 6))
# Zones with hour, half-hour (Lord Howe), 45-minute (Chatham) and no transitions.
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "UTC",
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "window", "at", "expected"),
    [
        # inside: no deferral
        (NEW_YORK, HoursWindow(time(8), time(21)), utc(2025, 6, 11, 15), None),
        # the opening instant itself is inside; the closing instant is not
        (NEW_YORK, HoursWindow(time(8), time(21)), utc(2025, 6, 11, 12), None),
        (NEW_YORK, HoursWindow(time(8), time(21)), utc(2025, 6, 12, 1), utc(2025, 6, 12, 12)),
        # Saturday -> Monday on a weekday window
        (
            BERLIN,
            HoursWindow(time(9), time(17), WEEKDAYS),
            utc(2025, 6, 14, 10),
            utc(2025, 6, 16, 7),
        ),
        # New York spring forward 2025-03-09: 02:30 does not exist; opens at 03:00 EDT
        (NEW_YORK, HoursWindow(time(2, 30), time(5)), utc(2025, 3, 9, 5), utc(2025, 3, 9, 7)),
        # a window wholly inside the gap does not open that day
        (
            NEW_YORK,
            HoursWindow(time(2, 10), time(2, 50)),
            utc(2025, 3, 9, 5),
            utc(2025, 3, 10, 6, 10),
        ),
        # a window ending inside the gap opens, and closes at the jump
        (
            NEW_YORK,
            HoursWindow(time(1, 30), time(2, 30)),
            utc(2025, 3, 9, 5),
            utc(2025, 3, 9, 6, 30),
        ),
        # New York fall back 2025-11-02 (01:00-02:00 twice): the first 01:30 (EDT)
        (
            NEW_YORK,
            HoursWindow(time(1, 30), time(21)),
            utc(2025, 11, 2, 4),
            utc(2025, 11, 2, 5, 30),
        ),
        # closed during the first 01:30-02:00; the clock falls back into the window at 06:00 UTC
        (NEW_YORK, HoursWindow(time(0), time(1, 30)), utc(2025, 11, 2, 5, 45), utc(2025, 11, 2, 6)),
        # Berlin spring forward 2025-03-30 02:00 CET -> 03:00 CEST (01:00 UTC)
        (BERLIN, HoursWindow(time(2, 30), time(21)), utc(2025, 3, 29, 23, 30), utc(2025, 3, 30, 1)),
        # Berlin fall back 2025-10-26 03:00 CEST -> 02:00 CET: first 02:30 is 00:30 UTC
        (
            BERLIN,
            HoursWindow(time(2, 30), time(21)),
            utc(2025, 10, 25, 23),
            utc(2025, 10, 26, 0, 30),
        ),
        # ... and after 21:00 CET that day, the next opening is in CET (01:30 UTC)
        (
            BERLIN,
            HoursWindow(time(2, 30), time(21)),
            utc(2025, 10, 26, 20, 30),
            utc(2025, 10, 27, 1, 30),
        ),
    ],
)
def test_next_opening_cases(
    tz: ZoneInfo, window: HoursWindow, at: datetime, expected: datetime | None
) -> None:
    assert next_opening(at, tz, window) == expected


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_opening(datetime(2025, 1, 1), NEW_YORK, HoursWindow(time(8), time(9)))  # noqa: DTZ001


def inside(at: datetime, tz: ZoneInfo, window: HoursWindow) -> bool:
    """The definition, written again independently of the module under test."""
    local = at.astimezone(tz)
    return local.isoweekday() in window.days and window.start <= local.time() < window.end


@st.composite
def windows(draw: st.DrawFn) -> HoursWindow:
    start = draw(st.integers(0, 24 * 60 - 2))
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    days = draw(st.frozensets(st.integers(1, 7), min_size=1))
    return HoursWindow(time(*divmod(start, 60)), time(*divmod(end, 60)), days)


# Instants are drawn to fall near transitions often: every year 2024-2026, all minutes,
# plus seconds, so the result is not always on the minute grid of the scan.
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis draws naive, made UTC below
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
).map(lambda naive: naive.replace(tzinfo=UTC))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(at=instants, zone_name=st.sampled_from(ZONES), window=windows())
def test_next_opening_is_the_first_open_instant_after_at(
    at: datetime, zone_name: str, window: HoursWindow
) -> None:
    tz = ZoneInfo(zone_name)

    opening = next_opening(at, tz, window)

    if opening is None:
        assert inside(at, tz, window)
        return
    assert not inside(at, tz, window)
    assert opening > at
    assert inside(opening, tz, window)
    assert not inside(opening - timedelta(microseconds=1), tz, window)
    # Every open stretch lasts at least a minute (windows and transitions are on whole
    # minutes), so a minute-by-minute scan from ``at`` would find any earlier opening.
    probe = at + timedelta(minutes=1)
    while probe < opening:
        assert not inside(probe, tz, window), f"open at {probe} before {opening}"
        probe += timedelta(minutes=1)


@pytest.mark.parametrize("zone_name", ["America/New_York", "Europe/Berlin"])
def test_every_quarter_hour_around_the_2025_transitions(zone_name: str) -> None:
    """Exact agreement with a minute-grid reference for windows opening at and around
    the shifted hour, from every quarter hour of the days around each transition."""
    tz = ZoneInfo(zone_name)
    firsts = [utc(2025, 3, 8), utc(2025, 3, 29), utc(2025, 10, 25), utc(2025, 11, 1)]
    starts = [time(0), time(1, 30), time(2), time(2, 30), time(3)]
    minutes = 4 * 24 * 60
    for window in (HoursWindow(s, time(s.hour + 1, s.minute)) for s in starts):
        for first in firsts:
            grid = [first + timedelta(minutes=m) for m in range(minutes)]
            open_at = [inside(t, tz, window) for t in grid]
            # next_open[i]: the first grid index > i that is inside (None past the end)
            next_open: list[int | None] = [None] * minutes
            for i in range(minutes - 2, -1, -1):
                next_open[i] = i + 1 if open_at[i + 1] else next_open[i + 1]
            for i in range(0, 3 * 24 * 60, 15):
                following = next_open[i]
                expected = None if open_at[i] or following is None else grid[following]
                assert next_opening(grid[i], tz, window) == expected, (window, grid[i])
