"""Retention: archive first (a directory, or S3 on a local moto server), then delete.

Entries become "old" by running retention with a ``now`` past the window instead of
waiting: ``now = moment + days`` makes everything recorded before ``moment`` old.

On PostgreSQL the tests also connect as throwaway LOGIN roles that own nothing, as
production roles should, to show that only ``dee_retention_delete`` removes rows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select, text
from storage_helpers import continue_chain, load_verifier, make_chain, tamper, unique

from adapters.storage import (
    ArchiveError,
    AuditDivergence,
    AuditStore,
    Database,
    FileArchive,
    Retention,
    StorageError,
    archive_for,
)
from dee.devserver import free_port
from tests.integration.databases import empty_database_url, migrated

pytestmark = pytest.mark.asyncio(loop_scope="session")
DAYS = 30
verify_export = load_verifier().main
RETENTION_FUNCTION = "dee_retention_delete(text, bigint, bigint, text, text)"


async def _moment() -> datetime:
    """A time strictly between the appends before and after it."""
    await asyncio.sleep(0.01)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    return moment


async def test_old_entries_are_archived_removed_and_the_chain_still_verifies(
    database: Database, tmp_path: Path
) -> None:
    store = AuditStore(database)
    partly, wholly = unique("partly"), unique("wholly")
    old_part = make_chain(partly, 8)
    whole = make_chain(wholly, 5)
    await store.append([*old_part, *whole])
    moment = await _moment()
    young_part = continue_chain(old_part, 4)
    await store.append(young_part)
    archive_dir = tmp_path / "archive"

    report = await Retention(database, FileArchive(archive_dir), days=DAYS).run(
        now=moment + timedelta(days=DAYS)
    )

    assert {(s.run_id, s.first_seq, s.last_seq) for s in report.archived} == {
        (partly, 1, 8),
        (wholly, 1, 5),
    }
    assert report.entries == 13 and not report.refused
    assert await store.entries(partly) == young_part
    assert await store.entries(wholly) == []
    partly_result, wholly_result = await store.verify(partly), await store.verify(wholly)
    assert partly_result.ok and (partly_result.first_seq, partly_result.entries) == (9, 4)
    assert wholly_result.ok and wholly_result.head is not None
    assert (wholly_result.head.seq, wholly_result.head.hash) == (5, whole[-1].hash)
    assert wholly_result.head.archive_uri.startswith("file://")
    # The archive holds the exported layout and verifies on its own and with the rest.
    archived = archive_dir / partly / "0000000001-0000000008.jsonl"
    lines = [json.loads(line) for line in archived.read_text("utf-8").splitlines()]
    assert [line["hash"] for line in lines] == [e.hash for e in old_part]
    rest = tmp_path / "rest.jsonl"
    with rest.open("w", encoding="utf-8") as out:
        await store.export(partly, out)
    assert verify_export([str(archived), str(rest)]) == 0
    assert verify_export([str(rest)]) == 1
    assert verify_export(["--allow-partial", str(rest)]) == 0


async def test_appends_continue_after_the_archived_head(database: Database, tmp_path: Path) -> None:
    store = AuditStore(database)
    run_id = unique()
    first = make_chain(run_id, 6)
    await store.append(first)
    moment = await _moment()
    retention = Retention(database, FileArchive(tmp_path), days=DAYS)
    await retention.run(now=moment + timedelta(days=DAYS))

    with pytest.raises(AuditDivergence, match="were archived"):
        await store.append(first[-2:])
    second = continue_chain(first, 5)
    await store.append(second)
    moment = await _moment()
    third = continue_chain(second, 2)
    await store.append(third)
    report = await retention.run(now=moment + timedelta(days=DAYS))

    assert [(s.first_seq, s.last_seq) for s in report.archived] == [(7, 11)]
    result = await store.verify(run_id)
    assert result.ok and (result.first_seq, result.entries) == (12, 2)
    segments = sorted((tmp_path / run_id).glob("*.jsonl"))
    assert verify_export([*map(str, segments)]) == 0


async def test_nothing_is_deleted_when_any_archive_write_fails(
    database: Database, tmp_path: Path
) -> None:
    store = AuditStore(database)
    runs = sorted(unique() for _ in range(3))
    for run_id in runs:
        await store.append(make_chain(run_id, 4))
    moment = await _moment()
    archive = _FailingArchive(FileArchive(tmp_path), fail_on_write=2)

    with pytest.raises(ArchiveError, match="disk full"):
        await Retention(database, archive, days=DAYS).run(now=moment + timedelta(days=DAYS))

    assert await store.count() == 12
    assert all(r.ok and r.head is None and r.entries == 4 for r in await store.verify_all())
    assert list(tmp_path.rglob("*.jsonl")) == []  # the first run's copy was removed again


async def test_a_broken_chain_is_not_archived(database: Database, tmp_path: Path) -> None:
    store = AuditStore(database)
    good, bad = unique("good"), unique("bad")
    await store.append([*make_chain(good, 3), *make_chain(bad, 3)])
    await tamper(
        database, "UPDATE audit_entries SET outcome = 'x' WHERE run_id = :r AND seq = 2", r=bad
    )
    moment = await _moment()

    report = await Retention(database, FileArchive(tmp_path), days=DAYS).run(
        now=moment + timedelta(days=DAYS)
    )

    assert [s.run_id for s in report.archived] == [good]
    assert [(b.run_id, b.seq, b.field) for b in report.refused] == [(bad, 2, "hash")]
    assert await store.count(bad) == 3


async def test_nothing_old_means_nothing_archived(database: Database, tmp_path: Path) -> None:
    store = AuditStore(database)
    await store.append(make_chain(unique(), 3))

    report = await Retention(database, FileArchive(tmp_path), days=DAYS).run()

    assert report.archived == [] and await store.count() == 3


async def test_misconfigured_retention_is_named() -> None:
    with pytest.raises(ArchiveError, match="unsupported scheme 'ftp'"):
        archive_for("ftp://host/dir")
    with pytest.raises(ArchiveError, match="names no bucket"):
        archive_for("s3:///prefix")
    with pytest.raises(ArchiveError, match="names no host"):
        archive_for("file://host/dir")
    assert isinstance(archive_for("file:///tmp/archive"), FileArchive)


async def test_retention_window_must_be_positive(database: Database) -> None:
    with pytest.raises(StorageError, match="at least 1 day"):
        Retention(database, FileArchive(Path("unused")), days=0)


@pytest.fixture
async def pg_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated PostgreSQL schema, owned by the (superuser) test role."""
    async with (
        empty_database_url("postgresql", tmp_path, "dee_test") as url,
        migrated(url) as database,
    ):
        yield database


