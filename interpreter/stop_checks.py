"""Validation of what ends or times a run: ``exitOn`` rules, ``waitForEvent`` steps,
waits until a local time, send windows and ``defaultTimezone``.

Every problem names its step (or ``None`` for the plan) and its field in the file's
camelCase (``exitOn[1].event``, ``window.from``), as the rest of ``validation`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from interpreter import limits as L
from interpreter.cel_limits import CelProblem
from interpreter.cel_validate import check_condition_google
from interpreter.conditions import check_for_old_evaluator
from interpreter.events import CANONICAL_EVENT_TYPES
from interpreter.local_time import hhmm, is_zone, window_end
from interpreter.plan import (
    BranchStep,
    Duration,
    EndStep,
    ExecutionPlan,
    SendEmailStep,
    SendVoiceStep,
    SendWindow,
    Step,
    WaitForEventStep,
    WaitStep,
    Weekday,
)
from interpreter.trace import CLOSING

Add = Callable[[str | None, str, str], None]
Checker = Callable[..., list[CelProblem]]
_TYPES = ", ".join(sorted(CANONICAL_EVENT_TYPES))
# The outcomes of ``exit`` entries that do not end the run (machine_exits): a rule
# may not take them, so an exit entry's outcome alone says whether the run ended.
RESERVED_EXIT_OUTCOMES = frozenset(CLOSING["exit"][1])


def checker(google_cel: bool) -> Checker:
    """The condition checker: Google's CEL (``cel_validate``) whichever evaluator the
    run uses, since DEE's own checker is deleted (issue 23); for the old evaluator
    (runs recorded before the flip) it must also compile there
    (``conditions.check_for_old_evaluator``)."""
    return check_condition_google if google_cel else check_for_old_evaluator


def check_plan_level(
    plan: ExecutionPlan, known: frozenset[str], add: Add, *, google_cel: bool = True
) -> None:
    """``exitOn`` and ``defaultTimezone`` (conditions checked as ``checker`` says)."""
    check = checker(google_cel)
    if plan.default_timezone is not None and not is_zone(plan.default_timezone):
        add(
            None,
            "defaultTimezone",
            f"'{L.shown(plan.default_timezone)}' is not an IANA time zone (like America/New_York)",
        )
    if plan.exit_on is not None and len(plan.exit_on) > L.MAX_CONDITIONS:
        add(None, "exitOn", f"{len(plan.exit_on)} rules exceed the limit of {L.MAX_CONDITIONS}")
        return
    for i, rule in enumerate(plan.exit_rules):
        at = f"exitOn[{i}]"
        if rule.event is None and rule.when is None:
            add(None, at, "an exit rule needs an 'event', a 'when' condition, or both")
        if rule.event is not None and rule.event not in CANONICAL_EVENT_TYPES:
            add(
                None,
                f"{at}.event",
                f"'{L.shown(rule.event)}' is not an event type DEE ingests ({_TYPES}); a custom "
                "type can be tested in 'when' with events.hasEvent",
            )
        if rule.step is not None:
            if rule.event is None:
                add(None, f"{at}.step", "'step' narrows an 'event': give the event type too")
            if rule.step not in known:
                add(None, f"{at}.step", f"unknown step '{L.shown(rule.step)}'")
        if rule.when is not None:
            for problem in check(rule.when, step_ids=known):
                add(None, f"{at}.when", problem.message)
        outcome = L.identifier_problem(rule.outcome, "the outcome", L.OUTCOME)
        if not rule.outcome.strip():
            add(None, f"{at}.outcome", "the outcome is empty")
        elif outcome is not None:
            add(None, f"{at}.outcome", outcome)
        elif rule.outcome in RESERVED_EXIT_OUTCOMES:
            add(
                None,
                f"{at}.outcome",
                f"'{rule.outcome}' is reserved: an exit entry with it says an exit waits for "
                "a send in flight or a rule failed to evaluate; name the outcome otherwise",
            )


def check_step(
    s: Step, known: frozenset[str], max_wait_days: int, add: Add, *, google_cel: bool = True
) -> None:
    """A step's waits, ``waitForEvent`` fields and send window."""
    match s:
        case WaitStep():
            if (s.duration is None) == (s.until is None):
                add(s.id, "duration", "a wait needs exactly one of 'duration' and 'until'")
            elif s.duration is not None:
                check_duration(s.id, "duration", s.duration, max_wait_days, add)
            elif s.until is not None:
                if hhmm(s.until.time) is None:
                    add(
                        s.id,
                        "until.time",
                        f"'{L.shown(s.until.time)}' is not a time HH:MM (00:00-23:59)",
                    )
                _check_days(s.id, "until.days", s.until.days, add)
        case WaitForEventStep():
            for problem in checker(google_cel)(s.until, step_ids=known):
                add(s.id, "until", problem.message)
            check_duration(s.id, "timeout", s.timeout, max_wait_days, add)
            for fld, target in (("onEvent", s.on_event), ("onTimeout", s.on_timeout)):
                if target not in known:
                    add(s.id, fld, f"unknown step '{L.shown(target)}'")
        case SendEmailStep() | SendVoiceStep():
            if s.window is not None:
                _check_window(s.id, s.window, add)
        case BranchStep() | EndStep():
            pass  # nothing timed
        case _:  # a new step type (a send step's window!): mypy finds this line
            assert_never(s)


def check_duration(step_id: str, fld: str, d: Duration, max_wait_days: int, add: Add) -> None:
    total = d.total_seconds
    if min(d.days, d.hours, d.minutes, d.seconds) < 0:
        add(step_id, fld, "duration components may not be negative")
    elif total <= 0:
        add(step_id, fld, "a wait must last longer than zero")
    elif total > max_wait_days * 86_400:
        add(step_id, fld, f"{total} s exceeds the limit of {max_wait_days} days")


def _check_window(step_id: str, window: SendWindow, add: Add) -> None:
    start, end = hhmm(window.from_), window_end(window.to)
    if start is None:
        add(step_id, "window.from", f"'{L.shown(window.from_)}' is not a time HH:MM (00:00-23:59)")
    if end is None:
        add(step_id, "window.to", f"'{L.shown(window.to)}' is not a time HH:MM (00:00-24:00)")
    if start is not None and end is not None and start >= end:
        add(
            step_id,
            "window.to",
            f"the window closes ({window.to}) before it opens ({window.from_}): a window "
            "opens and closes on the same day (use two steps for one across midnight)",
        )
    _check_days(step_id, "window.days", window.days, add)


def _check_days(step_id: str, fld: str, days: tuple[Weekday, ...] | None, add: Add) -> None:
    if days is None:
        return
    if not days:
        add(step_id, fld, "an empty list of days never comes: leave 'days' out for every day")
    elif len(set(days)) != len(days):
        add(step_id, fld, "a day is listed twice")


__all__ = [
    "RESERVED_EXIT_OUTCOMES",
    "check_duration",
    "check_plan_level",
    "check_step",
    "checker",
]
