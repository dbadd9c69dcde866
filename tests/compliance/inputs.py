"""Hand-made rule inputs for the pure rule tests: a ``Location`` built directly (not
through ``locate``), so each rule is tested on exactly the zones and states it is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.policy.rules.model import Attempt, Location, RuleInput, ZoneCandidate

# A Tuesday, 10:00 in New York (EST).
AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Located(Location):
    """A ``Location`` with the per-source states the locator records (``Location.states``;
    declared here too, so these tests do not depend on when that field lands)."""

    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def location(*zones: str, states: tuple[str, ...] = ()) -> Location:
    candidates = tuple(ZoneCandidate(z, ("timezone",)) for z in zones)
    by_state = {"address.state": states} if states else {}
    by_source = {"timezone": zones} if zones else {}
    return Located(candidates=candidates, by_source=by_source, states=by_state)


def call(
    ago: timedelta,
    *,
    outcome: str | None = "no-answer",
    debt: str | None = "D1",
    subject: str | None = None,
    caller: str | None = None,
    source: str = "run",
    channel: str = "voice",
) -> Attempt:
    return Attempt(channel, AT - ago, outcome, debt, subject, caller, source)


def send(
    *attempts: Attempt,
    channel: str = "voice",
    at: datetime = AT,
    debt: str | None = "D1",
    subject: str | None = None,
    where: Location | None = None,
    consent: Mapping[str, Any] | None = None,
    opt_out_at: datetime | None = None,
) -> RuleInput:
    return RuleInput(
        tenant="acme",
        plan_id="collect-v1",
        channel=channel,
        at=at,
        contact={"id": "c-1"},
        location=where if where is not None else location("America/New_York"),
        attempts=tuple(sorted(attempts, key=lambda a: a.at)),
        debt_ref=debt,
        subject=subject,
        consent=consent,
        opt_out_at=opt_out_at,
    )
