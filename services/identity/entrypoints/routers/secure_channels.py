"""The secure phone and the secure email (SEC-1..3)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.entrypoints.routers.schemas import SecureEmailIn, SecurePhoneIn, proof_of
from services.identity.service_layer import accounts as account_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["secure channels"])


@router.put("/me/secure-phone")
async def change_secure_phone(
    body: SecurePhoneIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """SEC-2 (and SEC-1: at most 5 accounts per secure phone)."""
    masked = await account_cases.change_secure_phone(
        ctx,
        account_id_of(who),
        proof_of(body.verification),
        body.new_phone,
        body.new_phone_code,
        who,
    )
    return {"secure_phone": masked}


@router.put("/me/secure-email")
async def change_secure_email(
    body: SecureEmailIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """SEC-3: old and new secure email both proven."""
    masked = await account_cases.change_secure_email(
        ctx, account_id_of(who), body.verification.proof(), body.new_email, body.new_email_code
    )
    return {"secure_email": masked}
