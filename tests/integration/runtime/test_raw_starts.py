"""Runs started straight through Temporal (the Temporal client, or ``temporal workflow
start --type PlanRunWorkflow``): a start the engine would refuse fails at once with the
reason, never as a workflow task retried forever; a good one runs like any other."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from dee.config import EngineConfig
from dee.devserver import temporal_cli
from dee.documents import load_plan
from dee.engine import Engine
from tests.integration.runtime.conftest import ROOT

PLAN = load_plan(ROOT / "plans" / "notification.yaml")
CONTACT = {"id": "c-raw", "email": "raw@example.com", "first_name": "Raw"}


def _input(run_id: str, plan: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A start input as a raw starter writes it (JSON, the contract's field names)."""
    from interpreter import parse_plan

    body = plan if plan is not None else PLAN.to_document()
    try:
        digest = parse_plan(body, source="test").content_hash
    except Exception:  # an invalid body: any hash will do, it is refused before
        digest = "sha256:" + "0" * 64
    return {
        "run_id": run_id, "tenant": "default", "plan": body, "plan_hash": digest,
        "contact": CONTACT, "variables": {}, "search_attributes": False, **fields,
    }  # fmt: skip


async def _refused(env: WorkflowEnvironment, config: EngineConfig, arg: Any, wid: str) -> str:
    handle = await env.client.start_workflow(
        c.WORKFLOW_NAME, arg, id=wid, task_queue=config.task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    kinds = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds  # no endless task retry
    return f"{cause.type}: {cause.message}"


async def test_malformed_inputs_fail_the_start_with_the_reason(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    assert (await _refused(env, config, {"run_id": wid}, wid)).startswith(
        "InputRejected: start refused: the input is not a PlanRunWorkflow input"
    )
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    assert "not a PlanRunWorkflow input" in await _refused(env, config, "just text", wid)
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    bad_type = _input(wid, tick_interval_ms="fast")
    assert "not a PlanRunWorkflow input" in await _refused(env, config, bad_type, wid)


async def test_the_workflow_id_must_be_the_run_id(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    await engine.starter.register_plan(PLAN)
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    reason = await _refused(env, config, _input("another-id"), wid)
    assert reason == (
        f"InputRejected: start refused: the workflow id {wid!r} is not the input's runId "
        "'another-id'"
    )


async def test_a_plan_that_does_not_validate_is_refused_naming_the_step(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    body = copy.deepcopy(PLAN.to_document())
    body["steps"][2]["conditions"][0]["goto"] = "nowhere"
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    reason = await _refused(env, config, _input(wid, body), wid)
    assert reason.startswith("InputRejected: start refused: the plan is invalid: ")
    assert "nowhere" in reason


async def test_a_plan_body_other_than_the_stored_version_is_refused(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig
) -> None:
    await engine.starter.register_plan(PLAN)
    body = copy.deepcopy(PLAN.to_document())
    body["name"] = "Edited after it was stored"
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    reason = await _refused(env, config, _input(wid, body), wid)
    assert reason.startswith("PlanMismatch: start refused: the run's plan body")
    assert f"differs from the stored plan {PLAN.id} version {PLAN.version}" in reason
    unknown = copy.deepcopy(PLAN.to_document())
    unknown["id"] = f"never-stored-{uuid.uuid4().hex[:6]}"
    wid = f"raw-{uuid.uuid4().hex[:8]}"
    reason = await _refused(env, config, _input(wid, unknown), wid)
    assert reason.startswith("UnknownPlan: start refused: plan never-stored-")
    assert "dee plan register FILE" in reason


async def test_a_registered_plan_started_with_the_temporal_cli_runs(
    env: WorkflowEnvironment, engine: Engine, config: EngineConfig, tmp_path: Path
) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(config.model_dump(mode="json", by_alias=True)))
    plan_file = ROOT / "plans" / "notification.yaml"
    dee = [sys.executable, "-m", "dee", "plan", "register", str(plan_file)]
    env_vars = {**os.environ, "DEE_CONFIG": str(settings)}
    first, again = (
        subprocess.run(dee, cwd=ROOT, env=env_vars, capture_output=True, text=True, check=False)
        for _ in range(2)
    )
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert f"{PLAN.id} v1 stored" in first.stdout and "already stored" in again.stdout
    edited = tmp_path / "edited.yaml"
    edited.write_text(plan_file.read_text().replace("name: Account", "name: Edited account"))
    clash = subprocess.run(
        [*dee[:-1], str(edited)], cwd=ROOT, env=env_vars, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert clash.returncode == 1 and "Traceback" not in clash.stderr
    assert "is already stored with content" in clash.stderr

    wid = f"raw-{uuid.uuid4().hex[:8]}"
    (tmp_path / "input.json").write_text(json.dumps(_input(wid)))
    target = env.client.service_client.config.target_host
    started = subprocess.run(
        [temporal_cli(), "workflow", "start", "--address", target, "--type", c.WORKFLOW_NAME,
         "--task-queue", config.task_queue, "--workflow-id", wid,
         "--input-file", str(tmp_path / "input.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    await env.sleep(5 * 86_400)
    run = await engine.get_run(wid)
    assert (run.status, run.outcome) == ("COMPLETED", "unread-after-3-sends"), run.failure
    assert (await engine.audit.verify(wid)).ok
