"""Operators decide recovery appeals (REC-2): the queue, approve, reject; every decision is
kept in operator_actions (who, what, why), every call audit-logged."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from services.identity.domain.recovery import AppealStatus
from services.identity.entrypoints.dependencies import context
from services.identity.entrypoints.routers.schemas import DecisionIn
from services.identity.service_layer import recovery as recovery_cases
from services.identity.service_layer.context import IdentityContext
from shared.operators import Operator, require_operator

router = APIRouter(tags=["operator"])


@router.get("/operator/appeals")
async def list_appeals(
    status: Literal["pending", "approved", "rejected"] = "pending",
    limit: int = Query(default=50, ge=1, le=100),
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Appeals in a status: pending ones oldest first (the queue), decided ones newest first;
    in clear, with the applicant's statement, email and address."""
    return {"appeals": await recovery_cases.list_appeals(ctx, AppealStatus(status), limit)}


@router.post("/operator/appeals/{appeal_id}/approve")
async def approve_appeal(
    appeal_id: uuid.UUID,
    body: DecisionIn | None = None,
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Bind the appeal's email as the login email with its password (replacing the account's
    email method), reset MFA when asked, end every session and every device's trust."""
    reason = body.reason if body is not None else None
    return await recovery_cases.approve(
        ctx, appeal_id, operator_id=operator.operator_id, reason=reason
    )


@router.post("/operator/appeals/{appeal_id}/reject")
async def reject_appeal(
    appeal_id: uuid.UUID,
    body: DecisionIn,
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Reject with a reason (shown to the applicant); nothing of the account changes."""
    return await recovery_cases.reject(
        ctx, appeal_id, operator_id=operator.operator_id, reason=body.reason
    )
