"""PostgreSQL plumbing: the service's own database, its engine and its migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_

from shared.logging import get_logger
from shared.migrations import migrations_config

log = get_logger(__name__)


def _plain_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


async def ensure_database(server_dsn: str, name: str) -> bool:
    """Create the database if it does not exist; True when it was created."""
    conn = await asyncpg.connect(f"{_plain_dsn(server_dsn).rstrip('/')}/postgres")
    try:
        # Instances starting together would race to CREATE DATABASE, and the loser gets a
        # unique violation on pg_database rather than DuplicateDatabaseError: serialise them.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"create-database:{name}")
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False  # created a moment ago by a process that does not take the lock
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


def _ping(dbapi_connection: Any) -> bool:
    """One round trip (`;`) to the backend. The asyncpg dialect's own ping wraps it in BEGIN
    and ROLLBACK (three round trips, for PgBouncer's transaction mode, which we do not run
    behind), at every checkout: 5-10% of a notifier batch's or a login's statements."""
    try:
        await_(dbapi_connection.driver_connection.fetchrow(";"))
    except Exception as error:
        # The dialect's translation to its DBAPI errors, so that the pool recognises a
        # disconnect and replaces the connection.
        dbapi_connection._handle_exception(error)
    return True


def make_engine(url: str) -> AsyncEngine:
    """hide_parameters: a failing statement's bound values (codes, destinations) never reach
    the error's text, so neither a log line nor an HTTP 500 nor a dead letter shows them.
    pool_pre_ping stays, as one round trip (`_ping`): checking only whether asyncpg saw the
    socket close was tried and lost a race with a terminated backend
    (tests/integration/test_db_reconnect.py failed once in the whole suite)."""
    engine = create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
    )
    engine.dialect.do_ping = _ping  # type: ignore[method-assign]
    return engine


def _upgrade(database_url: str, migrations: Path) -> None:
    command.upgrade(migrations_config(database_url, migrations), "head")


async def migrate(database_url: str, migrations: Path) -> None:
    """Apply the service's Alembic migrations up to head (in a thread: Alembic is sync)."""
    await asyncio.to_thread(_upgrade, database_url, migrations)
