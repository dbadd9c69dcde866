"""Signing the heads of runs recorded before checkpoints existed (revision 0010).

Once, right after the upgrade (``dee audit checkpoints adopt``): without it, every such
run verifies as "no signed checkpoint covers this run". It vouches for those chains as
they are at that moment, so a chain that does not verify is refused, not signed.
"""

from __future__ import annotations

from sqlalchemy import select

from adapters.storage import checkpoints as _checkpoints
from adapters.storage.audit import AuditStore, VerifyResult
from adapters.storage.audit_append import ENTRIES
from adapters.storage.checkpoint_format import Checkpoint, CheckpointSigner
from adapters.storage.database import Database


async def adopt_unsigned(
    database: Database, signer: CheckpointSigner
) -> tuple[list[Checkpoint], list[VerifyResult]]:
    """Sign the committed head of every run with entries and no checkpoint.

    Returns the checkpoints made and the runs refused (their chain is broken).
    """
    store = AuditStore(database)
    signed = select(_checkpoints.CHECKPOINTS.c.run_id)
    query = select(ENTRIES.c.run_id).distinct().where(ENTRIES.c.run_id.not_in(signed))
    async with database.snapshot() as conn:
        unsigned = sorted((await conn.execute(query)).scalars())
    made: list[Checkpoint] = []
    refused: list[VerifyResult] = []
    for run_id in unsigned:
        verdict = await store.verify(run_id)
        if not verdict.ok:
            refused.append(verdict)
            continue
        committed = [e.chained() for e in await store.timeline(run_id) if not e.pending]
        async with database.transaction() as conn:
            made += await _checkpoints.sign_in(conn, signer, {run_id: committed})
    return made, refused


__all__ = ["adopt_unsigned"]
