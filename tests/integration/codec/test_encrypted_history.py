"""Temporal holds no contact data in clear: a run's history, exported by Temporal's own
CLI, shows none of it, and still replays (Temporal's Replayer, ``dee replay``) with the
keys, and only with them; the Web UI's codec server reads it for an authorised operator."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from adapters.codec import generate_key_line
from dee.codec_config import CodecConfig
from dee.codec_server import codec_server
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server, free_port, temporal_cli
from dee.engine import Engine
from dee.sandbox import workflow_runner
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email
from tests.integration.waiting import until
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[3]
OLD_KEYS = generate_key_line("2026-q1")
EMAIL = "zelda.quintrell-4417@wombat-ventures.example"
PHONE = "+15555550199"
NAME = "Zelda Quintrell"
COMPANY = "Wombat Ventures Ltd"
CONTACT = {
    "id": "c-pii",
    "email": EMAIL,
    "phone": PHONE,
    "first_name": NAME,
    "company": COMPANY,
}
PII = (EMAIL, PHONE, NAME, COMPANY, "Quintrell", "wombat-ventures")
VARS = {"product": "DEE", "sender_name": "Sam"}


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
        yield dev


@pytest.fixture
def config(tmp_path: Path, server: DevServer, mail: SmtpServer) -> EngineConfig:
    return EngineConfig(
        codec=CodecConfig(keys=(OLD_KEYS,)),
        data_dir=tmp_path / "data",
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )


async def _run(config: EngineConfig) -> str:
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    try:
        async with worker_for(config, client, database=engine.database) as worker, worker:
            run = await engine.execute(one_email("pii"), contact=CONTACT, variables=VARS)
            done = await until(
                lambda: engine.get_run(run.run_id),
                lambda r: r.status == "COMPLETED",
                what="the run completing",
                timeout=60,
                every=0.1,
            )
            assert done.outcome == "sent"
            return run.run_id
    finally:
        await engine.close()


async def _temporal(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        temporal_cli(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _dee(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dee", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _values(node: Any, key: str) -> Iterator[str]:
    """Every string under ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)


def _decoded_data(text: str) -> bytes:
    """Every payload's data in a ``temporal workflow show -o json`` output, base64-decoded."""
    if not text.strip():
        return b""
    return b"\n".join(base64.b64decode(d) for d in _values(json.loads(text), "data"))


def _plain_payloads(node: Any, path: str) -> Iterator[str]:
    """The paths of the payloads whose encoding is not ``binary/encrypted``."""
    if isinstance(node, dict):
        encoding = (node.get("metadata") or {}).get("encoding")
        if isinstance(encoding, str):
            if base64.b64decode(encoding) != b"binary/encrypted":
                yield path
            return
        for key, value in node.items():
            yield from _plain_payloads(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from _plain_payloads(item, f"{path}[{n}]")


def _env(tmp_path: Path, keys: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env["DEE_DATA_DIR"] = str(tmp_path / "cli-data")  # no key file there: only DEE_CODEC_KEYS
    if keys is not None:
        env["DEE_CODEC_KEYS"] = keys
    return env


async def test_an_exported_history_holds_no_contact_data_and_replays_only_with_the_keys(
    config: EngineConfig, server: DevServer, tmp_path: Path
) -> None:
    run_id = await _run(config)
    code, out, err = await _temporal(
        "workflow", "show", "--workflow-id", run_id, "--output", "json",
        "--address", server.address,
    )  # fmt: skip
    assert code == 0, err
    exported = tmp_path / f"{run_id}.json"
    exported.write_text(out)
    for value in PII:
        assert value not in out, f"{value!r} in the exported history"
    document = json.loads(out)
    datas = list(_values(document, "data"))
    assert len(datas) >= 5  # start input, activity inputs and results, the workflow's result
    for data in datas:
        raw = base64.b64decode(data)
        for value in PII:
            assert value.encode() not in raw, f"{value!r} in a payload's data"
    plain = list(_plain_payloads(document, ""))
    # Only what Temporal must read stays plain: search attributes (the server indexes
    # them; DEE's hold ids and statuses, no contact data) and the SDK core's patch markers.
    assert plain and all("searchAttributes" in p or "patch-data" in p for p in plain), plain
    assert sum(1 for _ in _values(document, "data")) - len(plain) >= 5  # encrypted ones

    history = WorkflowHistory.from_json(run_id, document)
    with_keys = Replayer(
        workflows=[PlanRunWorkflow],
        workflow_runner=workflow_runner(),
        data_converter=(await connect(config)).data_converter,
    )
    assert (
        await with_keys.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None
    without = Replayer(workflows=[PlanRunWorkflow], workflow_runner=workflow_runner())
    failed = await without.replay_workflow(history, raise_on_replay_failure=False)
    # the SDK's own converter cannot read the start input: the replay says so
    assert "Failed decoding arguments" in str(failed.replay_failure)

    # dee replay: with the key identical; after a rotation (a newer key added) still
    # identical; without the key a clear error naming the key id, no traceback.
    rotated = f"{OLD_KEYS},{generate_key_line('2026-q2')}"
    for keys in (OLD_KEYS, rotated):
        code, out, err = await _dee(_env(tmp_path, keys), "replay", "--history", str(exported))
        assert code == 0, out + err
        assert "identical" in out
    code, out, err = await _dee(_env(tmp_path, None), "replay", "--history", str(exported))
    assert code == 1
    assert "key id '2026-q1'" in err and "Traceback" not in err, err
    assert not (tmp_path / "cli-data" / "codec-keys").exists()  # a reader makes no key
    code, out, err = await _dee(
        _env(tmp_path, generate_key_line("2026-q1")), "replay", "--history", str(exported)
    )  # the same id, another key: caught as failing authentication
    assert code == 1
    assert "'2026-q1' fails authentication" in err and "Traceback" not in err, err


async def test_temporal_s_cli_reads_the_history_through_the_codec_server_with_the_token(
    config: EngineConfig, server: DevServer
) -> None:
    run_id = await _run(config)
    port = free_port()
    token = "operator-token-" + uuid.uuid4().hex
    codec = codec_server(config, token, port=port)
    serving = asyncio.create_task(codec.serve())
    try:
        await until(lambda: asyncio.sleep(0, codec.started), bool, what="codec server up")
        endpoint = f"http://127.0.0.1:{port}"
        show = ("workflow", "show", "--workflow-id", run_id, "--output", "json",
                "--address", server.address, "--codec-endpoint", endpoint)  # fmt: skip
        code, out, err = await _temporal(*show, "--codec-auth", f"Bearer {token}")
        assert code == 0, err
        readable = _decoded_data(out)
        assert EMAIL.encode() in readable and COMPANY.encode() in readable  # for the operator
        code, out, err = await _temporal(*show, "--codec-auth", "Bearer wrong")
        assert code != 0, (code, err)  # the CLI gives up; nothing decoded
        assert EMAIL.encode() not in _decoded_data(out)
    finally:
        codec.should_exit = True
        await serving
