"""Forged, replayed, malformed and unknown: a 4xx naming the problem, and no event."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from adapters.channels.postmark import ref_metadata
from adapters.tracking import Ref, sign
from adapters.tracking.rewrite import Links
from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks.conftest import PASSWORD, SECRET, USER, Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, messages, pixel_url, tracked_plan

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


async def _events(engine: Engine, run_id: str) -> list[str]:
    timeline = await engine.get_timeline(run_id)
    return [str(e.detail.get("type")) for e in timeline if e.action == "event"]


async def test_forged_tokens_and_bad_requests_are_refused_and_ingest_nothing(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    good = pixel_url(message)
    token = good.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    ref = Ref(run.run_id, "intro", 1)
    http = receiver.http
    tampered = f"{payload}.{mac[:-2]}AA"
    refusals = {
        # a signature that is not ours, or ours for another purpose
        f"/webhooks/email/open/{tampered}": (403, "signature does not match"),
        f"/webhooks/email/open/{sign(b'another-secret', 'open', ref)}": (403, "signature"),
        f"/webhooks/email/open/{sign(SECRET.encode(), 'click', ref)}": (403, "open token"),
        "/webhooks/email/open/not-a-token": (403, "not of the form"),
        # a genuine token for a run that does not exist
        f"/webhooks/email/open/{sign(SECRET.encode(), 'open', Ref('run-x', 's', 1))}": (
            404,
            "unknown run 'run-x'",
        ),
    }
    for path, (status, why) in refusals.items():
        answer = await http.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert why in answer.json()["error"]
    links = Links(receiver.url, SECRET.encode(), ref)
    click = links.click("https://example.com/pricing")
    swapped = click.replace("pricing", "evil")  # the URL is bound into the signature
    assert (await http.get(swapped)).status_code == 403
    no_url = (await http.get(click.split("?")[0])).json()
    assert "'url' is missing" in no_url["error"]
    redirect = await http.get(click)
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://example.com/pricing"

    inbound = "/webhooks/email/inbound"
    assert (await http.post(inbound, json={})).json()["error"] == "missing basic-auth credentials"
    wrong = {"Authorization": "Basic " + base64.b64encode(b"postmark:nope").decode()}
    assert (await http.post(inbound, json={}, headers=wrong)).status_code == 403
    bad_json = await http.post(
        inbound, content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    not_reply = await http.post(inbound, json={"Headers": []}, headers=AUTH)
    assert not_reply.status_code == 400 and "not a reply" in not_reply.json()["error"]
    unknown = {"Headers": [{"Name": "In-Reply-To", "Value": "<nope@example.com>"}]}
    stray = await http.post(inbound, json=unknown, headers=AUTH)
    assert stray.status_code == 404 and "no message DEE sent" in stray.json()["error"]
    events = "/webhooks/email/events/postmark"
    assert (await http.post(events, json={"RecordType": "Bounce"}, headers=AUTH)).status_code == 400

    # Bad requests beside a good one: the good one is ingested, the bad ones are not.
    answers = await asyncio.gather(
        *(http.post(inbound, content=b"\xff" * 64, headers=AUTH) for _ in range(5)),
        http.get(good),
        *(http.get(f"/webhooks/email/open/{tampered}") for _ in range(5)),
    )
    assert [a.status_code for a in answers] == [400] * 5 + [200] + [403] * 5
    await env.sleep(timedelta(hours=2))
    assert await _events(engine, run.run_id) == ["email.clicked", "email.opened"]
    final = await engine.get_run(run.run_id)
    assert final.outcome == "opened"


async def test_postmark_events_reach_the_run_named_by_the_signed_reference(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    ref_token = str(message["X-DEE-Ref"])
    bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "Email": CONTACT["email"],
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message",
        "Metadata": ref_metadata(ref_token),
    }
    path = "/webhooks/email/events/postmark"
    no_email = {k: v for k, v in bounce.items() if k != "Email"}
    missing = await receiver.http.post(path, json=no_email, headers=AUTH)
    assert missing.status_code == 400 and "'Email' is missing" in missing.json()["error"]
    first = await receiver.http.post(path, json=bounce, headers=AUTH)
    assert first.status_code == 200, first.text
    forged = {**bounce, "Metadata": ref_metadata(ref_token[:-3] + "abc")}
    assert (await receiver.http.post(path, json=forged, headers=AUTH)).status_code == 403
    assert (await receiver.http.post(path, json=bounce, headers=AUTH)).status_code == 200
    await env.sleep(timedelta(minutes=1))
    timeline = await engine.get_timeline(run.run_id)
    events = [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"]
    assert events == [("email.bounced", "ingested"), ("email.bounced", "duplicate")]


async def test_an_unknown_path_or_method_is_refused_with_a_json_error(receiver: Receiver) -> None:
    # Found by the fuzz suite (tests/fuzz): the router's 404 and 405 were plain text.
    http = receiver.http
    wrong_method = await http.post("/webhooks/email/open/abc.def")
    assert wrong_method.status_code == 405, wrong_method.text
    assert wrong_method.json() == {"error": "Method Not Allowed"}
    assert "GET" in wrong_method.headers["allow"]
    no_route = await http.get("/webhooks/nothing-here")
    assert no_route.status_code == 404, no_route.text
    assert no_route.json() == {"error": "Not Found"}
