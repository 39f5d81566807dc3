"""Operator endpoints of cancellation: applications by state, one with its reasons and the
erasure confirmations (CAN-7), rejecting one during cooling-off (CAN-6). Every call is
audit-logged (shared.operators); every rejection is kept in operator_actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from services.cancellation.domain.applications import State
from services.cancellation.entrypoints.routers.schemas import (
    ApplicationOut,
    ApplicationPageOut,
    ApplicationRecordOut,
    RejectionIn,
)
from services.cancellation.service_layer import operators
from shared.inputs import CleanText
from shared.operators import Operator, require_operator
from shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/operator/cancellations", tags=["operator"])

APPLICATION_ID = Path(min_length=1, max_length=64, pattern=r"^[0-9a-fA-F-]{1,64}$")


@router.get("")
async def list_applications(
    state: State | None = Query(None, description="Only applications in this state."),
    limit: int = Query(50, ge=1, le=200),
    after: CleanText | None = Query(
        None, max_length=64, description="The last application_id of the previous page."
    ),
    operator: Operator = Depends(require_operator),
    runtime: Runtime = Depends(get_runtime),
) -> ApplicationPageOut:
    """Applications (in `state`, or all), newest first, a page of at most `limit`."""
    found = await operators.applications_in(runtime, state, limit=limit, after=after)
    return ApplicationPageOut(
        applications=[ApplicationOut.of(a) for a in found],
        next_after=found[-1].application_id if len(found) == limit else None,
    )


@router.get("/{application_id}")
async def show_application(
    application_id: str = APPLICATION_ID,
    operator: Operator = Depends(require_operator),
    runtime: Runtime = Depends(get_runtime),
) -> ApplicationRecordOut:
    """One application: its state, reasons, operator reason, and which services confirmed
    erasing the account's data (CAN-7; `erasure_complete` once all four did)."""
    record = await operators.application_record(runtime, application_id)
    return ApplicationRecordOut.of_record(record)


@router.post("/{application_id}/reject")
async def reject_application(
    body: RejectionIn,
    application_id: str = APPLICATION_ID,
    operator: Operator = Depends(require_operator),
    runtime: Runtime = Depends(get_runtime),
) -> ApplicationOut:
    """CAN-6: reject an application in cooling-off (409 NOT_COOLING_OFF otherwise):
    CancellationRejected with reasons [OPERATOR_REJECTED] and the reason; audited."""
    ended = await operators.reject_application(
        runtime, application_id, operator_id=operator.operator_id, reason=body.reason
    )
    return ApplicationOut.of(ended)
