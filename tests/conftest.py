"""Fixtures every test tier shares: one broker per run, a private namespace per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from devkit.testing.infra import Infra, Scope, provide_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide_infra() as servers:
        yield servers
        asyncio.run(_cleanup(servers))


async def _cleanup(servers: Infra) -> None:
    """Drop this run's databases and Redis keys: runs never see each other's data."""
    prefix = f"t{servers.run_id}_"
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(f"{servers.postgres_dsn}/postgres")
        try:
            names = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
            )
            for row in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        finally:
            await conn.close()
    client = aioredis.Redis.from_url(servers.redis_url)
    with contextlib.suppress(OSError, aioredis.RedisError):
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
    await client.aclose()


@pytest.fixture
def scope(infra: Infra) -> Scope:
    """Databases, topics and Redis keys of this test only."""
    return infra.scope()


@pytest.fixture
async def pg(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(f"{infra.postgres_dsn}/postgres")
    yield conn
    await conn.close()