@asynccontextmanager
async def _login_role(owner: Database, *grants: str) -> AsyncIterator[Database]:
    """A connection as a new LOGIN role holding only USAGE on the schema and ``grants``."""
    role = f"dee_role_{uuid.uuid4().hex[:12]}"
    schema = owner.search_path
    assert schema is not None
    async with owner.transaction() as conn:
        await conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        await conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        for grant in grants:
            await conn.exec_driver_sql(f'GRANT {grant} TO "{role}"')
    url = owner.url.set(username=role).render_as_string(hide_password=False)
    database = Database(url, search_path=schema)
    try:
        yield database
    finally:
        await database.dispose()
        async with owner.transaction() as conn:
            await conn.exec_driver_sql(f'DROP OWNED BY "{role}"')  # its grants
            await conn.exec_driver_sql(f'DROP ROLE "{role}"')


async def test_an_application_role_cannot_delete_audit_rows(
    pg_database: Database, tmp_path: Path
) -> None:
    store = AuditStore(pg_database)
    run_id = unique()
    entries = make_chain(run_id, 5)
    await store.append(entries)
    moment = await _moment()
    # DELETE granted by mistake: the privilege check passes, so the trigger decides.
    tables = "audit_entries, audit_heads"
    async with _login_role(pg_database, f"SELECT, INSERT, DELETE ON {tables}") as app:
        with pytest.raises(
            StorageError, match="DELETE on audit_entries refused: the table is append-only"
        ):
            async with app.transaction() as conn:
                # The old switch, and the flag the function sets, are anyone's to set.
                await conn.exec_driver_sql("SET dee.retention = 'on'")
                await conn.exec_driver_sql("SET dee.retention_function = 'on'")
                await conn.execute(
                    text("DELETE FROM audit_entries WHERE run_id = :r"), {"r": run_id}
                )
        with pytest.raises(StorageError, match="permission denied for function"):
            async with app.transaction() as conn:
                await conn.scalar(
                    select(func.dee_retention_delete(run_id, 1, 5, entries[-1].hash, "file:///x"))
                )
        with pytest.raises(StorageError, match="permission denied for function"):
            await Retention(app, FileArchive(tmp_path), days=DAYS).run(
                now=moment + timedelta(days=DAYS)
            )

    assert await store.entries(run_id) == entries
    assert await store.head(run_id) is None


