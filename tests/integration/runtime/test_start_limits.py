"""Issue 18, item 7 at the start: values past ``interpreter.limits`` start nothing.

The attacks: a contact id with a NUL started two workflows and wrote no run row (the
database refused the id after Temporal had accepted the start: orphan workflows); a
plan with a 300-character step id started and then failed with no audit entry. Now
``execute``, ``execute_many``, ``dee start`` (contact file or CSV), ``ingest_event``
and a raw Temporal start refuse them first, naming the field and the rule.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from adapters.storage import UnknownPlan
from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError
from dee.runs.ids import run_id as _run_id
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.runtime.plans import one_email
from tests.integration.runtime.test_cli_runtime import _dee
from tests.integration.runtime.test_raw_starts import PLAN, _input, _refused
from tests.integration.waiting import until
from workflows.plan_run import PlanRunWorkflow

NUL_ID = (
    "contact.id: the contact id contains a NUL character (U+0000) at position 2; identifiers "
    "and text may hold no control, line-separator or bidirectional control characters"
)


async def _nothing_started(engine: Engine, plan_id: str, *keys: str) -> None:
    for key in keys:
        with pytest.raises(RPCError) as err:
            await engine.client.get_workflow_handle(
                _run_id(engine.config.tenant, plan_id, key)
            ).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND
    assert await engine.list_runs() == []
    with pytest.raises(UnknownPlan):
        await engine.plans.get(plan_id)


async def test_a_contact_id_with_a_nul_is_refused_before_any_workflow_starts(
    engine: Engine,
) -> None:
    plan = one_email("nul-contact")
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact={"id": "c\x001", "email": "a@example.com"},
                             idempotency_key="k")  # fmt: skip
    assert err.value.lines == (NUL_ID,)
    await _nothing_started(engine, plan.id, "k")


@pytest.mark.parametrize(
    ("contact", "variables", "tenant", "expected"),
    [
        ({"id": "c" * 300}, {}, None, "contact.id: the contact id is 300 characters long; "),
        ({"id": "c1"}, {}, "acme\u202e", "tenant: the tenant contains a bidirectional control"),
        ({"id": "c1", "tier\n": "gold"}, {}, None, "contact: the name 'tier\\x0a' contains a"),
        ({"id": "c1"}, {"amount\x00": 1}, None, "variables: the name 'amount\\x00' contains"),
    ],
    ids=["long-id", "bidi-tenant", "newline-field", "nul-variable"],
)
async def test_other_start_values_past_the_limits_start_nothing(
    engine: Engine,
    contact: dict[str, object],
    variables: dict[str, object],
    tenant: str | None,
    expected: str,
) -> None:
    plan = one_email("bad-start")
    with pytest.raises(EngineError) as err:
        await engine.execute(
            plan, contact=contact, variables=variables, tenant=tenant, idempotency_key="k"
        )
    [line] = err.value.lines
    assert line.startswith(expected), line
    with pytest.raises(RPCError):
        tenant_id = tenant or engine.config.tenant
        await engine.client.get_workflow_handle(_run_id(tenant_id, plan.id, "k")).describe()
    assert await engine.list_runs() == []


async def test_a_plan_with_a_300_character_step_id_is_refused_at_execute(
    engine: Engine,
) -> None:
    long_id = "s" * 300
    plan = ExecutionPlan(
        id="long-step",
        version=1,
        name="Long step id",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id=long_id, template_id="tmpl_intro", subject="Hi"),
            steps.end(id="done", outcome="o" * 2_000),
        ),
    )
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact={"id": "c1"}, idempotency_key="k")
    assert err.value.lines == (
        "long-step: step '" + "s" * 60 + "… (300 characters)': id: a step id is 300 "
        "characters long; the limit is 100",
        "long-step: step 'done': outcome: the outcome is 2000 characters long; the limit is 200",
    )
    await _nothing_started(engine, plan.id, "k")


async def test_execute_many_refuses_the_nul_contact_and_starts_the_others(
    engine: Engine,
) -> None:
    plan = one_email("bulk-nul")
    contacts = [{"id": "c-good"}, {"id": "c\x001"}]
    good, bad = await engine.execute_many(plan, contacts, idempotency_key="k")
    assert isinstance(bad, EngineError) and bad.lines == (NUL_ID,)
    assert not isinstance(good, EngineError) and good.contact_id == "c-good"
    with pytest.raises(RPCError):
        await engine.client.get_workflow_handle(
            _run_id(engine.config.tenant, plan.id, "k:c\x001")
        ).describe()
    assert [r.contact_id for r in await engine.list_runs()] == ["c-good"]


async def test_dee_start_refuses_a_csv_with_a_bad_contact_id_before_anything_starts(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, tmp_path: Path
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "id,email\nc-1,a@example.com\nc\x00-2,b@example.com\nc-\u202e3,c@example.com\n",
        encoding="utf-8",
    )
    plan = str(Path(__file__).resolve().parents[3] / "plans" / "notification.yaml")
    # In a thread: the worker shares this event loop.
    done = await asyncio.to_thread(_dee, config, env, "start", plan, "--contacts", str(contacts))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == (
        f"error: {contacts}: line 3: id: the contact id contains a NUL character (U+0000) at "
        "position 2; identifiers and text may hold no control, line-separator or "
        "bidirectional control characters"
    )
    assert lines[1].startswith(
        f"error: {contacts}: line 4: id: the contact id contains a bidirectional"
    )
    assert "\x00" not in done.stderr and "\u202e" not in done.stderr
    assert await engine.list_runs() == []  # not even c-1: the file is refused as a whole


async def test_an_event_past_the_limits_is_refused_before_any_run_sees_it(
    engine: Engine,
) -> None:
    with pytest.raises(EngineError) as err:
        await engine.ingest_event(type="email.opened", contact_id="c1", step_id="s" * 300)
    assert err.value.lines == (
        "event: stepId: the step id is 300 characters long; the limit is 100",
    )
    with pytest.raises(EngineError) as err:
        await engine.ingest_event(type="email\u202eopened", contact_id="c\x001")
    assert [line.split(":")[1] for line in err.value.lines] == [" type", " contact.id"]


async def test_a_raw_start_with_a_nul_contact_id_fails_at_once_and_writes_no_run(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    await engine.starter.register_plan(PLAN)
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    arg = _input(wid, contact={"id": "c\x001", "email": "raw@example.com"})
    assert await _refused(env, config, arg, wid) == f"InputRejected: start refused: {NUL_ID}"
    assert await engine.list_runs() == []


async def test_a_raw_start_of_a_send_loop_without_a_way_out_is_refused(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    body = PLAN.to_document()
    body["steps"][2]["conditions"] = [
        {"when": "false", "goto": "end-read"},
        {"when": "default", "goto": "notice"},
    ]
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    reason = await _refused(env, config, _input(wid, body), wid)
    assert reason.startswith("InputRejected: start refused: the plan is invalid: ")
    assert "sends (notice) and has no way out to an end step" in reason


async def test_an_operator_action_past_the_limits_is_refused_before_the_run_is_asked(
    engine: Engine,
) -> None:
    with pytest.raises(EngineError) as err:
        await engine.resolve_run("run-x", resolution="end", target="o" * 2_000, by="ops")
    assert err.value.lines == (
        "run run-x: resolve refused: target: the outcome is 2000 characters long; the limit is 200",
    )


async def test_a_raw_signal_past_the_limits_is_recorded_as_refused_and_the_run_goes_on(
    engine: Engine,
) -> None:
    # A signal cannot be refused as the update is: its 300-character step id once went
    # into the audit's step column, which refused it, and every later write stalled.
    contact = {"id": "c1", "email": "c1@example.com", "first_name": "Ada", "company": "A"}
    run = await engine.execute(
        one_email("signalled", wait_hours=2),
        contact=contact,
        variables={"product": "DEE", "sender_name": "Sam"},
    )
    handle = engine.client.get_workflow_handle(run.run_id)
    await handle.signal(
        PlanRunWorkflow.ingest_event, c.EventSignal("e\x00" * 150, "email.opened", "s" * 300)
    )
    await handle.signal(PlanRunWorkflow.ingest_event, c.EventSignal("e-ok", "email.opened"))
    # The run records both and takes later events (an update answers once recorded).
    await engine.ingest_event(
        type="email.clicked", contact_id="c1", run_id=run.run_id, event_id="e-last"
    )

    async def recorded_events() -> list[Any]:
        return [e for e in await engine.get_timeline(run.run_id) if e.action == "event"]

    events = await until(  # signals are handled after they are sent: wait for both
        recorded_events, lambda found: len(found) == 3, what="the three events recorded"
    )
    types = sorted(e.detail["type"] for e in events)
    assert types == ["email.clicked", "email.opened", "event.refused"]
    [refused] = [e for e in events if e.detail["type"] == "event.refused"]
    assert refused.step_id == "@run" and refused.detail["id"].startswith("refused-")
    assert "stepId: the step id is 300 characters long" in refused.detail["data"]["refused"]
    assert (await engine.get_run(run.run_id)).status in {"RUNNING", "WAITING"}
    assert (await engine.audit.verify(run.run_id)).ok
