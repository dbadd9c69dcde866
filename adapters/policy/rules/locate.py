"""Where a contact may be: candidate time zones from its timezone, postal address and
phone number, each with the sources that gave it, and the US states each source places
it in.

Every source present is read, and every zone any of them gives is a candidate: a window
is then read in all of them (the FCC gives no safe harbour for a wrong guess; Reg F's
1006.6(b)(1) says so for an ambiguous location). A source present but unreadable (an
unknown zone name, a malformed ZIP, an unknown state, an unparseable or non-geographic
number) gives nothing and is named in ``problems``; contact data never raises here.
The deployment's default zone is used only when no source is present at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_zones

from adapters.policy.rules.geo import (
    MAIN_ZONE,
    MILITARY,
    SPLIT_AREA_CODES,
    STATE_ZONES,
    state_code,
    zip_state,
    zip_zones,
)
from adapters.policy.rules.model import Location, ZoneCandidate, ZoneSource
from adapters.policy.zones import zone

_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")
_US_COUNTRIES = frozenset({"US", "USA", "UNITED STATES"})
# NANP regions with their own region code that are US territories (USPS codes).
_TERRITORIES = frozenset({"PR", "VI", "GU", "MP", "AS"})


class _Found:
    """What the sources gave so far (zones, states and problems, in reading order)."""

    def __init__(self) -> None:
        self.by_source: dict[ZoneSource, tuple[str, ...]] = {}
        self.states: dict[str, tuple[str, ...]] = {}
        self.problems: list[str] = []

    def add(self, source: ZoneSource, zones: tuple[str, ...], states: tuple[str, ...]) -> None:
        known = tuple(z for z in dict.fromkeys(zones) if zone(z) is not None)
        self.by_source[source] = known
        if states:
            self.states[source] = states

    def fail(self, source: ZoneSource, problem: str) -> None:
        self.by_source[source] = ()
        self.problems.append(f"{source}: {problem}")

    def location(self) -> Location:
        sources: dict[str, list[ZoneSource]] = {}
        for source, zones in self.by_source.items():
            for name in zones:
                sources.setdefault(name, []).append(source)
        return Location(
            candidates=tuple(ZoneCandidate(z, tuple(s)) for z, s in sources.items()),
            by_source={str(source): zones for source, zones in self.by_source.items()},
            problems=tuple(self.problems),
            states=dict(self.states),
        )


def locate(contact: Mapping[str, Any], default_timezone: str | None = None) -> Location:
    """The contact's candidate zones from ``timezone``, ``address.postalCode``,
    ``address.state`` and the phone number's area code; ``default_timezone`` only when
    no source is present."""
    found = _Found()
    present = False
    given = contact.get("timezone")
    if _present(given):
        present = True
        if isinstance(given, str) and zone(given) is not None:
            found.add("timezone", (given,), ())
        else:
            found.fail("timezone", f"{shown(given)} is not an IANA time zone")
    address = contact.get("address")
    if isinstance(address, Mapping):
        present = _address(address, found) or present
    elif _present(address):
        present = True
        found.problems.append("address: not an object")
    phone = contact.get("phone")
    if _present(phone):
        present = True
        _phone(phone, contact.get("country"), found)
    if not present and default_timezone is not None:
        if zone(default_timezone) is None:
            found.problems.append(f"default: {shown(default_timezone)} is not an IANA time zone")
        else:
            found.add("default", (default_timezone,), ())
    return found.location()


def states(contact: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Per source, the US states (USPS codes) the contact may be in."""
    return dict(locate(contact).states)


def shown(value: object, width: int = 80) -> str:
    """``value`` for a problem or reason: its repr, cut at ``width`` characters with the
    length stated (contact data may be anything, of any size, and a reason travels into
    the run's history and the audit chain)."""
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}... ({len(text)} characters)"


def _present(value: object) -> bool:
    return value is not None and value != ""


def _address(address: Mapping[str, Any], found: _Found) -> bool:
    """Read the address's ZIP and state; whether either was present."""
    postal, state = address.get("postalCode"), address.get("state")
    if not (_present(postal) or _present(state)):
        return False
    country = address.get("country")
    if _present(country) and str(country).strip().upper() not in _US_COUNTRIES:
        fields: tuple[tuple[ZoneSource, object], ...] = (
            ("address.postalCode", postal),
            ("address.state", state),
        )
        for key, value in fields:
            if _present(value):
                found.fail(key, f"not a US address (country {shown(country)})")
        return True
    if _present(postal):
        _postal(postal, found)
    if _present(state):
        code = state_code(state) if isinstance(state, str) else None
        if code is None:
            found.fail("address.state", f"{shown(state)} is not a US state or territory code")
        elif code in MILITARY:
            found.fail("address.state", f"{code} is a military post office: no place")
        else:
            found.add("address.state", STATE_ZONES[code], (code,))
    return True


def _postal(postal: object, found: _Found) -> None:
    text = str(postal).strip() if isinstance(postal, str | int) else ""
    match = _ZIP.fullmatch(text)
    if match is None:
        found.fail("address.postalCode", f"{shown(postal)} is not a US ZIP code")
        return
    zip5 = match.group(1)
    state = zip_state(zip5)
    if state is None:
        found.fail("address.postalCode", f"{zip5} is not an assigned ZIP area")
    elif state in MILITARY:
        found.fail("address.postalCode", f"{zip5} is a military post office ({state}): no place")
    else:
        found.add("address.postalCode", zip_zones(zip5, state), (state,))


def _phone(phone: object, country: object, found: _Found) -> None:
    region = country.strip().upper() if isinstance(country, str) and country.strip() else None
    try:
        number = phonenumbers.parse(str(phone), region)
    except phonenumbers.NumberParseException:
        found.fail("phone", f"{shown(phone)} is not a phone number")
        return
    listed = tuple(z for z in phone_zones.time_zones_for_number(number) if zone(z) is not None)
    region_code = phonenumbers.region_code_for_number(number)
    if number.country_code != 1:
        if listed:
            found.add("phone", listed, ())
        else:
            found.fail("phone", "the number names no time zone")
        return
    if region_code in _TERRITORIES:
        found.add("phone", listed or STATE_ZONES[region_code], (region_code,))
        return
    if region_code != "US":
        # Canada and the Caribbean: the zones phonenumbers gives (no US state).
        if listed and region_code is not None:
            found.add("phone", listed, ())
        else:
            found.fail("phone", "the number names no place (non-geographic or unassigned)")
        return
    state = state_code(geocoder.description_for_number(number, "en"))
    if state is None or state in MILITARY:
        found.fail("phone", "the number names no place (non-geographic or unassigned)")
        return
    area_code = phonenumbers.national_significant_number(number)[:3]
    table = SPLIT_AREA_CODES.get(area_code) if state in MAIN_ZONE else None
    # A split state's area code not in the table may be anywhere in the state.
    zones = table if table is not None else STATE_ZONES[state]
    found.add("phone", (*zones, *listed) if state in MAIN_ZONE else zones, (state,))


__all__ = ["locate", "shown", "states"]
