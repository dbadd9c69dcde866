"""The named rule groups a deployment, tenant or plan turns on, each with its sources.

The issue's six presets (``tcpa``, ``florida``, ``oklahoma``, ``regf``, ``can-spam``,
``gmail-bulk``) plus ``state-holidays``: the shipped state holiday bans
(``holidays.HOLIDAY_BANS``) are state telemarketing law, not part of any of the six,
so they are a preset of their own that a deployment adds explicitly. Reg F's calling
window is kept to calls: its "inconvenient time" also covers emails and texts, but
when an email is "communicated" is not a wall-clock instant DEE controls; email
windows are configured per tenant or plan instead (``config.RulesConfig``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from types import MappingProxyType

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules import holidays
from adapters.policy.rules.email import OptOutClock, Revocation
from adapters.policy.rules.frequency import AfterConversation, AttemptsPerDebt, CallsPerSubject
from adapters.policy.rules.model import Rule
from adapters.policy.rules.windows import CallingWindow

FL_WINDOW = "Fla. Stat. 501.616(6)(a)"
FL_CALLS = "Fla. Stat. 501.616(6)(b)"
OK_SECTION = "15 O.S. 775C.4 (Telephone Solicitation Act of 2022)"
_SOLICITATION = "Telephone Solicitation Act: calls 08:00-20:00, 3 calls in 24 hours per subject"


class UnknownPreset(PolicyConfigError):
    """A preset name that is not in ``PRESETS``; the message lists the known ones.

    Attributes:
        preset: The unknown name.
    """

    def __init__(self, preset: object, where: str = "presets") -> None:
        self.preset = preset
        super().__init__(
            f"{where}: unknown compliance preset {preset!r} (known: {', '.join(sorted(PRESETS))})"
        )


@dataclass(frozen=True, slots=True)
class Preset:
    """A named group of rules and the legal sources they implement."""

    name: str
    title: str
    citations: tuple[str, ...]
    rules: tuple[Rule, ...]


def _window(preset: str, end: int, citation: str, states: frozenset[str] = frozenset()) -> Rule:
    return CallingWindow(
        name=f"{preset}.calling_window",
        start=time(8, 0),
        end=time(end, 0),
        channels=frozenset({"voice"}),
        states=states,
        citation=citation,
    )


def _state_preset(name: str, state: str, title: str, window: str, calls: str) -> Preset:
    return Preset(
        name,
        title,
        (window, calls),
        (
            _window(name, 20, window, frozenset({state})),
            CallsPerSubject(f"{name}.calls_per_subject_24h", state=state, citation=calls),
        ),
    )


_ALL: tuple[Preset, ...] = (
    Preset(
        "tcpa",
        "TCPA: calls 08:00-21:00 where the called party is; revocation by any reasonable means",
        ("47 CFR 64.1200(c)(1)", "47 CFR 64.1200(a)(10) (FCC 24-24)"),
        (_window("tcpa", 21, "47 CFR 64.1200(c)(1)"), Revocation()),
    ),
    _state_preset("florida", "FL", f"Florida {_SOLICITATION}", FL_WINDOW, FL_CALLS),
    _state_preset("oklahoma", "OK", f"Oklahoma {_SOLICITATION}", OK_SECTION, OK_SECTION),
    Preset(
        "regf",
        "Regulation F: calls 08:00-21:00 in every candidate zone, 7 calls in 7 days per debt, "
        "none within 7 days of a conversation",
        ("12 CFR 1006.6(b)(1)(i)", "12 CFR 1006.14(b)(2)(i)"),
        (_window("regf", 21, "12 CFR 1006.6(b)(1)(i)"), AttemptsPerDebt(), AfterConversation()),
    ),
    Preset(
        "can-spam",
        "CAN-SPAM: an opt-out is honoured within 10 business days (DEE: at once)",
        ("15 U.S.C. 7704(a)(4)", "16 CFR 316.5"),
        (OptOutClock("can-spam.opt_out", 10, "business_days", citation="15 U.S.C. 7704(a)(4)"),),
    ),
    Preset(
        "gmail-bulk",
        "Gmail/Yahoo bulk senders: one-click unsubscribe honoured within 48 hours (DEE: at once)",
        ("RFC 8058", "Gmail and Yahoo bulk-sender requirements (2024)"),
        (OptOutClock("gmail-bulk.opt_out", 48, "hours", citation="RFC 8058; Gmail/Yahoo 2024"),),
    ),
    Preset(
        "state-holidays",
        "State bans on telephone solicitation on Sundays and legal holidays (dated tables)",
        tuple(sorted({ban.citation for ban in getattr(holidays, "HOLIDAY_BANS", ())})),
        tuple(getattr(holidays, "HOLIDAY_BANS", ())),
    ),
)  # fmt: skip

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _ALL})


def preset(name: object, where: str = "presets") -> Preset:
    """The preset of this name.

    Raises:
        UnknownPreset: No such preset; ``where`` (the setting or field) is named.
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise UnknownPreset(name, where)
    return PRESETS[name]


__all__ = ["PRESETS", "Preset", "UnknownPreset", "preset"]
