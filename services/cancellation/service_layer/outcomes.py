"""How an application ends on its own: completion when cooling-off ends with every
precondition met (CAN-7), rejection when one broke (CAN-6). Both run as timer effects, in
the transaction that ends the timer (shared/timers/runner.py), so each happens once."""

from __future__ import annotations

from collections.abc import Sequence

from services.cancellation.adapters.repository import Accounts, Applications, facts_of
from services.cancellation.domain.applications import Application, State
from services.cancellation.domain.preconditions import failed_preconditions
from services.cancellation.service_layer.erasure import erase_own_data
from services.cancellation.service_layer.events import emit
from shared.events import CancellationCompleted, CancellationRejected
from shared.logging import get_logger
from shared.timers import Timer
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def reject(
    uow: UnitOfWork,
    application: Application,
    reasons: Sequence[str],
    *,
    operator_reason: str | None = None,
) -> Application:
    """CAN-6: end the (locked, open) application `rejected` with the reason codes; identity
    unfreezes the account on CancellationRejected, and the applicant may apply again."""
    now = uow.now()
    ended = await Applications(uow.conn).end(
        application.application_id,
        State.REJECTED,
        now,
        reasons=reasons,
        operator_reason=operator_reason,
    )
    await emit(
        uow,
        application.account_id,
        CancellationRejected(
            application_id=application.application_id,
            reasons=list(reasons),
            rejected_at=now,
            operator_reason=operator_reason,
        ),
    )
    log.info("cancellation_rejected", account_id=application.account_id, reasons=list(reasons))
    return ended


async def complete(uow: UnitOfWork, application: Application) -> Application:
    """CAN-7: end the (locked, open) application `completed`, cancel the account's
    projection, emit CancellationCompleted, and erase what cancellation holds of the person
    (with its own confirmation), all in one transaction."""
    now = uow.now()
    ended = await Applications(uow.conn).end(application.application_id, State.COMPLETED, now)
    await Accounts(uow.conn).cancel_and_erase(application.account_id, now)
    await emit(
        uow,
        application.account_id,
        CancellationCompleted(application_id=application.application_id, completed_at=now),
    )
    await erase_own_data(uow, ended)
    log.info("cancellation_completed", account_id=application.account_id)
    return ended


async def _open_application(uow: UnitOfWork, timer: Timer) -> Application | None:
    application = await Applications(uow.conn).get(timer.ref, for_update=True)
    if application is None or not application.is_open:
        log.info("timer_application_ended", kind=str(timer.kind), application_id=timer.ref)
        return None
    return application


async def cooling_off_ended(uow: UnitOfWork, timer: Timer) -> None:
    """Timer `cooling_off_end` (ref: the application): every precondition is evaluated
    against the current projections; all met completes (CAN-7), any broken rejects with
    the reasons (CAN-6). An application no longer open: nothing."""
    application = await _open_application(uow, timer)
    if application is None:
        return
    failed = failed_preconditions(await facts_of(uow.conn, application.account_id))
    if failed:
        await reject(uow, application, [f.reason.value for f in failed])
    else:
        await complete(uow, application)


async def reevaluate(uow: UnitOfWork, timer: Timer) -> None:
    """Timer `reevaluate` (CAN-6; ref: the application): a fact arrived during cooling-off;
    a broken precondition rejects at once, otherwise nothing changes."""
    application = await _open_application(uow, timer)
    if application is None:
        return
    failed = failed_preconditions(await facts_of(uow.conn, application.account_id))
    if failed:
        await reject(uow, application, [f.reason.value for f in failed])
