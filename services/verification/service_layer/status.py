"""RN-1, RN-16: the one way a real-name status changes: stored, appended to the history and
published, in one transaction.

Every use case that changes a status (personal and enterprise methods, changes and their
review, re-checks and timers) builds a domain `Change` and hands it to `record`."""

from __future__ import annotations

from typing import Any

from services.verification.adapters.repository import RealNames
from services.verification.adapters.sub_accounts import SubAccounts
from services.verification.domain import status
from services.verification.domain.status import Change, RealName
from services.verification.service_layer import events
from shared.events import DocumentRegion
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def record(
    uow: UnitOfWork,
    current: RealName,
    change: Change,
    *,
    details: dict[str, Any] | None = None,
    region: DocumentRegion | None = None,
    follow: bool = True,
    change_id: int | None = None,
) -> RealName:
    """Store the change (details: masked only, RN-17), emit RealNameChanged, and
    RealNameVerified when it proves a real name (`change_id`: the reviewed enterprise change
    whose approval it is, RN-11). The sub-accounts the account created follow it (RN-12) in
    the same transaction. Returns the status after it."""
    after = change.applied_to(current)
    await RealNames(uow.conn).apply(change, after, details or {})
    await events.emit(uow, change.account_id, events.changed(change))
    if change.proves:
        await events.emit(uow, change.account_id, events.verified(change, region, change_id))
    log.info(
        "real_name_changed",
        account_id=change.account_id,
        previous=change.previous.value,
        status=change.status.value,
        subject=change.subject.value if change.subject else None,
        method=change.method.value if change.method else None,
        reason=change.reason.value,
    )
    if follow:
        for sub_account_id in await SubAccounts(uow.conn).created_by(change.account_id):
            await follow_root(uow, sub_account_id, after)
    return after


async def follow_root(uow: UnitOfWork, sub_account_id: str, root: RealName) -> None:
    """RN-12: the created sub-account takes its root's real name (if it is known here)."""
    sub = await RealNames(uow.conn).get(sub_account_id, for_update=True)
    if sub is None:  # its AccountRegistered is still on the way: registration follows
        return
    change = status.inherit(sub, root, at=uow.now())
    if change is not None:
        await record(uow, sub, change, details={"root_account_id": root.account_id}, follow=False)
