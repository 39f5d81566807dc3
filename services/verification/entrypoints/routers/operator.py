"""Operator endpoints of verification: one enterprise's account limit (RN-7), the review of
enterprise changes (RN-11). Every call
audit-logged (shared.operators), every decision kept in operator_actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from services.verification.domain.change_requests import ChangeState
from services.verification.entrypoints.dependencies import context
from services.verification.entrypoints.routers.changes import change_out
from services.verification.entrypoints.routers.schemas import (
    ChangeApprovalIn,
    ChangeDecisionIn,
    ChangeListOut,
    ChangeOut,
    EnterpriseLimitIn,
    EnterpriseLimitOut,
)
from services.verification.service_layer import change_requests
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.enterprise_limits import set_enterprise_limit
from shared.operators import Operator, require_operator

router = APIRouter(prefix="/operator", tags=["operator"])


@router.put("/enterprises/{uscc}/limit")
async def put_enterprise_limit(
    body: EnterpriseLimitIn,
    uscc: str = Path(max_length=32),
    operator: Operator = Depends(require_operator),
    ctx: VerificationContext = Depends(context),
) -> EnterpriseLimitOut:
    """RN-7: how many accounts this enterprise may verify (null: the default)."""
    done = await set_enterprise_limit(
        ctx, uscc, body.limit, operator_id=operator.operator_id, reason=body.reason
    )
    return EnterpriseLimitOut(
        uscc=done.uscc,
        limit=done.limit,
        default=done.default,
        overridden=done.overridden,
        previous=done.previous,
        counted=done.counted,
    )


@router.get("/changes")
async def list_changes(
    state: ChangeState = Query(ChangeState.UNDER_REVIEW),
    after_id: int = Query(0, ge=0, le=2**62),
    limit: int = Query(50, ge=1, le=200),
    operator: Operator = Depends(require_operator),
    ctx: VerificationContext = Depends(context),
) -> ChangeListOut:
    """RN-11: enterprise changes in a state, oldest first (the review queue); `overdue`
    marks those past their review period. Page with `after_id` (the last id seen)."""
    found = await change_requests.review_queue(ctx, state, after_id=after_id, limit=limit)
    return ChangeListOut(changes=[change_out(r) for r in found])


@router.post("/changes/{change_id}/approve")
async def approve_change(
    body: ChangeApprovalIn,
    change_id: int = Path(ge=1, le=2**62),
    operator: Operator = Depends(require_operator),
    ctx: VerificationContext = Depends(context),
) -> ChangeOut:
    """RN-11: the new data applies at once (RealNameChanged, RealNameVerified); audited."""
    done = await change_requests.approve_change(
        ctx, change_id, operator_id=operator.operator_id, reason=body.reason
    )
    return change_out(done)


@router.post("/changes/{change_id}/reject")
async def reject_change(
    body: ChangeDecisionIn,
    change_id: int = Path(ge=1, le=2**62),
    operator: Operator = Depends(require_operator),
    ctx: VerificationContext = Depends(context),
) -> ChangeOut:
    """RN-11: the old data stays; the reason is kept and audited."""
    done = await change_requests.reject_change(
        ctx, change_id, operator_id=operator.operator_id, reason=body.reason
    )
    return change_out(done)
