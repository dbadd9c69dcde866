"""A run's recorded inputs, rebuilt from its audit entries.

A run's audit chain holds every input the machine consumed (the start, each
ingested event, policy decision, send result, fired timer and operator action)
as the first entry that input produced; ``inputs_from_audit`` rebuilds them, in
order. Pure: shared by ``interpreter.replay`` and ``interpreter.what_if``; what the
Temporal history records is read in ``dee.replay`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from interpreter.commands import (
    CHANNELS,
    EventIngested,
    Input,
    OperatorAction,
    PolicyDecided,
    SendCompleted,
    Start,
    TimerFired,
    send_action,
)
from interpreter.events import Event
from interpreter.local_time import Clock, parse_utc_iso
from interpreter.trace import RUN_SCOPE

Entry = Mapping[str, Any]
"""A recorded audit entry in the export layout (``ChainedEntry.as_dict()``)."""

SENDS = tuple(send_action(channel) for channel in CHANNELS)
_OPERATOR = ("pause", "resume", "cancel")


def detail_of(entry: Entry) -> dict[str, Any]:
    detail = entry.get("detail") or {}
    return dict(detail) if isinstance(detail, Mapping) else {}


def _input_of(entry: Entry) -> Input | None:
    """The input whose first record is ``entry``; ``None`` for a derived entry."""
    tick, step_id = int(entry["tick"]), str(entry["step_id"])
    action, outcome, detail = str(entry["action"]), str(entry["outcome"]), detail_of(entry)
    late = bool(detail.pop("afterCancel", False))
    if action == "start":
        return Start(tick)
    if action == "event":
        scope = None if step_id == RUN_SCOPE else step_id
        data = detail.get("data") or {}
        event = Event(str(detail.get("type", "")), tick, detail.get("id"), scope, dict(data))
        return EventIngested(tick, event)
    if action == "policy_check":
        decision = {"allowed": "allow", "deferred": "defer", "denied": "deny"}.get(outcome, outcome)
        if decision not in ("allow", "defer", "deny"):
            return None
        policy, reason, until = detail.pop("policy", None), detail.pop("reason", None), None
        if decision == "defer":
            until = detail.pop("untilTick", None)
        return PolicyDecided(tick, step_id, decision, policy, reason, until, detail)  # type: ignore[arg-type]
    if action in SENDS and outcome in ("delivered", "failed", "unknown"):
        reason = detail.pop("reason", None) if outcome != "delivered" or late else None
        if outcome == "unknown" and isinstance(reason, str):
            reason = reason.removeprefix("send_outcome_unknown: ")
        return SendCompleted(tick, step_id, outcome, reason, detail)  # type: ignore[arg-type]
    if (action in ("wait", "defer") and outcome == "completed") or (
        action == "wait_for_event" and outcome == "timeout"
    ):
        return TimerFired(tick, "")  # the id is the replayed run's pending timer
    by, why = str(detail.get("by", "")), str(detail.get("reason", ""))
    if action in _OPERATOR and outcome == "accepted":
        return OperatorAction(tick, action, by, why)  # type: ignore[arg-type]
    if action == "retry" and outcome == "accepted":
        return OperatorAction(tick, "retry", by, why, "resend" if detail.get("resend") else None)
    if action == "resolve" and outcome == "skip":
        return OperatorAction(tick, "resolve", by, why, "skip", detail.get("to"))
    if action == "resolve" and outcome == "end":
        return OperatorAction(tick, "resolve", by, why, "end", detail.get("outcome"))
    if action == "resolve" and outcome == "mark_sent":
        return OperatorAction(tick, "resolve", by, why, "mark_sent")
    return None


def clock_from_audit(entries: Sequence[Entry], tick_interval_ms: int) -> Clock | None:
    """The run's clock, from its start entry's ``origin`` (recorded when its plan uses
    local times); ``None`` when the entry has none (then no local time was computed)."""
    for entry in entries:
        if entry.get("action") != "start":
            continue
        origin = detail_of(entry).get("origin")
        if not isinstance(origin, str):
            return None
        try:
            return Clock(parse_utc_iso(origin), int(entry["tick"]), tick_interval_ms)
        except ValueError:
            return None
    return None


def tzdata_from_audit(entries: Sequence[Entry]) -> str | None:
    """The tz database version the run's start entry records (``None``: the run's plan
    uses no local time, so the version it ran under decided nothing)."""
    for entry in entries:
        if entry.get("action") == "start":
            version = detail_of(entry).get("tzdata")
            return version if isinstance(version, str) else None
    return None


def inputs_from_audit(entries: Sequence[Entry]) -> list[Input]:
    """The machine inputs a run consumed, in order, rebuilt from its audit entries."""
    return [inp for inp in map(_input_of, entries) if inp is not None]
