"""Vendor independence: the same plan, two provider pairs, only configuration changed.

Pair A is SMTP (a real aiosmtpd server) + Twilio (SDK against a local stand-in);
pair B is Postmark + Vonage (stand-ins of their REST APIs). The runs' traces must be
identical in every decision field: tick, step, action, outcome and detail, except
the two keys that name the provider's side of a send, ``provider`` and
``providerMessageId`` (the SMTP Message-ID, Postmark's MessageID, Twilio's call SID,
Vonage's call uuid). Those are what a provider *is*; everything the engine decided
is the same. The hash chain differs only through those keys (and the run id).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import ChannelsConfig, EngineConfig, PoliciesConfig, TemporalConfig
from dee.engine import Engine
from dee.errors import EngineError
from dee.worker import worker_for
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.channels.standins import postmark_api, twilio_api, vonage_api
from tests.integration.channels.standins.postmark_api import PostmarkStandIn, running_postmark
from tests.integration.channels.standins.twilio_api import TwilioStandIn, running_twilio
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.channels.standins.vonage_api import VonageStandIn, running_vonage
from tests.integration.channels.standins.vonage_events import EventScript
from tests.integration.mailsink import SmtpServer

PROVIDER_KEYS = frozenset({"provider", "providerMessageId"})
CONTACT = {
    "id": "c-ada",
    "email": "ada@example.org",
    "phone": "+442071838750",
    "first_name": "Ada",
    "company": "Analytical",
}
VARS = {"product": "DEE", "sender_name": "Grace"}
HOOKS = "https://hooks.example.com"


def _plan() -> ExecutionPlan:
    return ExecutionPlan(
        id="email-then-call",
        version=1,
        name="Email then call",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="intro", template_id="tmpl_intro", subject="About {{ product }}"),
            steps.send_voice(
                id="call", script_id="script_follow_up", caller_id="+15551234567",
                max_duration={"minutes": 2},
                voicemail={"detect": True, "message_id": "vm_follow_up"},
            ),
            steps.end(id="done", outcome="contacted"),
        ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def standins() -> Iterator[tuple[PostmarkStandIn, TwilioStandIn, VonageStandIn]]:
    with running_postmark() as pm, running_twilio() as tw, running_vonage() as vo:
        # The sends are compared here, not the callbacks; hooks.example.com is not ours.
        tw.script = CallScript(post_callbacks=False)
        vo.script = EventScript(post_events=False)
        yield pm, tw, vo


def _pair_a(base: EngineConfig, twilio: TwilioStandIn) -> dict[str, Any]:
    email = base.channels.email.model_dump()
    voice = {
        "provider": "twilio",
        "twilio_account_sid": twilio_api.ACCOUNT_SID,
        "twilio_auth_token": twilio_api.AUTH_TOKEN,
        "twilio_base_url": twilio.url,
    }
    return {"email": email, "voice": voice}


def _pair_b(base: EngineConfig, postmark: PostmarkStandIn, vonage: VonageStandIn) -> dict[str, Any]:
    email = {
        **base.channels.email.model_dump(),
        "provider": "postmark",
        "postmark_server_token": postmark_api.TOKEN,
        "postmark_base_url": postmark.url,
    }
    voice = {
        "provider": "vonage",
        "vonage_application_id": vonage_api.APPLICATION_ID,
        "vonage_private_key": vonage_api.PRIVATE_KEY_PEM,
        "vonage_base_url": vonage.url,
    }
    return {"email": email, "voice": voice}


@asynccontextmanager
async def _engine(
    env: WorkflowEnvironment, base: EngineConfig, tmp: Path, channels: dict[str, Any]
) -> AsyncIterator[Engine]:
    config = base.model_copy(
        update={
            "database": f"sqlite+aiosqlite:///{tmp / f'{uuid.uuid4().hex}.db'}",
            "temporal": TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
            "channels": ChannelsConfig.model_validate(channels),
            "webhooks": base.webhooks.model_copy(update={"public_url": HOOKS}),
            # Consent and calling hours are the gate's business, tested elsewhere; here
            # they would only make the outcome depend on the wall clock.
            "policies": PoliciesConfig(
                consent={"email": "opt-out", "voice": "opt-out"}, hours={"voice": None}
            ),
        }
    )
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            yield engine
    finally:
        await engine.close()


async def _run(env: WorkflowEnvironment, engine: Engine) -> list[dict[str, Any]]:
    run = await engine.execute(_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=1))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "contacted"), final.failure
    return [
        {
            "tick": e.tick,
            "stepId": e.step_id,
            "action": e.action,
            "outcome": e.outcome,
            "detail": e.detail,
        }
        for e in await engine.get_timeline(run.run_id)
    ]


def _decisions(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**e, "detail": {k: v for k, v in e["detail"].items() if k not in PROVIDER_KEYS}}
        for e in trace
    ]


async def test_the_same_plan_on_two_provider_pairs_gives_the_same_trace(
    env: WorkflowEnvironment,
    config: EngineConfig,
    mail: SmtpServer,
    tmp_path: Path,
    standins: tuple[PostmarkStandIn, TwilioStandIn, VonageStandIn],
) -> None:
    postmark, twilio, vonage = standins
    async with _engine(env, config, tmp_path, _pair_a(config, twilio)) as engine:
        trace_a = await _run(env, engine)
    async with _engine(env, config, tmp_path, _pair_b(config, postmark, vonage)) as engine:
        trace_b = await _run(env, engine)

    assert _decisions(trace_a) == _decisions(trace_b)
    sends_a = {e["stepId"]: e["detail"] for e in trace_a if e["action"].startswith("send_")}
    sends_b = {e["stepId"]: e["detail"] for e in trace_b if e["action"].startswith("send_")}
    assert [sends_a["intro"]["provider"], sends_a["call"]["provider"]] == ["smtp", "twilio"]
    assert [sends_b["intro"]["provider"], sends_b["call"]["provider"]] == ["postmark", "vonage"]

    # Each provider really received the send, rendered from the same templates.
    [smtp_message] = mail.handler.received
    assert sends_a["intro"]["providerMessageId"] in smtp_message.original_content.decode()
    [postmark_body] = postmark.sent
    assert postmark_body["Subject"] == "About DEE"
    assert "Hi Ada," in postmark_body["TextBody"]
    [twilio_form] = twilio.calls
    assert twilio_form["To"] == [CONTACT["phone"]]
    assert twilio_form["StatusCallback"][0].startswith(f"{HOOKS}/webhooks/voice/twilio/")
    assert "following up on my email about DEE" in twilio_form["Url"][0].replace("+", " ")
    [vonage_body] = vonage.calls
    assert vonage_body["ncco"][0]["text"].startswith("Hello Ada, this is Grace")
    assert vonage_body["event_url"][0].startswith(f"{HOOKS}/webhooks/voice/vonage/")


async def test_scripts_and_voicemail_messages_are_checked_when_a_run_is_created(
    engine: Engine,
) -> None:
    plan = ExecutionPlan(
        id="missing-content",
        version=1,
        name="Missing content",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_voice(
                id="call", script_id="script_nowhere", caller_id="+15551234567",
                max_duration={"minutes": 2},
                voicemail={"detect": True, "message_id": "vm_nowhere"},
            ),
            steps.end(id="done", outcome="called"),
        ),
    )  # fmt: skip
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact=CONTACT, variables=VARS)
    text = "\n".join(err.value.lines)
    for needle in ("missing-content", "call", "scriptId", "script_nowhere"):
        assert needle in text
    assert "voicemail.messageId" in text and "vm_nowhere" in text
    assert await engine.list_runs() == []
