"""Replay, re-execution and what-if of real workflow runs that stop on a reply or send in
a contact-local window (issue 19): a Friday-evening New York start sends Monday 09:00."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from dee.cli.main import app
from dee.errors import EngineError
from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history
from interpreter import ExecutionPlan, parse_plan
from tests.integration.replay.recording import (
    DAY,
    Scenario,
    answered,
    call,
    event,
    record,
    sleep,
)
from tests.integration.replay.test_reexecute import _reexecuted
from tests.interpreter.helpers import sales_plan
from tests.interpreter.test_replay_stop import EXIT_MISSING, WINDOW, _doc, _first_diff

NEW_YORK = ZoneInfo("America/New_York")
CONTACT = {"id": "c-1", "timezone": "America/New_York"}


def _plan(*, exits: bool = True) -> ExecutionPlan:
    return parse_plan(_doc(exits=exits), source="stop-on-reply")


async def _skip_to(env: WorkflowEnvironment, weekday: int, hour: int) -> datetime:
    """Skip the server's clock to the next ``weekday`` (0: Monday) ``hour``:00 in New
    York; that instant."""
    now = (await env.get_current_time()).astimezone(NEW_YORK)
    then = (now + timedelta(days=(weekday - now.weekday()) % 7)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    if then <= now:
        then += timedelta(days=7)
    await env.sleep((then - now).total_seconds())
    return then


def _entries(chain: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e for e in chain if e["action"] == action]


async def _recorded(
    env: WorkflowEnvironment, name: str, actions: list[Any], *, exits: bool = True
) -> tuple[WorkflowHistory, list[dict[str, Any]], datetime]:
    friday = await _skip_to(env, 4, 18)
    scenario = Scenario(name, plan=_plan(exits=exits), contact=dict(CONTACT), actions=actions)
    history, chain = await record(env, scenario)
    return history, chain, friday


async def test_a_window_deferred_send_replays_and_re_executes_to_the_same_ticks(
    env: WorkflowEnvironment,
) -> None:
    history, chain, friday = await _recorded(env, "friday-evening", [sleep(6 * DAY)])
    deferral = _entries(chain, "window")[0]
    monday = (friday + timedelta(days=2, hours=15)).isoformat()
    assert deferral["detail"]["opensLocal"] == monday  # Monday 09:00 in New York
    intro = _entries(chain, "send_email")[0]
    assert intro["tick"] == deferral["detail"]["untilTick"] >= 226_800 - 1
    assert _entries(chain, "end")[0]["outcome"] == "followed-up"

    run = await decode_history(history)
    assert [e["hash"] for e in run.entries] == [e["hash"] for e in chain]
    assert replay_run(run, workflow_code=True).identical
    again = await _reexecuted(history)

    assert again.identical, [(d.step, d.field, d.expected, d.actual) for d in again.diffs]


async def test_a_run_that_exited_on_a_reply_replays_re_executes_and_diverges_without_its_rule(
    env: WorkflowEnvironment,
) -> None:
    # Through the ``ingest`` update, as the webhook receiver delivers it.
    reply = answered("r-1", "email.replied", "intro")
    history, chain, _ = await _recorded(env, "exit-on-reply", [sleep(3 * DAY), reply])
    exits = _entries(chain, "exit")
    assert [e["outcome"] for e in exits] == ["replied"]
    assert len(_entries(chain, "send_email")) == 1  # the cold email never went

    run = await decode_history(history)
    assert replay_run(run, workflow_code=True).identical
    again = await _reexecuted(history)
    assert again.identical, [(d.step, d.field, d.expected, d.actual) for d in again.diffs]

    without = replay_run(run, _plan(exits=False))
    assert _first_diff(without) == EXIT_MISSING


async def test_a_what_if_that_adds_a_window_counts_from_the_run_s_real_start(
    env: WorkflowEnvironment,
) -> None:
    # The sales plan uses no local time, so its start entry records no origin.
    friday = await _skip_to(env, 4, 18)
    scenario = Scenario("sales-friday", contact=dict(CONTACT), actions=[sleep(4 * DAY)])
    history, chain = await record(env, scenario)
    assert "origin" not in chain[0]["detail"]
    doc = sales_plan().to_document()
    doc["steps"][0]["window"] = WINDOW

    result = replay_run(await decode_history(history), parse_plan(doc, source="windowed"))

    intro = next(s for s in result.steps if s.id == "intro-email").replayed
    assert intro is not None
    deferral = next(e for e in intro["entries"] if e["action"] == "window")
    assert deferral["detail"]["opensLocal"] == (friday + timedelta(days=2, hours=15)).isoformat()


class _Gate:
    """What a send waits on: ``entered`` is set once a send is in flight."""

    def __init__(self) -> None:
        self.entered, self.opened = asyncio.Event(), asyncio.Event()

    async def wait(self) -> None:
        self.entered.set()
        await self.opened.wait()


async def test_a_reply_while_a_send_is_in_flight_exits_after_it_and_re_executes(
    env: WorkflowEnvironment,
) -> None:
    await _skip_to(env, 0, 10)  # Monday 10:00 in New York: the window is open
    gate = _Gate()
    # A signal: the ``ingest`` update would wait for its entries to be written, which
    # they are only once the send returns.
    reply = event("r-1", "email.replied", "intro")
    actions = [call(gate.entered.wait), reply, call(gate.opened.set)]
    scenario = Scenario("in-flight", _plan(), dict(CONTACT), actions, send_gate=gate)
    history, chain = await record(env, scenario)
    exits = [(e["outcome"], e["detail"].get("inFlight")) for e in _entries(chain, "exit")]
    assert exits == [("pending", "send"), ("replied", None)]
    assert [e["outcome"] for e in _entries(chain, "send_email")] == ["delivered"]

    run = await decode_history(history)
    assert replay_run(run, workflow_code=True).identical
    again = await _reexecuted(history)

    assert again.identical, [(d.step, d.field, d.expected, d.actual) for d in again.diffs]


async def test_dee_replay_what_if_adds_the_exit_rule_and_moves_the_start(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # Recorded on the plan without an exit rule: the reply changes nothing, the cold
    # email still goes out.
    reply = event("r-1", "email.replied", "intro")
    history, chain, friday = await _recorded(
        env, "no-exit", [sleep(3 * DAY), reply, sleep(3 * DAY)], exits=False
    )
    assert [e["step_id"] for e in _entries(chain, "send_email")] == ["intro", "cold"]
    replied_at = next(e["tick"] for e in chain if e["detail"].get("type") == "email.replied")
    path = tmp_path / "history.json"
    path.write_text(history.to_json(), encoding="utf-8")
    plan = tmp_path / "with-exit.yaml"
    plan.write_text(json.dumps(_doc(exits=True)), encoding="utf-8")
    # Monday 16:00 in New York: the window is open at the start.
    monday = (friday + timedelta(days=3, hours=-2)).astimezone(UTC).isoformat()

    def dee(*extra: str) -> Any:  # in a thread: the command runs its own event loop
        args = ["replay", "--history", str(path), "--plan", str(plan), "--json", *extra]
        return CliRunner().invoke(app, args)

    same_start = await asyncio.to_thread(dee)
    moved_start = await asyncio.to_thread(dee, "--start-at", monday)
    bad = await asyncio.to_thread(dee, "--start-at", "next friday")

    assert same_start.exit_code == 0, same_start.output
    change = json.loads(same_start.output)["whatIf"]
    assert (change["outcomeBefore"], change["outcomeAfter"]) == ("followed-up", "replied")
    assert change["endedAt"] == replied_at
    assert [s["step"] for s in change["sendsDropped"]] == ["cold"]
    assert change["sendsMoved"] == []  # the recorded origin by default
    moved = {
        m["step"]: (m["fromTick"], m["toTick"])
        for m in json.loads(moved_start.output)["whatIf"]["sendsMoved"]
    }
    assert moved["intro"][1] == 0  # at once, not Monday 09:00 three days later
    assert moved["cold"][1] < moved["cold"][0]  # the timeout and the next 09:00 come sooner
    assert isinstance(bad.exception, EngineError)  # main() prints it, exit status 1
    assert bad.exception.lines[0].startswith("--start-at 'next friday': ")
