"""A plan as a Mermaid flowchart (``dee plan graph``), for docs and reviews.

Every piece of text that comes from the plan (ids, conditions, outcomes, subjects) is
written as Mermaid entity codes except for a small set of plain characters, so a plan
can never change the diagram's syntax: no quote, bracket, pipe, ``#``, ``;`` or line
end reaches Mermaid's parser unescaped. Node ids are ours (``s0``, ``x0``), never the
plan's step ids.
"""

from __future__ import annotations

from typing import assert_never

from interpreter.graph import successors
from interpreter.plan import (
    WEEKDAYS,
    BranchStep,
    Duration,
    EndStep,
    ExecutionPlan,
    ExitRule,
    SendEmailStep,
    SendVoiceStep,
    SendWindow,
    Step,
    WaitForEventStep,
    WaitStep,
    Weekday,
)

# Characters written as they are; everything else becomes ``#<code>;``.
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:_-+*/=!?'@$^~()"
)
# Conditions on edges are cut to this many characters: the diagram shows the shape of
# the plan, the plan file has the whole expression.
LABEL_CHARS = 48
_BREAK = "<br/>"
EXIT_GROUP = "exitOn"


def escape(text: str) -> str:
    """``text`` as Mermaid label text that cannot end or change the label."""
    return "".join(c if c in _PLAIN else f"#{ord(c)};" for c in text)


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (ending in ``...`` when cut)."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def duration_text(d: Duration) -> str:
    """``3d 12h``: a duration's non-zero parts."""
    units = ((d.days, "d"), (d.hours, "h"), (d.minutes, "m"), (d.seconds, "s"))
    return " ".join(f"{v}{u}" for v, u in units if v) or "0s"


def days_text(days: tuple[Weekday, ...] | None) -> str:
    """``mon-fri``, ``sat,sun`` or ``daily``: runs of consecutive weekdays joined."""
    if not days:
        return "daily"
    chosen = sorted({WEEKDAYS.index(d) for d in days})
    runs: list[list[int]] = []
    for day in chosen:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" if len(r) > 2 else ",".join(WEEKDAYS[d] for d in r)
        for r in runs
    )


def _window(window: SendWindow | None) -> list[str]:
    if window is None:
        return []
    return [f"window {window.from_}-{window.to} {days_text(window.days)}"]


def _lines(step: Step) -> list[str]:
    """The node's label, one plain-text line per item."""
    match step:
        case SendEmailStep():
            return [step.id, f"email: {step.template_id}", *_window(step.window)]
        case SendVoiceStep():
            return [step.id, f"call: {step.script_id}", *_window(step.window)]
        case WaitStep():
            # A graph is drawn for plans not yet validated: show what is there.
            shown = [] if step.duration is None else [f"wait {duration_text(step.duration)}"]
            if step.until is not None:
                shown.append(f"wait until {step.until.time} {days_text(step.until.days)}")
            return [step.id, *(shown or ["wait: no duration or until"])]
        case WaitForEventStep():
            return [step.id, f"wait for event, at most {duration_text(step.timeout)}"]
        case BranchStep():
            return [step.id]
        case EndStep():
            return [step.id, f"end: {step.outcome}"]
        case _:
            assert_never(step)


def _node(node_id: str, step: Step) -> str:
    # Mermaid refuses an empty label; only a blank branch id (never valid) gives one.
    label = _BREAK.join(escape(line) for line in _lines(step)).strip() or escape("(no id)")
    match step:
        case BranchStep():
            return f'    {node_id}{{"{label}"}}'
        case WaitForEventStep():
            return f'    {node_id}{{{{"{label}"}}}}'
        case EndStep():
            return f'    {node_id}(["{label}"])'
        case _:
            return f'    {node_id}["{label}"]'


def exit_rule_text(rule: ExitRule) -> str:
    """``on email.replied at intro-email, when ... → exit replied``."""
    parts = []
    if rule.event is not None:
        parts.append(f"on {rule.event}" + (f" at {rule.step}" if rule.step else ""))
    if rule.when is not None:
        parts.append(f"when {shorten(rule.when)}")
    return f"{', '.join(parts)} → exit {rule.outcome}"


def _exits(plan: ExecutionPlan) -> list[str]:
    if not plan.exit_rules:
        return []
    title = escape("exitOn: checked on every event, at any step")
    lines = [f'    subgraph {EXIT_GROUP}["{title}"]', "        direction TB"]
    lines += [
        f'        x{i}(["{escape(exit_rule_text(rule))}"])'
        for i, rule in enumerate(plan.exit_rules)
    ]
    lines.append("    end")
    return lines


def to_mermaid(plan: ExecutionPlan) -> str:
    """The plan as a ``flowchart TD``: one node per step, one edge per way on."""
    index = {s.id: f"s{i}" for i, s in enumerate(plan.steps)}
    lines = ["flowchart TD"]
    lines += [_node(index[s.id], s) for s in plan.steps]
    lines += _exits(plan)
    edges = successors(plan)
    for s in plan.steps:
        src = index[s.id]
        if isinstance(s, BranchStep):
            labelled = [(c.goto, shorten(c.when)) for c in s.conditions]
        elif isinstance(s, WaitForEventStep):
            labelled = [
                (s.on_event, f"event: {shorten(s.until)}"),
                (s.on_timeout, f"timeout: {duration_text(s.timeout)}"),
            ]
        else:
            lines += [f"    {src} --> {index[t]}" for t in edges[s.id] if t in index]
            continue
        lines += [
            # Mermaid refuses an empty label: a blank condition draws a plain edge.
            f'    {src} -->|"{escape(label)}"| {index[goto]}'
            if label.strip()
            else f"    {src} --> {index[goto]}"
            for goto, label in labelled
            if goto in index
        ]
    return "\n".join(lines) + "\n"


__all__ = ["EXIT_GROUP", "LABEL_CHARS", "days_text", "duration_text", "escape", "to_mermaid"]
