"""Dated tables placing a US contact: state -> zones, ZIP -> state and zone, area code
-> zones, and the state names the phone geocoder returns.

Sources (as of ``GEO_VERSION``): the IANA time zone database (``zone1970.tab`` and its
comments on which counties each US zone covers), which follows the U.S. Department of
Transportation's time zone boundaries (49 CFR part 71); the USPS ZIP3 assignment
(Publication 65 / the "L002" three-digit ZIP list); the NANPA area code assignments.

Boundaries are official (DOT) ones. De facto local usage that differs from them (e.g.
Phenix City, AL keeping Eastern time, Kenton, OK keeping Mountain time, Jackpot, NV)
is not modelled. Where a ZIP3 or an area code straddles a boundary, it gives every zone
it touches: a window is then read in all of them (fail-closed), never guessed.

Within a ZIP3 or area code table, a zone stands for every IANA zone with identical
rules since 2007 (e.g. ``America/Indiana/Indianapolis`` for eastern Indiana,
``America/Anchorage`` for mainland Alaska); the state table lists all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

GEO_VERSION = "geo-2026-12-07"

_E = "America/New_York"
_C = "America/Chicago"
_M = "America/Denver"
_P = "America/Los_Angeles"
_EC = (_E, _C)
_CM = (_C, _M)


def _each(codes: str, zones: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``zones`` for each of the space-separated ``codes``."""
    return dict.fromkeys(codes.split(), zones)


# Every IANA zone a state or territory spans (zone1970.tab comments).
STATE_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        **_each("CT DC DE GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV", (_E,)),
        **_each("AL AR IA IL LA MN MO MS OK WI", (_C,)),
        **_each("CO MT NM UT WY", (_M,)),
        **_each("CA WA", (_P,)),
        "AK": (
            "America/Anchorage",
            "America/Juneau",
            "America/Sitka",
            "America/Metlakatla",
            "America/Yakutat",
            "America/Nome",
            "America/Adak",
        ),
        # The Navajo Nation keeps daylight saving time; the rest of Arizona does not.
        "AZ": ("America/Phoenix", _M),
        "FL": _EC,
        "HI": ("Pacific/Honolulu",),
        "ID": ("America/Boise", _P),
        "IN": (
            "America/Indiana/Indianapolis",
            "America/Indiana/Vincennes",
            "America/Indiana/Winamac",
            "America/Indiana/Marengo",
            "America/Indiana/Petersburg",
            "America/Indiana/Vevay",
            _C,
            "America/Indiana/Tell_City",
            "America/Indiana/Knox",
        ),
        "KS": _CM,
        "KY": (_E, "America/Kentucky/Louisville", "America/Kentucky/Monticello", _C),
        "MI": ("America/Detroit", "America/Menominee"),
        "ND": (
            _C,
            "America/North_Dakota/Center",
            "America/North_Dakota/New_Salem",
            "America/North_Dakota/Beulah",
            _M,
        ),
        "NE": _CM,
        # West Wendover keeps Mountain time (DOT, 1999).
        "NV": (_P, _M),
        "OR": (_P, "America/Boise"),
        "SD": _CM,
        "TN": _EC,
        "TX": (_C, _M),
        "PR": ("America/Puerto_Rico",),
        "VI": ("America/St_Thomas",),
        "GU": ("Pacific/Guam",),
        "MP": ("Pacific/Saipan",),
        "AS": ("Pacific/Pago_Pago",),
        "PW": ("Pacific/Palau",),
        "FM": ("Pacific/Chuuk", "Pacific/Pohnpei", "Pacific/Kosrae"),
        "MH": ("Pacific/Majuro", "Pacific/Kwajalein"),
    }
)

# Military post offices (AA, AE, AP) have no place, hence no zone.
MILITARY = frozenset({"AA", "AE", "AP"})

