"""Runs admitted before the start limits (issue 18) replay under the rules they ran by.

The workflow checks a start against ``interpreter.limits`` and the hardened validation
since ``START_LIMITS``; a start the old rules admitted and the new ones refuse must
still replay as it ran. The corpus has no such run, so one is made from a corpus
history by giving its input what the new rules refuse (a NUL in the plan's
description, in the contact id), with the plan hash to match: it replays clean, with
no patch marker, while a new start with the same input is refused
(``tests/integration/runtime/test_start_limits.py``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from dee.sandbox import workflow_runner
from interpreter import parse_plan
from interpreter.validation import ADMISSION, LEGACY, validate
from workflows.plan_run import PlanRunWorkflow

HISTORY = Path(__file__).resolve().parents[2] / "histories" / "notification-read.json"


def _with_input(change: Any) -> WorkflowHistory:
    document = json.loads(HISTORY.read_text(encoding="utf-8"))
    start = document["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = start["input"]["payloads"][0]
    run_input = json.loads(base64.b64decode(payload["data"]))
    change(run_input)
    run_input["plan_hash"] = parse_plan(run_input["plan"], source="test").content_hash
    payload["data"] = base64.b64encode(json.dumps(run_input).encode()).decode()
    return WorkflowHistory.from_json("notification-read-old-rules", json.dumps(document))


def _nul_in_description(run_input: dict[str, Any]) -> None:
    run_input["plan"]["metadata"]["description"] = "admitted\x00before the limits"
    plan = parse_plan(run_input["plan"], source="test")
    assert validate(plan, limits=LEGACY) == []
    assert [p.field for p in validate(plan, limits=ADMISSION)] == ["metadata.description"]


def _nul_in_contact_id(run_input: dict[str, Any]) -> None:
    run_input["contact"]["id"] = "c\x00-1"


@pytest.mark.parametrize("change", [_nul_in_description, _nul_in_contact_id])
async def test_a_run_admitted_under_the_old_rules_replays_clean(change: Any) -> None:
    replayer = Replayer(workflows=[PlanRunWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(_with_input(change), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
