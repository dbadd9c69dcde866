"""A wave of FAILED runs, as an SMTP outage leaves them, for the bulk-action tests and
``bench.bulk_actions``.

The mail sink refuses every recipient (550) while ``refusing`` is set, so each run's
first send is rejected and the run goes to FAILED at its ``mail`` step; clear it (the
relay is fixed) and a retried run sends and parks on its five-hour wait, so a run
retried once is no longer failed and a second retry is refused by the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.devserver import DevServer, free_port
from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from tests.integration.runtime.plans import one_email
from tests.integration.temporal_env import CODEC
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]
VARS = {"product": "DEE", "sender_name": "Sam"}


class OutageHandler:
    """Refuses every recipient while ``refusing``; afterwards accepts and counts."""

    def __init__(self) -> None:
        self.refusing = True
        self.received: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refusing:
            return "550 relay down for maintenance"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class OutageSink:
    host: str
    port: int
    handler: OutageHandler = field(repr=False)


@contextmanager
def outage_sink() -> Iterator[OutageSink]:
    handler = OutageHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield OutageSink("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


def wave_config(server: DevServer, sink: OutageSink, database: str) -> EngineConfig:
    return EngineConfig(
        codec=CODEC,
        database=database,
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=sink.host, port=sink.port)),
    )


def settings_file(config: EngineConfig, path: Path) -> Path:
    """A settings file for ``dee`` on ``config``'s database, server and queue."""
    path.write_text(
        yaml.safe_dump(
            {
                "database": config.database_url,
                "temporal": {
                    "address": config.temporal.address,
                    "taskQueue": config.temporal.task_queue,
                },
                "codec": {"keys": list(config.codec.keys)},
                "templatesDir": str(config.templates_dir),
            }
        )
    )
    return path


async def failed_wave(
    engine: Engine,
    count: int,
    plan_id: str,
    *,
    tenant: str | None = None,
    timeout: float = 120,
    first: int = 0,
) -> list[str]:
    """Start ``count`` runs of a one-email plan (contacts ``first`` onwards, distinct) and
    wait for every one to be FAILED at its send; returns their run ids."""
    people = [
        {
            "id": f"{plan_id}-{i}",
            "email": f"{plan_id}-{i}@example.com",
            "first_name": "W",
            "company": "X",
        }
        for i in range(first, first + count)
    ]
    outcomes = await engine.execute_many(
        one_email(plan_id, wait_hours=5), people, variables=VARS, tenant=tenant
    )
    errors = [o for o in outcomes if isinstance(o, EngineError)]
    assert errors == [], errors
    ids = [o.run_id for o in outcomes if isinstance(o, ExecutionRun)]

    async def failed() -> set[str]:  # one query, not one per run
        rows = await engine.runs.list(tenant=tenant, status="FAILED", limit=None)
        return {r.run_id for r in rows}

    await until(
        failed,
        lambda found: found >= set(ids),
        what=f"{count} runs of {plan_id} failing at their send",
        timeout=timeout,
        every=0.2,
    )
    return ids