# ZIP3 ranges (inclusive) -> state, USPS three-digit ZIP assignment.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"),
    (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"),
    (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"),
    (70, 89, "NJ"), (90, 99, "AE"), (100, 149, "NY"), (150, 196, "PA"),
    (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
    (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"), (340, 340, "AA"),
    (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"),
    (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"),
    (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"),
    (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"),
    (700, 714, "LA"), (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"),
    (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"),
    (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"),
    (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (962, 966, "AP"),
    (967, 968, "HI"), (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"),
    (995, 999, "AK"),
)  # fmt: skip

# ZIP5 ranges (inclusive) whose state differs from their ZIP3's.
_ZIP5_RANGES: tuple[tuple[int, int, str], ...] = (
    (96799, 96799, "AS"),
    (96939, 96940, "PW"),
    (96941, 96944, "FM"),
    (96950, 96952, "MP"),
    (96960, 96970, "MH"),
)

# Split states: the zones of the ZIP3s that differ from the state's main zone. A ZIP3
# straddling a boundary gives both zones (the county lines in its comment).
_IN_E = "America/Indiana/Indianapolis"
_IN_EC = (_IN_E, _C)
_MI_E, _MI_C = "America/Detroit", "America/Menominee"
_ID_M = "America/Boise"
_AK = "America/Anchorage"
MAIN_ZONE: Mapping[str, str] = MappingProxyType(
    {"AK": _AK, "AZ": "America/Phoenix", "FL": _E, "ID": _ID_M, "IN": _IN_E, "KS": _C,
     "KY": _E, "MI": _MI_E, "ND": _C, "NE": _C, "NV": _P, "OR": _P, "SD": _C, "TN": _C,
     "TX": _C}
)  # fmt: skip
SPLIT_ZIP3: Mapping[int, tuple[str, ...]] = MappingProxyType(
    {
        # AK: the Aleutians west of 169°30'W (Adak, Atka) are in 995.
        995: (_AK, "America/Adak"), 998: ("America/Juneau",), 999: ("America/Juneau",),
        # AZ: the Navajo Nation (Tuba City, Kayenta; Window Rock, Chinle).
        860: ("America/Phoenix", _M), 865: ("America/Phoenix", _M),
        # FL: Panama City area (Gulf County's Port St. Joe is Eastern); Pensacola.
        324: _EC, 325: (_C,),
        # ID: Lewiston (Idaho County straddles); the panhandle.
        835: (_ID_M, _P), 838: (_P,),
        # IN: Gary, Evansville Central; Knox (Starke), Tell City (Perry),
        # Rensselaer/Kentland (Jasper, Newton) share ZIP3s with Eastern counties.
        463: (_C,), 464: (_C,), 476: (_C,), 477: (_C,),
        465: _IN_EC, 475: _IN_EC, 479: _IN_EC,
        # KS: Sherman, Wallace (677), Greeley, Hamilton (678) are Mountain.
        677: _CM, 678: _CM,
        # KY: Paducah, Bowling Green, Owensboro, Henderson are Central; Somerset and
        # Elizabethtown straddle (Clinton, Russell, Cumberland, Hart, Grayson ...), as
        # does 401 (Eastern Meade, Central Breckinridge).
        420: (_C,), 421: (_C,), 422: (_C,), 423: (_C,), 424: (_C,),
        401: _EC, 425: _EC, 426: _EC, 427: _EC,
        # MI: Gogebic, Iron, Dickinson, Menominee counties are Central.
        498: (_MI_E, _MI_C), 499: (_MI_E, _MI_C),
        # ND: Bismarck (Grant, Sioux), Dickinson, Williston (McKenzie) straddle.
        585: _CM, 586: _CM, 588: _CM,
        # NE: McCook, North Platte, Valentine straddle; Alliance/Scottsbluff Mountain.
        690: _CM, 691: _CM, 692: _CM, 693: (_M,),
        # NV: West Wendover (Elko County).
        898: (_P, _M),
        # OR: Malheur County (Ontario) with Harney and Baker ZIPs.
        979: (_P, _ID_M),
        # SD: Pierre and Mobridge straddle the Missouri; Rapid City is Mountain.
        575: _CM, 576: _CM, 577: (_M,),
        # TN: Chattanooga's ZIP3 holds Central Marion, Grundy, Sequatchie, Bledsoe;
        # Knoxville's 377 holds Crab Orchard (Central Cumberland); Chattanooga city,
        # Johnson City and the rest of Knoxville are Eastern.
        373: _EC, 377: _EC, 374: (_E,), 376: (_E,), 378: (_E,), 379: (_E,),
        # TX: El Paso and Hudspeth are Mountain; 798 holds Central Culberson, Brewster.
        798: _CM, 799: (_M,), 885: (_M,),
    }
)  # fmt: skip

# Area codes of split states (NANPA), with the zones their rate centres span. An area
# code of a split state missing here gives all of its state's zones.
SPLIT_AREA_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        **_each(
            "239 305 321 324 352 386 407 561 645 656 689 727 754 772 786 813 863 904 "
            "941 954",
            (_E,),
        ),
        "907": (_AK, "America/Adak"),
        "850": _EC, "448": _EC,
        "219": _IN_EC, "574": _IN_EC, "812": _IN_EC, "930": _IN_EC,
        "260": (_IN_E,), "317": (_IN_E,), "463": (_IN_E,), "765": (_IN_E,),
        "502": (_E,), "606": _EC, "859": (_E,), "270": _EC, "364": _EC,
        "423": _EC, "865": (_E,), "615": (_C,), "629": (_C,), "731": (_C,),
        "901": (_C,), "931": (_C,),
        "906": (_MI_E, _MI_C),
        **_each(
            "231 248 269 313 517 586 616 679 734 810 947 989", (_MI_E,)
        ),
        "915": (_M,), "432": _CM,
        **_each(
            "210 214 254 281 325 346 361 409 430 469 512 682 713 726 737 806 817 830 832 "
            "903 936 940 945 956 972 979",
            (_C,),
        ),
        "785": _CM, "620": _CM, "316": (_C,), "913": (_C,),
        "308": _CM, "402": (_C,), "531": (_C,), "605": _CM, "701": _CM,
        "208": (_ID_M, _P), "986": (_ID_M, _P),
        "541": (_P, _ID_M), "458": (_P, _ID_M), "503": (_P,), "971": (_P,),
        "775": (_P, _M), "702": (_P,), "725": (_P,),
        "928": ("America/Phoenix", _M), "480": ("America/Phoenix",),
        "520": ("America/Phoenix",), "602": ("America/Phoenix",),
        "623": ("America/Phoenix",),
    }
)  # fmt: skip

STATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR",
        "california": "CA", "colorado": "CO", "connecticut": "CT", "delaware": "DE",
        "district of columbia": "DC", "washington d.c.": "DC", "washington dc": "DC",
        "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID",
        "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
        "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
        "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
        "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE",
        "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
        "new mexico": "NM", "new york": "NY", "north carolina": "NC",
        "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
        "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
        "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT",
        "vermont": "VT", "virginia": "VA", "washington": "WA",
        "washington state": "WA", "west virginia": "WV", "wisconsin": "WI",
        "wyoming": "WY", "puerto rico": "PR", "u.s. virgin islands": "VI",
        "us virgin islands": "VI", "guam": "GU", "northern mariana islands": "MP",
        "american samoa": "AS",
    }
)  # fmt: skip


def zip_state(zip5: str) -> str | None:
    """The USPS state code of a five-digit ZIP, or ``None`` when unassigned."""
    number = int(zip5)
    for low, high, state in _ZIP5_RANGES:
        if low <= number <= high:
            return state
    zip3 = number // 100
    for low, high, state in _ZIP3_RANGES:
        if low <= zip3 <= high:
            return state
    return None


def zip_zones(zip5: str, state: str) -> tuple[str, ...]:
    """The zones of a five-digit ZIP in ``state`` (``zip_state``'s answer)."""
    if state in MAIN_ZONE:
        return SPLIT_ZIP3.get(int(zip5) // 100, (MAIN_ZONE[state],))
    return STATE_ZONES.get(state, ())


def state_code(name: str) -> str | None:
    """The USPS code of a state name or code (``"Florida"``, ``"fl"``, ``"Pensacola,
    FL"`` as the phone geocoder writes a city), or ``None``."""
    text = name.strip()
    if "," in text:
        text = text.rsplit(",", 1)[1].strip()
    upper = text.upper()
    if upper in STATE_ZONES or upper in MILITARY:
        return upper
    return STATE_NAMES.get(text.lower())


__all__ = [
    "GEO_VERSION",
    "MAIN_ZONE",
    "MILITARY",
    "SPLIT_AREA_CODES",
    "SPLIT_ZIP3",
    "STATE_NAMES",
    "STATE_ZONES",
    "state_code",
    "zip_state",
    "zip_zones",
]
