"""Errors of the public layer (``dee``): what the CLI prints and the Engine raises."""

from __future__ import annotations

from collections.abc import Sequence


class DeeError(Exception):
    """Root of the public layer's errors; ``lines`` are printed one per line."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


class DocumentError(DeeError):
    """A file given to DEE is missing, unreadable or malformed."""


class EngineError(DeeError):
    """The public API was misused (unknown run, resume of a run that is not paused ...)."""


class UnknownRunError(EngineError):
    """No run of that id is visible to the engine's tenant.

    Raised alike for a run that does not exist and for another tenant's run, with the
    same message (``unknown run 'ID' for tenant 'T'``): a tenant cannot learn from the
    error whether another tenant's run of that id exists (docs/tenants.md).
    """

    def __init__(self, run_id: str, tenant: str | None = None) -> None:
        # ``tenant`` None: raised where the tenant is not known (a Temporal history
        # reader); ``dee.tenants.unknown_in`` names the bound tenant before it is shown.
        self.run_id = run_id
        self.tenant = tenant
        named = "" if tenant is None else f" for tenant {tenant!r}"
        super().__init__([f"unknown run {run_id!r}{named}"])


class TenantMismatch(EngineError):
    """A call named another tenant than the one the engine is bound to."""


class EngineUnavailable(EngineError):
    """The engine could not reach Temporal to do what was asked; nothing was refused.

    Raised ``from`` the transport error where the outage is known, so an edge can tell
    "try again later" (a webhook's 503) from a refusal (422) by type alone.
    """
