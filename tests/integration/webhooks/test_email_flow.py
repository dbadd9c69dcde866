"""Email end to end: tracked send to aiosmtpd, pixel / reply / unsubscribe over real HTTP
to the receiver under uvicorn, and the runs branching (or the gate denying) on them.

The one-click test is also the proof that DEE honours an RFC 8058 unsubscribe at once,
well inside the 48 hours Gmail's and Yahoo's bulk-sender rules allow: read from the
run's verified audit chain, not from the test's own clock.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from dee.audit_keys import verifying_keys
from dee.engine import Engine
from interpreter.compiled import DEFAULT_TICK_INTERVAL_MS
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks.conftest import PASSWORD, USER, Receiver
from tests.integration.webhooks.helpers import (
    CONTACT,
    VARS,
    messages,
    pixel_url,
    tracked_plan,
    two_emails,
    unsubscribe_url,
)

# Gmail and Yahoo require a one-click unsubscribe to be honoured within two days.
BULK_SENDER_LIMIT = timedelta(hours=48)
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


async def _events(engine: Engine, run_id: str) -> list[tuple[str, str]]:
    return [
        (str(e.detail.get("type")), e.outcome)
        for e in await engine.get_timeline(run_id)
        if e.action == "event"
    ]


async def test_an_opened_pixel_drives_has_open(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url(message).startswith(receiver.url + "/webhooks/email/unsubscribe/")
    url = pixel_url(message)
    assert url.startswith(receiver.url)
    for _ in range(2):  # a second view is served, but is not a second event
        answer = await receiver.http.get(url)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/gif"
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "opened")
    assert await _events(engine, run.run_id) == [("email.opened", "ingested")]


async def test_a_reply_matched_by_message_id_drives_has_reply(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    original = str(message["Message-ID"])
    reply = {
        "From": "ada@example.com",
        "Subject": "Re: Hi DEE",
        "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
        "StrippedTextReply": "Yes, let's talk.",
        "Headers": [
            {"Name": "Message-ID", "Value": "<reply-1@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": original},
            {"Name": "References", "Value": original},
        ],
    }
    answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"][0]["runs"] == [run.run_id]
    # The same reply as a multipart inbound parse (another provider's shape, or a
    # retry): the same event id, so a recorded duplicate and nothing more.
    form = {
        "headers": f"Message-ID: <reply-1@mail.example.com>\nIn-Reply-To: {original}\n",
        "from": "ada@example.com",
        "text": "Yes, let's talk.",
    }
    again = await receiver.http.post("/webhooks/email/inbound", files={}, data=form, headers=AUTH)
    assert again.status_code == 200, again.text
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "replied")
    events = await _events(engine, run.run_id)
    assert events == [("email.replied", "ingested"), ("email.replied", "duplicate")]
    replied = next(e for e in await engine.get_timeline(run.run_id) if e.action == "event")
    assert replied.step_id == "intro"
    # Stored sealed under the contact's key (docs/privacy.md); readable with it.
    assert replied.detail["data"]["snippet"].startswith("sealed:v1:")
    opened = await engine.contacts.opened(run.run_id, replied.detail)
    assert opened["data"]["snippet"] == "Yes, let's talk."


async def test_one_click_unsubscribe_stops_the_next_send(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    url = unsubscribe_url(message)
    page = await receiver.http.get(url)  # a GET (link scanner) changes nothing
    assert page.status_code == 200 and "<form method='post'>" in page.text
    answer = await receiver.http.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["unsubscribed"] == "c-ada"
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert final.status == "FAILED" and final.current_step == "second"
    assert final.failure is not None and "consent" in final.failure["reason"]
    assert len(messages(mail)) == 1  # the second email never left
    # From the run's audit chain, verified first: hashes, links, and the checkpoints
    # the worker signed, against its public key.
    chain = await engine.audit.timeline(run.run_id)
    verified = await engine.audit.verify(run.run_id, keys=verifying_keys(engine.config))
    assert verified.ok, verified.problem_lines()
    assert verified.entries == len(chain)
    unsub = next(e for e in chain if e.action == "event")
    assert unsub.detail["type"] == "email.unsubscribed"
    assert unsub.detail["data"]["source"] == "list-unsubscribe"
    denied = [e for e in chain if e.action == "policy_check" and e.step_id == "second"]
    assert [e.outcome for e in denied] == ["denied"]
    # The denial cites the very opt-out the unsubscribe recorded: in force from the
    # moment it was recorded (no delay at all), and the next send is refused on it.
    in_force = denied[0].detail["consent"]["record"]
    assert (in_force["status"], in_force["source"]) == ("opted_out", "list-unsubscribe")
    assert in_force["recorded_at"] == unsub.detail["data"]["recordedAt"]
    assert unsub.seq < denied[0].seq and unsub.tick < denied[0].tick
    sent = [(e.step_id, e.outcome) for e in chain if e.action == "send_email"]
    assert sent == [("first", "delivered")]  # the second was never attempted
    honoured_within = timedelta(
        milliseconds=(denied[0].tick - unsub.tick) * DEFAULT_TICK_INTERVAL_MS
    )
    assert honoured_within < BULK_SENDER_LIMIT
    # The denial also carries the opt-out clocks of the run's presets: per law, the
    # deadline it allowed and that DEE honoured the opt-out at the instant it was made.
    clocks = denied[0].detail["optOutClocks"]
    assert clocks["optedOutAt"] == in_force["recorded_at"]
    by_rule = {line["rule"]: line for line in clocks["rules"]}
    assert set(by_rule) == {"can-spam.opt_out", "gmail-bulk.opt_out"}
    gmail = by_rule["gmail-bulk.opt_out"]
    assert gmail["verdict"] == "deny"
    opted = datetime.fromisoformat(clocks["optedOutAt"])
    assert datetime.fromisoformat(gmail["detail"]["deadline"]) == opted + BULK_SENDER_LIMIT
    assert gmail["detail"]["honouredAt"] == clocks["optedOutAt"]
