"""Recovery without a login (REC-1, REC-2): find the accounts of a secure phone, appeal to
bind a new login email."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from services.identity.entrypoints.dependencies import client_ip, context
from services.identity.entrypoints.routers.schemas import AppealIn, FindAccountsIn
from services.identity.service_layer import recovery as recovery_cases
from services.identity.service_layer.context import IdentityContext

router = APIRouter(tags=["recovery"])


@router.post("/recovery/accounts")
async def find_accounts(
    body: FindAccountsIn, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """REC-1: the accounts whose secure phone this is, masked (account id, login methods,
    registration date), after the code sent to the phone (`POST /v1/codes`, purpose
    `find_accounts`, channel `sms`); an empty list when there are none."""
    found = await recovery_cases.find_accounts(ctx, body.phone, body.code)
    return {"accounts": found}


@router.post("/recovery/appeals", status_code=202)
async def file_appeal(
    body: AppealIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """REC-2: appeal to bind a new login email (proven by the code sent to it, purpose
    `appeal_email`) with a new password, optionally resetting MFA; an operator decides and
    the email hears the decision. An unknown account id is answered like a real one."""
    return await recovery_cases.file_appeal(
        ctx,
        recovery_cases.Appeal(
            account_id=int(body.account_id),
            email=body.email,
            email_code=body.email_code,
            password=body.password,
            reset_mfa=body.reset_mfa,
            statement=body.statement,
            client_ip=client_ip(request),
        ),
    )
