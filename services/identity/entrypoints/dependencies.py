"""FastAPI dependencies of identity's routes: the context and the authenticated caller."""

from __future__ import annotations

import redis.exceptions
from fastapi import Depends, Header, Request

from services.identity.domain.errors import LoginUnavailable
from services.identity.service_layer.context import IdentityContext, context_of
from shared.auth import Caller, bearer_token
from shared.runtime import Runtime, get_runtime


async def context(runtime: Runtime = Depends(get_runtime)) -> IdentityContext:
    return context_of(runtime)


async def caller(
    authorization: str | None = Header(default=None),
    ctx: IdentityContext = Depends(context),
) -> Caller:
    """A live session's caller; 401 otherwise, 503 when Redis cannot tell."""
    try:
        return await ctx.sessions.authenticate(bearer_token(authorization))
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        raise LoginUnavailable("Sessions cannot be checked right now; try again shortly.") from None


async def optional_caller(
    authorization: str | None = Header(default=None),
    ctx: IdentityContext = Depends(context),
) -> Caller | None:
    """The caller when the request carries a token (a step-up flow's session), else None
    (a login flow, which has no session yet). A token that is sent must be valid."""
    if authorization is None:
        return None
    return await caller(authorization, ctx)


def account_id_of(who: Caller) -> int:
    return int(who.account_id)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
