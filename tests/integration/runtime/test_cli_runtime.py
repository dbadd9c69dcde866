"""The runtime CLI against a real server: start, status, runs list, event ingest, limits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import EngineConfig
from dee.engine import Engine
from tests.integration.inprocess import dee_in_process
from tests.integration.mailsink import SmtpServer
from tests.integration.temporal_env import TEST_CODEC_KEYS

ROOT = Path(__file__).resolve().parents[3]


def _variables(config: EngineConfig, env: WorkflowEnvironment) -> dict[str, str]:
    return {
        **os.environ,
        "DEE_DATABASE_URL": config.database_url,
        "DEE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "DEE_TASK_QUEUE": config.temporal.task_queue,
        "DEE_TEMPLATES_DIR": str(config.templates_dir),
        "DEE_CONFIG": "",
        "DEE_SEARCH_ATTRIBUTES": "false",  # the time-skipping server has none registered
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,  # the in-process worker's key ring
    }


def _dee(
    config: EngineConfig, env: WorkflowEnvironment, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dee", *args], capture_output=True, text=True,
        env=_variables(config, env), cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip


async def _dee_in_process(
    monkeypatch: pytest.MonkeyPatch, config: EngineConfig, env: WorkflowEnvironment, *args: str
) -> subprocess.CompletedProcess[str]:
    """``dee`` in this process, in a thread: the command runs its own event loop, and the
    worker shares this one."""
    variables = _variables(config, env)
    return await asyncio.to_thread(dee_in_process, monkeypatch, variables, ROOT, args)


async def test_start_status_list_and_ingest_through_the_cli(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer, tmp_path: Path
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "id,email,first_name,company\nc-1,a@example.com,A,X\nc-2,b@example.com,B,Y\n"
    )
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"product": "DEE", "sender_name": "Sam"}))
    plan = str(ROOT / "plans" / "sales-sequence.yaml")
    started = _dee(
        config, env, "start", plan, "--contacts", str(contacts), "--vars", str(variables), "--json"
    )
    assert started.returncode == 0, started.stderr
    runs = json.loads(started.stdout)
    assert [r["contactId"] for r in runs] == ["c-1", "c-2"]
    await env.sleep(timedelta(minutes=1))
    status = _dee(config, env, "run", "status", runs[0]["runId"], "--json")
    assert json.loads(status.stdout)["status"] == "WAITING"
    # In a thread: the worker shares this event loop and must take the event's update.
    ingested = await asyncio.to_thread(
        _dee, config, env, "event", "ingest", "--type", "email.replied", "--contact", "c-1",
        "--step", "intro-email", "--id", "cli-reply",
    )  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    # The plan's exit rule ended the run at the reply: the answer says so at once.
    assert f"{runs[0]['runId']}: handled; now COMPLETED with outcome replied" in ingested.stdout
    await env.sleep(timedelta(days=4))
    listed = json.loads(_dee(config, env, "runs", "list", "--json").stdout)
    by_contact = {r["contactId"]: r["status"] for r in listed}
    assert by_contact == {"c-1": "COMPLETED", "c-2": "FAILED"}
    timeline = _dee(config, env, "run", "timeline", runs[0]["runId"])
    # The reply ended the run through the plan's exit rule, the wait cancelled.
    assert "action:exit" in timeline.stdout and "outcome:replied" in timeline.stdout
    assert "step:check-response" not in timeline.stdout


async def test_cli_errors_are_one_clear_line(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The refusals in-process; the real script runs above and for ``limits set`` below.
    def dee(*args: str) -> Awaitable[subprocess.CompletedProcess[str]]:
        return _dee_in_process(monkeypatch, config, env, *args)

    unknown = await dee("run", "status", "run-missing")
    assert (
        unknown.returncode == 1
        and unknown.stderr.strip() == "error: unknown run 'run-missing' for tenant 'default'"
    )
    both = await dee("start", str(ROOT / "plans" / "notification.yaml"))
    assert both.returncode == 1 and "exactly one of --contact" in both.stderr
    bad = await dee("event", "ingest", "--type", "x", "--contact", "c", "--data", "[1]")
    assert bad.returncode == 1 and "--data: must be a JSON object" in bad.stderr
    limit = await dee("limits", "set", "--channel", "fax", "--daily", "3")
    assert limit.returncode == 1 and "fax" in limit.stderr and "Traceback" not in limit.stderr
    ok = _dee(config, env, "limits", "set", "--channel", "email", "--daily", "3")
    assert ok.returncode == 0 and "3 sends per UTC day" in ok.stdout
    assert await engine.policies.admin.daily_limit("default", "email") == 3
