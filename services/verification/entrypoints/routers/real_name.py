"""The account's real name: status, masked details and history; personal verification."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.verification.domain.enterprise import EnterpriseMethod, format_fen
from services.verification.entrypoints.dependencies import context, stepped_up_caller
from services.verification.entrypoints.routers.changes import change_out
from services.verification.entrypoints.routers.schemas import (
    EnterpriseOut,
    HistoryOut,
    PendingOut,
    PersonalIn,
    PersonOut,
    RealNameOut,
    RecheckNoticeOut,
)
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.personal import PersonalSubmission, verify_person
from services.verification.service_layer.real_names import RealNameView, real_name_of
from shared.auth import Caller, require_caller
from shared.events import RealNameMethod, RealNameStatus, RealNameSubject

router = APIRouter(prefix="/real-name", tags=["real-name"])


def reply(view: RealNameView) -> RealNameOut:
    current, person, enterprise, pending = (
        view.real_name,
        view.person,
        view.enterprise,
        view.pending,
    )
    shows_person = person is not None and current.subject is RealNameSubject.PERSONAL
    verified_enterprise = (
        current.status is RealNameStatus.VERIFIED and current.subject is RealNameSubject.ENTERPRISE
    )
    return RealNameOut(
        account_id=view.account.account_id,
        account_status=view.account.status,
        frozen_reasons=list(view.account.frozen_reasons),
        status=current.status,
        subject=current.subject,
        method=current.method,
        verified_at=current.verified_at,
        person=PersonOut(
            region=person.region,
            document_kind=person.document_kind,
            name=person.name_masked,
            document=person.document_masked,
            verified_at=person.verified_at,
        )
        if person is not None and shows_person
        else None,
        enterprise=EnterpriseOut(
            name=enterprise.name,
            uscc=enterprise.uscc,
            legal_person=enterprise.legal_person_name_masked,
            legal_person_region=enterprise.legal_person_region,
            legal_person_document=enterprise.legal_person_document_masked,
            method=RealNameMethod(enterprise.method),
            verified_at=enterprise.verified_at,
        )
        if enterprise is not None and verified_enterprise
        else None,
        pending=PendingOut(
            method=pending.method.as_event,
            name=pending.name,
            uscc=pending.uscc,
            started_at=pending.created_at,
            expires_at=pending.expires_at,
            recharge_amount=format_fen(pending.amount_fen)
            if pending.method is EnterpriseMethod.RECHARGE
            else None,
            bank_account=pending.bank_account_masked,
            tries_left=pending.tries_left
            if pending.method is EnterpriseMethod.REMITTANCE
            else None,
        )
        if pending is not None
        else None,
        history=[
            HistoryOut(
                at=h.at,
                previous_status=h.previous_status,
                status=h.status,
                subject=h.subject,
                method=h.method,
                reason=h.reason,
                details=h.details,
            )
            for h in view.history
        ],
        change_under_review=change_out(view.change) if view.change is not None else None,
        recheck_notice=RecheckNoticeOut(
            reason=view.recheck_notice.reason,
            noticed_at=view.recheck_notice.noticed_at,
            downgrade_at=view.recheck_notice.downgrade_at,
        )
        if view.recheck_notice is not None
        else None,
    )


@router.get("")
async def my_real_name(
    who: Caller = Depends(require_caller), ctx: VerificationContext = Depends(context)
) -> RealNameOut:
    """RN-1: the caller's real-name status and its history, personal data masked."""
    return reply(await real_name_of(ctx, who.account_id))


@router.post("/personal", status_code=201)
async def verify_personal(
    body: PersonalIn,
    who: Caller = Depends(stepped_up_caller),
    ctx: VerificationContext = Depends(context),
) -> RealNameOut:
    """RN-2..RN-4: verify the account as a person (instant). Needs a fresh step-up."""
    await verify_person(
        ctx,
        who.account_id,
        PersonalSubmission(body.method, body.region, body.name, body.document_number),
    )
    return reply(await real_name_of(ctx, who.account_id))
