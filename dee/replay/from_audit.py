"""A run's audit chain as the database stores it (the audit table's rows).

What ``Engine.replay`` and ``dee replay RUN_ID`` compare a replay with, when the
database holds the run: a row edited in the table is then a diff at its step and
field, which the history alone cannot show.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.storage.audit import AuditStore
from adapters.storage.errors import UnknownRun
from dee.errors import DocumentError
from dee.replay.from_history import HistoryRun


async def stored_chain(audit: AuditStore, run_id: str) -> list[dict[str, Any]]:
    """Run ``run_id``'s stored audit entries in seq order (none when the database has
    no entry for it: a run recorded elsewhere, or a database of another deployment)."""
    try:
        return [e.chained().as_dict() for e in await audit.timeline(run_id)]
    except UnknownRun:
        return []


def with_stored_chain(run: HistoryRun, stored: list[dict[str, Any]]) -> HistoryRun:
    """``run`` compared against the audit chain as stored (the audit table's rows).

    A stored chain that starts at seq 1 is replayed from the run's start, even when
    the history is of a later run of a continue-as-new chain (plan, contact and
    variables carry over unchanged). A stored chain that starts later (retention
    archived its head) can only be replayed from a history whose carried state is
    exactly where the stored entries begin.

    Raises:
        DocumentError: the stored chain starts where no recorded state does.
    """
    run_input = run.run_input
    first = int(stored[0].get("seq", 1)) if stored else 1
    if first == 1 and run_input.state is not None:
        run_input = replace(run_input, state=None, chain_seq=0, chain_head=None, unpersisted=[])
    elif first != 1 and (run_input.state is None or run_input.chain_seq != first - 1):
        raise DocumentError(
            [
                f"run {run_input.run_id}: its stored audit chain starts at seq {first} "
                "(older entries were archived by retention), and no recorded state starts "
                "there; replay the run from its archived export and exported history instead"
            ]
        )
    return replace(run, run_input=run_input, entries=list(stored))
