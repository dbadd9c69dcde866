"""Plans for the stop-on-reply tests and histories (issue 19): an exit rule during a
long wait, a ``waitForEvent`` and a send window, each as small as its proof needs; and
the two readings of a run those tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle

from activities import contracts as c
from dee.engine import Engine
from interpreter import ExecutionPlan, parse_plan

# Friday 2026-03-06 18:00 in New York (EST): the weekend, then a DST change (Sunday
# 03-08) lie between it and the window's next opening, Monday 09:00 EDT (13:00Z).
FRIDAY_EVENING_MS = int(datetime(2026, 3, 6, 23, 0, tzinfo=UTC).timestamp() * 1000)
MONDAY_OPENING_MS = int(datetime(2026, 3, 9, 13, 0, tzinfo=UTC).timestamp() * 1000)
NEW_YORK = "America/New_York"
_META = {"createdAt": "2026-03-01", "createdBy": "tests"}
_EMAIL = {"type": "sendEmail", "templateId": "tmpl_intro", "subject": "Hi {{ product }}"}


def _plan(plan_id: str, steps: list[dict[str, Any]], **extra: Any) -> ExecutionPlan:
    doc = {"id": plan_id, "version": 1, "name": plan_id, "metadata": _META, "steps": steps}
    return parse_plan({**doc, **extra}, source=plan_id)


def exit_plan() -> ExecutionPlan:
    """A tracked email, a three-day wait, a follow-up: a reply or an unsubscribe ends it."""
    return _plan(
        "stop-on-reply",
        [
            {**_EMAIL, "id": "intro", "tracking": {"opens": True, "clicks": True}},
            {"type": "wait", "id": "wait", "duration": {"days": 3}},
            {**_EMAIL, "id": "follow-up", "subject": "Again"},
            {"type": "end", "id": "done", "outcome": "followed-up"},
        ],
        exitOn=[
            {"event": "email.replied", "outcome": "replied"},
            {"event": "email.unsubscribed", "outcome": "unsubscribed"},
        ],
    )


def await_plan() -> ExecutionPlan:
    """A tracked email, then up to three days for a reply or a click."""
    return _plan(
        "await-reply",
        [
            {**_EMAIL, "id": "intro", "tracking": {"opens": True, "clicks": True}},
            {
                "type": "waitForEvent",
                "id": "await",
                "until": 'events.hasReply("intro") || events.hasClick("intro")',
                "timeout": {"days": 3},
                "onEvent": "engaged",
                "onTimeout": "silent",
            },
            {"type": "end", "id": "engaged", "outcome": "engaged"},
            {"type": "end", "id": "silent", "outcome": "silent"},
        ],
    )


def window_plan() -> ExecutionPlan:
    """One email, sent only 09:00-17:00 on weekdays in the contact's time zone."""
    window = {"from": "09:00", "to": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    return _plan(
        "business-hours",
        [
            {**_EMAIL, "id": "intro", "window": window},
            {"type": "end", "id": "done", "outcome": "sent"},
        ],
    )


async def run_result(engine: Engine, run_id: str) -> c.RunResult:
    """The run's result, once it has closed (a handle that ``start_workflow`` did not
    return does not skip time on the time-skipping server while it waits)."""
    handle: WorkflowHandle[Any, c.RunResult] = engine.client.get_workflow_handle(
        run_id, result_type=c.RunResult
    )
    return await handle.result()


def trail(timeline: list[Any]) -> list[tuple[str, str, str]]:
    """A timeline as (step, action, outcome) triples."""
    return [(e.step_id, e.action, e.outcome) for e in timeline]
