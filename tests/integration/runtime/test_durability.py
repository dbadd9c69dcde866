"""Durable under faults, on real processes: a burst of concurrent events to one run, and
sends whose worker is SIGKILLed after the provider accepted them (reconciliation).

The dev server runs for the module; workers are ``dee worker`` processes started from a
settings file, so a SIGKILL is a real crash mid-action.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Replayer

from activities import contracts as c
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, PoliciesConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from dee.runs.reading import FINAL
from dee.sandbox import workflow_runner
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.channels.standins import postmark_api, twilio_api
from tests.integration.channels.standins.postmark_api import PostmarkStandIn, running_postmark
from tests.integration.channels.standins.server import Behaviour
from tests.integration.channels.standins.twilio_api import TwilioStandIn, running_twilio
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.mailsink import SmtpServer
from tests.integration.private_postgres import private_postgres
from tests.integration.temporal_env import CODEC
from tests.integration.waiting import until, until_true
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[3]
CONTACT = {
    "id": "c-dur", "email": "dur@example.org", "phone": "+442071838750",
    "first_name": "Dur", "company": "Ops",
}  # fmt: skip
VARS = {"product": "DEE", "sender_name": "Sam"}


def _plan(plan_id: str, *sends: Any, wait: int = 0) -> ExecutionPlan:
    body: list[Any] = list(sends)
    if wait:
        body.append(steps.wait(id="pause", duration={"seconds": wait}))
    return ExecutionPlan(
        id=plan_id,
        version=1,
        name=plan_id,
        metadata=PlanMetadata(created_at="2026-12-07", created_by="tests"),
        steps=(*body, steps.end(id="done", outcome="finished")),
    )


def _email() -> Any:
    return steps.send_email(id="intro", template_id="tmpl_intro", subject="About {{ product }}")


def _call() -> Any:
    return steps.send_voice(
        id="call", script_id="script_follow_up", caller_id="+15551234567",
        max_duration={"minutes": 2},
    )  # fmt: skip


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
        yield dev


def _config(tmp_path: Path, server: DevServer, mail: SmtpServer, **channels: Any) -> EngineConfig:
    return EngineConfig(
        codec=CODEC,
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(
            address=server.address, task_queue=f"q-{uuid.uuid4()}", event_ack_timeout=5.0
        ),
        channels=ChannelsConfig.model_validate(
            {"email": EmailConfig(host=mail.host, port=mail.port).model_dump(), **channels}
        ),
        policies=PoliciesConfig(
            consent={"email": "opt-out", "voice": "opt-out"}, hours={"voice": None}
        ),
    )


@contextmanager
def _workers(config: EngineConfig, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``dee worker`` processes on ``config``; the list can be refilled after a kill."""
    settings = tmp_path / f"settings-{uuid.uuid4().hex[:6]}.json"
    settings.write_text(json.dumps(config.model_dump(mode="json", by_alias=True)))
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dee", "worker", "--config", str(settings)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        return proc

    start()
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _restart(procs: list[subprocess.Popen[bytes]], settings_of: subprocess.Popen[bytes]) -> None:
    procs.append(subprocess.Popen(settings_of.args, cwd=ROOT))


@asynccontextmanager
async def _engine(config: EngineConfig) -> AsyncIterator[tuple[Client, Engine]]:
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    try:
        yield client, engine
    finally:
        await engine.close()


async def _until(engine: Engine, run_id: str, status: str, seconds: float = 60) -> ExecutionRun:
    run = await until(
        lambda: engine.get_run(run_id),
        lambda r: r.status == status,
        what=f"run {run_id} reaching {status}",
        timeout=seconds,
        every=0.1,
    )
    if status in FINAL:
        # The state says so before the last audit entries are written (by an
        # activity after it): the run closes once they are.
        await asyncio.wait_for(engine.client.get_workflow_handle(run_id).result(), 60)
    return run


async def _in_flight(behaviour: Behaviour, seconds: float = 30) -> None:
    await until_true(
        lambda: behaviour.requests, what="a request at the provider stand-in", timeout=seconds
    )


