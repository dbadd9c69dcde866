"""What the commands share: configuration, an engine session, and the JSON they print.

Every ``--json`` output goes through ``to_json``/``print_json``: one casing (camelCase,
like the plan format and the settings file) made at this boundary. The engine, storage
and configuration are imported where they are used: commands that need none of them
(``dee plan validate``, ``dee audit verify``) import this module for its JSON alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, is_dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dee.errors import DocumentError, EngineError
from dee.strict_decode import Refused, check_values, decode_json

if TYPE_CHECKING:
    from dee.config import EngineConfig
    from dee.engine import Engine

T = TypeVar("T")


def strict_json(text: str, source: str) -> Any:
    """Decode JSON given on the command line or in a file the CLI reads itself, by the
    same strict rules as ``read_document``: the stdlib decoder recurses (a deeply
    nested text is a RecursionError) and refuses integers past 4300 digits with a
    ValueError, both tracebacks rather than errors naming ``source``."""
    try:
        data = decode_json(text)
    except Refused as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise DocumentError([f"{source}: {where}{exc.problem}"]) from None
    except json.JSONDecodeError as exc:
        raise DocumentError(
            [f"{source}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]
        ) from None
    problems = check_values(data)
    if problems:
        raise DocumentError([f"{source}: {p}" for p in problems])
    return data


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Settings file (YAML/JSON); default $DEE_CONFIG; DEE_* override."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; storage errors become clean CLI errors."""
    from adapters.codec import CodecError  # noqa: PLC0415 - see the module docstring
    from adapters.storage import StorageError  # noqa: PLC0415

    try:
        return asyncio.run(coro)
    except (StorageError, CodecError) as exc:  # a codec error names the key id concerned
        raise EngineError([str(exc)]) from None


@asynccontextmanager
async def engine_session(config_file: Path | None) -> AsyncIterator[Engine]:
    from dee.config import load_config  # noqa: PLC0415 - see the module docstring
    from dee.engine import Engine  # noqa: PLC0415

    config = load_config(config_file)
    engine = await Engine.connect(config)
    try:
        yield engine
    finally:
        await engine.close()


def config_of(config_file: Path | None) -> EngineConfig:
    from dee.config import load_config  # noqa: PLC0415 - see the module docstring

    return load_config(config_file)


# Values under these keys are the user's own data (contact fields, variables, an event's
# payload) or a recorded format (an audit entry's detail, hashed as stored): their keys
# are printed as given, never renamed.
VERBATIM_KEYS = frozenset({"contact", "variables", "data", "detail", "opened"})


def camel(name: str) -> str:
    """``exit_rule`` -> ``exitRule``; a name without an underscore is left as it is."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(value: Any) -> Any:
    """``value`` with every mapping key in camelCase, the one casing of the CLI's JSON,
    except under ``VERBATIM_KEYS``. Internal fields keep their Python names: the
    conversion happens here, at the boundary, for every ``--json`` output."""
    if isinstance(value, Mapping):
        return {
            camel(k): v if k in VERBATIM_KEYS else camel_keys(v)
            for k, v in ((str(k), v) for k, v in value.items())
        }
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in asdict(obj).items()}
    if isinstance(obj, date):  # and datetime
        return obj.isoformat()
    if isinstance(obj, Decimal):  # an amount: exact, as a string, as the text output shows it
        return f"{obj.normalize():f}"
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | frozenset | set):
        return [_plain(v) for v in obj]
    return obj


def to_json(value: Any) -> str:
    """``value`` (dataclasses, mappings, lists, datetimes) as the CLI's JSON: camelCase
    keys (``camel_keys``), indented, non-ASCII kept."""
    return json.dumps(camel_keys(_plain(value)), indent=2, ensure_ascii=False, default=str)


def print_json(value: Any) -> None:
    """Print ``value`` as the CLI's JSON on stdout (messages go to stderr)."""
    print(to_json(value))
