"""Run ids: fresh, or derived from an idempotency key so that a repeated start finds its run."""

from __future__ import annotations

import hashlib
import uuid


def run_id(tenant: str, plan_id: str, idempotency_key: str | None) -> str:
    """A fresh run id, or the one an idempotency key always derives for the tenant's plan."""
    if idempotency_key is None:
        return f"run-{uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{tenant}\x00{plan_id}\x00{idempotency_key}".encode()).hexdigest()
    return f"run-{digest[:32]}"


__all__ = ["run_id"]
