"""Whole runs on PostgreSQL with the engine and worker connected as the application role.

The schema is migrated by its owner; everything after that (plan registration, run
bookkeeping, the policy gate with its counters, contact cap and budget, the send
ledger, the Message-ID index, the generated webhook key, the audit chain with its
pending tail, operator actions and the policy admin) runs as ``<schema>_app``, which
holds only the grants of ``adapters.storage.roles``. A missing grant fails a step here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from adapters.privacy.scrub import scrub
from dee.config import (
    ChannelsConfig,
    EmailConfig,
    EngineConfig,
    PoliciesConfig,
    TemporalConfig,
)
from dee.engine import Engine
from dee.worker import worker_for
from interpreter import verify
from tests.integration.databases import empty_database_url, login_role, migrated, role_url
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.conftest import ROOT, _end_runs
from tests.interpreter.helpers import sales_plan

CONTACT = {"id": "c-ada", "email": "ada@example.com", "first_name": "Ada", "company": "Analytical"}
COLD = {**CONTACT, "id": "c-bob", "email": "bob@example.com", "first_name": "Bob"}
VARS = {"product": "DEE", "sender_name": "Grace"}


@pytest.fixture
async def app_engine(
    env: WorkflowEnvironment, mail: SmtpServer, tmp_path: Path
) -> AsyncIterator[tuple[Engine, str]]:
    async with (
        empty_database_url("postgresql", tmp_path, "dee_approle") as url,
        migrated(url) as owner,
    ):
        app_role = f"{owner.search_path}_app"
        await login_role(app_role)
        mail.handler.received.clear()
        config = EngineConfig(
            database=role_url(url, app_role),
            templates_dir=ROOT / "templates",
            temporal=TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
            channels=ChannelsConfig(
                email=EmailConfig(
                    host=mail.host,
                    port=mail.port,
                    sender="Sales <sales@example.com>",
                    cost_per_email=Decimal("0.01"),
                )
            ),
            policies=PoliciesConfig(daily_limits={"email": 100}),
        )
        engine = await Engine.connect(config, client=env.client)
        try:
            async with worker_for(config, env.client, database=engine.database) as worker, worker:
                yield engine, app_role
                await _end_runs(engine)
        finally:
            await engine.close()


async def test_whole_runs_need_nothing_beyond_the_application_grants(
    app_engine: tuple[Engine, str], env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    engine, app_role = app_engine
    async with engine.database.snapshot() as conn:
        assert await conn.scalar(text("SELECT current_user")) == app_role
    today = datetime.now(UTC).date()
    admin = engine.policies.admin
    await admin.set_budget(
        "default", "default", today, today + timedelta(days=30), "USD", Decimal(5)
    )
    await engine.policies.suppress("nobody@example.com", reason="test")
    await engine.policies.unsuppress("nobody@example.com")
    await engine.policies.set_daily_limit("voice", 3)

    replied = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    cold = await engine.execute(sales_plan(), contact=COLD, variables=VARS)
    await env.sleep(timedelta(hours=2))
    await engine.ingest_event(
        type="email.replied", contact_id="c-ada", step_id="intro-email", event_id="prov-1"
    )
    await env.sleep(timedelta(days=4))

    done = await engine.get_run(replied.run_id)
    assert (done.status, done.outcome) == ("COMPLETED", "replied")
    failed = await engine.get_run(cold.run_id)  # no voice consent: fails closed at the call
    assert failed.status == "FAILED" and failed.current_step == "follow-up-call"
    resolved = await engine.resolve_run(
        cold.run_id, resolution="end", target="no-call-consent", by="ops", reason="no consent"
    )
    assert resolved.status == "COMPLETED"
    await engine.policies.revoke_consent("c-bob", "email", source="reply-stop")
    for run_id in (replied.run_id, cold.run_id):
        timeline = await engine.get_timeline(run_id)
        assert verify([e.chained().as_dict() for e in timeline]) is None
    assert len(mail.received) == 3  # Ada's intro, Bob's intro and follow-up
    budget = await admin.get_budget("default", "default", today)
    assert budget is not None and budget.spent == Decimal("0.03")

    # An erasure's database part (the contact's key destroyed, its rows scrubbed, the
    # signed erasure entry) needs nothing beyond the grants either.
    privacy = engine.contacts.privacy
    await engine.policies.suppress(COLD["email"], reason="bounced")
    sealed = await privacy.keys.seal("default", "c-bob", "Re: your offer")  # Bob's key made
    assert await privacy.keys.erase("default", "c-bob")
    assert await privacy.keys.open("default", "c-bob", sealed) == "[erased]"
    report = await scrub(
        engine.database, privacy.pseudonyms, tenant="default", contact_id="c-bob",
        run_ids=[cold.run_id], contacts=[COLD],
    )  # fmt: skip
    assert report.suppressions_pseudonymised == 1
    async with engine.database.snapshot() as conn:
        left = await conn.scalar(text("SELECT count(*) FROM suppressions WHERE contact_key = :k"),
                                 {"k": COLD["email"]})  # fmt: skip
    assert left == 0
