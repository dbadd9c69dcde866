"""The daily send limit: exact under concurrency, idempotent per (run, step, visit)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from adapters.policy import PolicyAdmin, PolicyConfig, PolicyError, PolicyGate
from adapters.storage import Database

from .helpers import NOON, counted, reservations, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

N, K = 20, 7


async def test_concurrent_runs_send_exactly_the_limit(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(daily_limits={("acme", "email"): K}))

    decisions = await asyncio.gather(*(gate.evaluate(send(run_id=f"run-{i}")) for i in range(N)))

    outcomes = Counter((d.decision, d.policy) for d in decisions)
    assert outcomes == {("allow", None): K, ("deny", "daily_limit"): N - K}
    assert sorted(d.detail["daily_limit"]["count"] for d in decisions if d.allowed) == list(
        range(1, K + 1)
    )
    denied = next(d for d in decisions if not d.allowed)
    assert denied.reason == "daily email limit of 7 reached for tenant acme on 2025-06-11 (UTC)"
    assert await counted(database) == K
    assert await reservations(database) == K  # refused sends leave no reservation


async def test_concurrent_runs_over_the_limit_defer_to_the_next_utc_day(
    database: Database,
) -> None:
    config = PolicyConfig(default_daily_limits={"email": K}, on_daily_limit="defer_next_day")
    gate = PolicyGate(database, config)

    decisions = await asyncio.gather(*(gate.evaluate(send(run_id=f"run-{i}")) for i in range(N)))

    deferred = [d for d in decisions if d.decision == "defer"]
    assert sum(d.allowed for d in decisions) == K
    assert len(deferred) == N - K
    assert {d.until for d in deferred} == {datetime(2025, 6, 12, tzinfo=UTC)}
    assert {d.policy for d in deferred} == {"daily_limit"}
    assert await counted(database) == K


async def test_a_replayed_evaluation_allows_again_without_counting(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(daily_limits={("acme", "email"): 1}))
    request = send(run_id="run-a")

    first = await gate.evaluate(request)
    again = await gate.evaluate(request)
    concurrent = await asyncio.gather(*(gate.evaluate(request) for _ in range(5)))
    other_visit = await gate.evaluate(send(run_id="run-a", visit=1))

    assert first.allowed and again.allowed and all(d.allowed for d in concurrent)
    assert first.detail["daily_limit"] == {
        "day": "2025-06-11",
        "count": 1,
        "limit": 1,
        "replay": False,
    }
    assert again.detail["daily_limit"]["replay"] is True
    assert again.detail["daily_limit"]["count"] == 1
    # Another visit of the step is another send: it counts, and the limit is reached.
    assert (other_visit.decision, other_visit.policy) == ("deny", "daily_limit")
    assert await counted(database) == 1


async def test_limits_are_per_tenant_channel_and_utc_day(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")
    config = PolicyConfig(
        daily_limits={("acme", "email"): 1, ("globex", "email"): 2},
        default_daily_limits={"voice": 1},
    )
    gate = PolicyGate(database, config)
    tomorrow = NOON + timedelta(days=1)

    results = [
        await gate.evaluate(send()),
        await gate.evaluate(send()),
        await gate.evaluate(send(channel="voice")),
        await gate.evaluate(send(tenant="globex")),
        await gate.evaluate(send(tenant="globex")),
        await gate.evaluate(send(at=tomorrow)),
    ]

    assert [d.decision for d in results] == ["allow", "deny", "allow", "allow", "allow", "allow"]
    assert await counted(database, day=tomorrow.date()) == 1


async def test_the_day_is_the_utc_day_not_the_contacts(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(daily_limits={("acme", "email"): 1}))
    # 23:30 UTC is 19:30 in New York and 08:30 the next day in Tokyo: both are 2025-06-11.
    late = datetime(2025, 6, 11, 23, 30, tzinfo=UTC)

    first = await gate.evaluate(send(at=late, timezone="America/New_York"))
    second = await gate.evaluate(send(at=late, timezone="Asia/Tokyo", id="c2"))

    assert first.allowed
    assert (second.decision, second.policy) == ("deny", "daily_limit")


async def test_a_zero_limit_denies_every_send(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(default_daily_limits={"email": 0}))

    decision = await gate.evaluate(send())

    assert (decision.decision, decision.policy) == ("deny", "daily_limit")
    assert await counted(database) == 0
    assert await reservations(database) == 0


async def test_a_replay_still_sees_a_new_suppression(
    database: Database, admin: PolicyAdmin
) -> None:
    gate = PolicyGate(database, PolicyConfig(daily_limits={("acme", "email"): 5}))
    request = send(run_id="run-a")
    assert (await gate.evaluate(request)).allowed
    await admin.suppress("acme", "global", None, "c1", "complaint", "fbl")

    replay = await gate.evaluate(request)

    assert (replay.decision, replay.policy) == ("deny", "suppression")
    # The slot stays counted: over-counting is the fail-closed direction.
    assert await counted(database) == 1


async def test_one_key_cannot_be_counted_for_two_channels(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")
    gate = PolicyGate(database)
    assert (await gate.evaluate(send(run_id="run-a"))).allowed

    with pytest.raises(PolicyError, match="was counted for tenant acme on email"):
        await gate.evaluate(send(run_id="run-a", channel="voice"))
