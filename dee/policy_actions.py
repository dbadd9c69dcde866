"""The engine's policy operations: consent, suppression and daily limits for its tenant.

Thin over ``adapters.policy.PolicyAdmin``: it fixes the tenant and turns a
``PolicyError`` into the ``EngineError`` the public API raises. An engine holds one as
``engine.policies`` (``engine.policies.admin``: a ``PolicyAdmin``, for budgets and the
calls this class does not wrap). When the settings name a tenant, ``admin`` is bound to
it like the policy commands: a call naming another tenant, or settling another tenant's
run, raises ``TenantMismatch`` before anything is read or written (docs/tenants.md).
Without one configured it stays the operator's tool for any tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from adapters.policy import (
    BudgetStatus,
    ConsentEntry,
    PolicyAdmin,
    PolicyError,
    Settlement,
    SuppressionEntry,
)
from adapters.storage import Database, RunStore, UnknownRun
from dee.errors import EngineError, UnknownRunError
from dee.tenants import bound_tenant

T = TypeVar("T")


class PolicyActions:
    """Policy administration for one tenant (see the module docstring)."""

    def __init__(self, database: Database, tenant: str, *, bound: bool = False) -> None:
        # ``bound``: the settings name the tenant (``DEE_TENANT``), so ``admin`` refuses others.
        self.admin = TenantPolicyAdmin(database, tenant) if bound else PolicyAdmin(database)
        self._tenant = tenant

    async def grant_consent(
        self, contact_id: str, channel: str, *, source: str, wording_version: str
    ) -> ConsentEntry:
        """Record the contact's consent on ``channel``."""
        return await _policy(
            self.admin.grant_consent(self._tenant, contact_id, channel, source, wording_version)
        )

    async def revoke_consent(self, contact_id: str, channel: str, *, source: str) -> ConsentEntry:
        """Record that the contact withdrew consent on ``channel``."""
        return await _policy(self.admin.revoke_consent(self._tenant, contact_id, channel, source))

    async def suppress(
        self, contact_key: str, *, reason: str, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        """Suppress a contact (id, e-mail or phone) globally, on a channel or for a plan."""
        return await _policy(
            self.admin.suppress(self._tenant, scope, scope_key, contact_key, reason, "engine")
        )

    async def unsuppress(
        self, contact_key: str, *, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        """Lift a suppression."""
        return await _policy(self.admin.unsuppress(self._tenant, scope, scope_key, contact_key))

    async def list_suppressions(self) -> list[SuppressionEntry]:
        """The tenant's suppressions."""
        return await _policy(self.admin.list_suppressions(self._tenant))

    async def set_daily_limit(self, channel: str, limit: int | None) -> int | None:
        """Store a daily send limit for the channel (``None`` clears it)."""
        return await _policy(self.admin.set_daily_limit(self._tenant, channel, limit))


class TenantPolicyAdmin(PolicyAdmin):
    """``PolicyAdmin`` refusing every tenant but one (``TenantMismatch``, checked first)."""

    def __init__(self, database: Database, tenant: str) -> None:
        super().__init__(database)
        self._runs = RunStore(database)
        self.tenant = tenant

    def _check(self, tenant: str, what: str) -> None:
        bound_tenant(self.tenant, tenant, f"policies.admin.{what}")

    async def grant_consent(self, tenant: str, *args: Any, **kwargs: Any) -> ConsentEntry:
        self._check(tenant, "grant_consent")
        return await super().grant_consent(tenant, *args, **kwargs)

    async def revoke_consent(self, tenant: str, *args: Any, **kwargs: Any) -> ConsentEntry:
        self._check(tenant, "revoke_consent")
        return await super().revoke_consent(tenant, *args, **kwargs)

    async def suppress(self, tenant: str, *args: Any, **kwargs: Any) -> SuppressionEntry:
        self._check(tenant, "suppress")
        return await super().suppress(tenant, *args, **kwargs)

    async def unsuppress(self, tenant: str, *args: Any, **kwargs: Any) -> SuppressionEntry:
        self._check(tenant, "unsuppress")
        return await super().unsuppress(tenant, *args, **kwargs)

    async def list_suppressions(
        self, tenant: str, *args: Any, **kwargs: Any
    ) -> list[SuppressionEntry]:
        self._check(tenant, "list_suppressions")
        return await super().list_suppressions(tenant, *args, **kwargs)

    async def set_daily_limit(self, tenant: str, channel: str, limit: int | None) -> int | None:
        self._check(tenant, "set_daily_limit")
        return await super().set_daily_limit(tenant, channel, limit)

    async def daily_limit(self, tenant: str, channel: str) -> int | None:
        self._check(tenant, "daily_limit")
        return await super().daily_limit(tenant, channel)

    async def set_budget(self, tenant: str, *args: Any, **kwargs: Any) -> BudgetStatus:
        self._check(tenant, "set_budget")
        return await super().set_budget(tenant, *args, **kwargs)

    async def get_budget(self, tenant: str, name: str, on: date) -> BudgetStatus | None:
        self._check(tenant, "get_budget")
        return await super().get_budget(tenant, name, on)

    async def settle_budget(
        self, run_id: str, step_id: str, visit: int, actual: Decimal | None
    ) -> Settlement | None:
        # A reservation is the run's: another tenant's run settles nothing of this one's.
        try:
            owner = (await self._runs.get(run_id)).tenant
        except UnknownRun:
            owner = self.tenant  # no run row: nothing of another tenant's to settle
        if owner != self.tenant:  # as for every crossing: an unknown run (docs/tenants.md)
            raise UnknownRunError(run_id, self.tenant)
        return await super().settle_budget(run_id, step_id, visit, actual)


async def _policy(work: Awaitable[T]) -> T:
    try:
        return await work
    except PolicyError as exc:
        raise EngineError([str(exc)]) from None


__all__ = ["PolicyActions", "TenantPolicyAdmin"]
