"""Operator actions on accounts (operator credential; every call audit-logged)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from services.identity.entrypoints.dependencies import context
from services.identity.entrypoints.routers.schemas import OperatorReasonIn
from services.identity.service_layer import accounts as account_cases
from services.identity.service_layer import mfa as mfa_cases
from services.identity.service_layer.context import IdentityContext
from shared.operators import Operator, require_operator

router = APIRouter(tags=["operator"])


@router.post("/operator/accounts/{account_id}/unlock")
async def unlock_account(
    account_id: int = Path(ge=1, le=2**63 - 1),
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Lift the account's password lock and forget its failures (support, after checking who
    asks). Needs the operator credential; every call is audit-logged."""
    unlocked = await account_cases.unlock_password_login(ctx, account_id, operator.operator_id)
    return {"account_id": str(account_id), "unlocked": unlocked}


@router.post("/operator/accounts/{account_id}/mfa/unbind")
async def unbind_mfa(
    body: OperatorReasonIn,
    account_id: int = Path(ge=1, le=2**63 - 1),
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """MFA-4: unbind a lost device after a manual review; the operator and the reason are
    kept in the audit trail (operator_actions) and the owner is notified (MfaUnbound)."""
    await mfa_cases.operator_unbind(
        ctx, account_id, operator_id=operator.operator_id, reason=body.reason
    )
    return {"account_id": str(account_id), "mfa": "none"}
