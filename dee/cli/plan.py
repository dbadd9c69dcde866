"""``dee plan``: schema, validate, simulate, graph."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from dee.cli.common import JsonOpt, print_json
from dee.content import load_registry, templates_dir
from dee.documents import load_plan, read_document
from dee.errors import DeeError, DocumentError
from dee.presets import preset_problems
from interpreter import (
    ContentRegistry,
    ExecutionPlan,
    InputError,
    Limits,
    MachineConfig,
    PlanError,
    Trace,
    parse_events,
    parse_mapping,
    parse_results,
    simulate,
    validate,
)
from interpreter.compiled import DEFAULT_START_AT_MS, DEFAULT_TICK_INTERVAL_MS
from interpreter.limits import MAX_PLAN_STEPS, MAX_WAIT_DAYS, shown
from interpreter.local_time import Clock, ZoneError, parse_utc_iso, utc_iso, zone
from interpreter.mermaid import to_mermaid
from interpreter.plan_schema import plan_json_schema
from interpreter.timing import TIMEZONE_FIELD

app = typer.Typer(help="Inspect, validate and simulate execution plans.", no_args_is_help=True)

TemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates", help="Templates directory (default: $DEE_TEMPLATES_DIR or ./templates)."
    ),
]
NoRegistryOpt = Annotated[
    bool, typer.Option("--no-registry", help="Do not check template/script ids against a registry.")
]
GoogleCelOpt = Annotated[
    bool,
    typer.Option(
        "--google-cel/--legacy-cel",
        help="Conditions on Google's CEL, the evaluator new runs use (the default); "
        "--legacy-cel: on DEE's old checker and evaluator, as runs recorded before "
        "issue 23 were (to check or replay an old plan).",
    ),
]


def _registry(templates: Path | None, no_registry: bool) -> ContentRegistry | None:
    return None if no_registry else load_registry(templates_dir(templates))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the plan file format (for editors)."""
    print(json.dumps(plan_json_schema(), indent=2, sort_keys=True))


