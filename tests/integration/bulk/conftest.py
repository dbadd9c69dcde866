"""Fixtures of the bulk-action tests: the dev server (visibility queries need it), a
mail relay that refuses until told otherwise, an engine and the worker DEE ships."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dee.config import EngineConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine
from dee.worker import worker_for
from tests.integration.bulk.wave import OutageSink, outage_sink, wave_config


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
        yield dev


@pytest.fixture
def sink() -> Iterator[OutageSink]:
    with outage_sink() as relay:
        yield relay


@pytest.fixture
def config(tmp_path: Path, server: DevServer, sink: OutageSink) -> EngineConfig:
    return wave_config(server, sink, f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}")


@pytest.fixture
async def engine(config: EngineConfig) -> AsyncIterator[Engine]:
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    try:
        async with worker_for(config, client, database=engine.database) as worker, worker:
            yield engine
    finally:
        await engine.close()
