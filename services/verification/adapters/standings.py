"""RN-10 (EXT): verification's projection of billing's standings, the newest per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import billing_standings
from services.verification.domain.changes import Billing


@dataclass(frozen=True)
class ReportedStanding:
    account_id: str
    overdue_fen: int
    advance_payment_fen: int
    as_of: datetime
    event_id: str


class BillingStandings:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def report(self, standing: ReportedStanding) -> bool:
        """Keep the standing if it is newer than the one kept; False when it is not (a late
        or replayed event)."""
        values = {
            "overdue_fen": standing.overdue_fen,
            "advance_payment_fen": standing.advance_payment_fen,
            "as_of": standing.as_of,
            "event_id": standing.event_id,
        }
        statement = (
            insert(billing_standings)
            .values(account_id=standing.account_id, **values)
            .on_conflict_do_update(
                index_elements=["account_id"],
                set_=values,
                where=billing_standings.c.as_of < standing.as_of,
            )
        )
        return bool((await self.conn.execute(statement)).rowcount)

    async def get(self, account_id: str) -> Billing | None:
        row = (
            await self.conn.execute(
                sa.select(billing_standings).where(billing_standings.c.account_id == account_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return Billing(row.overdue_fen, row.advance_payment_fen, row.as_of)
