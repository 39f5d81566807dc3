"""Operators (issue 11 item 7): list applications by state, see one with its reasons and the
erasure confirmations, reject one during cooling-off with a reason (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.cancellation.adapters.erasures import Erasures
from services.cancellation.adapters.repository import Applications
from services.cancellation.adapters.tables import operator_actions
from services.cancellation.domain.applications import OPERATOR_REJECTED, Application, State
from services.cancellation.domain.erasure import erasure_complete, erasure_of
from services.cancellation.domain.errors import ApplicationNotFound, NotCoolingOff
from services.cancellation.service_layer.outcomes import reject
from shared.logging import get_logger
from shared.operator_audit import record_operator_action
from shared.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class ApplicationRecord:
    """An application with the erasure confirmations of its account (CAN-7)."""

    application: Application
    erasure: dict[str, datetime | None]
    erasure_complete: bool


async def applications_in(
    runtime: Runtime, state: State | None, *, limit: int, after: str | None
) -> list[Application]:
    """A page of applications (in `state`, or all), newest first, after the id `after`."""
    async with runtime.uow() as uow:
        return await Applications(uow.conn).page(state, limit=limit, after=after)


async def application_record(runtime: Runtime, application_id: str) -> ApplicationRecord:
    async with runtime.uow() as uow:
        application = await Applications(uow.conn).get(application_id)
        if application is None:
            raise ApplicationNotFound("No cancellation application has this id.")
        confirmed = await Erasures(uow.conn).of(application_id)
    return ApplicationRecord(application, erasure_of(confirmed), erasure_complete(confirmed))


async def reject_application(
    runtime: Runtime, application_id: str, *, operator_id: str, reason: str
) -> Application:
    """CAN-6 by an operator: only an application in cooling-off; CancellationRejected with
    reasons [OPERATOR_REJECTED] and the operator's reason, and an audit row, in the
    transaction that ends it. The application's row lock orders concurrent rejections,
    withdrawals and completion: the first wins, the others find it ended (409)."""
    async with runtime.uow() as uow:
        application = await Applications(uow.conn).get(application_id, for_update=True)
        if application is None:
            raise ApplicationNotFound("No cancellation application has this id.")
        if not application.is_open:
            raise NotCoolingOff(
                f"The application is {application.state.value}; only one in cooling-off "
                "can be rejected.",
                details={"state": application.state.value},
            )
        ended = await reject(uow, application, [OPERATOR_REJECTED], operator_reason=reason)
        await record_operator_action(
            uow.conn,
            operator_actions,
            at=uow.now(),
            operator_id=operator_id,
            action="reject_application",
            subject=application_id,
            account_id=application.account_id,
            reason=reason,
        )
    log.info("cancellation_rejected_by_operator", account_id=ended.account_id)
    return ended
