"""A run decoded from its Temporal history, replayed by the pure interpreter.

``replay_run`` feeds the inputs the run's audit chain records to the step machine
for the run's own plan snapshot (in the history's start input) or another version,
compares the result with that chain (``interpreter.replay``) and, on request, adds
what Temporal's Replayer found about today's workflow code.
"""

from __future__ import annotations

from dataclasses import replace

from dee.errors import DocumentError
from dee.replay.from_history import HistoryRun, patches, run_origin
from interpreter import ExecutionPlan, MachineConfig, PlanError, compile_plan, parse_plan
from interpreter.audit_inputs import clock_from_audit
from interpreter.cel_branch import on_google_cel, recorded_cel
from interpreter.local_time import Clock
from interpreter.replay import Diff, ReplayResult, replay
from interpreter.snapshot import state_from_dict
from interpreter.trace import RUN_SCOPE
from workflows.patches import CONDITION_RULES


def replay_run(
    run: HistoryRun, plan: ExecutionPlan | None = None, *, workflow_code: bool = False
) -> ReplayResult:
    """Replay a decoded history on its own plan snapshot, or on ``plan`` (what-if).

    With ``workflow_code`` the comparison also covers the real workflow code: a
    history the Replayer could not reproduce, or an entry carried in the history
    that the code computes differently today, is a diff too.

    Raises:
        DocumentError: the history's plan snapshot does not parse.
    """
    inp = run.run_input
    if plan is None:
        try:
            plan = parse_plan(inp.plan, source=f"run {inp.run_id}")
        except PlanError as exc:
            raise DocumentError([f"run {inp.run_id}: {p}" for p in exc.problems]) from None
        own = True
    else:
        own = plan.content_hash == inp.plan_hash
    # The condition rules the workflow applied: today's where it recorded their patch
    # (it asks only when they matter), else those of before (a run decided then).
    today = CONDITION_RULES in patches(run.history)
    # The evaluator the run recorded, whatever today's default: the one its input names
    # (a run continued as new, whose entries have no start entry, or re-executed), else
    # its start entry's ``cel``.
    google = on_google_cel(inp.cel or recorded_cel(run.entries))
    config = MachineConfig(
        step_budget=inp.step_budget,
        tick_interval_ms=inp.tick_interval_ms,
        conditions_today=lambda: today,
        google_cel=google,
    )
    state = None if inp.state is None else state_from_dict(inp.state)
    # The origin the start entry records; a run whose plan used no local time records
    # none (and a continued run's entries have no start entry), yet a what-if plan that
    # uses local times needs the run's real start, not simulate's fixed default.
    clock = clock_from_audit(run.entries, inp.tick_interval_ms) or Clock(
        run_origin(run), inp.start_tick, inp.tick_interval_ms
    )
    result = replay(
        compile_plan(plan, inp.tick_interval_ms, google_cel=google),
        run.entries,
        inp.contact,
        inp.variables,
        config=config,
        compare_plan=own,
        state=state,
        clock=clock,
    )
    if not workflow_code:
        return result
    return _with_workflow_diffs(result, run)


def _with_workflow_diffs(result: ReplayResult, run: HistoryRun) -> ReplayResult:
    extra: list[Diff] = []
    if run.replay_error is not None:
        extra.append(Diff(RUN_SCOPE, "workflow.replay", "deterministic", run.replay_error))
    for entry in run.entries:
        again = run.recomputed.get(int(entry["seq"]))
        if again is not None and again != entry:
            step_id, action = str(entry["step_id"]), str(entry["action"])
            extra.append(Diff(step_id, f"{action}.workflow", entry["hash"], again["hash"]))
    if not extra:
        return result
    touched = {d.step for d in extra}
    steps = tuple(replace(s, identical=False) if s.id in touched else s for s in result.steps)
    return ReplayResult(False, steps, (*result.diffs, *extra), result.notes)
