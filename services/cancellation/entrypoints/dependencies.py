"""FastAPI dependencies of cancellation's routes: the runtime, the caller, the step-up."""

from __future__ import annotations

from fastapi import Depends, Header, Request

from services.cancellation.domain.errors import LoginRequired
from services.cancellation.service_layer.applications import settings_of
from shared.auth import Caller, Unauthenticated, require_caller, require_step_up
from shared.runtime import Runtime, get_runtime


async def logged_in_caller(
    request: Request, authorization: str | None = Header(default=None)
) -> Caller:
    """CAN-9: only the logged-in account itself; no token, or a bad one, is LOGIN_REQUIRED
    (401) naming identity's recovery for an account that cannot log in (REC-2)."""
    try:
        return await require_caller(request, authorization)
    except Unauthenticated as exc:
        raise LoginRequired(exc.message) from exc


async def stepped_up_caller(
    who: Caller = Depends(logged_in_caller), runtime: Runtime = Depends(get_runtime)
) -> Caller:
    """CAN-1: applying needs a second factor proven to identity within STEP_UP_MAX_AGE_S
    (the token's step_up_at), else 403 STEP_UP_REQUIRED."""
    require_step_up(
        who, settings_of(runtime).step_up_max_age_s, now=runtime.clock.now().timestamp()
    )
    return who
