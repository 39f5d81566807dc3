"""CAN-1..CAN-5, CAN-9: apply for cancellation, see the application, withdraw it."""

from __future__ import annotations

from services.cancellation.adapters.repository import Accounts, Applications, facts_of
from services.cancellation.domain.applications import (
    Account,
    Application,
    State,
    cooling_off_end,
    ensure_may_apply,
)
from services.cancellation.domain.errors import (
    AccountUnknown,
    ApplicationOpen,
    CoolingOffOver,
    NoApplication,
    PreconditionsFailed,
)
from services.cancellation.domain.preconditions import Failed, failed_preconditions
from services.cancellation.service_layer.events import emit
from services.cancellation.settings import CancellationSettings
from shared.events import CancellationRequested, CancellationWithdrawn
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


def settings_of(runtime: Runtime) -> CancellationSettings:
    settings = runtime.settings
    assert isinstance(settings, CancellationSettings)
    return settings


async def known_account(uow: UnitOfWork, account_id: str) -> Account:
    account = await Accounts(uow.conn).get(account_id)
    if account is None:
        raise AccountUnknown(
            "This account is not known here yet (a new registration takes a moment to "
            "arrive); try again shortly."
        )
    return account


def _open(application: Application) -> ApplicationOpen:
    return ApplicationOpen(
        "The account already has an open application; withdraw it to start again.",
        details={
            "application_id": application.application_id,
            "cooling_off_ends_at": application.cooling_off_ends_at.isoformat(),
        },
    )


async def preconditions(runtime: Runtime, account_id: str) -> list[Failed]:
    """CAN-1, CAN-2: what stands in the way of an application now (empty: nothing)."""
    async with runtime.uow() as uow:
        ensure_may_apply(await known_account(uow, account_id))
        return failed_preconditions(await facts_of(uow.conn, account_id))


async def apply(runtime: Runtime, account_id: str) -> Application:
    """CAN-1..CAN-5: the logged-in, stepped-up root account applies (the routes checked the
    caller). Every failed precondition is listed at once; unverified accounts may apply
    (CAN-3: real-name status is not a precondition). On success the application cools off
    for COOLING_OFF_DAYS (or COOLING_OFF_S) and CancellationRequested goes out (identity
    freezes the account); the cooling-off end is a due timer row. One open application per
    account: concurrent applications make exactly one (the partial unique index), the
    others are refused."""
    period = settings_of(runtime).cooling_off
    async with runtime.uow() as uow:
        ensure_may_apply(await known_account(uow, account_id))
        applications = Applications(uow.conn)
        current = await applications.open_of(account_id)
        if current is not None:
            raise _open(current)
        failed = failed_preconditions(await facts_of(uow.conn, account_id))
        if failed:
            log.info(
                "cancellation_refused",
                account_id=account_id,
                reasons=[f.reason.value for f in failed],
            )
            raise PreconditionsFailed(failed)
        now = uow.now()
        application = await applications.open(
            account_id, at=now, ends_at=cooling_off_end(now, period)
        )
        if application is None:  # another application won the race
            current = await applications.open_of(account_id)
            raise _open(current) if current else ApplicationOpen("An application is open.")
        await emit(
            uow,
            account_id,
            CancellationRequested(
                application_id=application.application_id,
                requested_at=application.requested_at,
                cooling_off_ends_at=application.cooling_off_ends_at,
            ),
        )
    log.info("cancellation_requested", account_id=account_id)
    return application


async def latest(runtime: Runtime, account_id: str) -> Application:
    """The account's latest application, open or ended."""
    async with runtime.uow() as uow:
        application = await Applications(uow.conn).latest(account_id)
    if application is None:
        raise NoApplication("The account has never applied for cancellation.")
    return application


async def withdraw(runtime: Runtime, account_id: str) -> Application:
    """CAN-5: the applicant withdraws during cooling-off; CancellationWithdrawn goes out
    (identity unfreezes the account) and the cooling-off timer is cancelled."""
    async with runtime.uow() as uow:
        applications = Applications(uow.conn)
        current = await applications.open_of(account_id, for_update=True)
        if current is None:
            last = await applications.latest(account_id)
            if last is not None and last.state is State.COMPLETED:
                # Completion won the race against this withdrawal (or came first).
                raise CoolingOffOver(
                    "The cooling-off period is over: the cancellation is completed.",
                    details={"cooling_off_ends_at": last.cooling_off_ends_at.isoformat()},
                )
            raise NoApplication("The account has no application in its cooling-off period.")
        now = uow.now()
        if now >= current.cooling_off_ends_at:
            raise CoolingOffOver(
                "The cooling-off period is over: the cancellation is being completed.",
                details={"cooling_off_ends_at": current.cooling_off_ends_at.isoformat()},
            )
        ended = await applications.end(current.application_id, State.WITHDRAWN, now)
        await emit(
            uow,
            account_id,
            CancellationWithdrawn(application_id=ended.application_id, withdrawn_at=now),
        )
    log.info("cancellation_withdrawn", account_id=account_id)
    return ended
