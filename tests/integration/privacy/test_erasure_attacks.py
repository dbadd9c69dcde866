"""Attacks on ``dee contact erase`` on the real dev server: runs that reach Temporal
around ``execute`` (its starter called directly, a start racing the erasure), and two
erasures of one contact at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from adapters.storage.schema import AuditEntry
from dee.config import EngineConfig
from dee.contacts import erasure_chain
from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from dee.runs.ids import run_id
from tests.integration.mailsink import SmtpServer
from tests.integration.privacy.test_erasure import (
    CONTACT,
    PII,
    SNIPPET,
    SUBJECT,
    VARS,
    _gone,
    _status,
    config,
    dee,
    dump,
    email_wait_email,
    engine,
    one_email,
    server,
)
from tests.integration.waiting import until

__all__ = ["config", "engine", "server"]


async def _run_or_none(engine: Engine, run: str) -> ExecutionRun | None:
    """The run as recorded; ``None`` until its first activity records it."""
    try:
        return await engine.get_run(run)
    except EngineError:
        return None


def _mails_to(mail: SmtpServer, address: str) -> int:
    return sum(address.lower() in (r.lower() for r in e.rcpt_tos) for e in mail.received)


async def test_a_run_started_past_execute_for_an_erased_contact_is_denied_by_the_gate(
    engine: Engine, mail: SmtpServer
) -> None:
    first = await engine.execute(one_email(), contact=CONTACT, variables=VARS)
    await _status(engine, first, {"COMPLETED"})
    await engine.contacts.erase(CONTACT["id"], by="dpo")
    sent = _mails_to(mail, CONTACT["email"])
    # ``execute`` refuses the contact; its starter (what a plain ``temporal workflow
    # start`` amounts to) checks nothing: the policy gate must.
    sneaked = run_id("default", "one-email", None)
    await engine.starter.start_run(sneaked, "default", one_email(), dict(CONTACT), dict(VARS))
    denied = await until(
        lambda: _run_or_none(engine, sneaked),
        lambda r: r is not None and r.status == "FAILED",
        what=f"run {sneaked} denied",
        timeout=60,
        every=0.1,
    )
    assert denied.failure is not None and "was erased at" in denied.failure["reason"]
    assert _mails_to(mail, CONTACT["email"]) == sent


async def test_a_start_between_the_temporal_start_and_its_record_is_still_erased(
    engine: Engine,
) -> None:
    """``execute`` (and ``execute_many``, for the whole batch) starts the workflow first
    and records the run after: an erasure in between must still find the run and delete
    its history, which holds the contact as started."""
    first = await engine.execute(one_email(), contact=CONTACT, variables=VARS)
    await _status(engine, first, {"COMPLETED"})
    late = run_id("default", "one-email", None)
    later = datetime.now(UTC) + timedelta(hours=1)  # no worker touches it meanwhile
    await engine.starter.start_run(late, "default", one_email(), dict(CONTACT), dict(VARS), later)
    erasure = await engine.contacts.erase(CONTACT["id"], by="dpo")
    assert late in erasure.runs
    assert await _gone(engine.client, late), (
        f"history of {late} (contact as started) is still there"
    )


async def test_two_erasures_of_one_contact_at_once_write_one_entry(
    engine: Engine, config: EngineConfig
) -> None:
    run = await engine.execute(one_email(), contact=CONTACT, variables=VARS)
    await _status(engine, run, {"COMPLETED"})
    one, two = await asyncio.gather(
        engine.contacts.erase(CONTACT["id"], by="a"), engine.contacts.erase(CONTACT["id"], by="b")
    )
    assert [one.audit_seq, two.audit_seq].count(None) == 1, (one, two)
    async with engine.database.engine.connect() as conn:
        table = AuditEntry.__table__
        chain = select(table.c.action).where(table.c.run_id == erasure_chain("default"))
        assert (await conn.execute(chain)).scalars().all() == ["erased"]
    assert await _gone(engine.client, run.run_id)
    code, out, err = await dee(config, "audit", "verify", "--all")
    assert code == 0, out + err


async def test_a_hostile_contact_id_cannot_widen_the_erasure_to_another_contact(
    engine: Engine,
) -> None:
    other = {**CONTACT, "id": "c-other", "email": "someone.else@example.org"}
    hostile = {**CONTACT, "id": 'c-x" OR DeeContactId = "c-other'}
    kept = await engine.execute(one_email(), contact=other, variables=VARS)
    gone = await engine.execute(one_email("hostile"), contact=hostile, variables=VARS)
    await _status(engine, kept, {"COMPLETED"})
    await _status(engine, gone, {"COMPLETED"})
    erasure = await engine.contacts.erase(hostile["id"], by="dpo")
    assert erasure.runs == (gone.run_id,)
    assert await _gone(engine.client, gone.run_id)
    assert not await _gone(engine.client, kept.run_id), "another contact's history was deleted"


async def test_a_reply_racing_the_erasure_leaves_nothing_readable(
    engine: Engine, config: EngineConfig
) -> None:
    """The reply is the first field ever sealed for the contact (its key is created
    then), at the moment the erasure destroys the keys: either the reply is refused or
    it is recorded sealed under a key that dies; never readable, never plain."""
    waiting = await engine.execute(email_wait_email(), contact=CONTACT, variables=VARS)
    await _status(engine, waiting, {"WAITING"}, step="wait")
    reply = {"from": f"Hedy <{CONTACT['email']}>", "subject": SUBJECT, "snippet": SNIPPET}
    ingested, erased = await asyncio.gather(
        engine.ingest_event(
            type="email.replied",
            contact_id=CONTACT["id"],
            run_id=waiting.run_id,
            step_id="first",
            data=reply,
        ),
        engine.contacts.erase(CONTACT["id"], by="dpo"),
        return_exceptions=True,
    )
    assert not isinstance(erased, BaseException), erased
    if isinstance(ingested, BaseException):
        assert isinstance(ingested, EngineError), ingested
    assert await engine.contacts.erased_at(CONTACT["id"]) is not None
    assert [value for value in PII if value in await dump(engine)] == []
    for entry in await engine.get_timeline(waiting.run_id):
        opened = json.dumps(await engine.contacts.opened(waiting.run_id, entry.detail)).lower()
        assert [value for value in PII if value in opened] == [], entry
    code, out, err = await dee(config, "audit", "verify", "--all")
    assert code == 0, out + err
