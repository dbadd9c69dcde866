"""The ``suppression`` target: a suppressed mailbox or number, spelt another way.

``victim@example.com`` and ``+12125550100`` are suppressed (globally) in a real
SQLite database; each input is a contact whose address names the same mailbox or
number in another spelling. The property (issue 18, item 1): such a contact is never
allowed a send. It is refused when it starts (``Engine.execute``'s check), or its
policy request is refused (``PolicyInputError``), or the gate denies it on the
suppression. Allowed, or denied by a later policy only, is a violation.

Consent and hours are configured away (``opt-out``, no calling hours), so only the
suppression can stand between the contact and the send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.policy import GateRequest, PolicyAdmin, PolicyConfig, PolicyError, PolicyGate
from adapters.storage import Database, open_database
from bench.fuzzing.seeds import SUPPRESSED_EMAIL, SUPPRESSED_PHONE
from bench.fuzzing.targets import Context, refused
from bench.fuzzing.verdict import Verdict
from dee.errors import DeeError
from dee.runs import start_values

TENANT = "fuzz"
AT = datetime(2026, 1, 5, 15, tzinfo=UTC)


class PolicyWorld:
    """A migrated database with the two suppressions, on an event loop of its own."""

    def __init__(self, ctx: Context) -> None:
        self.loop = asyncio.new_event_loop()
        url = f"sqlite+aiosqlite:///{ctx.scratch / 'policy.db'}"
        self.database: Database = self.loop.run_until_complete(self._open(url))
        config = PolicyConfig(
            consent_modes={"email": "opt-out", "voice": "opt-out"}, hours={"voice": None}
        )
        self.gate = PolicyGate(self.database, config)

    @staticmethod
    async def _open(url: str) -> Database:
        database = await open_database(url)
        admin = PolicyAdmin(database)
        for key in (SUPPRESSED_EMAIL, SUPPRESSED_PHONE):
            await admin.suppress(TENANT, "global", "", key, "fuzz: suppressed", "fuzz")
        return database

    def close(self) -> None:
        self.loop.run_until_complete(self.database.dispose())
        self.loop.close()


def warm_policy(ctx: Context) -> None:
    ctx.extra("policy", lambda: PolicyWorld(ctx))


def run_suppression(case: Mapping[str, Any], ctx: Context) -> Verdict:
    world: PolicyWorld = ctx.extra("policy", lambda: PolicyWorld(ctx))
    field = "email" if case["channel"] == "email" else "phone"
    contact: dict[str, Any] = {"id": f"fz-{ctx.counter}", field: case["given"]}
    ctx.counter += 1
    try:
        start_values.check(contact, "contact")
        request = GateRequest(
            TENANT, f"run-{ctx.counter}", "plan", "send", 0, case["channel"], contact, AT, 60
        )
    except (DeeError, PolicyError) as exc:
        return refused(exc)
    decision = world.loop.run_until_complete(world.gate.evaluate(request))
    if decision.decision == "deny" and decision.policy == "suppression":
        return Verdict("refused", f"denied: {decision.reason}")
    return Verdict(
        "violation",
        f"{case['given']!a} (suppressed as {case['canonical']}) got {decision.decision}"
        f" by {decision.policy or 'every policy'}",
    )
