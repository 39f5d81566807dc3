"""Liveness and readiness: /healthz says the process runs, /readyz that its dependencies answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from shared.runtime import Runtime, get_runtime

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"down: {type(exc).__name__}: {exc}"[:300]
    return "ok"


async def _postgres(runtime: Runtime) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _redis(runtime: Runtime) -> None:
    await runtime.redis.ping()  # type: ignore[misc]


async def _kafka(runtime: Runtime) -> None:
    await runtime.producer.client.fetch_all_metadata()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    kafka, redis, postgres = await asyncio.gather(
        _check(_kafka(runtime)), _check(_redis(runtime)), _check(_postgres(runtime))
    )
    checks = {"kafka": kafka, "redis": redis, "postgres": postgres}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
