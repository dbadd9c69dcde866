"""Ingested events and the immutable snapshot branch conditions read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CANONICAL_EVENT_TYPES = frozenset(
    {
        "email.delivered",
        "email.opened",
        "email.clicked",
        "email.replied",
        "email.bounced",
        "email.complained",
        "voice.answered",
        "voice.voicemail",
        "voice.no_answer",
        "voice.busy",
        "voice.failed",
        "voice.completed",
    }
)

# callOutcome() reports what happened on the call. A provider usually reports
# "completed" after "answered"/"voicemail"; the more specific outcome wins, so
# "completed" is only returned when nothing more specific was seen.
CALL_OUTCOMES = {
    "voice.answered": "answered",
    "voice.voicemail": "voicemail",
    "voice.no_answer": "no_answer",
    "voice.busy": "busy",
    "voice.failed": "failed",
}
CALL_COMPLETED = "voice.completed"


@dataclass(frozen=True, slots=True)
class Event:
    """An external event as the run sees it.

    Attributes:
        type: ``email.opened`` and friends; other types are allowed (``hasEvent``).
        tick: The run-relative tick at which the event was ingested.
        id: A stable id (provider event id); a second event with the same id is a
            duplicate and changes nothing.
        step_id: The step the event belongs to (the email that was opened).
        data: Free-form payload, recorded in the audit log.
    """

    type: str
    tick: int
    id: str | None = None
    step_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "tick": self.tick}
        if self.id is not None:
            out["id"] = self.id
        if self.step_id is not None:
            out["stepId"] = self.step_id
        out["data"] = dict(self.data)
        return out


class EventSnapshot:
    """The events a branch may see: a frozen tuple, queried by step and type."""

    __slots__ = ("_events",)

    def __init__(self, events: tuple[Event, ...]) -> None:
        self._events = events

    def has(self, event_type: str, step_id: str) -> bool:
        for e in self._events:  # noqa: SIM110 - a plain loop: twice as fast as any() here
            if e.type == event_type and e.step_id == step_id:
                return True
        return False

    def call_outcome(self, step_id: str) -> str:
        outcome = ""
        for e in self._events:
            if e.step_id != step_id:
                continue
            specific = CALL_OUTCOMES.get(e.type)
            if specific is not None:
                outcome = specific
            elif e.type == CALL_COMPLETED and not outcome:
                outcome = "completed"
        return outcome
