"""RN-11: the account's enterprise changes: submit one for review, see them, withdraw the
one under review."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.verification.adapters.change_requests import ChangeRequest
from services.verification.entrypoints.dependencies import context, stepped_up_caller
from services.verification.entrypoints.routers.schemas import ChangeIn, ChangeListOut, ChangeOut
from services.verification.service_layer import change_requests
from services.verification.service_layer.context import VerificationContext
from shared.auth import Caller, require_caller

router = APIRouter(prefix="/real-name/changes", tags=["changes"])


def change_out(request: ChangeRequest) -> ChangeOut:
    return ChangeOut(
        id=request.id,
        account_id=request.account_id,
        kind=request.kind,
        state=request.state,
        name=request.name,
        uscc=request.uscc,
        legal_person=request.legal_person_name_masked,
        legal_person_region=request.legal_person_region,
        legal_person_document=request.legal_person_document_masked,
        previous=request.previous,
        submitted_at=request.submitted_at,
        review_due_at=request.review_due_at,
        overdue=request.escalated_at is not None,
        decided_at=request.decided_at,
        decision_reason=request.decision_reason,
    )


@router.post("", status_code=201)
async def submit_change(
    body: ChangeIn,
    who: Caller = Depends(stepped_up_caller),
    ctx: VerificationContext = Depends(context),
) -> ChangeOut:
    """RN-11: change the enterprise (entity, name or legal person); an operator reviews it
    within CHANGE_REVIEW_WORKING_DAYS. RN-9, RN-10 apply. Needs a fresh step-up."""
    request = await change_requests.submit_change(
        ctx,
        who.account_id,
        change_requests.ChangeSubmission(
            kind=body.kind,
            name=body.name,
            uscc=body.uscc,
            legal_person_name=body.legal_person_name,
            legal_person_region=body.legal_person_region,
            legal_person_document=body.legal_person_document,
            licence_issued_on=body.licence_issued_on,
        ),
    )
    return change_out(request)


@router.get("")
async def list_changes(
    who: Caller = Depends(require_caller), ctx: VerificationContext = Depends(context)
) -> ChangeListOut:
    """The account's changes, newest first."""
    found = await change_requests.changes_of(ctx, who.account_id)
    return ChangeListOut(changes=[change_out(r) for r in found])


@router.delete("/current")
async def withdraw_change(
    who: Caller = Depends(require_caller), ctx: VerificationContext = Depends(context)
) -> ChangeOut:
    """RN-11: withdraw the change under review; the real name stays as it is."""
    return change_out(await change_requests.withdraw_change(ctx, who.account_id))
