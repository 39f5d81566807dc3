"""The projections cancellation keeps: identity's accounts and their status (ACC-3), and
the facts of billing, resources, CAM and complaints (EXT, CAN-1, CAN-2)."""

from __future__ import annotations

from collections.abc import Sequence

from services.cancellation.adapters.repository import (
    Accounts,
    Registration,
    Standings,
    SubAccounts,
)
from shared.events import (
    AccountRegistered,
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
    """EXT: the newest `as_of` per account and producer is kept, a late one ignored."""
    kept = await Standings(uow.conn).report(event.account_id, event.payload, str(event.event_id))
    if not kept:
        log.info("standing_stale", account_id=event.account_id, event_type=event.payload.event_type)


async def sub_account_linked(
    uow: UnitOfWork, event: Envelope[SubAccountCreated | SubAccountAssociated]
) -> None:
    """CAN-1: CAM says the account is a sub-account (created or associated) of a root."""
    p = event.payload
    if isinstance(p, SubAccountCreated):
        link, at = "created", p.created_at
    else:
        link, at = "associated", p.associated_at
    await SubAccounts(uow.conn).link(event.account_id, p.root_account_id, link, at)
