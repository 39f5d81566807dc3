"""The projection of identity's accounts (ACC-1, ACC-3): registrations and status changes."""

from __future__ import annotations

from collections.abc import Sequence

from services.verification.adapters.quota import QuotaClaims, QuotaKind
from services.verification.adapters.repository import Accounts, Registration
from services.verification.adapters.sub_accounts import SubAccounts
from services.verification.domain.accounts import Account, ensure_may_submit
from services.verification.domain.errors import AccountUnknown
from services.verification.service_layer.sub_accounts import inherit_from_root
from shared.events import AccountRegistered, AccountStatus, AccountStatusChanged, Envelope
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def register(uow: UnitOfWork, events: Sequence[Envelope[AccountRegistered]]) -> None:
    """New accounts appear unverified (RN-1), a run of them in one statement per table; a
    sub-account CAM reported before its registration arrived inherits now (RN-12)."""
    await Accounts(uow.conn).add(
        [
            Registration(e.account_id, e.payload.registered_at, e.payload.method.value)
            for e in events
        ]
    )
    for account_id in await SubAccounts(uow.conn).created_among([e.account_id for e in events]):
        await inherit_from_root(uow, account_id)


async def change_status(uow: UnitOfWork, event: Envelope[AccountStatusChanged]) -> None:
    """ACC-3: frozen, unfrozen, cancelled, as identity says; a late event never undoes a
    newer one, and nothing leaves `cancelled`. A cancelled account no longer counts in any
    identity's or enterprise's quota (CAN-7: its real-name quota is released); its real name
    and history stay (RN-1)."""
    p = event.payload
    changed = await Accounts(uow.conn).set_status(
        event.account_id, p.status, p.frozen_reasons, p.changed_at
    )
    if not changed:
        log.info("account_status_ignored", account_id=event.account_id, status=p.status.value)
        return
    if p.status is AccountStatus.CANCELLED:
        claims = QuotaClaims(uow.conn)
        for kind in QuotaKind:
            await claims.release_account(kind, event.account_id, now=p.changed_at)


async def active_account(uow: UnitOfWork, account_id: str) -> Account:
    """The account, if it may submit real-name data (ACC-3); refusals otherwise."""
    account = await Accounts(uow.conn).get(account_id)
    if account is None:
        raise AccountUnknown(
            "This account is not known here yet (a new registration takes a moment to "
            "arrive); try again shortly."
        )
    ensure_may_submit(account)
    return account
