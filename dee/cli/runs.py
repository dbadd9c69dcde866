"""``dee start``, ``dee runs list`` and ``dee event ingest``: starting runs, listing them
and feeding them events through the Engine (``dee run ...`` is ``dee.cli.run``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from dee.cli.bulk import register as register_bulk
from dee.cli.common import ConfigOpt, JsonOpt, engine_session, print_json, run_async, strict_json
from dee.cli.run_view import call as _call
from dee.cli.run_view import ended_by_temporal
from dee.documents import load_plan, read_document
from dee.engine import Engine, ExecutionRun
from dee.errors import DocumentError, EngineError
from dee.events.delivery import Delivery
from dee.runs.start_values import start_contact
from dee.runs.starter import CONCURRENCY
from interpreter import InputError, parse_mapping
from interpreter.limits import CONTACT_ID, identifier_problem, name_problems

runs_app = typer.Typer(help="List runs.", no_args_is_help=True)
register_bulk(runs_app)  # dee runs retry|resolve|cancel|pause|resume over a filter
event_app = typer.Typer(help="Feed external events into runs.", no_args_is_help=True)
# bench/ compares the bulk start with a raw start loop at the same concurrency.
BULK_CONCURRENCY = CONCURRENCY


def _contacts_csv(path: Path) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise DocumentError([f"{path}: is a directory, expected a file"]) from None
    except OSError as exc:
        raise DocumentError([f"{path}: cannot be read: {exc}"]) from None
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark, which would
        # otherwise become part of the first header ("\ufeffid", so no 'id' column).
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DocumentError(
            [f"{path}: line {line}: not UTF-8 text ({exc.reason}); save the CSV as UTF-8"]
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, Any]]] = []
    first = 2  # the line each row starts on: a quoted field may span lines
    try:
        for row in reader:
            rows.append((first, row))
            first = reader.line_num + 1
    except csv.Error as exc:
        # e.g. a field over csv.field_size_limit(): refused, never raised as a traceback.
        raise DocumentError(
            [f"{path}: line {reader.line_num + 1}: not a valid CSV row: {exc}"]
        ) from None
    problems = [
        f"{path}: line {line}: id: every contact needs an id"
        for line, row in rows
        if not (row.get("id") or "").strip()
    ]
    # One contact listed twice would be started twice (two runs, two sends):
    # refused before anything starts, naming every line the id is on.
    lines_of: dict[str, list[int]] = {}
    for line, row in rows:
        if (row.get("id") or "").strip():
            lines_of.setdefault(row["id"], []).append(line)
    problems += [
        f"{path}: id {cid!r} is on more than one line: lines {', '.join(map(str, lines))}"
        for cid, lines in lines_of.items()
        if len(lines) > 1
    ]
    # Past the limits (a NUL in an id, a 300-character id): refused here, before
    # anything starts, rather than one contact at a time by the engine.
    problems += [f"{path}: header: {p}" for p in name_problems(reader.fieldnames or (), "column")]
    for line, row in rows:
        cid = row.get("id") or ""
        found = identifier_problem(cid, "the contact id", CONTACT_ID) if cid.strip() else None
        if found is not None:
            problems.append(f"{path}: line {line}: id: {found}")
    if not rows:
        problems.append(
            f"{path}: no contacts (a header line with an 'id' column, then one per line)"
        )
    people = [{k: v for k, v in row.items() if k is not None and v != ""} for _, row in rows]
    # A bad e-mail or phone on any line refuses the file before anything starts.
    for (line, _), person in zip(rows, people, strict=True):
        try:
            start_contact(person)
        except EngineError as exc:
            problems += [f"{path}: line {line}: {problem}" for problem in exc.lines]
    if problems:
        raise DocumentError(problems)
    return people


def _mapping(path: Path | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return parse_mapping(read_document(path), source=str(path), what=what)
    except InputError as exc:
        raise DocumentError(list(exc.problems)) from None


def start(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file.")],
    contact: Annotated[Path | None, typer.Option(help="Contact JSON file.")] = None,
    contacts: Annotated[Path | None, typer.Option(help="CSV of contacts (an id column).")] = None,
    vars_file: Annotated[Path | None, typer.Option("--vars", help="Variables JSON file.")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Start at most once per key (per contact with --contacts)."),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start runs of PLAN; prints the run id(s)."""
    if (contact is None) == (contacts is None):
        raise DocumentError(["give exactly one of --contact FILE.json or --contacts FILE.csv"])
    plan = load_plan(plan_file)
    variables = _mapping(vars_file, "variables")
    people = [_mapping(contact, "the contact")] if contact else _contacts_csv(contacts)  # type: ignore[arg-type]
    runs = run_async(
        _start_all(config, plan, people, variables, idempotency_key, bulk=contacts is not None)
    )
    if as_json:
        print_json(
            [{"runId": r.run_id, "contactId": r.contact_id, "status": r.status} for r in runs]
        )
    else:
        for run in runs:
            print(run.run_id)


