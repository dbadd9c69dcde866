"""The policy gate inside real runs: exact daily limits, budgets, suppression, consent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from dee.config import ContactCapConfig, EngineConfig, PoliciesConfig
from dee.engine import Engine
from dee.worker import worker_for
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email

VARS = {"product": "DEE", "sender_name": "Sam"}


def _contact(i: int) -> dict[str, str]:
    return {"id": f"c-{i}", "email": f"c{i}@example.com", "first_name": "C", "company": "X"}


async def test_concurrent_runs_against_a_daily_limit_of_k_send_exactly_k(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    await engine.policies.set_daily_limit("email", 3)
    runs = await asyncio.gather(
        *(engine.execute(one_email(), contact=_contact(i), variables=VARS) for i in range(8))
    )
    await env.sleep(timedelta(minutes=5))
    finals = [await engine.get_run(r.run_id) for r in runs]
    statuses = sorted(f.status for f in finals)
    assert statuses == ["COMPLETED"] * 3 + ["FAILED"] * 5
    assert len(mail.received) == 3
    for failed in (f for f in finals if f.status == "FAILED"):
        assert failed.failure is not None and "daily_limit" in failed.failure["reason"]


async def test_a_suppressed_contact_is_denied_before_anything_is_sent(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    await engine.policies.suppress("c1@example.com", reason="complaint")
    run = await engine.execute(one_email(), contact=_contact(1), variables=VARS)
    await env.sleep(timedelta(minutes=1))
    final = await engine.get_run(run.run_id)
    assert final.status == "FAILED" and final.failure is not None
    assert "suppression" in final.failure["reason"]
    assert mail.received == []
    [entry] = [e for e in await engine.get_timeline(run.run_id) if e.action == "policy_check"]
    assert entry.outcome == "denied" and entry.detail["policy"] == "suppression"


async def test_the_budget_is_reserved_before_and_settled_after_each_send(
    env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer
) -> None:
    email = config.channels.email.model_copy(update={"cost_per_email": Decimal("0.10")})
    config = config.model_copy(
        update={"channels": config.channels.model_copy(update={"email": email})}
    )
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            today = (await env.get_current_time()).date()
            await engine.policies.admin.set_budget(
                "default", "default", today - timedelta(days=1), today + timedelta(days=30),
                "USD", Decimal("0.25"),
            )  # fmt: skip
            runs = [
                await engine.execute(one_email(), contact=_contact(i), variables=VARS)
                for i in range(3)
            ]
            await env.sleep(timedelta(minutes=5))
            finals = [await engine.get_run(r.run_id) for r in runs]
            # The runs check the gate concurrently: any one of them may be the refused one.
            assert sorted(f.status for f in finals) == ["COMPLETED", "COMPLETED", "FAILED"]
            [refused] = [f for f in finals if f.status == "FAILED"]
            assert refused.failure is not None and "budget" in refused.failure["reason"]
            status = await engine.policies.admin.get_budget("default", "default", today)
            assert status is not None
            assert (status.spent, status.reserved) == (Decimal("0.20"), Decimal("0"))
            assert len(mail.received) == 2
    finally:
        await engine.close()


@asynccontextmanager
async def _engine_with(
    env: WorkflowEnvironment, config: EngineConfig, policies: PoliciesConfig
) -> AsyncIterator[Engine]:
    config = config.model_copy(update={"policies": policies})
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            yield engine
    finally:
        await engine.close()


def _one_call() -> ExecutionPlan:
    return ExecutionPlan(
        id="one-call",
        version=1,
        name="One call",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_voice(
                id="call", script_id="script_follow_up", caller_id="+15551234567",
                max_duration={"minutes": 2},
            ),
            steps.end(id="done", outcome="called"),
        ),
    )  # fmt: skip


async def test_voice_needs_recorded_consent_and_the_record_is_the_proof(
    env: WorkflowEnvironment, config: EngineConfig
) -> None:
    # No calling window here: this test is about consent, at any time of day.
    async with _engine_with(env, config, PoliciesConfig(hours={"voice": None})) as engine:
        contact = {**_contact(7), "phone": "+15555550107"}
        denied = await engine.execute(_one_call(), contact=contact, variables=VARS)
        await env.sleep(timedelta(minutes=1))
        first = await engine.get_run(denied.run_id)
        assert first.failure is not None and "consent" in first.failure["reason"]
        await engine.policies.grant_consent(
            "c-7", "voice", source="signup-form", wording_version="v3"
        )
        await engine.retry_run(denied.run_id, by="ops", reason="consent recorded")
        await env.sleep(timedelta(minutes=1))
        final = await engine.get_run(denied.run_id)
        timeline = await engine.get_timeline(denied.run_id)
        checks = [e for e in timeline if e.action == "policy_check"]
        assert [c.outcome for c in checks] == ["denied", "allowed"]
        record = checks[1].detail["consent"]["record"]
        assert (record["source"], record["wording_version"]) == ("signup-form", "v3")
        send = next(e for e in timeline if e.action == "send_voice")
        assert send.outcome == "failed" and "no voice channel configured" in send.detail["reason"]
        assert final.status == "FAILED"


async def test_outside_calling_hours_the_call_is_deferred_to_the_next_opening(
    env: WorkflowEnvironment, config: EngineConfig
) -> None:
    now = await env.get_current_time()
    opening = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    if opening.hour == 23:  # keep start < end within one day
        opening += timedelta(hours=1)
    window = (opening.strftime("%H:%M"), (opening + timedelta(hours=1)).strftime("%H:%M"))
    policies = PoliciesConfig(hours={"voice": window})
    async with _engine_with(env, config, policies) as engine:
        await engine.policies.grant_consent("c-8", "voice", source="form", wording_version="v1")
        contact = {**_contact(8), "phone": "+15555550108", "timezone": "UTC"}
        run = await engine.execute(_one_call(), contact=contact, variables=VARS)
        await env.sleep(timedelta(minutes=1))
        waiting = await engine.get_run(run.run_id)
        assert waiting.status == "WAITING" and waiting.current_step == "call"
        await env.sleep(timedelta(hours=4))
        timeline = await engine.get_timeline(run.run_id)
        decisions = [(e.outcome, e.tick) for e in timeline if e.action == "policy_check"]
        deferred_until = next(e for e in timeline if e.outcome == "deferred").detail["untilTick"]
        assert [d[0] for d in decisions] == ["deferred", "allowed"]
        assert decisions[1][1] >= deferred_until > decisions[0][1]
        opening_tick = int((opening - now).total_seconds())
        assert abs(deferred_until - opening_tick) <= 60


def _daily_nudge() -> ExecutionPlan:
    """A loop that sends once a day until a reply: valid (a day's wait, a real exit)."""
    return ExecutionPlan(
        id="daily-nudge",
        version=1,
        name="Daily nudge",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="nudge", template_id="tmpl_intro", subject="Hi {{ product }}"),
            steps.wait(id="pause", duration={"days": 1}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'events.hasReply("nudge")', "goto": "done"},
                    {"when": "default", "goto": "nudge"},
                ],
            ),
            steps.end(id="done", outcome="replied"),
        ),
    )


async def test_the_per_contact_cap_denies_the_send_after_the_cap(
    env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer
) -> None:
    # Issue 18, item 13: a loop the validator accepts still cannot send one contact more
    # than the cap; the (N+1)th send is denied and the run fails like on any denial.
    policies = PoliciesConfig(contact_cap=ContactCapConfig(sends=3, days=7))
    async with _engine_with(env, config, policies) as engine:
        run = await engine.execute(_daily_nudge(), contact=_contact(1), variables=VARS)
        await env.sleep(timedelta(days=4))
        final = await engine.get_run(run.run_id)
        assert final.status == "FAILED" and final.failure is not None
        assert final.failure["reason"].startswith("policy_denied(contact_cap): contact send cap")
        assert len(mail.received) == 3
        checks = [e for e in await engine.get_timeline(run.run_id) if e.action == "policy_check"]
        assert [c.outcome for c in checks] == ["allowed"] * 3 + ["denied"]
        assert checks[-1].detail["policy"] == "contact_cap"
        assert checks[-1].detail["contact_cap"] == {
            "cap": {"sends": 3, "days": 7},
            "earlier": 3,
            "replay": False,
        }
