"""Plan validation: one call reports every problem, each naming plan, step and field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

from interpreter.cel_check import check_condition
from interpreter.conditions import DEFAULT
from interpreter.errors import PlanError, Problem
from interpreter.graph import cyclic_components, has_cycle, reachable, successors
from interpreter.plan import (
    BranchStep,
    EndStep,
    ExecutionPlan,
    SendEmailStep,
    SendVoiceStep,
    Step,
    WaitStep,
)
from interpreter.registry import ContentRegistry

STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
# Deliberately simple: one @, no spaces, a dotted domain. Deliverability is the
# provider's business; this catches typos and display-name junk in plan files.
EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_CALL_SECONDS = 4 * 3600  # the longest call the voice providers accept

TRAPPED = (
    "from this step the run can never reach an end step: it is caught in a cycle with no way out"
)
Add = Callable[[str | None, str, str], None]


@dataclass(frozen=True, slots=True)
class Limits:
    """Validation limits (configurable per deployment)."""

    max_steps: int = 100
    max_wait_days: int = 365


def validate(
    plan: ExecutionPlan,
    *,
    registry: ContentRegistry | None = None,
    limits: Limits = Limits(),
) -> list[Problem]:
    """Every problem with ``plan``; an empty list means it may run.

    ``registry`` None skips the template/script existence checks (for callers that
    have no registry, e.g. a quick simulation); the CLI and engine always pass one.
    """
    problems: list[Problem] = []

    def add(step: str | None, fld: str, message: str) -> None:
        problems.append(Problem(plan.id, step, fld, message))

    if not plan.steps:
        add(None, "steps", "a plan needs at least one step")
        return problems
    if len(plan.steps) > limits.max_steps:
        add(None, "steps", f"{len(plan.steps)} steps exceed the limit of {limits.max_steps}")

    ids = [s.id for s in plan.steps]
    known = set(ids)
    seen: set[str] = set()
    for s in plan.steps:
        if s.id in seen:
            add(s.id, "id", "duplicate step id")
        seen.add(s.id)
        if not STEP_ID.fullmatch(s.id):
            add(
                s.id,
                "id",
                "step ids start with a letter or digit and use only letters, digits, _ . : -",
            )

    for s in plan.steps:
        _check_step(s, registry, limits, add)
        if isinstance(s, BranchStep):
            _check_branch(s, known, add)

    _check_edges(plan, known, add)
    # Edges to unknown steps are reported above; the graph checks below still run
    # (treating such edges as dead ends that do not count against the plan), so
    # one call reports every independent problem.
    edges = successors(plan)
    for s in plan.steps:
        if not isinstance(s, EndStep) and not edges[s.id]:
            add(
                s.id,
                "transitions",
                "this step has no outgoing edge (only end steps may stop a run)",
            )
    live = reachable(plan.steps[0].id, edges)
    for s in plan.steps:
        if s.id not in live:
            add(s.id, "id", f"unreachable from the first step '{plan.steps[0].id}'")
    _check_cycles(plan, edges, live, add)
    return problems


def ensure_valid(
    plan: ExecutionPlan,
    *,
    registry: ContentRegistry | None = None,
    limits: Limits = Limits(),
) -> ExecutionPlan:
    """Return ``plan`` or raise ``PlanError`` listing every problem."""
    problems = validate(plan, registry=registry, limits=limits)
    if problems:
        raise PlanError(problems)
    return plan


def _check_step(s: Step, registry: ContentRegistry | None, limits: Limits, add: Add) -> None:
    match s:
        case SendEmailStep():
            if registry is not None and s.template_id not in registry.email_templates:
                add(
                    s.id,
                    "templateId",
                    f"template '{s.template_id}' is not in the template registry",
                )
            _check_content(registry, "email", s.template_id, (s.id, "templateId"), add)
            if registry is not None and registry.check_subject is not None and s.subject.strip():
                for message in registry.check_subject(s.subject):
                    add(s.id, "subject", message)
            if s.reply_to is not None and not EMAIL.fullmatch(s.reply_to):
                add(s.id, "replyTo", f"'{s.reply_to}' is not a valid email address")
            if not s.subject.strip():
                add(s.id, "subject", "the subject is empty")
        case SendVoiceStep():
            if registry is not None and s.script_id not in registry.voice_scripts:
                add(s.id, "scriptId", f"script '{s.script_id}' is not in the script registry")
            _check_content(registry, "voice", s.script_id, (s.id, "scriptId"), add)
            if not _is_e164(s.caller_id):
                add(
                    s.id,
                    "callerId",
                    f"'{s.caller_id}' is not a valid E.164 number "
                    "(a + then country code and number, like +442071838750)",
                )
            total = s.max_duration.total_seconds
            if s.max_duration.minutes < 0 or s.max_duration.seconds < 0 or total <= 0:
                add(s.id, "maxDuration", "the maximum call duration must be positive")
            elif total > MAX_CALL_SECONDS:
                add(s.id, "maxDuration", f"{total} s exceeds the {MAX_CALL_SECONDS} s call limit")
            vm = s.voicemail
            if vm.detect and vm.message_id is None:
                add(s.id, "voicemail.messageId", "voicemail detection needs a messageId to play")
            if (
                vm.message_id is not None
                and registry is not None
                and vm.message_id not in registry.voice_messages
            ):
                add(
                    s.id,
                    "voicemail.messageId",
                    f"message '{vm.message_id}' is not in the script registry",
                )
            if vm.message_id is not None:
                _check_content(registry, "voice", vm.message_id, (s.id, "voicemail.messageId"), add)
        case WaitStep():
            d = s.duration
            total = d.total_seconds
            if min(d.days, d.hours, d.minutes, d.seconds) < 0:
                add(s.id, "duration", "duration components may not be negative")
            elif total <= 0:
                add(s.id, "duration", "a wait must last longer than zero")
            elif total > limits.max_wait_days * 86_400:
                add(s.id, "duration", f"{total} s exceeds the limit of {limits.max_wait_days} days")
        case BranchStep():
            pass  # needs the other step ids: _check_branch
        case EndStep():
            if not s.outcome.strip():
                add(s.id, "outcome", "the outcome is empty")


def _check_content(
    registry: ContentRegistry | None, channel: str, content_id: str, at: tuple[str, str], add: Add
) -> None:
    """Report why an existing template or script cannot render (``registry.unusable``)."""
    if registry is None:
        return
    for message in registry.unusable.get((channel, content_id), ()):
        noun = "template" if channel == "email" else "script"
        add(at[0], at[1], f"{noun} '{content_id}' cannot be used: {message}")


def _check_branch(s: BranchStep, known: set[str], add: Add) -> None:
    if not s.conditions:
        add(s.id, "conditions", "a branch needs at least one condition and a default")
        return
    defaults = [i for i, c in enumerate(s.conditions) if c.when.strip() == DEFAULT]
    if not defaults:
        add(s.id, "conditions", "a branch needs a 'default' condition")
    elif defaults[0] != len(s.conditions) - 1:
        add(s.id, f"conditions[{defaults[0] + 1}]", "conditions after 'default' can never match")
    for i, c in enumerate(s.conditions):
        if c.goto not in known:
            add(s.id, f"conditions[{i}].goto", f"unknown step '{c.goto}'")
        if c.when.strip() == DEFAULT:
            continue
        for problem in check_condition(c.when, step_ids=frozenset(known)):
            add(s.id, f"conditions[{i}].when", problem.message)


def _check_edges(plan: ExecutionPlan, known: set[str], add: Add) -> None:
    if plan.transitions == "linear":
        return
    by_id = {s.id: s for s in plan.steps}
    outgoing: dict[str, int] = {}
    for i, t in enumerate(plan.transitions):
        src = by_id.get(t.from_)
        if src is None:
            add(None, f"transitions[{i}].from", f"unknown step '{t.from_}'")
        if t.to not in known:
            add(t.from_ if src else None, f"transitions[{i}].to", f"unknown step '{t.to}'")
        if src is None:
            continue
        if isinstance(src, EndStep):
            add(src.id, f"transitions[{i}]", "an end step may not have an outgoing edge")
        elif isinstance(src, BranchStep):
            gotos = [c.goto for c in src.conditions]
            if t.to not in gotos:
                add(
                    src.id,
                    f"transitions[{i}].to",
                    f"'{t.to}' is not one of the branch's gotos {gotos}",
                )
        else:
            outgoing[src.id] = outgoing.get(src.id, 0) + 1
            if outgoing[src.id] == 2:
                add(
                    src.id,
                    f"transitions[{i}]",
                    "only a branch may have more than one outgoing edge",
                )


def _check_cycles(
    plan: ExecutionPlan, edges: dict[str, tuple[str, ...]], live: set[str], add: Add
) -> None:
    """Every cycle must let time pass, and every step must still be able to end.

    "Can reach an end step" is the precise form of "every cycle has a branch with
    an edge leaving it": a cycle without such a branch cannot reach an end, and
    it also rejects traps where two cycles only ever exit into each other.
    """
    by_id = {s.id: s for s in plan.steps}
    for comp in cyclic_components(edges):
        waits = {n for n in comp if isinstance(by_id[n], WaitStep)}
        if has_cycle(set(comp) - waits, edges):
            listed = ", ".join(comp)
            add(
                comp[0],
                "transitions",
                f"a cycle through [{listed}] passes no wait: it would loop without time passing",
            )
    can_end = {s.id for s in plan.steps if isinstance(s, EndStep)}
    # Unknown targets are already reported; count them as able to end to avoid echoes.
    can_end |= {t for targets in edges.values() for t in targets if t not in by_id}
    changed = True
    while changed:
        changed = False
        for node, targets in edges.items():
            if node not in can_end and any(t in can_end for t in targets):
                can_end.add(node)
                changed = True
    for s in plan.steps:
        if s.id in live and s.id not in can_end and edges[s.id]:
            add(
                s.id,
                "transitions",
                TRAPPED,
            )


def _is_e164(number: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{1,14}", number):
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    # "Possible" (right country code and length) rather than "valid": the
    # documents' own example, +1 555 123 4567, is in the reserved fictional range.
    return bool(phonenumbers.is_possible_number(parsed))
