"""State bans on telephone solicitation on Sundays and legal holidays, as dated tables.

Each state's table lists the local dates of 2026 and 2027 on which it bans the calls,
with the statute or rule that bans them (``HOLIDAY_BANS``' citations) and the holiday
statute that names the days. The tables are read conservatively: a day a source lists
as restricted, or a legal holiday the statute names but a regulator says it does not
enforce, is banned; a holiday falling on a Sunday also bans the Monday after, and one
falling on a Saturday the day the state observes it (Friday; Monday for Rhode Island,
as telemarketing compliance calendars show). Days a governor proclaims ad hoc (e.g.
Louisiana's July 3, 2023) and Louisiana's state-of-emergency bans are not known in
advance and are not here. A date outside the tables' years denies (the table needs a
new edition), never allows by default.

A ban is read in the local date of *every* candidate zone of a contact located in the
state (fail-closed), and defers to the next local midnight after the banned day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from adapters.policy.rules.model import RuleInput, RuleResult, Verdict
from adapters.policy.zones import zone

HOLIDAYS_VERSION = "holidays-2026-12-07"
YEARS = frozenset({2026, 2027})
# A ban defers at most to the end of a run of banned days; this bounds the search.
MAX_ROUNDS = 32


def _table(entries: str) -> Mapping[date, str]:
    """``YYYY-MM-DD name`` lines as a read-only date -> holiday map."""
    rows = (line.strip().split(" ", 1) for line in entries.strip().splitlines())
    return MappingProxyType({date.fromisoformat(day): name for day, name in rows})


# Legal holidays: La. R.S. 1:55 (as read: New Year's, Battle of New Orleans, MLK,
# Robert E. Lee, Washington's birthday, Mardi Gras, Good Friday, Memorial, Jefferson
# Davis, Juneteenth, Independence, Huey P. Long, Labor, Columbus, All Saints, Veterans,
# general election day, Thanksgiving and the day after, Christmas).
_LA = """
2026-01-01 New Year's Day
2026-01-08 Battle of New Orleans
2026-01-19 Martin Luther King Jr. Day; Robert E. Lee Day
2026-02-16 Washington's Birthday
2026-02-17 Mardi Gras
2026-04-03 Good Friday
2026-05-25 Memorial Day
2026-06-03 Jefferson Davis's Birthday
2026-06-19 Juneteenth
2026-07-03 Independence Day (observed)
2026-07-04 Independence Day
2026-08-31 Huey P. Long Day (observed)
2026-09-07 Labor Day
2026-10-12 Columbus Day
2026-11-02 All Saints' Day (observed)
2026-11-03 General Election Day
2026-11-11 Veterans Day
2026-11-26 Thanksgiving Day
2026-11-27 Day after Thanksgiving
2026-12-25 Christmas Day
2027-01-01 New Year's Day
2027-01-08 Battle of New Orleans
2027-01-18 Martin Luther King Jr. Day
2027-01-19 Robert E. Lee Day
2027-02-09 Mardi Gras
2027-02-15 Washington's Birthday
2027-03-26 Good Friday
2027-05-31 Memorial Day
2027-06-03 Jefferson Davis's Birthday
2027-06-18 Juneteenth (observed)
2027-06-19 Juneteenth
2027-07-05 Independence Day (observed)
2027-08-30 Huey P. Long Day
2027-09-06 Labor Day
2027-10-11 Columbus Day
2027-11-01 All Saints' Day
2027-11-11 Veterans Day
2027-11-25 Thanksgiving Day
2027-11-26 Day after Thanksgiving
2027-12-24 Christmas Day (observed)
2027-12-25 Christmas Day
"""
# Legal holidays: R.I. Gen. Laws 25-1-1 and 25-2 (Victory Day, second Monday of August;
# Rhode Island Independence Day, May 4; general election day in even years).
_RI = """
2026-01-01 New Year's Day
2026-01-19 Martin Luther King Jr. Day
2026-02-16 Washington's Birthday
2026-05-04 Rhode Island Independence Day
2026-05-25 Memorial Day
2026-07-04 Independence Day
2026-07-06 Independence Day (observed)
2026-08-10 Victory Day
2026-09-07 Labor Day
2026-10-12 Columbus Day
2026-11-03 General Election Day
2026-11-11 Veterans Day
2026-11-26 Thanksgiving Day
2026-12-25 Christmas Day
2027-01-01 New Year's Day
2027-01-18 Martin Luther King Jr. Day
2027-02-15 Washington's Birthday
2027-05-04 Rhode Island Independence Day
2027-05-31 Memorial Day
2027-07-05 Independence Day (observed)
2027-08-09 Victory Day
2027-09-06 Labor Day
2027-10-11 Columbus Day
2027-11-11 Veterans Day
2027-11-25 Thanksgiving Day
2027-12-25 Christmas Day
2027-12-27 Christmas Day (observed)
"""
# Legal holidays: Utah Code 63G-1-301 (Human Rights Day, Washington and Lincoln Day,
# Juneteenth, Pioneer Day; Saturday holidays observed the Friday before).
_UT = """
2026-01-01 New Year's Day
2026-01-19 Martin Luther King Jr. / Human Rights Day
2026-02-16 Washington and Lincoln Day
2026-05-25 Memorial Day
2026-06-19 Juneteenth National Freedom Day
2026-07-03 Independence Day (observed)
2026-07-04 Independence Day
2026-07-24 Pioneer Day
2026-09-07 Labor Day
2026-10-12 Columbus Day
2026-11-11 Veterans Day
2026-11-26 Thanksgiving Day
2026-12-25 Christmas Day
2027-01-01 New Year's Day
2027-01-18 Martin Luther King Jr. / Human Rights Day
2027-02-15 Washington and Lincoln Day
2027-05-31 Memorial Day
2027-06-18 Juneteenth National Freedom Day (observed)
2027-06-19 Juneteenth National Freedom Day
2027-07-05 Independence Day (observed)
2027-07-23 Pioneer Day (observed)
2027-07-24 Pioneer Day
2027-09-06 Labor Day
2027-10-11 Columbus Day
2027-11-11 Veterans Day
2027-11-25 Thanksgiving Day
2027-12-24 Christmas Day (observed)
2027-12-25 Christmas Day
"""
# State holidays: Ala. Code 1-3-8 (Robert E. Lee with MLK, Jefferson with Washington,
# Mardi Gras (Baldwin and Mobile counties; banned statewide here), Confederate Memorial
# Day, Jefferson Davis's birthday, Columbus/Fraternal Day, Rosa Parks Day, Juneteenth
# as proclaimed).
_AL = """
2026-01-01 New Year's Day
2026-01-19 Robert E. Lee / Martin Luther King Jr. Birthday
2026-02-16 George Washington / Thomas Jefferson Birthday
2026-02-17 Mardi Gras
2026-04-27 Confederate Memorial Day
2026-05-25 National Memorial Day
2026-06-01 Jefferson Davis's Birthday
2026-06-19 Juneteenth
2026-07-03 Independence Day (observed)
2026-07-04 Independence Day
2026-09-07 Labor Day
2026-10-12 Columbus Day / Fraternal Day
2026-11-11 Veterans Day
2026-11-26 Thanksgiving Day
2026-12-01 Mrs. Rosa L. Parks Day
2026-12-25 Christmas Day
2027-01-01 New Year's Day
2027-01-18 Robert E. Lee / Martin Luther King Jr. Birthday
2027-02-09 Mardi Gras
2027-02-15 George Washington / Thomas Jefferson Birthday
2027-04-26 Confederate Memorial Day
2027-05-31 National Memorial Day
2027-06-07 Jefferson Davis's Birthday
2027-06-18 Juneteenth (observed)
2027-06-19 Juneteenth
2027-07-05 Independence Day (observed)
2027-09-06 Labor Day
2027-10-11 Columbus Day / Fraternal Day
2027-11-11 Veterans Day
2027-11-25 Thanksgiving Day
2027-12-01 Mrs. Rosa L. Parks Day
2027-12-24 Christmas Day (observed)
2027-12-25 Christmas Day
"""

# State -> banned dates. Mississippi's ban is Sundays only: its holiday ban (PSC rule
# 39 Miss. Admin. Code Pt. I, R. 1:28) was repealed in 2023-2024.
HOLIDAY_DATES: Mapping[str, Mapping[date, str]] = MappingProxyType(
    {"LA": _table(_LA), "RI": _table(_RI), "UT": _table(_UT), "AL": _table(_AL), "MS": {}}
)


@dataclass(frozen=True, slots=True)
class HolidayBan:
    """No sends on ``channels`` on the listed local dates (and, with ``sundays``, on
    Sundays) for contacts located in ``states``; defers to the next permitted day."""

    name: str
    states: frozenset[str]
    channels: frozenset[str] = frozenset({"voice"})
    sundays: bool = False
    citation: str = ""

    def check(self, inp: RuleInput) -> RuleResult:
        """Allow unless the local date is banned in a candidate zone; defer to the
        first instant at which no candidate zone's local date is banned."""
        detail: dict[str, Any] = {
            "states": sorted(self.states),
            "sundays": self.sundays,
            "citation": self.citation,
            "tablesVersion": HOLIDAYS_VERSION,
        }
        if inp.channel not in self.channels:
            return self._result("allow", f"not applicable to {inp.channel}", detail)
        located = frozenset(s for states in inp.location.states.values() for s in states)
        states = sorted(located & self.states)
        detail["locatedStates"] = sorted(located)
        if not states:
            where = ", ".join(sorted(self.states))
            return self._result("allow", f"not applicable (contact not located in {where})", detail)
        zones = [(name, zone(name)) for name in inp.location.zones]
        known = [(name, tz) for name, tz in zones if tz is not None]
        if not known or len(known) != len(zones):
            reason = "no time zone for the contact: the local date cannot be read"
            return self._result("deny", reason, detail)
        at = inp.at.astimezone(UTC)
        detail["localDates"] = {name: at.astimezone(tz).date().isoformat() for name, tz in known}
        t, first = at, None
        for _ in range(MAX_ROUNDS):
            banned = [(name, tz, why) for name, tz in known if (why := self._why(t, tz, states))]
            if not banned:
                break
            first = first or banned[0]
            for name, _tz, why in banned:
                if why.startswith("no holiday table"):
                    return self._result("deny", f"{why} ({name})", detail)
            t = max(_next_midnight(t, tz) for _, tz, _why in banned)
        else:
            return self._result("deny", f"banned days run past {MAX_ROUNDS} days", detail)
        if first is None:
            return self._result("allow", f"not a banned day in {', '.join(states)}", detail)
        name, _tz, why = first
        reason = (
            f"{why} in {', '.join(states)} (local date in {name}); next permitted {t.isoformat()}"
        )
        return self._result("defer", reason, detail, t)

    def _why(self, t: datetime, tz: ZoneInfo, states: list[str]) -> str | None:
        """Why the local date at ``t`` in ``tz`` is banned, or ``None``."""
        day = t.astimezone(tz).date()
        if self.sundays and day.isoweekday() == 7:
            return f"{day.isoformat()} is a Sunday"
        for state in states:
            table = HOLIDAY_DATES.get(state, {})
            if table and day.year not in YEARS:
                return f"no holiday table for {state} in {day.year}"
            if day in table:
                return f"{day.isoformat()} is {table[day]}"
        return None

    def _result(
        self, verdict: Verdict, reason: str, detail: dict[str, Any], until: datetime | None = None
    ) -> RuleResult:
        return RuleResult(self.name, verdict, reason, until, detail)


