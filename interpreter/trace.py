"""Trace entries: the decisions a run makes, in order, before they are chained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Run-level entries (start, failure, cancel ...) are not about a plan step; this
# marker cannot collide with a step id because validation forbids "@" in ids.
RUN_SCOPE = "@run"

# The entries that close a run's chain — the decision that ended it — by action: the
# outcomes that do (``None``: any) and the ones that do not. The one definition the
# machine's records, the audit store's open-chain check, run reading and what-if share.
# ``exit``'s ``pending`` (a send in flight) and ``error`` (a rule that failed) end
# nothing; validation reserves them, so an exit rule cannot take them.
CLOSING: Mapping[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "end": (None, ()),
    "exit": (None, ("pending", "error")),
    "cancel": (("accepted",), ()),
    "resolve": (("end",), ()),
}


def closes_run(action: str, outcome: str) -> bool:
    """Whether an entry with ``action`` and ``outcome`` is the one that ended its run."""
    rule = CLOSING.get(action)
    if rule is None:
        return False
    only, never = rule
    return (only is None or outcome in only) and outcome not in never


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
