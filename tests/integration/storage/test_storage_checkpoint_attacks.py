"""Attacks on the signed checkpoints by a holder of the application role's rights.

The application role may INSERT into ``audit_checkpoints`` (the worker signs there), so
an attacker can add rows with made-up signatures, copied ones, or ones that claim a
run closed early. None of them may make the worker stop signing a run's real entries
or build its chain on a forged row, and both verifiers must name the forged row.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from storage_helpers import make_chain, unique
from test_storage_checkpoints import (
    ATTACKER,
    KEYS,
    SIGNER,
    checkpoint_row,
    dee_lines,
    signed_run,
    stored_checkpoints,
    tool_lines,
)

from adapters.storage import AuditStore, CheckpointError, Database
from adapters.storage.checkpoint_format import signature_problem
from adapters.storage.checkpoints import CHECKPOINTS

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _insert_checkpoint(database: Database, row: dict[str, object]) -> None:
    async with database.transaction() as conn:  # a plain INSERT: the app role's right
        await conn.execute(CHECKPOINTS.insert(), [row])


@pytest.mark.parametrize(
    "claim",
    [
        "far_ahead_and_closed",
        "copied_from_another_run",
        "another_key_far_ahead",
        "replayed_older_checkpoint",
    ],
)
async def test_a_forged_newest_checkpoint_does_not_stop_the_worker_signing(
    database: Database, tmp_path: Path, claim: str
) -> None:
    run_id, other = unique(), unique()
    entries = await signed_run(database, run_id, closed=False)
    await signed_run(database, other)
    last = (await stored_checkpoints(database, run_id))[-1]
    if claim == "far_ahead_and_closed":
        # Claims the run closed at seq 1,000,000: real appends would look unsigned.
        forged = replace(last, n=4, seq=1_000_000, closed=True, prev=last.hash, sig="A" * 88)
    elif claim == "another_key_far_ahead":
        # Consistent fields under a key the worker does not hold (as a rotated one is).
        forged = ATTACKER.sign(
            run_id=run_id, n=4, seq=1_000_000, head=last.head, closed=True, prev=last.hash
        )
    elif claim == "replayed_older_checkpoint":
        # Checkpoint 2, authentic, replayed as the newest (its n is signed, so it fails).
        forged = replace((await stored_checkpoints(database, run_id))[1], n=4)
    else:
        # The other run's (authentic) newest checkpoint, relabelled as ours.
        theirs = (await stored_checkpoints(database, other))[-1]
        forged = replace(theirs, run_id=run_id, n=4, prev=last.hash)
    await _insert_checkpoint(database, checkpoint_row(forged))

    more = make_chain(run_id, 3, start_seq=10, prev_hash=entries[-1].hash)
    await AuditStore(database, signer=SIGNER).append(more)

    stored = await stored_checkpoints(database, run_id)
    real = [cp for cp in stored if signature_problem(cp, KEYS) is None]
    assert real[-1].seq == 12 and not real[-1].closed, stored
    # A row of a key the worker does not hold may be a rotated key's: it links to it,
    # but trusts neither its seq nor its "closed".
    base = forged if claim == "another_key_far_ahead" else last
    assert real[-1].prev == base.hash and real[-1].n == 5, stored
    ours = await dee_lines(database, run_id)
    assert any("checkpoint 4" in line and "is forged" in line for line in ours), ours
    assert not any("are not signed" in line for line in ours), ours
    status, theirs_lines = await tool_lines(database, tmp_path, [run_id])
    assert status == 1
    assert any("checkpoint 4" in line and "is forged" in line for line in theirs_lines)
    assert not any("are not signed" in line for line in theirs_lines), theirs_lines
    # The forged row is named once, not also reported as a deleted checkpoint.
    assert not any("missing (deleted)" in line for line in [*ours, *theirs_lines])


async def test_the_worker_never_signs_over_entries_someone_else_appended(
    database: Database, tmp_path: Path
) -> None:
    # A chain whose writer reads its head from the table (the erasure chain
    # ``erasures:<tenant>``, dee.contacts) would chain onto an inserted entry, and its
    # checkpoint would then vouch for it: the verifiers would say ok.
    run_id = unique("erasures:t")
    entries = await signed_run(database, run_id, closed=False)
    inserted = make_chain(run_id, 1, start_seq=10, prev_hash=entries[-1].hash)
    await AuditStore(database).append(inserted)  # the app role may INSERT
    real = make_chain(run_id, 2, start_seq=11, prev_hash=inserted[-1].hash)

    with pytest.raises(
        CheckpointError, match=rf"run {run_id}: entries seq 10\.\.10 are not signed"
    ):
        await AuditStore(database, signer=SIGNER).append(real)

    assert [cp.seq for cp in await stored_checkpoints(database, run_id)] == [3, 6, 9]
    ours = await dee_lines(database, run_id)
    assert any("entry seq 10: entries seq 10..10 are not signed" in line for line in ours), ours
    status, _ = await tool_lines(database, tmp_path, [run_id])
    assert status == 1


async def test_a_checkpoint_number_at_the_column_limit_does_not_jam_the_worker(
    database: Database,
) -> None:
    run_id = unique()
    entries = await signed_run(database, run_id, closed=False)
    last = (await stored_checkpoints(database, run_id))[-1]
    jam = replace(last, n=2**31 - 1, seq=10**9, sig="A" * 88)  # "next n" would overflow
    await _insert_checkpoint(database, checkpoint_row(jam))

    for start in (10, 12):  # twice: the jam stays the highest n
        more = make_chain(run_id, 2, start_seq=start, prev_hash=entries[-1].hash)
        await AuditStore(database, signer=SIGNER).append(more)
        entries += more

    real = [cp for cp in await stored_checkpoints(database, run_id) if cp.sig != jam.sig]
    assert [(cp.n, cp.seq) for cp in real] == [(1, 3), (2, 6), (3, 9), (4, 11), (5, 13)]
    ours = await dee_lines(database, run_id)
    assert len(ours) == 1 and f"checkpoint {2**31 - 1}" in ours[0] and "is forged" in ours[0]


async def test_a_checkpoint_planted_before_a_run_starts_does_not_stop_its_signing(
    database: Database,
) -> None:
    run_id = unique()
    first = make_chain(run_id, 3)
    planted = replace(
        SIGNER.sign(run_id=run_id, n=1, seq=3, head=first[-1].hash, closed=True, prev="0" * 64),
        sig="A" * 88,
    )
    await _insert_checkpoint(database, checkpoint_row(planted))

    await AuditStore(database, signer=SIGNER).append(first)

    real = [cp for cp in await stored_checkpoints(database, run_id) if cp.sig != planted.sig]
    assert [(cp.n, cp.seq, cp.prev, cp.closed) for cp in real] == [(2, 3, "0" * 64, False)]
    ours = await dee_lines(database, run_id)
    assert len(ours) == 1 and "checkpoint 1 (seq 3) is forged" in ours[0], ours
