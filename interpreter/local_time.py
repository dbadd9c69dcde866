"""Local wall-clock times on the logical clock: waits until a time, send windows.

A run's tick is an instant once the run's origin is known (``Clock``: the instant of
the start tick, the workflow's start time or ``simulate``'s ``start_at``), and an
instant is a local time once the contact's IANA time zone is known. Both are inputs,
so a local time is as deterministic as everything else the machine decides.

Time-zone rules come from the ``tzdata`` package only, never from the host's
``/usr/share/zoneinfo``: two workers on different hosts read the same rules, and the
version (``TZDATA_VERSION``) is recorded in the start entry of every run whose plan uses
local times, so a replay under other rules can say so.

The DST rule (README "Local times"): a local time that does not exist on a day (a
spring-forward gap) is moved forward by the length of the gap (02:30 becomes 03:30); a
local time that exists twice (a fall-back overlap) is the first of the two instants.
That is ``fold=0`` in Python and the "earlier offset" rule of RFC 5545 and java.time.

This module is the interpreter's one user of ``datetime``, for calendar arithmetic
only: it never reads the clock (``tests/test_determinism_guard.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata  # type: ignore[import-untyped]  # no stubs; one constant is read

from interpreter.plan import WEEKDAYS, Weekday

TZDATA_VERSION: str = tzdata.IANA_VERSION
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Only characters a tz database name uses; no path can be built from anything else.
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")
# The longest any search for the next local time or window opening looks ahead: a week
# covers every weekday, and a second week any day a DST change makes awkward.
_SEARCH_DAYS = 15


class ZoneError(ValueError):
    """A time-zone name the tz database does not know."""


@dataclass(frozen=True, slots=True)
class Clock:
    """Ticks and instants of one run: ``origin_ms`` is the instant of ``origin_tick``."""

    origin_ms: int
    origin_tick: int
    tick_interval_ms: int

    def instant(self, tick: int) -> int:
        """Epoch milliseconds at the start of ``tick``."""
        return self.origin_ms + (tick - self.origin_tick) * self.tick_interval_ms

    def first_tick_at(self, epoch_ms: int) -> int:
        """The first tick that starts at or after ``epoch_ms``."""
        return self.origin_tick - (-(epoch_ms - self.origin_ms) // self.tick_interval_ms)


def hhmm(text: str) -> tuple[int, int] | None:
    """``"09:30"`` -> ``(9, 30)``; ``None`` for anything that is not HH:MM (00:00-23:59)."""
    match = _HHMM.fullmatch(text)
    return None if match is None else (int(match[1]), int(match[2]))


def window_end(text: str) -> tuple[int, int] | None:
    """A window's ``to``: HH:MM, or ``24:00`` for the end of the day."""
    return (24, 0) if text == "24:00" else hhmm(text)


def zone(name: str) -> ZoneInfo:
    """The named zone, from the ``tzdata`` package.

    Raises:
        ZoneError: ``name`` is not a zone of the tz database (or not a string at all: a
            contact's ``timezone`` may be any JSON value, a list too).
    """
    if not isinstance(name, str):  # before the cache, which cannot hash a list
        raise ZoneError(f"{name!r} is not an IANA time zone (like Europe/Paris)")
    return _zone(name)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if not _ZONE_NAME.fullmatch(name) or name not in _zone_names():
        raise ZoneError(f"{name!r} is not an IANA time zone (like Europe/Paris)")
    with resources.files("tzdata.zoneinfo").joinpath(name).open("rb") as handle:
        return ZoneInfo.from_file(handle, key=name)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except ZoneError:
        return False
    return True


def local_iso(epoch_ms: int, tz: ZoneInfo) -> str:
    """The instant as local ISO-8601 with its offset (``2026-03-09T09:00:00-04:00``)."""
    return (_EPOCH + epoch_ms * _MS).astimezone(tz).isoformat(timespec="seconds")


def _local_date(epoch_ms: int, tz: ZoneInfo) -> date:
    return (_EPOCH + epoch_ms * _MS).astimezone(tz).date()


def _instant(day: date, hour: int, minute: int, tz: ZoneInfo) -> int:
    """The instant of ``hour:minute`` on ``day`` in ``tz`` by the DST rule above."""
    if hour == 24:  # a window's end of day: midnight that starts the next day
        day, hour = day + timedelta(days=1), 0
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)  # fold=0
    return (local - _EPOCH) // _MS


def _days(days: tuple[Weekday, ...] | None) -> frozenset[int]:
    return frozenset(range(7)) if not days else frozenset(WEEKDAYS.index(d) for d in days)


def next_local_time(
    now_ms: int, tz: ZoneInfo, at: tuple[int, int], days: tuple[Weekday, ...] | None
) -> int:
    """The first instant strictly after ``now_ms`` that is ``at`` on one of ``days``."""
    allowed = _days(days)
    today = _local_date(now_ms, tz) - timedelta(days=1)  # a gap can move yesterday's on
    for offset in range(_SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() in allowed:
            candidate = _instant(day, at[0], at[1], tz)
            if candidate > now_ms:
                return candidate
    raise AssertionError("no local time within two weeks")  # days is never empty


def window_openings(
    now_ms: int,
    tz: ZoneInfo,
    start: tuple[int, int],
    end: tuple[int, int],
    days: tuple[Weekday, ...] | None,
) -> list[tuple[int, int]]:
    """The window's (open, close) instants that end after ``now_ms``, in order, for the
    next two weeks. The window is open at ``t`` when ``open <= t < close``."""
    allowed = _days(days)
    first = _local_date(now_ms, tz) - timedelta(days=1)
    found: list[tuple[int, int]] = []
    for offset in range(_SEARCH_DAYS + 1):
        day = first + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        opens, closes = _instant(day, *start, tz), _instant(day, *end, tz)
        if closes > now_ms and closes > opens:
            found.append((opens, closes))
    return found


def next_window_tick(
    clock: Clock,
    tick: int,
    tz: ZoneInfo,
    start: tuple[int, int],
    end: tuple[int, int],
    days: tuple[Weekday, ...] | None,
) -> tuple[int, int] | None:
    """``None`` when the window is open at ``tick``; otherwise the first later tick that
    starts inside it, and that opening's instant.

    Raises:
        ValueError: no tick starts inside the window within two weeks (a tick interval
            longer than the window).
    """
    now = clock.instant(tick)
    for opens, closes in window_openings(now, tz, start, end, days):
        if opens <= now < closes:
            return None
        candidate = clock.first_tick_at(max(opens, now + 1))
        if clock.instant(candidate) < closes:
            return candidate, opens
    raise ValueError("no tick of the run's clock falls inside the send window in two weeks")


__all__ = [
    "TZDATA_VERSION",
    "Clock",
    "ZoneError",
    "hhmm",
    "is_zone",
    "local_iso",
    "next_local_time",
    "next_window_tick",
    "window_end",
    "window_openings",
    "zone",
]


def utc_iso(epoch_ms: int) -> str:
    """``2026-01-05T09:00:00.000Z``: an instant as recorded in a start entry."""
    return (_EPOCH + epoch_ms * _MS).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_utc_iso(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 instant with an offset (``Z`` or ``+hh:mm``).

    Raises:
        ValueError: not such an instant.
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (like 2026-01-05T09:00:00Z)")
    return (parsed - _EPOCH) // _MS
