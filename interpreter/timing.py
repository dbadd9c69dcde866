"""Local times for the step machine: when a ``wait`` with ``until`` ends, and whether
a send step's ``window`` is open at a tick (and if not, when it opens).

The time zone is the contact's ``timezone`` field (an IANA name), else the plan's
``defaultTimezone``; with neither, or with a name the tz database does not know, the
step fails closed (``LocalTimeError``) rather than guess a zone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from interpreter.compiled import RunContext
from interpreter.local_time import (
    ZoneError,
    hhmm,
    local_iso,
    next_local_time,
    next_window_tick,
    window_end,
    zone,
)
from interpreter.plan import SendStep, WaitStep

TIMEZONE_FIELD = "timezone"


class LocalTimeError(Exception):
    """A local time cannot be computed for this run; ``str()`` says why."""


def run_zone(ctx: RunContext, step_id: str) -> tuple[ZoneInfo, str]:
    """The zone local times of this run are in, and where it came from.

    Raises:
        LocalTimeError: the contact has no usable ``timezone`` and the plan no
            ``defaultTimezone``.
    """
    given = ctx.contact.get(TIMEZONE_FIELD)
    if given is not None and given != "":  # an empty CSV column is no zone
        try:
            return zone(given), "contact.timezone"
        except ZoneError as err:
            raise LocalTimeError(f"step '{step_id}': the contact's timezone: {err}") from None
    default = ctx.plan.plan.default_timezone
    if default is None:
        raise LocalTimeError(
            f"step '{step_id}' needs a local time, but the contact has no 'timezone' "
            "and the plan no 'defaultTimezone'"
        )
    try:
        return zone(default), "plan.defaultTimezone"
    except ZoneError as err:  # validation refuses this; a raw start may not have been
        raise LocalTimeError(f"step '{step_id}': the plan's defaultTimezone: {err}") from None


def wait_until(ctx: RunContext, step: WaitStep, tick: int) -> tuple[int, dict[str, object]]:
    """The tick a ``wait`` with ``until`` ends at (the first tick at or after the next
    such local time strictly after this tick's instant) and the wait entry's detail.

    Raises:
        LocalTimeError: no zone for the run.
    """
    assert step.until is not None
    at = hhmm(step.until.time)
    assert at is not None  # validation
    tz, source = run_zone(ctx, step.id)
    clock = ctx.run_clock()
    instant = next_local_time(clock.instant(tick), tz, at, step.until.days)
    until = clock.first_tick_at(instant)
    return until, {
        "untilTick": until,
        "untilLocal": local_iso(instant, tz),
        "timezone": tz.key,
        "zoneFrom": source,
    }


def window_deferral(
    ctx: RunContext, step: SendStep, tick: int
) -> tuple[int, dict[str, object]] | None:
    """``None`` when the step's window is open at ``tick`` (or it has none); otherwise the
    tick it next opens at and the deferral's detail.

    Raises:
        LocalTimeError: no zone for the run, or no tick falls inside the window.
    """
    window = step.window
    if window is None:
        return None
    start, end = hhmm(window.from_), window_end(window.to)
    assert start is not None and end is not None  # validation
    tz, source = run_zone(ctx, step.id)
    clock = ctx.run_clock()
    try:
        found = next_window_tick(clock, tick, tz, start, end, window.days)
    except ValueError as err:
        raise LocalTimeError(f"step '{step.id}': {err}") from None
    if found is None:
        return None
    until, opens = found
    return until, {
        "untilTick": until,
        "opensLocal": local_iso(opens, tz),
        "window": window.model_dump(mode="json", by_alias=True, exclude_none=True),
        "timezone": tz.key,
        "zoneFrom": source,
    }


__all__ = ["TIMEZONE_FIELD", "LocalTimeError", "run_zone", "wait_until", "window_deferral"]
