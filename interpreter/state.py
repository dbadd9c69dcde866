"""The run state the step machine threads through: small, immutable, serialisable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from interpreter.events import Event


class Status(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    PAUSED = "PAUSED"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.CANCELED})

# Where the current step stands:
#   policy  - waiting for the policy gate's decision
#   send    - waiting for the channel's send result
#   timer   - waiting for a timer (a wait step, or a deferral by the policy gate)
#   held    - paused before a side effect; ``held`` says what resumes it
#   failed  - stopped fail-closed, waiting for an operator
#   done    - completed or canceled
Phase = Literal["new", "policy", "send", "timer", "held", "failed", "done"]
FailureKind = Literal[
    "send_failed",
    "send_outcome_unknown",
    "policy_denied",
    "condition_error",
    "step_budget",
    # a local time could not be computed (no or an unknown time zone, a window no tick
    # of the run's clock falls in)
    "local_time",
    # an exitOn rule's ``when`` failed to evaluate: an operator resolves or cancels the
    # run (a retry could not say whether the contact asked to stop)
    "exit_error",
]


@dataclass(frozen=True, slots=True)
class Failure:
    step_id: str
    kind: FailureKind
    reason: str


@dataclass(frozen=True, slots=True)
class PendingTimer:
    timer_id: str
    until_tick: int
    purpose: Literal["wait", "defer"]


@dataclass(frozen=True, slots=True)
class PendingExit:
    """An exit decided while a policy check or send was in flight: applied once its
    result is recorded. ``outcome`` for a matched rule, ``reason`` for a rule that
    failed to evaluate; ``detail`` is the exit entry's."""

    outcome: str | None
    reason: str | None
    detail: Mapping[str, object]


@dataclass(slots=True)
class RunState:
    """Everything the machine needs to continue a run (and to continue-as-new).

    Callers treat a state as a value: ``machine.step`` never mutates the state it
    is given; it works on a private ``copy()`` (one copy per input is far cheaper
    than rebuilding a frozen object per field change), and ``visits``/``events``
    are replaced, never updated in place, so copies may share them.
    """

    status: Status = Status.PENDING
    phase: Phase = "new"
    step_id: str | None = None
    held: Literal["enter", "policy"] | None = None
    timer: PendingTimer | None = None
    timer_seq: int = 0
    visits: Mapping[str, int] = field(default_factory=dict)
    executed: int = 0
    events: tuple[Event, ...] = ()
    event_ids: frozenset[str] = frozenset()
    paused: bool = False
    failure: Failure | None = None
    outcome: str | None = None
    tick: int = 0
    exiting: PendingExit | None = None

    def visit(self, step_id: str) -> int:
        return self.visits.get(step_id, 0)

    def copy(self) -> RunState:
        return RunState(
            self.status,
            self.phase,
            self.step_id,
            self.held,
            self.timer,
            self.timer_seq,
            self.visits,
            self.executed,
            self.events,
            self.event_ids,
            self.paused,
            self.failure,
            self.outcome,
            self.tick,
            self.exiting,
        )
