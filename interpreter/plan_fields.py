"""Every identifier and free-text field of a plan, checked against ``interpreter.limits``.

One rule per field (its limit and whether it is an identifier, one line of text or
several); the sizes of the plan as a whole (steps, transitions, conditions) are
``validation``'s first check. Branch conditions are CEL and checked as CEL
(``cel_validate``); caller ids and reply-to addresses have their own patterns, which
``validation`` applies, and only their length and characters are checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import assert_never

from interpreter import limits as L
from interpreter.plan import (
    BranchStep,
    EndStep,
    ExecutionPlan,
    SendEmailStep,
    SendVoiceStep,
    Step,
    WaitForEventStep,
    WaitStep,
)

# (step id or None, field, message)
Found = tuple[str | None, str, str]
_Rule = Callable[[str, str, int], str | None]


def field_problems(plan: ExecutionPlan) -> Iterator[Found]:
    """Each field of ``plan`` that is too long or holds a character it may not."""
    ident, line = L.identifier_problem, _line
    meta = plan.metadata
    yield from _one(None, "id", ident, plan.id, "the plan id", L.PLAN_ID)
    yield from _one(None, "name", line, plan.name, "the plan name", L.PLAN_NAME)
    yield from _one(None, "metadata.createdBy", line, meta.created_by, "createdBy", L.CREATED_BY)
    if meta.description is not None:
        yield from _one(
            None, "metadata.description", _lines, meta.description, "the description",
            L.DESCRIPTION,
        )  # fmt: skip
    for step in plan.steps:
        # The characters of a step id are the step-id pattern's business (validation).
        if len(step.id) > L.STEP_ID:
            yield (
                step.id,
                "id",
                f"a step id is {len(step.id)} characters long; the limit is {L.STEP_ID}",
            )
        yield from _step(step)
    if plan.transitions != "linear":
        for i, t in enumerate(plan.transitions):
            if t.condition is not None:
                where = f"transitions[{i}].condition"
                yield from _one(None, where, line, t.condition, "the label", L.LABEL)


def _step(step: Step) -> Iterator[Found]:
    ident, line, sid = L.identifier_problem, _line, step.id
    match step:
        case SendEmailStep():
            yield from _one(sid, "templateId", ident, step.template_id, "the id", L.TEMPLATE_ID)
            yield from _one(sid, "subject", line, step.subject, "the subject", L.SUBJECT)
            if step.reply_to is not None:
                yield from _one(sid, "replyTo", line, step.reply_to, "the address", L.EMAIL_ADDRESS)
        case SendVoiceStep():
            yield from _one(sid, "scriptId", ident, step.script_id, "the id", L.TEMPLATE_ID)
            message = step.voicemail.message_id
            if message is not None:
                yield from _one(sid, "voicemail.messageId", ident, message, "the id", L.TEMPLATE_ID)
        case EndStep():
            # An empty (or blank) outcome has its own message in validation.
            yield from _one(sid, "outcome", _filled, step.outcome, "the outcome", L.OUTCOME)
        case WaitStep() | BranchStep() | WaitForEventStep():
            pass  # numbers, times; conditions are CEL (and their gotos must name steps)
        case _:
            assert_never(step)


def _one(
    step: str | None, field: str, rule: _Rule, value: str, what: str, limit: int
) -> Iterator[Found]:
    problem = rule(value, what, limit)
    if problem is not None:
        yield step, field, problem


def _filled(value: str, what: str, limit: int) -> str | None:
    return L.identifier_problem(value, what, limit) if value else None


def _line(value: str, what: str, limit: int) -> str | None:
    return L.text_problem(value, what, limit)


def _lines(value: str, what: str, limit: int) -> str | None:
    return L.text_problem(value, what, limit, multiline=True)


__all__ = ["Found", "field_problems"]
