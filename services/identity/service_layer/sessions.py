"""Refreshing a session and ending the account's other sessions (PWD-2; ASVS 3.3)."""

from __future__ import annotations

import redis.exceptions

from services.identity.domain.errors import LoginUnavailable
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.ports import Refreshed
from shared.auth import Caller

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


async def refresh_session(ctx: IdentityContext, refresh_token: str) -> Refreshed:
    """A new access token and the next refresh token; the presented one is spent."""
    try:
        return await ctx.sessions.refresh(refresh_token, ctx.now())
    except REDIS_DOWN:
        raise LoginUnavailable("Sessions cannot be refreshed now; try again shortly.") from None


async def end_other_sessions(ctx: IdentityContext, who: Caller) -> int:
    """Every session of the caller's account but the caller's own ends; returns how many."""
    return await ctx.sessions.close_all(who.account_id, keep=who.session_id)
