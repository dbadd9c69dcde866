"""Two tenants' engines, ``acme`` and ``globex``, on ONE database (the shared fixtures'
``db_url``: SQLite and a PostgreSQL schema), one worker and the shared time-skipping
server; each tenant has started one run for the same contact id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.engine import Engine
from dee.worker import worker_for
from tests.integration.databases import BACKENDS, empty_database_url
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.conftest import _end_runs as end_runs
from tests.integration.runtime.plans import one_email

ROOT = Path(__file__).resolve().parents[3]
CONTACT = {"id": "c-shared", "email": "pat@example.com", "first_name": "Pat", "company": "Co"}
VARS = {"product": "DEE", "sender_name": "Sam"}


@dataclass
class Tenants:
    acme: Engine
    globex: Engine
    acme_run: str
    globex_run: str
    db_url: str
    data_dir: Path


def tenant_config(
    db_url: str, tmp_path: Path, tenant: str, queue: str, mail: SmtpServer
) -> EngineConfig:
    return EngineConfig(
        database=db_url,
        data_dir=tmp_path / "data",
        tenant=tenant,
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=queue, search_attributes=False),
        channels=ChannelsConfig(
            email=EmailConfig(host=mail.host, port=mail.port, sender="Sales <sales@example.com>")
        ),
    )


@pytest.fixture(scope="module", params=BACKENDS)
async def tenants(
    request: pytest.FixtureRequest,
    env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    mail: SmtpServer,
) -> AsyncIterator[Tenants]:
    """Shared by the module's tests, per backend: the tests only add to what the two
    tenants hold, and each asserts on what it added (the run that starts one is last)."""
    tmp_path = tmp_path_factory.mktemp("tenants")
    queue = f"q-{uuid.uuid4()}"
    async with empty_database_url(request.param, tmp_path, "dee_tenants") as db_url:
        acme_cfg = tenant_config(db_url, tmp_path, "acme", queue, mail)
        acme = await Engine.connect(acme_cfg, client=env.client)
        globex = await Engine.connect(
            tenant_config(db_url, tmp_path, "globex", queue, mail), client=env.client
        )
        try:
            # One worker serves both: a run's tenant travels in its input.
            async with worker_for(acme_cfg, env.client, database=acme.database) as worker, worker:
                plan = one_email("tenant-plan", wait_hours=48)
                a = await acme.execute(plan, contact=CONTACT, variables=VARS)
                g = await globex.execute(plan, contact=CONTACT, variables=VARS)
                await env.sleep(timedelta(minutes=1))
                yield Tenants(acme, globex, a.run_id, g.run_id, db_url, tmp_path / "data")
                # A run left with work and no worker would stop the server skipping time.
                await end_runs(acme)
                await end_runs(globex)
        finally:
            await acme.close()
            await globex.close()