async def _start_all(
    config: Path | None,
    plan: Any,
    people: list[dict[str, Any]],
    variables: dict[str, Any],
    key: str | None,
    *,
    bulk: bool,
) -> list[ExecutionRun]:
    async with engine_session(config) as engine:
        if not bulk:
            return [
                await engine.execute(
                    plan, contact=people[0], variables=variables, idempotency_key=key
                )
            ]
        # On stderr, so stdout stays the run ids (or JSON); and only on a terminal,
        # where someone watches it: into a pipe or a log it would be noise and work.
        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("starting runs", total=len(people))
            outcomes = await engine.execute_many(
                plan,
                people,
                variables=variables,
                idempotency_key=key,
                on_started=lambda: progress.advance(task),
            )
        started = [o for o in outcomes if isinstance(o, ExecutionRun)]
        failed = [
            (p.get("id"), o)
            for p, o in zip(people, outcomes, strict=True)
            if isinstance(o, EngineError)
        ]
        if failed:
            # Report what did start as well as what did not: a bulk start is never silent.
            lines = [f"started {len(started)} of {len(people)} runs:"]
            lines += [f"  {r.contact_id}: {r.run_id}" for r in started]
            lines += [
                f"contact {cid}: {'; '.join(getattr(e, 'lines', [str(e)]))}" for cid, e in failed
            ]
            raise EngineError(lines)
        return started


@runs_app.command("list")
def list_runs(
    status_filter: Annotated[
        str | None,
        typer.Option("--status", help="Only runs in this status (DEAD: the execution died)."),
    ] = None,
    plan: Annotated[str | None, typer.Option(help="Only runs of this plan id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List runs, newest first."""
    runs: list[ExecutionRun] = run_async(
        _call(
            config,
            lambda e: e.list_runs(status=status_filter, plan=plan, limit=limit, outcomes=True),
        )
    )
    if as_json:
        print_json(runs)
        return
    # The Temporal column appears only when a listed run's execution died, so the
    # common listing stays as narrow as before.
    died = any(r.temporal_status for r in runs)
    table = Table(
        "run", "status", "outcome", "step", "plan", "contact", *(["Temporal"] if died else [])
    )
    for r in runs:
        table.add_row(
            r.run_id,
            r.status,
            _how_it_ended(r),
            r.current_step or "-",
            f"{r.plan_id} v{r.plan_version}",
            r.contact_id,
            *([Text(ended_by_temporal(r) if r.temporal_status else "-")] if died else []),
        )
    Console().print(table)


def _how_it_ended(run: ExecutionRun) -> str:
    """The outcome column: a completed run's outcome, a failed run's failure."""
    if run.failure and run.status == "FAILED":
        return f"failed at {run.failure.get('stepId')}: {run.failure.get('reason')}"
    # The run stopped on an event (the plan's exitOn), not at an end step.
    return f"{run.outcome} (exit)" if run.exit_rule else (run.outcome or "-")


@event_app.command("ingest")
def ingest(
    event_type: Annotated[str, typer.Option("--type", help="e.g. email.opened")],
    contact: Annotated[str, typer.Option("--contact", help="The contact id.")],
    run: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="The step it belongs to.")] = None,
    data: Annotated[str | None, typer.Option("--data", help="JSON object payload.")] = None,
    event_id: Annotated[
        str | None, typer.Option("--id", help="Stable id (dedupes retries).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver an event to a run, or to every active run of the contact."""
    payload: dict[str, Any] = {}
    if data is not None:
        payload = strict_json(data, "--data")
        if not isinstance(payload, dict):
            raise DocumentError(["--data: must be a JSON object"])

    async def send(engine: Engine) -> Any:
        return await engine.ingest_event(
            type=event_type,
            contact_id=contact,
            run_id=run,
            step_id=step,
            data=payload,
            event_id=event_id,
        )

    result = run_async(_call(config, send))
    if as_json:
        print_json(result)
    else:
        print(f"event {result.event_id} delivered to {len(result.run_ids)} run(s)")
        for delivery in result.deliveries:
            print(f"  {delivery.run_id}: {_delivered(delivery)}")


def _delivered(delivery: Delivery) -> str:
    view = delivery.state
    if view is None:
        return f"{delivery.outcome} (the run will handle it when it gets to it)"
    outcome = f" with outcome {view.outcome}" if view.outcome else ""
    return f"handled; now {view.status}{outcome} at {view.step_id or '-'} ({view.events} event(s))"
