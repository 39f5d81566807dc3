"""/healthz and /readyz against real and unreachable dependencies."""

from __future__ import annotations

import pytest

from devkit.broker import free_port
from devkit.testing.infra import Scope
from devkit.testing.services import running
from services.cancellation.main import spec
from services.cancellation.settings import CancellationSettings

pytestmark = pytest.mark.integration


async def test_ready_when_kafka_redis_and_postgres_answer(scope: Scope) -> None:
    async with running(spec(scope.settings(CancellationSettings))) as (_, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"kafka": "ok", "redis": "ok", "postgres": "ok"},
        }


async def test_not_ready_names_what_is_down(scope: Scope) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    settings = scope.settings(CancellationSettings, redis_url=dead_redis)
    async with running(spec(settings)) as (_, client):
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["redis"].startswith("down:")
        assert body["checks"]["kafka"] == body["checks"]["postgres"] == "ok"
        assert (await client.get("/healthz")).status_code == 200
