"""``dee audit``: verify, export and archive the hash-chained audit log."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dee.cli.common import JsonOpt, print_json
from dee.cli.db import retention_storage, run_storage, storage
from dee.errors import DocumentError, EngineError, UnknownRunError
from dee.settings import Settings

if TYPE_CHECKING:
    from adapters.storage import RetentionReport, VerifyResult
    from dee.config import EngineConfig
    from dee.unclosed_runs import ClosingCheck

# The storage package is imported inside the helpers: see dee/cli/db.py.

app = typer.Typer(help="Verify, export and archive the audit log.", no_args_is_help=True)
checkpoints_app = typer.Typer(help="The signed checkpoints of chain heads.", no_args_is_help=True)
app.add_typer(checkpoints_app, name="checkpoints")

PublicKeyOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--public-key",
        help="A trusted public key (PEM, as `dee audit public-key` writes it); repeat for "
        "rotated keys. Default: the public half of the configured signing key.",
    ),
]
CheckpointsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--checkpoints",
        help="A checkpoint export (file or directory of `dee audit checkpoints export`), "
        "trusted over the database's copy; repeatable.",
    ),
]


async def _verify(
    run_id: str | None, public_keys: list[Path] | None, exports: list[Path] | None
) -> tuple[list[VerifyResult], ClosingCheck, bool]:
    from adapters.storage import (  # noqa: PLC0415
        AuditStore,
        CheckpointStore,
        UnknownRun,
        VerifyResult,
        read_export,
    )
    from dee.audit_keys import verifying_keys  # noqa: PLC0415
    from dee.config import load_config  # noqa: PLC0415
    from dee.unclosed_runs import check_closing  # noqa: PLC0415

    config = load_config()
    keys = verifying_keys(config, public_keys)
    exported = read_export(exports or [])
    if exported and keys is None:
        raise EngineError(["--checkpoints needs a public key to check them (--public-key)"])
    async with storage(Settings.from_config(config)) as database:
        store = AuditStore(database, tenant=config.tenant)  # the bound tenant's runs only
        if run_id is None:
            results = await store.verify_all(keys=keys, exported=exported)
        else:
            mine = [cp for cp in exported if cp.run_id == run_id]
            try:
                results = [await store.verify(run_id, keys=keys, exported=mine)]
            except UnknownRun:
                # No entries at all: a recorded run that died before its first flush
                # is still checked below; anything else is unknown, as before.
                results = [VerifyResult(run_id, 0, 1, None, None)]
        closing = await check_closing(database, config, run_id)
        if run_id is not None and not results[0].entries and not closing.unclosed:
            try:  # raises UnknownRun unless an archived head exists
                await store.verify(run_id)
            except UnknownRun:
                raise UnknownRunError(run_id, config.tenant) from None
        # Without a key nothing signed can be checked; that matters once there is.
        unchecked = keys is None and await CheckpointStore(database).count() > 0
        return results, closing, unchecked


@app.command()
def verify(
    run_id: Annotated[str | None, typer.Argument(metavar="RUN_ID", help="The run.")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Verify every run.")] = False,
    public_key: PublicKeyOpt = None,
    checkpoints: CheckpointsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute every hash and link, check the chains against their signed checkpoints,
    and check that every ended run's chain is closed.

    Exits 1 naming the first broken entry (run, seq, field) of each broken chain, every
    entry a signed checkpoint contradicts (changed, missing, unsigned; a forged or
    deleted checkpoint), and each run that ended (its row final, or its Temporal
    execution dead) without a closing entry. ``--json`` prints one object per run
    (``ok``, ``closed``, ``entries``, ``problems``) on stdout; the exit status and the
    ``error:`` lines on stderr are the same.
    """
    if (run_id is None) == (not all_runs):
        raise EngineError(["give either RUN_ID or --all"])
    results, closing, unchecked = run_storage(
        _verify(None if all_runs else run_id, public_key, checkpoints)
    )
    if unchecked:
        print(
            "warning: no public key (--public-key, or the configured signing key): the "
            "signed checkpoints were not checked",
            file=sys.stderr,
        )
    if closing.unasked is not None:
        print(
            f"warning: {closing.unasked}; runs whose execution died there were not checked",
            file=sys.stderr,
        )
    unclosed = {u.run_id for u in closing.unclosed}
    if as_json:
        print_json(verify_json(results, closing))
    elif not results and not closing.unclosed:
        print("no audit entries are stored")
    for result in [] if as_json else results:
        if result.ok and result.run_id not in unclosed:
            print(result.describe())
    problems = [line for r in results for line in r.problem_lines()]
    problems += [u.describe() for u in closing.unclosed]
    if problems:
        raise EngineError(problems)


