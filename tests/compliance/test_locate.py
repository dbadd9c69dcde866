"""Where a contact may be: every source read, every zone a candidate, bad data named
in ``problems`` and never raised."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import geocoder

from adapters.policy.rules.geo import (
    MAIN_ZONE,
    SPLIT_AREA_CODES,
    SPLIT_ZIP3,
    STATE_ZONES,
    state_code,
    zip_state,
    zip_zones,
)
from adapters.policy.rules.locate import locate, states
from adapters.policy.zones import zone

NY, CHI, DEN, PHX = "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix"


@pytest.mark.parametrize(
    ("contact", "zones", "by_source"),
    [
        ({"timezone": CHI}, [CHI], {"timezone": [CHI]}),
        (
            {"address": {"postalCode": "32501"}},
            [CHI],
            {"address.postalCode": [CHI]},
        ),
        ({"address": {"postalCode": "33101-1234"}}, [NY], {"address.postalCode": [NY]}),
        # Gulf County: Port St. Joe is Eastern, Wewahitchka Central, one ZIP3.
        ({"address": {"postalCode": "32456"}}, [NY, CHI], {"address.postalCode": [NY, CHI]}),
        ({"address": {"postalCode": "79901"}}, [DEN], {"address.postalCode": [DEN]}),
        ({"address": {"postalCode": "75201"}}, [CHI], {"address.postalCode": [CHI]}),
        ({"address": {"postalCode": "67735"}}, [CHI, DEN], {"address.postalCode": [CHI, DEN]}),
        ({"address": {"postalCode": "85004"}}, [PHX], {"address.postalCode": [PHX]}),
        ({"address": {"postalCode": "86045"}}, [PHX, DEN], {"address.postalCode": [PHX, DEN]}),
        ({"address": {"postalCode": "00901"}}, ["America/Puerto_Rico"], None),
        ({"address": {"postalCode": "96799"}}, ["Pacific/Pago_Pago"], None),
        ({"address": {"postalCode": "96910"}}, ["Pacific/Guam"], None),
        ({"address": {"state": "fl"}}, [NY, CHI], {"address.state": [NY, CHI]}),
        ({"address": {"state": "AZ"}}, [PHX, DEN], {"address.state": [PHX, DEN]}),
        ({"address": {"state": "Ohio"}}, [NY], {"address.state": [NY]}),
        ({"phone": "+13055550100"}, [NY], {"phone": [NY]}),
        # 850: Tallahassee Eastern, Pensacola Central.
        ({"phone": "+18505550100"}, [NY, CHI], {"phone": [NY, CHI]}),
        ({"phone": "+19155550100"}, [DEN], {"phone": [DEN]}),
        ({"phone": "+12145550100"}, [CHI], {"phone": [CHI]}),
        # 606: Eastern Kentucky with Central Clinton County.
        ({"phone": "+16065550100"}, [NY, CHI], {"phone": [NY, CHI]}),
        ({"address": {"postalCode": "37723"}}, [NY, CHI], {"address.postalCode": [NY, CHI]}),
        ({"address": {"postalCode": "99546"}}, ["America/Anchorage", "America/Adak"], None),
        ({"phone": "+16025550100"}, [PHX], {"phone": [PHX]}),
        ({"phone": "(212) 555-0100", "country": "US"}, [NY], {"phone": [NY]}),
        ({"phone": "+16715550100"}, ["Pacific/Guam"], {"phone": ["Pacific/Guam"]}),
        ({"phone": "+14165550100"}, ["America/Toronto"], {"phone": ["America/Toronto"]}),
        ({"phone": "+442079460000"}, ["Europe/London"], {"phone": ["Europe/London"]}),
    ],
)
def test_each_source_gives_its_zones(
    contact: dict[str, Any], zones: list[str], by_source: dict[str, list[str]] | None
) -> None:
    proof = locate(contact, default_timezone="UTC").proof()
    assert proof["zones"] == zones
    assert proof["ambiguous"] is (len(zones) > 1)
    assert proof["problems"] == []
    if by_source is not None:
        assert proof["sources"] == by_source


def test_area_code_and_address_in_different_zones_give_both_with_their_sources() -> None:
    contact = {"phone": "+13055550100", "address": {"postalCode": "32501"}}
    location = locate(contact)
    assert location.ambiguous
    assert {c.zone: c.sources for c in location.candidates} == {
        CHI: ("address.postalCode",),
        NY: ("phone",),
    }
    assert location.proof()["states"] == {"address.postalCode": ["FL"], "phone": ["FL"]}


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({"timezone": "localtime"}, "timezone: 'localtime' is not an IANA time zone"),
        ({"timezone": 7}, "timezone: 7 is not an IANA time zone"),
        ({"address": {"postalCode": "3250"}}, "address.postalCode: '3250' is not a US ZIP code"),
        ({"address": {"postalCode": "ABCDE"}}, "address.postalCode: 'ABCDE' is not a US ZIP"),
        ({"address": {"postalCode": "00000"}}, "address.postalCode: 00000 is not an assigned"),
        ({"address": {"postalCode": "09001"}}, "address.postalCode: 09001 is a military"),
        ({"address": {"state": "ZZ"}}, "address.state: 'ZZ' is not a US state"),
        ({"address": {"state": "AE"}}, "address.state: AE is a military post office"),
        (
            {"address": {"state": "ON", "country": "CA"}},
            "address.state: not a US address (country 'CA')",
        ),
        ({"address": "Main Street 1"}, "address: not an object"),
        ({"phone": "not a number"}, "phone: 'not a number' is not a phone number"),
        ({"phone": "+18005550100"}, "phone: the number names no place"),
    ],
)
def test_bad_data_is_named_and_gives_no_candidate(contact: dict[str, Any], problem: str) -> None:
    location = locate(contact, default_timezone="America/Denver")
    assert location.candidates == ()
    assert len(location.problems) == 1
    assert location.problems[0].startswith(problem)


def test_a_bad_source_does_not_hide_a_good_one() -> None:
    location = locate({"timezone": "Nowhere/Zone", "phone": "+14055550100"})
    assert location.zones == (CHI,)
    assert location.by_source == {"timezone": (), "phone": (CHI,)}
    assert location.problems == ("timezone: 'Nowhere/Zone' is not an IANA time zone",)


@pytest.mark.parametrize(
    ("contact", "default", "zones", "problems"),
    [
        ({"id": "c1"}, "America/Denver", [DEN], []),
        ({"id": "c1", "timezone": "", "phone": None}, "America/Denver", [DEN], []),
        ({"id": "c1"}, None, [], []),
        ({"id": "c1"}, "Not/AZone", [], ["default: 'Not/AZone' is not an IANA time zone"]),
        # A source present but unreadable: the default never stands in for it.
        ({"timezone": "Bad/Zone"}, "America/Denver", [], ["timezone: 'Bad/Zone' is not"]),
        ({"timezone": CHI}, "America/Denver", [CHI], []),
    ],
)
def test_default_zone_only_when_no_source_is_present(
    contact: dict[str, Any], default: str | None, zones: list[str], problems: list[str]
) -> None:
    location = locate(contact, default_timezone=default)
    assert list(location.zones) == zones
    assert [p[: len(want)] for p, want in zip(location.problems, problems, strict=True)] == problems
    if zones == [DEN]:
        assert location.by_source == {"default": (DEN,)}


def test_states_per_source() -> None:
    contact = {"phone": "+12145550100", "address": {"state": "OK", "postalCode": "32501"}}
    assert states(contact) == {
        "address.postalCode": ("FL",),
        "address.state": ("OK",),
        "phone": ("TX",),
    }
    assert states({"timezone": NY}) == {}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "timezone": _JSON | st.sampled_from([NY, "Bad/Zone", ""]),
            "phone": _JSON | st.sampled_from(["+13055550100", "+1", "123", "+999"]),
            "country": _JSON | st.sampled_from(["US", "GB", "??"]),
            "address": _JSON
            | st.fixed_dictionaries(
                {},
                optional={
                    "postalCode": _JSON | st.sampled_from(["32501", "99999-", "9690"]),
                    "state": _JSON | st.sampled_from(["FL", "fl", "Texas", "XX"]),
                    "country": _JSON,
                },
            ),
        },
    )
)
def test_contact_data_never_raises(contact: dict[str, Any]) -> None:
    location = locate(contact, default_timezone="UTC")
    assert all(zone(name) is not None for name in location.zones)
    # Every zone came from a source, and every source's zones are candidates.
    assert set(location.zones) == {z for zs in location.by_source.values() for z in zs}


def test_every_table_zone_is_an_iana_zone() -> None:
    named = {z for zs in STATE_ZONES.values() for z in zs}
    named |= {z for zs in SPLIT_ZIP3.values() for z in zs} | set(MAIN_ZONE.values())
    named |= {z for zs in SPLIT_AREA_CODES.values() for z in zs}
    assert sorted(n for n in named if zone(n) is None) == []


def test_split_zip3_zones_are_zones_of_their_state() -> None:
    for zip3, zones in SPLIT_ZIP3.items():
        state = zip_state(f"{zip3:03d}00")
        assert state in MAIN_ZONE, zip3
        assert set(zones) <= set(STATE_ZONES[state]), zip3
        assert zip_zones(f"{zip3:03d}00", state) == zones


def test_split_area_codes_are_in_the_state_the_geocoder_names() -> None:
    checked = 0
    for area_code, zones in SPLIT_AREA_CODES.items():
        number = phonenumbers.parse(f"+1{area_code}2345678")
        description = geocoder.description_for_number(number, "en")
        if not description:
            continue  # an area code newer than the installed metadata
        state = state_code(description)
        assert state in MAIN_ZONE, (area_code, description)
        assert set(zones) <= set(STATE_ZONES[state]), area_code
        checked += 1
    assert checked >= 60


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Florida", "FL"),
        ("Pensacola, FL", "FL"),
        ("Washington D.C.", "DC"),
        ("Washington State", "WA"),
        ("U.S. Virgin Islands", "VI"),
        ("tx", "TX"),
        ("Ontario", None),
        ("", None),
    ],
)
def test_state_names(name: str, code: str | None) -> None:
    assert state_code(name) == code
