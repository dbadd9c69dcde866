"""Calling windows by jurisdiction, read in every candidate zone.

A window is open at an instant only when it is open in *every* candidate zone of the
contact (wall-clock reading and daylight-saving rules of ``adapters.policy.hours``). A
deferral goes to the first instant open in all of them: the latest of the zones' next
openings is tried, and again from there, until every zone is open (bounded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.policy.config import HoursWindow
from adapters.policy.hours import NoOpening, is_open, next_opening
from adapters.policy.rules.model import RuleInput, RuleResult, Verdict
from adapters.policy.zones import zone

# Zones whose windows never overlap (Guam and Hawaii for 08:00-20:00) would push the
# search on forever: give up after this many rounds or this span, and deny.
MAX_ROUNDS = 64
MAX_SPAN = timedelta(days=40)


def located_states(inp: RuleInput) -> frozenset[str]:
    """Every US state any source places the contact in."""
    return frozenset(s for states in inp.location.states.values() for s in states)


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Sends on ``channels`` only between ``start`` and ``end`` (local wall time, end
    exclusive) on ``days`` (ISO weekdays), in *every* candidate zone of the contact;
    ``states`` (USPS codes) limits the rule to contacts located in one of them (empty:
    everyone). Defers to the first instant open in every candidate zone; with no zone
    at all, denies (never guessed)."""

    name: str
    start: time
    end: time
    channels: frozenset[str] = frozenset({"voice"})
    days: frozenset[int] = frozenset(range(1, 8))
    states: frozenset[str] = frozenset()
    citation: str = ""

    def __post_init__(self) -> None:
        # A window that cannot be read (start not before end, no days) is refused when
        # the rules are built (``PolicyConfigError``), not at a send.
        self.window  # noqa: B018

    @property
    def window(self) -> HoursWindow:
        return HoursWindow(self.start, self.end, self.days)

    def check(self, inp: RuleInput) -> RuleResult:
        """Allow inside the window in every candidate zone, else defer to the first
        instant open in all of them; deny without a zone."""
        window = self.window
        detail: dict[str, Any] = {"window": window.describe(), "citation": self.citation}
        if inp.channel not in self.channels:
            return self._result("allow", f"not applicable to {inp.channel}", detail)
        if self.states:
            located = located_states(inp)
            detail["states"] = sorted(self.states)
            detail["locatedStates"] = sorted(located)
            if not located & self.states:
                where = ", ".join(sorted(self.states))
                return self._result(
                    "allow", f"not applicable (contact not located in {where})", detail
                )
        zones = _zones(inp)
        detail["location"] = inp.location.proof()
        if zones is None:
            problems = "; ".join(inp.location.problems) or "no source names one"
            reason = f"no time zone for the contact ({problems}): the window cannot be read"
            return self._result("deny", reason, detail)
        at = inp.at.astimezone(UTC)
        detail["zones"] = [_zone_detail(at, name, tz, window, inp) for name, tz in zones]
        closed = [name for name, tz in zones if not is_open(at, tz, window)]
        span = f"{self.start:%H:%M}-{self.end:%H:%M}"
        if self.days != frozenset(range(1, 8)):
            span += f" on ISO weekdays {','.join(str(d) for d in sorted(self.days))}"
        if not closed:
            return self._result("allow", f"inside {span} local in {_names(zones)}", detail)
        try:
            until = _common_opening(at, zones, window)
        except NoOpening as exc:
            return self._result("deny", f"{exc}", detail)
        detail["untilLocal"] = {name: until.astimezone(tz).isoformat() for name, tz in zones}
        reason = (
            f"outside {span} local in {', '.join(closed)}; "
            f"open in every candidate zone at {until.isoformat()}"
        )
        return self._result("defer", reason, detail, until)

    def _result(
        self, verdict: Verdict, reason: str, detail: dict[str, Any], until: datetime | None = None
    ) -> RuleResult:
        return RuleResult(self.name, verdict, reason, until, detail)


def _zones(inp: RuleInput) -> list[tuple[str, ZoneInfo]] | None:
    """The candidate zones, or ``None`` when there is none or one is not a zone."""
    found: list[tuple[str, ZoneInfo]] = []
    for name in inp.location.zones:
        tz = zone(name)
        if tz is None:
            return None
        found.append((name, tz))
    return found or None


def _common_opening(
    at: datetime, zones: list[tuple[str, ZoneInfo]], window: HoursWindow
) -> datetime:
    """The first instant after ``at`` open in every zone.

    Raises:
        NoOpening: None within ``MAX_ROUNDS`` rounds or ``MAX_SPAN``.
    """
    t = at
    for _ in range(MAX_ROUNDS):
        openings = [next_opening(t, tz, window) for _, tz in zones]
        later = [o for o in openings if o is not None]
        if not later:
            return t
        t = max(later)
        if t - at > MAX_SPAN:
            break
    raise NoOpening(
        f"the window {window.start:%H:%M}-{window.end:%H:%M} is not open in every candidate "
        f"zone ({_names(zones)}) at any instant within {MAX_SPAN.days} days"
    )


def _zone_detail(
    at: datetime, name: str, tz: ZoneInfo, window: HoursWindow, inp: RuleInput
) -> dict[str, Any]:
    sources = next((c.sources for c in inp.location.candidates if c.zone == name), ())
    return {
        "zone": name,
        "local": at.astimezone(tz).isoformat(),
        "open": is_open(at, tz, window),
        "sources": list(sources),
    }


def _names(zones: list[tuple[str, ZoneInfo]]) -> str:
    return ", ".join(name for name, _ in zones)


__all__ = ["MAX_ROUNDS", "MAX_SPAN", "CallingWindow", "located_states"]
