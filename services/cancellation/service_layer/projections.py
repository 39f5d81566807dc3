"""The projections cancellation keeps: identity's accounts and their status (ACC-3), and
the facts of billing, resources, CAM and complaints (EXT, CAN-1, CAN-2); a fact about an
account cooling off schedules its re-evaluation (CAN-6)."""

from __future__ import annotations

from collections.abc import Sequence

from services.cancellation.adapters.repository import (
    Accounts,
    Applications,
    Registration,
    Standings,
    SubAccounts,
)
from services.cancellation.adapters.timers import Timers
from services.cancellation.domain.applications import TimerKind
from shared.events import (
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    Envelope,
    ResourcesStanding,
    SubAccountAssociated,
    SubAccountCreated,
)
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def register(uow: UnitOfWork, events: Sequence[Envelope[AccountRegistered]]) -> None:
    """A run of registrations, one INSERT for all."""
    await Accounts(uow.conn).add(
        [
            Registration(e.account_id, e.payload.registered_at, e.payload.method.value)
            for e in events
        ]
    )


async def change_status(uow: UnitOfWork, event: Envelope[AccountStatusChanged]) -> None:
    """ACC-3: frozen, unfrozen, cancelled as identity says; a late event never undoes a
    newer one, and nothing leaves `cancelled`."""
    p = event.payload
    if not await Accounts(uow.conn).set_status(
        event.account_id, p.status, p.frozen_reasons, p.changed_at
    ):
        log.info("account_status_ignored", account_id=event.account_id, status=p.status.value)


async def standing_reported(
    uow: UnitOfWork,
    event: Envelope[BillingStanding | ResourcesStanding | CamStanding | ComplaintsStanding],
) -> None:
    """EXT: the newest `as_of` per account and producer is kept, a late one ignored; a
    cancelled account's facts are not kept (CAN-7: erased, and never projected again)."""
    if await _cancelled(uow, event.account_id):
        return
    kept = await Standings(uow.conn).report(event.account_id, event.payload, str(event.event_id))
    if not kept:
        log.info("standing_stale", account_id=event.account_id, event_type=event.payload.event_type)
        return
    await _reevaluate_open_application(uow, event.account_id)


async def sub_account_linked(
    uow: UnitOfWork, event: Envelope[SubAccountCreated | SubAccountAssociated]
) -> None:
    """CAN-1: CAM says the account is a sub-account (created or associated) of a root."""
    if await _cancelled(uow, event.account_id):
        return
    p = event.payload
    if isinstance(p, SubAccountCreated):
        link, at = "created", p.created_at
    else:
        link, at = "associated", p.associated_at
    await SubAccounts(uow.conn).link(event.account_id, p.root_account_id, link, at)
    await _reevaluate_open_application(uow, event.account_id)


async def _cancelled(uow: UnitOfWork, account_id: str) -> bool:
    account = await Accounts(uow.conn).get(account_id)
    if account is not None and account.status is AccountStatus.CANCELLED:
        log.info("fact_of_cancelled_account_dropped", account_id=account_id)
        return True
    return False


async def _reevaluate_open_application(uow: UnitOfWork, account_id: str) -> None:
    """CAN-6: a fact arrived for an account cooling off: a `reevaluate` timer due now (one
    live per application), fired by the timer worker, which rejects at once if a
    precondition broke. Never an in-process sleep."""
    application = await Applications(uow.conn).open_of(account_id)
    if application is None:
        return
    now = uow.now()
    await Timers(uow.conn).schedule_once(
        TimerKind.REEVALUATE, account_id, application.application_id, due_at=now, now=now
    )
