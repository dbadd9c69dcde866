"""Chaos: runs that send and take events while ``dee worker`` processes and the Temporal
dev server are killed with SIGKILL.

    python -m bench.chaos [--runs 300] [--worker-kills 10] [--server-kills 2]
                          [--workers 2] [--hold 0.3] [--database URL]

Real processes throughout: the dev server on a file database (so it restarts with its
state), ``dee worker`` processes, the audit log in SQLite (or ``--database``), and an
SMTP sink that holds every message a moment before answering (``bench.chaos_sink``):
kills are timed to land while a message sits in that window, the moment a provider
has it and the sender does not know. Each run sends, waits, takes one event and sends
again. The report counts what the promises forbid: dead executions, lost events,
duplicate Message-IDs at the sink, sends the sink accepted that the audit calls
``failed``, chains that do not verify; and how long a lost send took to surface as
FAILED (``send_outcome_unknown``). ``tests/test_chaos.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from bench.chaos_sink import HoldingSink, holding_sink
from bench.codec_keys import BENCH_CODEC_KEYS
from bench.results_file import publish
from dee.codec_config import CodecConfig
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server, free_port
from dee.engine import Engine
from dee.errors import EngineError
from interpreter import ExecutionPlan, PlanMetadata, steps

ROOT = Path(__file__).resolve().parents[1]
SETTLED = {"COMPLETED", "FAILED"}
DEAD = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.CANCELED,
}


@dataclass(frozen=True)
class ChaosSettings:
    runs: int = 300
    worker_kills: int = 10
    server_kills: int = 2
    workers: int = 2
    hold_seconds: float = 0.3
    wait_seconds: int = 2
    database_url: str | None = None
    settle_seconds: float = 600
    seed: int = 17


@dataclass
class ChaosReport:
    runs: int
    completed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    messages_at_sink: int = 0
    duplicate_message_ids: dict[str, int] = field(default_factory=dict)
    accepted_but_audited_failed: list[str] = field(default_factory=list)
    events_taken: int = 0
    events_lost: list[str] = field(default_factory=list)
    events_recorded_twice: list[str] = field(default_factory=list)
    chains_broken: list[str] = field(default_factory=list)
    unknown_sends: int = 0
    lost_send_to_failed_seconds: list[float] = field(default_factory=list)
    worker_kills: int = 0
    server_kills: int = 0
    wall_seconds: float = 0.0

    def violations(self) -> dict[str, Any]:
        """What the promises forbid, by name (empty when all held)."""
        found = {
            "dead": self.dead,
            "unsettled": self.unsettled,
            "duplicate_message_ids": self.duplicate_message_ids,
            "accepted_but_audited_failed": self.accepted_but_audited_failed,
            "events_lost": self.events_lost,
            "events_recorded_twice": self.events_recorded_twice,
            "chains_broken": self.chains_broken,
        }
        return {name: value for name, value in found.items() if value}


def chaos_plan(wait_seconds: int) -> ExecutionPlan:
    return ExecutionPlan(
        id="chaos-two-emails",
        version=wait_seconds,
        name="Chaos: two emails",
        metadata=PlanMetadata(created_at="2026-12-07", created_by="bench.chaos"),
        steps=(
            steps.send_email(id="first", template_id="tmpl_intro", subject="Hello {{ product }}"),
            steps.wait(id="pause", duration={"seconds": wait_seconds}),
            steps.send_email(id="second", template_id="tmpl_cold_follow_up", subject="Again"),
            steps.end(id="done", outcome="finished"),
        ),
    )


class Processes:
    """The dev server and the worker processes, each killable and restartable."""

    def __init__(self, scratch: Path, config: EngineConfig, workers: int, rng: random.Random):
        self._scratch, self._config, self._rng = scratch, config, rng
        self._port = int(config.temporal.address.rsplit(":", 1)[1])
        self._stack = AsyncExitStack()
        self.server: DevServer | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._count = workers

    async def start(self) -> None:
        await self._start_server()
        self.workers = [self._worker() for _ in range(self._count)]

    async def _start_server(self) -> None:
        self._stack = AsyncExitStack()
        self.server = await self._stack.enter_async_context(
            dev_server(port=self._port, db_file=self._scratch / "temporal.db", ui=False)
        )

    def _worker(self) -> subprocess.Popen[bytes]:
        cfg = self._config
        env = {
            **os.environ,
            "DEE_DATABASE_URL": cfg.database_url,
            "DEE_TEMPORAL_ADDRESS": cfg.temporal.address,
            "DEE_TASK_QUEUE": cfg.temporal.task_queue,
            "DEE_SMTP_HOST": cfg.channels.email.host,
            "DEE_SMTP_PORT": str(cfg.channels.email.port),
            "DEE_TEMPLATES_DIR": str(cfg.templates_dir),
            "DEE_CODEC_KEYS": ",".join(cfg.codec.keys),
        }
        log = open(self._scratch / "workers.log", "ab")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen(
            [sys.executable, "-m", "dee", "worker"], env=env, cwd=ROOT, stdout=log, stderr=log
        )

    def revive(self) -> None:
        """Start again any worker that exited (one started while the server was down)."""
        for index, worker in enumerate(self.workers):
            if worker.poll() is not None:
                self.workers[index] = self._worker()

    def kill_worker(self) -> None:
        index = self._rng.randrange(len(self.workers))
        victim = self.workers[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.workers[index] = self._worker()

    async def kill_server(self, down_seconds: float = 1.0) -> None:
        assert self.server is not None
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait()
        await self._stack.aclose()
        await asyncio.sleep(down_seconds)
        await self._start_server()

    async def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
            worker.wait()
        await self._stack.aclose()


async def _retrying(work: Any, attempts: int = 60) -> Any:
    """A caller's own retry while the server restarts (the call is idempotent)."""
    for attempt in range(attempts):
        try:
            return await work()
        except (EngineError, RuntimeError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    return None


async def _start_runs(engine: Engine, plan: ExecutionPlan, count: int) -> dict[str, str]:
    """Start the runs (and send each its event); returns run id -> event id taken."""
    taken: dict[str, str] = {}
    gate = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        contact = {
            "id": f"chaos-{i}", "email": f"chaos-{i}@example.com", "first_name": "Chaos",
            "company": "Ops",
        }  # fmt: skip
        async with gate:
            run = await _retrying(
                lambda: engine.execute(
                    plan,
                    contact=contact,
                    variables={"product": "DEE", "sender_name": "Sam"},
                    idempotency_key=f"chaos-{i}",
                )
            )
            event_id = f"ev-{i}"
            ingested = await _retrying(
                lambda: engine.ingest_event(
                    type="email.opened",
                    contact_id=contact["id"],
                    run_id=run.run_id,
                    event_id=event_id,
                )
            )
            if ingested.deliveries:
                taken[run.run_id] = event_id

    await asyncio.gather(*(one(i) for i in range(count)))
    return taken


async def _havoc(procs: Processes, sink: HoldingSink, settings: ChaosSettings) -> tuple[int, int]:
    """Kill workers and the server, each time while a message is held, if one comes."""
    kinds = ["worker"] * settings.worker_kills
    for n in range(settings.server_kills):  # spread through the workers' kills
        kinds.insert((n + 1) * len(kinds) // (settings.server_kills + 1), "server")
    done = Counter[str]()
    for kind in kinds:
        await asyncio.to_thread(sink.holding.wait, 10.0)
        if kind == "worker":
            procs.kill_worker()
        else:
            await procs.kill_server()
        done[kind] += 1
        await asyncio.sleep(0.3)
        procs.revive()
    return done["worker"], done["server"]


async def _settle(
    engine: Engine, procs: Processes, run_ids: list[str], seconds: float
) -> list[str]:
    deadline = time.monotonic() + seconds
    waiting = set(run_ids)
    while waiting and time.monotonic() < deadline:
        procs.revive()
        for run_id in sorted(waiting):
            try:
                if (await engine.get_run(run_id)).status in SETTLED:
                    waiting.discard(run_id)
            except (EngineError, RuntimeError):
                break  # the server is restarting: ask again shortly
        await asyncio.sleep(0.5)
    return sorted(waiting)


async def examine(
    engine: Engine, client: Client, sink: HoldingSink, taken: dict[str, str], report: ChaosReport
) -> None:
    """Fill ``report`` from the settled runs, the sink and the audit log."""
    accepted = sink.snapshot()
    report.messages_at_sink = len(accepted)
    report.duplicate_message_ids = sink.duplicates()
    delivered_steps = {(a.run_id, a.step_id) for a in accepted}
    reasons = Counter[str]()
    for run_id, event_id in sorted(taken.items()):
        run = await engine.get_run(run_id)
        described = await client.get_workflow_handle(run_id).describe()
        if described.status in DEAD:
            report.dead.append(f"{run_id}: {described.status.name}")
        if run.status == "COMPLETED":
            report.completed += 1
        elif run.status == "FAILED":
            reasons[str((run.failure or {}).get("reason", "")).split(":", 1)[0]] += 1
        timeline = await engine.get_timeline(run_id)
        for entry in timeline:
            is_send = entry.action in ("send_email", "send_voice")
            if is_send and entry.outcome == "failed" and (run_id, entry.step_id) in delivered_steps:
                report.accepted_but_audited_failed.append(f"{run_id}/{entry.step_id}")
            if is_send and entry.outcome == "unknown":
                report.unknown_sends += 1
                report.lost_send_to_failed_seconds.extend(
                    await _surfacing(engine, run_id, entry.step_id, entry.recorded_at)
                )
        ingested = [
            e for e in timeline
            if e.action == "event" and e.outcome == "ingested" and e.detail.get("id") == event_id
        ]  # fmt: skip
        if not ingested:
            report.events_lost.append(f"{run_id}: {event_id}")
        elif len(ingested) > 1:
            report.events_recorded_twice.append(f"{run_id}: {event_id}")
        if not (await engine.audit.verify(run_id)).ok:
            report.chains_broken.append(run_id)
    report.events_taken = len(taken)
    report.failed_by_reason = dict(reasons)


async def _surfacing(engine: Engine, run_id: str, step_id: str, recorded: Any) -> list[float]:
    """Seconds from the lost attempt (the ledger's) to the ``unknown`` entry."""
    for sent in await engine.sends(run_id):
        if sent.step_id == step_id and sent.attempted_at is not None:
            return [round((recorded - sent.attempted_at).total_seconds(), 2)]
    return []


Aftermath = Callable[[Engine, HoldingSink, ChaosReport], Awaitable[None]]


async def chaos(
    settings: ChaosSettings, scratch: Path, aftermath: Aftermath | None = None
) -> ChaosReport:
    """Run the chaos; ``aftermath`` runs on the settled engine before anything stops."""
    rng = random.Random(settings.seed)
    report = ChaosReport(settings.runs)
    began = time.monotonic()
    with holding_sink(settings.hold_seconds) as (sink, smtp_port):
        config = EngineConfig(
            codec=CodecConfig(keys=(BENCH_CODEC_KEYS,)),  # encrypted, as DEE runs
            database=settings.database_url or f"sqlite+aiosqlite:///{scratch / 'dee.db'}",
            templates_dir=ROOT / "templates",
            temporal=TemporalConfig(
                address=f"127.0.0.1:{free_port()}",
                task_queue=f"chaos-{uuid.uuid4().hex[:8]}",
                event_ack_timeout=2.0,
            ),
            channels=ChannelsConfig(email=EmailConfig(host="127.0.0.1", port=smtp_port)),
        )
        procs = Processes(scratch, config, settings.workers, rng)
        await procs.start()
        try:
            client = await connect(config)
            engine = await Engine.connect(config, client=client)
            try:
                plan = chaos_plan(settings.wait_seconds)
                havoc = asyncio.create_task(_havoc(procs, sink, settings))
                taken = await _start_runs(engine, plan, settings.runs)
                report.worker_kills, report.server_kills = await havoc
                report.unsettled = await _settle(
                    engine, procs, sorted(taken), settings.settle_seconds
                )
                await examine(engine, client, sink, taken, report)
                if aftermath is not None:
                    procs.revive()
                    await aftermath(engine, sink, report)
            finally:
                await engine.close()
        finally:
            await procs.stop()
    report.wall_seconds = round(time.monotonic() - began, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--worker-kills", type=int, default=10)
    parser.add_argument("--server-kills", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hold", type=float, default=0.3, help="seconds the sink holds a message")
    parser.add_argument("--database", default=None, help="audit database URL (default: SQLite)")
    args = parser.parse_args()
    settings = ChaosSettings(
        runs=args.runs, worker_kills=args.worker_kills, server_kills=args.server_kills,
        workers=args.workers, hold_seconds=args.hold, database_url=args.database,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dee-chaos-") as scratch:
        report = asyncio.run(chaos(settings, Path(scratch)))
    result = {"settings": asdict(settings), "report": asdict(report)}
    result["violations"] = report.violations()
    publish("chaos", result)
    sys.exit(1 if report.violations() else 0)


if __name__ == "__main__":
    main()
