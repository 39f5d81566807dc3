"""Sessions: log in, refresh, log out, end the other sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from services.identity.entrypoints.dependencies import caller, client_ip, context
from services.identity.entrypoints.routers.schemas import LoginIn, RefreshIn
from services.identity.service_layer import login as login_cases
from services.identity.service_layer import sessions as session_cases
from services.identity.service_layer.context import IdentityContext
from services.identity.strategies.base import Presented
from services.identity.strategies.methods import BY_LOGIN_NAME
from shared.auth import Caller

router = APIRouter(tags=["sessions"])


def logged_in(done: login_cases.LoggedIn) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "account_id": done.account_id,
        "access_token": done.access_token,
        "token_type": "Bearer",
        "expires_in_s": done.expires_in_s,
        "refresh_token": done.refresh_token,
        "session_ends_at": done.session_ends_at,
    }
    if done.device_credential is not None:
        reply["device_credential"] = done.device_credential
    if done.trusted_until is not None:
        reply["device_trusted_until"] = done.trusted_until
    return reply


@router.post(
    "/sessions",
    status_code=201,
    responses={
        202: {
            "description": "LOGIN-5: the first factor was right and login protection is on: "
            "complete the flow with a second factor (POST /v1/flows/{id}/complete)."
        }
    },
)
async def log_in(
    body: LoginIn, request: Request, response: Response, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Password login (LOGIN-1..4) or a provider assertion; a phone is never an identifier.
    A device the account does not know gets a `device_credential` to present next time
    (LOGIN-6)."""
    client = login_cases.Client(
        device_id=body.device_id, ip=client_ip(request), device_credential=body.device_credential
    )
    presented = Presented(
        email=body.email,
        password=body.password,
        assertion=body.assertion,
        captcha=body.captcha_ticket,
        account_id=int(body.account_id) if body.account_id else None,
    )
    done = await BY_LOGIN_NAME[body.method].log_in(ctx, presented, client)
    if isinstance(done, login_cases.SecondFactorRequired):
        response.status_code = 202
        return {"status": "second_factor_required", "flow": done.flow.as_dict()}
    return logged_in(done)


@router.post("/sessions/refresh")
async def refresh(body: RefreshIn, ctx: IdentityContext = Depends(context)) -> dict[str, Any]:
    """A fresh access token and the next refresh token; each refresh token works once, and
    presenting a used one ends the session (REFRESH_TOKEN_REUSED)."""
    done = await session_cases.refresh_session(ctx, body.refresh_token)
    return {
        "account_id": done.caller.account_id,
        "access_token": done.access_token,
        "token_type": "Bearer",
        "expires_in_s": ctx.sessions.access_ttl_s,
        "refresh_token": done.refresh_token,
        "session_ends_at": done.ends_at,
    }


@router.delete("/sessions/current", status_code=204)
async def log_out(who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)) -> None:
    await ctx.sessions.close(who)


@router.delete("/sessions/others")
async def end_other_sessions(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, int]:
    """End every other session of the account (a lost phone, a shared computer)."""
    return {"ended": await session_cases.end_other_sessions(ctx, who)}
