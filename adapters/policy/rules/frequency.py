"""Legal frequency caps over the contact's earlier attempts: Reg F's 7-in-7 and its
week of quiet after a conversation, Florida's and Oklahoma's three calls a day per
subject, and the general per-channel cap.

Every count reads the attempts in a rolling window ``(at - span, at]``: an attempt
exactly ``span`` before the send has left the window, one at the send's instant is in
it. An attempt recorded *after* the send's instant counts too (another worker's
deterministic "now" may run a little ahead of this one's: a call in the ledger was
placed, and a race must not let an eighth through). Attempts count whether answered or
not, placed by DEE or imported from a prior dialer alike. A cap reached defers the send
to the instant the oldest counted attempt leaves the window (a rolling window of whole
hours is never looser than a calendar-day reading, which would also need the contact's
zone).

Where a count's scope is not known (no debt named, an attempt without a debt or subject
on record), the rules count more rather than less: fail-closed, and the reason says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules.model import CONVERSATION, Attempt, Location, RuleInput, RuleResult

VOICE = frozenset({"voice"})
REGF_SPAN = timedelta(days=7)
REGF_CALLS = 7
SUBJECT_SPAN = timedelta(hours=24)
SUBJECT_CALLS = 3
# A cap's window is read back from the ledger and added to instants: ten years at most,
# so neither reaches past the calendar (a window of a million days would raise).
MAX_CAP_DAYS = 3660


def located_in(location: Location, state: str) -> bool:
    """Whether any source places the contact in ``state`` (USPS code).

    Reads ``Location.states`` (per source, the states it gave); a location without
    state data is in no state.
    """
    return any(state in codes for codes in location.states.values())


def _not_applicable(name: str, why: str) -> RuleResult:
    return RuleResult(name, "allow", f"not applicable ({why})")


def _window(
    attempts: Iterable[Attempt], at: datetime, span: timedelta, keep: Callable[[Attempt], bool]
) -> list[datetime]:
    """The instants of the kept attempts after ``at - span`` (later ones included, see
    the module docstring), oldest first."""
    return sorted(a.at for a in attempts if keep(a) and at - span < a.at)


def _capped(
    name: str,
    times: list[datetime],
    limit: int,
    span: timedelta,
    what: str,
    scope: Mapping[str, object],
) -> RuleResult:
    """Allow below ``limit`` attempts in the window, else defer until enough have left it."""
    detail: dict[str, object] = {
        **scope,
        "counted": len(times),
        "limit": limit,
        "windowHours": span / timedelta(hours=1),
    }
    detail["attempts"] = [t.isoformat() for t in times]
    if len(times) < limit:
        return RuleResult(name, "allow", f"{len(times)} of {limit} {what}", detail=detail)
    if limit == 0:
        return RuleResult(name, "deny", f"no {what} allowed (limit 0)", detail=detail)
    # With n >= limit attempts in the window, the send may go once n - limit + 1 of them
    # have left it: when the (n - limit)-th oldest (0-based) is ``span`` old.
    until = times[len(times) - limit] + span
    reason = (
        f"{len(times)} {what} already (limit {limit}); the next is permitted at "
        f"{until.isoformat()}, when the attempt of {times[len(times) - limit].isoformat()} "
        "leaves the window"
    )
    return RuleResult(name, "defer", reason, until=until, detail=detail)


def _same_debt(debt_ref: str | None) -> Callable[[Attempt], bool]:
    # No debt named on the send: every call counts as about the one debt. An attempt
    # without a recorded debt may have been about this one: it counts too.
    def keep(a: Attempt) -> bool:
        return a.channel == "voice" and (
            debt_ref is None or a.debt_ref is None or a.debt_ref == debt_ref
        )

    return keep


def _debt_scope(debt_ref: str | None) -> str:
    if debt_ref is None:
        return "no debt reference named: every call to the contact counts (fail-closed)"
    return f"debt {debt_ref} (calls with no debt on record count too)"


@dataclass(frozen=True, slots=True)
class AttemptsPerDebt:
    """Reg F 12 CFR 1006.14(b)(2)(i)(A): at most ``limit`` call attempts about one debt
    within ``span`` (7 in 7 days); the next defers until the oldest leaves the window.

    A send naming no debt counts every call to the contact as one debt (fail-closed), and
    a recorded call without a debt counts against every debt.
    """

    name: str = "regf.attempts_7_in_7"
    limit: int = REGF_CALLS
    span: timedelta = REGF_SPAN
    channels: frozenset[str] = VOICE
    citation: str = "12 CFR 1006.14(b)(2)(i)(A)"

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _not_applicable(self.name, f"channel {inp.channel}")
        times = _window(inp.attempts, inp.at, self.span, _same_debt(inp.debt_ref))
        detail = {"debtRef": inp.debt_ref, "scope": _debt_scope(inp.debt_ref)}
        result = _capped(self.name, times, self.limit, self.span, "calls about the debt", detail)
        return _with_scope(result, inp.debt_ref)


@dataclass(frozen=True, slots=True)
class AfterConversation:
    """Reg F 12 CFR 1006.14(b)(2)(i)(B): no call within ``span`` (7 days) after a
    telephone conversation about the debt (an ``answered`` call); defers until the
    latest conversation is ``span`` old. Debt scope as ``AttemptsPerDebt``."""

    name: str = "regf.after_conversation"
    span: timedelta = REGF_SPAN
    channels: frozenset[str] = VOICE
    citation: str = "12 CFR 1006.14(b)(2)(i)(B)"

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _not_applicable(self.name, f"channel {inp.channel}")
        same = _same_debt(inp.debt_ref)
        talks = _window(
            inp.attempts, inp.at, self.span, lambda a: same(a) and a.outcome == CONVERSATION
        )
        detail = {
            "debtRef": inp.debt_ref,
            "scope": _debt_scope(inp.debt_ref),
            "conversations": [t.isoformat() for t in talks],
        }
        if not talks:
            return _with_scope(
                RuleResult(self.name, "allow", "no conversation in the last 7 days", detail=detail),
                inp.debt_ref,
            )
        until = talks[-1] + self.span
        reason = (
            f"a telephone conversation at {talks[-1].isoformat()}: no call until "
            f"{until.isoformat()}"
        )
        return _with_scope(RuleResult(self.name, "defer", reason, until, detail), inp.debt_ref)


def _with_scope(result: RuleResult, debt_ref: str | None) -> RuleResult:
    if debt_ref is not None:
        return result
    reason = f"{result.reason} (no debt reference named: every call counts, fail-closed)"
    return RuleResult(result.rule, result.verdict, reason, result.until, result.detail)


@dataclass(frozen=True, slots=True)
class CallsPerSubject:
    """At most ``limit`` calls in ``span`` on the same subject, whatever number is used
    (Fla. Stat. 501.616(6)(b); 15 O.S. 775C.4), for contacts located in ``state``.

    The send's subject is ``inp.subject``; a send that names none (its plan has no
    ``compliance.subject``) may be on any subject, so every call to the contact counts,
    and a recorded call with no subject counts against every subject: both
    fail-closed (three plans about one loan must not allow nine calls a day). Caller
    ids are ignored.
    """

    name: str
    state: str
    limit: int = SUBJECT_CALLS
    span: timedelta = SUBJECT_SPAN
    channels: frozenset[str] = VOICE
    citation: str = ""

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel not in self.channels:
            return _not_applicable(self.name, f"channel {inp.channel}")
        if not located_in(inp.location, self.state):
            return _not_applicable(self.name, f"contact not located in {self.state}")
        subject = inp.subject or None

        def keep(a: Attempt) -> bool:
            return a.channel == "voice" and (subject is None or a.subject in (None, subject))

        times = _window(inp.attempts, inp.at, self.span, keep)
        what = (
            f"calls on subject {subject} in 24 hours"
            if subject is not None
            else "calls in 24 hours (no subject named: every call to the contact counts)"
        )
        return _capped(self.name, times, self.limit, self.span, what, {"subject": subject})


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``attempts`` attempts on a channel within ``days`` days, per contact."""

    attempts: int
    days: int

    def __post_init__(self) -> None:
        for name, least in (("attempts", 0), ("days", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise PolicyConfigError(
                    f"channel cap: {name} is an integer >= {least}, got {value!r}"
                )
        if self.days > MAX_CAP_DAYS:
            raise PolicyConfigError(
                f"channel cap: days is at most {MAX_CAP_DAYS} (ten years), got {self.days!r}"
            )


# The general cap when configuration names none: a week's calls at Reg F's pace.
DEFAULT_CAPS: Mapping[str, Cap] = MappingProxyType({"voice": Cap(attempts=7, days=7)})


@dataclass(frozen=True, slots=True)
class ChannelCap:
    """The general cap: at most ``cap.attempts`` attempts on ``channel`` in ``cap.days``
    days per contact, all plans, debts and subjects together."""

    channel: str
    cap: Cap
    name: str = "general.channel_cap"

    @property
    def channels(self) -> frozenset[str]:
        return frozenset({self.channel})

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.channel != self.channel:
            return _not_applicable(self.name, f"channel {inp.channel}")
        span = timedelta(days=self.cap.days)
        times = _window(inp.attempts, inp.at, span, lambda a: a.channel == self.channel)
        what = f"{self.channel} attempts in {self.cap.days} days"
        return _capped(self.name, times, self.cap.attempts, span, what, {"channel": self.channel})


__all__ = [
    "DEFAULT_CAPS",
    "MAX_CAP_DAYS",
    "AfterConversation",
    "AttemptsPerDebt",
    "CallsPerSubject",
    "Cap",
    "ChannelCap",
    "located_in",
]
