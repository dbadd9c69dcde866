"""The benchmark plans: the short-wait sales plan of the issue, and a wait-first plan.

The short plan is the documents' sales sequence with its waits cut to one second
(email, wait, branch on open, email, wait, call, end: seven steps on every path),
so a run is a few seconds of wall clock and its cost is the engine's, not the wait's.
"""

from __future__ import annotations

from interpreter import ExecutionPlan, PlanMetadata, steps, transitions

META = PlanMetadata(created_at="2026-01-01", created_by="bench")


def short_sales_plan(wait_seconds: int = 1) -> ExecutionPlan:
    """Scenario 1's plan; the hand-written workflow in ``bench.handwritten`` mirrors it."""
    body = (
        steps.send_email(
            id="intro-email",
            template_id="tmpl_intro",
            subject="Introducing {{ product }}",
            tracking={"opens": True},
        ),
        steps.wait(id="wait-1", duration={"seconds": wait_seconds}),
        steps.branch(
            id="check-open",
            conditions=[
                {"when": 'events.hasOpen("intro-email")', "goto": "warm-email"},
                {"when": "default", "goto": "cold-email"},
            ],
        ),
        steps.send_email(
            id="warm-email", template_id="tmpl_warm_follow_up", subject="Following up"
        ),
        steps.send_email(
            id="cold-email", template_id="tmpl_cold_follow_up", subject="Quick question"
        ),
        steps.wait(id="wait-2", duration={"seconds": wait_seconds}),
        steps.send_voice(
            id="call",
            script_id="script_follow_up",
            caller_id="+15551234567",
            max_duration={"minutes": 5},
        ),
        steps.end(id="end", outcome="called"),
    )
    edges = [
        ("intro-email", "wait-1"),
        ("wait-1", "check-open"),
        ("check-open", "warm-email"),
        ("check-open", "cold-email"),
        ("warm-email", "wait-2"),
        ("cold-email", "wait-2"),
        ("wait-2", "call"),
        ("call", "end"),
    ]
    return ExecutionPlan(
        id="bench-short-sales",
        version=1,
        name="Short-wait sales plan (bench)",
        metadata=META,
        steps=body,
        transitions=transitions.explicit([{"from": a, "to": b} for a, b in edges]),
    )


def wait_first_plan(wait_hours: int = 24) -> ExecutionPlan:
    """A plan whose runs park on a timer at once: enrolment and memory measure starts
    and waiting runs, not sends."""
    return ExecutionPlan(
        id="bench-wait-first",
        version=1,
        name="Wait, then email (bench)",
        metadata=META,
        steps=(
            steps.wait(id="wait", duration={"hours": wait_hours}),
            steps.send_email(id="mail", template_id="tmpl_intro", subject="Hi"),
            steps.end(id="done", outcome="sent"),
        ),
    )
