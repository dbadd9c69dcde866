"""Calling windows and holiday bans at their edges, through ``dee policy explain --json``
on a real SQLite database: 07:59/08:00, 19:59/20:00 and 20:59/21:00 local for TCPA,
Florida, Oklahoma and Reg F; the days daylight saving time starts and ends in New York;
an area code and an address in different zones (only times open in both, the rule line
naming the closed zone); the state holiday tables.

Dates: 2026-01-05 is a Monday (New York UTC-5, Chicago UTC-6, Los Angeles UTC-8);
daylight saving time starts on Sunday 2026-03-08 and ends on Sunday 2026-11-01;
2026-01-08 is Louisiana's Battle of New Orleans day; 2026-01-11 is a Sunday.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.compliance.explain_cli import ExplainCli, Row, check_row, explain_cli, lines

NY = {"id": "c-ny", "phone": "+12125550123", "timezone": "America/New_York"}
# A Miami number (Florida by its area code) in New York's zone.
MIAMI = {"id": "c-fl", "phone": "+13055550123", "timezone": "America/New_York"}
OKC = {"id": "c-ok", "phone": "+14055550123", "timezone": "America/Chicago"}
# A New York number and a San Francisco address: two candidate zones.
SPLIT = {
    "id": "c-split",
    "phone": "+12125550123",
    "address": {"state": "CA", "postalCode": "94105"},
}
# Florida by its address' state alone: the panhandle keeps Chicago's zone a candidate.
FL_STATE = {"id": "c-fl-state", "phone": "+13055550123", "address": {"state": "FL"}}
# A number that names no place and no other source: no zone, never guessed.
NOWHERE = {"id": "c-nowhere", "phone": "+15555550101"}
NOLA = {"id": "c-la", "phone": "+15045550123", "address": {"state": "LA", "postalCode": "70112"}}
HOLIDAYS = ["state-holidays"]


def _day(preset: str, contact: Mapping[str, Any], opens: str, closes: str, next_open: str,
         closing: str) -> list[Row]:  # fmt: skip
    """One day's four edges of ``preset``'s window: a minute before it opens (deferred to
    the opening), the opening (allowed), a minute before it closes (allowed) and the
    closing instant (deferred to the next opening). Instants are UTC ``...T..:..``."""
    rule = f"{preset}.calling_window"
    return [
        Row(f"{preset}-07:59", contact, _minute_before(opens), [preset], "defer", _utc(opens),
            rule),
        Row(f"{preset}-08:00", contact, opens, [preset], "allow", None, rule),
        Row(f"{preset}-{_minute(closing, -1)}", contact, _minute_before(closes), [preset], "allow",
            None, rule),
        Row(f"{preset}-{closing}", contact, closes, [preset], "defer", _utc(next_open), rule),
    ]  # fmt: skip


def _utc(at: str) -> str:
    return at.replace("Z", "+00:00")


def _minute_before(at: str) -> str:
    hour, minute = int(at[11:13]), int(at[14:16])
    total = hour * 60 + minute - 1
    assert total >= 0, "the tables keep a minute before each edge on the same UTC day"
    return f"{at[:11]}{total // 60:02d}:{total % 60:02d}{at[16:]}"


def _minute(hhmm: str, delta: int) -> str:
    total = int(hhmm[:2]) * 60 + int(hhmm[3:]) + delta
    return f"{total // 60:02d}:{total % 60:02d}"


WINDOW_ROWS = [
    # TCPA and Reg F, 08:00-21:00 in New York: 13:00Z to 02:00Z.
    *_day("tcpa", NY, "2026-01-05T13:00:00Z", "2026-01-06T02:00:00Z",
          "2026-01-06T13:00:00Z", "21:00"),
    *_day("regf", NY, "2026-01-05T13:00:00Z", "2026-01-06T02:00:00Z",
          "2026-01-06T13:00:00Z", "21:00"),
    # Florida, 08:00-20:00 in New York's zone: 13:00Z to 01:00Z.
    *_day("florida", MIAMI, "2026-01-05T13:00:00Z", "2026-01-06T01:00:00Z",
          "2026-01-06T13:00:00Z", "20:00"),
    # Oklahoma, 08:00-20:00 in Chicago: 14:00Z to 02:00Z.
    *_day("oklahoma", OKC, "2026-01-05T14:00:00Z", "2026-01-06T02:00:00Z",
          "2026-01-06T14:00:00Z", "20:00"),
    # TCPA and Florida together at 20:30 in Miami: the stricter Florida window decides.
    Row("tcpa+florida-20:30", MIAMI, "2026-01-06T01:30:00Z", ["tcpa", "florida"], "defer",
        "2026-01-06T13:00:00+00:00", "florida.calling_window"),
    # Florida's window does not apply to a New York contact.
    Row("florida-ny-20:30", NY, "2026-01-06T01:30:00Z", ["florida"], "allow", None,
        "florida.calling_window", line_has=("not applicable (contact not located in FL)",)),
    # Spring forward, Sunday 2026-03-08: 21:00 EST on the 7th waits for 08:00 EDT (12:00Z).
    Row("dst-spring-21:00-eve", NY, "2026-03-08T02:00:00Z", ["regf"], "defer",
        "2026-03-08T12:00:00+00:00", "regf.calling_window"),
    Row("dst-spring-07:59", NY, "2026-03-08T11:59:00Z", ["regf"], "defer",
        "2026-03-08T12:00:00+00:00", "regf.calling_window"),
    Row("dst-spring-08:00", NY, "2026-03-08T12:00:00Z", ["regf"], "allow", None,
        "regf.calling_window"),
    Row("dst-spring-20:59", NY, "2026-03-09T00:59:00Z", ["tcpa"], "allow", None,
        "tcpa.calling_window"),
    Row("dst-spring-21:00", NY, "2026-03-09T01:00:00Z", ["tcpa"], "defer",
        "2026-03-09T12:00:00+00:00", "tcpa.calling_window"),
    # Fall back, Sunday 2026-11-01: 21:00 EDT on the 31st waits for 08:00 EST (13:00Z).
    Row("dst-fall-21:00-eve", NY, "2026-11-01T01:00:00Z", ["regf"], "defer",
        "2026-11-01T13:00:00+00:00", "regf.calling_window"),
    Row("dst-fall-07:59", NY, "2026-11-01T12:59:00Z", ["regf"], "defer",
        "2026-11-01T13:00:00+00:00", "regf.calling_window"),
    Row("dst-fall-08:00", NY, "2026-11-01T13:00:00Z", ["regf"], "allow", None,
        "regf.calling_window"),
    Row("dst-fall-20:59", NY, "2026-11-02T01:59:00Z", ["tcpa"], "allow", None,
        "tcpa.calling_window"),
    Row("dst-fall-21:00", NY, "2026-11-02T02:00:00Z", ["tcpa"], "defer",
        "2026-11-02T13:00:00+00:00", "tcpa.calling_window"),
    # A New York number and a California address: open only while both zones are.
    Row("split-07:59-la", SPLIT, "2026-01-05T15:59:00Z", ["regf"], "defer",
        "2026-01-05T16:00:00+00:00", "regf.calling_window",
        line_has=("outside 08:00-21:00 local in America/Los_Angeles;",)),
    Row("split-08:00-la", SPLIT, "2026-01-05T16:00:00Z", ["regf"], "allow", None,
        "regf.calling_window",
        line_has=("in America/Los_Angeles, America/New_York",)),
    Row("split-20:59-ny", SPLIT, "2026-01-06T01:59:00Z", ["regf"], "allow", None,
        "regf.calling_window"),
    Row("split-21:00-ny", SPLIT, "2026-01-06T02:00:00Z", ["regf"], "defer",
        "2026-01-06T16:00:00+00:00", "regf.calling_window",
        line_has=("outside 08:00-21:00 local in America/New_York;",)),
    Row("split-tcpa-21:00-ny", SPLIT, "2026-01-06T02:00:00Z", ["tcpa"], "defer",
        "2026-01-06T16:00:00+00:00", "tcpa.calling_window",
        line_has=("outside 08:00-21:00 local in America/New_York;",)),
    # 20:30 in Miami is 19:30 in Chicago: closed in one candidate zone; 08:00 in New York
    # is 07:00 in Chicago, so the window opens for both at 08:00 Chicago time.
    Row("florida-state-only-20:30", FL_STATE, "2026-01-06T01:30:00Z", ["florida"], "defer",
        "2026-01-06T14:00:00+00:00", "florida.calling_window",
        line_has=("local in America/New_York;",)),
    Row("regf-no-zone", NOWHERE, "2026-01-05T17:00:00Z", ["regf"], "deny", None,
        "regf.calling_window", line_has=("no time zone for the contact",)),
]  # fmt: skip

HOLIDAY_ROWS = [
    Row("la-eve-23:59", NOLA, "2026-01-08T05:59:00Z", HOLIDAYS, "allow", None,
        "louisiana.holiday"),
    Row("la-holiday-00:00", NOLA, "2026-01-08T06:00:00Z", HOLIDAYS, "defer",
        "2026-01-09T06:00:00+00:00", "louisiana.holiday",
        line_has=("2026-01-08 is Battle of New Orleans",)),
    # With TCPA's window too, the ban's midnight is not yet permitted: 08:00 is.
    Row("la-holiday+tcpa", NOLA, "2026-01-08T18:00:00Z", ["tcpa", *HOLIDAYS], "defer",
        "2026-01-09T14:00:00+00:00", "louisiana.holiday"),
    Row("la-sunday", NOLA, "2026-01-11T18:00:00Z", HOLIDAYS, "defer",
        "2026-01-12T06:00:00+00:00", "louisiana.holiday", line_has=("is a Sunday",)),
    # Sunday 2026-03-08, the day Chicago springs forward: Monday starts at 05:00Z.
    Row("la-sunday-dst-spring", NOLA, "2026-03-08T18:00:00Z", HOLIDAYS, "defer",
        "2026-03-09T05:00:00+00:00", "louisiana.holiday", line_has=("is a Sunday",)),
    # Sunday 2026-11-01 (fall back), then All Saints' Day (observed) and election day:
    # the first permitted instant is Wednesday's midnight, 06:00Z.
    Row("la-sunday-dst-fall-and-two-holidays", NOLA, "2026-11-01T18:00:00Z", HOLIDAYS,
        "defer", "2026-11-04T06:00:00+00:00", "louisiana.holiday"),
    Row("la-ban-ny-contact", NY, "2026-01-08T18:00:00Z", HOLIDAYS, "allow", None,
        "louisiana.holiday", line_has=("not applicable",)),
    # A date past the tables denies (a new edition is needed), never allows by default.
    Row("la-no-table", NOLA, "2028-01-05T18:00:00Z", HOLIDAYS, "deny", None,
        "louisiana.holiday", line_has=("no holiday table for LA in 2028",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExplainCli]:
    with explain_cli(tmp_path_factory.mktemp("explain-windows")) as found:
        for contact in (NY, MIAMI, OKC, SPLIT, NOLA, FL_STATE, NOWHERE):
            found.grant(str(contact["id"]))
        yield found


@pytest.mark.parametrize("row", WINDOW_ROWS, ids=lambda r: r.id)
def test_calling_windows_at_their_edges(cli: ExplainCli, row: Row) -> None:
    check_row(cli, row)


@pytest.mark.parametrize("row", HOLIDAY_ROWS, ids=lambda r: r.id)
def test_holiday_bans_at_their_edges(cli: ExplainCli, row: Row) -> None:
    check_row(cli, row)


def test_the_stricter_window_decides_and_every_rule_has_its_line(cli: ExplainCli) -> None:
    answer = cli.explain(MIAMI, "2026-01-06T01:30:00Z", ["tcpa", "florida"])
    found = lines(answer)
    assert found["tcpa.calling_window"][0] == "allow"
    assert found["florida.calling_window"][0] == "defer"
    assert [line["rule"] for line in answer["rules"]] == [
        "suppression", "consent", "hours",
        "florida.calling_window", "florida.calls_per_subject_24h",
        "tcpa.calling_window", "tcpa.revocation",
        "general.channel_cap", "contact_cap", "daily_limit", "budget",
    ]  # fmt: skip
