"""Kill -9 between the commit and the publish: on restart the event goes out, once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.events import REGISTRY, decode
from shared.testing.infra import Scope
from shared.testing.kafka import read_all
from shared.testing.services import ServiceProcess
from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_an_event_committed_before_a_crash_is_published_once_after_restart(
    scope: Scope, tmp_path: Path
) -> None:
    # The relay is off, so the process dies with the event committed and not yet published.
    crashing = ServiceProcess("identity", scope.env(OUTBOX_RELAY_ENABLED="false"), tmp_path)
    crashing.start().wait_ready()
    try:
        async with httpx.AsyncClient(base_url=crashing.url) as client:
            reply = await client.post("/v1/accounts", json={"email": "eve@example.com"})
        assert reply.status_code == 201
        account_id = reply.json()["account_id"]
    finally:
        crashing.kill()

    db = f"{scope.infra.postgres_dsn}/{scope.prefix}identity"
    conn = await asyncpg.connect(db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 2
    finally:
        await conn.close()
    assert await read_all(scope.infra.kafka, scope.topic("identity.events")) == []

    restarted = ServiceProcess("identity", scope.env(), tmp_path)
    restarted.start().wait_ready()
    try:

        async def all_sent() -> bool:
            conn = await asyncpg.connect(db)
            try:
                unsent: int = await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
                )
                return unsent == 0
            finally:
                await conn.close()

        await eventually(all_sent, what="the outbox drained after restart")
        records = await read_all(scope.infra.kafka, scope.topic("identity.events"))
        events = [decode(r.value, REGISTRY) for r in records]
        assert [(e.type, e.account_id) for e in events] == [("AccountRegistered", account_id)]
    finally:
        restarted.stop()
