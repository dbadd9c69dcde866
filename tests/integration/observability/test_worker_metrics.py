"""A worker that ran a plan: its Prometheus scrape has the counters' exact values, and its
JSON log lines parse and carry the run (issue 24, part 2)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.config_observability import ObservabilityConfig
from dee.engine import Engine
from dee.observability import DEE_METRICS, JsonFormatter
from dee.sandbox import workflow_runner
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.observability import dashboard
from tests.integration.observability.dashboard import queried
from tests.integration.observability.scrape import names, scrape, value
from tests.integration.runtime.plans import one_email
from tests.integration.waiting import until
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[3]
VARS = {"product": "DEE", "sender_name": "Sam"}


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_logs() -> Iterator[Collected]:
    root = logging.getLogger()
    handler, level = Collected(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _contact(i: int) -> dict[str, str]:
    return {"id": f"c-{i}", "email": f"c{i}@example.com", "first_name": "Ann", "company": "X"}


async def test_a_scrape_after_a_send_and_a_denial_counts_each_exactly(
    env: WorkflowEnvironment,
    observability: ObservabilityConfig,
    mail: SmtpServer,
    tmp_path: Path,
    json_logs: Collected,
) -> None:
    queue = f"q-{uuid.uuid4()}"
    config = EngineConfig(
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=queue, search_attributes=False),
        channels=ChannelsConfig(
            email=EmailConfig(host=mail.host, port=mail.port, sender="Sales <sales@example.com>")
        ),
        observability=observability,
    )
    address = observability.metrics_address
    assert address is not None
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            await engine.policies.suppress("c2@example.com", reason="complaint")
            sent = await engine.execute(one_email(), contact=_contact(1), variables=VARS)
            denied = await engine.execute(one_email(), contact=_contact(2), variables=VARS)
            await env.sleep(timedelta(minutes=1))
            assert (await engine.get_run(sent.run_id)).status == "COMPLETED"
            assert (await engine.get_run(denied.run_id)).status == "FAILED"
            await engine.ingest_event(type="email_opened", contact_id="c-2")
            # The gauge re-counts the run table every 0.1 s: wait for it to see the run.
            text = await until(
                lambda: _scrape(address),
                lambda t: value(t, "dee_runs_failed_waiting", tenant="default") == 1,
                what="the FAILED-runs gauge counting the denied run",
                timeout=10,
            )
    finally:
        await engine.close()

    q = {"task_queue": queue}
    sent_by_smtp = {"channel": "email", "provider": "smtp", "outcome": "delivered"}
    assert value(text, "dee_sends_total", **sent_by_smtp, **q) == 1
    assert value(text, "dee_sends_total", **q) == 1  # the denied run sent nothing
    assert value(text, "dee_policy_decisions_total", decision="allow", **q) == 1
    suppressed = {"policy": "suppression", "decision": "deny"}
    assert value(text, "dee_policy_decisions_total", **suppressed, **q) == 1
    assert value(text, "dee_runs_entered_total", status="COMPLETED", **q) == 1
    assert value(text, "dee_runs_entered_total", status="FAILED", **q) == 1
    assert value(text, "dee_runs_entered_total", status="RUNNING", **q) == 2
    assert value(text, "dee_audit_persist_seconds_count", **q) >= 2
    assert value(text, "dee_event_ingest_seconds_count") == 1
    assert value(text, "dee_activity_retries_total", **q) == 0
    # The SDK's own runtime metrics are on the same endpoint.
    assert value(text, "temporal_workflow_completed", **q) == 1
    assert value(text, "temporal_activity_execution_latency_count", **q) >= 2
    exported = names(text)
    for name in DEE_METRICS:
        if name == "dee_activity_retries_total":  # exported from its first retry on
            continue
        assert any(n == name or n.startswith(f"{name}_") for n in exported), name
    # Every metric the Grafana dashboard queries is in this real scrape.
    assert queried(dashboard.load()) - exported == {"dee_activity_retries_total"}

    lines = [json.loads(line) for line in json_logs.lines]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    [delivered] = [line for line in lines if line["message"] == "email send delivered by smtp"]
    assert delivered["run_id"] == sent.run_id
    assert delivered["step"] == "mail" and delivered["tenant"] == "default"
    [denial] = [line for line in lines if line["message"].startswith("policy suppression: deny")]
    assert denial["run_id"] == denied.run_id and denial["level"] == "WARNING"
    [failed] = [line for line in lines if line["message"].startswith("run entered FAILED")]
    assert failed["run_id"] == denied.run_id and failed["step"] == "mail"
    # No contact data in the worker's lines: addresses and names stay in the audit.
    ours = [raw for raw, line in zip(json_logs.lines, lines, strict=True) if _ours(line)]
    assert len(ours) >= 6
    for raw in ours:
        assert "@example.com" not in raw and "Ann" not in raw


def _ours(line: dict[str, str]) -> bool:
    return line["logger"].startswith(("dee", "temporalio"))


async def _scrape(address: str) -> str:
    return await asyncio.to_thread(scrape, address)


async def test_replaying_a_runs_history_counts_nothing_again(
    env: WorkflowEnvironment, observability: ObservabilityConfig, mail: SmtpServer, tmp_path: Path
) -> None:
    """A worker replays a history whenever the run is not in its cache (a restart, an
    eviction): the workflow's counts are not recorded during replay, so a Replayer on the
    same runtime leaves every ``dee_*`` value as it was."""
    address = observability.metrics_address
    assert address is not None
    queue = f"q-{uuid.uuid4()}"
    config = EngineConfig(
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=queue, search_attributes=False),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            run = await engine.execute(one_email(wait_hours=1), contact=_contact(3), variables=VARS)
            await env.sleep(timedelta(hours=2))
            assert (await engine.get_run(run.run_id)).status == "COMPLETED"
        history = await env.client.get_workflow_handle(run.run_id).fetch_history()
    finally:
        await engine.close()
    before = await _scrape(address)
    entered = {
        status: value(before, "dee_runs_entered_total", status=status, task_queue=queue)
        for status in ("RUNNING", "WAITING", "COMPLETED")
    }
    assert entered["COMPLETED"] == 1 and entered["WAITING"] == 1 and entered["RUNNING"] >= 1

    replayer = Replayer(
        workflows=[PlanRunWorkflow],
        data_converter=env.client.data_converter,
        workflow_runner=workflow_runner(),
        runtime=env.client.service_client.config.runtime,
    )
    await replayer.replay_workflow(history)
    after = await _scrape(address)
    for name in ("dee_runs_entered_total", "dee_sends_total", "dee_policy_decisions_total"):
        assert value(after, name) == value(before, name), name
