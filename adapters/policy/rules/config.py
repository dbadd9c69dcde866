"""Which rules apply to a send: presets per deployment, tenant and plan, plus a tenant's
or plan's own email window and per-channel caps.

The rules of a send are the union of every preset that applies (identical rules once);
"the strictest wins" needs no ranking, since the engine evaluates every rule and any
deny or the latest deferral decides. The version names the tables and hashes the
effective rules with all their parameters, so a decision records exactly what it was
evaluated against and a changed parameter changes the version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from adapters.policy.config import CHANNELS, HoursWindow
from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules import geo, holidays
from adapters.policy.rules.email import EmailWindow
from adapters.policy.rules.frequency import DEFAULT_CAPS, Cap, ChannelCap
from adapters.policy.rules.model import Rule
from adapters.policy.rules.presets import preset
from adapters.policy.zones import zone

# The version of the rule definitions shipped in this package (presets, frequency and
# email rules); bumped when a shipped rule's meaning changes.
RULES_TABLES_VERSION = "2026-12"
PLAN_KEY = "plan:"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules for one send and their version (``<tables version>:<12 hex of the
    effective configuration's hash>``), recorded in every decision."""

    rules: tuple[Rule, ...]
    version: str
    presets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Compliance configuration (settings ``policies.presets`` and friends).

    Attributes:
        presets: The deployment's presets, for every send.
        tenant_presets: Per tenant, presets added for its sends.
        plan_presets: Per plan id, presets added for its sends.
        email_windows: Email windows by tenant (key: the tenant) or by plan (key:
            ``plan:<id>``); both apply when both are configured.
        channel_caps: The general per-contact cap per channel, merged over the default
            (voice 7 attempts in 7 days); ``None`` removes a channel's cap.
        tenant_channel_caps: Per tenant, caps merged over ``channel_caps`` likewise.
        assumed_timezone: The zone a contact that no source locates is taken to be in
            (settings ``policies.defaultTimezone``, only when set explicitly); ``None``:
            the window rules deny such a contact, since a regulated window read in a
            guessed zone proves nothing.
    """

    presets: tuple[str, ...] = ()
    tenant_presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    plan_presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    email_windows: Mapping[str, HoursWindow] = field(default_factory=dict)
    channel_caps: Mapping[str, Cap | None] = field(default_factory=dict)
    tenant_channel_caps: Mapping[str, Mapping[str, Cap | None]] = field(default_factory=dict)
    assumed_timezone: str | None = None

    def __post_init__(self) -> None:
        # Frozen copies (lists become tuples), so a caller's dict cannot change them later.
        set_ = object.__setattr__
        set_(self, "presets", _names(self.presets, "presets"))
        for name in ("tenant_presets", "plan_presets"):
            value = _mapping(getattr(self, name), name)
            set_(self, name, _frozen({k: _names(v, f"{name}[{k}]") for k, v in value.items()}))
        windows = _mapping(self.email_windows, "email_windows")
        for key, window in windows.items():
            if not isinstance(window, HoursWindow):
                raise PolicyConfigError(f"email_windows[{key}]: {window!r} is not a HoursWindow")
            if key == PLAN_KEY:
                raise PolicyConfigError(f"email_windows[{key}]: names no plan id")
        set_(self, "email_windows", _frozen(windows))
        set_(self, "channel_caps", _caps(self.channel_caps, "channel_caps"))
        tenants = _mapping(self.tenant_channel_caps, "tenant_channel_caps")
        set_(
            self,
            "tenant_channel_caps",
            _frozen({t: _caps(c, f"tenant_channel_caps[{t}]") for t, c in tenants.items()}),
        )
        if self.assumed_timezone is not None and zone(self.assumed_timezone) is None:
            raise PolicyConfigError(
                f"assumed_timezone: {self.assumed_timezone!r} is not an IANA time zone"
            )

    def rule_set(
        self,
        tenant: str,
        plan_id: str,
        plan_presets: tuple[str, ...] = (),
        *,
        override: tuple[str, ...] | None = None,
    ) -> RuleSet:
        """The rules for a send: the union of the deployment's, the tenant's, the
        plan's (settings) and the plan file's presets, or exactly ``override``
        (``dee policy explain --preset``), plus the tenant's and plan's email windows
        and the general per-channel caps (neither is a preset, so ``override`` keeps
        them).

        Raises:
            UnknownPreset: ``plan_presets`` (``compliance.presets``) or ``override``
                names no preset.
        """
        if override is not None:
            names = _names(override, "override")
        else:
            names = (
                *self.presets,
                *self.tenant_presets.get(tenant, ()),
                *self.plan_presets.get(plan_id, ()),
                *_names(plan_presets, "compliance.presets"),
            )
        chosen = tuple(sorted(set(names)))
        rules: list[Rule] = []
        for name in chosen:
            rules.extend(preset(name).rules)
        for key, rule_name in (
            (tenant, "tenant.email_window"),
            (PLAN_KEY + plan_id, "plan.email_window"),
        ):
            if key in self.email_windows:
                rules.append(EmailWindow(rule_name, self.email_windows[key]))
        caps = {**self.channel_caps, **self.tenant_channel_caps.get(tenant, {})}
        rules.extend(ChannelCap(c, cap) for c, cap in sorted(caps.items()) if cap is not None)
        unique = tuple(_dedupe(rules))
        digest = fingerprint(unique, self.assumed_timezone)
        return RuleSet(unique, f"{RULES_TABLES_VERSION}:{digest}", chosen)


def fingerprint(rules: Iterable[Rule], assumed_timezone: str | None = None) -> str:
    """12 hex digits of the SHA-256 of the rules' canonical JSON (names, classes, every
    parameter), of the dated tables' versions and of the assumed zone: stable across
    processes."""
    document: dict[str, Any] = {
        "rules": [_canonical(rule) for rule in rules],
        "tables": _table_versions(),
    }
    if assumed_timezone is not None:  # absent otherwise: earlier versions stay valid
        document["assumedTimezone"] = assumed_timezone
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _table_versions() -> dict[str, str]:
    # A new edition of the zone or holiday tables changes every rule set's version.
    return {"geo": geo.GEO_VERSION, "holidays": holidays.HOLIDAYS_VERSION}


def _canonical(value: Any) -> Any:
    """JSON-ready, order-independent data of a rule and its parameters."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (frozenset, set)):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (tuple, list)):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if hasattr(value, "name") and hasattr(value, "channels"):
        return {"type": type(value).__name__, "name": value.name, "repr": repr(value)}
    return repr(value)


