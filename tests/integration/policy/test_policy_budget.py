"""Cost budgets: the estimate is reserved before the send, settled after it."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from adapters.policy import Costs, PolicyAdmin, PolicyConfig, PolicyGate, SettlementConflict
from adapters.storage import Database

from .helpers import counted, reservations, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

JUNE = (date(2025, 6, 1), date(2025, 6, 30))
COSTS = Costs(currency="USD", per_email=Decimal("0.25"), per_voice_minute=Decimal("0.10"))


async def june_budget(admin: PolicyAdmin, limit: str, currency: str = "USD") -> None:
    await admin.set_budget("acme", "default", *JUNE, currency, Decimal(limit))


async def used(admin: PolicyAdmin) -> tuple[Decimal, Decimal]:
    budget = await admin.get_budget("acme", "default", JUNE[0])
    assert budget is not None
    return budget.reserved, budget.spent


async def test_reserves_within_the_limit_and_denies_the_send_that_would_exceed_it(
    database: Database, admin: PolicyAdmin
) -> None:
    await june_budget(admin, "1.00")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))

    allowed = [await gate.evaluate(send()) for _ in range(4)]
    refused = await gate.evaluate(send())

    assert all(d.allowed for d in allowed)
    assert allowed[0].detail["budget"] == {
        "estimate": "0.25",
        "budget": {
            "name": "default",
            "period_start": "2025-06-01",
            "period_end": "2025-06-30",
            "currency": "USD",
            "limit": "1",
            "reserved": "0.25",
            "spent": "0",
        },
        "replay": False,
    }
    assert (refused.decision, refused.policy) == ("deny", "budget")
    assert refused.reason == (
        "estimated cost 0.25 USD would exceed budget 'default' (2025-06-01 to 2025-06-30): "
        "limit 1, reserved 1, spent 0"
    )
    # The refused send's counter increment was rolled back with the budget refusal.
    assert await counted(database) == 4
    assert await reservations(database) == 4
    assert await used(admin) == (Decimal("1.000000"), Decimal("0.000000"))


async def test_concurrent_sends_never_overspend(database: Database, admin: PolicyAdmin) -> None:
    await june_budget(admin, "0.75")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))

    decisions = await asyncio.gather(*(gate.evaluate(send(run_id=f"r{i}")) for i in range(10)))

    assert sum(d.allowed for d in decisions) == 3
    assert {d.policy for d in decisions if not d.allowed} == {"budget"}
    assert await counted(database) == 3
    assert await used(admin) == (Decimal("0.75"), Decimal(0))


async def test_voice_estimate_is_per_started_minute_of_the_cap(
    database: Database, admin: PolicyAdmin
) -> None:
    await june_budget(admin, "10")
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))

    decision = await gate.evaluate(send(channel="voice", max_duration_seconds=121))

    assert decision.detail["budget"]["estimate"] == "0.3"  # 3 started minutes x 0.10


async def test_a_replay_reserves_nothing_more(database: Database, admin: PolicyAdmin) -> None:
    await june_budget(admin, "1")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))
    request = send(run_id="run-a")

    await gate.evaluate(request)
    again = await gate.evaluate(request)

    assert again.allowed and again.detail["budget"]["replay"] is True
    assert await used(admin) == (Decimal("0.25"), Decimal(0))


async def test_settle_commits_the_actual_cost_once(database: Database, admin: PolicyAdmin) -> None:
    await june_budget(admin, "1")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))
    await gate.evaluate(send(run_id="run-a"))

    settled = await admin.settle_budget("run-a", "send-1", 0, Decimal("0.20"))
    repeated = await admin.settle_budget("run-a", "send-1", 0, Decimal("0.20"))

    assert settled is not None and repeated == settled
    assert (settled.status, settled.estimate, settled.actual) == (
        "committed",
        Decimal("0.25"),
        Decimal("0.2"),
    )
    assert await used(admin) == (Decimal(0), Decimal("0.20"))
    with pytest.raises(SettlementConflict, match=r"already committed at 0\.2"):
        await admin.settle_budget("run-a", "send-1", 0, None)


async def test_settle_releases_the_estimate_of_a_send_that_did_not_happen(
    database: Database, admin: PolicyAdmin
) -> None:
    await june_budget(admin, "0.25")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))
    assert (await gate.evaluate(send(run_id="run-a"))).allowed
    assert not (await gate.evaluate(send(run_id="run-b"))).allowed

    released = await admin.settle_budget("run-a", "send-1", 0, None)
    retry = await gate.evaluate(send(run_id="run-b"))

    assert released is not None and released.status == "released" and released.actual is None
    assert retry.allowed
    assert await admin.settle_budget("run-x", "send-1", 0, None) is None  # reserved nothing


async def test_a_replay_denied_by_an_earlier_policy_releases_its_estimate(
    database: Database, admin: PolicyAdmin
) -> None:
    await june_budget(admin, "1")
    gate = PolicyGate(database, PolicyConfig(costs=COSTS))
    request = send(run_id="run-a")
    await gate.evaluate(request)
    await admin.revoke_consent("acme", "c1", "email", "unsubscribe")

    replay = await gate.evaluate(request)

    assert (replay.decision, replay.policy) == ("deny", "consent")
    assert replay.detail["released_budget_estimate"] == "0.25"
    assert await used(admin) == (Decimal(0), Decimal(0))
    # Consent given again: the same key reserves again, and still counts once.
    await admin.grant_consent("acme", "c1", "email", "form", "v2")
    allowed = await gate.evaluate(request)
    assert allowed.allowed and allowed.detail["budget"]["replay"] is False
    assert allowed.detail["daily_limit"]["replay"] is True
    assert await used(admin) == (Decimal("0.25"), Decimal(0))
    assert await counted(database) == 1


async def test_a_budget_in_another_currency_denies(database: Database, admin: PolicyAdmin) -> None:
    await june_budget(admin, "100", currency="EUR")

    decision = await PolicyGate(database, PolicyConfig(costs=COSTS)).evaluate(send())

    assert (decision.decision, decision.policy) == ("deny", "budget")
    assert "in EUR but costs are estimated in USD" in (decision.reason or "")
    assert await counted(database) == 0


async def test_without_a_budget_cost_is_unlimited_unless_one_is_required(
    database: Database,
) -> None:
    free = await PolicyGate(database, PolicyConfig(costs=COSTS)).evaluate(send())
    strict = await PolicyGate(database, PolicyConfig(costs=COSTS, budget_required=True)).evaluate(
        send()
    )

    assert free.allowed and free.detail["budget"]["budget"] is None
    assert (strict.decision, strict.policy) == ("deny", "budget")
    assert strict.reason == "tenant acme has no budget 'default' covering 2025-06-11"
    assert await counted(database) == 1
