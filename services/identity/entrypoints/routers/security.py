"""Security settings (PROT-1): login protection and operation protection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field, StrictBool

from services.identity.entrypoints.dependencies import caller, context
from services.identity.entrypoints.routers.schemas import ProofIn, proof_of
from services.identity.service_layer import protection as protection_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller
from shared.inputs import RequestModel

router = APIRouter(tags=["security settings"])


class ProtectionIn(RequestModel):
    login_protection: StrictBool | None = Field(
        default=None, description="LOGIN-5: a second factor after every password or provider login."
    )
    operation_protection: StrictBool | None = Field(
        default=None,
        description="PROT-1: a second factor before a password change (the other protected "
        "operations always ask for one).",
    )
    proof: ProofIn | None = Field(
        default=None,
        description="Turning a protection off: identity verification, unless the session "
        "stepped up in the last STEP_UP_MAX_AGE_S.",
    )


def _view(account: Any) -> dict[str, bool]:
    return {
        "login_protection": account.login_protection,
        "operation_protection": account.operation_protection,
    }


@router.get("/me/protection")
async def my_protection(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, bool]:
    return _view(await protection_cases.account_of(ctx, who))


@router.put("/me/protection")
async def set_protection(
    body: ProtectionIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, bool]:
    """Turn login or operation protection on or off; turning one off needs verification
    and notifies the owner's secure phone and email."""
    account = await protection_cases.set_protection(
        ctx,
        who,
        login=body.login_protection,
        operation=body.operation_protection,
        proof=proof_of(body.proof),
    )
    return _view(account)
