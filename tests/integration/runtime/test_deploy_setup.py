"""The compose stack's Temporal set-up and the worker's health check, on a real dev
server: ``deploy/temporal-setup.sh`` (what the one-shot ``temporal-setup`` service runs)
creates a namespace with its retention and registers exactly DEE's search attributes,
and a second run changes nothing; ``dee worker --health-check`` (the worker container's
health check) passes only while a worker on this host polls DEE's task queue; the codec
server's health check passes only against a serving codec server with the token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from dee.cli.worker_health import check_worker
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server, free_port
from dee.errors import EngineError
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.temporal_env import BIN, CODEC, TEST_CODEC_KEYS
from tests.integration.waiting import until
from workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[3]
_TYPES = {IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, IndexedValueType.INDEXED_VALUE_TYPE_INT}


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
        yield dev


def _setup(address: str, namespace: str, retention: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",  # the temporal CLI, as in admin-tools
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": namespace,
        "TEMPORAL_RETENTION": retention,
    }
    script = ROOT / "deploy" / "temporal-setup.sh"
    return subprocess.run(
        ["sh", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def _custom_attributes(client: Client, namespace: str) -> dict[str, int]:
    answer = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(answer.custom_attributes)


async def test_the_setup_script_creates_the_namespace_and_dee_s_search_attributes(
    server: DevServer,
) -> None:
    namespace = f"dee-{uuid.uuid4().hex[:8]}"
    first = _setup(server.address, namespace, "72h")
    assert first.returncode == 0, first.stdout + first.stderr
    client = await Client.connect(server.address, namespace=namespace)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    retention = described.config.workflow_execution_retention_ttl.ToTimedelta()
    assert retention == timedelta(hours=72)
    expected = {key.name: int(key.indexed_value_type) for key in ALL_KEYS}
    assert set(expected.values()) <= _TYPES
    registered = await _custom_attributes(client, namespace)
    assert {k: registered.get(k) for k in expected} == expected
    # Again (a restarted stack): nothing created twice, the retention updated.
    again = _setup(server.address, namespace, "96h")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("exists") == len(ALL_KEYS) + 1, again.stdout
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(hours=96)


async def test_the_setup_script_fails_loudly_when_temporal_cannot_be_reached() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        done = _setup(f"127.0.0.1:{port}", "dee", "30d")
    assert done.returncode != 0
    assert "temporal-setup: creating namespace dee" in done.stdout


def _health(config: EngineConfig) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env |= {
        "DEE_TEMPORAL_ADDRESS": config.temporal.address,
        "DEE_TASK_QUEUE": config.temporal.task_queue,
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,
    }
    args = [sys.executable, "-m", "dee", "worker", "--health-check"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_worker_health_check_passes_only_while_this_host_s_worker_polls(
    server: DevServer, tmp_path: Path, mail: SmtpServer
) -> None:
    config = EngineConfig(
        codec=CODEC,
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )
    # No worker yet: unhealthy, saying what it looked for.
    with pytest.raises(EngineError, match=f"no worker on {socket.gethostname()} has polled"):
        await check_worker(config)
    client = await connect(config)
    async with worker_for(config, client) as running, running:
        # The worker's first polls reach the server shortly after it starts.
        await until(
            lambda: _checked(config),
            what="the worker's pollers on the task queue",
            timeout=30,
            every=0.2,
        )
        healthy = _health(config)  # the container's command, exit status and all
        assert healthy.returncode == 0, healthy.stderr
        assert config.task_queue in healthy.stdout
        # A worker on another host polling the same queue does not make this one healthy.
        with pytest.raises(EngineError, match="no worker on elsewhere"):
            await check_worker(config, host="elsewhere")


async def _checked(config: EngineConfig) -> bool:
    try:
        await check_worker(config)
    except EngineError:
        return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_the_codec_server_health_check_needs_a_serving_server_and_the_token() -> None:
    """The compose file's own one-liner, run against a real ``dee codec-server``."""
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    port = free_port()
    check = raw["services"]["codec-server"]["healthcheck"]["test"][3].replace("8234", str(port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env |= {"DEE_CODEC_KEYS": TEST_CODEC_KEYS, "DEE_CODEC_SERVER_TOKEN": "the-token"}

    def probe(token: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, "-c", check]
        probe_env = {**env, "DEE_CODEC_SERVER_TOKEN": token}
        return subprocess.run(args, env=probe_env, capture_output=True, text=True, check=False)

    assert probe("the-token").returncode == 1  # nothing serving yet
    args = [sys.executable, "-m", "dee", "codec-server", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):  # a cheap look; the check itself is a Python process
            assert server.poll() is None and time.monotonic() < deadline, "codec server not up"
            time.sleep(0.05)
        healthy = probe("the-token")
        assert healthy.returncode == 0, healthy.stderr
        refused = probe("a-wrong-token")
        assert refused.returncode == 1 and "401" in refused.stderr
    finally:
        server.terminate()
        server.wait()
