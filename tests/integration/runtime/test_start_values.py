"""Contacts and variables a run cannot carry are refused at the start, naming the field.

Before, a contact with a lone surrogate started, and its first branch condition then
raised outside the step machine's handler: the workflow task retried forever with no
failure recorded. Now ``execute``/``execute_many`` (and so ``dee start``) refuse it
before the plan is registered, a workflow started or a run row written.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from adapters.storage import UnknownPlan
from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError
from dee.runs.ids import run_id as _run_id
from tests.integration.runtime.plans import one_email
from tests.integration.runtime.test_cli_runtime import _dee

SURROGATE = "contact.first_name: contains a lone surrogate (U+D800), not valid text"


async def _no_workflow(engine: Engine, run_id: str) -> None:
    with pytest.raises(RPCError) as err:
        await engine.client.get_workflow_handle(run_id).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND


async def _nothing_stored(engine: Engine, plan_id: str) -> None:
    assert await engine.list_runs() == []
    with pytest.raises(UnknownPlan):
        await engine.plans.get(plan_id)


@pytest.mark.parametrize(
    ("contact", "variables", "message"),
    [
        ({"id": "c1", "first_name": "\ud800"}, {}, SURROGATE),
        (
            {"id": "c1", "tags": ["ok", {"n": float("nan")}]},
            {},
            "contact.tags[1].n: nan is not a finite number",
        ),
        (
            {"id": "c1"},
            {"budget": 2**53},
            "variables.budget: an integer of 54 bits, outside "
            "-9007199254740991..9007199254740991, the integers canonical JSON (RFC 8785) "
            "keeps exact",
        ),
        (
            {"id": "c1", "seen": {1, 2}},
            {},
            "contact.seen: a value of type set is not JSON "
            "(null, boolean, number, string, list or object)",
        ),
    ],
    ids=["surrogate", "nan", "int", "set"],
)
async def test_execute_refuses_a_value_a_run_cannot_carry_and_starts_nothing(
    engine: Engine, contact: dict[str, object], variables: dict[str, object], message: str
) -> None:
    plan = one_email("bad-values")
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact=contact, variables=variables, idempotency_key="k")
    assert err.value.lines == (message,)
    await _no_workflow(engine, _run_id(engine.config.tenant, plan.id, "k"))
    await _nothing_stored(engine, plan.id)


async def test_execute_refuses_nesting_deeper_than_32_levels(engine: Engine) -> None:
    nested: list[object] = []
    for _ in range(32):
        nested = [nested]
    with pytest.raises(EngineError, match=r"^contact\.deep(\[0\]){31}: nested more than 32"):
        await engine.execute(one_email("deep"), contact={"id": "c1", "deep": nested})
    await _nothing_stored(engine, "deep")


async def test_execute_many_refuses_the_bad_contact_and_starts_the_others(
    engine: Engine,
) -> None:
    plan = one_email("bulk-values")
    contacts = [
        {"id": "c-good", "email": "good@example.com"},
        {"id": "c-bad", "email": "bad@example.com", "first_name": "\ud800"},
    ]
    good, bad = await engine.execute_many(plan, contacts, idempotency_key="k")
    assert isinstance(bad, EngineError) and bad.lines == (SURROGATE,)
    assert not isinstance(good, EngineError) and good.contact_id == "c-good"
    await _no_workflow(engine, _run_id(engine.config.tenant, plan.id, "k:c-bad"))
    assert [r.contact_id for r in await engine.list_runs()] == ["c-good"]
    # The good contact's workflow did start: one bad contact does not sink the batch.
    described = await engine.client.get_workflow_handle(good.run_id).describe()
    assert described.id == good.run_id


async def test_execute_many_refuses_bad_variables_for_every_contact(engine: Engine) -> None:
    plan = one_email("bulk-vars")
    with pytest.raises(EngineError) as err:
        await engine.execute_many(plan, [{"id": "c1"}], variables={"v": float("inf")})
    assert err.value.lines == ("variables.v: inf is not a finite number",)
    await _nothing_stored(engine, plan.id)


async def test_dee_start_reports_the_field_on_one_line(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, tmp_path: Path
) -> None:
    contact = tmp_path / "contact.json"
    # JSON's \ud800 escape is how a lone surrogate arrives from a file.
    contact.write_text('{"id": "c1", "email": "a@example.com", "first_name": "\\ud800"}')
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"score": 2**60}))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email\nc-1,a@example.com\n")
    plan = str(Path(__file__).resolve().parents[3] / "plans" / "notification.yaml")
    # In threads: the worker shares this event loop.
    single = await asyncio.to_thread(_dee, config, env, "start", plan, "--contact", str(contact))
    # The settings and contact files are read strictly (dee/strict_decode.py): the file
    # is refused, naming it and the field, before the engine's own check is reached.
    assert single.returncode == 1
    assert single.stderr.strip() == (
        f"error: {contact}: first_name: string contains a lone surrogate (U+D800)"
    )
    bulk = await asyncio.to_thread(
        _dee, config, env, "start", plan, "--contacts", str(contacts), "--vars", str(variables)
    )
    assert bulk.returncode == 1
    assert bulk.stderr.strip() == (
        f"error: {variables}: score: integer {2**60} is out of range (at most 2^53-1 in magnitude)"
    )
    assert len(bulk.stderr.strip().splitlines()) == 1
    assert await engine.list_runs() == []


ZONE_REFUSED = (
    "contact c-mars: timezone: 'Mars/Olympus' is not an IANA time zone (like Europe/Paris)"
)


async def test_a_timezone_that_is_no_iana_zone_is_refused_at_every_start(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, tmp_path: Path
) -> None:
    plan = one_email("bad-zone")
    mars = {"id": "c-mars", "email": "m@example.com", "timezone": "Mars/Olympus"}
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact=mars, idempotency_key="k")
    assert err.value.lines == (ZONE_REFUSED,)
    await _no_workflow(engine, _run_id(engine.config.tenant, plan.id, "k"))
    await _nothing_stored(engine, plan.id)
    # A missing or empty zone starts: the run fails closed only at a step that needs one.
    fine = [
        {"id": "c-none"},
        {"id": "c-empty", "timezone": ""},
        {"id": "c-ny", "timezone": "America/New_York"},
    ]
    outcomes = await engine.execute_many(plan, [*fine, mars])
    assert isinstance(outcomes[-1], EngineError) and outcomes[-1].lines == (ZONE_REFUSED,)
    assert sorted(r.contact_id for r in await engine.list_runs()) == ["c-empty", "c-none", "c-ny"]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "id,email,timezone\n"
        "c-ok,ok@example.com,Europe/Paris\n"
        "c-mars,m@example.com,Mars/Olympus\n"
        "c-both,a; b,EST5EDT/x\n"
    )
    shown = str(Path(__file__).resolve().parents[3] / "plans" / "notification.yaml")
    bulk = await asyncio.to_thread(_dee, config, env, "start", shown, "--contacts", str(contacts))
    assert bulk.returncode == 1 and "Traceback" not in bulk.stderr
    assert bulk.stderr.strip().splitlines() == [
        f"error: {contacts}: line 3: {ZONE_REFUSED}",
        f"error: {contacts}: line 4: contact c-both: email: 'a; b' is a list of addresses "
        "(',' or ';'), not exactly one mailbox",
        f"error: {contacts}: line 4: contact c-both: timezone: 'EST5EDT/x' is not an IANA "
        "time zone (like Europe/Paris)",
    ]
    assert len(await engine.list_runs()) == 3  # the CSV started nothing, not even c-ok
