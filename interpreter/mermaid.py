"""A plan as a Mermaid flowchart (``dee plan graph``), for docs and reviews."""

from __future__ import annotations

from interpreter.graph import successors
from interpreter.plan import (
    BranchStep,
    EndStep,
    ExecutionPlan,
    SendEmailStep,
    SendVoiceStep,
    Step,
    WaitStep,
)


def _node_id(index: int) -> str:
    return f"s{index}"  # step ids may contain characters Mermaid ids cannot


def _label(step: Step) -> str:
    match step:
        case SendEmailStep():
            text = f"{step.id}<br/>email: {step.template_id}"
        case SendVoiceStep():
            text = f"{step.id}<br/>call: {step.script_id}"
        case WaitStep() if step.until is not None:
            days = ",".join(step.until.days or ()) or "daily"
            text = f"{step.id}<br/>wait until {step.until.time} ({days})"
        case WaitStep() if step.duration is not None:
            d = step.duration
            parts = [
                f"{v}{u}"
                for v, u in ((d.days, "d"), (d.hours, "h"), (d.minutes, "m"), (d.seconds, "s"))
                if v
            ]
            text = f"{step.id}<br/>wait {' '.join(parts) or '0s'}"
        case BranchStep():
            text = step.id
        case EndStep():
            text = f"{step.id}<br/>end: {step.outcome}"
    return text.replace('"', "#quot;")


def to_mermaid(plan: ExecutionPlan) -> str:
    index = {s.id: i for i, s in enumerate(plan.steps)}
    lines = ["flowchart TD"]
    for i, s in enumerate(plan.steps):
        label = _label(s)
        if isinstance(s, BranchStep):
            lines.append(f'    {_node_id(i)}{{"{label}"}}')
        elif isinstance(s, EndStep):
            lines.append(f'    {_node_id(i)}(["{label}"])')
        else:
            lines.append(f'    {_node_id(i)}["{label}"]')
    edges = successors(plan)
    for s in plan.steps:
        src = _node_id(index[s.id])
        if isinstance(s, BranchStep):
            for cond in s.conditions:
                if cond.goto in index:
                    when = cond.when.replace('"', "#quot;").replace("|", "#124;")
                    lines.append(f'    {src} -->|"{when}"| {_node_id(index[cond.goto])}')
            continue
        for target in edges[s.id]:
            if target in index:
                lines.append(f"    {src} --> {_node_id(index[target])}")
    return "\n".join(lines) + "\n"