def _dedupe(rules: Iterable[Rule]) -> Iterable[Rule]:
    seen: list[Rule] = []
    for rule in rules:
        if rule not in seen:
            seen.append(rule)
            yield rule


def _names(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise PolicyConfigError(f"{where}: a list of preset names, got {value!r}")
    for name in value:
        preset(name, where)
    return tuple(value)


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyConfigError(f"{where}: a mapping, got {value!r}")
    for key in value:
        if not isinstance(key, str) or not key:
            raise PolicyConfigError(f"{where}: key {key!r} is not a non-empty string")
    return dict(value)


def _caps(value: object, where: str) -> Mapping[str, Cap | None]:
    caps = _mapping(value, where)
    for channel, cap in caps.items():
        if channel not in CHANNELS:
            raise PolicyConfigError(
                f"{where}: unknown channel {channel!r}; channels are {', '.join(CHANNELS)}"
            )
        if cap is not None and not isinstance(cap, Cap):
            raise PolicyConfigError(f"{where}[{channel}]: {cap!r} is not a Cap")
    if where == "channel_caps":
        caps = {**DEFAULT_CAPS, **caps}
    return _frozen(caps)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


__all__ = ["PLAN_KEY", "RULES_TABLES_VERSION", "RuleSet", "RulesConfig", "fingerprint"]