def verify_json(results: list[VerifyResult], closing: ClosingCheck) -> dict[str, Any]:
    """``dee audit verify --json``: every run checked, and whether all of them hold."""
    ended = {u.run_id: u for u in closing.unclosed}
    runs: list[dict[str, Any]] = []
    for r in results:
        gone = ended.pop(r.run_id, None)
        runs.append(
            {
                "runId": r.run_id,
                "ok": r.ok and gone is None,
                "closed": gone is None,
                "entries": r.entries,
                "firstSeq": r.first_seq,
                "pending": r.pending,
                "archivedHeadSeq": r.head.seq if r.head else None,
                "signedSeq": r.signed.seq if r.signed else None,
                "problems": r.problem_lines() + ([gone.describe()] if gone else []),
            }
        )
    # A run that ended with no entries stored at all has no chain result of its own.
    runs += [
        {"runId": u.run_id, "ok": False, "closed": False, "entries": 0, "problems": [u.describe()]}
        for u in ended.values()
    ]
    return {"ok": all(r["ok"] for r in runs), "runs": runs}


async def _export(run_id: str, out: Path | None) -> int:
    from adapters.storage import UnknownRun  # noqa: PLC0415
    from dee.config import load_config  # noqa: PLC0415

    config = load_config()
    try:
        return await _export_run(config, run_id, out)
    except UnknownRun:  # unknown, or another tenant's: the same answer
        raise UnknownRunError(run_id, config.tenant) from None


async def _export_run(config: EngineConfig, run_id: str, out: Path | None) -> int:
    from adapters.storage import AuditStore  # noqa: PLC0415

    async with storage(Settings.from_config(config)) as database:
        store = AuditStore(database, tenant=config.tenant)
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
    as_json: JsonOpt = False,
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
    if as_json:
        print_json(
            {
                "entries": report.entries,
                "runs": runs,
                "cutoff": report.cutoff,
                "to": to,
                "refused": [b.describe() for b in report.refused],
            }
        )
    else:
        print(
            f"archived {report.entries} entries of {runs} runs recorded before "
            f"{report.cutoff.isoformat()} to {to}"
        )
    if report.refused:
        raise EngineError(
            [f"not archived, the chain does not verify: {b.describe()}" for b in report.refused]
        )


async def _export_checkpoints(to: Path) -> tuple[Path, int]:
    from adapters.storage import CheckpointStore  # noqa: PLC0415

    async with storage() as database:
        return await CheckpointStore(database).export(to)


@checkpoints_app.command("export")
def export_checkpoints(
    to: Annotated[
        Path,
        typer.Option(
            "--to", help="A new file, or a directory to create a new timestamped file in."
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Write every signed checkpoint as JSON Lines to a new, read-only file.

    Put it where the database's users cannot rewrite it (a write-once mount, an S3
    bucket with object lock: docs/audit.md); `dee audit verify --checkpoints` and
    tools/verify_audit_chain.py then trust it over the database.
    """
    if not to.is_dir() and not to.parent.is_dir():
        raise DocumentError([f"{to}: directory {to.parent} does not exist"])
    written, count = run_storage(_export_checkpoints(to))
    if as_json:
        print_json({"checkpoints": count, "file": str(written)})
    else:
        print(f"exported {count} checkpoints to {written}")


async def _adopt() -> tuple[int, list[str]]:
    from adapters.storage import load_signing_key  # noqa: PLC0415
    from adapters.storage.checkpoint_adopt import adopt_unsigned  # noqa: PLC0415
    from dee.config import load_config  # noqa: PLC0415

    config = load_config()
    key_file, generate = config.audit.signing_key(config.data_dir)
    signer = load_signing_key(key_file, create=generate)
    async with storage(Settings.from_config(config)) as database:
        made, refused = await adopt_unsigned(database, signer)
    return len(made), [line for r in refused for line in r.problem_lines()]


@checkpoints_app.command("adopt")
def adopt(as_json: JsonOpt = False) -> None:
    """Sign the heads of runs recorded before checkpoints existed (once, after upgrading).

    Needs the signing key. It vouches for those chains as they are now; a chain that
    does not verify is not signed, and is reported (exit 1).
    """
    count, refused = run_storage(_adopt())
    if as_json:
        print_json({"signed": count, "refused": refused})
    else:
        print(f"signed the heads of {count} runs that had no checkpoint")
    if refused:
        raise EngineError([f"not signed, the chain does not verify: {line}" for line in refused])


@app.command("public-key")
def public_key_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the public key that verifies the worker's checkpoints (PEM).

    The key is the configured signing key's (audit.signingKeyFile); with none
    configured, the embedded default under the data directory, generated if missing.
    """
    from adapters.storage import StorageError, load_signing_key  # noqa: PLC0415
    from dee.config import load_config  # noqa: PLC0415

    config = load_config()
    key_file, generate = config.audit.signing_key(config.data_dir)
    try:
        pem = load_signing_key(key_file, create=generate).public_pem()
    except StorageError as exc:
        raise EngineError([str(exc)]) from None
    if out is None:
        print(pem, end="")
        return
    try:
        out.write_text(pem, encoding="ascii")
    except OSError as exc:
        raise DocumentError([f"{out}: cannot write it: {exc.strerror or exc}"]) from None
    print(f"wrote the audit public key to {out}")


__all__ = ["app"]
