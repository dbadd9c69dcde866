"""``policies.tenants.<tenant>``: one tenant's hours, consent modes, costs and daily limits
over the global ones, read from a settings file and applied by the real gate to that
tenant's sends only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.policy import GateRequest, PolicyConfig, PolicyGate
from adapters.storage import Database
from dee.config import load_config
from dee.errors import DocumentError
from dee.worker.policy_config import policy_config

# A Wednesday, 13:00 UTC: 09:00 in New York.
AT = datetime(2025, 6, 11, 13, 0, tzinfo=UTC)
SETTINGS = """
policies:
  hours: {voice: ["08:00", "21:00"]}
  consent: {voice: opt-out}
  tenants:
    acme:
      hours: {voice: ["10:00", "18:00"], email: ["08:00", "09:30"]}
      consentModes: {email: required}
      costs: {perEmail: "0.25"}
      limits: {email: 1}
"""


def _request(tenant: str, channel: str, run_id: str) -> GateRequest:
    return GateRequest(
        tenant=tenant, run_id=run_id, plan_id="p", step_id="s", visit=0,
        channel=channel,  # type: ignore[arg-type]
        contact={"id": "c1", "email": "ann@example.com", "phone": "+12025550123",
                 "timezone": "America/New_York"},
        at=AT, max_duration_seconds=120 if channel == "voice" else 0,
    )  # fmt: skip


def _config(tmp_path: Path, text: str) -> PolicyConfig:
    path = tmp_path / "dee.yaml"
    path.write_text(text)
    return policy_config(load_config(path, env={}))


async def test_one_tenant_s_hours_consent_costs_and_limits_differ_from_another_s(
    database: Database, tmp_path: Path
) -> None:
    gate = PolicyGate(database, _config(tmp_path, SETTINGS))
    # 09:00 in New York: inside the global voice hours, before acme's 10:00.
    globex = await gate.evaluate(_request("globex", "voice", "g-1"))
    acme = await gate.evaluate(_request("acme", "voice", "a-1"))
    assert globex.decision == "allow"
    assert (acme.decision, acme.policy) == ("defer", "hours")
    assert acme.until == datetime(2025, 6, 11, 14, 0, tzinfo=UTC)  # 10:00 New York
    assert acme.detail["hours"]["window"] == globex.detail["hours"]["window"] | {
        "start": "10:00:00", "end": "18:00:00"
    }  # fmt: skip
    # acme's email needs an opt-in (none on record); globex keeps the global opt-out mode.
    email = await gate.evaluate(_request("acme", "email", "a-2"))
    assert (email.decision, email.policy) == ("deny", "consent")
    assert email.detail["consent"]["mode"] == "required"
    assert (await gate.evaluate(_request("globex", "email", "g-2"))).decision == "allow"
    acme_cfg, globex_cfg = gate.config.for_tenant("acme"), gate.config.for_tenant("globex")
    assert acme_cfg.costs.per_email == Decimal("0.25") and globex_cfg.costs.per_email == 0
    assert (acme_cfg.daily_limit("acme", "email"), globex_cfg.daily_limit("globex", "email")) == (
        1, None
    )  # fmt: skip
    assert globex_cfg is gate.config  # a tenant not named is decided by the global settings


@pytest.mark.parametrize(
    ("tenants", "named"),
    [
        ('{acme: {hours: {voice: ["18:00", "10:00"]}}}', "policies.tenants.acme.hours.voice"),
        ('{acme: {hours: {voice: ["25:00", "26:00"]}}}', "policies.tenants.acme.hours.voice"),
        ("{acme: {consentModes: {email: maybe}}}", "consentModes"),
        ("{acme: {costs: {perEmail: lots}}}", "perEmail"),
        ("{acme: {limits: {email: -1}}}", "daily_limits[acme, email]"),
        ("{acme: {hours: {fax: null}}}", "fax"),
        ("{acme: {budget: 3}}", "budget"),
    ],
)
def test_a_bad_tenant_setting_is_refused_naming_it(
    tmp_path: Path, tenants: str, named: str
) -> None:
    with pytest.raises(DocumentError) as refused:
        _config(tmp_path, f"policies:\n  tenants: {tenants}\n")
    assert named in str(refused.value)


def test_a_window_removed_globally_stays_removed_for_every_tenant(tmp_path: Path) -> None:
    # null removes the default voice window; naming tenants must not bring it back.
    text = "policies:\n  hours: {voice: null}\n  tenants: {acme: {limits: {email: 5}}}\n"
    config = _config(tmp_path, text)
    assert config.window("voice") is None
    assert config.for_tenant("acme").window("voice") is None
    assert config.for_tenant("globex").window("voice") is None