async def test_a_burst_of_concurrent_events_to_one_run_is_recorded_exactly_once(
    tmp_path: Path, server: DevServer, mail: SmtpServer
) -> None:
    config = _config(tmp_path, server, mail)
    with _workers(config, tmp_path):
        async with _engine(config) as (client, engine):
            run = await engine.execute(
                _plan("burst", _email(), wait=3600), contact=CONTACT, variables=VARS
            )
            await _until(engine, run.run_id, "WAITING")
            handle = client.get_workflow_handle(run.run_id)
            ids = [f"e-{i}" for i in range(50)] + [f"e-{i}" for i in range(0, 50, 5)]

            async def one(n: int, event_id: str) -> None:
                if n % 3 == 2:  # a third as the durable signal, the rest as updates
                    await handle.signal("ingest_event", c.EventSignal(event_id, "email.opened"))
                    return
                await engine.ingest_event(
                    type="email.opened", contact_id="c-dur", run_id=run.run_id, event_id=event_id
                )

            await asyncio.gather(*(one(n, e) for n, e in enumerate(ids)))

            async def recorded() -> list[Any]:
                return [e for e in await engine.get_timeline(run.run_id) if e.action == "event"]

            def all_in(events: list[Any]) -> bool:
                seen = {(e.detail["id"], e.outcome) for e in events}
                return all((i, "ingested") in seen for i in ids) and all(
                    (i, "duplicate") in seen for i in ids[50:]
                )

            # signals are handled after they are sent: wait for all
            events = await until(recorded, all_in, what="every event recorded", every=0.1)

            outcomes = Counter((e.detail["id"], e.outcome) for e in events)
            assert {k: n for k, n in outcomes.items() if k[1] == "ingested"} == {
                (f"e-{i}", "ingested"): 1 for i in range(50)
            }
            # At least the 10 repeated ids; more when an update outlived its acknowledgement
            # timeout and the event also went as the signal (recorded, never ingested twice).
            duplicates = {k[0]: n for k, n in outcomes.items() if k[1] == "duplicate"}
            assert sum(duplicates.values()) >= 10
            assert {f"e-{i}" for i in range(0, 50, 5)} <= set(duplicates) <= set(ids)
            assert (await engine.get_run(run.run_id)).status == "WAITING"
            described = await handle.describe()
            assert described.status == WorkflowExecutionStatus.RUNNING
            assert (await engine.audit.verify(run.run_id)).ok
            # The order the chain records is the order history committed: the interpreter
            # reproduces every entry from the recorded inputs, and today's workflow code
            # replays the history. (A re-execution, which delivers the inputs again one by
            # one, cannot re-create a burst's interleaving within one workflow task.)
            replayed = await engine.replay(run.run_id, dry_run=True)
            assert replayed.identical, replayed.diffs
            replayer = Replayer(
                workflows=[PlanRunWorkflow],
                workflow_runner=workflow_runner(),
                data_converter=client.data_converter,
            )
            await replayer.replay_workflow(await handle.fetch_history())


@pytest.fixture(scope="module")
def postmark() -> Iterator[PostmarkStandIn]:
    with running_postmark() as standin:
        yield standin


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioStandIn]:
    with running_twilio() as standin:
        standin.script = CallScript(post_callbacks=False)
        yield standin


async def _killed_after_acceptance(
    engine: Engine, procs: list[subprocess.Popen[bytes]], plan: ExecutionPlan, bh: Behaviour
) -> str:
    """Start a run; SIGKILL its worker while the provider holds the send, which the
    provider then accepts; start a new worker; the run ends FAILED, outcome unknown."""
    bh.delay = 3.0
    run = await engine.execute(plan, contact=CONTACT, variables=VARS)
    await _in_flight(bh)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    await asyncio.to_thread(bh.wait_idle)  # the provider accepted it: nobody heard
    bh.delay = 0.0
    _restart(procs, procs[0])
    failed = await _until(engine, run.run_id, "FAILED")
    assert failed.failure is not None
    assert str(failed.failure["reason"]).startswith("send_outcome_unknown"), failed.failure
    return run.run_id


async def _reconciled(engine: Engine, run_id: str, action: str) -> dict[str, Any]:
    timeline = await engine.get_timeline(run_id)
    [entry] = [e for e in timeline if e.action == action and e.detail.get("reconciled")]
    assert entry.outcome == "delivered"
    assert (await engine.audit.verify(run_id)).ok
    return dict(entry.detail)


async def test_a_postmark_send_accepted_before_the_crash_is_found_not_sent_again(
    tmp_path: Path, server: DevServer, mail: SmtpServer, postmark: PostmarkStandIn
) -> None:
    postmark.behaviour.reset()
    postmark.clear()
    config = _config(
        tmp_path, server, mail,
        email={
            "provider": "postmark", "postmark_server_token": postmark_api.TOKEN,
            "postmark_base_url": postmark.url,
            "sender": f"Sales <sales@{postmark_api.VERIFIED_DOMAIN}>",
            "host": mail.host, "port": mail.port,
        },
    )  # fmt: skip
    with _workers(config, tmp_path) as procs:
        async with _engine(config) as (_, engine):
            plan = _plan(f"pm-{uuid.uuid4().hex[:6]}", _email())
            run_id = await _killed_after_acceptance(engine, procs, plan, postmark.behaviour)
            [sent] = await engine.sends(run_id)
            assert (sent.provider, sent.outcome) == ("postmark", "unknown")

            done = await engine.retry_run(run_id, by="ops", reason="was it sent?")
            done = await _until(engine, run_id, "COMPLETED")

            assert done.outcome == "finished"
            detail = await _reconciled(engine, run_id, "send_email")
            assert detail["providerMessageId"] == postmark.outbound[0]["MessageID"]
            assert len(postmark.sent) == 1  # found at the provider: no second request
            [sent] = await engine.sends(run_id)
            assert (sent.outcome, sent.attempts) == ("delivered", 1)


