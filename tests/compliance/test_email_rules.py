"""Email windows at their weekday and hour edges in one and several zones, the opt-out
clocks (CAN-SPAM, bulk senders) proving the opt-out was honoured at once, and revocation
of call consent."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.policy.config import HoursWindow
from adapters.policy.rules.email import EmailWindow, OptOutClock, Revocation, add_business_days
from adapters.policy.rules.presets import PRESETS

from .inputs import location, send

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
OFFICE = EmailWindow("tenant.email_window", HoursWindow(time(9), time(17), frozenset(range(1, 6))))


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A local New York instant in March 2026 (Tue 3rd; DST starts Sun 8th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    ("at", "until"),
    [
        (ny(3, 8, 59), ny(3, 9)),  # Tuesday, a minute early
        (ny(3, 9), None),  # opening instant: inside
        (ny(3, 16, 59), None),
        (ny(3, 17), ny(4, 9)),  # end is exclusive: Wednesday's opening
        (ny(6, 17), ny(9, 9)),  # Friday evening: Monday (after the DST change)
        (ny(7, 10), ny(9, 9)),  # Saturday is not a window day
        (ny(8, 12), ny(9, 9)),  # Sunday
        (ny(9, 9), None),  # Monday 09:00 EDT
    ],
)
def test_email_window_edges(at: datetime, until: datetime | None) -> None:
    result = OFFICE.check(send(channel="email", at=at.astimezone(UTC)))
    if until is None:
        assert result.verdict == "allow", result.reason
    else:
        assert (result.verdict, result.until) == ("defer", until.astimezone(UTC))
        assert OFFICE.check(send(channel="email", at=until.astimezone(UTC))).verdict == "allow"


@pytest.mark.parametrize(
    ("at", "until"),
    [
        # 09:30 in New York is 06:30 in Los Angeles: wait for 09:00 there (12:00 New York).
        (ny(3, 9, 30), ny(3, 12)),
        (ny(3, 12), None),
        (ny(3, 16, 59), None),
        # New York closes at 17:00: the next instant open in both is 09:00 Los Angeles.
        (ny(3, 17), ny(4, 12)),
    ],
)
def test_email_window_open_in_every_candidate_zone(at: datetime, until: datetime | None) -> None:
    both = location("America/New_York", "America/Los_Angeles")
    result = OFFICE.check(send(channel="email", at=at.astimezone(UTC), where=both))
    assert result.until == (None if until is None else until.astimezone(UTC)), result.reason
    assert set(result.detail["local"]) == {"America/New_York", "America/Los_Angeles"}


def test_email_window_without_a_zone_denies() -> None:
    result = OFFICE.check(send(channel="email", where=location()))
    assert (result.verdict, result.reason) == ("deny", "no time zone for the contact")
    odd = OFFICE.check(send(channel="email", where=location("America/New_York", "Mars/Base")))
    assert (odd.verdict, odd.reason) == ("deny", "'Mars/Base' is not an IANA zone")


def test_email_windows_that_never_overlap_deny() -> None:
    early = EmailWindow("plan.email_window", HoursWindow(time(9), time(10)))
    far = location("America/New_York", "Asia/Tokyo")
    result = early.check(send(channel="email", where=far))
    assert result.verdict == "deny"
    assert "never open in all of the contact's zones" in result.reason


def test_email_window_does_not_apply_to_calls() -> None:
    assert OFFICE.check(send(at=ny(7, 3).astimezone(UTC))).verdict == "allow"


OPTED = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("preset", "deadline", "allowance"),
    [
        # Ten business days from a Friday: two weeks later (weekends skipped).
        ("can-spam", datetime(2026, 3, 20, 12, 0, tzinfo=UTC), "10 business days"),
        ("gmail-bulk", datetime(2026, 3, 8, 12, 0, tzinfo=UTC), "48 hours"),
    ],
)
def test_opt_out_clocks_deny_at_once_and_prove_the_deadline(
    preset: str, deadline: datetime, allowance: str
) -> None:
    (clock,) = PRESETS[preset].rules
    assert isinstance(clock, OptOutClock)
    for at in (OPTED, OPTED + timedelta(minutes=1), deadline + timedelta(days=30)):
        result = clock.check(send(channel="email", at=at, opt_out_at=OPTED))
        assert result.verdict == "deny"
        assert result.rule == f"{preset}.opt_out"
        assert OPTED.isoformat() in result.reason
        assert deadline.isoformat() in result.reason
        assert "honoured it at once" in result.reason
        assert result.detail["deadline"] == deadline.isoformat()
        assert result.detail["honouredAt"] == OPTED.isoformat()
        assert result.detail["allowance"] == allowance
    before = clock.check(send(channel="email", at=OPTED - timedelta(seconds=1), opt_out_at=OPTED))
    assert before.verdict == "allow"
    assert clock.check(send(channel="email", at=OPTED)).reason == "no opt-out on record"
    assert clock.check(send(at=OPTED, opt_out_at=OPTED)).verdict == "allow"  # a call


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (datetime(2026, 3, 6, 9, tzinfo=UTC), 1, datetime(2026, 3, 9, 9, tzinfo=UTC)),
        (datetime(2026, 3, 7, 9, tzinfo=UTC), 1, datetime(2026, 3, 9, 9, tzinfo=UTC)),
        (datetime(2026, 3, 4, 9, tzinfo=UTC), 10, datetime(2026, 3, 18, 9, tzinfo=UTC)),
        (datetime(2026, 3, 4, 9, tzinfo=UTC), 0, datetime(2026, 3, 4, 9, tzinfo=UTC)),
    ],
)
def test_business_days(start: datetime, days: int, expected: datetime) -> None:
    assert add_business_days(start, days) == expected


@pytest.mark.parametrize(
    ("consent", "verdict"),
    [
        (
            {
                "status": "opted_out",
                "source": "reply:STOP",
                "recorded_at": "2026-03-01T10:00:00+00:00",
            },
            "deny",
        ),
        (
            {
                "status": "opted_in",
                "source": "web-form",
                "recorded_at": "2026-02-01T10:00:00+00:00",
            },
            "allow",
        ),
        (None, "allow"),
    ],
)
def test_revocation_by_any_reasonable_means(consent: dict[str, str] | None, verdict: str) -> None:
    result = Revocation().check(send(consent=consent))
    assert (result.rule, result.verdict) == ("tcpa.revocation", verdict)
    if verdict == "deny":
        assert "reply:STOP" in result.reason
        assert result.detail["recordedAt"] == "2026-03-01T10:00:00+00:00"
    assert Revocation().check(send(channel="email", consent=consent)).verdict == "allow"
