"""The gate's read-only policies through ``PolicyGate.evaluate``: suppression, consent,
hours, and their order; each decision with its reason and proof."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from adapters.policy import HoursWindow, PolicyAdmin, PolicyConfig, PolicyGate
from adapters.policy.rules.locate import shown
from adapters.storage import Database

from .helpers import NOON, counted, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

EMAIL_HOURS = PolicyConfig(hours={"email": HoursWindow(time(9), time(17), frozenset(range(1, 6)))})


async def test_allow_records_the_proof_of_every_policy(database: Database) -> None:
    decision = await PolicyGate(database).evaluate(send())

    assert decision.decision == "allow"
    assert (decision.policy, decision.reason, decision.until) == (None, None, None)
    compliance = decision.detail.pop("compliance")  # its shape: test_compliance_gate.py
    assert compliance["decision"] == "allow"
    assert decision.detail == {
        "suppression": {"keys": ["c1", "ann@example.com"], "matched": None},
        "consent": {"mode": "opt-out", "record": None},
        "hours": {"window": None},
        "contact_cap": {"cap": {"sends": 10, "days": 7}, "earlier": 0, "replay": False},
        "daily_limit": {"day": "2025-06-11", "count": 1, "limit": None, "replay": False},
        "budget": {"estimate": "0", "budget": None, "replay": False},
    }


# --- suppression ---------------------------------------------------------------------


async def test_global_suppression_denies_with_the_suppression_as_proof(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress("acme", "global", None, "c1", "asked to be forgotten", "operator")

    decision = await PolicyGate(database).evaluate(send())

    assert (decision.decision, decision.policy) == ("deny", "suppression")
    assert decision.reason == "contact key c1 is suppressed globally: asked to be forgotten"
    matched = decision.detail["suppression"]["matched"]
    assert matched["scope"] == "global" and matched["source"] == "operator"
    assert set(decision.detail) == {"suppression"}  # later policies are not evaluated
    assert await counted(database) == 0


async def test_channel_suppression_only_affects_that_channel(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress("acme", "channel", "email", "c1", "hard bounce", "bounce")
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")
    gate = PolicyGate(database)

    email = await gate.evaluate(send(channel="email"))
    voice = await gate.evaluate(send(channel="voice"))

    assert (email.decision, email.policy) == ("deny", "suppression")
    assert "on channel email" in (email.reason or "")
    assert voice.decision == "allow"


async def test_plan_suppression_only_affects_that_plan(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress("acme", "plan", "plan-1", "c1", "not for this campaign", "operator")
    gate = PolicyGate(database)

    in_plan = await gate.evaluate(send(plan_id="plan-1"))
    other_plan = await gate.evaluate(send(plan_id="plan-2"))
    other_tenant = await gate.evaluate(send(plan_id="plan-1", tenant="globex"))

    assert (in_plan.decision, in_plan.policy) == ("deny", "suppression")
    assert "for plan plan-1" in (in_plan.reason or "")
    assert other_plan.decision == "allow"
    assert other_tenant.decision == "allow"


async def test_suppressed_email_and_phone_match_after_normalization(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress("acme", "global", "", " ANN@Example.COM ", "complaint", "fbl")
    await admin.suppress("acme", "channel", "voice", "+1 (212) 555-0100", "do not call", "dnc")
    await admin.grant_consent("acme", "c2", "voice", "form", "v1")
    gate = PolicyGate(database)

    by_email = await gate.evaluate(send(id="c9", email="ann@example.com"))
    by_phone = await gate.evaluate(
        send(channel="voice", id="c2", email="bob@example.com", phone="+12125550100")
    )
    unrelated = await gate.evaluate(send(id="c3", email="carol@example.com"))

    assert (by_email.decision, by_email.policy) == ("deny", "suppression")
    assert by_email.detail["suppression"]["matched"]["contact_key"] == "ann@example.com"
    assert (by_phone.decision, by_phone.policy) == ("deny", "suppression")
    assert by_phone.detail["suppression"]["matched"]["contact_key"] == "+12125550100"
    assert unrelated.decision == "allow"


async def test_expired_suppression_no_longer_applies(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.suppress(
        "acme",
        "global",
        None,
        "c1",
        "cooling off",
        "operator",
        expires_at=NOON + timedelta(hours=1),
    )
    gate = PolicyGate(database)

    before = await gate.evaluate(send(at=NOON))
    after = await gate.evaluate(send(at=NOON + timedelta(hours=1)))

    assert before.decision == "deny"
    assert after.decision == "allow"


async def test_suppression_is_checked_before_consent(
    database: Database, admin: PolicyAdmin
) -> None:
    # Voice needs consent and c1 has none: suppression must still be the reason.
    await admin.suppress("acme", "global", None, "c1", "legal hold", "operator")

    decision = await PolicyGate(database).evaluate(send(channel="voice"))

    assert (decision.decision, decision.policy) == ("deny", "suppression")
    assert "consent" not in decision.detail


# --- consent -------------------------------------------------------------------------


async def test_required_consent_denies_without_a_record_and_allows_with_one(
    database: Database, admin: PolicyAdmin
) -> None:
    gate = PolicyGate(database)
    granted_at = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)

    before = await gate.evaluate(send(channel="voice"))
    await admin.grant_consent("acme", "c1", "voice", "web-form", "consent-v3", granted_at)
    after = await gate.evaluate(send(channel="voice"))

    assert (before.decision, before.policy) == ("deny", "consent")
    assert before.reason == "no consent on record for voice, where consent is required"
    assert after.decision == "allow"
    record = after.detail["consent"]["record"]
    assert after.detail["consent"]["mode"] == "required"
    assert (record["status"], record["source"], record["wording_version"]) == (
        "opted_in",
        "web-form",
        "consent-v3",
    )
    assert record["recorded_at"] == "2025-05-01T12:00:00+00:00"


async def test_latest_consent_record_wins(database: Database, admin: PolicyAdmin) -> None:
    gate = PolicyGate(database)
    day = datetime(2025, 5, 1, tzinfo=UTC)
    await admin.grant_consent("acme", "c1", "voice", "form", "v1", day)
    await admin.revoke_consent("acme", "c1", "voice", "reply-stop", day + timedelta(days=2))
    # Inserted last but recorded earlier (a late import): the revocation stays in force.
    await admin.grant_consent("acme", "c1", "voice", "import", "v0", day + timedelta(days=1))

    revoked = await gate.evaluate(send(channel="voice"))
    await admin.grant_consent("acme", "c1", "voice", "form", "v2", day + timedelta(days=3))
    regranted = await gate.evaluate(send(channel="voice"))

    assert (revoked.decision, revoked.policy) == ("deny", "consent")
    assert revoked.reason == (
        "contact opted out of voice at 2025-05-03T00:00:00+00:00 (source reply-stop)"
    )
    assert regranted.decision == "allow"
    assert regranted.detail["consent"]["record"]["wording_version"] == "v2"


async def test_opt_out_mode_denies_only_an_explicit_opt_out(
    database: Database, admin: PolicyAdmin
) -> None:
    gate = PolicyGate(database)

    no_record = await gate.evaluate(send(channel="email"))
    await admin.revoke_consent("acme", "c1", "email", "unsubscribe-link")
    opted_out = await gate.evaluate(send(channel="email"))
    other_channel_contact = await gate.evaluate(send(channel="email", id="c2", email="b@x.org"))

    assert no_record.decision == "allow"
    assert no_record.detail["consent"] == {"mode": "opt-out", "record": None}
    assert (opted_out.decision, opted_out.policy) == ("deny", "consent")
    assert opted_out.detail["consent"]["record"]["source"] == "unsubscribe-link"
    assert other_channel_contact.decision == "allow"


async def test_consent_mode_is_configurable_per_channel(
    database: Database, admin: PolicyAdmin
) -> None:
    strict = PolicyGate(database, PolicyConfig(consent_modes={"email": "required"}))
    lenient = PolicyGate(
        database,
        PolicyConfig(consent_modes={"voice": "opt-out"}),
    )

    email = await strict.evaluate(send(channel="email"))
    voice = await lenient.evaluate(send(channel="voice"))

    assert (email.decision, email.policy) == ("deny", "consent")
    assert voice.decision == "allow"


# --- hours ---------------------------------------------------------------------------


async def test_inside_the_window_allows_with_the_local_time(
    database: Database, admin: PolicyAdmin
) -> None:
    await admin.grant_consent("acme", "c1", "voice", "form", "v1")

    decision = await PolicyGate(database).evaluate(send(channel="voice"))

    assert decision.decision == "allow"
    assert decision.detail["hours"] == {
        "window": {"start": "08:00:00", "end": "21:00:00", "days": [1, 2, 3, 4, 5, 6, 7]},
        "timezone": "America/New_York",
        "local_time": "2025-06-11T11:00:00-04:00",
    }


async def test_before_opening_defers_to_todays_opening(database: Database) -> None:
    at = datetime(2025, 6, 11, 11, 30, tzinfo=UTC)  # 07:30 in New York, a Wednesday

    decision = await PolicyGate(database, EMAIL_HOURS).evaluate(send(at=at))

    assert (decision.decision, decision.policy) == ("defer", "hours")
    assert decision.until == datetime(2025, 6, 11, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert decision.detail["hours"]["opening_local"] == "2025-06-11T09:00:00-04:00"
    assert "deferred to 2025-06-11T09:00:00-04:00" in (decision.reason or "")
    assert "daily_limit" not in decision.detail
    assert await counted(database) == 0  # a deferred send holds no slot


async def test_after_closing_defers_to_the_next_days_opening(database: Database) -> None:
    at = datetime(2025, 6, 11, 22, 0, tzinfo=UTC)  # 18:00 in New York, Wednesday

    decision = await PolicyGate(database, EMAIL_HOURS).evaluate(send(at=at))

    assert decision.decision == "defer"
    assert decision.until == datetime(2025, 6, 12, 13, 0, tzinfo=UTC)  # Thursday 09:00 EDT


async def test_a_closed_weekend_defers_to_monday(database: Database) -> None:
    at = datetime(2025, 6, 13, 22, 0, tzinfo=UTC)  # Friday 18:00 in New York

    saturday = await PolicyGate(database, EMAIL_HOURS).evaluate(
        send(at=datetime(2025, 6, 14, 15, 0, tzinfo=UTC))
    )
    friday_evening = await PolicyGate(database, EMAIL_HOURS).evaluate(send(at=at))

    monday_nine = datetime(2025, 6, 16, 13, 0, tzinfo=UTC)
    assert (saturday.decision, saturday.until) == ("defer", monday_nine)
    assert (friday_evening.decision, friday_evening.until) == ("defer", monday_nine)


async def test_the_window_is_read_in_the_contacts_zone(database: Database) -> None:
    # 15:00 UTC is 17:00 in Berlin (closed at 17:00) and 11:00 in New York (open).
    gate = PolicyGate(database, EMAIL_HOURS)

    berlin = await gate.evaluate(send(timezone="Europe/Berlin"))
    new_york = await gate.evaluate(send(timezone="America/New_York"))

    assert (berlin.decision, berlin.until) == ("defer", datetime(2025, 6, 12, 7, 0, tzinfo=UTC))
    assert new_york.decision == "allow"


@pytest.mark.parametrize(
    ("zone", "at", "opening"),
    [
        # New York springs forward on 2025-03-09 at 02:00 EST (07:00 UTC): an opening at
        # 02:30 does not exist that day; it opens when the clock jumps to 03:00 EDT.
        (
            "America/New_York",
            datetime(2025, 3, 9, 5, 0, tzinfo=UTC),
            datetime(2025, 3, 9, 7, 0, tzinfo=UTC),
        ),
        # Berlin springs forward on 2025-03-30 at 02:00 CET (01:00 UTC).
        (
            "Europe/Berlin",
            datetime(2025, 3, 29, 23, 30, tzinfo=UTC),
            datetime(2025, 3, 30, 1, 0, tzinfo=UTC),
        ),
        # Fall back: 02:30 happens once in New York (01:00-02:00 repeats) -> 07:30 UTC.
        (
            "America/New_York",
            datetime(2025, 11, 2, 4, 0, tzinfo=UTC),
            datetime(2025, 11, 2, 7, 30, tzinfo=UTC),
        ),
        # Berlin falls back on 2025-10-26 at 03:00 CEST -> 02:00 CET: 02:30 happens twice,
        # the window opens at the first one (00:30 UTC).
        (
            "Europe/Berlin",
            datetime(2025, 10, 25, 23, 0, tzinfo=UTC),
            datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
        ),
    ],
)
async def test_daylight_saving_transitions(
    database: Database, zone: str, at: datetime, opening: datetime
) -> None:
    config = PolicyConfig(hours={"email": HoursWindow(time(2, 30), time(21))})

    decision = await PolicyGate(database, config).evaluate(send(at=at, timezone=zone))

    assert (decision.decision, decision.until) == ("defer", opening)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "America", "localtime", "../../etc/passwd", "x" * 300, 5]
)
async def test_an_invalid_time_zone_denies_and_is_never_guessed(
    database: Database, zone: object
) -> None:
    gate = PolicyGate(database, EMAIL_HOURS)

    decision = await gate.evaluate(send(timezone=zone))

    assert (decision.decision, decision.policy) == ("deny", "hours")
    # A long name is named by an excerpt and its length (``locate.shown``).
    assert decision.reason == f"contact time zone {shown(zone)} is not a known IANA time zone"
    assert await counted(database) == 0


async def test_a_contact_without_a_zone_uses_the_configured_default(database: Database) -> None:
    config = PolicyConfig(
        hours={"email": HoursWindow(time(9), time(17))}, default_timezone="Asia/Tokyo"
    )

    decision = await PolicyGate(database, config).evaluate(send(timezone=None))

    # 15:00 UTC is 00:00 in Tokyo: deferred to 09:00 JST, i.e. 00:00 UTC the next day.
    assert decision.detail["hours"]["timezone"] == "Asia/Tokyo"
    assert (decision.decision, decision.until) == ("defer", datetime(2025, 6, 12, 0, 0, tzinfo=UTC))


async def test_email_has_no_window_unless_configured(database: Database) -> None:
    midnight_in_new_york = datetime(2025, 6, 12, 4, 0, tzinfo=UTC)

    decision = await PolicyGate(database).evaluate(send(at=midnight_in_new_york))

    assert decision.decision == "allow"
    assert decision.detail["hours"] == {"window": None}
