"""The engine's policy operations: consent, suppression and daily limits for its tenant.

Thin over ``adapters.policy.PolicyAdmin``: it fixes the tenant and turns a
``PolicyError`` into the ``EngineError`` the public API raises. An engine holds one as
``engine.policies`` (``engine.policies.admin``: the ``PolicyAdmin`` itself, for budgets
and for other tenants).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from adapters.policy import ConsentEntry, PolicyAdmin, PolicyError, SuppressionEntry
from adapters.storage import Database
from dee.errors import EngineError

T = TypeVar("T")


class PolicyActions:
    """Policy administration for one tenant (see the module docstring)."""

    def __init__(self, database: Database, tenant: str) -> None:
        self.admin = PolicyAdmin(database)
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


async def _policy(work: Awaitable[T]) -> T:
    try:
        return await work
    except PolicyError as exc:
        raise EngineError([str(exc)]) from None


__all__ = ["PolicyActions"]
