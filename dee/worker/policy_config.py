"""The policy gate's configuration, from the engine configuration's ``policies`` section:
the gate's own (``PolicyConfig``) and its compliance rules' (``RulesConfig``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import time
from typing import Any

from adapters.policy import ContactCap, Costs, HoursWindow, PolicyConfig, PolicyError
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.frequency import Cap
from dee.config import ContactCapConfig, EngineConfig
from dee.config_sections import ChannelCapConfig, EmailWindowConfig, TenantPoliciesConfig
from dee.errors import DocumentError

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def policy_config(config: EngineConfig) -> PolicyConfig:
    """The gate's configuration from the engine's ``policies`` section, with each tenant
    of ``policies.tenants`` decided by its own (``PolicyConfig.for_tenant``)."""
    p = config.policies
    hours = _hours(p.hours, "policies.hours")
    try:
        base = _policy_config(config, hours)
        tenants = {t: _tenant_config(base, p.hours, t, own) for t, own in p.tenants.items()}
        # Built again, not ``replace``d: a rebuilt config merges the default hours over
        # the windows ``base`` already dropped (a removed voice window would come back).
        return _policy_config(config, hours, tenants)
    except PolicyError as exc:
        raise DocumentError([f"configuration policies: {exc}"]) from None


def _hours(
    windows: Mapping[str, tuple[str, str] | None], where: str
) -> dict[str, HoursWindow | None]:
    hours: dict[str, HoursWindow | None] = {}
    for channel, window in windows.items():
        if window is None:
            hours[channel] = None
            continue
        try:
            hours[channel] = HoursWindow(
                time.fromisoformat(window[0]), time.fromisoformat(window[1])
            )
        except (ValueError, PolicyError) as exc:
            raise DocumentError([f"configuration {where}.{channel}: {exc}"]) from None
    return hours


def _tenant_config(
    base: PolicyConfig,
    global_hours: Mapping[str, tuple[str, str] | None],
    tenant: str,
    own: TenantPoliciesConfig,
) -> PolicyConfig:
    """``base`` with the tenant's hours, consent modes and costs over the global ones; its
    daily limits join ``daily_limits`` under (tenant, channel)."""
    where = f"policies.tenants.{tenant}"
    windows: dict[str, tuple[str, str] | None] = dict(global_hours)
    windows.update(own.hours.items())
    hours = _hours(windows, f"{where}.hours")
    costs = replace(
        base.costs,
        per_email=base.costs.per_email if own.costs.per_email is None else own.costs.per_email,
        per_voice_minute=(
            base.costs.per_voice_minute
            if own.costs.per_voice_minute is None
            else own.costs.per_voice_minute
        ),
    )
    limits: dict[Any, int] = dict(base.daily_limits)
    limits.update({(tenant, c): n for c, n in own.limits.items()})
    try:
        return replace(
            base,
            consent_modes={**base.consent_modes, **own.consent_modes},
            hours=hours,  # type: ignore[arg-type]
            costs=costs,
            daily_limits=limits,
        )
    except PolicyError as exc:
        raise DocumentError([f"configuration {where}: {exc}"]) from None


def _policy_config(
    config: EngineConfig,
    hours: dict[str, HoursWindow | None],
    tenants: dict[str, PolicyConfig] | None = None,
) -> PolicyConfig:
    p = config.policies
    limits = {(t, c): n for t, own in p.tenants.items() for c, n in own.limits.items()}
    return PolicyConfig(
        consent_modes=dict(p.consent),  # type: ignore[arg-type]
        hours=hours,  # type: ignore[arg-type]
        daily_limits=limits,
        default_daily_limits=dict(p.daily_limits),  # type: ignore[arg-type]
        on_daily_limit=p.on_daily_limit,
        costs=Costs(
            per_email=config.channels.email.cost_per_email,
            per_voice_minute=p.cost_per_voice_minute,
        ),
        default_timezone=p.default_timezone,
        contact_cap=_cap(p.contact_cap),
        contact_caps={tenant: _cap(cap) for tenant, cap in p.contact_caps.items()},
        tenants=tenants or {},
    )


def _cap(cap: ContactCapConfig | None) -> ContactCap | None:
    return None if cap is None else ContactCap(cap.sends, cap.days)


def rules_config(config: EngineConfig) -> RulesConfig:
    """The compliance rules' configuration from the engine's ``policies`` section.

    Raises:
        DocumentError: a value the settings' types accept but the rules refuse (the
            field named).
    """
    p = config.policies
    try:
        return RulesConfig(
            presets=tuple(p.presets),
            tenant_presets={t: tuple(names) for t, names in p.tenant_presets.items()},
            plan_presets={plan: tuple(names) for plan, names in p.plan_presets.items()},
            email_windows={key: _window(w) for key, w in p.email_windows.items()},
            channel_caps={c: _channel_cap(cap) for c, cap in p.channel_caps.items()},
            tenant_channel_caps={
                tenant: {c: _channel_cap(cap) for c, cap in caps.items()}
                for tenant, caps in p.tenant_channel_caps.items()
            },
            # The gate's hours policy falls back to UTC; the compliance rules never
            # assume a zone the operator did not name.
            assumed_timezone=(
                p.default_timezone if "default_timezone" in p.model_fields_set else None
            ),
        )
    except PolicyError as exc:
        raise DocumentError([f"configuration policies: {exc}"]) from None


def _window(window: EmailWindowConfig) -> HoursWindow:
    days = window.days or _WEEKDAYS
    return HoursWindow(
        time.fromisoformat(window.start),
        time.fromisoformat(window.end),
        frozenset(_WEEKDAYS.index(day) + 1 for day in days),
    )


def _channel_cap(cap: ChannelCapConfig | None) -> Cap | None:
    return None if cap is None else Cap(cap.attempts, cap.days)


__all__ = ["policy_config", "rules_config"]
