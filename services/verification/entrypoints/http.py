"""Verification's HTTP API under /v1, assembled from one router per resource (routers/).

A new resource is a module in routers/ exposing `router`, plus one entry in ROUTERS; the
entries' order is the order of the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from services.verification.entrypoints.routers import (
    changes,
    dev,
    enterprise,
    operator,
    real_name,
)
from shared.errors import error_responses

# Every refusal has the shared error shape; documented so clients can rely on it.
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503, 504)

ROUTERS: list[APIRouter] = [
    real_name.router,
    enterprise.router,
    changes.router,
    operator.router,
]
DEV_ROUTERS: list[APIRouter] = [dev.router]  # DEV_MODE only: drives the fake provider


def v1(routers: list[APIRouter]) -> APIRouter:
    """The routers under /v1, every route documenting the shared error responses."""
    assembled = APIRouter(prefix="/v1", responses=ERRORS)
    for router in routers:
        assembled.include_router(router)
    return assembled


router = v1(ROUTERS)
dev_router = v1(DEV_ROUTERS)

__all__ = ["ERRORS", "ROUTERS", "dev_router", "router"]
