"""Helpers shared by the policy tests: requests to the gate, counts read back."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.policy import GateRequest
from adapters.policy.tables import CONTACT_SENDS, COUNTERS, SEND_RESERVATIONS
from adapters.storage import Database

# A Wednesday, 15:00 UTC: 11:00 in New York, 17:00 in Berlin (inside default voice hours).
NOON = datetime(2025, 6, 11, 15, 0, tzinfo=UTC)
NOON_DAY = NOON.date()


def send(
    *,
    channel: str = "email",
    run_id: str | None = None,
    step_id: str = "send-1",
    visit: int = 0,
    tenant: str = "acme",
    plan_id: str = "plan-1",
    at: datetime = NOON,
    max_duration_seconds: int = 0,
    **contact: Any,
) -> GateRequest:
    """A gate request; ``contact`` fields default to id ``c1`` in New York."""
    person = {"id": "c1", "email": "ann@example.com", "timezone": "America/New_York"}
    person.update(contact)
    if channel == "voice" and not max_duration_seconds:
        max_duration_seconds = 120
    return GateRequest(
        tenant=tenant,
        run_id=run_id or f"run-{uuid.uuid4().hex[:10]}",
        plan_id=plan_id,
        step_id=step_id,
        visit=visit,
        channel=channel,  # type: ignore[arg-type]
        contact={k: v for k, v in person.items() if v is not None},
        at=at,
        max_duration_seconds=max_duration_seconds,
    )


async def counted(
    database: Database, *, tenant: str = "acme", channel: str = "email", day: date = NOON_DAY
) -> int:
    """The send counter of a tenant, channel and UTC day (0 when absent)."""
    c = COUNTERS.c
    async with database.snapshot() as conn:
        value = await conn.scalar(
            select(c.count).where(c.tenant == tenant, c.channel == channel, c.day == day)
        )
    return int(value or 0)


async def reservations(database: Database) -> int:
    """How many sends hold a counter reservation."""
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(SEND_RESERVATIONS)) or 0)


ROOT = Path(__file__).resolve().parents[3]


def run_dee(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dee ARGS`` as a user would (a subprocess); a traceback is always a failure."""
    result = subprocess.run(
        [sys.executable, "-m", "dee", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


async def ledger_rows(database: Database) -> int:
    """How many attempts the contact ledger holds (every tenant and contact)."""
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(CONTACT_SENDS)) or 0)
