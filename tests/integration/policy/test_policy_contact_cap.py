"""The per-contact send cap (issue 18, item 13): every deployment has one.

A plan that loops a send (or many plans at once) can send one contact at most
``sends`` times in ``days`` days: by default 10 in 7 days, across runs and channels.
The (N+1)th send is denied with the rule named, exactly, also under concurrency.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.policy import (
    DEFAULT_CONTACT_CAP,
    ContactCap,
    PolicyAdmin,
    PolicyConfig,
    PolicyGate,
)
from adapters.policy.tables import CONTACT_SENDS
from adapters.storage import Database

from .helpers import NOON, counted, send

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _recorded(database: Database) -> int:
    async with database.snapshot() as conn:
        return int(await conn.scalar(select(func.count()).select_from(CONTACT_SENDS)) or 0)


async def test_the_default_cap_denies_the_eleventh_send_in_a_week(
    database: Database, admin: PolicyAdmin
) -> None:
    assert (DEFAULT_CONTACT_CAP.sends, DEFAULT_CONTACT_CAP.days) == (10, 7)
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")
    gate = PolicyGate(database)  # the default configuration: the cap is on
    # Ten sends to c1 over six days, from ten runs, on both channels ...
    allowed = [
        await gate.evaluate(
            send(
                run_id=f"run-{i}",
                channel="voice" if i % 3 == 0 else "email",
                at=NOON - timedelta(days=6) + timedelta(hours=i),
            )
        )
        for i in range(10)
    ]
    assert [d.decision for d in allowed] == ["allow"] * 10
    assert [d.detail["contact_cap"]["earlier"] for d in allowed] == list(range(10))
    # ... and the eleventh is denied, naming the rule, holding no reservation.
    denied = await gate.evaluate(send(run_id="run-11"))
    assert (denied.decision, denied.policy) == ("deny", "contact_cap")
    assert denied.reason == (
        "contact send cap reached: the contact had 10 sends in the 7 days up to "
        "2025-06-11T15:00:00+00:00 (cap 10 sends per contact in 7 days for tenant acme)"
    )
    assert denied.detail["contact_cap"] == {
        "cap": {"sends": 10, "days": 7},
        "earlier": 10,
        "replay": False,
    }
    assert "daily_limit" not in denied.detail  # later policies are not evaluated
    assert await _recorded(database) == 10
    # Another contact of the same tenant is not affected.
    assert (await gate.evaluate(send(run_id="run-12", id="c2", email="bo@example.com"))).allowed


async def test_sends_older_than_the_window_do_not_count(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(contact_cap=ContactCap(sends=2, days=1)))
    day_before = NOON - timedelta(days=1)
    assert (await gate.evaluate(send(run_id="old-1", at=day_before))).allowed
    assert (await gate.evaluate(send(run_id="old-2", at=day_before))).allowed
    assert (await gate.evaluate(send(run_id="new-1"))).allowed  # exactly a day later
    assert (await gate.evaluate(send(run_id="new-2"))).allowed
    third = await gate.evaluate(send(run_id="new-3"))
    assert (third.decision, third.policy) == ("deny", "contact_cap")


async def test_concurrent_sends_to_one_contact_stop_exactly_at_the_cap(
    database: Database,
) -> None:
    gate = PolicyGate(database, PolicyConfig(contact_cap=ContactCap(sends=4, days=7)))
    decisions = await asyncio.gather(*(gate.evaluate(send(run_id=f"run-{i}")) for i in range(12)))
    outcomes = Counter((d.decision, d.policy) for d in decisions)
    assert outcomes == {("allow", None): 4, ("deny", "contact_cap"): 8}
    assert await _recorded(database) == 4
    assert await counted(database) == 4  # a capped send is not counted for the day either


async def test_a_retried_check_of_a_counted_send_is_allowed_again(database: Database) -> None:
    gate = PolicyGate(database, PolicyConfig(contact_cap=ContactCap(sends=1, days=7)))
    first = await gate.evaluate(send(run_id="run-a"))
    again = await gate.evaluate(send(run_id="run-a"))
    other = await gate.evaluate(send(run_id="run-b"))
    assert first.allowed and again.allowed
    assert again.detail["contact_cap"]["replay"] is True
    assert (other.decision, other.policy) == ("deny", "contact_cap")
    assert await _recorded(database) == 1


async def test_the_cap_is_configurable_per_tenant_and_may_be_removed(database: Database) -> None:
    config = PolicyConfig(
        contact_cap=ContactCap(sends=1, days=7),
        contact_caps={"acme": ContactCap(sends=2, days=7), "free": None},
    )
    gate = PolicyGate(database, config)
    acme = [await gate.evaluate(send(run_id=f"a-{i}")) for i in range(3)]
    assert [d.allowed for d in acme] == [True, True, False]
    other = [await gate.evaluate(send(run_id=f"o-{i}", tenant="other")) for i in range(2)]
    assert [d.allowed for d in other] == [True, False]
    free = [await gate.evaluate(send(run_id=f"f-{i}", tenant="free")) for i in range(12)]
    assert all(d.allowed for d in free)
    assert free[-1].detail["contact_cap"] == {"cap": None, "earlier": 0, "replay": False}
