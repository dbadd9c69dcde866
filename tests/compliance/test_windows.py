"""Calling windows at their edges, across daylight-saving changes, and in every
candidate zone of an ambiguous contact."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules.locate import locate
from adapters.policy.rules.model import Location, RuleInput, ZoneCandidate
from adapters.policy.rules.windows import CallingWindow

NY, CHI, DEN, PHX = "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix"
TCPA = CallingWindow("tcpa.calling_window", time(8), time(21), citation="47 CFR 64.1200(c)(1)")
FLORIDA = CallingWindow(
    "florida.calling_window", time(8), time(20), states=frozenset({"FL"}), citation="501.616"
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check(
    rule: CallingWindow,
    contact: dict[str, Any],
    at: str,
    channel: str = "voice",
    default: str | None = None,
) -> Any:
    location = locate(contact, default_timezone=default)
    return rule.check(RuleInput("t1", "p1", channel, utc(at), contact, location))


@pytest.mark.parametrize(
    ("rule", "contact", "at", "verdict", "until"),
    [
        # 2026-06-10 is a Wednesday; New York is on EDT (UTC-4), Chicago on CDT (UTC-5).
        (TCPA, {"timezone": NY}, "2026-06-10T11:59:00", "defer", "2026-06-10T12:00:00"),
        (TCPA, {"timezone": NY}, "2026-06-10T12:00:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-06-11T00:59:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-06-11T01:00:00", "defer", "2026-06-11T12:00:00"),
        (TCPA, {"timezone": CHI}, "2026-06-10T12:59:00", "defer", "2026-06-10T13:00:00"),
        (TCPA, {"timezone": CHI}, "2026-06-10T13:00:00", "allow", None),
        (TCPA, {"timezone": CHI}, "2026-06-11T01:59:00", "allow", None),
        (TCPA, {"timezone": CHI}, "2026-06-11T02:00:00", "defer", "2026-06-11T13:00:00"),
        (FLORIDA, {"timezone": NY, "address": {"state": "FL"}}, "2026-06-10T12:00:00",
         "defer", "2026-06-10T13:00:00"),
        (FLORIDA, {"address": {"postalCode": "33101"}}, "2026-06-10T11:59:00",
         "defer", "2026-06-10T12:00:00"),
        (FLORIDA, {"address": {"postalCode": "33101"}}, "2026-06-10T12:00:00", "allow", None),
        (FLORIDA, {"address": {"postalCode": "33101"}}, "2026-06-10T23:59:00", "allow", None),
        (FLORIDA, {"address": {"postalCode": "33101"}}, "2026-06-11T00:00:00",
         "defer", "2026-06-11T12:00:00"),
        (FLORIDA, {"address": {"postalCode": "33101"}}, "2026-06-11T00:59:00",
         "defer", "2026-06-11T12:00:00"),
        # Spring forward, 2026-03-08: 02:00 local jumps to 03:00.
        (TCPA, {"timezone": NY}, "2026-03-08T06:30:00", "defer", "2026-03-08T12:00:00"),
        (TCPA, {"timezone": NY}, "2026-03-08T11:59:00", "defer", "2026-03-08T12:00:00"),
        (TCPA, {"timezone": NY}, "2026-03-08T12:00:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-03-09T00:59:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-03-09T01:00:00", "defer", "2026-03-09T12:00:00"),
        (TCPA, {"timezone": CHI}, "2026-03-08T12:59:00", "defer", "2026-03-08T13:00:00"),
        (TCPA, {"timezone": CHI}, "2026-03-08T13:00:00", "allow", None),
        (TCPA, {"timezone": CHI}, "2026-03-09T02:00:00", "defer", "2026-03-09T13:00:00"),
        # The day before, still on standard time.
        (TCPA, {"timezone": NY}, "2026-03-07T12:30:00", "defer", "2026-03-07T13:00:00"),
        # Fall back, 2026-11-01: 02:00 local goes back to 01:00.
        (TCPA, {"timezone": NY}, "2026-11-01T05:30:00", "defer", "2026-11-01T13:00:00"),
        (TCPA, {"timezone": NY}, "2026-11-01T12:59:00", "defer", "2026-11-01T13:00:00"),
        (TCPA, {"timezone": NY}, "2026-11-01T13:00:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-11-02T01:59:00", "allow", None),
        (TCPA, {"timezone": NY}, "2026-11-02T02:00:00", "defer", "2026-11-02T13:00:00"),
        (TCPA, {"timezone": CHI}, "2026-11-01T13:59:00", "defer", "2026-11-01T14:00:00"),
        (TCPA, {"timezone": CHI}, "2026-11-01T14:00:00", "allow", None),
        (TCPA, {"timezone": CHI}, "2026-11-02T03:00:00", "defer", "2026-11-02T14:00:00"),
        # Arizona keeps MST all year: 08:00 local is 15:00 UTC in June and in January.
        (TCPA, {"address": {"postalCode": "85004"}}, "2026-06-10T14:59:00",
         "defer", "2026-06-10T15:00:00"),
        (TCPA, {"address": {"postalCode": "85004"}}, "2026-01-14T14:59:00",
         "defer", "2026-01-14T15:00:00"),
        (TCPA, {"address": {"postalCode": "85004"}}, "2026-06-10T15:00:00", "allow", None),
        (TCPA, {"address": {"postalCode": "85004"}}, "2026-06-11T03:59:00", "allow", None),
        (TCPA, {"address": {"postalCode": "85004"}}, "2026-06-11T04:00:00",
         "defer", "2026-06-11T15:00:00"),
        # Tuba City (Navajo Nation ZIP3): Phoenix and Denver, so in June closes at 21:00 MDT.
        (TCPA, {"address": {"postalCode": "86045"}}, "2026-06-11T02:59:00", "allow", None),
        (TCPA, {"address": {"postalCode": "86045"}}, "2026-06-11T03:00:00",
         "defer", "2026-06-11T15:00:00"),
    ],
)  # fmt: skip
def test_window_edges(
    rule: CallingWindow, contact: dict[str, Any], at: str, verdict: str, until: str | None
) -> None:
    result = check(rule, contact, at)
    assert (result.verdict, result.until) == (verdict, None if until is None else utc(until))
    assert result.rule == rule.name


# Miami area code (Eastern) with a Pensacola ZIP (Central): open only when both are.
MIAMI_PHONE_PENSACOLA_ZIP = {
    "phone": "+13055550100",
    "address": {"state": "FL", "postalCode": "32501"},
}


@pytest.mark.parametrize(
    ("rule", "at", "verdict", "until"),
    [
        (TCPA, "2026-03-10T12:30:00", "defer", "2026-03-10T13:00:00"),  # 08:30 EDT, 07:30 CDT
        (TCPA, "2026-03-10T13:00:00", "allow", None),
        (TCPA, "2026-03-11T00:59:00", "allow", None),
        (TCPA, "2026-03-11T01:00:00", "defer", "2026-03-11T13:00:00"),  # 21:00 EDT
        (FLORIDA, "2026-03-10T13:00:00", "allow", None),
        (FLORIDA, "2026-03-10T23:59:00", "allow", None),
        (FLORIDA, "2026-03-11T00:00:00", "defer", "2026-03-11T13:00:00"),  # 20:00 EDT
    ],
)
def test_ambiguous_contact_is_open_only_when_every_zone_is(
    rule: CallingWindow, at: str, verdict: str, until: str | None
) -> None:
    result = check(rule, MIAMI_PHONE_PENSACOLA_ZIP, at)
    assert (result.verdict, result.until) == (verdict, None if until is None else utc(until))
    zones = {z["zone"]: z for z in result.detail["zones"]}
    assert set(zones) == {NY, CHI}
    assert zones[CHI]["sources"] == ["address.postalCode", "address.state"]
    assert zones[NY]["sources"] == ["address.state", "phone"]
    assert result.detail["location"]["ambiguous"] is True


def test_deferral_detail_names_the_closed_zone_and_local_times() -> None:
    result = check(TCPA, MIAMI_PHONE_PENSACOLA_ZIP, "2026-03-10T12:30:00")
    zones = {z["zone"]: z for z in result.detail["zones"]}
    assert zones[NY]["open"] is True and zones[CHI]["open"] is False
    assert zones[CHI]["local"] == "2026-03-10T07:30:00-05:00"
    assert result.detail["window"] == {
        "start": "08:00:00",
        "end": "21:00:00",
        "days": [1, 2, 3, 4, 5, 6, 7],
    }
    assert result.detail["untilLocal"] == {
        CHI: "2026-03-10T08:00:00-05:00",
        NY: "2026-03-10T09:00:00-04:00",
    }
    assert (
        "America/Chicago" in result.reason and "America/New_York" not in result.reason.split(";")[0]
    )


@pytest.mark.parametrize(
    ("contact", "default", "reason"),
    [
        ({"id": "c1"}, None, "no time zone for the contact (no source names one)"),
        ({"timezone": "Mars/Olympus"}, "America/Denver", "'Mars/Olympus' is not an IANA"),
        ({"phone": "+18005550100"}, "America/Denver", "the number names no place"),
    ],
)
def test_no_zone_denies(contact: dict[str, Any], default: str | None, reason: str) -> None:
    result = check(TCPA, contact, "2026-06-10T15:00:00", default=default)
    assert result.verdict == "deny" and result.until is None
    assert reason in result.reason


def test_a_candidate_that_is_no_zone_denies() -> None:
    location = Location((ZoneCandidate("Nowhere/Zone", ("timezone",)),))
    inp = RuleInput("t1", "p1", "voice", utc("2026-06-10T15:00:00"), {}, location)
    assert TCPA.check(inp).verdict == "deny"


def test_default_zone_is_used_only_without_sources() -> None:
    assert check(TCPA, {"id": "c1"}, "2026-06-10T13:30:00", default=DEN).verdict == "defer"
    assert check(TCPA, {"id": "c1"}, "2026-06-10T14:00:00", default=DEN).verdict == "allow"
    # With a source, the default is not a candidate: 08:30 in New York is open.
    assert check(TCPA, {"timezone": NY}, "2026-06-10T12:30:00", default=DEN).verdict == "allow"


@pytest.mark.parametrize(
    ("contact", "applies"),
    [
        ({"address": {"state": "FL"}}, True),
        ({"address": {"postalCode": "32501"}}, True),
        ({"phone": "+13055550100", "address": {"state": "TX"}}, True),
        ({"address": {"state": "TX"}}, False),
        ({"timezone": NY}, False),
    ],
)
def test_state_scoped_window_applies_when_any_source_is_in_the_state(
    contact: dict[str, Any], applies: bool
) -> None:
    # 21:30 in New York, 20:30 in Chicago: outside Florida's window in both zones.
    result = check(FLORIDA, contact, "2026-06-11T01:30:00")
    if applies:
        assert result.verdict == "defer"
    else:
        assert (result.verdict, result.reason) == (
            "allow",
            "not applicable (contact not located in FL)",
        )


def test_other_channels_are_not_applicable() -> None:
    result = check(TCPA, {"timezone": NY}, "2026-06-11T03:00:00", channel="email")
    assert (result.verdict, result.reason) == ("allow", "not applicable to email")


def test_weekdays_defer_over_the_weekend() -> None:
    weekdays = CallingWindow("plan.window", time(9), time(17), days=frozenset(range(1, 6)))
    # Saturday 2026-06-13 10:00 EDT -> Monday 09:00 EDT.
    result = check(weekdays, {"timezone": NY}, "2026-06-13T14:00:00")
    assert (result.verdict, result.until) == ("defer", utc("2026-06-15T13:00:00"))
    assert "on ISO weekdays 1,2,3,4,5" in result.reason


def test_window_opening_in_a_spring_forward_gap_opens_at_the_transition() -> None:
    early = CallingWindow("x.window", time(2, 30), time(9))
    result = check(early, {"timezone": NY}, "2026-03-08T05:00:00")  # 00:00 EST
    assert (result.verdict, result.until) == ("defer", utc("2026-03-08T07:00:00"))  # 03:00 EDT


def test_zones_whose_windows_never_overlap_deny() -> None:
    narrow = CallingWindow("x.window", time(8), time(9))
    # Guam is 20 hours ahead of Hawaii: 08:00 in Guam is 12:00 the day before in Honolulu.
    result = check(
        narrow, {"timezone": "Pacific/Guam", "address": {"state": "HI"}}, "2026-06-10T00:00:00"
    )
    assert result.verdict == "deny"
    assert "not open in every candidate zone" in result.reason


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (time(21), time(8), frozenset({1})),
        (time(8), time(8), frozenset({1})),
        (time(8), time(9), frozenset()),
    ],
)
def test_an_unreadable_window_is_refused_when_built(
    start: time, end: time, days: frozenset[int]
) -> None:
    with pytest.raises(PolicyConfigError):
        CallingWindow("x.window", start, end, days=days)
