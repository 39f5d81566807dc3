"""Registration (REG-1..6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from services.identity.entrypoints.dependencies import context
from services.identity.entrypoints.routers.schemas import RegisterIn
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.registration import Registration, register

router = APIRouter(tags=["accounts"])


@router.post("/accounts", status_code=201)
async def register_account(
    body: RegisterIn, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Register (REG-1..6): email + password + email code, or a provider assertion; always a
    secure phone proven by its code."""
    done = await register(ctx, Registration(**body.model_dump()))
    return {
        "account_id": done.account_id,
        "status": "active",
        "method": done.method.value,
        "login": done.login,
        "registered_at": done.registered_at,
    }