def _next_midnight(t: datetime, tz: ZoneInfo) -> datetime:
    """The first instant of the local day after the one ``t`` falls on, in UTC."""
    day = t.astimezone(tz).date() + timedelta(days=1)
    # A midnight in a daylight-saving gap maps (fold 0) to the transition instant.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


HOLIDAY_BANS: tuple[HolidayBan, ...] = (
    HolidayBan(
        "louisiana.holiday",
        frozenset({"LA"}),
        sundays=True,
        citation="La. R.S. 45:811; La. PSC General Order R-29617 §V(A)(2): no telephonic "
        "solicitation on Sundays or legal holidays (La. R.S. 1:55)",
    ),
    HolidayBan(
        "rhode-island.holiday",
        frozenset({"RI"}),
        sundays=True,
        citation="R.I. Gen. Laws 5-61-3.4: no unsolicited telephonic sales calls on Sundays "
        "or legal holidays (R.I. Gen. Laws 25-1-1)",
    ),
    HolidayBan(
        "mississippi.holiday",
        frozenset({"MS"}),
        sundays=True,
        citation="Miss. Code Ann. 77-3-723(1) and 77-3-603(a): no telephone solicitations "
        "on Sundays (the legal-holiday ban, 39 Miss. Admin. Code Pt. I R. 1:28, was repealed)",
    ),
    HolidayBan(
        "utah.holiday",
        frozenset({"UT"}),
        sundays=True,
        citation="Utah Code 13-25a-103: no telephone solicitations on Sundays or legal "
        "holidays (Utah Code 63G-1-301); subsection not verified offline",
    ),
    HolidayBan(
        "alabama.holiday",
        frozenset({"AL"}),
        citation="Alabama Public Service Commission telephone solicitation rule (Ala. Admin. "
        "Code ch. 770-X; rule number not verified offline): no calls on state holidays "
        "(Ala. Code 1-3-8)",
    ),
)


__all__ = ["HOLIDAYS_VERSION", "HOLIDAY_BANS", "HOLIDAY_DATES", "YEARS", "HolidayBan"]
