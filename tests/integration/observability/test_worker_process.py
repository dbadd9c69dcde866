"""``dee worker`` as a real process with JSON logs and a metrics endpoint: every stderr
line is a JSON object, the run's lines carry its id, a SIGTERM is logged, and the scrape
counts the send."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.devserver import free_port
from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.observability.scrape import scrape, value
from tests.integration.runtime.plans import one_email
from tests.integration.temporal_env import TEST_CODEC_KEYS
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]


async def test_a_worker_process_logs_json_lines_and_serves_its_counts(
    env: WorkflowEnvironment, mail: SmtpServer, tmp_path: Path
) -> None:
    queue, address = f"q-{uuid.uuid4()}", f"127.0.0.1:{free_port()}"
    db = f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}"
    config = EngineConfig(
        database=db,
        temporal=TemporalConfig(task_queue=queue, search_attributes=False),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )
    variables = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    variables |= {
        "DEE_DATABASE_URL": db,
        "DEE_DATA_DIR": str(tmp_path),
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,
        "DEE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "DEE_TASK_QUEUE": queue,
        "DEE_SEARCH_ATTRIBUTES": "false",
        "DEE_TEMPLATES_DIR": str(ROOT / "templates"),
        "DEE_SMTP_HOST": mail.host,
        "DEE_SMTP_PORT": str(mail.port),
        "DEE_METRICS_ADDRESS": address,
        "DEE_LOG_FORMAT": "json",
        "DEE_TEMPLATE_PROCESSES": "1",  # one render process starts sooner than two
    }
    log_file = tmp_path / "worker.log"
    engine = await Engine.connect(config, client=env.client)  # migrates the database first
    with log_file.open("w") as log:
        worker = subprocess.Popen(
            # As a shell starts a background job: SIGINT ignored. SIGTERM must still stop
            # it (a SIGTERM handler that raised SIGINT would do nothing here).
            ["/bin/sh", "-c", f"trap '' INT; exec '{sys.executable}' -m dee worker"],
            env=variables, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        await until(
            lambda: asyncio.to_thread(log_file.read_text),
            lambda text: "worker started" in text,
            what="the worker's start line",
            timeout=30,
        )
        contact = {"id": "c-1", "email": "c1@example.com", "first_name": "A", "company": "X"}
        run = await engine.execute(
            one_email(), contact=contact, variables={"product": "D", "sender_name": "S"}
        )
        await env.sleep(timedelta(seconds=30))
        await until(
            lambda: engine.get_run(run.run_id),
            lambda r: r.status == "COMPLETED",
            what="the run completing in the worker process",
            timeout=30,
        )
        text = await asyncio.to_thread(scrape, address)
        assert value(text, "dee_sends_total", channel="email", outcome="delivered") == 1
        assert value(text, "dee_runs_entered_total", status="COMPLETED") == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 30)
        await engine.close()
    assert code == 0
    # Every line on stderr, the SDK core's included, is one JSON object.
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    messages = [r["message"] for r in records]
    assert "worker stopped by a signal" in messages
    assert any(m.startswith("worker started on task queue") for m in messages)
    [sent] = [r for r in records if r["message"] == "email send delivered by smtp"]
    assert (sent["run_id"], sent["step"], sent["tenant"]) == (run.run_id, "mail", "default")
    assert all(r["time"] and r["level"] for r in records)
