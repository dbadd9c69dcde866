"""The gate's compliance stage: after hours, before the contact cap; the rules read the
contact's ledger (imported and DEE's own attempts) and location; a deferral names the
deciding rule and carries the rules' proof (both backends)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.policy import PolicyAdmin, PolicyConfig, PolicyGate
from adapters.policy.config import Costs
from adapters.policy.ledger import LedgerRow, import_attempts
from adapters.policy.request import GateRequest
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.model import Attempt
from adapters.policy.tables import BUDGET_RESERVATIONS, CONTACT_SENDS
from adapters.storage import Database

from .helpers import NOON, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

VOICE = PolicyConfig(consent_modes={"voice": "opt-out"})
REGF = RulesConfig(presets=("regf",))


def call(
    run_id: str, *, debt_ref: str | None = "D-9", at: datetime = NOON, **contact: Any
) -> GateRequest:
    base = send(channel="voice", run_id=run_id, at=at, **contact)
    return GateRequest(
        tenant=base.tenant,
        run_id=base.run_id,
        plan_id=base.plan_id,
        step_id=base.step_id,
        visit=base.visit,
        channel="voice",
        contact=base.contact,
        at=at,
        max_duration_seconds=base.max_duration_seconds,
        debt_ref=debt_ref,
    )


async def seed_calls(
    database: Database, count: int, first: datetime, debt_ref: str = "D-9"
) -> None:
    """``count`` earlier calls to contact c1 about ``debt_ref``, an hour apart (imported)."""
    rows = [
        LedgerRow("c1", Attempt("voice", first + timedelta(hours=i), debt_ref=debt_ref))
        for i in range(count)
    ]
    assert (await import_attempts(database, "acme", rows)).added == count


async def ledger_rows(database: Database) -> int:
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(CONTACT_SENDS)) or 0)


async def test_the_eighth_call_about_a_debt_in_seven_days_is_deferred_with_the_rules_proof(
    database: Database,
) -> None:
    oldest = NOON - timedelta(days=6)
    await seed_calls(database, 7, oldest)
    gate = PolicyGate(database, VOICE, rules=REGF)

    decision = await gate.evaluate(call("run-8"))

    assert (decision.decision, decision.policy) == ("defer", "compliance")
    assert decision.reason is not None and decision.reason.startswith("regf.attempts_7_in_7: ")
    # The oldest leaves the 7 days at oldest + 7 days (11:00 in New York: inside the window).
    assert decision.until == oldest + timedelta(days=7)
    proof = decision.detail["compliance"]
    assert proof["decision"] == "defer" and proof["rule"] == "regf.attempts_7_in_7"
    assert proof["rulesVersion"] and "regf" in proof["presets"]
    assert proof["location"]["zones"] == ["America/New_York"]
    verdicts = {r["rule"]: r["verdict"] for r in proof["rules"]}
    assert verdicts["regf.calling_window"] == "allow"
    assert verdicts["regf.attempts_7_in_7"] == "defer"
    assert "contact_cap" not in decision.detail  # the stages after compliance did not run
    assert await ledger_rows(database) == 7  # the deferred call is not counted

    later = await gate.evaluate(call("run-8", at=decision.until))
    assert later.allowed, later.reason
    assert await ledger_rows(database) == 8


async def test_without_presets_the_general_voice_cap_still_defers(database: Database) -> None:
    await seed_calls(database, 7, NOON - timedelta(days=5), debt_ref="D-1")
    gate = PolicyGate(database, VOICE)  # no rules configured: the general caps only

    decision = await gate.evaluate(call("run-x", debt_ref="D-2"))

    assert (decision.decision, decision.policy) == ("defer", "compliance")
    assert decision.reason is not None and decision.reason.startswith("general.channel_cap: ")
    assert [r["rule"] for r in decision.detail["compliance"]["rules"]] == ["general.channel_cap"]


async def test_a_counted_send_checked_again_is_not_deferred_by_its_own_attempt(
    database: Database,
) -> None:
    await seed_calls(database, 6, NOON - timedelta(days=3))
    gate = PolicyGate(database, VOICE, rules=REGF)

    first = await gate.evaluate(call("run-7"))
    again = await gate.evaluate(call("run-7"))  # a retried activity: the same key
    other = await gate.evaluate(call("run-other"))

    assert first.allowed and again.allowed, again.reason
    assert again.detail["contact_cap"]["replay"] is True
    assert (other.decision, other.policy) == ("defer", "compliance")
    assert await ledger_rows(database) == 7


async def test_every_candidate_zone_must_be_open(database: Database) -> None:
    # New York by its time zone, Honolulu by its area code: 11:00 and 05:00.
    gate = PolicyGate(database, VOICE, rules=REGF)

    decision = await gate.evaluate(call("run-hi", phone="+18089568000"))

    assert (decision.decision, decision.policy) == ("defer", "compliance")
    assert decision.reason is not None and decision.reason.startswith("regf.calling_window: ")
    location = decision.detail["compliance"]["location"]
    assert sorted(location["zones"]) == ["America/New_York", "Pacific/Honolulu"]
    assert location["sources"]["phone"] == ["Pacific/Honolulu"]
    assert decision.until == NOON.replace(hour=18)  # 08:00 in Honolulu


async def test_a_contact_no_source_locates_is_denied_unless_a_zone_is_named(
    database: Database,
) -> None:
    # The hours policy would read such a contact in UTC; the regulated window never
    # guesses: it denies, unless the operator named the zone to assume.
    unlocated = call("run-nowhere", timezone=None)
    decision = await PolicyGate(database, VOICE, rules=REGF).evaluate(unlocated)
    assert (decision.decision, decision.policy) == ("deny", "compliance")
    assert decision.detail["compliance"]["location"]["zones"] == []

    assumed = RulesConfig(presets=("regf",), assumed_timezone="America/Chicago")
    decision = await PolicyGate(database, VOICE, rules=assumed).evaluate(
        call("run-assumed", timezone=None)
    )
    assert decision.decision == "allow"  # 11:00 in Chicago
    location = decision.detail["compliance"]["location"]
    assert location["sources"] == {"default": ["America/Chicago"]}


async def test_a_compliance_deferral_releases_what_an_earlier_allow_reserved(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.set_budget("acme", "default", NOON.date(), NOON.date(), "USD", Decimal("100"))
    config = PolicyConfig(
        consent_modes={"voice": "opt-out"}, costs=Costs(per_voice_minute=Decimal("1"))
    )
    allowed = await PolicyGate(database, config).evaluate(call("run-r", phone="+18089568000"))
    assert allowed.allowed  # no presets: no calling window
    # Re-evaluated under regf (the configuration changed): Honolulu is not open yet.
    deferred = await PolicyGate(database, config, rules=REGF).evaluate(
        call("run-r", phone="+18089568000")
    )

    assert (deferred.decision, deferred.policy) == ("defer", "compliance")
    assert deferred.detail["released_budget_estimate"] == "2"
    async with database.snapshot() as conn:
        status = await conn.scalar(select(BUDGET_RESERVATIONS.c.status))
    assert status == "released"


async def test_an_opt_out_denial_carries_the_opt_out_clocks_of_the_presets(
    database: Database,
) -> None:
    # The STOP reply is a revocation (FCC 24-24): the consent stage denies first, and
    # the denial's detail states the presets' clock for it, so the chain proves it.
    admin = PolicyAdmin(database)
    await admin.revoke_consent("acme", "c1", "voice", "reply:stop", NOON - timedelta(hours=1))
    await admin.revoke_consent("acme", "c1", "email", "reply:stop", NOON - timedelta(hours=1))
    rules = RulesConfig(presets=("tcpa", "can-spam"))
    gate = PolicyGate(database, VOICE, rules=rules)

    voice = await gate.evaluate(call("run-stop-voice"))
    assert (voice.decision, voice.policy) == ("deny", "consent")
    clocks = voice.detail["optOutClocks"]
    assert [line["rule"] for line in clocks["rules"]] == ["tcpa.revocation"]
    assert clocks["rules"][0]["verdict"] == "deny"

    email = await gate.evaluate(send(run_id="run-stop-email"))
    assert (email.decision, email.policy) == ("deny", "consent")
    [clock] = email.detail["optOutClocks"]["rules"]
    assert clock["rule"] == "can-spam.opt_out" and clock["verdict"] == "deny"
    assert clock["detail"]["honouredAt"] == clock["detail"]["optOutAt"]

    # Without such presets the denial is the consent stage's alone.
    plain = await PolicyGate(database, VOICE).evaluate(send(run_id="run-stop-plain"))
    assert plain.policy == "consent" and "optOutClocks" not in plain.detail
