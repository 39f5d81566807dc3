"""RN-12 (EXT, cam.events): a sub-account created by a root account inherits the root's
real name (and follows its later changes, service_layer/status.record); an existing account
associated as a sub-account inherits nothing and verifies itself."""

from __future__ import annotations

from services.verification.adapters.repository import RealNames
from services.verification.adapters.sub_accounts import Link, SubAccounts
from services.verification.service_layer.status import follow_root
from shared.events import Envelope, SubAccountAssociated, SubAccountCreated
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def sub_account_created(uow: UnitOfWork, event: Envelope[SubAccountCreated]) -> None:
    p = event.payload
    await SubAccounts(uow.conn).link(
        event.account_id, p.root_account_id, Link.CREATED, p.created_at
    )
    await inherit_from_root(uow, event.account_id)


async def sub_account_associated(uow: UnitOfWork, event: Envelope[SubAccountAssociated]) -> None:
    p = event.payload
    await SubAccounts(uow.conn).link(
        event.account_id, p.root_account_id, Link.ASSOCIATED, p.associated_at
    )
    log.info("sub_account_associated", account_id=event.account_id)


async def inherit_from_root(uow: UnitOfWork, account_id: str) -> None:
    """If the account is a created sub-account and its root is known, take its real name
    (a root not known yet: its own changes will carry it over)."""
    root_id = await SubAccounts(uow.conn).root_of(account_id)
    if root_id is None:
        return
    root = await RealNames(uow.conn).get(root_id)
    if root is not None:
        await follow_root(uow, account_id, root)