async def test_a_twilio_call_placed_before_the_crash_is_found_not_placed_again(
    tmp_path: Path, server: DevServer, mail: SmtpServer, twilio: TwilioStandIn
) -> None:
    twilio.behaviour.reset()
    twilio.clear()
    config = _config(
        tmp_path, server, mail,
        voice={
            "provider": "twilio", "twilio_account_sid": twilio_api.ACCOUNT_SID,
            "twilio_auth_token": twilio_api.AUTH_TOKEN, "twilio_base_url": twilio.url,
        },
    )  # fmt: skip
    with _workers(config, tmp_path) as procs:
        async with _engine(config) as (_, engine):
            plan = _plan(f"tw-{uuid.uuid4().hex[:6]}", _call())
            run_id = await _killed_after_acceptance(engine, procs, plan, twilio.behaviour)

            await engine.retry_run(run_id, by="ops", reason="was it placed?")
            await _until(engine, run_id, "COMPLETED")

            detail = await _reconciled(engine, run_id, "send_voice")
            assert detail["providerMessageId"] == twilio.records[0].sid
            assert len(twilio.records) == 1  # found: no second call


async def test_an_unknown_smtp_send_is_resent_only_on_an_explicit_operator_decision(
    tmp_path: Path, server: DevServer, mail: SmtpServer
) -> None:
    config = _config(tmp_path, server, mail)
    with _workers(config, tmp_path) as procs:
        async with _engine(config) as (_, engine):
            plan = _plan(f"smtp-{uuid.uuid4().hex[:6]}", _email())
            run = await engine.execute(
                plan, contact={**CONTACT, "email": "slow@example.org"}, variables=VARS
            )
            await until(  # the sink holds slow@ for two seconds: kill in between
                lambda: engine.sends(run.run_id), what=f"the send of {run.run_id}", timeout=15
            )
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            _restart(procs, procs[0])
            failed = await _until(engine, run.run_id, "FAILED")
            assert str((failed.failure or {}).get("reason")).startswith("send_outcome_unknown")

            with pytest.raises(EngineError, match="--resend"):
                await engine.retry_run(run.run_id, by="ops")
            settings = next(tmp_path.glob("settings-*.json"))
            shown = subprocess.run(
                [sys.executable, "-m", "dee", "run", "status", run.run_id, "--json",
                 "--config", str(settings)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            [sent] = json.loads(shown.stdout)["sends"]
            assert (sent["stepId"], sent["provider"], sent["outcome"]) == (
                "intro",
                "smtp",
                "unknown",
            )
            assert sent["messageKey"].startswith("<") and sent["attempts"] == 1

            held = [m for m in mail.received if "slow@example.org" in m.rcpt_tos]
            if held:  # the sink accepted it: the operator checked, and says so
                await engine.resolve_run(
                    run.run_id, resolution="mark_sent", target="", by="ops", reason="in the log"
                )
                action = ("resolve", "mark_sent")
            else:
                await engine.retry_run(run.run_id, by="ops", reason="not in the log", resend=True)
                action = ("retry", "accepted")
            done = await _until(engine, run.run_id, "COMPLETED")

            assert done.outcome == "finished"
            timeline = await engine.get_timeline(run.run_id)
            [decision] = [e for e in timeline if (e.action, e.outcome) == action]
            assert decision.detail["by"] == "ops"
            if not held:
                assert decision.detail["resend"] is True
            ids = [m for m in mail.received if "slow@example.org" in m.rcpt_tos]
            assert len(ids) == 1  # once, whichever way the operator went


async def test_an_audit_store_that_is_down_keeps_the_run_waiting_visibly_never_dead(
    tmp_path: Path, server: DevServer, mail: SmtpServer
) -> None:
    with private_postgres() as pg:
        config = _config(tmp_path, server, mail).model_copy(update={"database": pg.url})
        plan = _plan(f"outage-{uuid.uuid4().hex[:6]}", _email(), wait=3)
        sent_before = len(mail.received)
        with _workers(config, tmp_path):
            async with _engine(config) as (client, engine):
                run = await engine.execute(plan, contact=CONTACT, variables=VARS)
                await _until(engine, run.run_id, "WAITING")
                pg.stop()  # the timer fires into an audit store that is down
                handle = client.get_workflow_handle(run.run_id)
                described = await until(
                    handle.describe,
                    lambda d: any(p.attempt >= 2 for p in d.raw_description.pending_activities[:1]),
                    what="an activity retrying against the stopped database",
                    timeout=60,
                    every=0.1,
                )
                failure = described.raw_description.pending_activities[0].last_failure.message
                assert "database" in failure, failure  # waiting, and saying why
                assert described.status == WorkflowExecutionStatus.RUNNING
                pg.start()
                done = await _until(engine, run.run_id, "COMPLETED", seconds=120)
                assert done.outcome == "finished"
                assert (await engine.audit.verify(run.run_id)).ok
                assert len(mail.received) == sent_before + 1  # sent once, after the outage
