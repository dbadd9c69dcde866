"""``PolicyGate.explain``: every policy and rule evaluated, the decision ``evaluate``
would give, a history and presets given in place of the ledger's and the settings',
and nothing written (both backends)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from adapters.policy import PolicyAdmin, PolicyConfig, PolicyGate
from adapters.policy.config import Costs
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.model import CONVERSATION, Attempt
from adapters.policy.tables import (
    BUDGET_RESERVATIONS,
    BUDGETS,
    CONSENT,
    CONTACT_SENDS,
    COUNTERS,
    LIMITS,
    SEND_RESERVATIONS,
    SUPPRESSIONS,
)
from adapters.storage import Database

from .helpers import NOON
from .test_compliance_gate import call, seed_calls

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLES = (
    CONSENT, SUPPRESSIONS, COUNTERS, LIMITS, SEND_RESERVATIONS, BUDGETS, BUDGET_RESERVATIONS,
    CONTACT_SENDS,
)  # fmt: skip
CONFIG = PolicyConfig(
    consent_modes={"voice": "opt-out"}, costs=Costs(per_voice_minute=Decimal("1"))
)
GATE_POLICIES = ["suppression", "consent", "hours"]
RESERVATIONS = ["contact_cap", "daily_limit", "budget"]


async def snapshot(database: Database) -> dict[str, int]:
    """Every policy table's row count, and the counters' and budgets' numbers."""
    async with database.snapshot() as conn:
        counts = {
            t.name: int(await conn.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES
        }
        counts["counted"] = int(await conn.scalar(select(func.sum(COUNTERS.c.count))) or 0)
        reserved = await conn.scalar(select(func.sum(BUDGETS.c.reserved_micros)))
        counts["reserved"] = int(reserved or 0)
    return counts


@pytest.fixture
async def busy(database: Database, admin: PolicyAdmin) -> Database:
    """A tenant with a budget, a daily limit, consent, one allowed call and seeded calls:
    every reservation would write if explain kept it."""
    await admin.set_budget("acme", "default", NOON.date(), NOON.date(), "USD", Decimal("100"))
    await admin.set_daily_limit("acme", "voice", 50)
    await admin.grant_consent("acme", "c1", "voice", "form", "v1", NOON - timedelta(days=30))
    await seed_calls(database, 3, NOON - timedelta(days=2))
    assert (await PolicyGate(database, CONFIG).evaluate(call("run-1"))).allowed
    return database


async def test_an_allowed_send_is_explained_line_by_line_and_nothing_is_written(
    busy: Database,
) -> None:
    gate = PolicyGate(busy, CONFIG, rules=RulesConfig(presets=("regf",)))
    before = await snapshot(busy)

    explained = await gate.explain(call("explain", at=NOON + timedelta(hours=1)))

    assert await snapshot(busy) == before
    answer = explained.as_json()
    assert (answer["decision"], answer["until"], answer["policy"], answer["reason"]) == (
        "allow", None, None, None,
    )  # fmt: skip
    assert [line["rule"] for line in answer["rules"]] == [
        *GATE_POLICIES,
        "regf.calling_window",
        "regf.attempts_7_in_7",
        "regf.after_conversation",
        "general.channel_cap",
        *RESERVATIONS,
    ]
    assert {line["verdict"] for line in answer["rules"]} == {"allow"}
    assert answer["rulesVersion"] == explained.detail["compliance"]["rulesVersion"]
    # What evaluate would have reserved, measured and then rolled back.
    assert explained.detail["contact_cap"]["earlier"] == 4
    assert explained.detail["daily_limit"]["count"] == 2
    assert explained.detail["budget"]["estimate"] == "2"


async def test_a_history_and_presets_replace_the_ledger_and_settings(busy: Database) -> None:
    gate = PolicyGate(busy, CONFIG)  # no presets configured
    before = await snapshot(busy)
    talked = NOON - timedelta(days=2)
    history = [Attempt("voice", talked, CONVERSATION, "D-9")]

    explained = await gate.explain(call("explain"), attempts=history, presets=("regf",))

    assert await snapshot(busy) == before
    assert (explained.decision, explained.policy) == ("defer", "compliance")
    assert explained.until == talked + timedelta(days=7)
    assert explained.reason is not None
    assert explained.reason.startswith("regf.after_conversation: ")
    verdicts = {line.rule: line.verdict for line in explained.rules}
    assert verdicts["regf.after_conversation"] == "defer"
    assert verdicts["regf.attempts_7_in_7"] == "allow"  # one attempt, not the ledger's four
    assert explained.detail["contact_cap"]["earlier"] == 1
    assert [line.rule for line in explained.rules][-3:] == RESERVATIONS


async def test_every_stage_is_evaluated_and_the_first_that_does_not_allow_decides(
    busy: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress("acme", "channel", "voice", "c1", "asked", "operator")
    await admin.set_daily_limit("acme", "voice", 1)  # run-1 used it
    gate = PolicyGate(busy, CONFIG, rules=RulesConfig(presets=("regf",)))
    before = await snapshot(busy)

    explained = await gate.explain(call("explain", phone="+18089568000"))

    assert await snapshot(busy) == before
    assert (explained.decision, explained.policy) == ("deny", "suppression")
    verdicts = {line.rule: line.verdict for line in explained.rules}
    assert verdicts["suppression"] == "deny"
    assert verdicts["regf.calling_window"] == "defer"  # Honolulu at 05:00
    assert verdicts["daily_limit"] == "deny"
    assert verdicts["budget"] == "allow"
    evaluated = await gate.evaluate(call("run-2", phone="+18089568000"))
    assert (evaluated.decision, evaluated.policy) == ("deny", "suppression")
