"""Kill -9 between the commit and the publish: on restart the event goes out, once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from devkit.testing.accounts import TEST_PASSWORD, register_by_email
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.waiting import eventually
from shared.events import REGISTRY, LoginSucceeded, decode

pytestmark = pytest.mark.e2e
# DEV_MODE: the dev captcha route, as /v1/codes needs a solved captcha.
FAST_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024, "DEV_MODE": "true"}


async def logins_published(scope: Scope, account_id: str) -> list[object]:
    records = await read_all(scope.infra.kafka, scope.topic("identity.events"))
    events = [decode(r.value, REGISTRY) for r in records]
    return [
        e for e in events if e.account_id == account_id and isinstance(e.payload, LoginSucceeded)
    ]


async def test_an_event_committed_before_a_crash_is_published_once_after_restart(
    scope: Scope, tmp_path: Path
) -> None:
    first = ServiceProcess("identity", scope.env(**FAST_HASH), tmp_path)
    first.start().wait_ready()
    try:
        async with httpx.AsyncClient(base_url=first.url) as client:
            reply = await register_by_email(
                client,
                kafka=scope.infra.kafka,
                topic_prefix=scope.prefix,
                email="eve@example.com",
                phone="+8613900000301",
            )
        assert reply.status_code == 201, reply.text
        account_id = reply.json()["account_id"]
    finally:
        first.stop()

    # The relay is off, so the process dies with LoginSucceeded committed and not published.
    crashing = ServiceProcess(
        "identity", scope.env(OUTBOX_RELAY_ENABLED="false", **FAST_HASH), tmp_path
    )
    crashing.start().wait_ready()
    try:
        async with httpx.AsyncClient(base_url=crashing.url) as client:
            login = await client.post(
                "/v1/sessions",
                json={"method": "password", "email": "eve@example.com", "password": TEST_PASSWORD},
            )
        assert login.status_code == 201, login.text
    finally:
        crashing.kill()

    db = f"{scope.infra.postgres_dsn}/{scope.prefix}identity"
    conn = await asyncpg.connect(db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1
    finally:
        await conn.close()
    assert await logins_published(scope, account_id) == []

    restarted = ServiceProcess("identity", scope.env(**FAST_HASH), tmp_path)
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
        assert len(await logins_published(scope, account_id)) == 1
    finally:
        restarted.stop()
