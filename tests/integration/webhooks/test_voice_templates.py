"""A call whose script cannot be rendered fails as a template failure, never as a send
whose outcome is unknown."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from tests.integration.channels.standins.twilio_api import TwilioStandIn
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan


async def test_a_variable_named_contact_fails_the_call_as_a_template_failure(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn
) -> None:
    # Found while writing the fuzz harness (bench/fuzzing): the voice send built its
    # template context outside its template-failure handling, so the collision escaped
    # the activity, which was then retried without end; the email send reports it.
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables={**VARS, "contact": "x"})
    await env.sleep(timedelta(minutes=5))
    final = await engine.get_run(run.run_id)
    assert final.status == "FAILED", final
    assert final.failure is not None
    assert final.failure["reason"] == (
        "template_render_failed: run variable 'contact' collides with the contact mapping"
    )
    assert twilio.calls == []
