"""Policy configuration: frozen values the gate reads, validated when built.

Boundary: plain data, no I/O. Defaults follow the product rules: voice needs explicit
consent and may only call 08:00-21:00 in the contact's time zone, every day; email is
sent unless the contact opted out, at any hour; no daily limit; costs of zero.

Daily limits are configuration only: the schema has no table for them (see the
package docstring), so ``dee limits set`` cannot persist one yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, TypeVar, get_args

from adapters.policy.errors import PolicyConfigError, PolicyInputError
from adapters.policy.money import to_micros
from adapters.policy.zones import zone
from interpreter.commands import CHANNELS, Channel  # the one channel table

ConsentMode = Literal["required", "opt-out"]
LimitResolution = Literal["deny", "defer_next_day"]

CONSENT_MODES: tuple[ConsentMode, ...] = get_args(ConsentMode)
LIMIT_RESOLUTIONS: tuple[LimitResolution, ...] = get_args(LimitResolution)
EVERY_DAY = frozenset(range(1, 8))


@dataclass(frozen=True, slots=True)
class HoursWindow:
    """Local hours in which a channel may reach a contact: ``start <= wall time < end``.

    Attributes:
        start: Opening wall-clock time (naive; it is read in the contact's zone).
        end: Closing wall-clock time, exclusive; must be after ``start`` (a window
            does not span midnight).
        days: ISO weekdays on which the window opens (1 = Monday ... 7 = Sunday).
    """

    start: time
    end: time
    days: frozenset[int] = EVERY_DAY

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise PolicyConfigError("hours: start and end are wall-clock times without a zone")
        if not self.start < self.end:
            raise PolicyConfigError(
                f"hours: start {self.start.isoformat()} must be before end {self.end.isoformat()}"
            )
        if not self.days or not self.days <= EVERY_DAY:
            raise PolicyConfigError(
                f"hours: days must be a non-empty set of ISO weekdays 1-7, got {sorted(self.days)}"
            )

    def describe(self) -> dict[str, object]:
        """The window as JSON-ready data (for decision details)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": sorted(self.days),
        }


VOICE_HOURS = HoursWindow(time(8, 0), time(21, 0))
DEFAULT_HOURS: Mapping[Channel, HoursWindow] = MappingProxyType({"voice": VOICE_HOURS})
DEFAULT_CONSENT_MODES: Mapping[Channel, ConsentMode] = MappingProxyType(
    {"email": "opt-out", "voice": "required"}
)


