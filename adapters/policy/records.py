"""What the admin API returns, and how it checks operator input.

Boundary: plain values and validation only. Every check raises ``PolicyInputError``
naming the field, so the CLI can say exactly which argument is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal, get_args

from adapters.policy.config import CHANNELS, Channel
from adapters.policy.errors import PolicyInputError

Scope = Literal["global", "channel", "plan"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
# Column sizes of adapters.storage.schema: refused here with the field's name rather
# than by the database (PostgreSQL) or not at all (SQLite).
ID_MAX = 255
REASON_MAX = 1000


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One stored consent record (the latest per contact and channel is in force)."""

    tenant: str
    contact_id: str
    channel: str
    status: str  # opted_in | opted_out
    source: str
    wording_version: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """One suppression; ``scope_key`` is ``""`` (global), a channel, or a plan id."""

    tenant: str
    scope: str
    scope_key: str
    contact_key: str
    reason: str
    source: str
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget in currency units; the period includes both ends."""

    tenant: str
    name: str
    period_start: date
    period_end: date
    currency: str
    limit: Decimal
    reserved: Decimal
    spent: Decimal


@dataclass(frozen=True, slots=True)
class Settlement:
    """A settled budget reservation: ``committed`` with ``actual``, or ``released``."""

    run_id: str
    step_id: str
    visit: int
    status: str
    estimate: Decimal
    actual: Decimal | None
    budget: BudgetStatus


def text(field: str, value: object, max_length: int = ID_MAX) -> str:
    """A non-empty string (stripped) of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise PolicyInputError(field, "must be a non-empty string")
    if len(value) > max_length:
        raise PolicyInputError(field, f"is longer than {max_length} characters")
    return value.strip()


def channel(field: str, value: object) -> Channel:
    """One of the channels."""
    for known in CHANNELS:
        if value == known:
            return known
    raise PolicyInputError(field, f"{value!r} is not one of {', '.join(CHANNELS)}")


def scope_name(value: object) -> Scope:
    """One of the suppression scopes."""
    for known in SCOPES:
        if value == known:
            return known
    raise PolicyInputError("scope", f"{value!r} is not one of {', '.join(SCOPES)}")


def scope(value: object, scope_key: str | None) -> tuple[Scope, str]:
    """The scope and its stored key: ``""`` for global, a channel, or a plan id."""
    name = scope_name(value)
    if name == "global":
        if scope_key:
            raise PolicyInputError("scope_key", "a global suppression takes no scope key")
        return name, ""
    if name == "channel":
        return name, channel("scope_key", scope_key)
    return name, text("scope_key", scope_key)


def instant(field: str, value: datetime | None) -> datetime:
    """An aware instant in UTC; ``None`` means now."""
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise PolicyInputError(field, f"must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


def day(field: str, value: object) -> date:
    """A calendar date (a datetime is refused: a period is made of whole days)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise PolicyInputError(field, f"must be a date, got {value!r}")
    return value


def currency(value: object) -> str:
    """An ISO 4217 code, upper-cased."""
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise PolicyInputError("currency", f"{value!r} is not an ISO 4217 code")
    return value.upper()


__all__ = [
    "SCOPES",
    "BudgetStatus",
    "ConsentEntry",
    "Scope",
    "Settlement",
    "SuppressionEntry",
    "channel",
    "currency",
    "day",
    "instant",
    "scope",
    "scope_name",
    "text",
]
