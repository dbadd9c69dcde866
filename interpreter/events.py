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
        "email.unsubscribed",
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
REPLIED = "email.replied"
# The receiver compares a reply's sender with the address the message went to and
# records the verdict here; ``False`` marks a reply from someone else (a forwarded
# thread, a colleague, an outsider who saw the Message-ID). Absent (events recorded
# before the check, or ingested through the API without it) counts as the contact's.
FROM_CONTACT = "fromContact"


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


def from_another_sender(event: Event) -> bool:
    """Whether ``event`` is a reply the receiver found was not sent by the contact."""
    return event.type == REPLIED and event.data.get(FROM_CONTACT) is False


class EventSnapshot:
    """The events a branch may see: a frozen tuple, queried by step and type.

    With ``reply_senders`` (every run since the sender check), a reply from someone
    other than the contact is not the contact's reply: ``has("email.replied", ...)``
    skips it and only ``has_any`` counts it.
    """

    __slots__ = ("_events", "_senders")

    def __init__(self, events: tuple[Event, ...], reply_senders: bool = True) -> None:
        self._events = events
        self._senders = reply_senders

    def has(self, event_type: str, step_id: str) -> bool:
        if self._senders and event_type == REPLIED:
            for e in self._events:
                if e.type == REPLIED and e.step_id == step_id and not from_another_sender(e):
                    return True
            return False
        return self.has_any(event_type, step_id)

    def has_any(self, event_type: str, step_id: str) -> bool:
        """Whether any event of the type was ingested for the step, whoever sent it."""
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
