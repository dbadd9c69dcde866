"""Plan validation: one call reports every problem, each naming plan, step and field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

import phonenumbers

from interpreter import limits as L
from interpreter.commands import Channel
from interpreter.compliance import check_compliance
from interpreter.conditions import DEFAULT
from interpreter.constant_conditions import always_false
from interpreter.cycles import check_cycles
from interpreter.errors import PlanError, Problem
from interpreter.graph import reachable, successors
from interpreter.plan import (
    BranchStep,
    Condition,
    EndStep,
    ExecutionPlan,
    SendEmailStep,
    SendVoiceStep,
    Step,
    WaitForEventStep,
    WaitStep,
)
from interpreter.plan_fields import field_problems
from interpreter.registry import ContentRegistry
from interpreter.stop_checks import check_plan_level, checker
from interpreter.stop_checks import check_step as check_timing

STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
# Deliberately simple: one @, no spaces, a dotted domain. Deliverability is the
# provider's business; this catches typos and display-name junk in plan files.
EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_CALL_SECONDS = 4 * 3600  # the longest call the voice providers accept

Add = Callable[[str | None, str, str], None]


@dataclass(frozen=True, slots=True)
class Limits:
    """Validation limits (configurable per deployment, within ``interpreter.limits``).

    Attributes:
        max_steps: Most steps a plan may have (at most ``limits.MAX_PLAN_STEPS``).
        max_wait_days: Longest wait (at most ``limits.MAX_WAIT_DAYS``).
        min_send_loop_wait: Seconds a cycle that sends must wait on every round.
        hardened: The issue-18 rules (field limits, constant-false conditions are no
            exit, ``min_send_loop_wait``). ``False`` is validation as it was before
            them, which only a replay of a run admitted under the old rules needs
            (``workflows.admission``).
        google_cel: Check conditions (branches, ``exitOn`` rules' ``when``,
            ``waitForEvent`` ``until``) on Google's CEL (``cel_validate``), the
            evaluator new runs use (issue 23). ``False`` compiles them for the old
            evaluator (``legacy_cel``), which replays runs recorded before the flip
            (``workflows.admission``); they are checked on the library either way.

    Raises:
        ValueError: a limit outside its range.
    """

    max_steps: int = 100
    max_wait_days: int = 365
    min_send_loop_wait: int = 86_400
    hardened: bool = True
    google_cel: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.max_steps <= L.MAX_PLAN_STEPS:
            raise ValueError(f"max_steps must be 1..{L.MAX_PLAN_STEPS}, got {self.max_steps}")
        if not 1 <= self.max_wait_days <= L.MAX_WAIT_DAYS:
            raise ValueError(
                f"max_wait_days must be 1..{L.MAX_WAIT_DAYS}, got {self.max_wait_days}"
            )
        if self.min_send_loop_wait < 0:
            raise ValueError(f"min_send_loop_wait must be >= 0, got {self.min_send_loop_wait}")


# What every start the workflow admits must pass: the ceilings, so any deployment's
# own limits (checked when the plan is registered) are within them.
ADMISSION = Limits(max_steps=L.MAX_PLAN_STEPS, max_wait_days=L.MAX_WAIT_DAYS, min_send_loop_wait=0)
LEGACY = Limits(hardened=False)


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
    # Size first, and alone: every later check is linear, but a plan past the limit is
    # refused without spending even that on it.
    size = _size_problems(plan, limits)
    if size:
        return [Problem(plan.id, step, fld, message) for step, fld, message in size]

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
    if limits.hardened:
        for step, fld, message in field_problems(plan):
            add(step, fld, message)

    step_ids = frozenset(known)
    check_plan_level(plan, step_ids, add, google_cel=limits.google_cel)
    check_compliance(plan, add)
    for s in plan.steps:
        _check_step(s, registry, limits, add)
        check_timing(s, step_ids, limits.max_wait_days, add, google_cel=limits.google_cel)
        if isinstance(s, BranchStep):
            _check_branch(s, step_ids, add, google_cel=limits.google_cel)

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
    if limits.hardened:
        exits = successors(plan, dead=_always_false)
        check_cycles(plan, edges, exits, live, add, min_send_wait=limits.min_send_loop_wait)
    else:
        check_cycles(plan, edges, edges, live, add, min_send_wait=None)
    return problems


def _size_problems(plan: ExecutionPlan, limits: Limits) -> list[tuple[str | None, str, str]]:
    found: list[tuple[str | None, str, str]] = []
    if len(plan.steps) > limits.max_steps:
        found.append(
            (None, "steps", f"{len(plan.steps)} steps exceed the limit of {limits.max_steps}")
        )
    if plan.transitions != "linear" and len(plan.transitions) > L.MAX_TRANSITIONS:
        count = len(plan.transitions)
        found.append(
            (None, "transitions", f"{count} transitions exceed the limit of {L.MAX_TRANSITIONS}")
        )
    total = 0
    for s in plan.steps:
        if isinstance(s, BranchStep):
            total += len(s.conditions)
            if len(s.conditions) > L.MAX_CONDITIONS:
                count = len(s.conditions)
                message = f"{count} conditions exceed the limit of {L.MAX_CONDITIONS} per branch"
                found.append((s.id, "conditions", message))
    if total > L.MAX_ALL_CONDITIONS:
        message = f"{total} branch conditions exceed the limit of {L.MAX_ALL_CONDITIONS} in a plan"
        found.append((None, "steps", message))
    return found


def _always_false(cond: Condition) -> bool:
    return cond.when.strip() != DEFAULT and always_false(cond.when)


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
        case WaitStep() | WaitForEventStep():
            pass  # stop_checks
        case BranchStep():
            pass  # needs the other step ids: _check_branch
        case EndStep():
            if not s.outcome.strip():
                add(s.id, "outcome", "the outcome is empty")
        case _:  # a new step type: mypy finds this line
            assert_never(s)


def _check_content(
    registry: ContentRegistry | None,
    channel: Channel,
    content_id: str,
    at: tuple[str, str],
    add: Add,
) -> None:
    """Report why an existing template or script cannot render (``registry.unusable``)."""
    if registry is None:
        return
    for message in registry.unusable.get((channel, content_id), ()):
        add(at[0], at[1], f"{_content_noun(channel)} '{content_id}' cannot be used: {message}")


def _content_noun(channel: Channel) -> str:
    """What a channel's content is called in a problem."""
    match channel:
        case "email":
            return "template"
        case "voice":
            return "script"
        case _:  # a new channel: mypy finds this line
            assert_never(channel)


def _check_branch(s: BranchStep, known: frozenset[str], add: Add, *, google_cel: bool) -> None:
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
        for problem in checker(google_cel)(c.when, step_ids=known):
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
        elif isinstance(src, WaitForEventStep):
            if t.to not in (src.on_event, src.on_timeout):
                add(
                    src.id,
                    f"transitions[{i}].to",
                    f"'{t.to}' is neither the step's onEvent ('{src.on_event}') nor its "
                    f"onTimeout ('{src.on_timeout}')",
                )
        else:
            outgoing[src.id] = outgoing.get(src.id, 0) + 1
            if outgoing[src.id] == 2:
                add(
                    src.id,
                    f"transitions[{i}]",
                    "only a branch may have more than one outgoing edge",
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
