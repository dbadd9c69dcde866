"""``dee webhooks`` as a real process with ``DEE_LOG_FORMAT=json``: its log lines, the
receiver's and uvicorn's, are JSON objects like the worker's."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from dee.config import EngineConfig
from dee.devserver import free_port
from dee.engine import Engine
from tests.integration.temporal_env import TEST_CODEC_KEYS
from tests.integration.waiting import until


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # not listening yet


async def test_the_receiver_logs_json_lines(env: WorkflowEnvironment, tmp_path: Path) -> None:
    db, port = f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}", free_port()
    await (await Engine.connect(EngineConfig(database=db), client=env.client)).close()  # migrate
    variables = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    variables |= {
        "DEE_DATABASE_URL": db,
        "DEE_DATA_DIR": str(tmp_path),
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,
        "DEE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "DEE_WEBHOOKS_SECRET": "s" * 32,
        "DEE_LOG_FORMAT": "json",
    }
    log_file = tmp_path / "webhooks.log"
    with log_file.open("w") as log:
        receiver = subprocess.Popen(
            [sys.executable, "-m", "dee", "webhooks", "--port", str(port)],
            env=variables,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            base = f"http://127.0.0.1:{port}/webhooks"
            await until(lambda: asyncio.to_thread(_get, f"{base}/health"), lambda s: s == 200,
                        what="the receiver answering", timeout=30)  # fmt: skip
            # A forged click token: refused (400/403) and logged by the receiver.
            assert await asyncio.to_thread(_get, f"{base}/email/click/forged?url=x") in {400, 403}
            await until(lambda: asyncio.to_thread(log_file.read_text), lambda t: "refused" in t,
                        what="the refusal logged", timeout=10)  # fmt: skip
        finally:
            receiver.terminate()
            receiver.wait(timeout=15)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line one JSON object
    assert any("refused GET /webhooks/email/click/forged" in r["message"] for r in records), lines
