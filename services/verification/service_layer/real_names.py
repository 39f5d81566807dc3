"""Reading an account's real name: status, the person behind it (masked) and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.verification.adapters.change_requests import ChangeRequest, ChangeRequests
from services.verification.adapters.enterprise_store import (
    Attempts,
    EnterpriseIdentity,
    Enterprises,
)
from services.verification.adapters.rechecks import Rechecks
from services.verification.adapters.repository import (
    Accounts,
    HistoryEntry,
    PersonalIdentity,
    RealNames,
)
from services.verification.domain.accounts import Account
from services.verification.domain.enterprise import Attempt
from services.verification.domain.errors import AccountUnknown
from services.verification.domain.status import RealName
from services.verification.service_layer.context import VerificationContext

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class RealNameView:
    """Everything the owner may see of its real name; personal data masked (RN-17)."""

    account: Account
    real_name: RealName
    person: PersonalIdentity | None
    history: list[HistoryEntry]
    enterprise: EnterpriseIdentity | None = None
    pending: Attempt | None = None  # RN-5: a recharge or remittance waiting
    change: ChangeRequest | None = None  # RN-11: the change under review
    recheck_notice: RecheckNotice | None = None  # RN-13: the downgrade announced


@dataclass(frozen=True)
class RecheckNotice:
    reason: str
    noticed_at: datetime
    downgrade_at: datetime


async def real_name_of(ctx: VerificationContext, account_id: str) -> RealNameView:
    async with ctx.runtime.uow() as uow:
        account = await Accounts(uow.conn).get(account_id)
        real_names = RealNames(uow.conn)
        current = await real_names.get(account_id)
        if account is None or current is None:
            raise AccountUnknown(
                "This account is not known here yet (a new registration takes a moment to "
                "arrive); try again shortly."
            )
        person = await real_names.person(account_id)
        history = await real_names.history(account_id, limit=HISTORY_LIMIT)
        enterprise = await Enterprises(uow.conn).get(account_id)
        pending = await Attempts(uow.conn).open_of(account_id)
        change = await ChangeRequests(uow.conn).under_review_of(account_id)
        notice = await Rechecks(uow.conn).notice_of(account_id)
    recheck_notice = None
    if notice is not None:
        grace = timedelta(seconds=ctx.settings.recheck_grace_s)
        recheck_notice = RecheckNotice(notice.reason, notice.noticed_at, notice.noticed_at + grace)
    return RealNameView(
        account, current, person, history, enterprise, pending, change, recheck_notice
    )
