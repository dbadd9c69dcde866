"""On the real dev server: a run whose Temporal execution is terminated from outside is
reported dead with Temporal's reason by the engine and the CLI, and ``dee audit
verify`` flags its chain, which has no closing entry; healthy runs are unaffected."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine, ExecutionRun
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email
from tests.integration.temporal_env import CODEC
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]
CONTACT = {"id": "c-dead", "email": "dead@example.com", "first_name": "D", "company": "X"}
VARS = {"product": "DEE", "sender_name": "Sam"}
REASON = "operator pulled the plug on a stuck run"
T = TypeVar("T")


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
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


@dataclass(frozen=True)
class Cli:
    """``python -m dee`` as a user runs it, with the test's settings file."""

    env: dict[str, str]

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dee", *args, env=self.env, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


def _cli(config: EngineConfig, tmp_path: Path) -> Cli:
    settings = tmp_path / "dee.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "database": config.database,
                "temporal": {"address": config.temporal.address},
                "codec": {"keys": list(config.codec.keys)},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    # A wide console, so the runs table is not wrapped.
    return Cli({**env, "DEE_CONFIG": str(settings), "COLUMNS": "250"})


async def _eventually(
    what: str, probe: Callable[[], Awaitable[T | None]], seconds: float = 30
) -> T:
    """``probe``'s first answer that is not ``None``; fails naming ``what`` at the deadline."""
    answer = await until(probe, lambda a: a is not None, what=what, timeout=seconds, every=0.1)
    assert answer is not None
    return answer


async def _status(engine: Engine, run_id: str, status: str) -> ExecutionRun:
    async def probe() -> ExecutionRun | None:
        run = await engine.get_run(run_id)
        return run if run.status == status else None

    return await _eventually(f"run {run_id} reaching {status}", probe)


async def test_a_terminated_run_is_dead_everywhere_and_its_chain_is_flagged(
    config: EngineConfig, tmp_path: Path
) -> None:
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    cli = _cli(config, tmp_path)
    try:
        async with worker_for(config, client, database=engine.database) as worker, worker:
            waiting_plan = one_email("waits", wait_hours=5)
            doomed = await engine.execute(waiting_plan, contact=CONTACT, variables=VARS)
            canceled = await engine.execute(waiting_plan, contact=CONTACT, variables=VARS)
            done = await engine.execute(one_email("ends"), contact=CONTACT, variables=VARS)
            await _status(engine, doomed.run_id, "WAITING")
            await _status(engine, canceled.run_id, "WAITING")
            await engine.cancel_run(canceled.run_id, "changed our mind", by="tests")
            await _status(engine, done.run_id, "COMPLETED")
            await client.get_workflow_handle(doomed.run_id).terminate(reason=REASON)

            dead = await engine.get_run(doomed.run_id)
            assert (dead.status, dead.current_step) == ("DEAD", "pause")
            assert (dead.temporal_status, dead.temporal_reason) == ("TERMINATED", REASON)
            for healthy, status in ((done, "COMPLETED"), (canceled, "CANCELED")):
                run = await engine.get_run(healthy.run_id)
                assert (run.status, run.temporal_status, run.temporal_reason) == (
                    status,
                    None,
                    None,
                )
            assert (await engine.get_run(done.run_id)).outcome == "sent"

            async def dead_listed() -> list[ExecutionRun] | None:
                runs = await engine.list_runs()
                return (
                    runs if {r.status for r in runs} == {"DEAD", "COMPLETED", "CANCELED"} else None
                )

            # Visibility is eventually consistent: wait for the termination to show there.
            listed = {r.run_id: r for r in await _eventually("the listing", dead_listed)}
            assert (
                listed[doomed.run_id].temporal_status,
                listed[doomed.run_id].temporal_reason,
            ) == (
                "TERMINATED",
                REASON,
            )
            assert listed[done.run_id].temporal_status is None
            assert [r.run_id for r in await engine.list_runs(status="DEAD")] == [doomed.run_id]
            assert await engine.list_runs(status="WAITING") == []
            assert [r.run_id for r in await engine.list_runs(status="COMPLETED")] == [done.run_id]

        status_json = await cli("run", "status", doomed.run_id, "--json")
        status_text = await cli("run", "status", doomed.run_id)
        done_json = await cli("run", "status", done.run_id, "--json")
        list_json = await cli("runs", "list", "--json")
        list_text = await cli("runs", "list")
        list_dead = await cli("runs", "list", "--status", "DEAD", "--json")
        verify_dead = await cli("audit", "verify", doomed.run_id)
        verify_done = await cli("audit", "verify", done.run_id)
        verify_all = await cli("audit", "verify", "--all")
        timeline = await engine.get_timeline(doomed.run_id)
    finally:
        await engine.close()

    for code, _, err in (status_json, status_text, done_json, list_json, list_text, list_dead):
        assert code == 0, err
    shown = json.loads(status_json[1])
    assert (shown["status"], shown["temporalStatus"], shown["temporalReason"]) == (
        "DEAD",
        "TERMINATED",
        REASON,
    )
    first, *rest = status_text[1].splitlines()
    assert first.split()[:2] == [doomed.run_id, "DEAD"]
    assert f"  Temporal: execution TERMINATED: {REASON}" in rest
    healthy = json.loads(done_json[1])
    assert (healthy["status"], healthy["temporalStatus"], healthy["temporalReason"]) == (
        "COMPLETED",
        None,
        None,
    )
    assert {r["runId"]: (r["status"], r["temporalStatus"]) for r in json.loads(list_json[1])} == {
        doomed.run_id: ("DEAD", "TERMINATED"),
        canceled.run_id: ("CANCELED", None),
        done.run_id: ("COMPLETED", None),
    }
    [dead_row] = [line for line in list_text[1].splitlines() if doomed.run_id in line]
    assert "DEAD" in dead_row and f"execution TERMINATED: {REASON}" in dead_row
    assert [r["runId"] for r in json.loads(list_dead[1])] == [doomed.run_id]

    last = timeline[-1]
    assert (last.step_id, last.action, last.outcome) == ("pause", "wait", "started")
    flagged = (
        f"error: run {doomed.run_id}: ended (Temporal TERMINATED: {REASON}) without a closing "
        f"audit entry (end, exit, cancel accepted or resolve end); the last is seq {last.seq} "
        "(pause wait started)"
    )
    assert verify_dead == (1, "", flagged + "\n")
    assert verify_done[0] == 0, verify_done[2]
    assert verify_done[1].startswith(f"run {done.run_id}: ok, ")
    code, out, err = verify_all
    assert (code, err) == (1, flagged + "\n")
    assert sorted(line.split(":")[0] for line in out.splitlines()) == sorted(
        [f"run {canceled.run_id}", f"run {done.run_id}"]
    )
