"""What every path of the step machine shares: trace entries, timers and failing closed.

The machine's modules (``machine`` and ``machine_*``) work on one private copy of the
run state (``s``) and mutate it; ``Out`` collects the commands of one input in order.
"""

from __future__ import annotations

from interpreter.commands import Command, FailRun, StartTimer
from interpreter.plan import SendStep
from interpreter.state import Failure, FailureKind, PendingTimer, RunState, Status
from interpreter.trace import RUN_SCOPE, TraceEntry

Out = list[Command]
# Looked up once: ``Status.X`` goes through the enum's metaclass (~90 ns, several times
# per step).
_WAITING, _PAUSED = Status.WAITING, Status.PAUSED


def record(
    out: Out,
    tick: int,
    step_id: str,
    action: str,
    outcome: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Append a trace entry (a decision, recorded before the command acting on it)."""
    out.append(TraceEntry(tick, step_id, action, outcome, {} if detail is None else detail))


def start_timer(s: RunState, step_id: str, until: int, purpose: str, out: Out) -> None:
    """Start the step's timer (``purpose`` ``wait`` or ``defer``); the run waits on it."""
    s.timer_seq += 1
    timer = PendingTimer(f"t{s.timer_seq}", until, "wait" if purpose == "wait" else "defer")
    out.append(StartTimer(timer.timer_id, until, step_id, timer.purpose))
    s.phase, s.timer = "timer", timer
    s.status = _PAUSED if s.paused else _WAITING


def fail(s: RunState, step_id: str, kind: FailureKind, reason: str, tick: int, out: Out) -> None:
    """Fail the run closed at ``step_id``: it waits for an operator (retry, resolve, cancel)."""
    detail: dict[str, object] = {
        "reason": f"step_failed({step_id})",
        "kind": kind,
        "cause": reason,
        "stepId": step_id,
    }
    record(out, tick, RUN_SCOPE, "run", "failed", detail)
    out.append(FailRun(step_id, reason))
    s.status, s.phase, s.failure = Status.FAILED, "failed", Failure(step_id, kind, reason)
    # A failure supersedes a pause: the run waits for retry/resolve/cancel, and a stale
    # pause flag would let "resume" turn it RUNNING with nothing to run.
    s.timer, s.held, s.paused = None, None, False


__all__ = ["Out", "SendStep", "fail", "record", "start_timer"]
