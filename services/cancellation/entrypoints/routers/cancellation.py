"""CAN-1..CAN-5, CAN-9: the logged-in account's cancellation: check the preconditions,
apply, see the application, withdraw it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.cancellation.entrypoints.dependencies import logged_in_caller, stepped_up_caller
from services.cancellation.entrypoints.routers.schemas import ApplicationOut, PreconditionsOut
from services.cancellation.service_layer import applications
from shared.auth import Caller
from shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/cancellation", tags=["cancellation"])


@router.post("", status_code=201)
async def apply(
    who: Caller = Depends(stepped_up_caller), runtime: Runtime = Depends(get_runtime)
) -> ApplicationOut:
    """CAN-1..CAN-4: apply to cancel the logged-in root account (a fresh step-up needed).
    409 PRECONDITIONS_FAILED lists every failed precondition in details.reasons; on success
    the account is frozen and cools off for COOLING_OFF_DAYS."""
    return ApplicationOut.of(await applications.apply(runtime, who.account_id))


@router.get("")
async def show(
    who: Caller = Depends(logged_in_caller), runtime: Runtime = Depends(get_runtime)
) -> ApplicationOut:
    """The account's latest application (open or ended); 404 NO_APPLICATION if none."""
    return ApplicationOut.of(await applications.latest(runtime, who.account_id))


@router.delete("")
async def withdraw(
    who: Caller = Depends(logged_in_caller), runtime: Runtime = Depends(get_runtime)
) -> ApplicationOut:
    """CAN-5: withdraw the open application during cooling-off; the account is unfrozen."""
    return ApplicationOut.of(await applications.withdraw(runtime, who.account_id))


@router.get("/preconditions")
async def check(
    who: Caller = Depends(logged_in_caller), runtime: Runtime = Depends(get_runtime)
) -> PreconditionsOut:
    """CAN-1, CAN-2: what stands in the way of applying now, every reason at once."""
    return PreconditionsOut.of(await applications.preconditions(runtime, who.account_id))
