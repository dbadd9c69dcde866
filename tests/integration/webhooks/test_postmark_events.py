"""Postmark end to end: the send carries ``Metadata.dee_ref_*``, Postmark's bounce and
complaint webhooks find the run through it, and the address is suppressed so the
policy gate denies the next email to it. A re-delivered event is a duplicate."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.channels.postmark import ref_from_metadata
from adapters.tracking import Ref, verify
from dee.config import EngineConfig
from dee.engine import Engine
from tests.integration.channels.standins import postmark_api
from tests.integration.channels.standins.postmark_api import PostmarkStandIn, running_postmark
from tests.integration.webhooks.conftest import PASSWORD, SECRET, USER, Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, two_emails

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
EVENTS = "/webhooks/email/events/postmark"


@pytest.fixture(scope="module")
def postmark() -> Iterator[PostmarkStandIn]:
    with running_postmark() as standin:
        yield standin


@pytest.fixture
def config(config: EngineConfig, postmark: PostmarkStandIn) -> EngineConfig:
    postmark.sent.clear()
    email = config.channels.email.model_copy(
        update={
            "provider": "postmark",
            "postmark_server_token": postmark_api.TOKEN,
            "postmark_base_url": postmark.url,
        }
    )
    channels = config.channels.model_copy(update={"email": email})
    return config.model_copy(update={"channels": channels})


async def _sent_and_denied(
    engine: Engine, env: WorkflowEnvironment, postmark: PostmarkStandIn, run_id: str
) -> list[tuple[str, str]]:
    """After the wait: the run failed at the second email, which never reached Postmark."""
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert final.status == "FAILED" and final.current_step == "second"
    assert len(postmark.sent) == 1
    timeline = await engine.get_timeline(run_id)
    denied = [e for e in timeline if e.action == "policy_check" and e.step_id == "second"]
    assert [e.outcome for e in denied] == ["denied"]
    assert "suppressed on channel email" in str(denied[0].detail)
    return [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"]


async def test_a_hard_bounce_reaches_the_run_and_suppresses_the_address(
    engine: Engine, env: WorkflowEnvironment, postmark: PostmarkStandIn, receiver: Receiver
) -> None:
    run = await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [sent] = postmark.sent
    ref_token = ref_from_metadata(sent["Metadata"])
    assert ref_token is not None and len(sent["Metadata"]) > 1  # longer than one field
    assert {"Name": "X-DEE-Ref", "Value": ref_token} in sent["Headers"]
    assert verify(SECRET.encode(), "ref", ref_token) == Ref(run.run_id, "first", 1)
    bounce: dict[str, Any] = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Email": "Ada@Example.com",
        "BouncedAt": "2026-01-01T10:00:00Z",
        "Metadata": sent["Metadata"],
    }
    answer = await receiver.http.post(EVENTS, json=bounce, headers=AUTH)
    assert answer.status_code == 200, answer.text
    event_id = f"postmark:Bounce:{bounce['ID']}:"
    assert answer.json()["events"] == [{"id": event_id, "runs": [run.run_id], "duplicate": False}]
    # Postmark retrying (our answer lost, say): accepted again, the same event id.
    again = await receiver.http.post(EVENTS, json=bounce, headers=AUTH)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == [{"id": event_id, "runs": [run.run_id], "duplicate": True}]

    [entry] = await engine.policies.list_suppressions()  # one suppression, not two
    assert (entry.scope, entry.scope_key, entry.contact_key) == (
        "channel",
        "email",
        "ada@example.com",
    )
    assert entry.source == "postmark-hard-bounce"
    assert entry.reason.startswith("postmark Bounce HardBounce: The server was unable")
    events = await _sent_and_denied(engine, env, postmark, run.run_id)
    assert events == [("email.bounced", "ingested"), ("email.bounced", "duplicate")]
    bounced = next(e for e in await engine.get_timeline(run.run_id) if e.action == "event")
    assert bounced.step_id == "first"
    assert bounced.detail["data"]["suppressed"]["source"] == "postmark-hard-bounce"


async def test_a_spam_complaint_suppresses_but_a_soft_bounce_does_not(
    engine: Engine, env: WorkflowEnvironment, postmark: PostmarkStandIn, receiver: Receiver
) -> None:
    run = await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [sent] = postmark.sent
    soft = {
        "RecordType": "Bounce",
        "ID": 1,
        "Type": "SoftBounce",
        "Email": CONTACT["email"],
        "Metadata": sent["Metadata"],
    }
    assert (await receiver.http.post(EVENTS, json=soft, headers=AUTH)).status_code == 200
    assert await engine.policies.list_suppressions() == []
    complaint = {
        "RecordType": "SpamComplaint",
        "ID": 2,
        "Type": "SpamComplaint",
        "Email": CONTACT["email"],
        "MessageID": "00000000-0000-0000-0000-000000000002",
        "Metadata": sent["Metadata"],
    }
    assert (await receiver.http.post(EVENTS, json=complaint, headers=AUTH)).status_code == 200
    [entry] = await engine.policies.list_suppressions()
    assert entry.source == "postmark-spam-complaint" and entry.contact_key == "ada@example.com"
    events = await _sent_and_denied(engine, env, postmark, run.run_id)
    assert events == [("email.bounced", "ingested"), ("email.complained", "ingested")]


async def test_a_bounce_too_large_to_record_suppresses_nothing(
    engine: Engine, env: WorkflowEnvironment, postmark: PostmarkStandIn, receiver: Receiver
) -> None:
    # Found by the fuzz harness: the suppression was stored, then the event refused (413),
    # so the run never saw the bounce and Postmark, answered 413, stopped retrying.
    run = await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [sent] = postmark.sent
    bounce = {
        "RecordType": "Bounce",
        "ID": 7,
        "Type": "HardBounce",
        "Email": CONTACT["email"],
        "Description": "x" * 100_000,
        "Metadata": sent["Metadata"],
    }
    answer = await receiver.http.post(EVENTS, json=bounce, headers=AUTH)
    assert answer.status_code == 413, answer.text
    assert "event data larger than" in answer.json()["error"]
    assert await engine.policies.list_suppressions() == []
    assert [e for e in await engine.get_timeline(run.run_id) if e.action == "event"] == []
