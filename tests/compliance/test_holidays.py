"""State holiday and Sunday bans: banned local dates defer to the next local midnight,
in every candidate zone of a contact located in the state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from adapters.policy.rules.holidays import (
    HOLIDAY_BANS,
    HOLIDAY_DATES,
    HOLIDAYS_VERSION,
    YEARS,
    HolidayBan,
)
from adapters.policy.rules.locate import locate
from adapters.policy.rules.model import RuleInput

BANS = {ban.name: ban for ban in HOLIDAY_BANS}
LA, RI, MS, AL, UT = (
    BANS["louisiana.holiday"],
    BANS["rhode-island.holiday"],
    BANS["mississippi.holiday"],
    BANS["alabama.holiday"],
    BANS["utah.holiday"],
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check(ban: HolidayBan, contact: dict[str, Any], at: str, channel: str = "voice") -> Any:
    return ban.check(RuleInput("t1", "p1", channel, utc(at), contact, locate(contact)))


NEW_ORLEANS = {"address": {"state": "LA", "postalCode": "70112"}}
PROVIDENCE = {"address": {"postalCode": "02903"}}
JACKSON = {"phone": "+16015550100"}
MONTGOMERY = {"address": {"state": "AL"}}
SALT_LAKE = {"address": {"postalCode": "84101"}}


@pytest.mark.parametrize(
    ("ban", "contact", "at", "verdict", "until"),
    [
        # Christmas 2026 (Friday) in New Orleans (CST, UTC-6): next day at 00:00 local.
        (LA, NEW_ORLEANS, "2026-12-25T15:00:00", "defer", "2026-12-26T06:00:00"),
        (LA, NEW_ORLEANS, "2026-12-25T05:59:00", "allow", None),  # 23:59 on the 24th
        (LA, NEW_ORLEANS, "2026-12-25T06:00:00", "defer", "2026-12-26T06:00:00"),
        (LA, NEW_ORLEANS, "2026-12-26T06:00:00", "allow", None),
        # Friday July 3 (observed), Saturday July 4, Sunday July 5: Monday 00:00 CDT.
        (LA, NEW_ORLEANS, "2026-07-03T15:00:00", "defer", "2026-07-06T05:00:00"),
        # Mardi Gras 2027.
        (LA, NEW_ORLEANS, "2027-02-09T18:00:00", "defer", "2027-02-10T06:00:00"),
        # A Sunday (2026-03-15) in Providence (EDT): Monday 00:00 local.
        (RI, PROVIDENCE, "2026-03-15T16:00:00", "defer", "2026-03-16T04:00:00"),
        (RI, PROVIDENCE, "2026-03-14T16:00:00", "allow", None),
        # Victory Day, second Monday of August.
        (RI, PROVIDENCE, "2026-08-10T16:00:00", "defer", "2026-08-11T04:00:00"),
        # Mississippi: Sundays only (its holiday ban was repealed).
        (MS, JACKSON, "2026-03-15T16:00:00", "defer", "2026-03-16T05:00:00"),
        (MS, JACKSON, "2026-12-25T16:00:00", "allow", None),
        # Alabama: holidays, no Sunday ban; Mrs. Rosa L. Parks Day, December 1.
        (AL, MONTGOMERY, "2026-03-15T16:00:00", "allow", None),
        (AL, MONTGOMERY, "2026-12-01T16:00:00", "defer", "2026-12-02T06:00:00"),
        # Utah: Pioneer Day 2027 falls on a Saturday, observed Friday: both banned, then
        # Sunday, so Monday 00:00 MDT.
        (UT, SALT_LAKE, "2027-07-23T16:00:00", "defer", "2027-07-26T06:00:00"),
    ],
)
def test_banned_days_defer_to_the_next_permitted_local_midnight(
    ban: HolidayBan, contact: dict[str, Any], at: str, verdict: str, until: str | None
) -> None:
    result = check(ban, contact, at)
    assert (result.verdict, result.until) == (verdict, None if until is None else utc(until))
    assert result.detail["tablesVersion"] == HOLIDAYS_VERSION


def test_reason_names_the_holiday_and_the_state() -> None:
    result = check(LA, NEW_ORLEANS, "2026-12-25T15:00:00")
    assert result.reason.startswith("2026-12-25 is Christmas Day in LA")
    assert result.detail["localDates"] == {"America/Chicago": "2026-12-25"}


def test_every_candidate_zones_local_date_is_read() -> None:
    # Located in Louisiana, but also possibly in Honolulu: at 07:00 UTC on the 26th it is
    # still Christmas in Hawaii, so the ban holds until Hawaii's midnight.
    contact = {"address": {"state": "LA"}, "timezone": "Pacific/Honolulu"}
    result = check(LA, contact, "2026-12-26T07:00:00")
    assert (result.verdict, result.until) == ("defer", utc("2026-12-26T10:00:00"))
    assert "Pacific/Honolulu" in result.reason


@pytest.mark.parametrize(
    ("contact", "channel", "reason"),
    [
        ({"address": {"state": "TX"}}, "voice", "not applicable (contact not located in LA)"),
        ({"timezone": "America/Chicago"}, "voice", "not applicable (contact not located in LA)"),
        (NEW_ORLEANS, "email", "not applicable to email"),
    ],
)
def test_not_applicable(contact: dict[str, Any], channel: str, reason: str) -> None:
    result = check(LA, contact, "2026-12-25T15:00:00", channel=channel)
    assert (result.verdict, result.reason) == ("allow", reason)


def test_a_phone_in_the_state_is_enough() -> None:
    # A Louisiana area code with a Texas address: the ban applies (any source).
    contact = {"phone": "+15045550100", "address": {"state": "TX"}}
    assert check(LA, contact, "2026-12-25T15:00:00").verdict == "defer"


def test_a_date_beyond_the_tables_denies() -> None:
    result = check(LA, NEW_ORLEANS, "2028-01-04T16:00:00")
    assert result.verdict == "deny"
    assert "no holiday table for LA in 2028" in result.reason


def test_tables_cover_their_years_and_every_ban_has_a_citation() -> None:
    for state, table in HOLIDAY_DATES.items():
        assert {day.year for day in table} <= YEARS, state
        if table:
            assert {day.year for day in table} == YEARS, state
    for ban in HOLIDAY_BANS:
        assert ban.citation and ban.states <= set(HOLIDAY_DATES)
        assert ban.name.endswith(".holiday")


@pytest.mark.parametrize(
    ("state", "day", "name"),
    [
        ("LA", date(2026, 2, 17), "Mardi Gras"),
        ("LA", date(2027, 3, 26), "Good Friday"),
        ("RI", date(2027, 8, 9), "Victory Day"),
        ("UT", date(2026, 7, 24), "Pioneer Day"),
        ("AL", date(2027, 4, 26), "Confederate Memorial Day"),
        ("RI", date(2027, 12, 27), "Christmas Day (observed)"),
    ],
)
def test_table_dates(state: str, day: date, name: str) -> None:
    assert HOLIDAY_DATES[state][day] == name
