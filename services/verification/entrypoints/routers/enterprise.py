"""Enterprise verification of the account (RN-5..RN-8, RN-15): submit, enter the remittance's
amount, cancel a waiting recharge or remittance."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.verification.entrypoints.dependencies import context, stepped_up_caller
from services.verification.entrypoints.routers.real_name import reply
from services.verification.entrypoints.routers.schemas import (
    EnterpriseIn,
    RealNameOut,
    RemittanceAmountIn,
)
from services.verification.service_layer import enterprise
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.real_names import real_name_of
from shared.auth import Caller

router = APIRouter(prefix="/real-name/enterprise", tags=["enterprise"])


@router.post("", status_code=201)
async def verify_enterprise(
    body: EnterpriseIn,
    who: Caller = Depends(stepped_up_caller),
    ctx: VerificationContext = Depends(context),
) -> RealNameOut:
    """RN-5: verify the account as an enterprise: instantly (WeChat official platform,
    legal-person WeChat scan or face), or start a recharge (pay `pending.recharge_amount`
    from the corporate account within 7 days) or a remittance (enter the amount sent to the
    bank account within 7 days). Needs a fresh step-up."""
    await enterprise.submit_enterprise(
        ctx,
        who.account_id,
        enterprise.EnterpriseSubmission(
            method=body.method,
            region=body.region,
            name=body.name,
            uscc=body.uscc,
            legal_person_name=body.legal_person_name,
            legal_person_region=body.legal_person_region,
            legal_person_document=body.legal_person_document,
            licence_issued_on=body.licence_issued_on,
            bank_name=body.bank_name,
            bank_account_number=body.bank_account_number,
        ),
    )
    return reply(await real_name_of(ctx, who.account_id))


@router.post("/remittance/amount")
async def enter_remittance_amount(
    body: RemittanceAmountIn,
    who: Caller = Depends(stepped_up_caller),
    ctx: VerificationContext = Depends(context),
) -> RealNameOut:
    """RN-5: the amount the platform sent; 2 wrong tries end the remittance."""
    await enterprise.enter_remittance_amount(ctx, who.account_id, body.amount)
    return reply(await real_name_of(ctx, who.account_id))


@router.delete("/pending")
async def cancel_pending(
    who: Caller = Depends(stepped_up_caller), ctx: VerificationContext = Depends(context)
) -> RealNameOut:
    """End the waiting recharge or remittance (e.g. to correct the code, RN-8)."""
    await enterprise.cancel_pending(ctx, who.account_id)
    return reply(await real_name_of(ctx, who.account_id))
