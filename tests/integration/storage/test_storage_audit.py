"""AuditStore on both databases: append, idempotency, divergence, reads, verify, export."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from storage_helpers import as_dicts, continue_chain, make_chain, unique

from adapters.storage import AppendResult, AuditDivergence, AuditStore, Database, UnknownRun
from interpreter.chain import GENESIS_HASH, chain
from interpreter.chain import verify as verify_chain
from interpreter.trace import RUN_SCOPE, TraceEntry

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_append_then_read_back_exactly(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 25)

    result = await store.append(entries)

    assert (result.inserted, result.existing) == (25, 0)
    assert await store.entries(run_id) == entries
    assert verify_chain(as_dicts(await store.entries(run_id))) is None


async def test_reappending_identical_entries_is_a_no_op(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 10)
    await store.append(entries)
    before = await store.timeline(run_id)

    again = await store.append(entries)
    overlapping = await store.append([*entries[5:], *continue_chain(entries, 3)])

    assert (again.inserted, again.existing) == (0, 10)
    assert (overlapping.inserted, overlapping.existing) == (3, 5)
    after = await store.timeline(run_id)
    assert after[:10] == before  # recorded_at of stored rows unchanged too
    assert await store.count(run_id) == 13


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "bounced"),
        ("tick", 999_999),
        ("step_id", "other-step"),
        ("detail", {"i": 3, "template": "tmpl_other"}),
        ("hash", "f" * 64),
    ],
)
async def test_divergent_append_is_refused_naming_seq_and_field(
    database: Database, field: str, value: object
) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 6)
    await store.append(entries)
    divergent = dataclasses.replace(entries[3], **{field: value})

    with pytest.raises(AuditDivergence) as caught:
        await store.append([divergent])

    assert (caught.value.run_id, caught.value.seq, caught.value.field) == (run_id, 4, field)
    assert f"entry seq 4: {field}" in str(caught.value)
    assert await store.entries(run_id) == entries


async def test_a_refused_batch_writes_nothing(database: Database) -> None:
    store = AuditStore(database)
    run_a, run_b = unique(), unique()
    stored = make_chain(run_a, 4)
    await store.append(stored)
    new_b = make_chain(run_b, 5)
    bad_a = dataclasses.replace(stored[-1], outcome="tampered")

    with pytest.raises(AuditDivergence):
        await store.append([*new_b, bad_a])

    with pytest.raises(UnknownRun):
        await store.entries(run_b)
    assert await store.count() == 4


async def test_detail_values_round_trip_with_the_same_hash(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    detail = {
        "big": 1e20,
        "small": 5e-324,
        "one": 1.0,
        "neg": -0.0,
        "text": 'é\u2028😀\n"quoted"',
        "nested": {"list": [1, 2.5, None, True, {"x": []}]},
        "empty": {},
    }
    entries = chain(run_id, [TraceEntry(0, RUN_SCOPE, "start", "started", detail)])
    await store.append(entries)

    result = await store.verify(run_id)

    assert result.ok, result.describe()
    assert (await store.append(entries)).existing == 1  # compared equal after the round trip


async def test_batch_must_be_a_contiguous_linked_chain(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 5)

    with pytest.raises(AuditDivergence) as gap:
        await store.append([entries[0], entries[2]])
    with pytest.raises(AuditDivergence) as unlinked:
        await store.append([entries[0], dataclasses.replace(entries[1], prev_hash="a" * 64)])

    assert (gap.value.seq, gap.value.field) == (3, "seq")
    assert (unlinked.value.seq, unlinked.value.field) == (2, "prev_hash")
    assert await store.count(run_id) == 0


async def test_append_must_continue_the_stored_chain(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 10)
    await store.append(entries[:4])

    with pytest.raises(AuditDivergence) as skipped:
        await store.append(entries[6:])
    forked = make_chain(run_id, 3, start_seq=5, prev_hash="b" * 64)
    with pytest.raises(AuditDivergence) as fork:
        await store.append(forked)
    with pytest.raises(AuditDivergence) as not_genesis:
        await store.append(make_chain(unique(), 2, prev_hash="c" * 64))

    assert (skipped.value.seq, skipped.value.field) == (7, "seq")
    assert (fork.value.seq, fork.value.field) == (5, "prev_hash")
    assert (not_genesis.value.seq, not_genesis.value.field) == (1, "prev_hash")
    await store.append(entries[4:])
    assert (await store.verify(run_id)).entries == 10


async def test_one_batch_may_hold_many_runs(database: Database) -> None:
    store = AuditStore(database)
    runs = [unique() for _ in range(7)]
    chains = {run_id: make_chain(run_id, 30) for run_id in runs}
    interleaved = [e for i in range(30) for run_id in runs for e in [chains[run_id][i]]]

    result = await store.append(interleaved)

    assert result.inserted == 210
    for run_id in runs:
        assert await store.entries(run_id) == chains[run_id]


async def test_timeline_is_ordered_with_recorded_time(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 3)
    await store.append(entries[:1])
    await store.append(entries[1:])

    timeline = await store.timeline(run_id)

    assert [e.seq for e in timeline] == [1, 2, 3]
    assert [e.hash for e in timeline] == [e.hash for e in entries]
    assert timeline[0].recorded_at <= timeline[1].recorded_at == timeline[2].recorded_at
    assert timeline[0].recorded_at.utcoffset() is not None


async def test_unknown_run_is_named(database: Database) -> None:
    store = AuditStore(database)
    for read in (store.verify, store.timeline, store.entries):
        with pytest.raises(UnknownRun, match="unknown run 'no-such-run'"):
            await read("no-such-run")
    with pytest.raises(UnknownRun):
        await store.export("no-such-run", io.StringIO())


async def test_verify_all_checks_every_run(database: Database) -> None:
    store = AuditStore(database)
    runs = sorted(unique() for _ in range(3))
    for n, run_id in enumerate(runs, start=1):
        await store.append(make_chain(run_id, n * 4))

    results = await store.verify_all()

    assert [(r.run_id, r.entries, r.ok) for r in results] == [
        (runs[0], 4, True),
        (runs[1], 8, True),
        (runs[2], 12, True),
    ]


async def test_export_is_json_lines_in_the_documented_layout(database: Database) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 4)
    await store.append(entries)
    out = io.StringIO()

    count = await store.export(run_id, out)

    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert count == 4 == len(lines)
    assert set(records[0]) == {
        "run_id", "seq", "tick", "recorded_at", "step_id", "action", "outcome", "detail",
        "prev_hash", "hash",
    }  # fmt: skip
    assert records[0]["prev_hash"] == GENESIS_HASH
    assert records[0]["recorded_at"].endswith("Z")
    assert [{k: r[k] for k in r if k != "recorded_at"} for r in records] == as_dicts(entries)
    assert verify_chain(records) is None


async def test_large_batches_fresh_repeated_partly_repeated_and_divergent(
    database: Database,
) -> None:
    """Batches big enough for the bulk (COPY) path behave exactly like small ones."""
    store = AuditStore(database)
    run_id = unique()
    first = make_chain(run_id, 150)
    assert await store.append(first) == AppendResult(150, 0)
    assert await store.append(first) == AppendResult(0, 150)
    more = continue_chain(first, 120)
    assert await store.append([*first[90:], *more]) == AppendResult(120, 60)
    stored = await store.entries(run_id)
    assert stored == [*first, *more] and verify_chain(as_dicts(stored)) is None
    tampered = [*first[:100], dataclasses.replace(first[100], outcome="forged"), *first[101:]]
    with pytest.raises(AuditDivergence) as caught:
        await store.append(tampered)
    assert (caught.value.seq, caught.value.field) == (101, "outcome")
    assert await store.count(run_id) == 270
