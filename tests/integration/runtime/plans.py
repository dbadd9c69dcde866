"""Small plans for runtime tests."""

from __future__ import annotations

from interpreter import ExecutionPlan, PlanMetadata, steps


def one_email(plan_id: str = "one-email", wait_hours: int = 0) -> ExecutionPlan:
    body = [steps.send_email(id="mail", template_id="tmpl_intro", subject="Hi {{ product }}")]
    if wait_hours:
        body.append(steps.wait(id="pause", duration={"hours": wait_hours}))
    body.append(steps.end(id="done", outcome="sent"))
    return ExecutionPlan(
        id=plan_id,
        version=1,
        name="One email",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=tuple(body),
    )
