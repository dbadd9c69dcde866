"""What the runtime commands share: configuration, an engine session, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from adapters.codec import CodecError
from adapters.storage import StorageError
from dee.config import EngineConfig, load_config
from dee.engine import Engine
from dee.errors import DocumentError, EngineError
from dee.strict_decode import Refused, check_values, decode_json

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
    try:
        return asyncio.run(coro)
    except (StorageError, CodecError) as exc:  # a codec error names the key id concerned
        raise EngineError([str(exc)]) from None


@asynccontextmanager
async def engine_session(config_file: Path | None) -> AsyncIterator[Engine]:
    config = load_config(config_file)
    engine = await Engine.connect(config)
    try:
        yield engine
    finally:
        await engine.close()


def config_of(config_file: Path | None) -> EngineConfig:
    return load_config(config_file)


def to_json(value: Any) -> str:
    def plain(obj: Any) -> Any:
        if is_dataclass(obj) and not isinstance(obj, type):
            return {k: plain(v) for k, v in asdict(obj).items()}
        if isinstance(obj, datetime):
            return obj.isoformat()
        if isinstance(obj, dict):
            return {k: plain(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [plain(v) for v in obj]
        return obj

    return json.dumps(plain(value), indent=2, default=str)
