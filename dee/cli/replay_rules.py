"""``dee replay --rules SETTINGS.yaml`` / ``--preset NAME``: recorded sends re-decided
under a new rules version (``dee.replay.rules_what_if``), for one ``RUN_ID`` or every
run ``--runs QUERY`` selects. Divergences are listed first; like a what-if on another
plan version it reports and exits 0. ``--json`` prints ``RulesReport.as_dict()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from dee.cli.common import config_of, engine_session, print_json, run_async
from dee.errors import EngineError

if TYPE_CHECKING:
    from dee.replay.rules_sources import NewRules
    from dee.replay.rules_what_if import Decided, RulesReport

RulesOpt = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        metavar="SETTINGS.yaml",
        help="Re-decide the recorded sends under this settings file's policies section "
        "(the compliance rules' new version); with RUN_ID or --runs.",
    ),
]
PresetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--preset",
        help="With RUN_ID or --runs: re-decide under this preset (repeatable), replacing "
        "the configured and plan presets.",
    ),
]


def rules_what_if(
    config: Path | None,
    rules_file: Path | None,
    presets: list[str] | None,
    run_id: str | None,
    runs: str | None,
    limit: int | None,
    json_out: bool,
) -> None:
    """Re-decide the sends of ``run_id`` or of the runs ``runs`` selects, and print."""
    if (run_id is None) == (runs is None):
        raise EngineError(["--rules/--preset go with either RUN_ID or --runs QUERY"])
    from dee.replay.rules_sources import new_rules  # noqa: PLC0415 - replay's modules are heavy

    rules = new_rules(config_of(config), rules_file, presets)
    report = run_async(_report(config, rules, run_id, runs, limit))
    if json_out:
        print_json(report.as_dict())
    else:
        _print(Console(), report, runs)


async def _report(
    config: Path | None, rules: NewRules, run_id: str | None, query: str | None, limit: int | None
) -> RulesReport:
    from dee.replay.rules_what_if import (  # noqa: PLC0415 - see above
        rules_what_if_query,
        rules_what_if_runs,
    )
    from dee.tenants import not_foreign, unknown_in  # noqa: PLC0415

    async with engine_session(config) as engine:
        if query is not None:
            return await rules_what_if_query(
                engine.client, engine.audit, engine.database, rules, query, limit=limit
            )
        assert run_id is not None
        async with unknown_in(engine.config.tenant):
            await not_foreign(engine.runs, engine.config.tenant, run_id)
            return await rules_what_if_runs(
                engine.client, engine.audit, engine.database, rules, [run_id]
            )


def _side(d: Decided) -> str:
    by = d.rule or d.policy
    text = d.decision if by is None else f"{d.decision} ({by})"
    return text if d.until is None else f"{text} until {d.until.isoformat()}"


def _print(console: Console, report: RulesReport, query: str | None) -> None:
    versions = {s.new.rules_version for r in report.changes for s in r.sends}
    over = "" if query is None else f" over runs {query or '(all)'!r}"
    console.print(f"what-if on rules {', '.join(sorted(v or '-' for v in versions))}{over}")
    table = Table("run", "step", "visit", "at", "recorded", "new", "")
    for run in report.changes:
        for s in run.sends:
            mark = "[red]changes[/]" if s.diverged else "unchanged"
            recorded = f"{_side(s.recorded)} [{s.recorded.rules_version or 'no rules'}]"
            table.add_row(
                run.run_id, s.step_id, str(s.visit), s.at.isoformat(), recorded, _side(s.new), mark
            )
    console.print(table)
    runs = sum(1 for r in report.changes if r.diverged)
    console.print(
        f"{len(report.changes)} run(s), {report.sends} send(s): {report.diverged} send(s) "
        f"in {runs} run(s) would be decided otherwise"
    )


__all__ = ["PresetOpt", "RulesOpt", "rules_what_if"]
