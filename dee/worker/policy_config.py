"""The policy gate's configuration, from the engine configuration's ``policies`` section."""

from __future__ import annotations

from datetime import time

from adapters.policy import ContactCap, Costs, HoursWindow, PolicyConfig, PolicyError
from dee.config import ContactCapConfig, EngineConfig
from dee.errors import DocumentError


def policy_config(config: EngineConfig) -> PolicyConfig:
    """The gate's configuration from the engine's ``policies`` section."""
    p = config.policies
    hours: dict[str, HoursWindow | None] = {}
    for channel, window in p.hours.items():
        if window is None:
            hours[channel] = None
            continue
        try:
            hours[channel] = HoursWindow(
                time.fromisoformat(window[0]), time.fromisoformat(window[1])
            )
        except (ValueError, PolicyError) as exc:
            raise DocumentError([f"configuration policies.hours.{channel}: {exc}"]) from None
    try:
        return _policy_config(config, hours)
    except PolicyError as exc:
        raise DocumentError([f"configuration policies: {exc}"]) from None


def _policy_config(config: EngineConfig, hours: dict[str, HoursWindow | None]) -> PolicyConfig:
    p = config.policies
    return PolicyConfig(
        consent_modes=dict(p.consent),  # type: ignore[arg-type]
        hours=hours,  # type: ignore[arg-type]
        default_daily_limits=dict(p.daily_limits),  # type: ignore[arg-type]
        on_daily_limit=p.on_daily_limit,
        costs=Costs(
            per_email=config.channels.email.cost_per_email,
            per_voice_minute=p.cost_per_voice_minute,
        ),
        default_timezone=p.default_timezone,
        contact_cap=_cap(p.contact_cap),
        contact_caps={tenant: _cap(cap) for tenant, cap in p.contact_caps.items()},
    )


def _cap(cap: ContactCapConfig | None) -> ContactCap | None:
    return None if cap is None else ContactCap(cap.sends, cap.days)


__all__ = ["policy_config"]
