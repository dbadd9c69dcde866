"""On the real dev server: search attributes and Web UI fields, continue-as-new,
and a worker process killed mid-run and restarted."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from typer.testing import CliRunner

from bench.server_metrics import CLUSTER_METADATA_READ, persistence_requests
from dee.cli.main import app
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from dee.worker import worker_for
from interpreter import ExecutionPlan, PlanMetadata, steps, verify
from tests.integration.mailsink import SmtpServer
from tests.integration.temporal_env import CODEC, TEST_CODEC_KEYS
from tests.integration.waiting import until
from workflows import search_attributes as sa

TIMER_FIRED = EventType.EVENT_TYPE_TIMER_FIRED

ROOT = Path(__file__).resolve().parents[3]
CONTACT = {"id": "c-dev", "email": "dev@example.com", "first_name": "Dev", "company": "Ops"}
VARS = {"product": "DEE", "sender_name": "Sam"}


def _two_emails(wait_seconds: int, plan_id: str = "two-emails") -> ExecutionPlan:
    return ExecutionPlan(
        id=plan_id,
        version=1,
        name="Two emails",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="first", template_id="tmpl_intro", subject="Hello {{ product }}"),
            steps.wait(id="pause", duration={"seconds": wait_seconds}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'events.hasReply("first")', "goto": "done"},
                    {"when": "default", "goto": "second"},
                ],
            ),
            steps.send_email(id="second", template_id="tmpl_cold_follow_up", subject="Again"),
            steps.end(id="done", outcome="finished"),
        ),
    )


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    # A low continue-as-new suggestion threshold lets a short run exercise it.
    dynamic = {"limit.historyCount.suggestContinueAsNew": "60"}
    async with dev_server(ui=False, dynamic_config=dynamic) as dev:
        yield dev


@pytest.fixture
def config(tmp_path: Path, server: DevServer, mail: SmtpServer) -> EngineConfig:
    mail.handler.received.clear()
    return EngineConfig(
        codec=CODEC,
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )


@asynccontextmanager
async def _connected(config: EngineConfig) -> AsyncIterator[tuple[Client, Engine]]:
    """A Temporal client and an Engine on it, closed at the end."""
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    try:
        yield client, engine
    finally:
        await engine.close()


async def _until(
    engine: Engine, run_id: str, statuses: set[str], seconds: float = 30
) -> ExecutionRun:
    return await until(
        lambda: engine.get_run(run_id),
        lambda run: run.status in statuses,
        what=f"run {run_id} reaching {statuses}",
        timeout=seconds,
        every=0.1,
    )


async def test_search_attributes_and_ui_fields_show_where_a_run_stands(
    config: EngineConfig,
) -> None:
    async with (
        _connected(config) as (client, engine),
        worker_for(config, client, database=engine.database) as worker,
        worker,
    ):
        run = await engine.execute(_two_emails(600), contact=CONTACT, variables=VARS)
        await _until(engine, run.run_id, {"WAITING"})
        handle = client.get_workflow_handle(run.run_id)
        described = await handle.describe()
        attrs = described.typed_search_attributes
        assert attrs.get(sa.DEE_STATUS) == "WAITING"
        assert attrs.get(sa.DEE_STEP) == "pause"
        assert attrs.get(sa.DEE_TENANT) == "default"
        assert attrs.get(sa.DEE_PLAN_ID) == "two-emails"
        assert attrs.get(sa.DEE_PLAN_VERSION) == 1
        assert attrs.get(sa.DEE_CONTACT_ID) == "c-dev"
        assert await described.static_summary() == "Two emails (v1) for contact c-dev"
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "**WAITING** at step `pause`" in meta.current_details
        # The wait starts in the tick the email's result came back in (a slow send
        # on a busy machine takes more than a tick), and ends 600 ticks later.
        started = re.search(r"at step `pause` \(tick (\d+)\)", meta.current_details)
        assert started is not None, meta.current_details
        wake = int(started.group(1)) + 600
        assert f"next wake-up: tick {wake}" in meta.current_details
        query = f"DeeContactId = 'c-dev' AND DeeStatus = 'WAITING' AND WorkflowId = '{run.run_id}'"
        found = [w.id async for w in client.list_workflows(query)]
        assert found == [run.run_id]
        await engine.cancel_run(run.run_id, "test over", by="tests")


async def test_runs_upserting_their_attributes_do_not_reread_the_cluster_metadata(
    config: EngineConfig, server: DevServer
) -> None:
    # The CLI's dev server turns its search-attribute cache off by default: each of
    # these runs' upserts and visibility writes would read the metadata again (24 reads
    # per run of the bench's sales plan). DEE's keeps the cache on.
    async with (
        _connected(config) as (client, engine),
        worker_for(config, client, database=engine.database) as worker,
        worker,
    ):
        before = await asyncio.to_thread(
            persistence_requests, server.metrics_url, CLUSTER_METADATA_READ
        )
        runs = [
            await engine.execute(_two_emails(600, "cached"), contact=CONTACT, variables=VARS)
            for _ in range(5)
        ]
        for run in runs:
            await _until(engine, run.run_id, {"WAITING"})
        query = "DeePlanId = 'cached' AND DeeStatus = 'WAITING' AND DeeStep = 'pause'"
        await _listed(client, query, 5)  # the upserts took effect
        reads = await asyncio.to_thread(
            persistence_requests, server.metrics_url, CLUSTER_METADATA_READ
        )
        reads -= before
        # At most a refresh per service when its cache expires (each 60 s) in between.
        assert reads < 10, f"{reads:.0f} cluster metadata reads for 5 runs"
        for run in runs:
            await engine.cancel_run(run.run_id, "test over", by="tests")


async def test_a_delayed_run_is_named_at_start_an_immediate_one_by_its_first_task(
    config: EngineConfig,
) -> None:
    identity = {
        sa.DEE_TENANT: "default",
        sa.DEE_PLAN_ID: "named-plan",
        sa.DEE_PLAN_VERSION: 1,
        sa.DEE_CONTACT_ID: "c-dev",
    }

    async def named(run_id: str) -> dict[object, object]:
        attrs = (await client.get_workflow_handle(run_id).describe()).typed_search_attributes
        return {key: attrs.get(key) for key in identity}

    plan = _two_emails(600, "named-plan")
    async with _connected(config) as (client, engine):
        # No worker yet: what the runs carry is what their starts gave them.
        later = datetime.now(UTC) + timedelta(hours=1)
        delayed = await engine.execute(plan, contact=CONTACT, variables=VARS, start_at=later)
        assert await named(delayed.run_id) == identity  # findable while it waits to start
        now = await engine.execute(plan, contact=CONTACT, variables=VARS)
        assert await named(now.run_id) == dict.fromkeys(identity)  # its start carries none
        async with worker_for(config, client, database=engine.database) as worker, worker:
            await _until(engine, now.run_id, {"WAITING"})
            assert await named(now.run_id) == identity  # its first workflow task set them
        for run in (delayed, now):
            await client.get_workflow_handle(run.run_id).terminate("test over")


async def test_a_namespace_without_dee_search_attributes_refuses_the_start(
    config: EngineConfig,
) -> None:
    # An immediate start carries no search attributes, so the server would take it and
    # the run's first upsert would fail on every attempt: the engine looks first.
    client = await connect(config)
    namespace = f"bare-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    bare = config.model_copy(
        update={"temporal": config.temporal.model_copy(update={"namespace": namespace})}
    )
    engine = await Engine.connect(bare)
    try:
        for _ in range(2):  # the answer is kept: the second start is refused the same way
            with pytest.raises(EngineError) as refused:
                await engine.execute(_two_emails(600), contact=CONTACT, variables=VARS)
            (line,) = refused.value.lines
            assert "Temporal refused the start" in line
            assert f"namespace '{namespace}' has no search attribute DeeTenant, DeePlanId" in line
        assert await engine.list_runs() == []
    finally:
        await engine.close()


async def test_continue_as_new_carries_state_events_and_the_audit_chain(
    config: EngineConfig, mail: SmtpServer
) -> None:
    async with _connected(config) as (client, engine):
        async with worker_for(config, client, database=engine.database) as worker, worker:
            run = await engine.execute(_two_emails(20, "can-plan"), contact=CONTACT, variables=VARS)
            await _until(engine, run.run_id, {"WAITING"})
            for i in range(30):  # each signal adds history; the server soon suggests a new run
                await engine.ingest_event(
                    type="email.opened", contact_id="c-dev", run_id=run.run_id, step_id="first",
                    event_id=f"open-{i}",
                )  # fmt: skip
            await engine.ingest_event(
                type="email.replied", contact_id="c-dev", run_id=run.run_id, step_id="first",
                event_id="reply-1",
            )  # fmt: skip
            final = await _until(engine, run.run_id, {"COMPLETED"}, seconds=60)
        histories = [w async for w in client.list_workflows(f"WorkflowId = '{run.run_id}'")]
        assert len(histories) >= 2, "the run should have continued as new at least once"
        for execution in histories:  # every execution of the run stays findable as the run's
            assert execution.typed_search_attributes.get(sa.DEE_CONTACT_ID) == "c-dev"
        assert final.outcome == "finished"  # the reply, ingested before the new run, was seen
        timeline = await engine.get_timeline(run.run_id)
        assert verify([e.chained().as_dict() for e in timeline]) is None
        ingested = [e for e in timeline if (e.action, e.outcome) == ("event", "ingested")]
        assert len(ingested) == 31
        assert len(mail.received) == 1


def _worker_process(config: EngineConfig) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DEE_DATABASE_URL": config.database_url,
        "DEE_TEMPORAL_ADDRESS": config.temporal.address,
        "DEE_TASK_QUEUE": config.temporal.task_queue,
        "DEE_SMTP_HOST": config.channels.email.host,
        "DEE_SMTP_PORT": str(config.channels.email.port),
        "DEE_TEMPLATES_DIR": str(config.templates_dir),
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "dee", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_worker_killed_mid_run_and_restarted_loses_nothing_and_sends_once(
    config: EngineConfig, mail: SmtpServer
) -> None:
    temporal = config.temporal.model_copy(update={"event_ack_timeout": 1.0})
    config = config.model_copy(update={"temporal": temporal})
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    worker = _worker_process(config)
    try:
        run = await engine.execute(_two_emails(4, "crash-plan"), contact=CONTACT, variables=VARS)
        await _until(engine, run.run_id, {"WAITING"})
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        # No worker takes the update: after the acknowledgement timeout the event goes
        # as the signal, which the server keeps for the next worker.
        down = await engine.ingest_event(
            type="email.opened", contact_id="c-dev", event_id="while-down"
        )
        assert [(d.run_id, d.outcome) for d in down.deliveries] == [(run.run_id, "queued")]
        await until(  # the wait's timer (the run's only one) fires while no worker runs
            lambda: client.get_workflow_handle(run.run_id).fetch_history(),
            lambda history: any(e.event_type == TIMER_FIRED for e in history.events),
            what=f"the timer of {run.run_id} firing with no worker",
        )
        worker = _worker_process(config)
        final = await _until(engine, run.run_id, {"COMPLETED"}, seconds=60)
        assert final.outcome == "finished"
        # The run answers COMPLETED before its last audit flush: wait for it to close.
        await client.get_workflow_handle(run.run_id).result()
        subjects = sorted(str(e.original_content).count("Subject: Again") for e in mail.received)
        assert len(mail.received) == 2 and subjects == [0, 1]
        timeline = await engine.get_timeline(run.run_id)
        assert verify([e.chained().as_dict() for e in timeline]) is None
        assert [e.step_id for e in timeline if e.action == "send_email"] == ["first", "second"]
        # Ingested once, whether or not the update the server still held also arrived.
        ingested = [e for e in timeline if (e.action, e.outcome) == ("event", "ingested")]
        assert [e.detail.get("id") for e in ingested] == ["while-down"]
    finally:
        worker.kill()
        worker.wait()
        await engine.close()


async def _listed(client: Client, query: str, count: int) -> None:
    """Visibility is eventually consistent: wait until ``query`` lists ``count`` runs."""

    async def listed() -> int:
        return len([w async for w in client.list_workflows(query)])

    await until(listed, lambda n: n >= count, what=f"{query!r} listing {count} runs", timeout=10)


async def test_what_if_over_the_runs_a_query_selects(config: EngineConfig, tmp_path: Path) -> None:
    plan_id = f"wi-{uuid.uuid4().hex[:8]}"
    config = config.model_copy(
        update={
            "channels": config.channels.model_copy(
                update={
                    "email": config.channels.email.model_copy(
                        update={"cost_per_email": Decimal("0.01")}
                    )
                }
            )
        }
    )
    v1 = _two_emails(1, plan_id)
    async with (
        _connected(config) as (client, engine),
        worker_for(config, client, database=engine.database) as worker,
        worker,
    ):
        runs = [
            await engine.execute(v1, contact={**CONTACT, "id": f"c-{n}"}, variables=VARS)
            for n in range(3)
        ]
        await engine.ingest_event(
            type="email.replied", contact_id="c-0", step_id="first", event_id="r-0"
        )
        for run in runs:
            await _until(engine, run.run_id, {"COMPLETED"})
        query = f"DeePlanId = '{plan_id}' AND DeeStatus = 'COMPLETED'"
        await _listed(client, f"WorkflowType = 'PlanRunWorkflow' AND {query}", 3)
        # v2 no longer ends the sequence on a reply: the replied run gets the second email
        v2 = v1.model_copy(
            update={
                "version": 2,
                "steps": tuple(
                    s
                    if s.id != "check"
                    else steps.branch(
                        id="check", conditions=[{"when": "default", "goto": "second"}]
                    )
                    for s in v1.steps
                ),
            }
        )
        report = await engine.what_if(v2, query)
        with pytest.raises(EngineError, match="the server refused the query"):
            await engine.what_if(v2, "NoSuchAttribute = 'x'")

        settings = tmp_path / "dee.yaml"
        settings.write_text(
            yaml.safe_dump(
                {
                    "database": config.database,
                    "temporal": {"address": config.temporal.address},
                    "codec": {"keys": list(config.codec.keys)},
                    "channels": {"email": {"costPerEmail": "0.01"}},
                    # The runs' tenant's estimate prices them; another tenant's does not.
                    "policies": {
                        "tenants": {
                            "default": {"costs": {"perEmail": "0.05"}},
                            "globex": {"costs": {"perEmail": "9"}},
                        }
                    },
                }
            )
        )
        plan_file = tmp_path / "v2.yaml"
        plan_file.write_text(yaml.safe_dump(v2.model_dump(mode="json", by_alias=True)))
        cli = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            [
                "replay",
                "--plan",
                str(plan_file),
                "--runs",
                query,
                "--json",
                "--config",
                str(settings),
            ],
        )

    assert (report.runs, report.diverged, report.sends_changed) == (3, 1, 1)
    assert report.cost_difference == Decimal("0.01")
    [changed] = [c for c in report.changes if c.diverged]
    assert changed.run_id == runs[0].run_id and changed.first_divergence == "done"
    assert cli.exit_code == 0, cli.output
    out = json.loads(cli.output)
    assert (out["runs"], out["diverged"], out["sendsChanged"]) == (3, 1, 1)
    assert out["costDifference"] == "0.05"
    assert {c["runId"] for c in out["changes"]} == {r.run_id for r in runs}
