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

from adapters.storage import StorageError
from dee.config import EngineConfig, load_config
from dee.engine import Engine
from dee.errors import EngineError

T = TypeVar("T")

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
    except StorageError as exc:
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
