"""A real run deferred by a compliance rule, on the time-skipping server: the worker as
``dee worker`` builds it (the real policy activity and gate on a SQLite database), the
Twilio stand-in placing the call and posting its status callbacks to the receiver.

Seven calls about the run's debt were imported into the ledger from a prior dialer, the
oldest leaving Reg F's 7-day window at noon in the contact's zone: the call is deferred
to exactly that instant, the audit chain (verified) records the deferral with the
deciding rule, the rules version and the next permitted instant; the server then fires
the timer and the call is placed once, at that instant, and the ledger holds it with
its debt. A call to a Florida number at 20:30 local waits likewise for 08:00 the next
morning (Florida's window).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from adapters.policy.ledger import LedgerRow, import_attempts, read_attempts
from adapters.policy.rules.model import Attempt
from dee.engine import Engine
from interpreter import parse_plan
from tests.integration.channels.standins.twilio_api import TwilioStandIn
from tests.integration.webhooks.conftest import (  # the receiver's fixtures, reused
    Receiver,
    config,
    engine,
    port,
    receiver,
    twilio,
)
from tests.integration.webhooks.helpers import CONTACT, VARS

__all__ = ["config", "engine", "port", "receiver", "twilio"]  # fixtures, used by name

NEW_YORK = ZoneInfo("America/New_York")
DEBT = "D-42"
PLAN: dict[str, Any] = {
    "id": "collect",
    "version": 1,
    "name": "Collections call",
    "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
    "compliance": {"presets": ["regf"], "debtRef": "vars.debt"},
    "steps": [
        {
            "type": "sendVoice",
            "id": "call",
            "scriptId": "script_follow_up",
            "callerId": "+15551234567",
            "maxDuration": {"minutes": 5},
        },
        {"type": "end", "id": "done", "outcome": "called"},
    ],
}


def _next_noon(after: datetime) -> datetime:
    """The first noon in New York later than ``after``, in UTC."""
    day = after.astimezone(NEW_YORK).date()
    while True:
        noon = datetime.combine(day, time(12), tzinfo=NEW_YORK).astimezone(UTC)
        if noon > after:
            return noon
        day += timedelta(days=1)


async def test_a_call_deferred_by_reg_f_is_recorded_and_placed_at_the_next_permitted_instant(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn, receiver: Receiver
) -> None:
    now = await env.get_current_time()
    permitted = _next_noon(now + timedelta(hours=1))
    # Seven calls about the debt in the last week, the oldest leaving the window at noon.
    earlier = [permitted - timedelta(days=7) + timedelta(hours=h) for h in range(7)]
    assert max(earlier) < now
    rows = [
        LedgerRow(CONTACT["id"], Attempt("voice", at, "no_answer", DEBT, source="import"))
        for at in earlier
    ]
    assert (await import_attempts(engine.database, engine.config.tenant, rows)).added == 7
    await engine.policies.grant_consent(CONTACT["id"], "voice", source="form", wording_version="v1")
    contact = {**CONTACT, "timezone": "America/New_York"}

    run = await engine.execute(
        parse_plan(PLAN, source="test"), contact=contact, variables={**VARS, "debt": DEBT}
    )
    await env.sleep(timedelta(minutes=1))
    waiting = await engine.get_run(run.run_id)
    assert (waiting.status, waiting.current_step) == ("WAITING", "call")
    assert twilio.calls == []
    timeline = await engine.get_timeline(run.run_id)
    [deferred] = [e for e in timeline if e.action == "policy_check"]
    assert (deferred.outcome, deferred.detail["policy"]) == ("deferred", "compliance")
    rule = "regf.attempts_7_in_7"
    assert deferred.detail["reason"].startswith(f"{rule}: 7 calls about the debt already")
    proof = deferred.detail["compliance"]
    assert (proof["decision"], proof["rule"]) == ("defer", rule)
    # The plan's preset joins the worker's own (the receiver's bulk-sender presets).
    assert proof["presets"] == ["can-spam", "gmail-bulk", "regf"]
    assert proof["until"] == permitted.isoformat()
    assert proof["rulesVersion"].startswith("2026-12:")
    by_rule = {r["rule"]: r for r in proof["rules"]}
    assert by_rule[rule]["detail"]["debtRef"] == DEBT
    assert by_rule[rule]["detail"]["counted"] == 7
    # The run's clock counts whole seconds from its start, a moment after ``now``.
    until_tick = deferred.detail["untilTick"]
    assert abs(now + timedelta(seconds=until_tick) - permitted) < timedelta(minutes=1)
    assert (await engine.audit.verify(run.run_id)).ok

    # Not a second early: just before the instant the call still waits.
    await env.sleep(permitted - await env.get_current_time() - timedelta(minutes=1))
    assert twilio.calls == []
    await env.sleep(timedelta(minutes=10))
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    await env.sleep(timedelta(hours=1))

    assert len(twilio.calls) == 1
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "called")
    timeline = await engine.get_timeline(run.run_id)
    checks = [e for e in timeline if e.action == "policy_check"]
    assert [c.outcome for c in checks] == ["deferred", "allowed"]
    assert checks[1].tick >= until_tick
    assert checks[1].detail["compliance"]["decision"] == "allow"
    assert checks[1].detail["compliance"]["rulesVersion"] == proof["rulesVersion"]
    [placed] = [e for e in timeline if e.action == "send_voice"]
    assert placed.tick >= until_tick
    assert (await engine.audit.verify(run.run_id)).ok

    async with engine.database.snapshot() as conn:
        attempts = await read_attempts(
            conn, engine.config.tenant, CONTACT["id"], permitted - timedelta(days=30)
        )
    [call] = [a for a in attempts if a.source == "run"]
    assert (call.channel, call.debt_ref) == ("voice", DEBT)
    assert permitted <= call.at < permitted + timedelta(minutes=1)
    assert sorted(a.at for a in attempts if a.source == "import") == earlier


async def test_a_call_to_florida_at_20_30_waits_for_08_00_local(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn, receiver: Receiver
) -> None:
    # A Miami number: Florida by its area code, New York's zone. Skip to 20:30 there.
    contact = {**CONTACT, "id": "c-fl", "phone": "+13055550123", "timezone": "America/New_York"}
    now = await env.get_current_time()
    day = _next_noon(now).astimezone(NEW_YORK).date()
    evening = datetime.combine(day, time(20, 30), tzinfo=NEW_YORK).astimezone(UTC)
    permitted = datetime.combine(day + timedelta(days=1), time(8), tzinfo=NEW_YORK)
    permitted = permitted.astimezone(UTC)
    await env.sleep(evening - now)
    await engine.policies.grant_consent("c-fl", "voice", source="form", wording_version="v1")
    plan = {**PLAN, "compliance": {"presets": ["florida"]}}

    run = await engine.execute(parse_plan(plan, source="test"), contact=contact, variables=VARS)
    await env.sleep(timedelta(minutes=1))
    timeline = await engine.get_timeline(run.run_id)
    [deferred] = [e for e in timeline if e.action == "policy_check"]
    assert (deferred.outcome, deferred.detail["policy"]) == ("deferred", "compliance")
    proof = deferred.detail["compliance"]
    assert (proof["rule"], proof["until"]) == ("florida.calling_window", permitted.isoformat())
    assert proof["location"]["states"]["phone"] == ["FL"]
    assert twilio.calls == []
    assert (await engine.audit.verify(run.run_id)).ok

    await env.sleep(permitted - await env.get_current_time() - timedelta(minutes=1))
    assert twilio.calls == []
    await env.sleep(timedelta(minutes=10))
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    await env.sleep(timedelta(hours=1))
    assert len(twilio.calls) == 1
    checks = [e for e in await engine.get_timeline(run.run_id) if e.action == "policy_check"]
    assert [c.outcome for c in checks] == ["deferred", "allowed"]
    assert checks[1].tick >= deferred.detail["untilTick"]
    assert (await engine.audit.verify(run.run_id)).ok
