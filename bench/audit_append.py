"""Audit append throughput into PostgreSQL, hashed, against a plain batched INSERT.

What is timed, per batch, interleaved in one run (which side goes first rotates per
batch, so drift and cache warmth favour none):

* hashed: ``interpreter.chain.chain`` over the batch's trace entries (SHA-256 of RFC
  8785 JSON, the hashing the workflow does) plus ``AuditStore.append`` (one
  transaction: link check, one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
  NOTHING``).
* raw: the same rows, already built, inserted with asyncpg's ``executemany`` of a
  plain ``INSERT`` into a scratch table with the same columns, key and index (no
  triggers, no conflict handling, no hashing), one transaction per batch.

* signed: the hashed path with the worker's checkpoint signing on (``AuditStore`` with
  a ``CheckpointSigner``: one Ed25519-signed checkpoint per run per append, read and
  inserted in the same transaction). Its ratio to ``hashed`` is the cost of signing;
  one run per batch, so ``--batch`` sets how many entries one checkpoint covers (the
  workflow's appends are small: try ``--batch 4``).

For context it also reports the two parts of the hashed path on their own (hashing
only; storing already-hashed entries only), a ``COPY`` of the same rows (the fastest
bulk path there is), and the hashed path with a faster, byte-identical hashing
prototype (``fast_chain`` below; interleaved with the other two).

    python -m bench.audit_append [--entries 200000] [--batch 2000] [--url URL]

Needs the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/test); works
in a scratch schema that it drops afterwards. Writes ``bench/results/audit_append.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.storage import AuditStore, CheckpointSigner, Database, open_database
from adapters.storage.audit_append import detail_json
from interpreter.chain import GENESIS_HASH, ChainedEntry, chain
from interpreter.trace import TraceEntry

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TARGET_ENTRIES_PER_SECOND = 50_000
TARGET_RATIO = 0.7
WARM_UP = 2
COLUMNS = (
    "run_id", "seq", "tick", "recorded_at", "step_id", "action", "outcome", "detail",
    "prev_hash", "hash",
)  # fmt: skip
ACTIONS = (
    ("send_email", "delivered", {"template": "tmpl_intro", "provider": "smtp", "messageId": ""}),
    ("wait", "completed", {"until": 302400}),
    ("evaluate", "branch:warm", {"condition": 'events.hasOpen("intro-email")', "value": True}),
    ("check_policy", "allowed", {"checks": ["consent", "suppression", "limit", "budget"]}),
)


def trace_for(run: int, count: int) -> list[TraceEntry]:
    """Realistic entries: the actions a sales sequence records, with their details."""
    out = []
    for i in range(count):
        action, outcome, detail = ACTIONS[i % len(ACTIONS)]
        if action == "send_email":
            detail = {**detail, "messageId": f"<{run}.{i}@dee.example>"}
        out.append(TraceEntry(i * 60, f"step-{i % 9}", action, outcome, detail))
    return out


def rows_of(entries: list[ChainedEntry], recorded_at: datetime) -> list[tuple[Any, ...]]:
    return [
        (e.run_id, e.seq, e.tick, recorded_at, e.step_id, e.action, e.outcome,
         detail_json(e.detail), e.prev_hash, e.hash)
        for e in entries
    ]  # fmt: skip


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def bench(url: str, entries: int, batch: int) -> dict[str, Any]:
    schema = f"dee_bench_{uuid.uuid4().hex[:8]}"
    database = await open_database(f"{url}?search_path={schema}")
    dsn = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    raw = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await raw.execute("CREATE TABLE raw_entries (LIKE audit_entries INCLUDING ALL)")
        await raw.execute("CREATE TABLE copy_entries (LIKE audit_entries INCLUDING ALL)")
        return await _measure(database, raw, entries, batch)
    finally:
        await raw.execute(f'DROP SCHEMA "{schema}" CASCADE')
        # The migration made the schema's roles (cluster-wide): leave none behind.
        await raw.execute(f'DROP ROLE IF EXISTS "{schema}_app", "{schema}_retention"')
        await raw.close()
        await database.dispose()


async def _measure(
    database: Database, raw: asyncpg.Connection, entries: int, batch: int
) -> dict[str, Any]:
    store = AuditStore(database)
    signing = AuditStore(database, signer=CheckpointSigner(Ed25519PrivateKey.generate()))
    placeholders = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
    insert = f"INSERT INTO raw_entries ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    batches = entries // batch
    seconds = dict.fromkeys(("hashed", "raw", "fast", "signed", "hash", "store", "copy"), 0.0)
    for b in range(batches + WARM_UP):
        trace = trace_for(b, batch)
        rows = rows_of(chain(f"raw-{b}", trace), datetime.now(UTC))

        async def hashed(run_id: str = f"run-{b}", trace: list[TraceEntry] = trace) -> None:
            await store.append(chain(run_id, trace))

        async def signed(run_id: str = f"signed-{b}", trace: list[TraceEntry] = trace) -> None:
            await signing.append(chain(run_id, trace))

        fast_chained: list[ChainedEntry] = []

        async def fast(
            run_id: str = f"fast-{b}",
            trace: list[TraceEntry] = trace,
            out: list[ChainedEntry] = fast_chained,
        ) -> None:
            out[:] = fast_chain(run_id, trace)
            await store.append(out)

        async def plain(rows: list[tuple[Any, ...]] = rows) -> None:
            async with raw.transaction():
                await raw.executemany(insert, rows)

        sides: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("hashed", hashed),
            ("raw", plain),
            ("fast", fast),
            ("signed", signed),
        ]
        turn = b % len(sides)  # rotate who goes first
        timings = {name: await timed(work) for name, work in sides[turn:] + sides[:turn]}
        reference = [e.hash for e in chain(f"fast-{b}", trace)]
        if [e.hash for e in fast_chained] != reference:
            raise AssertionError("the fast hash prototype disagrees with interpreter.chain")
        # Context, not interleaved: the two parts of the hashed path, and COPY.
        start = time.perf_counter()
        parts = chain(f"parts-{b}", trace)
        timings["hash"] = time.perf_counter() - start
        timings["store"] = await timed(partial(store.append, parts))
        timings["copy"] = await timed(
            partial(raw.copy_records_to_table, "copy_entries", records=rows, columns=COLUMNS)
        )
        if b >= WARM_UP:  # the first batches warm pools, prepared statements, index pages
            for name, value in timings.items():
                seconds[name] += value
    measured = batches * batch
    rate = {name: round(measured / s) for name, s in seconds.items()}
    server = await raw.fetchval("SHOW server_version")
    return {
        "entries": measured,
        "batch": batch,
        "hashed_entries_per_second": rate["hashed"],
        "raw_insert_entries_per_second": rate["raw"],
        "ratio_hashed_to_raw": round(seconds["raw"] / seconds["hashed"], 3),
        "signed_entries_per_second": rate["signed"],
        "ratio_signed_to_hashed": round(seconds["hashed"] / seconds["signed"], 3),
        "context": {
            "hashing_only_entries_per_second": rate["hash"],
            "append_only_entries_per_second": rate["store"],
            "hashing_share_of_hashed_time": round(seconds["hash"] / seconds["hashed"], 3),
            "copy_entries_per_second": rate["copy"],
            "fast_hash_prototype": {
                "hashed_entries_per_second": rate["fast"],
                "ratio_to_raw": round(seconds["raw"] / seconds["fast"], 3),
            },
        },
        "targets": {"entries_per_second": TARGET_ENTRIES_PER_SECOND, "ratio": TARGET_RATIO},
        "machine": {
            "python": platform.python_version(),
            "postgresql": server,
            "cpus": os.cpu_count(),
        },
    }


# A prototype, for the figures only: byte-identical to interpreter.chain.entry_hash
# (checked on every entry it hashes here). Like chain's own fast path it uses the C
# JSON encoder wherever that provably equals RFC 8785 (no floats, integers within
# 2**53, ASCII keys), but it formats the fixed eight-key outer object directly instead
# of building, checking and sorting a dict per entry: well under half the hashing time.
_SAFE = 2**53 - 1
_CANONICAL_DETAIL = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def _jcs_plain(value: object) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE <= value <= _SAFE  # type: ignore[operator]
    if kind is dict:
        return all(
            type(k) is str and k.isascii() and _jcs_plain(v)
            for k, v in value.items()  # type: ignore[attr-defined]
        )
    if kind is list or kind is tuple:
        return all(_jcs_plain(v) for v in value)  # type: ignore[attr-defined]
    return False


def fast_chain(run_id: str, trace: list[TraceEntry]) -> list[ChainedEntry]:
    out: list[ChainedEntry] = []
    prev_hash = GENESIS_HASH
    for seq, e in enumerate(trace, start=1):
        fields = (run_id, seq, e.tick, e.step_id, e.action, e.outcome, e.detail, prev_hash)
        if _jcs_plain(e.detail) and -_SAFE <= e.tick <= _SAFE:
            body = (
                f'{{"action":{encode_basestring(e.action)},"detail":{_CANONICAL_DETAIL(e.detail)},'
                f'"outcome":{encode_basestring(e.outcome)},"prev_hash":"{prev_hash}",'
                f'"run_id":{encode_basestring(run_id)},"seq":{seq},'
                f'"step_id":{encode_basestring(e.step_id)},"tick":{e.tick}}}'
            )
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        else:
            digest = chain(run_id, [e], start_seq=seq, prev_hash=prev_hash)[0].hash
        out.append(ChainedEntry(*fields, digest))
        prev_hash = digest
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--url", default=os.environ.get("DEE_BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    result = asyncio.run(bench(args.url, args.entries, args.batch))
    result["met"] = {
        "entries_per_second": result["hashed_entries_per_second"] >= TARGET_ENTRIES_PER_SECOND,
        "ratio": result["ratio_hashed_to_raw"] >= TARGET_RATIO,
    }
    name = "audit_append.json" if args.batch == 2_000 else f"audit_append_batch{args.batch}.json"
    out = ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"hashed append: {result['hashed_entries_per_second']:>9,} entries/s\n"
        f"raw INSERT:    {result['raw_insert_entries_per_second']:>9,} entries/s\n"
        f"ratio:         {result['ratio_hashed_to_raw']:.3f} (target >= {TARGET_RATIO})\n"
        f"signed append: {result['signed_entries_per_second']:>9,} entries/s "
        f"(ratio to hashed {result['ratio_signed_to_hashed']:.3f})\n"
        f"context:       {json.dumps(result['context'])}\n"
        f"({result['entries']:,} entries in batches of {result['batch']:,}; written to {out})"
    )


if __name__ == "__main__":
    main()
