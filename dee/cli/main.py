"""Entry point of the ``dee`` CLI: sub-commands, and errors turned into clean exits.

Every error the layers below raise on bad input is a typed error with readable
lines; they are printed one per line on stderr with exit status 1. A traceback
reaching the user is a bug.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from collections.abc import Iterable
from typing import Annotated

import click
import typer
from typer import _click as typer_click

from dee.errors import DeeError

# Typer bundles its own copy of click; catch both its exceptions and click's own.
_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE = (click.ClickException, typer_click.exceptions.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)

# Each top-level command: (module under dee.cli, attribute, a group or one command).
# A command line that names one loads only that module: loading them all cost
# ``dee start`` 0.1 s more start-up (the other modules' own imports), on every call.
_COMMANDS: dict[str, tuple[str, str, bool]] = {
    "plan": ("plan", "app", True),
    "run": ("run", "app", True),
    "runs": ("runs", "runs_app", True),
    "event": ("runs", "event_app", True),
    "audit": ("audit", "app", True),
    "db": ("db", "app", True),
    "consent": ("policy", "consent_app", True),
    "suppress": ("policy", "suppress_app", True),
    "budget": ("policy", "budget_app", True),
    "contact": ("contact", "app", True),
    "limits": ("policy", "limits_app", True),
    "policy": ("explain", "policy_app", True),  # explain.py adds to ledger.py's group
    "start": ("runs", "start", False),
    "server": ("serve", "server", False),
    "worker": ("serve", "worker", False),
    "webhooks": ("webhooks", "webhooks", False),
    "replay": ("replay", "replay", False),
    "codec-server": ("codec", "codec_server", False),
    "codec-key": ("codec", "codec_key", False),
}


def _build(names: Iterable[str]) -> typer.Typer:
    """The ``dee`` app with the named top-level commands (``demo`` is always there)."""
    cli = typer.Typer(
        name="dee",
        help="DEE, the Deterministic Execution Engine.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name in names:
        module_name, attribute, group = _COMMANDS[name]
        module = importlib.import_module(f"dee.cli.{module_name}")
        if group:
            cli.add_typer(getattr(module, attribute), name=name)
        else:
            cli.command(name)(getattr(module, attribute))
    cli.command("demo")(demo)
    return cli


def _app_for(argv: list[str]) -> typer.Typer:
    """Only the command the line names, or the whole app (help, a typo, ``demo``)."""
    if argv and argv[0] in _COMMANDS:
        return _build([argv[0]])
    return _whole()


@functools.cache
def _whole() -> typer.Typer:
    return _build(_COMMANDS)


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole CLI, built on first use (tests drive it with a CliRunner)."""
    if name == "app":
        return _whole()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _refuse_undecodable(args: list[str]) -> None:
    """Exit 1 naming the first argument that is not UTF-8 text.

    Python turns command-line bytes that are not UTF-8 into lone surrogates
    (``surrogateescape``): an id or a status holding one failed in the database driver,
    and a file name holding one in the output, each with a traceback.
    """
    for position, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            print(f"error: argument {position} ({arg!a}) is not UTF-8 text", file=sys.stderr)
            sys.exit(1)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI and exit (``SystemExit``): what ``main`` runs; tests call it in-process."""
    args = sys.argv[1:] if argv is None else argv
    _refuse_undecodable(args)
    try:
        result = _app_for(args)(args=args, standalone_mode=False)
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
