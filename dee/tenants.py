"""The tenant an engine is bound to, and the check that a call names no other.

An ``Engine`` (so the CLI and the webhook receiver built on one) is bound to
``config.tenant``: it reads and acts only on that tenant's runs and data
(docs/tenants.md). Calls that take a ``tenant=`` keyword keep it for compatibility;
naming the bound tenant changes nothing, naming another is refused before anything
is read or written.
"""

from __future__ import annotations

from dee.errors import TenantMismatch


def bound_tenant(bound: str, given: str | None, what: str) -> str:
    """``bound``, or ``TenantMismatch`` when ``given`` names another tenant.

    Raises:
        TenantMismatch: ``given`` is neither ``None`` nor ``bound``.
    """
    if given is None or given == bound:
        return bound
    raise TenantMismatch(
        [f"{what}: tenant {given!r} refused: this engine is bound to tenant {bound!r}"]
    )


__all__ = ["bound_tenant"]
