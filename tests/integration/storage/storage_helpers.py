"""Helpers shared by the storage tests (chains to append, unique ids, free ports)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage import Database
from interpreter.chain import GENESIS_HASH, ChainedEntry, chain
from interpreter.trace import TraceEntry


def trace(n: int, *, step: str = "step", tick_every: int = 10) -> list[TraceEntry]:
    """``n`` plausible trace entries."""
    return [
        TraceEntry(
            tick=i * tick_every,
            step_id=f"{step}-{i % 5}",
            action=("send_email", "wait", "evaluate")[i % 3],
            outcome=("delivered", "completed", "branch:no")[i % 3],
            detail={"i": i, "template": "tmpl_intro", "cost": 0.25, "tags": ["a", "é"]},
        )
        for i in range(n)
    ]


def make_chain(
    run_id: str, n: int, *, start_seq: int = 1, prev_hash: str = GENESIS_HASH, **kw: Any
) -> list[ChainedEntry]:
    return chain(run_id, trace(n, **kw), start_seq=start_seq, prev_hash=prev_hash)


def continue_chain(entries: list[ChainedEntry], n: int) -> list[ChainedEntry]:
    last = entries[-1]
    return make_chain(last.run_id, n, start_seq=last.seq + 1, prev_hash=last.hash)


def as_dicts(entries: list[ChainedEntry]) -> list[dict[str, Any]]:
    return [e.as_dict() for e in entries]


def unique(prefix: str = "run") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def guard_off(database: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction in which the append-only triggers do not fire (superuser only)."""
    async with database.transaction() as conn:
        if database.dialect == "postgresql":
            trigger = "audit_entries_append_only"
            await conn.execute(text(f"ALTER TABLE audit_entries DISABLE TRIGGER {trigger}"))
            yield conn
            await conn.execute(text(f"ALTER TABLE audit_entries ENABLE TRIGGER {trigger}"))
        else:
            found = await conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
                )
            )
            triggers = [(row[0], row[1]) for row in found]
            for name, _ in triggers:
                await conn.execute(text(f'DROP TRIGGER "{name}"'))
            yield conn
            for _, sql in triggers:
                await conn.execute(text(sql))


async def tamper(database: Database, statement: str, **params: Any) -> None:
    async with guard_off(database) as conn:
        changed = await conn.execute(text(statement), params)
        assert changed.rowcount == 1


def load_verifier() -> Any:
    """tools/verify_audit_chain.py as a module (it is a script, not a package module)."""
    path = Path(__file__).resolve().parents[3] / "tools" / "verify_audit_chain.py"
    spec = importlib.util.spec_from_file_location("verify_audit_chain", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