@dataclass(frozen=True, slots=True)
class ContactCap:
    """At most ``sends`` sends to one contact within any ``days`` days.

    ``sends`` may be 0 (nothing is sent to anyone of the tenant); ``days`` is at least 1.
    """

    sends: int
    days: int

    def __post_init__(self) -> None:
        for name, least in (("sends", 0), ("days", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise PolicyConfigError(
                    f"contact cap: {name} is an integer >= {least}, got {value!r}"
                )

    def describe(self) -> str:
        return f"{self.sends} sends per contact in {self.days} days"


DEFAULT_CONTACT_CAP = ContactCap(sends=10, days=7)


@dataclass(frozen=True, slots=True)
class Costs:
    """Cost estimates, in ``currency`` units.

    Attributes:
        currency: ISO 4217 code; a budget in another currency denies (never converted).
        per_email: Estimated cost of one email.
        per_voice_minute: Estimated cost of one started voice minute; a call's estimate
            is this times its ``max_duration_seconds`` rounded up to whole minutes.
    """

    currency: str = "USD"
    per_email: Decimal = Decimal(0)
    per_voice_minute: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise PolicyConfigError(f"costs.currency: {self.currency!r} is not an ISO 4217 code")
        for name in ("per_email", "per_voice_minute"):
            try:
                to_micros(getattr(self, name), field=f"costs.{name}", exact=False)
            except PolicyInputError as error:
                raise PolicyConfigError(str(error)) from None


K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Everything the gate needs besides the database.

    Attributes:
        consent_modes: Per channel, ``required`` (an opt-in record must be in force) or
            ``opt-out`` (denied only by an explicit opt-out); merged over the defaults
            (voice ``required``, email ``opt-out``).
        hours: Per channel, the local window in which sends happen; merged over the
            default (voice 08:00-21:00 every day), ``None`` removing a channel's window.
            A channel without a window (email by default) sends at any hour.
        daily_limits: Sends per (tenant, channel) and UTC day; overrides
            ``default_daily_limits``.
        default_daily_limits: Per channel, the limit for tenants not in
            ``daily_limits``; ``None`` or absent means unlimited (still counted).
        on_daily_limit: What a reached limit does: ``deny`` (the run fails) or
            ``defer_next_day`` (deferred to the next UTC midnight).
        costs: Per-send cost estimates reserved against the budget.
        budget_name: The budget (by name) a send reserves against: the tenant's row of
            that name whose period covers the send's UTC day.
        budget_required: Deny sends when the tenant has no such budget (otherwise a
            missing budget means cost is not limited).
        default_timezone: The zone used when a contact names none (an invalid zone on
            the contact denies; it is never replaced by this one).
        contact_cap: Sends per contact in a window, across runs and channels, for
            tenants not in ``contact_caps`` (``adapters.policy.contact_cap``; default 10
            in 7 days; ``None``: no cap).
        contact_caps: Per tenant, its own cap, or ``None`` for none.
        tenants: Per tenant, the whole configuration its sends are decided by
            (``for_tenant``): the settings' ``policies.tenants.<tenant>`` merged over the
            global ones (``dee.worker.policy_config``); tenants not named use this one.
    """

    consent_modes: Mapping[Channel, ConsentMode] = field(default_factory=dict)
    hours: Mapping[Channel, HoursWindow | None] = field(default_factory=dict)
    daily_limits: Mapping[tuple[str, Channel], int] = field(default_factory=dict)
    default_daily_limits: Mapping[Channel, int | None] = field(default_factory=dict)
    on_daily_limit: LimitResolution = "deny"
    costs: Costs = field(default_factory=Costs)
    budget_name: str = "default"
    budget_required: bool = False
    default_timezone: str = "UTC"
    contact_cap: ContactCap | None = DEFAULT_CONTACT_CAP
    contact_caps: Mapping[str, ContactCap | None] = field(default_factory=dict)
    tenants: Mapping[str, PolicyConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Overrides merge over the defaults, so configuring email hours cannot silently
        # drop the voice window; frozen copies, so a caller's dict cannot change them later.
        modes = {**DEFAULT_CONSENT_MODES, **self.consent_modes}
        hours = {**DEFAULT_HOURS, **self.hours}
        object.__setattr__(self, "consent_modes", _frozen(modes))
        object.__setattr__(
            self, "hours", _frozen({c: w for c, w in hours.items() if w is not None})
        )
        for name in ("daily_limits", "default_daily_limits", "contact_caps", "tenants"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        self._check()

    def _check(self) -> None:
        for channel in (*self.consent_modes, *self.hours, *self.default_daily_limits):
            _check_channel(channel)
        for channel, window in self.hours.items():
            if not isinstance(window, HoursWindow):
                raise PolicyConfigError(f"hours[{channel}]: {window!r} is not a HoursWindow")
        for channel, mode in self.consent_modes.items():
            if mode not in CONSENT_MODES:
                raise PolicyConfigError(
                    f"consent_modes[{channel}]: {mode!r} is not one of {', '.join(CONSENT_MODES)}"
                )
        for key, limit in self.daily_limits.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise PolicyConfigError(f"daily_limits: key {key!r} is not (tenant, channel)")
            _check_channel(key[1])
            _check_limit(f"daily_limits[{key[0]}, {key[1]}]", limit)
        for channel, default in self.default_daily_limits.items():
            if default is not None:
                _check_limit(f"default_daily_limits[{channel}]", default)
        if self.on_daily_limit not in LIMIT_RESOLUTIONS:
            raise PolicyConfigError(
                f"on_daily_limit: {self.on_daily_limit!r} is not one of "
                f"{', '.join(LIMIT_RESOLUTIONS)}"
            )
        for tenant, cap in (*self.contact_caps.items(), ("(default)", self.contact_cap)):
            if cap is not None and not isinstance(cap, ContactCap):
                raise PolicyConfigError(f"contact cap of {tenant}: {cap!r} is not a ContactCap")
        for tenant, own in self.tenants.items():
            if not isinstance(own, PolicyConfig) or own.tenants:
                raise PolicyConfigError(f"tenants[{tenant}]: not a PolicyConfig of its own")
        if not self.budget_name:
            raise PolicyConfigError("budget_name: must not be empty")
        if zone(self.default_timezone) is None:
            raise PolicyConfigError(
                f"default_timezone: {self.default_timezone!r} is not an IANA time zone"
            )

    def for_tenant(self, tenant: str) -> PolicyConfig:
        """The configuration the tenant's sends are decided by (its own, or this one)."""
        return self.tenants.get(tenant, self)

    def consent_mode(self, channel: Channel) -> ConsentMode:
        """The consent mode of a channel (voice ``required``, email ``opt-out`` by default)."""
        return self.consent_modes[channel]

    def window(self, channel: Channel) -> HoursWindow | None:
        """The channel's local sending window; ``None``: any hour."""
        return self.hours.get(channel)

    def cap_for(self, tenant: str) -> ContactCap | None:
        """The tenant's per-contact send cap; ``None``: no cap."""
        return self.contact_caps.get(tenant, self.contact_cap)

    def daily_limit(self, tenant: str, channel: Channel) -> int | None:
        """The tenant's daily limit on a channel; ``None`` is unlimited."""
        if (tenant, channel) in self.daily_limits:
            return self.daily_limits[(tenant, channel)]
        return self.default_daily_limits.get(channel)


def _check_channel(channel: object) -> None:
    if channel not in CHANNELS:
        raise PolicyConfigError(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")


def _check_limit(name: str, limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise PolicyConfigError(f"{name}: a daily limit is an integer >= 0, got {limit!r}")


__all__ = [
    "CHANNELS",
    "DEFAULT_CONSENT_MODES",
    "DEFAULT_CONTACT_CAP",
    "DEFAULT_HOURS",
    "EVERY_DAY",
    "VOICE_HOURS",
    "Channel",
    "ConsentMode",
    "ContactCap",
    "Costs",
    "HoursWindow",
    "LimitResolution",
    "PolicyConfig",
]
