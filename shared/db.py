"""PostgreSQL plumbing: the service's own database, its engine and its migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.logging import get_logger
from shared.migrations import migrations_config

log = get_logger(__name__)


def _plain_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


async def ensure_database(server_dsn: str, name: str) -> bool:
    """Create the database if it does not exist; True when it was created."""
    conn = await asyncpg.connect(f"{_plain_dsn(server_dsn).rstrip('/')}/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False  # another instance created it a moment ago
        log.info("database_created", database=name)
        return True
    finally:
        await conn.close()


async def drop_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(f"{_plain_dsn(server_dsn).rstrip('/')}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def make_engine(url: str) -> AsyncEngine:
    """hide_parameters: a failing statement's bound values (codes, destinations) never reach
    the error's text, so neither a log line nor an HTTP 500 nor a dead letter shows them.

    No pool_pre_ping: with asyncpg it costs three round trips (BEGIN, a ping, ROLLBACK) on
    every checkout, a quarter of the statements of a password login. Instead a checkout
    drops a connection whose server end is gone (asyncpg sees the socket close when
    PostgreSQL restarts or terminates the backend) and the pool hands out a fresh one; a
    connection that dies silently fails its statement once and the pool is invalidated."""
    engine = create_async_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this connection")


def _upgrade(database_url: str, migrations: Path) -> None:
    command.upgrade(migrations_config(database_url, migrations), "head")


async def migrate(database_url: str, migrations: Path) -> None:
    """Apply the service's Alembic migrations up to head (in a thread: Alembic is sync)."""
    await asyncio.to_thread(_upgrade, database_url, migrations)
