"""Issue 18, item 1: no other spelling of a suppressed address reaches its mailbox.

The reproduction: ``dee suppress add victim@example.com``, then a contact whose email is
``Victim <victim@example.com>``, ``"victim"@example.com`` or ``victim@EXAMPLE.com,
other@example.com``. All three were delivered to the victim (the gate compared the raw
string, SMTP sent to ``parseaddr(to)``). Here each is tried through ``Engine.execute``,
through ``dee start`` (one contact and a CSV) and as a raw start through the Temporal
client, against the real SMTP sink: the victim receives nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email
from tests.integration.runtime.test_cli_runtime import _dee

VICTIM = "victim@example.com"
DISPLAY_NAME = "Victim <victim@example.com>"
QUOTED = '"victim"@example.com'
LIST = "victim@EXAMPLE.com, other@example.com"
LIST_REFUSED = (
    f"contact c-list: email: {LIST!r} is a list of addresses (',' or ';'), not exactly one mailbox"
)
VARS = {"product": "DEE", "sender_name": "Sam"}


def _contact(contact_id: str, email: str) -> dict[str, str]:
    return {"id": contact_id, "email": email, "first_name": "V", "company": "X"}


def _recipients(mail: SmtpServer) -> list[str]:
    return [rcpt for envelope in mail.received for rcpt in envelope.rcpt_tos]


async def _failure(engine: Engine, run_id: str) -> dict[str, Any]:
    run = await engine.get_run(run_id)
    assert run.status == "FAILED" and run.failure is not None, run
    return run.failure


async def test_the_issues_three_forms_through_the_engine(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    await engine.policies.suppress(VICTIM, reason="asked to be left alone")
    plan = one_email("bypass-engine")
    named = await engine.execute(plan, contact=_contact("c-name", DISPLAY_NAME), variables=VARS)
    quoted = await engine.execute(plan, contact=_contact("c-quoted", QUOTED), variables=VARS)
    with pytest.raises(EngineError) as refused:
        await engine.execute(
            plan, contact=_contact("c-list", LIST), variables=VARS, idempotency_key="k"
        )
    # Someone not suppressed, in an odd spelling, is sent to: the mail does flow, to the
    # one canonical mailbox.
    other = await engine.execute(
        plan, contact=_contact("c-other", "Other <Other@EXAMPLE.com.>"), variables=VARS
    )
    await env.sleep(timedelta(minutes=1))

    assert refused.value.lines == (LIST_REFUSED,)
    assert "c-list" not in {r.contact_id for r in await engine.list_runs()}
    for run in (named, quoted):
        failure = await _failure(engine, run.run_id)
        # The audit holds no address: the suppressed key appears as its keyed pseudonym.
        assert "suppression" in failure["reason"] and "pseud:" in failure["reason"]
        assert VICTIM not in failure["reason"]
    assert (await engine.get_run(other.run_id)).status == "COMPLETED"
    assert _recipients(mail) == ["Other@example.com"]
    assert mail.received[0].content is not None and b"To: Other@example.com\r\n" in bytes(
        mail.received[0].content
    )


async def test_the_issues_three_forms_as_raw_temporal_starts(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer
) -> None:
    # Started with a plain Temporal client, the contact never passes Engine's check: the
    # gate canonicalises again and denies (fail-closed) what is not one mailbox.
    await engine.policies.suppress(VICTIM, reason="asked to be left alone")
    plan = one_email("bypass-raw")
    await engine.starter.register_plan(plan)
    hostile = {
        "name": DISPLAY_NAME,
        "quoted": QUOTED,
        "list": LIST,
        "injected": "other@example.org\r\nBcc: victim@example.com",
        "not-a-string": ["other@example.org", VICTIM],
    }
    for tag, address in hostile.items():
        wid = f"raw-{tag}-{uuid.uuid4().hex[:6]}"
        raw_input = {
            "run_id": wid, "tenant": "default", "plan": plan.to_document(),
            "plan_hash": plan.content_hash, "contact": _contact(f"c-{tag}", address),  # type: ignore[arg-type]
            "variables": VARS, "search_attributes": False,
        }  # fmt: skip
        await env.client.start_workflow(
            c.WORKFLOW_NAME, raw_input, id=wid, task_queue=config.task_queue
        )
    await env.sleep(timedelta(minutes=1))

    runs = {r.contact_id: r for r in await engine.list_runs()}
    reasons = {tag: (await _failure(engine, runs[f"c-{tag}"].run_id))["reason"] for tag in hostile}
    assert "suppression" in reasons["name"] and "suppression" in reasons["quoted"]
    assert "contact.email: is a list of addresses" in reasons["list"]
    assert "contact.email: contains the control or format character U+000D" in reasons["injected"]
    assert "contact.email: must be a string, not list" in reasons["not-a-string"]
    assert mail.received == []


async def test_dee_start_refuses_a_contact_that_is_not_one_mailbox(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, tmp_path: Path
) -> None:
    plan = str(Path(__file__).resolve().parents[3] / "plans" / "notification.yaml")
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps(_contact("c-list", LIST)))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "id,email,phone\n"
        "c-ok,ok@example.com,+1 212 555 0100\n"
        'c-list,"victim@example.com; other@example.com",\n'
        "c-phone,ok2@example.com,(212) 555-0100\n"
    )
    # In threads: the worker shares this event loop.
    single = await asyncio.to_thread(_dee, config, env, "start", plan, "--contact", str(contact))
    bulk = await asyncio.to_thread(_dee, config, env, "start", plan, "--contacts", str(contacts))

    assert single.returncode == 1 and "Traceback" not in single.stderr
    assert single.stderr.strip() == f"error: {LIST_REFUSED}"
    assert bulk.returncode == 1 and "Traceback" not in bulk.stderr
    assert bulk.stderr.strip().splitlines() == [
        f"error: {contacts}: line 3: contact c-list: email: "
        "'victim@example.com; other@example.com' is a list of addresses (',' or ';'), "
        "not exactly one mailbox",
        f"error: {contacts}: line 4: contact c-phone: phone: '(212) 555-0100' is a national number "
        "(no '+' or '00'): the contact needs a country (ISO 3166-1 alpha-2, e.g. US) to read "
        "it, or give it in international form",
    ]
    assert await engine.list_runs() == []  # nothing started, not even the good line


async def test_execute_many_refuses_only_the_contact_that_is_not_one_mailbox(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    plan = one_email("bypass-bulk")
    good, bad = await engine.execute_many(
        plan,
        [_contact("c-good", " Good <GOOD@Example.com> "), _contact("c-list", LIST)],
        variables=VARS,
        idempotency_key="k",
    )
    await env.sleep(timedelta(minutes=1))

    assert isinstance(bad, EngineError) and bad.lines == (LIST_REFUSED,)
    assert not isinstance(good, EngineError)
    assert [r.contact_id for r in await engine.list_runs()] == ["c-good"]
    assert _recipients(mail) == ["GOOD@example.com"]  # the run carried the canonical form
