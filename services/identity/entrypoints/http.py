"""Identity's HTTP API under /v1, assembled from one router per resource (routers/).

A new resource is a module in routers/ exposing `router`, plus one entry in ROUTERS; the
entries' order is the order of the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from services.identity.entrypoints.routers import (
    accounts,
    appeals_operator,
    codes,
    dev,
    devices,
    flows,
    login_methods,
    me,
    mfa,
    operator,
    password,
    projects,
    recovery,
    secure_channels,
    security,
    sessions,
)
from shared.errors import error_responses

# Every refusal has the shared error shape; documented so clients (and the schemathesis run)
# can rely on it.
ERRORS = error_responses(400, 401, 403, 404, 409, 410, 413, 422, 423, 429, 503)

ROUTERS: list[APIRouter] = [
    codes.router,
    accounts.router,
    sessions.router,
    flows.router,
    me.router,
    devices.router,
    security.router,
    mfa.router,
    login_methods.router,
    password.router,
    secure_channels.router,
    operator.router,
    projects.router,
    recovery.router,
    appeals_operator.router,
]
DEV_ROUTERS: list[APIRouter] = [dev.router]  # DEV_MODE only: the fakes' minting endpoints


def v1(routers: list[APIRouter]) -> APIRouter:
    """The routers under /v1, every route documenting the shared error responses."""
    assembled = APIRouter(prefix="/v1", responses=ERRORS)
    for router in routers:
        assembled.include_router(router)
    return assembled


router = v1(ROUTERS)
dev_router = v1(DEV_ROUTERS)

__all__ = ["ERRORS", "ROUTERS", "dev_router", "router"]
