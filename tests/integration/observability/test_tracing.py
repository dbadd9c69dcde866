"""Tracing: with ``observability.otlpEndpoint`` set, a worker exports the SDK
interceptor's spans over OTLP/HTTP (here to a local collector stand-in)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.config_observability import ObservabilityConfig
from dee.engine import Engine
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email

ROOT = Path(__file__).resolve().parents[3]


class Collector(BaseHTTPRequestHandler):
    """Takes OTLP/HTTP exports: keeps each request's path and protobuf body."""

    posts: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.posts.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    posts: list[tuple[str, bytes]] = []
    handler = type("Handler", (Collector,), {"posts": posts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts
    finally:
        server.shutdown()
        server.server_close()


async def test_a_worker_with_an_otlp_endpoint_exports_the_runs_spans(
    env: WorkflowEnvironment,
    mail: SmtpServer,
    tmp_path: Path,
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, posts = collector
    config = EngineConfig(
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
        channels=ChannelsConfig(
            email=EmailConfig(host=mail.host, port=mail.port, sender="Sales <sales@example.com>")
        ),
        observability=ObservabilityConfig(otlp_endpoint=endpoint),
    )
    contact = {"id": "c-1", "email": "c1@example.com", "first_name": "A", "company": "X"}
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            run = await engine.execute(
                one_email(), contact=contact, variables={"product": "D", "sender_name": "S"}
            )
            await env.sleep(timedelta(minutes=1))
            assert (await engine.get_run(run.run_id)).status == "COMPLETED"
        # Leaving the worker flushed the buffered spans to the collector.
    finally:
        await engine.close()
    assert posts and {path for path, _ in posts} == {"/v1/traces"}
    exported = b"".join(body for _, body in posts)
    for span in (b"RunWorkflow:PlanRunWorkflow", b"RunActivity:send_email", b"dee-worker"):
        assert span in exported, re.findall(rb"Run[A-Za-z]+:[a-z_A-Z]+", exported)
    assert b"c1@example.com" not in exported  # span attributes carry ids, not contacts