async def test_a_role_with_execute_removes_only_what_the_function_allows(
    pg_database: Database, tmp_path: Path
) -> None:
    store = AuditStore(pg_database)
    run_id, other = unique(), unique("other")
    old = make_chain(run_id, 6)
    await store.append([*old, *make_chain(other, 4)])
    moment = await _moment()
    young = continue_chain(old, 2)
    await store.append(young)
    grants = ("SELECT ON audit_entries, audit_heads", f"EXECUTE ON FUNCTION {RETENTION_FUNCTION}")

    async with _login_role(pg_database, *grants) as retention_role:
        report = await Retention(retention_role, FileArchive(tmp_path), days=DAYS).run(
            now=moment + timedelta(days=DAYS)
        )
        assert {(s.run_id, s.first_seq, s.last_seq) for s in report.archived} == {
            (run_id, 1, 6),
            (other, 1, 4),
        }
        # Anything but "the next segment after the head, ending in the archived hash":
        refused = {
            "does not continue the head": (run_id, 8, 8, young[-1].hash),
            "already archived": (run_id, 1, 6, old[-1].hash),
            "not the stored hash": (run_id, 7, 8, young[0].hash),
            "beyond the stored chain": (run_id, 7, 9, young[-1].hash),
            "backwards": (run_id, 8, 7, young[-1].hash),
        }
        for case, args in refused.items():
            with pytest.raises(StorageError, match=f"retention of run {run_id} refused"):
                async with retention_role.transaction() as conn:
                    await conn.scalar(select(func.dee_retention_delete(*args, "file:///x")))
            assert await store.entries(run_id) == young, case
        with pytest.raises(StorageError, match="permission denied for table audit_entries"):
            async with retention_role.transaction() as conn:
                await conn.execute(
                    text("DELETE FROM audit_entries WHERE run_id = :r"), {"r": run_id}
                )

    result = await store.verify(run_id)
    assert result.ok and result.head is not None and (result.head.seq, result.entries) == (6, 2)
    assert result.head.hash == old[-1].hash and result.head.archive_uri.startswith("file://")
    assert (await store.verify(other)).ok and await store.count(other) == 0


async def test_the_function_opens_the_trigger_only_while_it_runs(pg_database: Database) -> None:
    # Even the owner, who may call the function, cannot delete directly afterwards in
    # the same transaction: the function's flag is restored when it returns.
    store = AuditStore(pg_database)
    run_id = unique()
    entries = make_chain(run_id, 4)
    await store.append(entries)

    with pytest.raises(StorageError, match="DELETE on audit_entries refused"):
        async with pg_database.transaction() as conn:
            removed = await conn.scalar(
                select(func.dee_retention_delete(run_id, 1, 2, entries[1].hash, "file:///x"))
            )
            assert removed == 2
            await conn.execute(text("DELETE FROM audit_entries WHERE run_id = :r"), {"r": run_id})

    assert await store.entries(run_id) == entries


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback for this module."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def test_archive_to_s3(database: Database, s3_endpoint: str) -> None:
    s3 = _s3(s3_endpoint)
    bucket = unique("bucket")
    s3.create_bucket(Bucket=bucket)
    store = AuditStore(database)
    run_id = unique()
    entries = make_chain(run_id, 7)
    await store.append(entries)
    moment = await _moment()

    report = await Retention(
        database, archive_for(f"s3://{bucket}/dee/audit", s3_client=s3), days=DAYS
    ).run(now=moment + timedelta(days=DAYS))

    key = f"dee/audit/{run_id}/0000000001-0000000007.jsonl"
    assert [s.uri for s in report.archived] == [f"s3://{bucket}/{key}"]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    assert [json.loads(line)["hash"] for line in body.splitlines()] == [e.hash for e in entries]
    result = await store.verify(run_id)
    assert result.ok and result.head is not None and result.head.seq == 7
    assert await store.count(run_id) == 0


async def test_s3_failure_deletes_nothing(database: Database, s3_endpoint: str) -> None:
    store = AuditStore(database)
    run_id = unique()
    await store.append(make_chain(run_id, 5))
    moment = await _moment()
    missing_bucket = archive_for(f"s3://{unique('missing')}/x", s3_client=_s3(s3_endpoint))

    with pytest.raises(ArchiveError, match="NoSuchBucket"):
        await Retention(database, missing_bucket, days=DAYS).run(now=moment + timedelta(days=DAYS))

    assert await store.count(run_id) == 5
    assert (await store.head(run_id)) is None


class _FailingArchive:
    """A real archive whose n-th write fails, as a full disk would."""

    def __init__(self, inner: FileArchive, *, fail_on_write: int) -> None:
        self._inner = inner
        self._writes = 0
        self._fail_on = fail_on_write

    @property
    def uri(self) -> str:
        return self._inner.uri

    async def write(self, key: str, data: bytes) -> str:
        self._writes += 1
        if self._writes == self._fail_on:
            raise ArchiveError(f"cannot write {key}: disk full")
        return await self._inner.write(key, data)

    async def remove(self, key: str) -> None:
        await self._inner.remove(key)
