"""The password: change it (PWD-2), or reset it through a secure channel (PWD-3)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.identity.entrypoints.dependencies import account_id_of, caller, client_ip, context
from services.identity.entrypoints.routers.schemas import (
    PasswordChangeIn,
    ResetConfirmIn,
    ResetRequestIn,
    proof_of,
)
from services.identity.service_layer import accounts as account_cases
from services.identity.service_layer import login as login_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["password"])


@router.put("/me/password", status_code=204)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> None:
    """PWD-2: effective at once; every other session of the account ends and no device
    stays trusted. A wrong current password counts like a wrong login password
    (LOGIN-2..4). Under operation protection it needs verification too (PROT-1)."""
    await account_cases.change_password(
        ctx,
        account_id_of(who),
        body.current_password,
        body.new_password,
        caller=who,
        proof=proof_of(body.proof),
        client=login_cases.Client(ip=client_ip(request)),
    )


@router.post("/password-resets", status_code=202)
async def request_reset(
    body: ResetRequestIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """PWD-3: a code to the secure phone or email; the same answer whether the email exists."""
    await account_cases.request_password_reset(
        ctx, body.email, body.channel, client_ip=client_ip(request)
    )
    return {"status": "if the account exists, a code is on its way"}


@router.post("/password-resets/confirm", status_code=204)
async def confirm_reset(body: ResetConfirmIn, ctx: IdentityContext = Depends(context)) -> None:
    await account_cases.reset_password(ctx, body.email, body.channel, body.code, body.new_password)
