"""What the Temporal Web UI shows of a run: its search attributes (one upsert per
transition) and the execution's current details (status, step, next wake-up, failure,
last decision)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import RunState
    from workflows import search_attributes as sa

Shown = tuple[str, str | None, str]
RUNS_ENTERED = "dee_runs_entered_total"


def show(
    inp: c.RunInput,
    plan_id: str,
    plan_version: int,
    s: RunState,
    *,
    origin_ms: int,
    last: str,
    seq: int,
    shown: Shown | None,
) -> Shown | None:
    """Update the UI when the run moved on since ``shown``; returns what is shown now."""
    now: Shown = (s.status.value, s.step_id, last)
    if now == shown:
        return shown
    moved = shown is None or now[:2] != shown[:2]
    if moved and inp.search_attributes:  # one upsert per transition, not per entry
        workflow.upsert_search_attributes(
            [
                *(_missing_identity(inp, plan_id, plan_version) if shown is None else ()),
                sa.DEE_STATUS.value_set(s.status.value),
                sa.DEE_STEP.value_set(s.step_id or ""),
            ]
        )
    wake = ""
    if s.timer is not None and s.phase == "timer":
        at_ms = origin_ms + (s.timer.until_tick - inp.start_tick) * inp.tick_interval_ms
        wake = f"\n- next wake-up: tick {s.timer.until_tick} ({_iso(at_ms)})"
    failure = f"\n- failure: {s.failure.reason}" if s.failure else ""
    workflow.set_current_details(
        f"**{s.status.value}** at step `{s.step_id or '-'}` (tick {s.tick}){wake}{failure}"
        f"\n- last decision: {last or '-'}\n- audit entries: {seq}"
    )
    return now


def entered(inp: c.RunInput, s: RunState) -> None:
    """Count and log the run entering a status.

    Called on every change of status, so one passed through within one workflow task
    counts too. ``workflow.metric_meter`` and ``workflow.logger`` are silent during
    replay: a replayed history counts nothing twice. A FAILED run's reason is logged as
    its code only (the rest may quote an address)."""
    status = s.status.value
    workflow.metric_meter().create_counter(RUNS_ENTERED, "runs entering each status").add(
        1, {"status": status, "tenant": inp.tenant}
    )
    extra = {"dee": {"run_id": inp.run_id, "step": s.step_id or "", "tenant": inp.tenant}}
    if s.failure is not None:
        code = s.failure.reason.split(":", 1)[0][:80]
        workflow.logger.warning("run entered %s: %s %s", status, s.failure.kind, code, extra=extra)
    else:
        workflow.logger.info("run entered %s", status, extra=extra)


def _missing_identity(
    inp: c.RunInput, plan_id: str, plan_version: int
) -> list[SearchAttributeUpdate[Any]]:
    """The identity search attributes this run did not start with.

    An immediate start carries none (``RunStarter.start_run``: they made every start
    14 % slower on the frontend), so the run's first upsert, which it makes
    anyway, sets them. A run that started with them (a delayed start, every
    engine start recorded before this) gets none here, so its upsert is unchanged;
    the start event decides either way. A run recorded before this that started
    without them (a raw ``start_workflow``) replays as well: Temporal matches an
    upsert on replay by its kind, not by its attributes
    (``tests/histories/started-without-search-attributes.json``).
    """
    have = workflow.info().typed_search_attributes
    identity: tuple[tuple[SearchAttributeKey[Any], Any], ...] = (
        (sa.DEE_TENANT, inp.tenant),
        (sa.DEE_PLAN_ID, plan_id),
        (sa.DEE_PLAN_VERSION, plan_version),
        (sa.DEE_CONTACT_ID, str(inp.contact.get("id", ""))),
    )
    return [key.value_set(value) for key, value in identity if have.get(key) is None]


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="seconds")


__all__ = ["RUNS_ENTERED", "Shown", "entered", "show"]
