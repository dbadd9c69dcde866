"""Turning already-decoded documents (dicts from YAML/JSON) into typed values.

Reading files is the caller's job (``dee``); this module only checks shapes and
reports each problem with the document name, step id and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from interpreter import limits as L
from interpreter.errors import InputError, PlanError, Problem
from interpreter.events import Event
from interpreter.plan import ExecutionPlan

STEP_TYPES = ("sendEmail", "sendVoice", "wait", "waitForEvent", "branch", "end")


def parse_plan(data: object, *, source: str) -> ExecutionPlan:
    """Build a plan from a decoded document; raise ``PlanError`` naming every problem."""
    if not isinstance(data, Mapping):
        raise PlanError([Problem(source, None, "", f"a plan is a mapping, got {_kind(data)}")])
    oversized = _oversized(data)
    if oversized:
        raise PlanError([Problem(_plan_id(data, source), None, f, m) for f, m in oversized])
    try:
        return ExecutionPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_problems(exc, data, _plan_id(data, source))) from None


def _plan_id(data: Mapping[str, Any], source: str) -> str:
    plan_id = data.get("id")
    return plan_id if isinstance(plan_id, str) and plan_id else source


def _oversized(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A document past the ceilings of ``interpreter.limits``, refused before pydantic
    builds anything from it (30,000 steps would cost seconds to build, then be refused)."""
    found: list[tuple[str, str]] = []
    steps, transitions = data.get("steps"), data.get("transitions")
    if isinstance(steps, list) and len(steps) > L.MAX_PLAN_STEPS:
        found.append(("steps", f"{len(steps)} steps exceed the limit of {L.MAX_PLAN_STEPS}"))
    if isinstance(transitions, list) and len(transitions) > L.MAX_TRANSITIONS:
        count = len(transitions)
        found.append(
            ("transitions", f"{count} transitions exceed the limit of {L.MAX_TRANSITIONS}")
        )
    if found or not isinstance(steps, list):
        return found
    total = 0
    for i, step in enumerate(steps):
        conditions = step.get("conditions") if isinstance(step, Mapping) else None
        if not isinstance(conditions, list):
            continue
        total += len(conditions)
        if len(conditions) > L.MAX_CONDITIONS:
            count = len(conditions)
            message = f"{count} conditions exceed the limit of {L.MAX_CONDITIONS} per branch"
            found.append((f"steps[{i}].conditions", message))
    if total > L.MAX_ALL_CONDITIONS:
        message = f"{total} branch conditions exceed the limit of {L.MAX_ALL_CONDITIONS} in a plan"
        found.append(("steps", message))
    return found


def _problems(exc: ValidationError, data: Mapping[str, Any], plan_id: str) -> list[Problem]:
    raw_steps = data.get("steps")
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        step: str | None = None
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            index = loc[1]
            raw = (
                raw_steps[index] if isinstance(raw_steps, list) and index < len(raw_steps) else None
            )
            raw_id = raw.get("id") if isinstance(raw, Mapping) else None
            step = raw_id if isinstance(raw_id, str) and raw_id else f"steps[{index}]"
            loc = loc[2:]
            if loc and loc[0] in STEP_TYPES:  # pydantic's discriminator tag, not a field
                loc = loc[1:]
        if loc[:1] == ["transitions"] and len(loc) >= 2 and loc[1] in ("str", "literal['linear']"):
            continue  # the union's other arm; the list arm's error says more
        message = _message(err)
        if err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
            message = f"type must be one of {', '.join(STEP_TYPES)}"
            loc = ["type"]
        problems.append(Problem(plan_id, step, _dotted(loc), message))
    return problems


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "required field is missing"
    return str(err["msg"])


def _dotted(loc: Sequence[object]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("tuple[Transition, ...]",):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def parse_events(data: object, *, source: str) -> list[Event]:
    """A list of ``{type, stepId?, data?, tick, id?}``; every bad item is reported."""
    if not isinstance(data, list):
        raise InputError([f"{source}: events must be a JSON list, got {_kind(data)}"])
    events: list[Event] = []
    problems: list[str] = []
    allowed = {"type", "stepId", "data", "tick", "id"}
    for i, item in enumerate(data):
        where = f"{source}: events[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: an event is a mapping, got {_kind(item)}")
            continue
        bad = len(problems)
        for key in sorted(set(item) - allowed):
            problems.append(f"{where}.{key}: unknown field")
        etype, tick = item.get("type"), item.get("tick")
        if not isinstance(etype, str) or not etype:
            problems.append(f"{where}.type: required, a non-empty string")
        if not isinstance(tick, int) or isinstance(tick, bool) or tick < 0:
            problems.append(f"{where}.tick: required, a non-negative integer")
        step_id, payload, eid = item.get("stepId"), item.get("data", {}), item.get("id")
        if step_id is not None and not isinstance(step_id, str):
            problems.append(f"{where}.stepId: must be a string")
        if not isinstance(payload, Mapping):
            problems.append(f"{where}.data: must be a mapping")
        if eid is not None and not isinstance(eid, str):
            problems.append(f"{where}.id: must be a string")
        if len(problems) == bad:
            events.append(Event(str(etype), int(tick), eid, step_id, dict(payload)))  # type: ignore[arg-type]
    if problems:
        raise InputError(problems)
    return events


def parse_mapping(data: object, *, source: str, what: str) -> dict[str, Any]:
    """A contact or variables document: a JSON object."""
    if not isinstance(data, Mapping):
        raise InputError([f"{source}: {what} must be a JSON object, got {_kind(data)}"])
    return dict(data)


def parse_results(
    data: object, *, source: str, step_ids: frozenset[str]
) -> dict[str, dict[str, Any]]:
    """Recorded/forced results by step id.

    Each value may hold ``status`` (``delivered``|``failed``) with ``reason``, and
    ``policy`` (``allow``|``deny``|``defer``) with ``reason`` and ``untilTick``.
    """
    if not isinstance(data, Mapping):
        raise InputError(
            [f"{source}: results must be a JSON object keyed by step id, got {_kind(data)}"]
        )
    problems: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for step_id, spec in data.items():
        where = f"{source}: {step_id}"
        if step_id not in step_ids:
            problems.append(f"{where}: no such step in the plan")
            continue
        if not isinstance(spec, Mapping):
            problems.append(
                f'{where}: must be an object like {{"status": "failed", "reason": "..."}}'
            )
            continue
        for key in sorted(set(spec) - {"status", "reason", "policy", "untilTick"}):
            problems.append(f"{where}.{key}: unknown field")
        if spec.get("status", "delivered") not in ("delivered", "failed"):
            problems.append(f"{where}.status: must be 'delivered' or 'failed'")
        if spec.get("policy", "allow") not in ("allow", "deny", "defer"):
            problems.append(f"{where}.policy: must be 'allow', 'deny' or 'defer'")
        if spec.get("policy") == "defer" and not isinstance(spec.get("untilTick"), int):
            problems.append(f"{where}.untilTick: a deferral needs an integer untilTick")
        if "reason" in spec and not isinstance(spec["reason"], str):
            problems.append(f"{where}.reason: must be a string")
        out[str(step_id)] = dict(spec)
    if problems:
        raise InputError(problems)
    return out