@app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Plan files (YAML or JSON).")],
    templates: TemplatesOpt = None,
    no_registry: NoRegistryOpt = False,
    max_steps: Annotated[
        int, typer.Option(min=1, max=MAX_PLAN_STEPS, help="Most steps a plan may have.")
    ] = 100,
    max_wait_days: Annotated[
        int, typer.Option(min=1, max=MAX_WAIT_DAYS, help="Longest wait, in days.")
    ] = 365,
    min_send_loop_wait: Annotated[
        int,
        typer.Option(
            min=0, help="Seconds a cycle that sends must wait on every round (default a day)."
        ),
    ] = 86_400,
    google_cel: GoogleCelOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Validate plans; exit 1 listing every problem (each names its step and field).

    ``--json`` prints one object per file (``ok``, the plan's id, version and content
    hash, its ``problems``); the problems are also on stderr, and the exit status is
    the same.
    """
    registry = _registry(templates, no_registry)
    limits = Limits(max_steps, max_wait_days, min_send_loop_wait, google_cel=google_cel)
    lines: list[str] = []
    shown: list[dict[str, Any]] = []
    for path in files:
        try:
            plan = load_plan(path)
        except DocumentError as exc:
            lines.extend(exc.lines)
            shown.append({"file": str(path), "ok": False, "problems": list(exc.lines)})
            continue
        problems = validate(plan, registry=registry, limits=limits) + preset_problems(plan)
        lines.extend(f"{path}: {p}" for p in problems)
        shown.append(
            {
                "file": str(path),
                "ok": not problems,
                "planId": plan.id,
                "version": plan.version,
                "steps": len(plan.steps),
                "contentHash": plan.content_hash,
                "problems": [f"{path}: {p}" for p in problems],
            }
        )
        if not problems and not as_json:
            summary = f"{plan.id} v{plan.version}, {len(plan.steps)} steps, {plan.content_hash}"
            print(f"{path}: ok ({summary})")
    if as_json:
        print_json(shown)
    if lines:
        raise DocumentError(lines)


@app.command()
def graph(file: Annotated[Path, typer.Argument(help="Plan file.")]) -> None:
    """Print the plan as a Mermaid flowchart."""
    print(to_mermaid(load_plan(file)), end="")


def _optional(path: Path | None, default: Any) -> Any:
    return default if path is None else read_document(path)


@app.command("simulate")
def simulate_cmd(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file.")],
    contact: Annotated[Path | None, typer.Option(help="Contact JSON file.")] = None,
    vars_file: Annotated[Path | None, typer.Option("--vars", help="Variables JSON file.")] = None,
    events: Annotated[
        Path | None, typer.Option(help="Events JSON file: [{type, stepId?, data?, tick}].")
    ] = None,
    results: Annotated[
        Path | None, typer.Option(help="Results JSON file: {stepId: {status, reason}}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    start_at: Annotated[
        str,
        typer.Option(
            "--start-at",
            metavar="ISO-8601",
            help="The instant the run starts (tick 0), with its UTC offset: local times "
            "(waits until, send windows) are computed from it. The default (a Monday, "
            "09:00 UTC) is fixed, so a simulation is reproducible.",
        ),
    ] = utc_iso(DEFAULT_START_AT_MS),
    templates: TemplatesOpt = None,
    no_registry: NoRegistryOpt = False,
    google_cel: GoogleCelOpt = True,
) -> None:
    """Run a plan on the logical clock (no sends) and print its trace."""
    origin = _start_at(start_at)
    plan = load_plan(plan_file)
    registry = _registry(templates, no_registry)
    try:
        contact_doc = parse_mapping(
            _optional(contact, {"id": "simulated-contact"}), source=str(contact), what="the contact"
        )
        variables = parse_mapping(_optional(vars_file, {}), source=str(vars_file), what="variables")
        event_list = parse_events(_optional(events, []), source=str(events))
        step_ids = frozenset(s.id for s in plan.steps)
        result_map = parse_results(_optional(results, {}), source=str(results), step_ids=step_ids)
    except InputError as exc:
        raise DocumentError(list(exc.problems)) from None
    try:
        trace = simulate(
            plan, contact_doc, event_list, result_map, variables, registry=registry,
            start_at=origin, config=MachineConfig(google_cel=google_cel),
        )  # fmt: skip
    except PlanError as exc:
        raise DocumentError([f"{plan_file}: {p}" for p in exc.problems]) from None
    if as_json:
        print_json(trace.as_dict())
    else:
        _print_trace(trace, origin, _display_zone(plan, contact_doc))


# Outside these years a two-week search for the next local time leaves the calendar.
_FIRST_START, _LAST_START = "1970-01-01T00:00:00Z", "9999-01-01T00:00:00Z"


def _start_at(text: str) -> int:
    """``--start-at`` in epoch milliseconds; a usage error (exit 2) naming the option."""
    try:
        origin = parse_utc_iso(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{shown(text)}' is not an ISO-8601 instant with a UTC offset "
            f"(like {utc_iso(DEFAULT_START_AT_MS)} or 2026-01-09T18:00:00-05:00)",
            param_hint="'--start-at'",
        ) from None
    if not parse_utc_iso(_FIRST_START) <= origin < parse_utc_iso(_LAST_START):
        raise typer.BadParameter(
            f"'{shown(text)}' is outside {_FIRST_START} .. {_LAST_START}", param_hint="'--start-at'"
        )
    return origin


def _display_zone(plan: ExecutionPlan, contact: Mapping[str, Any]) -> ZoneInfo:
    """The zone the trace's times are shown in: the run's zone, else UTC.

    The machine's own rule (``interpreter.timing``) fails a step without a zone; a
    display only needs some zone, and a wrong contact zone is in the trace already.
    """
    for name in (contact.get(TIMEZONE_FIELD), plan.default_timezone):
        if isinstance(name, str) and name:
            try:
                return zone(name)
            except ZoneError:
                continue
    return zone("UTC")


def _print_trace(trace: Trace, origin: int, tz: ZoneInfo) -> None:
    console = Console()
    clock = Clock(origin, 0, DEFAULT_TICK_INTERVAL_MS)
    table = Table(title="Simulated trace", show_lines=False)
    columns = ("tick", f"time ({tz.key})", "step", "action", "outcome", "detail")
    for column in columns:
        table.add_column(column, justify="right" if column == "tick" else "left")
    for e in trace.entries:
        detail = json.dumps(dict(e.detail), sort_keys=True) if e.detail else ""
        table.add_row(
            str(e.tick), _when(clock.instant(e.tick), tz), e.step_id, e.action, e.outcome, detail
        )
    console.print(table)
    console.print(f"status: [bold]{trace.status}[/bold]  outcome: {trace.outcome or '-'}")
    console.print("path: " + " → ".join(trace.path))


def _when(epoch_ms: int, tz: ZoneInfo) -> str:
    """``Mon 2026-01-05 09:00``: the weekday matters to windows and waits until."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


__all__ = ["DeeError", "app"]


async def _register(plan: ExecutionPlan) -> tuple[bool, str]:
    from adapters.storage import PlanStore  # noqa: PLC0415
    from dee.cli.db import storage  # noqa: PLC0415 - storage loads only for this command
    from dee.config import load_config  # noqa: PLC0415
    from dee.settings import Settings  # noqa: PLC0415

    config = load_config()
    async with storage(Settings.from_config(config)) as database:
        # The configured tenant's plan (docs/tenants.md): each tenant has its own ids.
        return await PlanStore(database, config.tenant).put(plan), database.display_url


@app.command("register")
def register_cmd(
    file: Annotated[Path, typer.Argument(help="Plan file (YAML or JSON).")],
    templates: TemplatesOpt = None,
    no_registry: NoRegistryOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a plan and store its version without starting a run.

    Runs started straight through Temporal (``temporal workflow start --type
    PlanRunWorkflow``) must name a stored plan: the worker refuses a start whose plan
    body differs from the stored version. A version is immutable: storing another body
    under it fails; storing the same body again changes nothing.
    """
    from dee.cli.db import run_storage  # noqa: PLC0415

    plan = load_plan(file)
    problems = validate(plan, registry=_registry(templates, no_registry)) + preset_problems(plan)
    if problems:
        raise DocumentError([f"{file}: {p}" for p in problems])
    stored, where = run_storage(_register(plan))
    if as_json:
        print_json(
            {"planId": plan.id, "version": plan.version, "contentHash": plan.content_hash,
             "stored": stored, "database": where}
        )  # fmt: skip
        return
    state = "stored" if stored else "already stored (same body)"
    print(f"{file}: {plan.id} v{plan.version} {state} in {where} ({plan.content_hash})")
