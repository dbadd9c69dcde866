"""A call's outcome reaches the contact's ledger: the Twilio stand-in places the call and
posts its own signed status callbacks to the webhook receiver, the run takes the events,
and where the bookkeeper persists its audit entries the call's ledger row gets its
outcome (``answered``: a conversation, which Reg F's after-conversation rule reads)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.policy.ledger import read_attempts
from adapters.policy.rules.model import CONVERSATION
from dee.engine import Engine
from tests.integration.channels.standins.twilio_api import TwilioStandIn
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.webhooks.conftest import (  # the receiver's fixtures, reused
    Receiver,
    config,
    engine,
    port,
    receiver,
    twilio,
)
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan

__all__ = ["config", "engine", "port", "receiver", "twilio"]  # fixtures, used by name


@pytest.mark.parametrize(
    ("answered_by", "outcome", "run_outcome"),
    [("human", CONVERSATION, "talked"), ("machine_end_beep", "voicemail", "voicemail")],
)
async def test_the_calls_outcome_is_recorded_in_the_ledger(
    engine: Engine,
    env: WorkflowEnvironment,
    twilio: TwilioStandIn,
    receiver: Receiver,
    answered_by: str,
    outcome: str,
    run_outcome: str,
) -> None:
    twilio.script = CallScript(answered_by=answered_by)
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", run_outcome)

    async with engine.database.snapshot() as conn:
        [attempt] = await read_attempts(
            conn, engine.config.tenant, "c-ada", datetime(2000, 1, 1, tzinfo=UTC)
        )
    # The verdict ranks above the "completed" status that follows it: it is kept.
    assert (attempt.channel, attempt.outcome, attempt.source) == ("voice", outcome, "run")
    timeline = await engine.get_timeline(run.run_id)
    assert ("voice.completed", "ingested") in [
        (e.detail["type"], e.outcome) for e in timeline if e.action == "event"
    ]
