"""One-time codes: to a new destination, or to the account's own secure channels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from services.identity.domain.codes import CodePurpose
from services.identity.entrypoints.dependencies import account_id_of, caller, client_ip, context
from services.identity.entrypoints.routers.schemas import ChannelIn, CodeIn
from services.identity.service_layer import codes as code_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["codes"])


@router.post("/codes", status_code=202)
async def request_code(
    body: CodeIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Send a one-time code to a new destination (CODE-1..3), after a captcha and within the
    client, number-prefix and global budgets. Codes for an account's own secure channels come
    from /v1/me/verification-codes and /v1/password-resets."""
    return await code_cases.request_code(
        ctx,
        code_cases.CodeRequest(
            purpose=CodePurpose(body.purpose),
            channel=body.channel,
            destination=body.destination,
            captcha=body.captcha_ticket,
            client_ip=client_ip(request),
            language=body.language,
        ),
    )


@router.post("/me/verification-codes", status_code=202)
async def request_verification_code(
    body: ChannelIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """PROT-2: a verify_identity code to the account's secure phone or secure email."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id_of(who))
    return await code_cases.send_code(
        ctx,
        CodePurpose.VERIFY_IDENTITY,
        body.channel,
        code_cases.secure_destination(account, body.channel),
        language=account.language,
        account_id=who.account_id,
    )
