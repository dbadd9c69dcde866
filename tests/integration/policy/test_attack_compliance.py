"""Attacks on the gate's compliance stage with real input through the real gate (both
backends): a configured cap longer than the ledger's lookback, ledger instants at the
calendar's edge, hostile contact data in the recorded proof."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from adapters.policy import PolicyConfig, PolicyGate
from adapters.policy.ledger import LedgerRow, import_attempts, record_outcome
from adapters.policy.request import GateRequest
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.frequency import Cap
from adapters.policy.rules.model import Attempt
from adapters.storage import Database

from .helpers import NOON, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

VOICE = PolicyConfig(consent_modes={"voice": "opt-out"})


def call(run_id: str, at: datetime = NOON, **contact: object) -> GateRequest:
    return send(channel="voice", run_id=run_id, at=at, **contact)


async def seed(database: Database, *instants: datetime) -> None:
    rows = [LedgerRow("c1", Attempt("voice", t, debt_ref="D-9")) for t in instants]
    assert (await import_attempts(database, "acme", rows)).added == len(instants)


async def test_a_general_cap_longer_than_the_ledger_lookback_counts_every_attempt_in_it(
    database: Database,
) -> None:
    # Three calls 50 to 48 days ago, under a cap of 3 calls in 60 days: the fourth must
    # wait until the oldest is 60 days old, not go out because the ledger read stopped
    # at 40 days.
    oldest = NOON - timedelta(days=50)
    await seed(database, oldest, oldest + timedelta(days=1), oldest + timedelta(days=2))
    rules = RulesConfig(channel_caps={"voice": Cap(attempts=3, days=60)})
    gate = PolicyGate(database, VOICE, rules=rules)

    decision = await gate.evaluate(call("run-4"))

    assert (decision.decision, decision.policy) == ("defer", "compliance")
    assert decision.reason is not None and decision.reason.startswith("general.channel_cap: ")
    assert decision.until == oldest + timedelta(days=60)


HUGE = "A" * 10_000_000
HOSTILE = [
    {"timezone": HUGE},
    {"timezone": None, "address": {"state": HUGE}},
    {"timezone": None, "address": {"postalCode": HUGE, "state": ["NY"]}},
    {"timezone": None, "address": {"state": {"nested": [[HUGE]]}}},
]


@pytest.mark.parametrize("contact", HOSTILE, ids=["timezone", "state", "zip", "nested"])
async def test_a_ten_megabyte_contact_field_is_named_not_copied_into_the_decision(
    database: Database, contact: dict[str, object]
) -> None:
    # The reason and the proof travel into the run's history and the audit chain: a
    # hostile field is named by a bounded excerpt, not copied whole.
    gate = PolicyGate(database, VOICE, rules=RulesConfig(presets=("tcpa",)))

    decision = await gate.evaluate(call("run-big", **contact))

    assert decision.decision == "deny"
    assert decision.reason is not None and len(decision.reason) < 2_000
    assert len(json.dumps(decision.detail, default=str)) < 50_000


async def test_a_voicemail_status_after_the_answer_does_not_erase_the_conversation(
    database: Database,
) -> None:
    # Status callbacks out of order (an answering-machine verdict arriving after the
    # person answered): the ledger must keep the conversation, so Reg F's seven quiet
    # days still hold the next call.
    gate = PolicyGate(database, VOICE, rules=RulesConfig(presets=("regf",)))
    first = await gate.evaluate(call("run-1", at=NOON - timedelta(days=2)))
    assert first.allowed
    async with database.transaction() as conn:
        assert await record_outcome(conn, "run-1", "send-1", "answered")
        assert not await record_outcome(conn, "run-1", "send-1", "voicemail")
        assert not await record_outcome(conn, "run-1", "send-1", "completed")

    decision = await gate.evaluate(call("run-2"))

    assert (decision.decision, decision.policy) == ("defer", "compliance")
    assert decision.reason is not None
    assert decision.reason.startswith("regf.after_conversation: ")
