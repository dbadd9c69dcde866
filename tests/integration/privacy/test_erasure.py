"""``dee contact erase`` on the real dev server, on SQLite and PostgreSQL: afterwards no
personal value of the contact is in any table or any Temporal history, every chain
verifies, its runs are refused until it is enrolled again; and the hostile cases
(an unknown contact, a second erasure, a run mid-wait)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import AuditStore, Database, RunRecord, RunStore
from adapters.storage.schema import AuditEntry, metadata
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.contacts import ContactService, erasure_chain
from dee.devserver import DevServer, dev_server
from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from dee.runs.ids import run_id
from dee.runs.starter import RunStarter
from dee.worker import worker_for
from interpreter import ExecutionPlan, PlanMetadata, TraceEntry, chain, steps
from tests.integration.mailsink import SmtpServer
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]
META = PlanMetadata(created_at="2026-01-01", created_by="tests")
CONTACT = {
    "id": "c-erased",
    "email": "Hedy.Kiesler@Example.org",
    "first_name": "Hedwig",
    "last_name": "Kiesler",
    "company": "Frequency Hopping GmbH",
    "phone": "+15555550142",
}
VARS = {"product": "DEE", "sender_name": "Grace"}
SUBJECT = "Re: torpedo guidance licence"
SNIPPET = "Please call my assistant tomorrow"
PII = [
    "hedy.kiesler@example.org", "hedwig", "kiesler", "frequency hopping", "5555550142",
    "torpedo guidance", "call my assistant",
]  # fmt: skip


def one_email(plan_id: str = "one-email") -> ExecutionPlan:
    return ExecutionPlan(
        id=plan_id, version=1, name="One email", metadata=META,
        steps=(
            steps.send_email(id="mail", template_id="tmpl_intro", subject="Hi {{ product }}"),
            steps.end(id="done", outcome="sent"),
        ),
    )  # fmt: skip


def email_wait_email() -> ExecutionPlan:
    return ExecutionPlan(
        id="email-wait-email", version=1, name="Email, wait, email", metadata=META,
        steps=(
            steps.send_email(id="first", template_id="tmpl_intro", subject="Hi {{ product }}"),
            steps.wait(id="wait", duration={"hours": 1}),
            steps.send_email(id="second", template_id="tmpl_intro", subject="Again"),
            steps.end(id="done", outcome="sent"),
        ),
    )  # fmt: skip


# A default server removes a closed execution ~30 s after the deletion is accepted, once
# its close is processed; these settings make it at once (docs/privacy.md).
PROMPT_DELETION = {
    "history.transferProcessorEnsureCloseBeforeDelete": "false",
    "history.visibilityProcessorEnsureCloseBeforeDelete": "false",
}


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False, dynamic_config=PROMPT_DELETION) as dev:
        yield dev


@pytest.fixture
def config(tmp_path: Path, db_url: str, server: DevServer, mail: SmtpServer) -> EngineConfig:
    return EngineConfig(
        database=db_url,
        data_dir=tmp_path / "data",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )


@pytest.fixture
async def engine(config: EngineConfig) -> AsyncIterator[Engine]:
    client = await connect(config)  # the codec keys the `dee` processes read too
    engine = await Engine.connect(config, client=client)
    try:
        async with worker_for(config, client, database=engine.database) as worker, worker:
            yield engine
    finally:
        await engine.close()


async def dee(
    config: EngineConfig, *args: str, extra: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """The ``dee`` CLI in a process of its own (the worker keeps running in this loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env |= {
        "DEE_DATABASE_URL": config.database_url,
        "DEE_DATA_DIR": str(config.data_dir),
        "DEE_TEMPORAL_ADDRESS": config.temporal.address,
        "DEE_TASK_QUEUE": config.temporal.task_queue,
        **(extra or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dee", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def dump(engine: Engine) -> str:
    """Every row of every table, as lower-case JSON text."""
    rows: list[str] = []
    async with engine.database.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                rows.append(json.dumps({k: str(v) for k, v in row.items()}))
    return "\n".join(rows).lower()


async def _status(engine: Engine, run: ExecutionRun, wanted: set[str], step: str | None = None):  # type: ignore[no-untyped-def]
    return await until(
        lambda: engine.get_run(run.run_id),
        lambda r: r.status in wanted and (step is None or r.current_step == step),
        what=f"run {run.run_id} in {wanted} at {step}",
        timeout=60,
        every=0.1,
    )


async def _gone(client: Client, run_id: str) -> bool:
    try:
        await client.get_workflow_handle(run_id).describe()
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


async def _sealed_subject(engine: Engine, run_id: str) -> Mapping[str, object]:
    [replied] = [e for e in await engine.get_timeline(run_id) if e.action == "event"]
    opened = await engine.contacts.opened(run_id, replied.detail)
    return dict(opened["data"])


async def test_erasure_leaves_nothing_personal_and_refuses_runs_until_enrolled(
    engine: Engine, config: EngineConfig, tmp_path: Path
) -> None:
    done = await engine.execute(one_email(), contact=CONTACT, variables=VARS)
    waiting = await engine.execute(email_wait_email(), contact=CONTACT, variables=VARS)
    # The address suppressed for one plan, under another spelling: kept (as a pseudonym).
    await engine.policies.suppress(
        "HEDY.KIESLER@example.ORG", reason="asked by phone", scope="plan", scope_key="blocked"
    )
    await _status(engine, done, {"COMPLETED"})
    await _status(engine, waiting, {"WAITING"}, step="wait")
    reply = {"from": f"Hedy <{CONTACT['email']}>", "subject": SUBJECT, "snippet": SNIPPET}
    await engine.ingest_event(
        type="email.replied", contact_id=CONTACT["id"], run_id=waiting.run_id, step_id="first",
        data=reply,
    )  # fmt: skip
    assert (await _sealed_subject(engine, waiting.run_id))["subject"] == SUBJECT
    code, out, err = await dee(config, "run", "timeline", waiting.run_id)
    assert code == 0 and f'subject: "{SUBJECT}"' in out, (out, err)
    text = await dump(engine)
    assert "hedy.kiesler@example.org" in text  # the suppression row, before the erasure

    code, out, err = await dee(config, "contact", "erase", CONTACT["id"], "--by", "dpo")
    assert code == 0, err
    assert "contact c-erased erased" in out and "1 open run(s) cancelled" in out

    cancelled = await engine.get_run(waiting.run_id)
    assert cancelled.status == "CANCELED"  # mid-wait: cancelled through its workflow
    for run in (done, waiting):
        assert await _gone(engine.client, run.run_id), f"history of {run.run_id} is still there"
    leaked = [value for value in PII if value in await dump(engine)]
    assert leaked == []
    assert (await _sealed_subject(engine, waiting.run_id))["subject"] == "[erased]"
    code, out, err = await dee(config, "run", "timeline", waiting.run_id, "--json")
    [replied] = [e for e in json.loads(out) if e["action"] == "event"]
    assert replied["opened"]["data"]["subject"] == "[erased]"
    assert replied["detail"]["data"]["subject"].startswith("sealed:v1:")
    # Checked against the signed checkpoints too: the erasure chain is signed as runs are.
    code, public_key, err = await dee(config, "audit", "public-key")
    assert code == 0, err
    (tmp_path / "audit.pub").write_text(public_key)
    verify = ("audit", "verify", "--all", "--public-key", str(tmp_path / "audit.pub"))
    code, out, err = await dee(config, *verify)
    assert code == 0, out + err
    assert erasure_chain("default") in out and waiting.run_id in out

    with pytest.raises(EngineError, match="contact c-erased: erased"):
        await engine.execute(one_email("again"), contact=CONTACT, variables=VARS)
    plan_file, contact_file = tmp_path / "plan.yaml", tmp_path / "contact.json"
    plan_file.write_text(yaml.safe_dump(one_email("again").model_dump(mode="json", by_alias=True)))
    contact_file.write_text(json.dumps(CONTACT))
    code, out, err = await dee(config, "start", str(plan_file), "--contact", str(contact_file))
    assert (code, out) == (1, "")
    assert err.strip() == (
        "error: contact c-erased: erased; no run starts for it until it is enrolled again "
        "(dee contact enroll c-erased)"
    )
    code, _out, err = await dee(config, "contact", "enroll", CONTACT["id"])
    assert code == 0, err
    again = await engine.execute(one_email("again"), contact=CONTACT, variables=VARS)
    assert (await _status(engine, again, {"COMPLETED"})).outcome == "sent"
    # The suppression survived the erasure as a pseudonym and still blocks the address,
    # spelled as the contact gives it.
    blocked = await engine.execute(one_email("blocked"), contact=CONTACT, variables=VARS)
    refused = await _status(engine, blocked, {"FAILED"})
    assert (
        refused.failure is not None and "suppressed for plan blocked" in refused.failure["reason"]
    )


async def test_erasing_twice_or_an_unknown_contact(engine: Engine, config: EngineConfig) -> None:
    code, out, err = await dee(config, "contact", "erase", "c-nobody")
    assert code == 1 and out == ""
    assert err.strip() == (
        "error: contact c-nobody: unknown in tenant default (no runs, keys, consent or "
        "suppression records): nothing to erase"
    )
    run = await engine.execute(one_email(), contact=CONTACT, variables=VARS)
    await _status(engine, run, {"COMPLETED"})
    bad_key = {"DEE_PRIVACY_MASTER_KEY": "not a key"}
    code, out, err = await dee(config, "contact", "erase", CONTACT["id"], extra=bad_key)
    assert (code, out) == (1, "")
    assert err.strip() == "error: privacy.masterKey: not base64url key bytes"
    first, second = (
        await dee(config, "contact", "erase", CONTACT["id"]),
        await dee(config, "contact", "erase", CONTACT["id"], "--json"),
    )
    assert first[0] == 0 and second[0] == 0, (first, second)
    assert json.loads(second[1])["already"] is True
    async with engine.database.engine.connect() as conn:
        table = AuditEntry.__table__
        chain = select(table.c.action).where(table.c.run_id == erasure_chain("default"))
        assert (await conn.execute(chain)).scalars().all() == ["erased"]
    code, out, err = await dee(config, "audit", "verify", "--all")
    assert code == 0, err


async def test_an_entry_inserted_into_the_erasure_chain_is_never_signed_over(
    engine: Engine, config: EngineConfig
) -> None:
    # The application role may INSERT audit entries: one planted as the erasure chain's
    # first entry must not be chained onto, or the next erasure's signed checkpoint
    # would vouch for it.
    chain_id = erasure_chain("default")
    planted = TraceEntry(0, "contact", "erased", "erased", {"contactId": "c-invented"})
    await AuditStore(engine.database).append(chain(chain_id, [planted], start_seq=1))
    await engine.policies.grant_consent(CONTACT["id"], "email", source="form", wording_version="1")
    code, out, err = await dee(config, "contact", "erase", CONTACT["id"])
    assert (code, out) == (1, "")
    assert f"the chain {chain_id} does not verify, so nothing is chained onto it" in err, err
    async with engine.database.engine.connect() as conn:
        table = AuditEntry.__table__
        stored = select(table.c.seq).where(table.c.run_id == chain_id)
        assert (await conn.execute(stored)).scalars().all() == [1]  # only the planted one
    code, public_key, err = await dee(config, "audit", "public-key")
    assert code == 0, err
    key_file = config.data_dir / "audit.pub"
    key_file.write_text(public_key)
    code, out, err = await dee(config, "audit", "verify", chain_id, "--public-key", str(key_file))
    assert code == 1 and f"run {chain_id}: entry seq 1" in out + err, (out, err)


class _HeldRecords(RunStore):
    """The real run store, holding each new row until ``release``: the moment between
    a run's start in Temporal and its row, where an erasure cannot see the run."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.reached, self.release = asyncio.Event(), asyncio.Event()

    async def create(self, record: RunRecord) -> None:
        self.reached.set()
        await self.release.wait()
        await super().create(record)


async def test_a_run_started_while_its_contact_is_erased_is_withdrawn(
    engine: Engine, config: EngineConfig
) -> None:
    # No search attributes: the erasure cannot find the started run by them either.
    unsearchable = config.model_copy(
        update={"temporal": config.temporal.model_copy(update={"search_attributes": False})}
    )
    held = _HeldRecords(engine.database)
    starter = RunStarter(unsearchable, engine.client, engine.plans, held, engine.reader)
    await engine.policies.grant_consent(CONTACT["id"], "email", source="form", wording_version="1")
    later = datetime.now(UTC) + timedelta(hours=1)  # a delayed start: no task runs yet
    plan, key = one_email(), f"race-{uuid.uuid4().hex}"
    starting = asyncio.create_task(
        starter.execute(plan, contact=CONTACT, variables=VARS, start_at=later, idempotency_key=key)
    )
    await held.reached.wait()
    started = run_id("default", plan.id, key)
    assert not await _gone(engine.client, started)  # in Temporal, not yet in the runs table
    erased = await ContactService(
        unsearchable, engine.client, engine.database, engine.runs, engine.operator
    ).erase(CONTACT["id"])
    assert erased.runs == ()  # the erasure saw no run: none was recorded yet
    held.release.set()
    with pytest.raises(EngineError, match="contact c-erased: erased"):
        await starting
    assert await _gone(engine.client, started)  # withdrawn: its history is deleted
