"""The tenant an engine is bound to, and the check that a call names no other.

An ``Engine`` (so the CLI and the webhook receiver built on one) is bound to
``config.tenant``: it reads and acts only on that tenant's runs and data
(docs/tenants.md). Calls that take a ``tenant=`` keyword keep it for compatibility;
naming the bound tenant changes nothing, naming another is refused before anything
is read or written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.storage import RunRecord, RunStore, UnknownRun
from dee.errors import TenantMismatch, UnknownRunError


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


async def run_of(runs: RunStore, tenant: str, run_id: str) -> RunRecord:
    """The run's row, if the run is the tenant's.

    Raises:
        UnknownRunError: no such run, or another tenant's (the same error, the same
            message: ``dee.errors.UnknownRunError``).
    """
    try:
        record = await runs.get(run_id)
    except UnknownRun:
        raise UnknownRunError(run_id, tenant) from None
    if record.tenant != tenant:
        raise UnknownRunError(run_id, tenant)
    return record


async def not_foreign(runs: RunStore, tenant: str, run_id: str) -> None:
    """Refuse a run whose row is another tenant's, as an unknown run.

    For the readers that also read runs the database holds nothing of (a replay from
    Temporal's history alone): a run without a row passes.

    Raises:
        UnknownRunError: the run's row is another tenant's.
    """
    try:
        record = await runs.get(run_id)
    except UnknownRun:
        return
    if record.tenant != tenant:
        raise UnknownRunError(run_id, tenant)


@asynccontextmanager
async def unknown_in(tenant: str) -> AsyncIterator[None]:
    """Say a history reader's "unknown run" as ``UnknownRunError`` (naming the tenant),
    so that a run found nowhere and another tenant's are refused alike."""
    try:
        yield
    except UnknownRunError as exc:
        if exc.tenant is None:
            raise UnknownRunError(exc.run_id, tenant) from None
        raise


__all__ = ["bound_tenant", "not_foreign", "run_of", "unknown_in"]
