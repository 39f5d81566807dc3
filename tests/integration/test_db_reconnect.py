"""A pooled connection whose server end is gone is never handed out (shared/db.py,
pool_pre_ping): after PostgreSQL terminates a backend (a restart, a failover, an operator),
the next statement runs on a fresh connection instead of failing. Guards the ping's cost
against an optimisation that drops it: a check of the socket alone lost this race."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa

from devkit.testing.infra import Scope
from devkit.testing.waiting import eventually
from shared.db import drop_database, ensure_database, make_engine
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_a_connection_the_server_closed_is_replaced_at_checkout(scope: Scope) -> None:
    settings = scope.settings(ServiceSettings, service_name="reconnect")
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine = make_engine(settings.database_url)
    admin = await asyncpg.connect(f"{settings.postgres_dsn}/postgres")
    try:
        async with engine.connect() as conn:
            before = await conn.scalar(sa.select(sa.func.pg_backend_pid()))
        await admin.execute("SELECT pg_terminate_backend($1)", before)

        async def gone() -> bool:
            alive: int = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", before
            )
            return alive == 0

        await eventually(gone, what="the backend terminated")
        async with engine.connect() as conn:  # the pooled one is dead: a new one, no error
            after = await conn.scalar(sa.select(sa.func.pg_backend_pid()))
        assert after != before
    finally:
        await admin.close()
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)
