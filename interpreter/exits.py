"""``exitOn``: which of a plan's exit rules an ingested event triggers, and
``waitForEvent``'s ``until``. Pure evaluation; the step machine acts on the answer."""

from __future__ import annotations

from interpreter.cel_branch import evaluate_google
from interpreter.compiled import CompiledExit, RunContext
from interpreter.conditions import CompiledBranch, evaluate_branch
from interpreter.errors import ConditionError
from interpreter.events import REPLIED, Event, EventSnapshot, from_another_sender
from interpreter.state import RunState


class ExitRuleError(Exception):
    """Exit rule ``index``'s ``when`` failed to evaluate: ``reason`` says why."""

    def __init__(self, index: int, when: str, reason: str) -> None:
        super().__init__(f"exitOn[{index}] {when!r}: {reason}")
        self.index, self.when, self.reason = index, when, reason


def holds(ctx: RunContext, s: RunState, test: CompiledBranch) -> bool:
    """Whether a compiled single condition holds on the run now.

    Raises:
        ConditionError: it failed to evaluate (named after the test's owner).
    """
    snapshot = EventSnapshot(s.events, ctx.config.reply_senders)
    evaluate = evaluate_google if ctx.config.google_cel else evaluate_branch
    index, _ = evaluate(
        test, snapshot=snapshot, contact=ctx.contact, variables=ctx.variables, visits=s.visits
    )
    return index == 0


def first_exit(ctx: RunContext, s: RunState, event: Event) -> CompiledExit | None:
    """The first exit rule ``event`` (just ingested into ``s``) triggers, if any.

    A reply the receiver found was sent by someone else is not the contact's reply
    (as for ``hasReply``): it triggers no ``email.replied`` rule.

    Raises:
        ExitRuleError: a rule's ``when`` failed to evaluate (before any later rule).
    """
    foreign = ctx.config.reply_senders and from_another_sender(event)
    for rule in ctx.plan.exits:
        wanted = rule.rule.event
        if wanted is not None:
            if event.type != wanted or (foreign and wanted == REPLIED):
                continue
            if rule.rule.step is not None and event.step_id != rule.rule.step:
                continue
        if rule.test is not None:
            try:
                matched = holds(ctx, s, rule.test)
            except ConditionError as err:
                raise ExitRuleError(rule.index, err.when, err.reason) from None
            if not matched:
                continue
        return rule
    return None


def exit_detail(rule: CompiledExit, event: Event) -> dict[str, object]:
    """The exit entry's detail: the rule (its index and what it says) and the event."""
    said: dict[str, object] = {"rule": rule.index, "outcome": rule.rule.outcome}
    for key, value in (("ruleEvent", rule.rule.event), ("ruleStep", rule.rule.step)):
        if value is not None:
            said[key] = value
    if rule.rule.when is not None:
        said["when"] = rule.rule.when
    trigger: dict[str, object] = {"type": event.type}
    if event.id is not None:
        trigger["id"] = event.id
    if event.step_id is not None:
        trigger["stepId"] = event.step_id
    said["event"] = trigger
    return said


__all__ = ["ExitRuleError", "exit_detail", "first_exit", "holds"]
