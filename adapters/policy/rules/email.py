"""Email send windows, the opt-out clocks, and revocation of call consent.

An email window is read like a calling window: open only when the instant is inside it
in *every* candidate zone of the contact (``adapters.policy.hours`` gives each zone's
next opening; the search jumps to the latest until all agree). The opt-out clocks deny
any send after an opt-out: the law allows a delay (CAN-SPAM ten business days, the
bulk-sender rules 48 hours) that DEE never uses, and the denial's reason and detail
record the opt-out instant, the deadline it had, and that it was honoured at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from adapters.policy.config import HoursWindow
from adapters.policy.hours import NoOpening, is_open, next_opening
from adapters.policy.rules.model import RuleInput, RuleResult
from adapters.policy.zones import zone

EMAIL = frozenset({"email"})
VOICE = frozenset({"voice"})
# Each round moves to a later opening of some zone; zones whose windows overlap agree
# within a few rounds, so running out means the windows never overlap.
_ROUNDS = 32

ClockUnit = Literal["business_days", "hours"]


def _na(name: str, channel: str) -> RuleResult:
    return RuleResult(name, "allow", f"not applicable (channel {channel})")


@dataclass(frozen=True, slots=True)
class EmailWindow:
    """Emails only inside ``window`` (local wall time, ISO weekdays) in every candidate
    zone of the contact; defers to the first instant open in all of them. No zone at all
    (not even the configured default, recorded by the locator as source ``default``)
    denies: the zone is never guessed."""

    name: str
    window: HoursWindow
    channels: frozenset[str] = EMAIL
    citation: str = "tenant configuration"

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _na(self.name, inp.channel)
        names = inp.location.zones
        detail: dict[str, object] = {"window": self.window.describe(), "zones": list(names)}
        if not names:
            return RuleResult(self.name, "deny", "no time zone for the contact", detail=detail)
        zones: list[ZoneInfo] = []
        for name in names:
            found = zone(name)
            if found is None:
                return RuleResult(self.name, "deny", f"{name!r} is not an IANA zone", detail=detail)
            zones.append(found)
        detail["local"] = {
            name: {
                "time": inp.at.astimezone(tz).isoformat(),
                "open": is_open(inp.at, tz, self.window),
            }
            for name, tz in zip(names, zones, strict=True)
        }
        try:
            opening = _common_opening(inp.at, zones, self.window)
        except NoOpening as error:
            return RuleResult(self.name, "deny", str(error), detail=detail)
        if opening is None:
            return RuleResult(self.name, "allow", "inside the email window", detail=detail)
        where = "every candidate zone" if len(zones) > 1 else names[0]
        reason = f"outside the email window in {where}; it opens at {opening.isoformat()}"
        return RuleResult(self.name, "defer", reason, until=opening, detail=detail)


def _common_opening(at: datetime, zones: list[ZoneInfo], window: HoursWindow) -> datetime | None:
    """``None`` when ``at`` is open in every zone, else the first instant that is."""
    t = at.astimezone(UTC)
    for _ in range(_ROUNDS):
        openings = [next_opening(t, tz, window) for tz in zones]
        later = [o for o in openings if o is not None]
        if not later:
            return None if t == at else t
        t = max(later)
    raise NoOpening(
        f"the window {window.describe()} is never open in all of the contact's zones at once"
    )


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved ``days`` working days (Monday to Friday, in UTC) later.

    No holiday table: a holiday would only make the legal deadline later, and DEE
    honours an opt-out at once, so the earlier deadline is the one to prove against.
    """
    moved, counted = start, 0
    while counted < days:
        moved += timedelta(days=1)
        if moved.isoweekday() <= 5:
            counted += 1
    return moved


@dataclass(frozen=True, slots=True)
class OptOutClock:
    """No send after the contact opted out (``inp.opt_out_at``): the law gives
    ``allowance`` ``unit`` to honour it, DEE honours it at once and says so."""

    name: str
    allowance: int
    unit: ClockUnit
    channels: frozenset[str] = EMAIL
    citation: str = ""

    def deadline(self, opted_out: datetime) -> datetime:
        """The latest instant the law allowed for honouring an opt-out."""
        if self.unit == "hours":
            return opted_out + timedelta(hours=self.allowance)
        return add_business_days(opted_out, self.allowance)

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _na(self.name, inp.channel)
        opted = inp.opt_out_at
        if opted is None:
            return RuleResult(self.name, "allow", "no opt-out on record")
        if opted > inp.at:
            return RuleResult(self.name, "allow", f"the opt-out of {opted.isoformat()} is later")
        deadline = self.deadline(opted)
        allowance = f"{self.allowance} {self.unit.replace('_', ' ')}"
        detail = {
            "optOutAt": opted.isoformat(),
            "deadline": deadline.isoformat(),
            "allowance": allowance,
            "honouredAt": opted.isoformat(),
            "citation": self.citation,
        }
        reason = (
            f"the contact opted out at {opted.isoformat()}; the law allowed {allowance} "
            f"(until {deadline.isoformat()}) to honour it, DEE honoured it at once: nothing "
            "is sent after the opt-out"
        )
        return RuleResult(self.name, "deny", reason, detail=detail)


@dataclass(frozen=True, slots=True)
class Revocation:
    """Consent revoked by any reasonable means (FCC 24-24, 47 CFR 64.1200(a)(10)): a
    consent record in force that says ``opted_out`` (e.g. source ``reply:STOP``) ends
    calls at once, whenever it was recorded."""

    name: str = "tcpa.revocation"
    channels: frozenset[str] = VOICE
    citation: str = "47 CFR 64.1200(a)(10) (FCC 24-24)"

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _na(self.name, inp.channel)
        consent = inp.consent or {}
        if consent.get("status") != "opted_out":
            return RuleResult(self.name, "allow", "consent not revoked")
        source = consent.get("source") or "unknown source"
        when = consent.get("recorded_at") or "an unknown time"
        detail = {"source": source, "recordedAt": when, "citation": self.citation}
        reason = f"consent revoked ({source}) at {when}: no call after a revocation"
        return RuleResult(self.name, "deny", reason, detail=detail)


__all__ = ["ClockUnit", "EmailWindow", "OptOutClock", "Revocation", "add_business_days"]
