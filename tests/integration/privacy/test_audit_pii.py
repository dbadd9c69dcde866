"""No personal value of a contact reaches an audit entry's detail: real email and
voice runs, a reply posted to the receiver, an operator action, then every detail
in the database searched for every PII string of the contact."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from adapters.storage.schema import AuditEntry, AuditPending
from dee.engine import Engine
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.channels.standins.twilio_api import TwilioStandIn
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks.conftest import PASSWORD, USER, Receiver
from tests.integration.webhooks.helpers import VARS, call_plan, messages, tracked_plan

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
CONTACT = {
    "id": "c-lovelace",
    "email": "Augusta.Lovelace@Example.com",
    "first_name": "Augusta",
    "last_name": "Byron-King",
    "company": "Analytical Engines Ltd",
    "phone": "+15555550177",
}
REPLY_SUBJECT = "Re: confidential pricing question"
REPLY_TEXT = "Call me on my private line please"
PII = [
    "augusta.lovelace@example.com",
    "augusta",
    "byron-king",
    "analytical engines",
    "5555550177",
    "confidential pricing",
    "private line",
]


def suppressed_plan() -> ExecutionPlan:
    """One email, for a plan the contact's address is suppressed for."""
    return ExecutionPlan(
        id="suppressed",
        version=1,
        name="Suppressed",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="mail", template_id="tmpl_intro", subject="Hi"),
            steps.end(id="done", outcome="sent"),
        ),
    )


async def audit_text(engine: Engine) -> str:
    """Every audit detail (committed and pending) and outcome, as lower-case JSON."""
    lines = []
    async with engine.database.engine.connect() as conn:
        for table in (AuditEntry.__table__, AuditPending.__table__):
            rows = (await conn.execute(select(table.c.detail, table.c.outcome))).all()
            lines += [json.dumps([row.outcome, row.detail]) for row in rows]
    return "\n".join(lines).lower()


def leaks(text: str) -> list[str]:
    return [value for value in PII if value in text]


async def test_no_pii_of_the_contact_in_any_audit_detail(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    twilio: TwilioStandIn,
    receiver: Receiver,
) -> None:
    await engine.policies.grant_consent(
        CONTACT["id"], "voice", source="test-form", wording_version="v1"
    )
    emailed = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    called = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    # Another spelling of the address: the gate matches it, and says why without it.
    await engine.policies.suppress(
        "Augusta Lovelace <AUGUSTA.LOVELACE@example.COM>", reason="asked", scope="plan",
        scope_key="suppressed",
    )  # fmt: skip
    denied = await engine.execute(suppressed_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    original = str(message["Message-ID"])
    reply = {
        "From": "Augusta Lovelace <augusta.lovelace@example.com>",
        "Subject": REPLY_SUBJECT,
        "MessageID": "5a1b2c3d-0000-4000-8000-000000000001",
        "StrippedTextReply": REPLY_TEXT,
        "Headers": [
            {"Name": "Message-ID", "Value": "<reply-pii@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": original},
        ],
    }
    answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)
    assert answer.status_code == 200, answer.text
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    await env.sleep(timedelta(hours=2))
    for run in (emailed, called):
        assert (await engine.get_run(run.run_id)).status == "COMPLETED"
    refused = await engine.get_run(denied.run_id)
    assert refused.status == "FAILED" and refused.failure is not None
    assert "suppressed for plan suppressed" in refused.failure["reason"]
    text = await audit_text(engine)
    assert "email.replied" in text and "voice.completed" in text  # the events are there
    assert leaks(text) == [], text
