"""Trace entries: the decisions a run makes, in order, before they are chained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Run-level entries (start, failure, cancel ...) are not about a plan step; this
# marker cannot collide with a step id because validation forbids "@" in ids.
RUN_SCOPE = "@run"


@dataclass(slots=True)
class TraceEntry:
    """One decision: ``[tick] step:<step_id> -> action:<action> -> outcome:<outcome>``.

    A value that is never mutated once made (not frozen only because frozen
    dataclasses are slow to construct, and the machine makes one per decision).
    """

    tick: int
    step_id: str
    action: str
    outcome: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tick": self.tick,
            "stepId": self.step_id,
            "action": self.action,
            "outcome": self.outcome,
            "detail": dict(self.detail),
        }


@dataclass(slots=True)
class Trace:
    """The result of a simulated (or replayed) run.

    Attributes:
        status: The final run status (``COMPLETED``, ``FAILED`` ...).
        outcome: The end step's outcome, when the run completed.
        path: Step ids in the order the run entered them.
        entries: Every trace entry, in order.
        tick: The tick of the last input the run consumed.
    """

    status: str
    outcome: str | None
    path: tuple[str, ...]
    entries: tuple[TraceEntry, ...]
    tick: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "outcome": self.outcome,
            "path": list(self.path),
            "trace": [e.as_dict() for e in self.entries],
        }
