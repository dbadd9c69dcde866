"""Entry point of the ``dee`` CLI: sub-commands, and errors turned into clean exits.

Every error the layers below raise on bad input is a typed error with readable
lines; they are printed one per line on stderr with exit status 1. A traceback
reaching the user is a bug.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import click
import typer
from typer import _click as typer_click

from dee.cli import audit as audit_cli
from dee.cli import db as db_cli
from dee.cli import plan as plan_cli
from dee.cli import policy as policy_cli
from dee.cli import replay as replay_cli
from dee.cli import run as run_cli
from dee.cli import runs as runs_cli
from dee.cli import serve as serve_cli
from dee.cli import webhooks as webhooks_cli
from dee.errors import DeeError

# Typer bundles its own copy of click; catch both its exceptions and click's own.
_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE = (click.ClickException, typer_click.exceptions.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)

app = typer.Typer(
    name="dee",
    help="DEE, the Deterministic Execution Engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(plan_cli.app, name="plan")
runs_cli.attach(run_cli.app)
app.add_typer(run_cli.app, name="run")
app.add_typer(runs_cli.runs_app, name="runs")
app.add_typer(runs_cli.event_app, name="event")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(db_cli.app, name="db")
app.add_typer(policy_cli.consent_app, name="consent")
app.add_typer(policy_cli.suppress_app, name="suppress")
app.add_typer(policy_cli.budget_app, name="budget")
app.add_typer(policy_cli.limits_app, name="limits")
app.command("start")(runs_cli.start)
app.command("server")(serve_cli.server)
app.command("worker")(serve_cli.worker)
app.command("webhooks")(webhooks_cli.webhooks)
app.command("replay")(replay_cli.replay)


@app.command("demo")
def demo(
    serve: Annotated[bool, typer.Option("--serve", help="Keep everything up afterwards.")] = False,
) -> None:
    """Run the embedded demo: dev server + Web UI, SQLite, mail sink, worker, three runs."""
    from dee.demo import main as demo_main  # noqa: PLC0415 - imports the demo's extras lazily

    raise typer.Exit(code=min(demo_main(serve=serve), 1))


def main(argv: list[str] | None = None) -> None:
    """The ``dee`` script, ``python -m dee``, ``worker.py``, ``starter.py``: ``run``, then
    leave without tearing the interpreter down.

    Finalizing the interpreter after a command (freeing every module, stopping the
    Temporal SDK's Rust runtime) took 0.25-0.5 s, a second start-up's worth for a
    one-shot command, and the SDK's threads can abort it outright ("PyGILState_Release").
    Every command has closed what it opened by the time ``run`` returns (its engine,
    database and client live in ``async with`` blocks), so only the output is left to
    flush.
    """
    try:
        run(argv)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI and exit (``SystemExit``): what ``main`` runs; tests call it in-process."""
    try:
        result = app(args=argv, standalone_mode=False)
    except DeeError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(1)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _USAGE as exc:  # a missing option, an unknown flag, a bad value
        exc.show()
        sys.exit(exc.exit_code)
    except _ABORT:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    # Without standalone mode a command's typer.Exit(code) comes back as the result.
    sys.exit(result if isinstance(result, int) else 0)
