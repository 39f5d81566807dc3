"""RN-13: which verified enterprises are due for a re-check, and their notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import (
    enterprise_identities,
    enterprise_rechecks,
    real_names,
)


@dataclass(frozen=True)
class DueEnterprise:
    account_id: str
    name: str
    uscc: str


@dataclass(frozen=True)
class Notice:
    """RN-13: a re-check found a problem; the account turns unverified unless it clears."""

    reason: str
    noticed_at: datetime


class Rechecks:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def due(self, *, checked_before: datetime, limit: int) -> list[DueEnterprise]:
        """Verified enterprises last checked (or verified) before the cutoff, with no notice
        pending, oldest first; locked (SKIP LOCKED) against a concurrent change."""
        e, c, r = enterprise_identities, enterprise_rechecks, real_names
        last = sa.func.coalesce(c.c.checked_at, e.c.verified_at)
        rows = await self.conn.execute(
            sa.select(e.c.account_id, e.c.name, e.c.uscc)
            .select_from(
                e.join(r, r.c.account_id == e.c.account_id).outerjoin(
                    c, c.c.account_id == e.c.account_id
                )
            )
            .where(
                r.c.status == "verified",
                r.c.subject == "enterprise",
                c.c.noticed_at.is_(None),
                last <= checked_before,
            )
            .order_by(last)
            .limit(limit)
            .with_for_update(of=r, skip_locked=True)
        )
        return [DueEnterprise(row.account_id, row.name, row.uscc) for row in rows]

    async def checked(self, account_id: str, *, at: datetime) -> None:
        """The registry agreed (or the account is no longer concerned): no notice pending."""
        values = {"checked_at": at, "notice_reason": None, "noticed_at": None}
        await self.conn.execute(
            insert(enterprise_rechecks)
            .values(account_id=account_id, **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )

    async def noticed(self, account_id: str, reason: str, *, at: datetime) -> None:
        values = {"checked_at": at, "notice_reason": reason, "noticed_at": at}
        await self.conn.execute(
            insert(enterprise_rechecks)
            .values(account_id=account_id, **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )

    async def notice_of(self, account_id: str) -> Notice | None:
        row = (
            await self.conn.execute(
                sa.select(
                    enterprise_rechecks.c.notice_reason, enterprise_rechecks.c.noticed_at
                ).where(
                    enterprise_rechecks.c.account_id == account_id,
                    enterprise_rechecks.c.noticed_at.is_not(None),
                )
            )
        ).one_or_none()
        return Notice(row.notice_reason, row.noticed_at) if row is not None else None
