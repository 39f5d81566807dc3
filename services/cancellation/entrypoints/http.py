"""Cancellation's HTTP API under /v1, assembled from one router per resource (routers/)."""

from __future__ import annotations

from fastapi import APIRouter

from services.cancellation.entrypoints.routers import cancellation, operator
from shared.errors import error_responses

# Every refusal has the shared error shape; documented so clients can rely on it.
ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)

ROUTERS: list[APIRouter] = [cancellation.router, operator.router]


def v1(routers: list[APIRouter]) -> APIRouter:
    assembled = APIRouter(prefix="/v1", responses=ERRORS)
    for router in routers:
        assembled.include_router(router)
    return assembled


router = v1(ROUTERS)

__all__ = ["ERRORS", "ROUTERS", "router"]
