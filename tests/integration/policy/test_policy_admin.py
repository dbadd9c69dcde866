"""Operator actions: what they store, and how bad input is refused (naming the field)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.policy import PolicyAdmin, PolicyInputError, UnknownSuppression

pytestmark = pytest.mark.asyncio(loop_scope="session")
NOW = datetime(2025, 6, 11, 15, 0, tzinfo=UTC)


async def test_suppressions_are_listed_filtered_replaced_and_removed(admin: PolicyAdmin) -> None:
    await admin.suppress("acme", "global", None, "c1", "legal", "operator", at=NOW)
    await admin.suppress("acme", "channel", "voice", "+44 20 7946 0958", "dnc", "import", at=NOW)
    await admin.suppress(
        "acme",
        "plan",
        "p1",
        "Ann@Example.com",
        "campaign",
        "operator",
        expires_at=NOW + timedelta(days=1),
        at=NOW,
    )
    await admin.suppress("globex", "global", None, "c1", "other tenant", "operator", at=NOW)
    replaced = await admin.suppress("acme", "global", "", "c1", "legal hold", "counsel", at=NOW)

    everything = await admin.list_suppressions("acme")
    plans = await admin.list_suppressions("acme", scope="plan")
    by_key = await admin.list_suppressions("acme", contact_key="+442079460958")
    active_later = await admin.list_suppressions("acme", active_at=NOW + timedelta(days=2))
    removed = await admin.unsuppress("acme", "plan", "p1", "ANN@example.com")

    assert (replaced.reason, replaced.source) == ("legal hold", "counsel")
    assert [(s.scope, s.scope_key, s.contact_key) for s in everything] == [
        ("channel", "voice", "+442079460958"),
        ("global", "", "c1"),
        ("plan", "p1", "ann@example.com"),
    ]
    assert [s.contact_key for s in plans] == ["ann@example.com"]
    assert plans[0].expires_at == NOW + timedelta(days=1)
    assert [s.scope for s in by_key] == ["channel"]
    assert [s.scope for s in active_later] == ["channel", "global"]
    assert removed.contact_key == "ann@example.com"
    assert len(await admin.list_suppressions("acme")) == 2
    with pytest.raises(UnknownSuppression, match=r"ann@example\.com is not suppressed"):
        await admin.unsuppress("acme", "plan", "p1", "ann@example.com")


async def test_budget_set_updates_and_refuses_overlaps(admin: PolicyAdmin) -> None:
    first = await admin.set_budget(
        "acme", "monthly", date(2025, 6, 1), date(2025, 6, 30), "usd", Decimal("100.5")
    )
    changed = await admin.set_budget(
        "acme", "monthly", date(2025, 6, 1), date(2025, 6, 30), "USD", Decimal("80")
    )
    july = await admin.set_budget(
        "acme", "monthly", date(2025, 7, 1), date(2025, 7, 31), "USD", Decimal("90")
    )

    assert (first.currency, first.limit) == ("USD", Decimal("100.5"))
    assert changed.limit == Decimal(80)
    assert await admin.get_budget("acme", "monthly", date(2025, 7, 15)) == july
    assert await admin.get_budget("acme", "monthly", date(2025, 8, 1)) is None
    with pytest.raises(PolicyInputError, match="periods may not overlap") as caught:
        await admin.set_budget(
            "acme", "monthly", date(2025, 6, 15), date(2025, 7, 15), "USD", Decimal(1)
        )
    assert caught.value.field == "period_start"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: a.grant_consent("acme", "c1", "sms", "form", "v1"), "channel"),
        (lambda a: a.grant_consent("acme", "c1", "email", "form", ""), "wording_version"),
        (lambda a: a.grant_consent("", "c1", "email", "form", "v1"), "tenant"),
        (
            lambda a: a.grant_consent("acme", "c1", "email", "form", "v1", datetime(2025, 1, 1)),  # noqa: DTZ001 - naive on purpose
            "at",
        ),
        (lambda a: a.revoke_consent("acme", " ", "email", "form"), "contact_id"),
        (lambda a: a.suppress("acme", "team", None, "c1", "r", "s"), "scope"),
        (lambda a: a.suppress("acme", "global", "email", "c1", "r", "s"), "scope_key"),
        (lambda a: a.suppress("acme", "channel", "fax", "c1", "r", "s"), "scope_key"),
        (lambda a: a.suppress("acme", "plan", None, "c1", "r", "s"), "scope_key"),
        (lambda a: a.suppress("acme", "global", None, "c1", "x" * 1001, "s"), "reason"),
        (lambda a: a.suppress("acme", "global", None, "", "r", "s"), "contact_key"),
        (
            lambda a: a.set_budget("acme", "b", date(2025, 1, 1), date(2025, 1, 31), "USD", 1.5),
            "limit",
        ),
        (
            lambda a: a.set_budget(
                "acme", "b", date(2025, 1, 1), date(2025, 1, 31), "USD", Decimal("0.0000001")
            ),
            "limit",
        ),
        (
            lambda a: a.set_budget(
                "acme", "b", date(2025, 1, 1), date(2025, 1, 31), "USD", Decimal(-1)
            ),
            "limit",
        ),
        (
            lambda a: a.set_budget(
                "acme", "b", date(2025, 2, 1), date(2025, 1, 31), "USD", Decimal(1)
            ),
            "period_end",
        ),
        (
            lambda a: a.set_budget("acme", "b", date(2025, 1, 1), date(2025, 1, 31), "US$", 1),
            "currency",
        ),
        (lambda a: a.settle_budget("run", "step", 0, Decimal("-1")), "actual"),
        (lambda a: a.settle_budget("run", "step", -1, None), "visit"),
    ],
)
async def test_bad_input_names_the_field(admin: PolicyAdmin, call: Any, field: str) -> None:
    with pytest.raises(PolicyInputError) as caught:
        await call(admin)

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
