"""``dee audit``: verify, export and archive the hash-chained audit log."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dee.cli.db import retention_storage, run_storage, storage
from dee.errors import DocumentError, EngineError
from dee.settings import Settings

if TYPE_CHECKING:
    from adapters.storage import RetentionReport, VerifyResult
    from dee.unclosed_runs import ClosingCheck

# The storage package is imported inside the helpers: see dee/cli/db.py.

app = typer.Typer(help="Verify, export and archive the audit log.", no_args_is_help=True)


async def _verify(run_id: str | None) -> tuple[list[VerifyResult], ClosingCheck]:
    from adapters.storage import AuditStore, UnknownRun, VerifyResult  # noqa: PLC0415
    from dee.config import load_config  # noqa: PLC0415
    from dee.unclosed_runs import check_closing  # noqa: PLC0415

    config = load_config()
    async with storage(Settings.from_config(config)) as database:
        store = AuditStore(database)
        if run_id is None:
            results = await store.verify_all()
        else:
            try:
                results = [await store.verify(run_id)]
            except UnknownRun:
                # No entries at all: a recorded run that died before its first flush
                # is still checked below; anything else is unknown, as before.
                results = [VerifyResult(run_id, 0, 1, None, None)]
        closing = await check_closing(database, config, run_id)
        if run_id is not None and not results[0].entries and not closing.unclosed:
            await store.verify(run_id)  # raises UnknownRun unless an archived head exists
        return results, closing


@app.command()
def verify(
    run_id: Annotated[str | None, typer.Argument(metavar="RUN_ID", help="The run.")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Verify every run.")] = False,
) -> None:
    """Recompute every hash and link, and check that every ended run's chain is closed.

    Exits 1 naming the first broken entry (run, seq, field) of each broken chain, and
    each run that ended (its row final, or its Temporal execution dead) without a
    closing entry.
    """
    if (run_id is None) == (not all_runs):
        raise EngineError(["give either RUN_ID or --all"])
    results, closing = run_storage(_verify(None if all_runs else run_id))
    if closing.unasked is not None:
        print(
            f"warning: {closing.unasked}; runs whose execution died there were not checked",
            file=sys.stderr,
        )
    if not results and not closing.unclosed:
        print("no audit entries are stored")
    unclosed = {u.run_id for u in closing.unclosed}
    for result in results:
        if result.ok and result.run_id not in unclosed:
            print(result.describe())
    problems = [r.describe() for r in results if not r.ok]
    problems += [u.describe() for u in closing.unclosed]
    if problems:
        raise EngineError(problems)


async def _export(run_id: str, out: Path | None) -> int:
    from adapters.storage import AuditStore  # noqa: PLC0415

    async with storage() as database:
        store = AuditStore(database)
        if out is None:
            return await store.export(run_id, sys.stdout)
        # Written beside the target and renamed at the end: no half-written file, and
        # none at all when the run is unknown.
        fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                count = await store.export(run_id, handle)
            Path(temporary).replace(out)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return count


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Write a run's stored entries as JSON Lines (the format docs/audit.md describes)."""
    if out is not None and not out.parent.is_dir():
        raise DocumentError([f"{out}: directory {out.parent} does not exist"])
    if out is not None and out.is_dir():
        # Checked before connecting: the rename at the end would fail only after the
        # export had been read and written to a temporary file.
        raise DocumentError([f"{out}: is a directory, expected a file"])
    count = run_storage(_export(run_id, out))
    if out is not None:
        print(f"exported {count} entries of run {run_id} to {out}")


async def _archive(days: int, to: str) -> RetentionReport:
    from adapters.storage import Retention, archive_for  # noqa: PLC0415

    # As the retention role (DEE_DATABASE_RETENTION_URL): the application role may not.
    async with retention_storage() as database:
        return await Retention(database, archive_for(to), days=days).run()


@app.command()
def archive(
    days: Annotated[
        int | None, typer.Option(help="Retention in days (default: $DEE_AUDIT_RETENTION_DAYS).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="file:///dir or s3://bucket/prefix (default: $DEE_AUDIT_ARCHIVE_TO)."),
    ] = None,
) -> None:
    """Archive entries older than the retention window, then remove them from the database."""
    settings = Settings.load()
    days = days if days is not None else settings.audit_retention_days
    to = to or settings.audit_archive_to
    missing = [
        hint
        for value, hint in (
            (days, "a retention (--days or DEE_AUDIT_RETENTION_DAYS)"),
            (to, "an archive (--to or DEE_AUDIT_ARCHIVE_TO)"),
        )
        if not value
    ]
    if missing or days is None or to is None:
        raise EngineError([f"audit retention is not configured: give {' and '.join(missing)}"])
    report = run_storage(_archive(days, to))
    runs = len({s.run_id for s in report.archived})
    print(
        f"archived {report.entries} entries of {runs} runs recorded before "
        f"{report.cutoff.isoformat()} to {to}"
    )
    if report.refused:
        raise EngineError(
            [f"not archived, the chain does not verify: {b.describe()}" for b in report.refused]
        )


__all__ = ["app"]
