"""Sending hours in the contact's time zone: is a window open, and when does it open next.

Boundary: pure functions of their arguments (no clock, no I/O), so the gate's deferral
is reproducible from the recorded decision.

A window is read in *wall-clock* terms: an instant is inside when its local weekday is
one of the window's days and its local time is in ``[start, end)``. Daylight-saving
transitions follow from that definition:

- spring forward (a gap): a wall time inside the gap never happens; a window opening in
  the gap opens at the transition (e.g. 02:30 on a New York spring-forward day opens at
  03:00 EDT). A window lying wholly inside the gap does not open that day.
- fall back (an overlap): a wall time happens twice; the window opens at the first
  occurrence, and a window that had closed during the first pass re-opens when the
  clock is set back into it.

The next opening is found among two kinds of candidates, which are the only instants at
which "inside" can turn true: the instants whose wall time is exactly ``start`` (both
occurrences during an overlap), and the zone's offset transitions (a jump can land
inside the window). The earliest candidate after ``at`` that is inside wins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.policy.config import HoursWindow

# A window opens at least once a week; a few days more cover a week whose only
# opening falls inside a daylight-saving gap.
HORIZON = timedelta(days=16)
_FIRST_LOOK = timedelta(days=2)
# Offsets are sampled this often to find transitions; zones never change offset twice
# within it.
_SCAN_STEP = timedelta(hours=1)


class NoOpening(ValueError):
    """The window does not open within ``HORIZON`` of the given instant."""


def is_open(at: datetime, tz: ZoneInfo, window: HoursWindow) -> bool:
    """Whether the instant ``at`` (aware) is inside the window in zone ``tz``."""
    local = _aware(at).astimezone(tz)
    return local.isoweekday() in window.days and window.start <= local.time() < window.end


def next_opening(at: datetime, tz: ZoneInfo, window: HoursWindow) -> datetime | None:
    """The first instant after ``at`` at which the window is open, in UTC.

    Args:
        at: An aware instant.
        tz: The contact's zone.
        window: The local window.

    Returns:
        ``None`` when ``at`` is inside the window, else the opening (aware, UTC, > ``at``).

    Raises:
        NoOpening: No opening within ``HORIZON``.
    """
    at = _aware(at).astimezone(UTC)
    if is_open(at, tz, window):
        return None
    # Most openings are within two days: look there first, then over the full horizon.
    for span in (_FIRST_LOOK, HORIZON):
        until = at + span
        candidates = sorted(
            t
            for t in (*_start_instants(at, until, tz, window), *_transitions(at, until, tz))
            if at < t <= until
        )
        for candidate in candidates:
            if is_open(candidate, tz, window):
                return candidate
    raise NoOpening(f"the window {window.describe()} does not open within {HORIZON.days} days")


def _start_instants(
    at: datetime, until: datetime, tz: ZoneInfo, window: HoursWindow
) -> list[datetime]:
    """Every real instant whose wall time is ``window.start``, on the local days from
    the one before ``at`` to the one after ``until``."""
    first = at.astimezone(tz).date() - timedelta(days=1)
    days = (until.astimezone(tz).date() - first).days + 2
    found: list[datetime] = []
    for offset in range(days):
        wall = datetime.combine(first + timedelta(days=offset), window.start)
        for fold in (0, 1):
            instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
            # A wall time in a gap maps to an instant showing another wall time: skip it,
            # the transition candidate covers the gap.
            if instant.astimezone(tz).replace(tzinfo=None) == wall:
                found.append(instant)
    return found


def _transitions(begin: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The instants in ``(begin, end]`` at which the zone's UTC offset changes."""
    found: list[datetime] = []
    t = begin
    offset = _offset(t, tz)
    while t < end:
        step = t + _SCAN_STEP
        step_offset = _offset(step, tz)
        if step_offset != offset:
            found.append(_first_with_offset(t, step, tz, step_offset))
        t, offset = step, step_offset
    return found


def _first_with_offset(
    low: datetime, high: datetime, tz: ZoneInfo, offset: timedelta | None
) -> datetime:
    """Bisect ``(low, high]`` down to the first microsecond having ``offset``."""
    resolution = timedelta(microseconds=1)
    while high - low > resolution:
        middle = low + (high - low) / 2
        if _offset(middle, tz) == offset:
            high = middle
        else:
            low = middle
    return high


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    # ``tz.utcoffset(instant)`` would read the instant's fields as local wall time.
    return instant.astimezone(tz).utcoffset()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: hours need an aware instant")
    return at


__all__ = ["HORIZON", "NoOpening", "is_open", "next_opening"]
